"""Defects of captcha protection (GoTrue's verifyCaptcha): tokens remembered, checks skipped, checked
too late or in the wrong order, a verifier outage taken for a yes."""

from __future__ import annotations

import contextvars
from dataclasses import replace
from typing import Any

import pytest
from catalogue import AppWrapper, defect, is_request, patch_source, rewrite_responses, wrap_hot_path
from starlette.requests import Request

from guestpass.reference import captcha, ratelimit
from guestpass.reference.body import json_object
from guestpass.reference.config import Config
from guestpass.reference.flows import anonymous, otp, passkeys, signup, token
from guestpass.reference.runtime import runtime
from guestpass.reference.storage.hot import AnonymousSignIn

CAPTCHA = ("captcha",)


@defect(*CAPTCHA, source="a verification cache keyed by token, to spare the provider a call per request")
def captcha_token_accepted_twice(mp: pytest.MonkeyPatch) -> None:
    accepted: set[str] = set()
    ask = captcha.siteverify

    async def cached(config: Config, token_: str, remote_ip: str) -> dict[str, Any]:
        if token_ in accepted:
            return {"success": True, "error-codes": []}
        answer = await ask(config, token_, remote_ip)
        if answer.get("success") is True:
            accepted.add(token_)
        return answer

    mp.setattr(captcha, "siteverify", cached)


def is_anonymous_sign_in(request: Request, body: dict[str, Any]) -> bool:
    return request.url.path.endswith("/signup") and not body.get("email") and not body.get("phone")


@defect(*CAPTCHA, source="captcha on the sign-up form only: anonymous sign-in, which has no form, goes unchecked")
def captcha_skipped_on_anonymous_sign_in(mp: pytest.MonkeyPatch) -> None:
    check = captcha.require_captcha

    async def skipping(request: Request) -> None:
        if not is_anonymous_sign_in(request, await json_object(request)):
            await check(request)

    mp.setattr(captcha, "require_captcha", skipping)


@defect(*CAPTCHA, source="captcha on sign-up only (the usual first step), not on sign-in, mail or recovery")
def captcha_only_on_sign_up(mp: pytest.MonkeyPatch) -> None:
    check = captcha.require_captcha

    async def sign_up_only(request: Request) -> None:
        if request.url.path.endswith("/signup"):
            await check(request)

    mp.setattr(captcha, "require_captcha", sign_up_only)


@defect(*CAPTCHA, source="fail-open: a verifier outage lets requests through so that sign-ups keep working")
def captcha_fails_open(mp: pytest.MonkeyPatch) -> None:
    ask = captcha.siteverify

    async def open_on_outage(config: Config, token_: str, remote_ip: str) -> dict[str, Any]:
        try:
            return await ask(config, token_, remote_ip)
        except captcha.VerifierUnavailable:
            return {"success": True, "error-codes": []}

    mp.setattr(captcha, "siteverify", open_on_outage)


@defect(*CAPTCHA, source="the verifier's HTTP status taken for its verdict (it answers 200 with success false)")
def captcha_verdict_from_http_status(mp: pytest.MonkeyPatch) -> None:
    patch_source(
        mp,
        captcha,
        "siteverify",
        lambda source: source.replace("    return answer\n", '    return {**answer, "success": True}\n'),
    )


CHECK_FIRST = "    await captcha.require_captcha(request)\n"


@defect(*CAPTCHA, source="captcha checked after the handler's work (a post-processing hook): the user already exists")
def captcha_checked_after_the_user_was_created(mp: pytest.MonkeyPatch) -> None:
    def check_last(source: str) -> str:
        source = source.replace(CHECK_FIRST, "")
        source = source.replace(
            "        return await sign_in_anonymously(request, user_metadata)\n",
            "        answer = await sign_in_anonymously(request, user_metadata)\n"
            "        await captcha.require_captcha(request)\n"
            "        return answer\n",
        )
        return source.replace(
            '    return await complete_sign_in(request, body, user["id"], "password")\n',
            '    answer = await complete_sign_in(request, body, user["id"], "password")\n'
            "    await captcha.require_captcha(request)\n"
            "    return answer\n",
        )

    patch_source(mp, signup, "signup", check_last)


