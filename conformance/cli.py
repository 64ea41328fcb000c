"""The `guestpass` command: check a server, serve the reference server, migrate its database."""

from __future__ import annotations

import argparse
import asyncio
import difflib
import json
import os
import re
import shlex
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

from guestpass.conformance.target import Captcha, Target, TargetError

if TYPE_CHECKING:
    from guestpass.conformance.embedded import EmbeddedServers

EXIT_OK, EXIT_UNEXPECTED, EXIT_USAGE = 0, 1, 2
T = TypeVar("T")
SUITE_DIR = Path(__file__).parent
DEFAULT_RESULTS = Path("guestpass-results") / "results.json"
NO_AUTOLOAD = "PYTEST_DISABLE_PLUGIN_AUTOLOAD"
AUTH_ROOT = "/auth/v1"


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
    check.add_argument(
        "--instance",
        action="append",
        default=[],
        dest="instances",
        help="auth root of another process serving the same target (repeatable): requests take turns",
    )
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
    check.add_argument(
        "--workers",
        type=workers_option,
        default=AUTO,
        metavar="N|auto",
        help="run the scenarios in N processes side by side (pytest-xdist); 0 or 1: one after another; auto (the "
        "default): side by side against the embedded reference servers when the run is large enough, one after "
        "another against a server given by --target or --base-url",
    )
    check.add_argument(
        "--expected-failures", type=Path, help="TOML file of scenarios the target is known to fail, with reasons"
    )
    check.add_argument("--strict", action="store_true", help="SHOULD-level failures fail the run instead of warning")
    check.add_argument(
        "--html", type=Path, help="write the HTML report here (default: report.html next to the results file)"
    )
    check.add_argument("pytest_args", nargs="*", help="further pytest arguments, after --")


AUTO = "auto"
# `--workers auto`: most of a scenario's time is spent waiting (for mail, for an expiry to pass), so
# several processes per core keep the cores busy (on two cores the whole suite finishes soonest with
# eight); each costs about a second of processor time to start, so a small run stays in one process.
WORKERS_PER_CORE = 4
MAX_AUTO_WORKERS = 8
SCENARIOS_PER_WORKER = 15


def workers_option(value: str) -> int | str:
    if value == AUTO:
        return AUTO
    try:
        workers = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of processes or {AUTO}: {value!r}") from None
    if workers < 0:
        raise argparse.ArgumentTypeError(f"not a number of processes: {value!r}")
    return workers


def chosen_workers(args: argparse.Namespace, target: Target | None) -> int:
    """How many processes run the scenarios; 0 for this process alone. Under `auto`, only the embedded
    reference servers, which are made for it, get several: a server given by --target or --base-url
    gets one scenario at a time unless --workers says otherwise. Side by side, each scenario's requests
    come slower, and a limit that refills over time (GoTrue's token buckets) may then let through an
    attempt it would refuse; a target whose clients are not told apart by a rate-limit header has its
    limits shared by all the scenarios."""
    if args.workers != AUTO:
        return args.workers if args.workers > 1 else 0
    if target is not None:
        return 0
    workers = min(
        MAX_AUTO_WORKERS,
        WORKERS_PER_CORE * cores(),
        selected_scenarios(args.ids, args.capabilities) // SCENARIOS_PER_WORKER,
    )
    return workers if workers > 1 else 0


