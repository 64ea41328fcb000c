"""Defects of the mail flows: recovery, OTP sign-in, email change and confirmation (PROTOCOL §7)."""

from __future__ import annotations
