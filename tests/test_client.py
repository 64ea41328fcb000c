"""The suite's client under the parallel steps: each thread keeps its own connection."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from guestpass.conformance.client import ApiClient
from guestpass.conformance.parallel import run_together
from guestpass.conformance.transcript import Transcript

RACERS = 41  # as many as the largest parallel step (40 writers and the racing request)


@pytest.fixture
def answering_together() -> Iterator[str]:
    """A server that answers once RACERS requests are in flight, so each needs a connection of its own."""
    everyone = threading.Barrier(RACERS)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            everyone.wait(timeout=10)
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            pass

    class Server(ThreadingHTTPServer):
        request_queue_size = RACERS  # all of them connect at once

    server = Server(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_parallel_requests_keep_their_connections(answering_together: str) -> None:
    """A pool that closes surplus idle connections can close one already handed to a waiting request."""
    client = ApiClient(answering_together, Transcript())
    answers = run_together([lambda: client.request("GET", "/") for _ in range(RACERS)])
    assert [answer.status_code for answer in answers] == [200] * RACERS
    pool = client._http._transport._pool  # type: ignore[attr-defined]
    assert len(pool.connections) == RACERS, "the pool closed connections between parallel requests"
    client.close()
