"""`guestpass fuzz`: property-based fuzzing of a server's auth API with Schemathesis, driven by its
OpenAPI document (the target's /openapi.json, else the one shipped with guestpass)."""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from guestpass.conformance.cli import EXIT_OK, EXIT_UNEXPECTED, EXIT_USAGE, isolated, unreachable
from guestpass.conformance.embedded import reference_servers
from guestpass.conformance.target import Target, TargetError

DEFAULT_SEED = 20240101
DEFAULT_MAX_EXAMPLES = 10


def parser() -> argparse.ArgumentParser:
    fuzz = argparse.ArgumentParser(
        prog="guestpass fuzz",
        description="Fuzz a server's auth API from its OpenAPI document (default: the embedded reference server). "
        "Checks: no 5xx, documented status codes and content types, responses that match the schema, invalid "
        "input refused, and no operation that needs credentials answering without them. "
        "Exit 0: no failure; 1: failures; 2: usage error, target unreachable, or the fuzzer itself failed.",
    )
    fuzz.add_argument("--base-url", help="auth root of the server under test, e.g. http://127.0.0.1:9999/auth/v1")
    fuzz.add_argument("--target", type=Path, help="target file (TOML): keys and rate-limit header help the fuzzer")
    fuzz.add_argument("--database-url", help="database of the embedded reference server (default: fresh SQLite)")
    fuzz.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"generation seed (default {DEFAULT_SEED})")
    fuzz.add_argument(
        "--max-examples",
        type=int,
        default=DEFAULT_MAX_EXAMPLES,
        help=f"generated examples per operation, besides the schema's examples and edge cases "
        f"(default {DEFAULT_MAX_EXAMPLES})",
    )
    fuzz.add_argument("pytest_args", nargs="*", help="further pytest arguments, after --")
    return fuzz


@contextmanager
def resolved_target(given: Target | None, database_url: str | None) -> Iterator[Target]:
    """The given target, or an embedded reference server; with the capture SMTP server the target mails to."""
    from guestpass.fixtures.mail import MailCapture

    with ExitStack() as stack:
        target = given
        if target is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="guestpass-fuzz-")))
            target = stack.enter_context(reference_servers(workdir, database_url=database_url, variants=False))
        port = target.mail.smtp_capture_port
        if port is not None:
            try:
                stack.enter_context(MailCapture(port))
            except OSError as error:
                print(f"guestpass: cannot listen on the capture SMTP port {port}: {error}", file=sys.stderr)
        yield target


def pytest_arguments(args: argparse.Namespace) -> list[str]:
    return [
        *isolated("fuzz_operations.py"),
        "-p",
        "no:cacheprovider",
        "-p",
        "no:guestpass",
        "-p",
        "no:randomly",
        "-W",
        "ignore::pytest.PytestAssertRewriteWarning",
        "--tb=short",
        "-q",
        *args.pytest_args,
    ]


def fuzz(argv: Sequence[str]) -> int:
    from guestpass.conformance.fuzz_plugin import NOTHING_GENERATED, FuzzRun, FuzzSettings

    args = parser().parse_args(argv)
    if args.max_examples < 1:
        print("guestpass: --max-examples must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    try:
        given = Target.given(args.target, args.base_url)
    except TargetError as error:
        print(f"guestpass: {error}", file=sys.stderr)
        return EXIT_USAGE
    if given is not None and unreachable(given):
        return EXIT_USAGE
    try:
        with resolved_target(given, args.database_url) as target:
            run = FuzzRun(FuzzSettings(target, seed=args.seed, max_examples=args.max_examples))
            try:
                code = pytest.main(pytest_arguments(args), plugins=[run])
            finally:
                run.close()
    except TargetError as error:
        print(f"guestpass: {error}", file=sys.stderr)
        return EXIT_USAGE
    if not run.examples:
        print(f"guestpass: {NOTHING_GENERATED}", file=sys.stderr)
        return EXIT_USAGE
    if code == pytest.ExitCode.OK:
        return EXIT_OK
    return EXIT_UNEXPECTED if code == pytest.ExitCode.TESTS_FAILED else EXIT_USAGE
