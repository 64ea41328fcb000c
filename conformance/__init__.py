"""guestpass."""
