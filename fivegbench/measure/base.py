"""What a measurement gets (context) and gives back (outcome)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fivegbench.bench import Instruments, LoadedBench
from fivegbench.errors import BenchError
from fivegbench.record import Value
from fivegbench.reduce.stats import Interval


@dataclass
class MeasureContext:
    """The connected instruments, the bench (for the RF path) and where captures go."""

    instruments: Instruments
    bench: LoadedBench
    captures_dir: Path
    dut: Any = None
    history: dict[Any, list[float]] = field(default_factory=dict)
    """Results of earlier repeats, per sweep point, for measurements that combine repeats."""


@dataclass(frozen=True)
class Outcome:
    """Reduced values, the conditions they were measured under, and why they may be invalid.

    ``intervals`` holds the confidence interval of the values judged statistically (value name
    -> interval); they are judged as a whole (:func:`fivegbench.verdict.judge`).
    """

    values: dict[str, Value]
    conditions: dict[str, Any] = field(default_factory=dict)
    invalid: str | None = None
    capture: str | None = None
    intervals: dict[str, Interval] = field(default_factory=dict)


Measurement = Callable[[MeasureContext, Any], Outcome]


def role(ctx: MeasureContext, name: str, kind: str) -> Any:
    """The bench's driver for role ``name``; BenchError when the bench has none."""
    driver = ctx.instruments.get(name)
    if driver is None:
        raise BenchError(f"{kind} needs a {name} role on the bench")
    return driver
