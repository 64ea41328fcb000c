"""The reference server with a bare GET /__hello beside it (the ceiling: what uvicorn and Starlette alone
answer on this machine), under uvicorn with one or more workers sharing one listening socket. Default
profile; no reference code changes: every other path goes to the reference app as `guestpass serve` serves
it (the same uvicorn settings, no router of the benchmark's in front of it).

    python benchmarks/ceiling_server.py --database-url URL --workers 2 --write-target FILE [--password-cost default]

Workers are separate processes, so what must be the same in all of them (the JWT secret, the external
URL) travels in GUESTPASS_* variables, and each worker builds its app from the environment.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.supervisors import Multiprocess

from guestpass.reference import tokens
from guestpass.reference.app import AUTH_PREFIX
from guestpass.reference.app import create_app as create_reference_app
from guestpass.reference.config import TEST_PROFILE, config_from_env
from guestpass.reference.server import UVICORN_OPTIONS, bind, target_description, write_target
from guestpass.reference.storage.migrate import upgrade

HELLO_PATH = "/__hello"
NO_LIMIT = "1000000000"


async def hello(_: Request) -> PlainTextResponse:
    return PlainTextResponse("hello")


def create_app() -> ASGIApp:
    """Each worker's app: /__hello answered by a Starlette app of that one route, and everything else, the
    lifespan included, by the reference app."""
    reference = create_reference_app(config_from_env())
    ceiling = Starlette(routes=[Route(HELLO_PATH, hello)])

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == HELLO_PATH:
            await ceiling(scope, receive, send)
        else:
            await reference(scope, receive, send)

    return app


def share_settings(database_url: str, base_url: str, password_cost: str) -> None:
    """Settings every worker reads; anonymous sign-ins are not rate limited (the load comes from one host),
    and each visitor's address travels in Sb-Forwarded-For, so that they count in rows of their own.
    `password_cost`: "test" hashes as the test profile does, "default" as production."""
    if password_cost == "test":
        cost = TEST_PROFILE["password_cost"]
        os.environ.update(
            GUESTPASS_PASSWORD_TIME_COST=str(cost.time_cost),
            GUESTPASS_PASSWORD_MEMORY_COST_KIB=str(cost.memory_cost_kib),
            GUESTPASS_PASSWORD_PARALLELISM=str(cost.parallelism),
        )
    os.environ.update(
        GUESTPASS_DATABASE_URL=database_url,
        GUESTPASS_EXTERNAL_URL=base_url,
        GUESTPASS_JWT_SECRET=os.environ.get("GUESTPASS_JWT_SECRET") or tokens.generate_secret(),
        GUESTPASS_ANONYMOUS_SIGN_INS_PER_WINDOW=NO_LIMIT,
        GUESTPASS_RATE_LIMIT_HEADER="Sb-Forwarded-For",  # the load's visitors are told apart by it, as behind a proxy
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--write-target", type=Path, required=True)
    parser.add_argument("--password-cost", choices=("test", "default"), default="test")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    sock = bind("127.0.0.1", args.port)
    base_url = f"http://127.0.0.1:{sock.getsockname()[1]}{AUTH_PREFIX}"
    share_settings(args.database_url, base_url, args.password_cost)
    config = config_from_env()
    asyncio.run(upgrade(config.database_url))
    write_target(args.write_target, target_description(config, base_url))

    server_config = uvicorn.Config(
        f"{Path(__file__).stem}:create_app",
        factory=True,
        workers=args.workers,
        **UVICORN_OPTIONS,
    )
    if args.workers > 1:
        Multiprocess(server_config, sockets=[sock]).run()
    else:
        uvicorn.Server(server_config).run(sockets=[sock])


if __name__ == "__main__":
    main()
