"""Timing helpers shared by the benchmark scripts: medians, and paired sampling that lets
machine noise hit the measured code and its baseline alike."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_seconds(action: Callable[[], object], repeats: int = 7) -> float:
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def paired_medians(a: Callable[[], object], b: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median seconds of ``a`` and ``b``, sampled alternately."""
    times_a: list[float] = []
    times_b: list[float] = []
    for _ in range(repeats):
        for action, times in ((a, times_a), (b, times_b)):
            start = time.perf_counter()
            action()
            times.append(time.perf_counter() - start)
    return statistics.median(times_a), statistics.median(times_b)