def cores() -> int:
    """The processors this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def selected_scenarios(ids: Sequence[str], capabilities: Sequence[str]) -> int:
    """How many scenarios `--id` and `--capability` select (every scenario without either)."""
    from guestpass.scenarios import ID_TAG_IN_TEXT, feature_files

    count = 0
    for feature in feature_files():
        header, _, body = feature.read_text().partition("Feature:")
        if capabilities and not set(capabilities) & set(re.findall(r"@([\w-]+)", header)):
            continue
        count += sum(1 for found in ID_TAG_IN_TEXT.findall(body) if not ids or found in ids)
    return count


# The plugins the suite runs on, loaded by name: other installed plugins stay out (plugin autoloading
# is off for `check`), which keeps them from interfering and saves every process a second and a half.
SUITE_PLUGINS = ("guestpass.conformance.plugin", "pytest_bdd.plugin")


def isolated(test_module: str) -> list[str]:
    """pytest arguments that run one of the suite's own test modules with the suite's configuration, not
    the configuration of the project it is run from."""
    return [str(SUITE_DIR / test_module), "-c", str(SUITE_DIR / "pytest.ini"), "--rootdir", str(SUITE_DIR)]


def pytest_arguments(args: argparse.Namespace, gateway_python: str | None = None) -> list[str]:
    plugins = [*SUITE_PLUGINS, *(["xdist.plugin"] if args.workers else [])]
    argv = [
        *isolated("test_scenarios.py"),
        *[option for plugin in plugins for option in ("-p", plugin)],
        "-p",
        "no:cacheprovider",
        "-rN",  # the guestpass summary lists failures by scenario ID instead
        "--tb=short",
        "--guestpass-results",
        str(args.results),
    ]
    for option, value in (
        ("--guestpass-base-url", args.base_url),
        ("--guestpass-target", args.target),
        ("--guestpass-database-url", args.database_url),
        ("--junit-xml", args.junit),
        ("--guestpass-expected-failures", args.expected_failures),
    ):
        if value:
            argv += [option, str(value)]
    argv += [f"--guestpass-id={scenario_id}" for scenario_id in args.ids]
    argv += [f"--guestpass-instance={url}" for url in args.instances]
    argv += [f"--guestpass-capability={capability}" for capability in args.capabilities]
    if args.strict:
        argv.append("--guestpass-strict")
    argv += ["--guestpass-replay", replay_command(args), "--guestpass-own-processes"]
    if args.workers:
        spec = f"{args.workers}*popen//python={gateway_python}" if gateway_python else None
        argv += [*(["--tx", spec] if spec else ["-n", str(args.workers)]), "--dist", "loadgroup"]
    return argv + list(args.pytest_args)


def replay_command(args: argparse.Namespace) -> str:
    """`guestpass check` with the options that name the same target and database, for one scenario's rerun."""
    words = ["guestpass check"]
    for option, value in (
        ("--target", args.target),
        ("--base-url", args.base_url),
        ("--database-url", args.database_url),
        ("--expected-failures", args.expected_failures),
    ):
        if value:
            words.append(f"{option} {shlex.quote(str(value))}")
    words += [f"--instance {shlex.quote(url)}" for url in args.instances]
    return " ".join(words)


def unreachable(target: Target) -> bool:
    """True (and says why) if the target's GET /settings does not answer, or answers 404 where the auth
    root one level down would answer (a base URL missing its /auth/v1)."""
    problem = settings_problem(target.base_url)
    if problem:
        print(f"guestpass: the target {target.base_url} {problem}", file=sys.stderr)
    return problem is not None


def settings_problem(base_url: str) -> str | None:
    """None if GET {base_url}/settings answers as an auth root, else what is wrong."""
    import httpx  # here, not at the top: imported before pytest starts, its pytest plugin cannot be rewritten

    base_url = base_url.rstrip("/")
    try:
        status = httpx.get(f"{base_url}/settings", timeout=10).status_code
        if status != 404 or base_url.endswith(AUTH_ROOT):
            return None
        deeper = httpx.get(f"{base_url}{AUTH_ROOT}/settings", timeout=10).status_code
    except httpx.HTTPError as error:
        return f"is unreachable: {type(error).__name__}: {error}"
    if deeper == 200:
        return f"answers 404 at /settings but {base_url}{AUTH_ROOT}/settings answers: use {base_url}{AUTH_ROOT}"
    return None


def check(args: argparse.Namespace) -> int:
    check_selection(args.ids, args.capabilities)
    try:
        target = Target.given(args.target, args.base_url)
    except TargetError as error:
        print(f"guestpass: {error}", file=sys.stderr)
        return EXIT_USAGE
    if target is not None and unreachable(target):
        return EXIT_USAGE
    args.workers = chosen_workers(args, target)
    previous = modified(args.results)
    with plugin_autoload_off():
        code = run_suite(args, target)
    if modified(args.results) != previous:
        write_report(args.results, args.html or args.results.with_name("report.html"))
    if code == pytest.ExitCode.OK:
        return EXIT_OK
    if code == pytest.ExitCode.TESTS_FAILED:
        return EXIT_UNEXPECTED
    if code == pytest.ExitCode.NO_TESTS_COLLECTED:
        print("guestpass: no scenario matched the selection", file=sys.stderr)
    return EXIT_USAGE


