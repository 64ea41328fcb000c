"""The rank test behind the timing scenarios: exact on small cases, and on samples drawn from one
distribution it tells them apart well under its ALPHA of the time."""

from __future__ import annotations

import math
import random

import pytest

from guestpass.conformance.timing import ALPHA, compare


def test_separated_samples_give_the_extreme_auc_and_the_normal_approximation() -> None:
    comparison = compare([0.001, 0.002, 0.003], [0.004, 0.005, 0.006])
    assert comparison.auc == 0.0
    assert comparison.p_value == pytest.approx(math.erfc(4.5 / math.sqrt(9 / 12 * 7) / math.sqrt(2)))
    assert comparison.first_median_ms == pytest.approx(2.0)


def test_ties_share_their_rank() -> None:
    assert compare([0.001, 0.002], [0.002, 0.003]).auc == pytest.approx(0.125)
    assert compare([0.002] * 5, [0.002] * 5).p_value == 1.0


def test_a_large_difference_is_told_apart_and_noise_alone_is_not() -> None:
    rng = random.Random(7)
    noise = [rng.lognormvariate(0, 0.5) / 1000 for _ in range(100)]
    assert compare([t + 0.003 for t in noise[:50]], noise[50:]).tells_apart
    false_positives = sum(
        compare(
            [rng.lognormvariate(0, 0.5) / 1000 for _ in range(50)],
            [rng.lognormvariate(0, 0.5) / 1000 for _ in range(50)],
        ).tells_apart
        for _ in range(2000)
    )
    assert false_positives / 2000 <= ALPHA * 2
