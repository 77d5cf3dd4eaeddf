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


Row = tuple[str, float, float, str, bool]
"""One benchmark figure: name, ours, the baseline, the target in words, whether it is met."""


def report(rows: list[Row], digits: int = 3) -> int:
    """Print the figures as a table (ours, baseline, their ratio, target, ok/MISSED); the exit
    code: 1 if a target is missed."""
    width = max(36, *(len(row[0]) for row in rows))
    print(f"{'figure':<{width}} {'ours':>10} {'baseline':>10} {'ratio':>7}  target")
    for name, ours, base, target, ok in rows:
        ratio = ours / base if base == base and base else float("nan")  # NaN: no baseline
        print(
            f"{name:<{width}} {ours:>10.{digits}f} {base:>10.{digits}f} {ratio:>7.3f}  {target}  "
            f"{'ok' if ok else 'MISSED'}"
        )
    return 0 if all(row[-1] for row in rows) else 1
