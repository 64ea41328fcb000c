"""Steps about the HTTP connection itself: a client that keeps a connection open between requests (as
Node's fetch and the official clients do) must find it still open after an idle pause."""

from __future__ import annotations

import http.client
import time
from urllib.parse import urlsplit

import httpx
from pytest_bdd import then, when

from guestpass.conformance.client import tls_context
from guestpass.conformance.steps.phrases import phrase
from guestpass.conformance.transcript import Exchange
from guestpass.conformance.world import World

TIMEOUT = 15.0


def open_connection(base_url: str) -> tuple[http.client.HTTPConnection, str]:
    url = urlsplit(base_url)
    if url.scheme == "https":
        connection: http.client.HTTPConnection = http.client.HTTPSConnection(
            url.hostname or "", url.port, timeout=TIMEOUT, context=tls_context()
        )
    else:
        connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=TIMEOUT)
    return connection, url.path.rstrip("/")


def get_settings(world: World, connection: http.client.HTTPConnection, path: str) -> int:
    """GET /settings on `connection`, recorded in the scenario's transcript."""
    headers = world.client.default_headers(api_version=True)
    started = time.perf_counter()
    connection.request("GET", f"{path}/settings", headers=headers)
    response = connection.getresponse()
    body = response.read()
    request = httpx.Request("GET", f"{world.client.base_url}/settings", headers=headers)
    answer = httpx.Response(response.status, headers=response.getheaders(), content=body, request=request)
    world.client.transcript.record(Exchange(request, answer, (time.perf_counter() - started) * 1000))
    return response.status


@when(
    phrase("a client reads the settings, leaves its connection idle for {seconds:d} seconds and reads them again"),
    converters={"seconds": int},
)
def idle_connection(world: World, seconds: int) -> None:
    connection, path = open_connection(world.client.base_url)
    outcome: dict[str, object] = {}
    try:
        outcome["first"] = get_settings(world, connection, path)
        first_socket = connection.sock
        time.sleep(seconds)
        try:
            outcome["second"] = get_settings(world, connection, path)
            outcome["same connection"] = connection.sock is first_socket
        except (http.client.RemoteDisconnected, ConnectionError) as error:
            outcome["second"] = f"the server had closed the idle connection ({type(error).__name__}: {error})"
    finally:
        connection.close()
    world.remembered["idle connection"] = outcome


@then("both answers came on the one connection")
def one_connection(world: World) -> None:
    outcome = world.remembered["idle connection"]
    assert outcome["first"] == 200, f"the first GET /settings answered {outcome['first']}"
    assert outcome["second"] == 200, f"the second GET /settings on the same connection: {outcome['second']}"
    assert outcome.get("same connection"), "the client had to open a new connection"