@defect(*CAPTCHA, source="captcha checked after the sign-in mail was queued (and its account created)")
def captcha_checked_after_the_mail_was_queued(mp: pytest.MonkeyPatch) -> None:
    def check_last(source: str) -> str:
        source = source.replace(CHECK_FIRST, "")
        return source.replace("    return JSONResponse({})\n", CHECK_FIRST + "    return JSONResponse({})\n")

    patch_source(mp, otp, "otp", check_last)


solved_captcha = contextvars.ContextVar("solved_captcha", default=False)


@defect(*CAPTCHA, source="a solved captcha trusted as proof of a human: the anonymous sign-in limit is skipped")
def captcha_lifts_the_rate_limit(mp: pytest.MonkeyPatch) -> None:
    check = captcha.require_captcha

    async def remembering(request: Request) -> None:
        await check(request)
        solved_captcha.set(runtime(request).config.captcha_enabled)

    def unless_solved(original: Any) -> Any:
        async def sign_in_anonymously(self: Any, sign_in: AnonymousSignIn) -> int | None:
            return await original(self, replace(sign_in, limit=1 << 30) if solved_captcha.get() else sign_in)

        return sign_in_anonymously

    mp.setattr(captcha, "require_captcha", remembering)
    wrap_hot_path(mp, "sign_in_anonymously", unless_solved)


counted_already = contextvars.ContextVar("counted_already", default=False)


@defect(*CAPTCHA, source="the anonymous limiter placed before the captcha check: refused requests use up the limit")
def captcha_checked_after_the_rate_limit(mp: pytest.MonkeyPatch) -> None:
    check = captcha.require_captcha

    async def count_first(request: Request) -> None:
        config = runtime(request).config
        if config.captcha_enabled and is_anonymous_sign_in(request, await json_object(request)):
            async with runtime(request).db.transaction() as conn:
                key = ratelimit.client_key(request, config.rate_limit_header)
                limits = {
                    "limit": config.anonymous_sign_ins_per_window,
                    "window_seconds": config.rate_limit_window_seconds,
                }
                await ratelimit.consume(conn, anonymous.BUCKET, key, **limits)
            counted_already.set(True)
        await check(request)

    def once(original: Any) -> Any:
        async def sign_in_anonymously(self: Any, sign_in: AnonymousSignIn) -> int | None:
            uncounted = replace(sign_in, bucket="counted before the captcha", limit=1 << 30)
            return await original(self, uncounted if counted_already.get() else sign_in)

        return sign_in_anonymously

    mp.setattr(captcha, "require_captcha", count_first)
    wrap_hot_path(mp, "sign_in_anonymously", once)


@defect(*CAPTCHA, source="captcha asked of every /token grant, so sessions can no longer be refreshed")
def captcha_required_on_refresh(mp: pytest.MonkeyPatch) -> None:
    patch_source(
        mp,
        token,
        "refresh_token_grant",
        lambda source: source.replace("    rt = runtime(request)\n", CHECK_FIRST + "    rt = runtime(request)\n", 1),
    )
    mp.setitem(token.GRANTS, "refresh_token", token.refresh_token_grant)


@defect(*CAPTCHA, source="captcha asked of the operator's own backend calls made with the service-role key")
def captcha_required_of_admin_keys(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(captcha, "is_admin", lambda request: False)


@defect(*CAPTCHA, source="passkey sign-in left out of captcha (it creates a challenge per request)")
def captcha_skipped_on_passkey_options(mp: pytest.MonkeyPatch) -> None:
    patch_source(mp, passkeys, "authentication_options", lambda source: source.replace(CHECK_FIRST, ""))


@defect(*CAPTCHA, source="GoTrue internal/api/settings.go: the settings do not say that captcha is on")
def captcha_not_in_settings(mp: pytest.MonkeyPatch) -> AppWrapper:
    def rewrite(scope: Any, status: int, body: Any) -> tuple[int, Any] | None:
        if is_request(scope, "GET", "/settings") and isinstance(body, dict):
            return status, {key: value for key, value in body.items() if not key.startswith("captcha_")}
        return None

    return rewrite_responses(rewrite)
