"""The stand-in captcha verifier speaks hCaptcha's and Turnstile's siteverify protocols, and its tokens
are valid once, for one site key, for a short time; the reference server asks it as it would the
real providers."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from guestpass.fixtures.captcha import CaptchaVerifier, issue_token

SECRET, SITE_KEY = "0xsecret", "site-one"


@pytest.fixture
def verifier() -> Iterator[CaptchaVerifier]:
    with CaptchaVerifier(sites={SECRET: SITE_KEY, "0xother": "site-two"}) as running:
        yield running


def siteverify(verifier: CaptchaVerifier, provider: str, **fields: str) -> httpx.Response:
    return httpx.post(verifier.siteverify_url(provider), data=fields, timeout=5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("provider", "spent", "mismatch"),
    [
        ("hcaptcha", "invalid-or-already-seen-response", "sitekey-secret-mismatch"),
        ("turnstile", "timeout-or-duplicate", "invalid-input-response"),
    ],
)
def test_a_token_is_valid_once_for_its_site_and_a_short_time(
    verifier: CaptchaVerifier, provider: str, spent: str, mismatch: str
) -> None:
    token = issue_token(verifier.port, SITE_KEY)
    first = siteverify(verifier, provider, secret=SECRET, response=token, remoteip="2001:db8::1")
    assert first.status_code == 200 and first.json()["success"] is True and first.json()["error-codes"] == []
    assert first.json()["challenge_ts"] and first.json()["hostname"]
    assert siteverify(verifier, provider, secret=SECRET, response=token).json() == {
        "success": False,
        "error-codes": [spent],
        **({"messages": []} if provider == "turnstile" else {}),
    }
    short = verifier.issue(SITE_KEY, ttl=0.2)
    time.sleep(0.4)
    assert siteverify(verifier, provider, secret=SECRET, response=short).json()["error-codes"] == [spent]
    other_site = verifier.issue("site-two")
    assert siteverify(verifier, provider, secret=SECRET, response=other_site).json()["error-codes"] == [mismatch]
    assert verifier.verifications[0].fields["remoteip"] == "2001:db8::1"


@pytest.mark.parametrize("provider", ["hcaptcha", "turnstile"])
def test_missing_and_unknown_inputs_are_named(verifier: CaptchaVerifier, provider: str) -> None:
    token = verifier.issue(SITE_KEY)
    assert siteverify(verifier, provider, response=token).json()["error-codes"] == ["missing-input-secret"]
    assert siteverify(verifier, provider, secret="0xnope", response=token).json()["error-codes"] == [
        "invalid-input-secret"
    ]
    assert siteverify(verifier, provider, secret=SECRET).json()["error-codes"] == ["missing-input-response"]
    assert siteverify(verifier, provider, secret=SECRET, response="made-up").json()["error-codes"] == [
        "invalid-input-response"
    ]
    assert siteverify(verifier, provider, secret=SECRET, response=token).json()["success"] is True


def test_hcaptcha_checks_the_sitekey_it_is_sent(verifier: CaptchaVerifier) -> None:
    token = verifier.issue(SITE_KEY)
    answer = siteverify(verifier, "hcaptcha", secret=SECRET, response=token, sitekey="site-two").json()
    assert answer["error-codes"] == ["sitekey-secret-mismatch"]


def test_turnstile_takes_json_too(verifier: CaptchaVerifier) -> None:
    body = {"secret": SECRET, "response": verifier.issue(SITE_KEY)}
    assert httpx.post(verifier.siteverify_url("turnstile"), json=body, timeout=5).json()["success"] is True


def test_outages(verifier: CaptchaVerifier) -> None:
    page = siteverify(verifier, "turnstile", secret=SECRET, response=verifier.issue(SITE_KEY, outage="error-page"))
    assert page.status_code == 503 and page.headers["content-type"] == "text/html"
    with pytest.raises(httpx.RemoteProtocolError):
        siteverify(verifier, "turnstile", secret=SECRET, response=verifier.issue(SITE_KEY, outage="no-answer"))
    verifier.available = False
    assert siteverify(verifier, "hcaptcha", secret=SECRET, response=verifier.issue(SITE_KEY)).status_code == 503
    verifier.available = True
    assert siteverify(verifier, "hcaptcha", secret=SECRET, response=verifier.issue(SITE_KEY)).json()["success"]
