"""The capture SMTP server reads each mail's subject and text as the standard library's EmailMessage
(`get_body` preferring plain text, then `get_content`) reads them, whatever shape the server under test
sends: plain or HTML only, both as alternatives, with an attachment, base64 or quoted-printable, in
UTF-8 or Latin-1, with an encoded or raw UTF-8 subject."""

from __future__ import annotations

import email
import email.policy
import smtplib
from collections.abc import Callable
from email.message import EmailMessage

import pytest

from guestpass.fixtures.mail import MailCapture
from guestpass.fixtures.ports import free_port

TEXT = "Follow this link to confirm: http://127.0.0.1:9/verify?token=abc&type=signup\nOr enter 123456 — ü\n"
HTML = '<p>Follow <a href="http://127.0.0.1:9/verify?token=abc&amp;type=signup">this link</a> — 654321</p>'


def plain(message: EmailMessage) -> None:
    message.set_content(TEXT)


def html_only(message: EmailMessage) -> None:
    message.set_content(HTML, subtype="html")


def alternatives(message: EmailMessage) -> None:
    message.set_content(TEXT)
    message.add_alternative(HTML, subtype="html")


def html_first(message: EmailMessage) -> None:
    message.set_content(HTML, subtype="html")
    message.add_alternative(TEXT)


def with_attachment(message: EmailMessage) -> None:
    message.set_content(HTML, subtype="html")
    message.add_attachment("not the body 111111", filename="notes.txt")


def base64_latin1(message: EmailMessage) -> None:
    message.set_content(TEXT.replace("—", "-"), charset="latin-1", cte="base64")


def quoted_printable(message: EmailMessage) -> None:
    message.set_content(TEXT + "x" * 200, cte="quoted-printable")


SHAPES = [plain, html_only, alternatives, html_first, with_attachment, base64_latin1, quoted_printable]


@pytest.mark.parametrize("subject", ["Confirm your signup", "Bestätigen Sie Ihre Anmeldung ✓"])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda shape: shape.__name__)
def test_subject_and_text_as_email_message_reads_them(shape: Callable[[EmailMessage], None], subject: str) -> None:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "auth@example.com", "dana@example.com", subject
    shape(message)
    raw = message.as_bytes(policy=email.policy.SMTPUTF8 if not subject.isascii() else email.policy.SMTP)
    expected = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(expected, EmailMessage)
    body = expected.get_body(preferencelist=("plain", "html"))
    assert body is not None
    port = free_port()
    with MailCapture(port) as capture, smtplib.SMTP("127.0.0.1", port) as client:
        client.sendmail("auth@example.com", ["dana@example.com"], raw)
        [captured] = capture.wait_for("dana@example.com")
    assert (captured.subject, captured.text) == (str(expected["Subject"]), body.get_content())
