"""The expanded steps as a rich table (``fivegbench show``); the caller prints ``N steps`` after."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table

from fivegbench.plan.expand import Step
from fivegbench.plan.model import Limit


def _limits_text(limits: str | dict[str, Limit] | None) -> str:
    if limits is None:
        return "-"
    if isinstance(limits, str):
        return limits
    parts = []
    for name, limit in limits.items():
        if limit.min is not None and limit.max is not None:
            parts.append(f"{limit.min.text} ≤ {name} ≤ {limit.max.text}")
        elif limit.min is not None:
            parts.append(f"{name} ≥ {limit.min.text}")
        elif limit.max is not None:
            parts.append(f"{name} ≤ {limit.max.text}")
    return ", ".join(parts)


def parameters_text(step: Step) -> str:
    """``tx_power=37 dBm, repeat 1/3`` (the repeat only when the step repeats)."""
    parts = [f"{name}={value}" for name, value in step.point.items()]
    if step.repeat_count > 1:
        parts.append(f"repeat {step.repeat_index}/{step.repeat_count}")
    return ", ".join(parts) or "-"


def steps_table(steps: Sequence[Step]) -> Table:
    """One row per expanded step: #, name, kind, parameters (point + repeat i/N), limits."""
    table = Table(show_lines=False)
    table.add_column("step", justify="right")
    table.add_column("name")
    table.add_column("kind")
    table.add_column("parameters")
    table.add_column("limits")
    for step in steps:
        table.add_row(str(step.index), step.name, step.kind, parameters_text(step), _limits_text(step.limits))
    return table
