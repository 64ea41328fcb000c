"""Steps of the mfa-totp capability."""

from __future__ import annotations
