"""Mail over SMTP: a code mail carries a code and a link, as GoTrue's do; a notice carries neither."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import urlencode

import aiosmtplib

from guestpass.reference.config import Config

SEND_TIMEOUT = 10.0


class MailNotDelivered(Exception):
    """The SMTP server could not be reached or refused the message; the courier tries again later."""


# token type -> (verify type in the link, subject, what the link does)
TEMPLATES: dict[str, tuple[str, str, str]] = {
    "confirmation": ("signup", "Confirm your signup", "confirm your email address"),
    "recovery": ("recovery", "Reset your password", "reset your password"),
    "magiclink": ("magiclink", "Your sign-in link", "sign in"),
    "email_change_current": ("email_change", "Confirm your email change", "confirm the change of your email"),
    "email_change_new": ("email_change", "Confirm your new email address", "confirm your new email address"),
    "invite": ("invite", "You have been invited", "accept the invitation and create your account"),
    "reauthentication": ("reauthentication", "Confirm reauthentication", "confirm reauthentication"),
}

CODE_ONLY = frozenset({"reauthentication"})  # as GoTrue's: a code to type in, no link to follow

# notice -> (subject, text); the text names the notice's details ({email}, {provider}, ...)
NOT_YOU = "If you did not make this change, reset your password and contact support at once."

NOTICES: dict[str, tuple[str, str]] = {
    "existing_account": (
        "You already have an account",
        "Someone asked to sign up with this address, which already has an account. If it was you, sign in,\n"
        "or reset your password if you have forgotten it. If it was not you, you can ignore this mail.\n",
    ),
    **{
        notice: (subject, f"{text}\n\n{NOT_YOU}\n")
        for notice, (subject, text) in {
            "password_changed": ("Your password was changed", "The password of your account {email} was changed."),
            "email_changed": (
                "Your email address was changed",
                "The email address of your account was changed from {old_email} to {email}.",
            ),
            "identity_linked": (
                "A sign-in method was linked to your account",
                "Your {provider} account was linked to your account {email}: it can now sign in to it.",
            ),
            "identity_unlinked": (
                "A sign-in method was removed from your account",
                "Your {provider} account was unlinked from your account {email}: it no longer signs in to it.",
            ),
            "mfa_factor_enrolled": (
                "A verification method was added to your account",
                "A {factor_type} verification method was added to your account {email}.",
            ),
            "mfa_factor_unenrolled": (
                "A verification method was removed from your account",
                "A {factor_type} verification method was removed from your account {email}.",
            ),
        }.items()
    },
}


@dataclass(frozen=True)
class Mailer:
    config: Config

    def verify_link(self, token_type: str, token_hash: str, redirect_to: str) -> str:
        query = urlencode({"token": token_hash, "type": TEMPLATES[token_type][0], "redirect_to": redirect_to})
        return f"{self.config.external_url}/verify?{query}"

    def compose(self, to: str, token_type: str, code: str, link: str) -> EmailMessage:
        _, subject, purpose = TEMPLATES[token_type]
        message = EmailMessage()
        message["From"] = self.config.smtp_sender
        message["To"] = to
        message["Subject"] = subject
        if token_type in CODE_ONLY:
            message.set_content(
                f"Enter this code to {purpose}: {code}\n\n"
                f"It expires in {self.config.mail_token_ttl // 60 or 1} minutes and works once.\n"
            )
            return message
        message.set_content(
            f"Follow this link to {purpose}:\n\n{link}\n\nOr enter this code: {code}\n\n"
            f"The code and the link expire in {self.config.mail_token_ttl // 60 or 1} minutes and work once.\n"
        )
        return message

    def compose_notice(self, to: str, notice: str, details: Mapping[str, str] | None = None) -> EmailMessage:
        subject, template = NOTICES[notice]
        text = template.format_map(details or {})
        message = EmailMessage()
        message["From"] = self.config.smtp_sender
        message["To"] = to
        message["Subject"] = subject
        message.set_content(text)
        return message

    async def send(self, message: EmailMessage) -> None:
        try:
            await aiosmtplib.send(
                message,
                hostname=self.config.smtp_host,
                port=self.config.smtp_port,
                timeout=SEND_TIMEOUT,
                local_hostname=await greeting_name(),
            )
        except (aiosmtplib.SMTPException, OSError) as error:
            raise MailNotDelivered(str(error)) from error


_greeting_names: list[str] = []


async def greeting_name() -> str:
    """The name this host greets SMTP servers with (EHLO): its fully qualified name, looked up once, off the
    event loop (aiosmtplib would look it up in a thread for every message)."""
    if not _greeting_names:
        _greeting_names.append(await asyncio.to_thread(socket.getfqdn))
    return _greeting_names[0]
