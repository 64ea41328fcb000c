"""TOTP (RFC 6238) as authenticator apps use it: SHA-1, 6 digits, 30-second steps."""

from __future__ import annotations

import hmac
import io
import time

import pyotp
import segno

PERIOD = 30
DIGITS = 6
# Steps accepted either side of the current one, for clocks that drift (GoTrue accepts one).
SKEW = 1
QR_MASK = 0


def new_secret() -> str:
    """160 bits in 32 base32 characters: RFC 4226's recommended length (128 bits is its minimum)."""
    return pyotp.random_base32()


def provisioning_uri(secret: str, account: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=issuer)


def qr_code_svg(uri: str) -> str:
    """A standalone SVG document. The clients turn it into a URL by prefixing `data:image/svg+xml;utf-8,`,
    where a `#` would end the data, so the colour is named instead of written in hex. Raises ValueError
    when the URI is too long for any QR code."""
    buffer = io.BytesIO()
    # Any of the eight masks makes a valid code; scoring all eight to pick one took two thirds of the time.
    code = segno.make_qr(uri, error="m", mask=QR_MASK)
    code.save(buffer, kind="svg", scale=3, xmldecl=False, nl=False, svgclass=None, lineclass=None)
    return buffer.getvalue().decode().replace('"#000"', '"black"')


def current_step(now: float | None = None) -> int:
    return int(time.time() if now is None else now) // PERIOD


def matching_step(secret: str, code: str, now: float | None = None) -> int | None:
    """The time step whose code `code` is, within the accepted skew, or None."""
    if len(code) != DIGITS or not code.isascii() or not code.isdigit():
        return None
    generator = pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD)
    step = current_step(now)
    for candidate in range(step - SKEW, step + SKEW + 1):
        if hmac.compare_digest(generator.generate_otp(candidate), code):
            return candidate
    return None
