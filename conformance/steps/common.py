"""Generic steps: raw requests, and what any response must look like."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pytest_bdd import parsers, then, when

from guestpass.conformance.steps.phrases import phrase
from guestpass.conformance.world import World, fresh_client_key

_MISSING = object()


def json_body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise AssertionError(f"the response body is not JSON: {response.text[:200]!r}") from None


def json_field(body: Any, path: str) -> Any:
    value = body
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


def error_code(response: httpx.Response) -> str | None:
    """The error code in either wire format."""
    body = json_body(response)
    if not isinstance(body, dict):
        return None
    if isinstance(body.get("code"), str):
        return body["code"]
    return body.get("error_code")


def from_new_addresses(world: World, turns: int) -> Iterator[int]:
    """Counts `turns`, each sent from a client address of its own (in the target's rate-limit header);
    the scenario is not applicable when the target trusts no such header."""
    if not world.target.rate_limits.header:
        pytest.skip("not applicable: the target names no rate-limit header, so the suite cannot be several clients")
    own_key = world.client.client_key
    try:
        for turn in range(turns):
            world.client.client_key = fresh_client_key()
            yield turn
    finally:
        world.client.client_key = own_key


def split_request(request: str) -> tuple[str, str]:
    method, _, path = request.partition(" ")
    return method, path


RATE_LIMIT_HINT = (
    " (the target rate-limited the suite: name its forwarding header in the target file's"
    " [rate_limits] so that scenarios count as separate clients, or raise its limits)"
)


def unexpected_status(expected: int, response: httpx.Response, *codes: str) -> str:
    hint = RATE_LIMIT_HINT if response.status_code == 429 else ""
    actual = safe_error_code(response)
    if codes:
        return (
            f"expected status {expected}, got {response.status_code}; "
            f"expected error code {' or '.join(codes)}, got {actual!r}{hint}"
        )
    code = f"error code {actual!r}" if actual else "no error code"
    return f"expected status {expected}, got {response.status_code} ({code}){hint}"


def safe_error_code(response: httpx.Response) -> str | None:
    try:
        return error_code(response)
    except AssertionError:
        return None


def assert_refused(response: httpx.Response, status: int, *codes: str) -> None:
    assert response.status_code == status, unexpected_status(status, response, *codes)
    actual = error_code(response)
    assert actual in codes, f"status {status} as expected; expected error code {' or '.join(codes)}, got {actual!r}"


@when(phrase('a client requests "{request}"'))
def client_requests(world: World, request: str) -> None:
    world.record(world.client.request(*split_request(request)))


@when(phrase('a client sends "{request}" with JSON'))
def client_sends_json(world: World, request: str, docstring: str) -> None:
    world.record(world.client.request(*split_request(request), json=json.loads(docstring)))


@when(phrase('a legacy client sends "{request}" with JSON'))
def legacy_client_sends_json(world: World, request: str, docstring: str) -> None:
    world.record(world.client.request(*split_request(request), json=json.loads(docstring), api_version=False))


@when(phrase('a client sends "{request}" with the raw body "{raw}"'))
def client_sends_raw(world: World, request: str, raw: str) -> None:
    world.record(world.client.request(*split_request(request), content=raw.encode()))


@then(phrase("the response status is {status:d}"), converters={"status": int})
def response_status(world: World, status: int) -> None:
    assert world.last().status_code == status, unexpected_status(status, world.last())


@then(phrase('the request is refused with {status:d} "{code}"'), converters={"status": int})
def request_refused(world: World, status: int, code: str) -> None:
    assert_refused(world.last(), status, code)


@then("the response body is empty")
def body_empty(world: World) -> None:
    assert world.last().content == b"", f"expected no body, got {world.last().text[:200]!r}"


@then(phrase('the response header "{name}" is "{value}"'))
def response_header(world: World, name: str, value: str) -> None:
    actual = world.last().headers.get(name)
    assert actual == value, f"expected header {name}: {value!r}, got {actual!r}"


def _field(world: World, path: str) -> Any:
    value = json_field(json_body(world.last()), path)
    assert value is not _MISSING, f"the response JSON has no field {path!r}"
    return value


@then(phrase('the response JSON field "{path}" is a boolean'))
def field_is_boolean(world: World, path: str) -> None:
    assert isinstance(_field(world, path), bool), f"{path} is not a boolean"


@then(phrase('the response JSON field "{path}" is a non-empty string'))
def field_is_string(world: World, path: str) -> None:
    value = _field(world, path)
    assert isinstance(value, str) and value, f"{path} is {value!r}, not a non-empty string"


@then(phrase('the response JSON field "{path}" is a non-empty list'))
def field_is_list(world: World, path: str) -> None:
    value = _field(world, path)
    assert isinstance(value, list) and value, f"{path} is {value!r}, not a non-empty list"


@then(phrase('the response JSON field "{path}" is "{text}"'))
def field_is_text(world: World, path: str, text: str) -> None:
    assert _field(world, path) == text, f"{path} is {_field(world, path)!r}, expected {text!r}"


@then(parsers.re(r'the response JSON field "(?P<path>[^"]+)" is (?P<literal>-?\d+(?:\.\d+)?|true|false|null)'))
def field_is_literal(world: World, path: str, literal: str) -> None:
    expected = json.loads(literal)
    actual = _field(world, path)
    assert actual == expected and type(actual) is type(expected), f"{path} is {actual!r}, expected {expected!r}"


@then(phrase("every parallel response has status {status:d}"), converters={"status": int})
def every_parallel_status(world: World, status: int) -> None:
    statuses = [response.status_code for response in world.parallel_responses]
    assert statuses and all(s == status for s in statuses), f"parallel statuses: {statuses}"


@then(phrase("exactly {count:d} parallel response has status {status:d}"), converters={"count": int, "status": int})
def exactly_parallel_status(world: World, count: int, status: int) -> None:
    statuses = [response.status_code for response in world.parallel_responses]
    assert statuses.count(status) == count, f"parallel statuses: {statuses}"


@then(phrase('every other parallel response is refused with {status:d} "{code}"'), converters={"status": int})
def others_refused(world: World, status: int, code: str) -> None:
    others = [r for r in world.parallel_responses if r.status_code != 200]
    assert others, "no parallel response was refused"
    for response in others:
        assert_refused(response, status, code)
