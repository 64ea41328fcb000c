"""Steps of the mail capabilities: recovery, OTP sign-in, email change and email confirmation."""

from __future__ import annotations
