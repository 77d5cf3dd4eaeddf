"""Confidence intervals for traffic measurements: a mean over repeats, a mean over a correlated
time series, and quantiles from order statistics.

Statistical verdicts (:func:`fivegbench.verdict.judge` with intervals) need an interval, not a
point: PASS only when the whole interval lies on the right side of the limit.

* **Mean over repeats** (independent runs): Student's t interval, ``mean ± t(1−α/2, n−1)·s/√n``.
* **Mean over one run's intervals** (iperf3's per-second goodput): consecutive intervals are
  positively autocorrelated (TCP's window, the radio scheduler), so the naive ``s/√n`` is too
  narrow. The interval uses the effective sample size of an AR(1) process,
  ``n_eff = n·(1−ρ₁)/(1+ρ₁)`` with ρ₁ the lag-1 autocorrelation (clipped to [0, 0.95]), and t with
  ``n_eff − 1`` degrees of freedom. This is the usual first-order correction; heavier dependence
  than AR(1) still makes it optimistic.
* **Quantiles** (latency percentiles): the distribution-free interval from order statistics: the
  ranks ``l < u`` with ``P(l ≤ B < u) ≥ 1−α`` for ``B ~ Binomial(n, p)``. It assumes independent
  samples; latency samples taken under load are autocorrelated (queues drain slowly), which makes
  the true coverage lower than stated: the interval is then a lower bound on the uncertainty.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt

# scipy.stats is imported where it is used: verdict.py imports Interval from here, and reading a
# plan must not pay scipy.stats' import time (seconds on a loaded machine).

#: Confidence level of every interval unless a caller asks otherwise.
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Interval:
    """A point estimate with its confidence interval.

    Attributes
    ----------
    estimate : the point estimate, in the samples' unit.
    low, high : the interval's bounds (same unit); ±inf when it cannot be computed (n < 2).
    n : the number of samples it rests on.
    confidence : its nominal coverage, e.g. 0.95.
    method : how it was computed, in words, for the record.
    """

    estimate: float
    low: float
    high: float
    n: int
    confidence: float
    method: str

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2

    def to_dict(self) -> dict[str, object]:
        finite = [x if math.isfinite(x) else None for x in (self.estimate, self.low, self.high)]
        return {
            "estimate": finite[0],
            "low": finite[1],
            "high": finite[2],
            "n": self.n,
            "confidence": self.confidence,
            "method": self.method,
        }


def _samples(values: npt.ArrayLike) -> npt.NDArray[np.float64]:
    x = np.asarray(values, dtype=np.float64).ravel()
    return x[np.isfinite(x)]


def mean_interval(values: npt.ArrayLike, confidence: float = CONFIDENCE) -> Interval:
    """Student's t interval of the mean of independent samples (NaN and inf are dropped)."""
    x = _samples(values)
    return _t_interval(x, x.size, confidence, f"mean of {x.size} independent runs, Student t")


def lag1_autocorrelation(values: npt.ArrayLike) -> float:
    """The lag-1 sample autocorrelation (0 for fewer than 3 samples or a constant series)."""
    x = _samples(values)
    if x.size < 3:
        return 0.0
    d = x - x.mean()
    denominator = float(d @ d)
    return float(d[:-1] @ d[1:]) / denominator if denominator > 0 else 0.0


def series_mean_interval(values: npt.ArrayLike, confidence: float = CONFIDENCE) -> Interval:
    """Interval of the mean of a positively autocorrelated series (AR(1) effective sample size)."""
    x = _samples(values)
    rho = min(max(lag1_autocorrelation(x), 0.0), 0.95)
    n_eff = x.size * (1 - rho) / (1 + rho)
    method = (
        f"mean of {x.size} intervals, AR(1) effective sample size {n_eff:.1f} (lag-1 r={rho:.2f}), Student t"
    )
    return _t_interval(x, n_eff, confidence, method)


def _t_interval(x: npt.NDArray[np.float64], n_eff: float, confidence: float, method: str) -> Interval:
    """``mean ± t(1−α/2, n_eff−1)·s/√n_eff``; open (±inf) with fewer than 2 effective samples."""
    if x.size == 0:
        return Interval(math.nan, -math.inf, math.inf, 0, confidence, method)
    mean = float(x.mean())
    if n_eff < 2:
        return Interval(mean, -math.inf, math.inf, x.size, confidence, method + " (too few for an interval)")
    from scipy import stats

    half = float(stats.t.ppf((1 + confidence) / 2, n_eff - 1)) * float(x.std(ddof=1)) / math.sqrt(n_eff)
    return Interval(mean, mean - half, mean + half, x.size, confidence, method)


def quantile_interval(values: npt.ArrayLike, p: float, confidence: float = CONFIDENCE) -> Interval:
    """The ``p`` quantile and its distribution-free interval from order statistics.

    The bounds are the ``l``-th and ``u``-th smallest samples (1-based) with ``l`` and ``u``
    chosen symmetrically in probability from Binomial(n, p); an interval that would need a rank
    beyond the sample is open on that side (±inf).
    """
    if not 0 < p < 1:
        raise ValueError(f"quantile must be strictly between 0 and 1, not {p!r}")
    x = np.sort(_samples(values))
    n = x.size
    method = f"order statistics of {n} samples (assumes independent samples)"
    if n == 0:
        return Interval(math.nan, -math.inf, math.inf, 0, confidence, method)
    estimate = float(np.quantile(x, p))
    l_rank, u_rank = _order_ranks(n, p, confidence)
    low = float(x[l_rank - 1]) if l_rank >= 1 else -math.inf
    high = float(x[u_rank - 1]) if u_rank <= n else math.inf
    return Interval(estimate, low, high, n, confidence, method)


@lru_cache(maxsize=256)
def _order_ranks(n: int, p: float, confidence: float) -> tuple[int, int]:
    """1-based ranks (l, u) of the order statistics bounding the ``p`` quantile of ``n`` samples.

    B = how many samples lie below the quantile, Binomial(n, p). x(l) <= quantile <= x(u) fails
    when B < l or B >= u; ``ppf(q)`` is the smallest k with P(B <= k) >= q, so P(B < l) < α/2 for
    l = ppf(α/2) and P(B >= u) <= α/2 for u = ppf(1 − α/2) + 1.
    """
    from scipy import stats

    alpha = 1 - confidence
    binomial = stats.binom(n, p)
    return int(binomial.ppf(alpha / 2)), int(binomial.ppf(1 - alpha / 2)) + 1


def repeats_to_decide(interval: Interval, limit: float) -> int | None:
    """How many more samples would likely shrink ``interval`` clear of ``limit`` (it straddles it
    now), from the half-width's 1/√n scaling; None when the estimate sits on the limit or the
    interval is not finite."""
    distance = abs(interval.estimate - limit)
    if not (math.isfinite(interval.half_width) and distance > 0 and interval.n > 0):
        return None
    needed = interval.n * (interval.half_width / distance) ** 2
    return max(1, math.ceil(needed - interval.n))
