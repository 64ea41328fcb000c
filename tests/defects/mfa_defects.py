"""Defects of TOTP multi-factor authentication (PROTOCOL §6, seed 004 §3.2.4-3.2.6)."""

from __future__ import annotations
