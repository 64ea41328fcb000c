"""A fork server for the parallel workers of `guestpass check` (on Linux).

pytest-xdist starts each worker as a new interpreter (`<python> -u -c <bootstrap line>`), which imports
pytest, the steps and their libraries and parses every feature file: most of a second of processor time
per worker, spent while the embedded servers start on the same cores. The fork server does that once and
forks a ready process for each worker. Its `connect` command is the `python=` of the workers' gateways: it
hands the server its standard streams, environment and working directory, and stays until the worker it
got ends, with its exit status. Where the server cannot be reached, `connect` runs the bootstrap line in a
new interpreter, as pytest-xdist would have.

The server does not import the modules pytest rewrites the assertions of (the test module and the plugins
given with -p), so each worker imports those itself, as it would have."""

from __future__ import annotations

import contextlib
import gc
import importlib
import json
import os
import pkgutil
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Iterator, Sequence
from pathlib import Path

READY_TIMEOUT = 30.0
ORPHAN_CHECK_SECONDS = 1.0
REAP_SECONDS = 5.0
STREAMS = (0, 1, 2)
# what every worker imports, less the modules pytest rewrites: the test module and the plugins given with
# -p (guestpass.conformance.plugin, pytest_bdd.plugin, xdist.plugin); `preload` adds pytest's own plugins,
# the steps and the parsed feature files. httpx imports httpcore (and trio, where installed) only when its
# first client is made, and anyio its event loop's backend when first used: a fifth of a worker's time.
PRELOAD = (
    "anyio._backends._asyncio",
    "httpcore",
    "guestpass.conformance.world",
    "guestpass.conformance.step_lookup",
    "pytest_bdd.cucumber_json",
    "pytest_bdd.generation",
    "pytest_bdd.gherkin_terminal_reporter",
    "pytest_bdd.reporting",
)


def available() -> bool:
    """Linux only: elsewhere (macOS) some system libraries are not safe to use after a fork."""
    return sys.platform.startswith("linux")


@contextlib.contextmanager
def fork_server(workdir: Path) -> Iterator[str | None]:
    """A fork server listening in `workdir` while the block runs: the `python=` of the workers' gateways,
    or None where it cannot start (the workers then start as new interpreters)."""
    path = workdir / "forkserver.sock"
    process = subprocess.Popen([sys.executable, "-u", "-m", __name__, "serve", str(path)], stdin=subprocess.DEVNULL)
    try:
        yield gateway_python(path) if listening(path, process) else None
    finally:
        process.terminate()
        try:
            process.wait(timeout=REAP_SECONDS + 5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def gateway_python(path: Path) -> str:
    return shlex.join([sys.executable, "-m", __name__, "connect", str(path)])


def listening(path: Path, process: subprocess.Popen[bytes]) -> bool:
    deadline = time.monotonic() + READY_TIMEOUT
    while not path.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def serve(path: Path) -> None:
    preload()
    gc.collect()
    gc.freeze()  # the forked workers share these pages for as long as they run
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the workers and the controller
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGCHLD, reap)  # and not ignored: a worker's processor time counts as this process's
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        binding = path.with_name(path.name + ".binding")
        listener.bind(str(binding))
        listener.listen(64)
        os.rename(binding, path)  # the path appears once the server accepts
        listener.settimeout(ORPHAN_CHECK_SECONDS)
        controller = os.getppid()
        try:
            while os.getppid() == controller:  # not left behind by a controller that was killed
                try:
                    connection, _ = listener.accept()
                except TimeoutError:
                    continue
                if os.fork() == 0:
                    listener.close()
                    become_worker(connection)
                connection.close()
        finally:
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            reap_for(REAP_SECONDS)


def reap_for(seconds: float) -> None:
    """Waits for the workers still running (their processor time then counts as this process's), for at
    most `seconds`: each also ends with its gateway's process."""
    deadline = time.monotonic() + seconds
    with contextlib.suppress(ChildProcessError):
        while time.monotonic() < deadline:
            if not os.waitpid(-1, os.WNOHANG)[0]:
                time.sleep(0.01)


def stop(signal_number: int, frame: object) -> None:
    raise SystemExit(0)


def reap(signal_number: int, frame: object) -> None:
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass


def preload() -> None:
    from _pytest.config import default_plugins
    from pytest_bdd.feature import get_features

    from guestpass.conformance import steps
    from guestpass.scenarios import FEATURES_DIR

    for name in default_plugins:
        importlib.import_module(f"_pytest.{name}")
    for name in PRELOAD:
        importlib.import_module(name)
    for module in pkgutil.iter_modules(steps.__path__, f"{steps.__name__}."):
        importlib.import_module(module.name)
    get_features([str(FEATURES_DIR)])  # pytest-bdd keeps what it parsed, keyed by path


def become_worker(connection: socket.socket) -> None:
    """In the forked process: takes over the `connect` process's streams, environment and folder, and runs
    its bootstrap line."""
    status = 1
    try:
        connection.setblocking(True)
        request = take_over(connection)
        threading.Thread(target=end_with_gateway, args=(connection,), daemon=True).start()
        exec(request["code"], {"__name__": "__main__"})
        status = 0
    except SystemExit as exit_:
        status = 0 if exit_.code is None else exit_.code if isinstance(exit_.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        status &= 0xFF
        with contextlib.suppress(OSError):
            connection.send(bytes([status]))
        os._exit(status)


def end_with_gateway(connection: socket.socket) -> None:
    """Ends the worker when its `connect` process ends first: pytest-xdist kills a gateway's process to
    stop a worker that does not end by itself, and expects that to end the worker."""
    with contextlib.suppress(OSError):
        connection.recv(1)  # `connect` sends nothing: this returns when it is gone
    os._exit(1)


def take_over(connection: socket.socket) -> dict:
    request, streams = receive(connection)
    for target, stream in zip(STREAMS, streams, strict=True):
        os.dup2(stream, target)
        os.close(stream)
    for signal_number in (signal.SIGCHLD, signal.SIGTERM):
        signal.signal(signal_number, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    sys.argv = ["-c"]
    return request


def receive(connection: socket.socket) -> tuple[dict, list[int]]:
    data, streams, _, _ = socket.recv_fds(connection, 1 << 16, len(STREAMS))
    while not data.endswith(b"\n"):
        more = connection.recv(1 << 16)
        if not more:
            raise EOFError("the connect process went away")
        data += more
    return json.loads(data), streams


def connect(path: Path, interpreter_args: Sequence[str]) -> None:
    """As the gateway's interpreter: a worker forked by the server at `path` runs the bootstrap line."""
    code = interpreter_args[list(interpreter_args).index("-c") + 1]
    try:
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.connect(str(path))
        request = {"code": code, "cwd": os.getcwd(), "env": dict(os.environ)}
        socket.send_fds(connection, [json.dumps(request).encode() + b"\n"], list(STREAMS))
    except OSError:
        os.execv(sys.executable, [sys.executable, *interpreter_args])
    devnull = os.open(os.devnull, os.O_RDWR)
    for stream in STREAMS:  # pytest-xdist sees the end of the worker's output when the worker ends, not later
        os.dup2(devnull, stream)
    status = connection.recv(1)  # once the worker ends
    os._exit(status[0] if status else 1)


def main(argv: Sequence[str]) -> None:
    command, path, *rest = argv
    if command == "serve":
        try:
            serve(Path(path))
        except OSError as error:  # the workers then start as new interpreters
            raise SystemExit(f"guestpass: no fork server for the workers at {path}: {error}") from None
    elif command == "connect":
        connect(Path(path), rest)
    else:
        raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    main(sys.argv[1:])
