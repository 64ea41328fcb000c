"""The `guestpass` command: check a server, serve the reference server, migrate its database."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from guestpass.conformance.target import Target, TargetError

EXIT_OK, EXIT_UNEXPECTED, EXIT_USAGE = 0, 1, 2
SUITE_DIR = Path(__file__).parent
DEFAULT_RESULTS = Path("guestpass-results") / "results.json"


def _check_parser(sub: argparse._SubParsersAction) -> None:
    check = sub.add_parser(
        "check",
        help="run the conformance suite",
        description="Run the conformance suite against a server (default: the embedded "
        "reference server). Exit 0: nothing unexpected; 1: unexpected results; "
        "2: usage error or target unreachable.",
    )
    check.add_argument("--base-url", help="auth root of the server under test, e.g. http://127.0.0.1:9999/auth/v1")
    check.add_argument("--target", type=Path, help="target file (TOML) describing the server under test")
    check.add_argument("--database-url", help="database of the embedded reference server (default: fresh SQLite)")
    check.add_argument("--results", type=Path, default=DEFAULT_RESULTS, help="JSON results file")
    check.add_argument("--junit", type=Path, help="also write JUnit XML here")
    check.add_argument("--id", action="append", default=[], dest="ids", help="run only this scenario (repeatable)")
    check.add_argument(
        "--capability",
        action="append",
        default=[],
        dest="capabilities",
        help="run only this capability's scenarios (repeatable)",
    )
    check.add_argument("--workers", type=int, default=0, help="run scenarios in N processes (pytest-xdist)")
    check.add_argument("pytest_args", nargs="*", help="further pytest arguments, after --")


def pytest_arguments(args: argparse.Namespace) -> list[str]:
    argv = [
        str(SUITE_DIR / "test_scenarios.py"),
        "-c",
        str(SUITE_DIR / "pytest.ini"),
        "--rootdir",
        str(SUITE_DIR),
        "-p",
        "no:cacheprovider",
        "-rfE",
        "--tb=short",
        "--guestpass-results",
        str(args.results),
    ]
    for option, value in (
        ("--guestpass-base-url", args.base_url),
        ("--guestpass-target", args.target),
        ("--guestpass-database-url", args.database_url),
        ("--junit-xml", args.junit),
    ):
        if value:
            argv += [option, str(value)]
    argv += [f"--guestpass-id={scenario_id}" for scenario_id in args.ids]
    argv += [f"--guestpass-capability={capability}" for capability in args.capabilities]
    if args.workers:
        argv += ["-n", str(args.workers)]
    return argv + list(args.pytest_args)


def reachable(base_url: str) -> str | None:
    """None if GET /settings answers at all, else why not."""
    import httpx  # here, not at the top: imported before pytest starts, its pytest plugin cannot be rewritten

    try:
        httpx.get(base_url.rstrip("/") + "/settings", timeout=10)
    except httpx.HTTPError as error:
        return f"{type(error).__name__}: {error}"
    return None


def check(args: argparse.Namespace) -> int:
    try:
        base_url = Target.load(args.target, base_url=args.base_url).base_url if args.target else args.base_url
    except TargetError as error:
        print(f"guestpass: {error}", file=sys.stderr)
        return EXIT_USAGE
    if base_url and (problem := reachable(base_url)):
        print(f"guestpass: the target {base_url} is unreachable: {problem}", file=sys.stderr)
        return EXIT_USAGE
    code = pytest.main(pytest_arguments(args))
    if code == pytest.ExitCode.OK:
        return EXIT_OK
    if code == pytest.ExitCode.TESTS_FAILED:
        return EXIT_UNEXPECTED
    if code == pytest.ExitCode.NO_TESTS_COLLECTED:
        print("guestpass: no scenario matched the selection", file=sys.stderr)
    return EXIT_USAGE


def serve(argv: Sequence[str]) -> int:
    from guestpass.reference.server import main as serve_main

    serve_main(argv)
    return EXIT_OK


def migrate(argv: Sequence[str]) -> int:
    from guestpass.reference.config import config_from_env
    from guestpass.reference.storage.migrate import upgrade

    parser = argparse.ArgumentParser(prog="guestpass migrate", description="Apply the database migrations.")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args(argv)
    asyncio.run(upgrade(args.database_url or config_from_env().database_url))
    return EXIT_OK


def reap(argv: Sequence[str]) -> int:
    from guestpass.reference.clock import utcnow
    from guestpass.reference.config import config_from_env
    from guestpass.reference.reap import parse_duration
    from guestpass.reference.reap import reap as reap_users
    from guestpass.reference.storage.db import Database

    parser = argparse.ArgumentParser(
        prog="guestpass reap",
        description="Delete anonymous users that own no rows and have not been active for a while, in small batches.",
    )
    parser.add_argument("--older-than", required=True, metavar="DURATION", help="idle for longer than this: 30d, 12h")
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args(argv)
    try:
        cutoff = utcnow() - parse_duration(args.older_than)
    except ValueError as error:
        parser.error(str(error))

    async def run() -> int:
        db = Database(args.database_url or config_from_env().database_url)
        try:
            return await reap_users(db, cutoff, batch_size=args.batch_size)
        finally:
            await db.dispose()

    removed = asyncio.run(run())
    print(f"reaped {removed} anonymous users idle since {cutoff.isoformat()}")
    return EXIT_OK


def login(argv: Sequence[str]) -> int:
    from guestpass.reference.login import main as login_main

    return login_main(argv)


COMMANDS = {"serve": serve, "migrate": migrate, "reap": reap, "login": login}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] and argv[0] in COMMANDS:
        return COMMANDS[argv[0]](argv[1:])
    parser = argparse.ArgumentParser(
        prog="guestpass", description="Conformance suite and reference server for anonymous-first authentication."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="{check,serve,migrate,reap,login}")
    _check_parser(sub)
    sub.add_parser("serve", help="run the reference server (see `guestpass serve --help`)")
    sub.add_parser("migrate", help="apply the reference server's migrations")
    sub.add_parser("reap", help="delete idle anonymous users that own nothing")
    sub.add_parser("login", help="sign the CLI in through a browser (the reference CLI client)")
    args = parser.parse_args(argv)
    return check(args)


if __name__ == "__main__":
    sys.exit(main())
