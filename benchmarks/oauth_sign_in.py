"""A full OAuth sign-in through the reference server and the suite's OpenID provider, as a browser does
it: GET /authorize, the provider's login and consent pages, the reference server's callback (code
exchange, ID token checks, the user, the session), and for PKCE the POST /token?grant_type=pkce.
New users each round, and a returning user. Prints median and spread on SQLite and PostgreSQL.

    python benchmarks/oauth_sign_in.py [--rounds 20] [--database sqlite|postgres ...]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import secrets
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
from postgres import scratch_database

from guestpass.conformance.embedded import reference_servers
from guestpass.conformance.target import Target
from guestpass.fixtures.oidc import login

WARMUP_ROUNDS = 2
SITE = "http://localhost:3000/welcome"


async def sign_in(client: httpx.AsyncClient, target: Target, address: str, pkce: bool) -> float:
    query = {"provider": target.oauth.provider, "redirect_to": SITE}
    verifier = secrets.token_urlsafe(48)
    if pkce:
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        query |= {"code_challenge": challenge, "code_challenge_method": "s256"}
    started = time.perf_counter()
    callback = await login(client, f"{target.base_url}/authorize?{urlencode(query)}", address, stop_at=target.base_url)
    site = urlsplit((await client.get(str(callback))).headers["location"])
    if pkce:
        code = parse_qs(site.query)["code"][0]
        body = {"auth_code": code, "code_verifier": verifier}
        (await client.post(f"{target.base_url}/token?grant_type=pkce", json=body)).raise_for_status()
    else:
        assert "access_token" in parse_qs(site.fragment), site
    return time.perf_counter() - started


async def measure(target: Target, rounds: int, pkce: bool, returning: bool) -> list[float]:
    timings, address = [], f"returning-{uuid.uuid4().hex[:8]}@guestpass.test"
    for _ in range(WARMUP_ROUNDS + rounds):
        async with httpx.AsyncClient(headers={"apikey": target.anon_key or ""}, timeout=30) as browser:
            who = address if returning else f"new-{uuid.uuid4().hex[:8]}@guestpass.test"
            timings.append(await sign_in(browser, target, who, pkce))
    return timings[WARMUP_ROUNDS:]


def describe(label: str, timings: list[float]) -> str:
    ms = sorted(t * 1000 for t in timings)
    return f"  {label:<34} median {statistics.median(ms):6.1f} ms  min {ms[0]:6.1f}  max {ms[-1]:6.1f}  ({len(ms)})"


def run(database: str, database_url: str | None, rounds: int) -> None:
    with (
        tempfile.TemporaryDirectory() as workdir,
        reference_servers(Path(workdir), database_url=database_url, variants=False) as target,
    ):
        assert target.oauth.provider, "Node.js is needed for the OpenID provider"
        print(f"reference server on {database}:")
        for label, pkce, returning in (
            ("new user, implicit", False, False),
            ("new user, PKCE (+ token exchange)", True, False),
            ("returning user, implicit", False, True),
        ):
            print(describe(label, asyncio.run(measure(target, rounds, pkce, returning))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--database", action="append", choices=["sqlite", "postgres"])
    args = parser.parse_args()
    for database in args.database or ["sqlite", "postgres"]:
        if database == "sqlite":
            run(database, None, args.rounds)
        else:
            asyncio.run(on_scratch_postgres(args.rounds))


async def on_scratch_postgres(rounds: int) -> None:
    async with scratch_database() as url:
        await asyncio.to_thread(run, "postgres", url, rounds)


if __name__ == "__main__":
    main()
