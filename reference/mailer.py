"""Mail over SMTP: a code mail carries a code and a link, as GoTrue's do; a notice carries neither."""

from __future__ import annotations

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

# notice -> (subject, text)
NOTICES: dict[str, tuple[str, str]] = {
    "existing_account": (
        "You already have an account",
        "Someone asked to sign up with this address, which already has an account. If it was you, sign in,\n"
        "or reset your password if you have forgotten it. If it was not you, you can ignore this mail.\n",
    ),
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

    def compose_notice(self, to: str, notice: str) -> EmailMessage:
        subject, text = NOTICES[notice]
        message = EmailMessage()
        message["From"] = self.config.smtp_sender
        message["To"] = to
        message["Subject"] = subject
        message.set_content(text)
        return message

    async def send(self, message: EmailMessage) -> None:
        try:
            await aiosmtplib.send(
                message, hostname=self.config.smtp_host, port=self.config.smtp_port, timeout=SEND_TIMEOUT
            )
        except (aiosmtplib.SMTPException, OSError) as error:
            raise MailNotDelivered(str(error)) from error
