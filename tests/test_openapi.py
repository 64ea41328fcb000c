"""The shipped OpenAPI document: valid OpenAPI 3.1, served at /openapi.json, and describing exactly the
routes the reference server has (a route added without documenting it fails here)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
import schemathesis
from schemathesis.core.result import Err
from starlette.routing import Mount, Route

from guestpass.conformance.capabilities import CAPABILITIES
from guestpass.reference.app import AUTH_PREFIX, create_app
from guestpass.reference.config import TEST_PROFILE, Config
from guestpass.reference.errors import ERRORS
from guestpass.reference.openapi import openapi_document
from guestpass.reference.tokens import generate_secret

HTTP_METHODS = {"get", "put", "post", "delete", "patch", "options", "head", "trace"}


@pytest.fixture
def app(tmp_path: Path):
    config = Config(database_url=f"sqlite:///{tmp_path / 'openapi.db'}", jwt_secret=generate_secret())
    return create_app(config.replace(**TEST_PROFILE))


def served_operations(app) -> set[tuple[str, str]]:
    mount = next(route for route in app.routes if isinstance(route, Mount) and route.path == AUTH_PREFIX)
    return {
        (method, route.path)
        for route in mount.routes
        if isinstance(route, Route)
        for method in (route.methods or set()) - {"HEAD"}
    }


def documented_operations(document: dict) -> set[tuple[str, str]]:
    return {
        (method.upper(), path) for path, item in document["paths"].items() for method in item if method in HTTP_METHODS
    }


def test_the_document_is_valid_openapi_3_1() -> None:
    document = openapi_document()
    assert document["openapi"].startswith("3.1.")
    schema = schemathesis.openapi.from_dict(document)
    schema.validate()
    problems = [result.err() for result in schema.get_all_operations() if isinstance(result, Err)]
    assert not problems


def test_every_route_is_documented_and_every_documented_operation_is_served(app) -> None:
    served, documented = served_operations(app), documented_operations(openapi_document())
    assert sorted(served - documented) == [], "routes missing from reference/openapi.json"
    assert sorted(documented - served) == [], "documented operations the reference server does not have"


def test_every_error_code_the_server_can_send_is_in_the_document() -> None:
    documented = set(openapi_document()["components"]["schemas"]["ErrorCode"]["enum"])
    assert documented == {code.value for code in ERRORS}


def test_every_operation_documents_its_success_and_no_server_error() -> None:
    for path, item in openapi_document()["paths"].items():
        for method, operation in item.items():
            statuses = set(operation["responses"])
            assert any(status.startswith(("2", "3")) for status in statuses), f"{method} {path}"
            assert not any(status.startswith("5") or status == "default" for status in statuses), f"{method} {path}"


def test_the_server_serves_its_document(app) -> None:
    async def fetch() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://guestpass") as client:
            return await client.get(f"{AUTH_PREFIX}/openapi.json")

    response = asyncio.run(fetch())
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == openapi_document()


def test_every_operation_is_tagged_with_capabilities() -> None:
    """`guestpass fuzz` keeps, of the shipped document, the operations of the capabilities a target claims."""
    for path, item in openapi_document()["paths"].items():
        for method, operation in item.items():
            assert operation["tags"] and set(operation["tags"]) <= CAPABILITIES.keys(), f"{method} {path}"
