"""A first, self-contained ``report.html``: summary, traceability, and every measurement with its
value, limit, margin and verdict."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from fivegbench.record import RunRecord
from fivegbench.units import format_value


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("fivegbench.report", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


def _quantity(value: float, unit: str) -> str:
    """A value for the report: frequencies scaled (97.14 MHz), others to two decimals."""
    return format_value(value, unit) if unit == "Hz" else f"{value:.2f} {unit}"


def _limit_text(limit: dict[str, Any]) -> str:
    low, high, unit = limit.get("low"), limit.get("high"), limit.get("unit", "")
    if low is not None and high is not None:
        text = f"{_quantity(low, unit)} to {_quantity(high, unit)}"
    elif low is not None:
        text = f"≥ {_quantity(low, unit)}"
    elif high is not None:
        text = f"≤ {_quantity(high, unit)}"
    else:
        text = "none"
    if limit.get("tolerance_unverified"):
        text += " [U]"
    return text


def _margin(limit: dict[str, Any], value: float) -> float:
    low, high = limit.get("low"), limit.get("high")
    margins = [value - low] if low is not None else []
    if high is not None:
        margins.append(high - value)
    return min(margins)


def _alternatives(requirement: dict[str, Any], values: dict[str, Any]) -> list[dict[str, Any]]:
    """Each limit of a requirement with the value it applies to and its margin."""
    shown = []
    for limit in requirement["alternatives"]:
        value = values.get(limit["value"])
        shown.append(
            {
                "name": limit["value"],
                "value": _quantity(value["value"], value["unit"]) if value else "missing",
                "limit": _limit_text(limit),
                "margin": _quantity(_margin(limit, value["value"]), limit["unit"]) if value else "",
            }
        )
    return shown


def _rows(measurements: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """One row per requirement of each measurement (one row for a measurement without limits)."""
    for m in measurements:
        point = ", ".join(f"{k} {v}" for k, v in m["point"].items())
        checks = {check["requirement"]: check for check in m["checks"]}
        requirements = m["limits"] or [None]
        for n, requirement in enumerate(requirements):
            row: dict[str, Any] = {"m": m, "point": point, "first": n == 0, "span": len(requirements)}
            if requirement is not None:
                check = checks.get(requirement["name"], {})
                passed = check.get("passed")
                row.update(
                    requirement=requirement["name"],
                    alternatives=_alternatives(requirement, m["values"]),
                    result="pass" if passed else "n/a" if passed is None else "fail",
                )
            yield row


# Plan fields stored in base units, shown with theirs.
_FIELD_UNITS = {
    "center_frequency": "Hz",
    "bandwidth": "Hz",
    "scs": "Hz",
    "tx_power": "dBm",
    "rated_output_power": "dBm",
}


def _described(fields: dict[str, Any]) -> str:
    """``key: value`` pairs of the DUT or cell, quantities with units, empty fields left out."""
    parts = []
    for key, value in fields.items():
        if value is None:
            continue
        if key in _FIELD_UNITS and isinstance(value, int | float):
            value = format_value(value, _FIELD_UNITS[key])
        elif key == "special_slot" and isinstance(value, list):
            value = ":".join(map(str, value))
        parts.append(f"{key}: {value}")
    return "; ".join(parts)


def render(
    record: RunRecord, measurements: Iterable[dict[str, Any]], plots: dict[str, list[str]] | None = None
) -> Iterator[str]:
    """The report page for a run, streamed in pieces (measurements are read as it renders).
    ``plots``: step name -> base64 PNG images (see :mod:`fivegbench.report.plots`)."""
    template = _environment().get_template("report.html")
    return template.generate(
        r=record,
        rows=_rows(measurements),
        dut=_described(record.dut),
        cell=_described(record.cell),
        plots=plots or {},
    )
