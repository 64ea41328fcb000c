"""The transcript a failing scenario prints: complete, and with every secret redacted."""

from __future__ import annotations

import json

import httpx

from guestpass.conformance.transcript import REDACTED, Exchange, Transcript

TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"


def exchange() -> Exchange:
    request = httpx.Request(
        "POST",
        "http://127.0.0.1:9/auth/v1/token?grant_type=refresh_token",
        headers={"Authorization": f"Bearer {TOKEN}", "apikey": TOKEN},
        json={"refresh_token": "r-secret", "password": "p-secret", "email": "a@guestpass.test"},
    )
    response = httpx.Response(
        200, json={"access_token": TOKEN, "refresh_token": "r-new", "user": {"id": "u1"}}, request=request
    )
    return Exchange(request, response, elapsed_ms=3.2)


def test_render_shows_the_exchange_without_secrets() -> None:
    text = exchange().render()
    for secret in (TOKEN, "r-secret", "p-secret", "r-new"):
        assert secret not in text
    assert "> POST http://127.0.0.1:9/auth/v1/token?grant_type=refresh_token" in text
    assert "< 200 OK" in text and "a@guestpass.test" in text and '"id": "u1"' in text
    assert f"authorization: {REDACTED}" in text


def test_the_json_form_is_redacted_too() -> None:
    recorded = json.dumps(exchange().as_dict())
    assert TOKEN not in recorded and "p-secret" not in recorded
    assert exchange().as_dict()["response"]["status"] == 200


def test_transcript_numbers_exchanges_in_order() -> None:
    transcript = Transcript()
    assert transcript.render() == "(no HTTP exchange)"
    transcript.record(exchange())
    transcript.record(exchange())
    rendered = transcript.render()
    assert rendered.index("--- exchange 1 ---") < rendered.index("--- exchange 2 ---")
