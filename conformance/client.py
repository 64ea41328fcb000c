"""The suite's HTTP client: speaks like the official clients and records every exchange."""

from __future__ import annotations

import functools
import itertools
import ssl
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

import httpx

from guestpass.conformance.request_lock import RequestLock
from guestpass.conformance.session_check import SessionLedger
from guestpass.conformance.transcript import Exchange, Transcript

API_VERSION = "2024-01-01"
# httpcore 1.0.9 closes surplus idle connections, including one just handed to a waiting request, whose
# thread then reads a closed socket (EBADF): encode/httpcore#1110. Parallel steps never need a limit.
UNBOUNDED_POOL = httpx.Limits(max_connections=None, max_keepalive_connections=None)
USER_AGENT = "guestpass-conformance"


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One context for every client: loading the CA bundle costs more than most scenarios' requests."""
    return httpx.create_ssl_context()


class ApiClient:
    """One per scenario. `client_key` goes in the target's rate-limit header so scenarios do not
    share a rate-limit bucket. With a `sessions` ledger, every session the target answers goes through
    the shared session check (`guestpass.conformance.session_check`) as it arrives. With `instances`
    (other processes serving the same target), requests to the target take its base URLs in turn, so
    that parallel requests land on different processes."""

    def __init__(
        self,
        base_url: str,
        transcript: Transcript,
        *,
        apikey: str | None = None,
        rate_limit_header: str | None = None,
        client_key: str | None = None,
        timeout: float = 15.0,
        instances: Sequence[str] = (),
        sessions: SessionLedger | None = None,
        request_lock: RequestLock | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.instances = (self.base_url, *(url.rstrip("/") for url in instances))
        self._turns = itertools.cycle(self.instances)
        self._turn_lock = threading.Lock()
        self.transcript = transcript
        self.apikey = apikey
        self.rate_limit_header = rate_limit_header
        self.client_key = client_key
        self.sessions = sessions
        self.request_lock = request_lock
        self._alone = False
        self.last_seconds = 0.0  # how long the last request took to be answered
        self._http = httpx.Client(timeout=timeout, follow_redirects=False, verify=tls_context(), limits=UNBOUNDED_POOL)

    @contextmanager
    def alone(self) -> Iterator[None]:
        """Requests sent in this block are answered while no other request of the suite is in flight
        (`guestpass.conformance.request_lock`), when other processes send requests too."""
        self._alone = True
        try:
            yield
        finally:
            self._alone = False

    def turn(self) -> AbstractContextManager[None]:
        """What a request to the target holds while it is sent and answered (nothing in a process of its own)."""
        if self.request_lock is None:
            return nullcontext()
        return self.request_lock.alone() if self._alone else self.request_lock.shared()

    def default_headers(self, *, api_version: bool) -> dict[str, str]:
        headers = {"User-Agent": USER_AGENT, "X-Client-Info": f"{USER_AGENT}/1"}
        if api_version:
            headers["X-Supabase-Api-Version"] = API_VERSION
        if self.apikey:
            headers["apikey"] = self.apikey
        if self.rate_limit_header and self.client_key:
            headers[self.rate_limit_header] = self.client_key
        return headers

    def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        json: Any = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        api_version: bool = True,
        base_url: str | None = None,
    ) -> httpx.Response:
        all_headers = self.default_headers(api_version=api_version)
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        if content is not None:
            all_headers["Content-Type"] = "application/json"
        all_headers.update(headers or {})
        request = self._http.build_request(
            method, self.root(base_url) + path, json=json, content=content, headers=all_headers
        )
        with self.turn():
            sent_at, started = time.time(), time.perf_counter()
            response = self._http.send(request)
            response.read()
            self.last_seconds = time.perf_counter() - started
        self.transcript.record(Exchange(request, response, self.last_seconds * 1000))
        if self.sessions is not None:
            self.sessions.observe(request, response, sent_at, time.time())
        return response

    def root(self, base_url: str | None = None) -> str:
        """`base_url`, else the target's, taking its instances in turn (unless a step moved the client
        to another server, such as a variant)."""
        if base_url:
            return base_url
        if len(self.instances) == 1 or self.base_url != self.instances[0]:
            return self.base_url
        with self._turn_lock:
            return next(self._turns)

    def instance_of(self, url: str) -> str | None:
        """The base URL of the server `url` is on: one of the target's instances, or the server a step
        moved the client to (a variant); None if neither."""
        roots = (*self.instances, self.base_url)
        return next((root for root in roots if url.startswith(root + "/")), None)

    def close(self) -> None:
        self._http.close()