class CommandError(Exception):
    """A usage error: the command prints it as one line and exits 2."""


def check_selection(ids: Sequence[str], capabilities: Sequence[str]) -> None:
    from guestpass.conformance.capabilities import CAPABILITIES
    from guestpass.scenarios import scenario_ids

    for given, known, kind in ((ids, scenario_ids(), "scenario ID"), (capabilities, CAPABILITIES, "capability")):
        for name in given:
            if name not in known:
                close = difflib.get_close_matches(name, sorted(known), n=3, cutoff=0.5)
                hint = f" (did you mean {' or '.join(close)}?)" if close else ""
                raise CommandError(f"unknown {kind} {name}{hint}")


def modified(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None


@contextmanager
def plugin_autoload_off() -> Iterator[None]:
    """For this process and the workers it starts."""
    previous = os.environ.get(NO_AUTOLOAD)
    os.environ[NO_AUTOLOAD] = "1"
    try:
        yield
    finally:
        if previous is None:
            del os.environ[NO_AUTOLOAD]
        else:
            os.environ[NO_AUTOLOAD] = previous


def run_suite(args: argparse.Namespace, target: Target | None) -> int:
    """pytest over the scenarios, against `target` or the embedded reference servers. Parallel workers
    share what a single process would start itself: the capture SMTP server (whose mail they read from a
    spool folder) and the captcha verifier."""
    from guestpass.conformance.embedded import launched_servers
    from guestpass.conformance.forkserver import available as forkserver_available
    from guestpass.conformance.forkserver import fork_server
    from guestpass.conformance.request_lock import RequestLock

    with tempfile.TemporaryDirectory(prefix="guestpass-") as scratch, ExitStack() as stack:
        workdir = Path(scratch)
        options: list[str] = []
        starting: ServersStarting | None = None
        if target is None:
            servers = stack.enter_context(launched_servers(workdir / "reference", database_url=args.database_url))
            starting = ServersStarting(servers)
            options += ["--guestpass-target", str(servers.target_file)]
        gateway_python = stack.enter_context(fork_server(workdir)) if args.workers and forkserver_available() else None
        if args.workers:
            RequestLock.create(workdir)
            options += ["--guestpass-request-lock", str(workdir)]
            options += shared_helpers(stack, workdir, *helpers_of(target, starting))
        argv = pytest_arguments(args, gateway_python) + options
        code = pytest.main(argv, plugins=[starting] if starting else [])
        if starting is not None and starting.error is not None:
            raise CommandError(str(starting.error))
        return code


def helpers_of(target: Target | None, starting: ServersStarting | None) -> tuple[int | None, Captcha | None]:
    """The port the target mails to and the captcha verifier it asks, if the suite drives one."""
    if starting is not None:
        servers = starting.servers
        return servers.smtp_port, Captcha(**servers.captcha) if servers.captcha else None
    assert target is not None
    return target.mail.smtp_capture_port, target.captcha if target.claims("captcha") else None


class ServersStarting:
    """Waits for the embedded servers once pytest has started (and pytest-xdist its workers), before any
    scenario is collected or handed out: the servers start while pytest does."""

    def __init__(self, servers: EmbeddedServers) -> None:
        self.servers = servers
        self.error: TargetError | None = None

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection(self) -> None:
        try:
            self.servers.wait()
        except TargetError as error:
            self.error = error
            pytest.exit("the embedded reference servers did not start", returncode=pytest.ExitCode.USAGE_ERROR)


def shared_helpers(stack: ExitStack, workdir: Path, mail_port: int | None, captcha: Captcha | None) -> list[str]:
    """The capture SMTP server and the captcha verifier, started for all the workers, and the options
    that tell the workers about them."""
    from guestpass.fixtures.captcha import CaptchaVerifier
    from guestpass.fixtures.mail import MailCapture

    shared = []
    if mail_port is not None:
        (workdir / "mail").mkdir()
        try:
            stack.enter_context(MailCapture(mail_port, spool=workdir / "mail"))
            shared += ["--guestpass-mail-spool", str(workdir / "mail")]
        except OSError as error:  # the workers report the mail scenarios not applicable, as one process would
            shared += ["--guestpass-mail-problem", f"cannot listen on the capture SMTP port {mail_port}: {error}"]
    if captcha is not None and captcha.drivable:
        try:
            stack.enter_context(
                CaptchaVerifier(captcha.siteverify_port or 0, sites={captcha.secret or "": captcha.site_key or ""})
            )
            shared += ["--guestpass-captcha-shared"]
        except OSError as error:
            problem = f"cannot listen on the siteverify port {captcha.siteverify_port}: {error}"
            shared += ["--guestpass-captcha-problem", problem]
    return shared


def write_report(results: Path, html: Path) -> None:
    from guestpass.reports.html import render_report

    html.parent.mkdir(parents=True, exist_ok=True)
    html.write_text(render_report(json.loads(results.read_text())))
    print(f"guestpass: results in {results}, report in {html}")


def read_results(path: Path) -> dict[str, Any]:
    """A results file of `guestpass check`, refused with one line when it is not one."""
    import jsonschema

    from guestpass.reports import results_schema

    try:
        document = json.loads(path.read_text())
    except OSError as error:
        raise CommandError(f"cannot read {path}: {error.strerror}") from None
    except ValueError as error:
        raise CommandError(f"{path} is not JSON: {error}") from None
    problem = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(results_schema()).iter_errors(document))
    if problem is not None:
        where = "/".join(str(part) for part in problem.absolute_path) or "top level"
        raise CommandError(f"{path} is not a guestpass results file ({where}: {problem.message})")
    return document


