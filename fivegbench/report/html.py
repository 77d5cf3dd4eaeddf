"""A first, self-contained ``report.html``: summary, traceability, and every measurement with its
value, limit, margin and verdict."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from fivegbench.record import RunRecord


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("fivegbench.report", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = lambda value, digits=2: "" if value is None else f"{value:.{digits}f}"
    return env


def _limit_text(limit: dict[str, Any]) -> str:
    low, high, unit = limit.get("low"), limit.get("high"), limit.get("unit", "")
    if low is not None and high is not None:
        text = f"{low:g} to {high:g} {unit}"
    elif low is not None:
        text = f"≥ {low:g} {unit}"
    else:
        text = f"≤ {high:g} {unit}"
    if limit.get("tolerance_unverified"):
        text += " [U]"
    return text


def _rows(measurements: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """One row per check of each measurement (a measurement without checks gets one row)."""
    for m in measurements:
        point = ", ".join(f"{k} {v}" for k, v in m["point"].items())
        for check in m["checks"] or [None]:
            row: dict[str, Any] = {
                "m": m,
                "point": point,
                "requirement": "",
                "value": "",
                "limit": "",
                "margin": None,
            }
            if check is not None:
                decided = check.get("decided_by") or {}
                value = m["values"].get(decided.get("value", ""))
                row.update(
                    requirement=check.get("requirement", ""),
                    value=f"{value['value']:.2f} {value['unit']}" if value else "",
                    limit=_limit_text(decided) if decided else "",
                    margin=check.get("margin"),
                )
            yield row


def render(record: RunRecord, measurements: Iterable[dict[str, Any]]) -> Iterator[str]:
    """The report page for a run, streamed in pieces (measurements are read as it renders)."""
    template = _environment().get_template("report.html")
    return template.generate(r=record, rows=_rows(measurements))
