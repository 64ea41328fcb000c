"""POST /resend: mails a signup confirmation or a pending email change again (GoTrue's resend.go; the SMS
types are refused as phone sign-ins are). The answer is 200 `{}` whether or not anything was sent: an
unknown address, a confirmed signup or no pending change send nothing, and the per-address send limit
counts every request, so nothing reveals whether an account exists. For a signup the courier looks the
account up, after the answer, so the answer also takes as long either way."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from guestpass.reference import captcha
from guestpass.reference.body import field, json_object, normalized_email
from guestpass.reference.email_change import request_email_change
from guestpass.reference.errors import ApiError, ErrorCode
from guestpass.reference.notify import claim_send_slot, send_code_to_account_of
from guestpass.reference.redirects import redirect_of
from guestpass.reference.responses import JSONResponse
from guestpass.reference.runtime import runtime
from guestpass.reference.users import find_by_email

EMAIL_TYPES = ("signup", "email_change")
PHONE_TYPES = ("sms", "phone_change")


def resend_address(body: dict[str, Any]) -> tuple[str, str]:
    """The type and the address, checked in the order of GoTrue's ResendConfirmationParams.Validate."""
    kind, email, phone = field(body, "type", str), field(body, "email", str), field(body, "phone", str)
    if kind not in EMAIL_TYPES + PHONE_TYPES:
        message = "Missing one of these types: signup, email_change, sms, phone_change"
        raise ApiError(ErrorCode.validation_failed, message)
    if not email and kind == "signup":
        raise ApiError(ErrorCode.validation_failed, "Type provided requires an email address")
    if not phone and kind == "sms":
        raise ApiError(ErrorCode.validation_failed, "Type provided requires a phone number")
    if email and phone:
        raise ApiError(ErrorCode.validation_failed, "Only an email address or phone number should be provided.")
    if phone:
        raise ApiError(ErrorCode.phone_provider_disabled, "Phone logins are disabled")
    if not email:
        raise ApiError(ErrorCode.validation_failed, "Missing email address or phone number")
    return kind, normalized_email(email)  # type: ignore[return-value]


async def resend(request: Request) -> JSONResponse:
    await captcha.require_captcha(request)
    rt = runtime(request)
    body = await json_object(request)
    kind, email = resend_address(body)
    redirect_to = redirect_of(request, body)
    async with rt.db.transaction() as conn:
        await claim_send_slot(conn, rt, email)
        if kind == "signup":  # the courier mails only an account still waiting for confirmation
            await send_code_to_account_of(conn, rt, "confirmation", email, redirect_to)
        elif (user := await find_by_email(conn, email)) is not None and user["email_change"]:
            await request_email_change(conn, rt, user, user["email_change"], redirect_to)
    return JSONResponse({})


routes = [Route("/resend", resend, methods=["POST"])]
