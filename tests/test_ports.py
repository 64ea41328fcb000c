"""The ports the suite chooses for its helpers before they listen: the kernel must not give them away."""

from __future__ import annotations

import socket

from guestpass.fixtures.mail import MailCapture
from guestpass.fixtures.ports import free_port


def test_a_chosen_port_is_not_the_kernels_next_choice() -> None:
    chosen = {free_port() for _ in range(100)}
    handed_out = set()
    for _ in range(5000):  # a port merely free when chosen comes back here about 35 times
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            handed_out.add(sock.getsockname()[1])
    assert not chosen & handed_out


def test_a_chosen_port_can_be_listened_on() -> None:
    port = free_port()
    with MailCapture(port) as capture, socket.create_connection(("127.0.0.1", capture.port), timeout=5) as client:
        assert client.recv(3) == b"220"
