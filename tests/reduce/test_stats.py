"""Confidence intervals: their coverage is close to nominal on samples whose distribution is
known by construction (seeded simulations)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fivegbench.reduce.stats import (
    lag1_autocorrelation,
    mean_interval,
    quantile_interval,
    repeats_to_decide,
    series_mean_interval,
)

TRIALS = 2000
# binomial standard error of a 95 % coverage estimated from TRIALS trials is 0.0049: allow 3 sigma
TOLERANCE = 3 * math.sqrt(0.95 * 0.05 / TRIALS)


def coverage(make, interval, truth: float, seed: int) -> float:
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(TRIALS):
        ci = interval(make(rng))
        hits += ci.low <= truth <= ci.high
    return hits / TRIALS


def test_mean_of_few_normal_repeats_covers_nominally():
    got = coverage(lambda rng: rng.normal(500.0, 40.0, 5), mean_interval, 500.0, seed=1)
    assert got == pytest.approx(0.95, abs=TOLERANCE)


def test_the_t_interval_by_hand():
    ci = mean_interval([10.0, 12.0, 14.0])
    # mean 12, s = 2, t(0.975, 2) = 4.302652729749464
    assert (ci.estimate, ci.n) == (12.0, 3)
    assert ci.half_width == pytest.approx(4.302652729749464 * 2 / math.sqrt(3), rel=1e-12)


def test_one_repeat_has_no_interval():
    ci = mean_interval([42.0])
    assert ci.estimate == 42.0 and math.isinf(ci.low) and math.isinf(ci.high)


def ar1(rng, n: int, rho: float, mean: float, sigma: float) -> np.ndarray:
    x = np.empty(n)
    x[0] = rng.normal(0.0, sigma / math.sqrt(1 - rho**2))
    for i in range(1, n):
        x[i] = rho * x[i - 1] + rng.normal(0.0, sigma)
    return x + mean


def test_a_correlated_series_needs_the_effective_sample_size():
    make = lambda rng: ar1(rng, 120, 0.6, 300.0, 10.0)  # noqa: E731
    corrected = coverage(make, series_mean_interval, 300.0, seed=2)
    naive = coverage(make, mean_interval, 300.0, seed=2)
    # AR(1) with rho 0.6 and estimated rho: close to nominal (a little under, as r is biased low)
    assert corrected == pytest.approx(0.95, abs=0.03)
    assert naive < 0.80  # treating intervals as independent badly overstates the confidence


def test_lag1_autocorrelation_of_a_known_series():
    rng = np.random.default_rng(3)
    assert lag1_autocorrelation(ar1(rng, 20000, 0.7, 0.0, 1.0)) == pytest.approx(0.7, abs=0.02)
    assert lag1_autocorrelation(rng.normal(size=20000)) == pytest.approx(0.0, abs=0.02)


@pytest.mark.parametrize(("p", "n"), [(0.5, 200), (0.9, 500), (0.99, 2000)])
def test_quantile_interval_covers_the_true_quantile(p, n):
    truth = -math.log(1 - p)  # exponential(1) quantile
    got = coverage(lambda rng: rng.exponential(1.0, n), lambda x: quantile_interval(x, p), truth, seed=4)
    # order-statistic intervals are conservative (discrete ranks): at least nominal, not far above
    assert 0.95 - TOLERANCE <= got <= 0.99


def test_quantile_interval_ranks_by_hand():
    ci = quantile_interval(np.arange(1.0, 101.0), 0.5)
    # Bin(100, 0.5): ppf(0.025) = 40, ppf(0.975) = 60 -> the 40th and 61st smallest samples
    assert (ci.low, ci.high) == (40.0, 61.0)


def test_a_high_quantile_of_a_small_sample_is_open_above():
    ci = quantile_interval(np.arange(1.0, 51.0), 0.99)
    assert math.isinf(ci.high) and ci.low < 50.0


def test_repeats_to_decide_from_the_square_root_law():
    ci = mean_interval([95.0, 100.0, 105.0])  # half-width 12.42 around 100
    more = repeats_to_decide(ci, 94.0)  # 6 away: needs 3·(12.42/6)² = 12.9 runs -> 10 more
    assert more == math.ceil(3 * (ci.half_width / 6.0) ** 2 - 3)
    assert repeats_to_decide(ci, 100.0) is None
