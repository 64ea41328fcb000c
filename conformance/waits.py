"""How the scenarios wait out a target's lifetimes and intervals."""

from __future__ import annotations

import time
from collections.abc import Callable

MARGIN = 0.25
"""Seconds waited past a lifetime or an interval. The target stamped its start before the suite read the
answer, and the next request reaches the target after the suite sends it: the margin only absorbs a
clock that rounds."""


def wait_out(seconds: float) -> None:
    """Until a lifetime or an interval of `seconds` that began at the last answer has passed."""
    time.sleep(seconds + MARGIN)


def wait_until(deadline: float, clock: Callable[[], float] = time.monotonic) -> None:
    """Until `deadline` on `clock` has passed."""
    time.sleep(max(0.0, deadline - clock()) + MARGIN)
