"""The reference server's mailer over real SMTP on loopback: the host's name for EHLO is looked up once."""

from __future__ import annotations

import asyncio
import socket
import threading

import pytest

from guestpass.fixtures.mail import MailCapture
from guestpass.reference import mailer
from guestpass.reference.config import Config


def test_messages_are_delivered_and_the_host_name_is_looked_up_once(monkeypatch: pytest.MonkeyPatch) -> None:
    lookups: list[str] = []  # the threads that looked it up (the capture server looks it up for itself too)
    lookup = socket.getfqdn

    def counted(*args: str) -> str:
        lookups.append(threading.current_thread().name)
        return lookup(*args)

    monkeypatch.setattr(socket, "getfqdn", counted)
    monkeypatch.setattr(mailer, "_greeting_names", [], raising=False)
    with MailCapture() as capture:
        sender = mailer.Mailer(Config(smtp_host=capture.host, smtp_port=capture.port))
        addresses = [f"dana{number}@example.com" for number in range(3)]

        async def send_all() -> None:
            for address in addresses:
                await sender.send(sender.compose_notice(address, "password_changed", {"email": address}))

        asyncio.run(send_all())
        for address in addresses:
            assert capture.wait_for(address, timeout=5)
    assert len([name for name in lookups if name.startswith("asyncio")]) == 1, lookups