def report(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="guestpass report", description="Render a results file as an HTML report.")
    parser.add_argument("results", type=Path)
    parser.add_argument("--html", type=Path, help="default: the results file with .html")
    args = parser.parse_args(argv)
    read_results(args.results)
    write_report(args.results, args.html or args.results.with_suffix(".html"))
    return EXIT_OK


def compare(argv: Sequence[str]) -> int:
    from guestpass.reports.compare import compare_html, compare_markdown

    parser = argparse.ArgumentParser(
        prog="guestpass compare",
        description="Several implementations side by side. Markdown goes to standard output unless --markdown "
        "or --html names a file.",
    )
    parser.add_argument("results", type=Path, nargs="+", help="results files of `guestpass check`")
    parser.add_argument("--html", type=Path)
    parser.add_argument("--markdown", type=Path)
    parser.add_argument(
        "--label", action="append", default=[], help="name of each implementation, in order (default: its target name)"
    )
    args = parser.parse_args(argv)
    documents = [read_results(path) for path in args.results]
    for document, label in zip(documents, args.label, strict=False):
        document["target"]["name"] = label
    if args.html:
        args.html.write_text(compare_html(documents))
    if args.markdown:
        args.markdown.write_text(compare_markdown(documents))
    if not (args.html or args.markdown):
        print(compare_markdown(documents))
    return EXIT_OK


def spec(argv: Sequence[str]) -> int:
    from guestpass.reports.spec import spec_html, spec_markdown

    parser = argparse.ArgumentParser(
        prog="guestpass spec",
        description="The scenarios as a readable specification. Markdown goes to standard output unless "
        "--markdown or --html names a file.",
    )
    parser.add_argument("--html", type=Path)
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args(argv)
    if args.html:
        args.html.write_text(spec_html())
    if args.markdown:
        args.markdown.write_text(spec_markdown())
    if not (args.html or args.markdown):
        print(spec_markdown())
    return EXIT_OK


