"""Mail over SMTP: every message carries a code and a link, as GoTrue's do."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import urlencode

import aiosmtplib

from guestpass.reference.config import Config
from guestpass.reference.errors import ApiError, ErrorCode

SEND_TIMEOUT = 10.0

# token type -> (verify type in the link, subject, what the link does)
TEMPLATES: dict[str, tuple[str, str, str]] = {
    "confirmation": ("signup", "Confirm your signup", "confirm your email address"),
    "recovery": ("recovery", "Reset your password", "reset your password"),
    "magiclink": ("magiclink", "Your sign-in link", "sign in"),
    "email_change_current": ("email_change", "Confirm your email change", "confirm the change of your email"),
    "email_change_new": ("email_change", "Confirm your new email address", "confirm your new email address"),
    "reauthentication": ("reauthentication", "Confirm reauthentication", "confirm reauthentication"),
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
        message.set_content(
            f"Follow this link to {purpose}:\n\n{link}\n\nOr enter this code: {code}\n\n"
            f"The code and the link expire in {self.config.mail_token_ttl // 60 or 1} minutes and work once.\n"
        )
        return message

    async def send(self, message: EmailMessage) -> None:
        try:
            await aiosmtplib.send(
                message, hostname=self.config.smtp_host, port=self.config.smtp_port, timeout=SEND_TIMEOUT
            )
        except (aiosmtplib.SMTPException, OSError) as error:
            raise ApiError(ErrorCode.email_send_failed, f"Error sending the email: {error}") from None
