"""Requests of parallel workers, and the ones whose answer time is measured. When several processes run
the scenarios, every request of the suite to the target holds a shared lock on one file while it is
sent and answered; a request whose answer time a scenario measures holds it alone, so that while it is
answered no other request of the suite is in flight (its answer time is then the target's, not the
queue of other scenarios' requests in front of it). A turnstile keeps new requests out while a timed
one waits for those in flight to finish. Each hold opens the file anew: a lock belongs to an open file,
and parallel requests of one scenario come from threads of one process."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class RequestLock:
    def __init__(self, folder: Path) -> None:
        self.requests, self.turnstile = folder / "requests.lock", folder / "turnstile.lock"

    @classmethod
    def create(cls, folder: Path) -> RequestLock:
        lock = cls(folder)
        lock.requests.touch()
        lock.turnstile.touch()
        return lock

    @contextmanager
    def shared(self) -> Iterator[None]:
        with _held(self.turnstile, fcntl.LOCK_EX):
            pass
        with _held(self.requests, fcntl.LOCK_SH):
            yield

    @contextmanager
    def alone(self) -> Iterator[None]:
        descriptor = os.open(self.requests, os.O_RDWR)
        try:
            with _held(self.turnstile, fcntl.LOCK_EX):
                fcntl.flock(descriptor, fcntl.LOCK_EX)
            yield
        finally:
            os.close(descriptor)


@contextmanager
def _held(path: Path, operation: int) -> Iterator[None]:
    descriptor = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(descriptor, operation)
        yield
    finally:
        os.close(descriptor)