def targets(argv: Sequence[str]) -> int:
    from guestpass.conformance.target_template import target_template
    from guestpass.conformance.target_template_gotrue import gotrue_template

    parser = argparse.ArgumentParser(prog="guestpass targets", description="Target files.")
    sub = parser.add_subparsers(dest="action", required=True)
    init = sub.add_parser("init", help="write a commented target file for a new server")
    init.add_argument("file", type=Path, nargs="?", default=Path("target.toml"))
    init.add_argument("--base-url")
    init.add_argument("--name")
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    init.add_argument(
        "--for",
        dest="implementation",
        choices=["any", "gotrue"],
        default="any",
        help="gotrue: a file for a Supabase Auth (GoTrue) server, naming the setting behind every value",
    )
    args = parser.parse_args(argv)
    if args.file.exists() and not args.force:
        print(f"guestpass: {args.file} exists (--force overwrites it)", file=sys.stderr)
        return EXIT_USAGE
    template = gotrue_template if args.implementation == "gotrue" else target_template
    args.file.write_text(template(args.base_url, args.name))
    print(f"guestpass: wrote {args.file}; fill in the keys and delete the capabilities your server lacks")
    return EXIT_OK


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
    url = args.database_url or config_from_env().database_url
    with_database_errors(url, lambda: asyncio.run(upgrade(url)))
    print(f"guestpass: {url} is at the newest schema")
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

    url = args.database_url or config_from_env().database_url
    require_existing_database(url)

    async def run() -> int:
        db = Database(url)
        try:
            return await reap_users(db, cutoff, batch_size=args.batch_size)
        finally:
            await db.dispose()

    removed = with_database_errors(url, lambda: asyncio.run(run()))
    print(f"reaped {removed} anonymous users idle since {cutoff.isoformat()}")
    return EXIT_OK


def require_existing_database(url: str) -> None:
    """A command that works on existing data refuses a SQLite file that is not there instead of creating it."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and not Path(parsed.database).exists():
        raise CommandError(f"no database at {parsed.database} (give --database-url, or create one: guestpass migrate)")


def with_database_errors(url: str, work: Callable[[], T]) -> T:
    from sqlalchemy.exc import SQLAlchemyError

    from guestpass.reference.storage.urls import database_reason, shown

    database = shown(url)
    try:
        return work()
    except SQLAlchemyError as error:
        reason = database_reason(error)
        if "no such table" in reason or "does not exist" in reason:
            raise CommandError(f"{database} has no guestpass tables ({reason}): run guestpass migrate first") from None
        raise CommandError(f"database {database}: {reason}") from None
    except OSError as error:
        raise CommandError(f"cannot reach the database {database}: {error}") from None


def model(argv: Sequence[str]) -> int:
    import tempfile

    from guestpass.conformance.embedded import reference_servers
    from guestpass.conformance.model import run_model

    parser = argparse.ArgumentParser(
        prog="guestpass model",
        description="Drive a server through random sequences of sign-ins, refreshes, logouts, conversions, "
        "merges, contributions and self-deletes, and compare every answer with a model. Exit 0: it agrees; "
        "1: it does not (the shrunk failing program is printed); 2: usage error or target unreachable.",
    )
    parser.add_argument("--base-url", help="auth root of the server under test (default: the embedded server)")
    parser.add_argument("--target", type=Path, help="target file (TOML) describing the server under test")
    parser.add_argument("--database-url", help="database of the embedded reference server (default: fresh SQLite)")
    parser.add_argument("--seed", type=int, default=0, help="Hypothesis seed (default 0: every run is the same)")
    parser.add_argument("--max-examples", type=int, default=50, help="how many programs to run (default 50)")
    parser.add_argument("--steps", type=int, default=20, help="at most this many steps per program (default 20)")
    args = parser.parse_args(argv)
    try:
        target = Target.given(args.target, args.base_url)
    except TargetError as error:
        print(f"guestpass: {error}", file=sys.stderr)
        return EXIT_USAGE
    if target is not None:
        if unreachable(target):
            return EXIT_USAGE
        agreed = run_model(target, seed=args.seed, max_examples=args.max_examples, steps=args.steps)
        return EXIT_OK if agreed else EXIT_UNEXPECTED
    with (
        tempfile.TemporaryDirectory(prefix="guestpass-model-") as workdir,
        reference_servers(Path(workdir), database_url=args.database_url, variants=False) as embedded,
    ):
        agreed = run_model(embedded, seed=args.seed, max_examples=args.max_examples, steps=args.steps)
    return EXIT_OK if agreed else EXIT_UNEXPECTED


def fuzz(argv: Sequence[str]) -> int:
    from guestpass.conformance.fuzz import fuzz as run_fuzz

    return run_fuzz(argv)


def login(argv: Sequence[str]) -> int:
    from guestpass.reference.login import main as login_main

    return login_main(argv)


def oidc_provider(argv: Sequence[str]) -> int:
    """The suite's OpenID provider on a fixed port, for a server the suite does not start itself."""
    import signal

    from guestpass.fixtures.oidc import OidcProvider, node_available

    parser = argparse.ArgumentParser(
        prog="guestpass oidc-provider",
        description="Run the suite's OpenID provider (oidc-provider on Node.js) until interrupted, and print the "
        "issuer, client id and secret to configure as a provider of the server under test.",
    )
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--redirect-uri", action="append", required=True, help="the server's OAuth callback URL")
    parser.add_argument("--client-id", default="guestpass")
    parser.add_argument("--client-secret", help="default: a random one")
    parser.add_argument(
        "--routes",
        choices=["oidc-provider", "keycloak"],
        default="oidc-provider",
        help="keycloak: the endpoints at Keycloak's paths (/protocol/openid-connect/...), PKCE optional, for "
        "servers with a Keycloak provider slot such as Supabase Auth (GoTrue)",
    )
    args = parser.parse_args(argv)
    if not node_available():
        print("guestpass: the OpenID provider needs Node.js 20.19 or later and npm", file=sys.stderr)
        return EXIT_USAGE
    with OidcProvider(
        args.redirect_uri,
        client_id=args.client_id,
        client_secret=args.client_secret,
        port=args.port,
        routes=args.routes,
    ) as provider:
        settings = {"issuer": provider.issuer, "client_id": provider.client_id, "client_secret": provider.client_secret}
        print(json.dumps(settings, indent=2))
        print(f"[oauth] of the target file: issuer = {json.dumps(provider.issuer)}; Ctrl-C stops", flush=True)
        stopping = {signal.SIGINT, signal.SIGTERM}
        signal.pthread_sigmask(signal.SIG_BLOCK, stopping)
        signal.sigwait(stopping)
    return EXIT_OK


