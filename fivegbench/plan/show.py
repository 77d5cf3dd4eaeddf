"""The expanded steps as a rich table (``fivegbench show``); the caller prints ``N steps`` after."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

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


ROWS_PER_STEP = 12
"""Rows a plan step gets in the table before its middle points are elided (``--all`` shows all)."""


def _row(step: Step) -> tuple[str, str, str, str, str]:
    return str(step.index), step.name, step.kind, parameters_text(step), _limits_text(step.limits)


def steps_table(steps: Sequence[Step], rows_per_step: int | None = ROWS_PER_STEP) -> Table:
    """One row per expanded step: #, name, kind, parameters (point + repeat i/N), limits. A plan
    step with more than ``rows_per_step`` points shows its first and last ones and how many are
    elided between (None: every row; rich takes minutes for 100,000 rows)."""
    table = Table(show_lines=False)
    table.add_column("step", justify="right")
    table.add_column("name")
    table.add_column("kind")
    table.add_column("parameters")
    table.add_column("limits")
    for group in _by_plan_step(steps):
        if rows_per_step is None or len(group) <= rows_per_step:
            shown, tail, elided = group, [], 0
        else:
            head = rows_per_step - 2
            shown, tail, elided = group[:head], group[-2:], len(group) - rows_per_step
        for step in shown:
            table.add_row(*_row(step))
        if elided:
            table.add_row("…", "", "", f"… {elided} more (--all shows every row)", "")
        for step in tail:
            table.add_row(*_row(step))
    return table


def steps_lines(steps: Sequence[Step]) -> Iterator[str]:
    """Every expanded step as a tab-separated line (``show --all``: fast, and easy to grep)."""
    for step in steps:
        yield "\t".join(_row(step))


def _by_plan_step(steps: Sequence[Step]) -> list[list[Step]]:
    groups: list[list[Step]] = []
    for step in steps:
        if not groups or groups[-1][0].plan_step != step.plan_step:
            groups.append([])
        groups[-1].append(step)
    return groups
