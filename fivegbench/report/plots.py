"""Plots for the report (matplotlib, rendered by Agg through ``Figure.savefig``), embedded as
base64 PNG so the page stays one file.

Per plan step: each reported value against the first swept parameter, with the limit lines; and
the spectrum of the step's last stored trace.
"""

from __future__ import annotations

import base64
import io
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure  # not pyplot: no global figure state, 0.4 s less to import

# Points kept per step: a plot cannot show more, and memory must not grow with the sweep.
MAX_PLOT_POINTS = 500
# Columns a trace is drawn with (min and max of the points in each): a page shows no more, and
# drawing 100 001 points would cost a second per plot.
TRACE_COLUMNS = 1200

_NUMBER = re.compile(r"^\s*([-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)\s*(.*)$")


@dataclass
class StepSeries:
    """What one plan step measured, gathered from the journal for plotting."""

    axis: str | None = None
    axis_unit: str = ""
    x: list[float] = field(default_factory=list)
    values: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    units: dict[str, str] = field(default_factory=dict)
    # per value, per point: the limit's low and high (NaN where there is none)
    low: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    high: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    capture: str | None = None
    stride: int = 1  # keep every stride-th measurement; doubles whenever the lists fill up
    seen: int = 0

    def take(self) -> bool:
        """Whether the next measurement is kept (decimation by powers of two)."""
        keep = self.seen % self.stride == 0
        self.seen += 1
        return keep

    def thin(self) -> None:
        if len(self.x) < 2 * MAX_PLOT_POINTS:
            return
        self.stride *= 2
        self.x = self.x[::2]
        for table in (self.values, self.low, self.high):
            for name in table:
                table[name] = table[name][::2]


def _png(figure: Any) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def collect(measurements: Iterable[dict[str, Any]]) -> dict[str, StepSeries]:
    """Series per step name, from measurements that produced values."""
    steps: dict[str, StepSeries] = {}
    for m in measurements:
        if not m["values"]:
            continue
        series = steps.setdefault(m["step"], StepSeries())
        series.capture = m.get("conditions", {}).get("capture") or series.capture
        if not series.take():
            continue
        if m["point"]:
            name, text = next(iter(m["point"].items()))
            match = _NUMBER.match(text)
            if match is None:
                continue
            series.axis, series.axis_unit = name, match.group(2)
            series.x.append(float(match.group(1)))
        else:
            series.x.append(float(len(series.x) + 1))
        bounds = {
            limit["value"]: (limit.get("low"), limit.get("high"))
            for requirement in m["limits"]
            for limit in requirement["alternatives"]
        }
        for name, value in m["values"].items():
            series.values[name].append(value["value"])
            series.units[name] = value["unit"]
            low, high = bounds.get(name, (None, None))
            series.low[name].append(np.nan if low is None else low)
            series.high[name].append(np.nan if high is None else high)
        series.thin()
    return steps


def value_plot(series: StepSeries) -> str | None:
    """Each value against the swept parameter (or the repeat number), limits dashed."""
    if len(series.x) < 2:
        return None
    by_unit: dict[str, list[str]] = defaultdict(list)
    for name, unit in series.units.items():
        by_unit[unit].append(name)
    figure = Figure(figsize=(4.2 * len(by_unit), 3.0))
    axes = figure.subplots(1, len(by_unit), squeeze=False)
    for ax, (unit, names) in zip(axes[0], by_unit.items(), strict=True):
        for name in names:
            line = ax.plot(series.x, series.values[name], marker="o", ms=3, label=name)[0]
            for bound in (series.low[name], series.high[name]):
                if not np.all(np.isnan(bound)):
                    ax.plot(series.x, bound, color=line.get_color(), ls="--", lw=0.8)
        ax.set_xlabel(f"{series.axis} ({series.axis_unit})" if series.axis else "measurement")
        ax.set_ylabel(unit)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    return _png(figure)


def envelope(x: np.ndarray, y: np.ndarray, columns: int = TRACE_COLUMNS) -> tuple[np.ndarray, np.ndarray]:
    """``x, y`` as at most ``columns`` vertical strokes from the minimum to the maximum of ``y``
    in each column: every peak and null of the trace stays visible."""
    per = x.size // columns
    if per < 2:
        return x, y
    n = per * columns
    centres = np.repeat(x[:n].reshape(columns, per).mean(axis=1), 2)
    blocks = y[:n].reshape(columns, per)
    strokes = np.column_stack([blocks.min(axis=1), blocks.max(axis=1)]).ravel()
    return centres, strokes


def spectrum_plot(run_dir: Path, capture: str) -> str | None:
    """The stored swept trace (dBm in the RBW against MHz)."""
    path = run_dir / capture
    if path.suffix != ".npz" or not path.is_file():
        return None
    with np.load(path) as trace:
        freqs, power, rbw = trace["freqs_hz"], trace["power_dbm"], float(trace["rbw_hz"])
    figure = Figure(figsize=(8.4, 2.8))
    ax = figure.subplots()
    ax.plot(*envelope(freqs / 1e6, power), lw=0.6)
    ax.set_xlabel("frequency (MHz)")
    ax.set_ylabel(f"dBm / {rbw / 1e3:g} kHz RBW")
    ax.set_title(f"last trace, at the analyzer input ({path.name})", fontsize=8)
    ax.grid(alpha=0.3)
    return _png(figure)


def step_plots(run_dir: Path, measurements: Iterable[dict[str, Any]]) -> dict[str, list[str]]:
    """Step name -> the base64 PNGs to show under it."""
    plots: dict[str, list[str]] = {}
    for step, series in collect(measurements).items():
        images = [value_plot(series)]
        if series.capture:
            images.append(spectrum_plot(run_dir, series.capture))
        plots[step] = [image for image in images if image]
    return plots
