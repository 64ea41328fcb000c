"""The guestpass reference server: a minimal, real Supabase Auth dialect server."""

from guestpass.reference.app import create_app
from guestpass.reference.config import Config

__all__ = ["Config", "create_app"]
