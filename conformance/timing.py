"""Can the time of one answer tell two kinds of request apart? A rank test (Mann-Whitney U) on answer
times, robust to the outliers and drifts of a loaded machine: ranks ignore how far an outlier lies,
and the requests of both kinds are interleaved in random order so that load changes hit both alike.

The effect size is the AUC: the probability that an answer of the first kind takes longer than one
of the second. 0.5 means one answer tells nothing; 1.0 means it always tells. A difference counts
only when it is both large (AUC outside 0.5 ± MARGIN) and significant (two-sided p below ALPHA), so a
server with no difference fails with probability below ALPHA however noisy the machine."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

ALPHA = 0.001
MARGIN = 0.25
PAUSE_SECONDS = 0.015  # between two timed requests: the server's work after one answer must not slow the next
ANSWER_TIMES_STEP = "the answer times do not tell registered addresses from unregistered ones"


@dataclass(frozen=True)
class Comparison:
    auc: float
    p_value: float
    first_median_ms: float
    second_median_ms: float

    @property
    def tells_apart(self) -> bool:
        return abs(self.auc - 0.5) > MARGIN and self.p_value < ALPHA

    def describe(self, first: str, second: str) -> str:
        return (
            f"median {self.first_median_ms:.2f} ms for {first}, {self.second_median_ms:.2f} ms for {second}; "
            f"one answer's time tells them apart with AUC {self.auc:.2f} (p = {self.p_value:.2g}; "
            f"the limit is AUC within 0.5 ± {MARGIN} or p ≥ {ALPHA})"
        )


def compare(first: Sequence[float], second: Sequence[float]) -> Comparison:
    """Compares two samples of durations in seconds."""
    n, m = len(first), len(second)
    ranks = _ranks([*first, *second])
    u = sum(ranks[:n]) - n * (n + 1) / 2
    ties = _tie_term([*first, *second])
    variance = n * m / 12 * ((n + m + 1) - ties / ((n + m) * (n + m - 1)))
    z = (u - n * m / 2) / math.sqrt(variance) if variance > 0 else 0.0
    p_value = math.erfc(abs(z) / math.sqrt(2))
    return Comparison(u / (n * m), p_value, statistics.median(first) * 1000, statistics.median(second) * 1000)


def _ranks(values: list[float]) -> list[float]:
    """1-based ranks, ties sharing their average rank."""
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        for position in range(start, end + 1):
            ranks[order[position]] = (start + end) / 2 + 1
        start = end + 1
    return ranks


def _tie_term(values: list[float]) -> float:
    counts = [values.count(value) for value in set(values)]
    return float(sum(t**3 - t for t in counts))
