"""Steps for oversized input: request bodies past the size bound and user metadata past its own."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
from pytest_bdd import parsers, then, when

from guestpass.conformance.client import tls_context
from guestpass.conformance.steps.common import unexpected_status
from guestpass.conformance.steps.core import new_password, password_grant
from guestpass.conformance.steps.phrases import phrase
from guestpass.conformance.transcript import Exchange
from guestpass.conformance.world import World, unique_email

KIB = 1024
MIB = 1024 * KIB
CHUNK = 64 * KIB
PAD = "x"
UNITS = {"KiB": KIB, "MiB": MIB}
SIZE = r"(?P<size>\d+) (?P<unit>KiB|MiB)"


def padded(body: dict[str, Any], total: int) -> bytes:
    """`body` with a `padding` field (no server reads it) that makes its JSON exactly `total` bytes long."""
    bare = json.dumps({**body, "padding": ""}).encode()
    return json.dumps({**body, "padding": PAD * (total - len(bare))}).encode()


def metadata_of(size: int) -> dict[str, str]:
    return {"pad": PAD * (size - len(json.dumps({"pad": ""})))}


def in_chunks(raw: bytes) -> Iterator[bytes]:
    for start in range(0, len(raw), CHUNK):
        yield raw[start : start + CHUNK]


def shown(body: dict[str, Any], raw: bytes, padded_field: str) -> bytes:
    """What the transcript shows of a large body: its fields, with the padding summarized."""
    return json.dumps({**body, padded_field: f"<padded with {PAD!r}: {len(raw)} bytes of JSON in all>"}).encode()


def send_large(
    world: World,
    method: str,
    path: str,
    body: dict[str, Any],
    raw: bytes,
    *,
    token: str | None = None,
    chunked: bool = False,
    padded_field: str = "data",
) -> httpx.Response:
    """Sends `raw` (with Content-Length, or chunked without it) and records a summary in the transcript."""
    headers = {**world.client.default_headers(api_version=True), "Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    url = world.client.root() + path
    with httpx.Client(timeout=60, verify=tls_context()) as http, world.client.turn():
        started = time.perf_counter()
        response = http.request(method, url, content=in_chunks(raw) if chunked else raw, headers=headers)
        elapsed_ms = (time.perf_counter() - started) * 1000
    summary = httpx.Request(method, url, headers=response.request.headers, content=shown(body, raw, padded_field))
    world.client.transcript.record(Exchange(summary, response, elapsed_ms))
    return world.record(response)


def sign_up_large(world: World, name: str, total: int, *, chunked: bool) -> None:
    actor = world.actor(name)
    actor.email, actor.password = unique_email(name), new_password()
    body = {"email": actor.email, "password": actor.password}
    send_large(world, "POST", "/signup", body, padded(body, total), chunked=chunked, padded_field="padding")


def size_of(size: str, unit: str) -> int:
    return int(size) * UNITS[unit]


# --- when --------------------------------------------------------------------------------------------


@when(parsers.re(r'"(?P<name>[^"]+)" signs up with a new email and a password in a body of ' + SIZE + "$"))
def signs_up_large_body(world: World, name: str, size: str, unit: str) -> None:
    sign_up_large(world, name, size_of(size, unit), chunked=False)


@when(parsers.re(r'"(?P<name>[^"]+)" signs up with a new email and a password in a chunked body of ' + SIZE + "$"))
def signs_up_chunked_body(world: World, name: str, size: str, unit: str) -> None:
    sign_up_large(world, name, size_of(size, unit), chunked=True)


@when(parsers.re(r"a visitor signs in anonymously with " + SIZE + " of user metadata$"))
def anonymous_large_metadata(world: World, size: str, unit: str) -> None:
    body = {"data": metadata_of(size_of(size, unit))}
    send_large(world, "POST", "/signup", {}, json.dumps(body).encode())


@when(parsers.re(r'"(?P<name>[^"]+)" signs up with a new email, a password and ' + SIZE + " of user metadata$"))
def signs_up_large_metadata(world: World, name: str, size: str, unit: str) -> None:
    actor = world.actor(name)
    actor.email, actor.password = unique_email(name), new_password()
    body = {"email": actor.email, "password": actor.password}
    raw = json.dumps({**body, "data": metadata_of(size_of(size, unit))}).encode()
    send_large(world, "POST", "/signup", body, raw)


@when(parsers.re(r'"(?P<name>[^"]+)" sends "PUT /user" with a new password and ' + SIZE + " of user metadata$"))
def puts_password_and_large_metadata(world: World, name: str, size: str, unit: str) -> None:
    body = {"password": new_password()}
    raw = json.dumps({**body, "data": metadata_of(size_of(size, unit))}).encode()
    send_large(world, "PUT", "/user", body, raw, token=world.actor(name).access_token())


# --- then --------------------------------------------------------------------------------------------


@then(phrase('the target still answers "{request}" with {status:d}'), converters={"status": int})
def still_answers(world: World, request: str, status: int) -> None:
    method, _, path = request.partition(" ")
    response = world.client.request(method, path)
    assert response.status_code == status, f"afterwards: {unexpected_status(status, response)}"


@then(phrase('"{name}"\'s password is unchanged'))
def password_unchanged(world: World, name: str) -> None:
    actor = world.actor(name)
    response = password_grant(world, actor.email or "", actor.password or "")
    assert response.status_code == 200, f"the old password no longer signs in: {unexpected_status(200, response)}"