COMMANDS = {
    "oidc-provider": oidc_provider,
    "serve": serve,
    "migrate": migrate,
    "reap": reap,
    "login": login,
    "fuzz": fuzz,
    "model": model,
    "report": report,
    "compare": compare,
    "spec": spec,
    "targets": targets,
}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return dispatch(argv)
    except CommandError as error:
        print(f"guestpass: {error}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # the reader went away (`guestpass spec | head`): nothing left to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


def dispatch(argv: list[str]) -> int:
    if argv[:1] and argv[0] in COMMANDS:
        return COMMANDS[argv[0]](argv[1:])
    parser = argparse.ArgumentParser(
        prog="guestpass", description="Conformance suite and reference server for anonymous-first authentication."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="{" + ",".join(["check", *COMMANDS]) + "}")
    _check_parser(sub)
    sub.add_parser("serve", help="run the reference server (see `guestpass serve --help`)")
    sub.add_parser("migrate", help="apply the reference server's migrations")
    sub.add_parser("reap", help="delete idle anonymous users that own nothing")
    sub.add_parser("model", help="model-based testing: random programs compared with a model of the server")
    sub.add_parser("login", help="sign the CLI in through a browser (the reference CLI client)")
    sub.add_parser("fuzz", help="fuzz the auth API from its OpenAPI document (Schemathesis)")
    sub.add_parser("oidc-provider", help="run the suite's OpenID provider for a server the suite does not start")
    sub.add_parser("report", help="render a results file as an HTML report")
    sub.add_parser("compare", help="several implementations' results side by side (HTML, Markdown)")
    sub.add_parser("spec", help="the scenarios as a readable specification (HTML, Markdown)")
    sub.add_parser("targets", help="`targets init`: write a commented target file for a new server")
    args = parser.parse_args(argv)
    return check(args)


if __name__ == "__main__":
    sys.exit(main())
