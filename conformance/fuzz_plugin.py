"""The pytest plugin behind `guestpass fuzz`: loads the target's OpenAPI document into Schemathesis, gives
generated requests real sessions, sends each one and runs the checks on its answer."""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import schemathesis
from schemathesis import Case
from schemathesis.config import HealthCheck
from schemathesis.core.result import Ok

from guestpass.conformance.fuzz_sessions import Sessions
from guestpass.conformance.target import Target
from guestpass.reference.openapi import openapi_document

NOTHING_GENERATED = (
    "the fuzzer generated no request at all: it failed inside the fuzzing tool (see the errors above), "
    "before the server was asked anything; this says nothing about the server"
)
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "ignored_auth",
]
REQUEST_TIMEOUT = 30.0


@dataclass(frozen=True)
class FuzzSettings:
    target: Target
    seed: int
    max_examples: int


def served_document(client: httpx.Client) -> dict[str, Any] | None:
    """The target's own /openapi.json, if it serves an OpenAPI document there."""
    try:
        response = client.get("/openapi.json")
        document = response.json() if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        return None
    return document if isinstance(document, dict) and "openapi" in document and "paths" in document else None


def shipped_document_for(target: Target) -> dict[str, Any]:
    """guestpass's own document, cut down to the operations of the capabilities the target claims (each
    operation's tags name its capabilities); /openapi.json goes too, as the target serves none."""
    document = openapi_document()
    paths: dict[str, Any] = {}
    for path, item in document["paths"].items():
        if path == "/openapi.json":
            continue
        kept = {
            method: operation
            for method, operation in item.items()
            if all(target.claims(tag) for tag in operation.get("tags", ()))
        }
        if kept:
            paths[path] = kept
    return {**document, "paths": paths}


def required_schemes(case: Case) -> set[str]:
    raw = case.operation.schema.raw_schema
    requirements = case.operation.definition.raw.get("security", raw.get("security", []))
    return {name for requirement in requirements if requirement for name in requirement}


def wants_service_role(case: Case, schemes: set[str]) -> bool:
    return case.operation.path.startswith("/admin/") or any("service" in name.lower() for name in schemes)


def wants_user(case: Case, schemes: set[str]) -> bool:
    definitions = case.operation.schema.raw_schema.get("components", {}).get("securitySchemes", {})
    return any(definitions.get(name, {}).get("scheme", "").lower() == "bearer" for name in schemes)


class FuzzRun:
    """One fuzzing run: the schema, the sessions and the tally. Registered as a pytest plugin."""

    def __init__(self, settings: FuzzSettings) -> None:
        self.settings = settings
        self.client = httpx.Client(base_url=settings.target.base_url, timeout=REQUEST_TIMEOUT)
        self.sessions = Sessions(settings.target, self.client, self.client_key)
        self.examples = 0
        self.operations: list[str] = []
        self.successes: Counter[str] = Counter()
        self.document_source = ""

    def client_key(self) -> dict[str, str]:
        """Headers that make each request its own client for the target's per-client rate limits."""
        header = self.settings.target.rate_limits.header
        return {header: f"fuzz-{secrets.token_hex(8)}"} if header else {}

    def extra_headers(self) -> dict[str, str]:
        anon_key = self.settings.target.anon_key
        return {**({"apikey": anon_key} if anon_key else {}), **self.client_key()}

    def load_schema(self) -> schemathesis.BaseSchema:
        document = served_document(self.client)
        self.document_source = "the target's /openapi.json" if document else "the document shipped with guestpass"
        schema = schemathesis.openapi.from_dict(document or shipped_document_for(self.settings.target))
        schema.config.update(
            base_url=self.settings.target.base_url,
            request_timeout=REQUEST_TIMEOUT,
            suppress_health_check=[HealthCheck.too_slow],  # a busy CI machine is no finding
        )
        schema.config.seed = self.settings.seed
        schema.config.generation.update(max_examples=self.settings.max_examples, database="none")
        schema.config.checks.update(included_check_names=CHECKS)
        self.operations = [result.ok().label for result in schema.get_all_operations() if isinstance(result, Ok)]
        self.register_auth(schema)
        return schema

    def register_auth(self, schema: schemathesis.BaseSchema) -> None:
        sessions = self.sessions

        @schema.auth(refresh_interval=None, retry_on=[])
        class SessionAuth:
            def get(self, case: Case, context: schemathesis.AuthContext) -> str | None:
                schemes = required_schemes(case)
                if wants_service_role(case, schemes):
                    return sessions.service_role_token()
                return sessions.user_token() if wants_user(case, schemes) else None

            def set(self, case: Case, data: str, context: schemathesis.AuthContext) -> None:
                case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

    def send(self, case: Case) -> None:
        self.examples += 1
        headers = self.extra_headers()
        response = case.call(headers=headers)
        if response.status_code < 400:
            self.successes[case.operation.label] += 1
        self.observe(case, response)
        case.validate_response(response, headers=headers, transport_kwargs={"headers": headers})

    def observe(self, case: Case, response: schemathesis.Response) -> None:
        """A refusal, a deletion or a logout may have ended the session the request carried."""
        scheme, _, token = (case.headers or {}).get("Authorization", "").partition(" ")
        ended = case.method.upper() == "DELETE" or case.operation.path.endswith("/logout")
        if scheme.lower() == "bearer" and (response.status_code in (401, 403) or ended):
            self.sessions.doubt(token)

    @pytest.fixture(scope="session")
    def guestpass_fuzz(self) -> Iterator[FuzzRun]:
        yield self

    @pytest.fixture(scope="session")
    def guestpass_fuzz_schema(self) -> schemathesis.BaseSchema:
        return self.load_schema()

    def pytest_report_header(self) -> list[str]:
        settings = self.settings
        return [
            f"guestpass fuzz target: {settings.target.base_url}",
            f"seed {settings.seed}, at most {settings.max_examples} generated examples per operation",
        ]

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        terminalreporter.section("guestpass fuzz")
        terminalreporter.write_line(f"document: {self.document_source or 'not loaded'}")
        terminalreporter.write_line(
            f"{self.examples} requests generated for {len(self.operations)} operations "
            f"(seed {self.settings.seed}, max {self.settings.max_examples} per operation); "
            f"{self.sessions.created} sessions created"
        )
        if not self.examples:
            terminalreporter.write_line(NOTHING_GENERATED, red=True)
            return
        refused = [label for label in self.operations if not self.successes[label]]
        if refused:
            terminalreporter.write_line(f"never answered with success: {', '.join(refused)}")

    def close(self) -> None:
        self.client.close()
