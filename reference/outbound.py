"""Requests the server makes to other services (captcha verifiers, OpenID providers)."""

from __future__ import annotations

import functools
import ssl

import httpx


@functools.cache
def tls_context() -> ssl.SSLContext:
    """Loaded once: reading the CA bundle costs tens of milliseconds of processor time, more than the
    request it would be loaded for."""
    return httpx.create_ssl_context()
