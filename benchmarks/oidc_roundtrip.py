"""One OpenID Connect authorization round trip through the local provider (guestpass.fixtures.oidc):
authorize, login form, consent form, callback URL, code exchange at the token endpoint. A fresh user
agent passes both forms; a returning one (same cookies) passes none. Prints median and spread.

    python benchmarks/oidc_roundtrip.py [--rounds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import secrets
import statistics
import time
from urllib.parse import parse_qs, urlencode

import httpx

from guestpass.fixtures.oidc import OidcProvider, login

REDIRECT_URI = "http://127.0.0.1:9/callback"
WARMUP_ROUNDS = 2


async def round_trip(client: httpx.AsyncClient, provider: OidcProvider) -> float:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = {
        "response_type": "code",
        "client_id": provider.client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid email profile",
        "state": secrets.token_urlsafe(16),
        "nonce": secrets.token_urlsafe(16),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    started = time.perf_counter()
    callback = await login(client, f"{provider.issuer}/auth?{urlencode(query)}", "alice", stop_at=REDIRECT_URI)
    code = parse_qs(callback.query.decode())["code"][0]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI, "code_verifier": verifier}
    tokens = await client.post(f"{provider.issuer}/token", data=form, auth=(provider.client_id, provider.client_secret))
    tokens.raise_for_status()
    return time.perf_counter() - started


async def measure(provider: OidcProvider, rounds: int, returning: bool) -> list[float]:
    timings = []
    async with httpx.AsyncClient() as shared:
        for _ in range(WARMUP_ROUNDS + rounds):
            if returning:
                timings.append(await round_trip(shared, provider))
                continue
            async with httpx.AsyncClient() as fresh:
                timings.append(await round_trip(fresh, provider))
    return timings[WARMUP_ROUNDS:]


def describe(label: str, timings: list[float]) -> str:
    ms = sorted(t * 1000 for t in timings)
    return (
        f"{label}: median {statistics.median(ms):.1f} ms  min {ms[0]:.1f} ms  max {ms[-1]:.1f} ms  ({len(ms)} rounds)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    started = time.perf_counter()
    with OidcProvider([REDIRECT_URI]) as provider:
        print(f"provider ready in {(time.perf_counter() - started) * 1000:.0f} ms at {provider.issuer}")
        print(describe("fresh user agent (login + consent)", asyncio.run(measure(provider, args.rounds, False))))
        print(describe("returning user agent (no forms)", asyncio.run(measure(provider, args.rounds, True))))


if __name__ == "__main__":
    main()
