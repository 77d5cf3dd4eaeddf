"""Plots for the report (matplotlib ``Figure`` rendered by Agg, never pyplot), embedded as base64
PNG so the page stays one file.

Two entry points, both fed with the journal's measurement dicts:

* :func:`sweep_plots`: one plan step over its sweep points, each value against the first swept
  parameter (or the repeat number) with its limit lines;
* :func:`point_plots`: one measurement: its spectrum with the channel, adjacent measurement bands,
  OBW edges or emission mask; EVM per slot; the RTT CDF; the goodput over time; the capacity
  search.

Powers are referred to the antenna connector: the analyzer's trace plus ``conditions.path_loss_db``,
as the reducers do. Neither entry point raises on missing or odd data (a capture gone, a SKIPPED
step, NaN): a plot that cannot be drawn is left out and the reason logged.

A report draws up to ~60 figures, so each is drawn cheaply (60-90 ms of CPU): one axes, at most
five ticks an axis, short labels in the figure and the explanation in the caption under it (the
caption is HTML; Agg lays out and draws text glyph by glyph, ~0.2 ms a glyph with matplotlib
3.11), one key under the axes, where it hides no data, and lines of many segments as one
``LineCollection``.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import numpy.typing as npt
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.container import Container
from matplotlib.figure import Figure  # not pyplot: no global figure state, 0.4 s less to import
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import FixedLocator, MaxNLocator, ScalarFormatter

log = logging.getLogger(__name__)

WIDTH_IN = 7.0
"""Figure width, inches: about the text width of an A4 page, so print keeps the font sizes."""
DPI = 110
"""Pixels per inch of the PNG: 770 px wide, legible on paper."""
TICKS = 4
"""Most intervals between major ticks (at most five numbers an axis; three are too few to read a
spectrum by): a tick costs ~2 ms to make and draw."""
PALETTE_COLOURS = 64
"""Colours of the PNG palette."""
PNG_COMPRESSION = 3
"""zlib level of the PNG: 1.2 ms a plot where the default 6 takes 3.7 ms for a file 12 % smaller."""
TRACE_COLUMNS = 600
"""Columns a trace is drawn with (min and max of the points in each): about the axes' width in
pixels, so the page shows no more; Agg strokes 600 columns five times faster than 1200."""

LOWER, UPPER, CARRIER, LIMIT, GREY = "#0072B2", "#D55E00", "#009E73", "#C00000", "#777777"
"""Colour-blind safe (Okabe-Ito) lower/upper/carrier colours; limits red; context grey."""
_SKY, _AMBER, _PINK, _DARK = "#56B4E9", "#E69F00", "#CC79A7", "#333333"
_NUMBER = re.compile(r"^\s*([-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)\s*(.*)$")

Drawn = tuple[str, Figure]
"""A figure and the caption it goes under."""


@dataclass(frozen=True)
class Plot:
    """One plot of the report."""

    title: str
    """Caption shown under the image, plain text."""
    png: str
    """Base64 PNG (no ``data:`` prefix)."""


# --------------------------------------------------------------------------- entry points


def sweep_plots(run_dir: Path, step: str, kind: str, measurements: Sequence[dict[str, Any]]) -> list[Plot]:
    """Plots of one plan step over its sweep points (all its measurements, in run order)."""
    return _encoded(sweep_figures(run_dir, step, kind, measurements))


def point_plots(run_dir: Path, measurement: dict[str, Any]) -> list[Plot]:
    """Plots of one measurement (one sweep point): its spectrum, EVM per slot, RTT CDF..."""
    return _encoded(point_figures(run_dir, measurement))


def sweep_figures(run_dir: Path, step: str, kind: str, measurements: Sequence[dict[str, Any]]) -> list[Drawn]:
    """The figures of :func:`sweep_plots`, before encoding. A step with fewer than two
    measurements that produced values has none (its point plots show it)."""
    measured = [m for m in measurements if isinstance(m, dict) and _finite_values(m)]
    if len(measured) < 2:
        return []
    builder = _SWEEPS.get(kind, _generic_sweep)
    return _guarded(f"sweep plot of {step!r}", lambda: builder(step, measured))


def point_figures(run_dir: Path, measurement: dict[str, Any]) -> list[Drawn]:
    """The figures of :func:`point_plots`, before encoding."""
    builder = _POINTS.get(str(measurement.get("kind")))
    if builder is None or not isinstance(measurement.get("conditions"), dict):
        return []
    what = f"point plot of {measurement.get('step')!r} #{measurement.get('index')}"
    return _guarded(what, lambda: builder(Path(run_dir), measurement))


def _guarded(what: str, build: Callable[[], list[Drawn]]) -> list[Drawn]:
    """``build()``, or no figure when the data cannot be drawn: a report is never lost to a plot."""
    try:
        return build()
    except Exception as exc:  # odd data of any shape: the plot is left out, the report goes on
        log.warning("%s left out: %s: %s", what, type(exc).__name__, exc)
        return []


def _encoded(drawn: Iterable[Drawn]) -> list[Plot]:
    plots = []
    for title, figure in drawn:
        try:
            plots.append(Plot(title, _png(figure)))
        except Exception as exc:  # a figure Agg cannot draw: leave it out
            log.warning("plot %r left out: %s: %s", title, type(exc).__name__, exc)
    return plots


def _png(figure: Figure) -> str:
    """The figure as a base64 PNG of :data:`PALETTE_COLOURS` colours: a plot holds a few colours
    and their anti-aliased edges, so the palette loses nothing visible and makes the file 3-4
    times smaller than RGBA, for ~3 ms. Glyphs are drawn unhinted: at 110 dpi they look the same
    and take a third less time than hinted ones."""
    from PIL import Image  # matplotlib's own dependency, which Agg already loaded

    figure.set_dpi(DPI)
    canvas = FigureCanvasAgg(figure)
    with matplotlib.rc_context({"text.hinting": "no_hinting"}):  # text a third faster, looks the same
        canvas.draw()
    rgba = Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    palette = rgba.convert("RGB").quantize(
        PALETTE_COLOURS, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE
    )
    buffer = io.BytesIO()
    palette.save(buffer, format="png", compress_level=PNG_COMPRESSION)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


# --------------------------------------------------------------------------- measurement access


def _number_or_nan(value: Any) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    return float(value) if ok and math.isfinite(value) else math.nan


def _finite_values(m: dict[str, Any]) -> dict[str, float]:
    """Value name -> finite number, of a measurement (empty for SKIPPED, ERROR ...)."""
    values = m.get("values")
    out = {}
    for name, value in values.items() if isinstance(values, dict) else ():
        number = _number_or_nan(value.get("value") if isinstance(value, dict) else None)
        if math.isfinite(number):
            out[name] = number
    return out


def _value(m: dict[str, Any], name: str) -> float:
    """A value of the measurement, NaN when absent or not finite."""
    return _finite_values(m).get(name, math.nan)


def _unit(m: dict[str, Any], name: str) -> str:
    value = (m.get("values") or {}).get(name)
    return str(value.get("unit", "")) if isinstance(value, dict) else ""


def _condition(m: dict[str, Any], name: str) -> float:
    """A numeric condition, NaN when absent or not a finite number."""
    return _number_or_nan((m.get("conditions") or {}).get(name))


def _limits_of(m: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """The limit alternatives that judge value ``name``."""
    found = []
    for requirement in m.get("limits") or ():
        for limit in (requirement or {}).get("alternatives") or ():
            if isinstance(limit, dict) and limit.get("value") == name:
                found.append(limit)
    return found


def _bound(m: dict[str, Any], name: str, side: str) -> float:
    """The ``low`` or ``high`` test limit of value ``name`` (NaN when there is none)."""
    for limit in _limits_of(m, name):
        number = _number_or_nan(limit.get(side))
        if math.isfinite(number):
            return number
    return math.nan


def _unverified(m: dict[str, Any], name: str) -> bool:
    return any(limit.get("tolerance_unverified") for limit in _limits_of(m, name))


def _limit_label(m: dict[str, Any], name: str, text: str) -> str:
    return f"{text} [U]" if _unverified(m, name) else text


def _where(m: dict[str, Any]) -> str:
    """``step, point`` for a caption: ``ACLR vs TX power, tx_power 46 dBm``."""
    point = m.get("point") or {}
    text = ", ".join(f"{k} {v}" for k, v in point.items()) if isinstance(point, dict) else ""
    repeat = m.get("repeat")
    if isinstance(repeat, str) and repeat != "1/1":
        text = f"{text}, repeat {repeat}" if text else f"repeat {repeat}"
    step = str(m.get("step", ""))
    return f"{step}, {text}" if text else step


def _capture(run_dir: Path, m: dict[str, Any], suffix: str) -> Path | None:
    """The measurement's capture file if it ends with ``suffix`` and lies inside the run folder."""
    relative = (m.get("conditions") or {}).get("capture")
    if not isinstance(relative, str) or not relative.endswith(suffix):
        return None
    path = Path(relative)
    if path.is_absolute() or ".." in path.parts:  # the journal names files of its own run only
        return None
    path = run_dir / path
    return path if path.is_file() else None


# --------------------------------------------------------------------------- figure helpers


def _figure(height_in: float) -> tuple[Figure, Axes]:
    """A figure of one axes with fixed margins in inches (room for two-line y labels on the left);
    the bottom one is set by :func:`_finish` once the key is known. Constrained layout would fit
    them itself, at twice the drawing time."""
    figure = Figure(figsize=(WIDTH_IN, height_in))
    figure.subplots_adjust(
        left=0.95 / WIDTH_IN, right=1 - 0.15 / WIDTH_IN, top=1 - 0.15 / height_in, bottom=0.5 / height_in
    )
    return figure, figure.add_subplot()


def _finish(figure: Figure, ax: Axes, ncols: int = 4) -> Figure:
    """The key to the axes' labelled artists under them, in at most ``ncols`` columns (fewer when
    the labels are too long to fit the width); the bottom margin grows by its rows.

    Drawn as a sample and a text per entry on a fixed grid: matplotlib's ``Legend`` lays itself
    out through offset boxes, ~40 ms a figure (a third of its drawing time)."""
    _freeze_ticks(ax)
    entries: dict[str, Any] = {}
    for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
        entries.setdefault(label, handle)
    longest = max(map(len, entries), default=0)
    column_in = longest / 16 + _SAMPLE_IN + 0.25  # ~16 characters an inch at 7 pt
    ncols = max(1, min(ncols, len(entries), int((WIDTH_IN - 0.2) // column_in)))
    rows = math.ceil(len(entries) / ncols)
    height = figure.get_figheight()
    figure.subplots_adjust(bottom=(0.5 + (_ROW_IN * rows + 0.05 if rows else 0.0)) / height)
    column_in = (WIDTH_IN - 0.2) / ncols if ncols > 1 else column_in
    left_in = (WIDTH_IN - ncols * column_in) / 2
    for i, (label, handle) in enumerate(entries.items()):
        row, column = divmod(i, ncols)
        x_in = left_in + column * column_in
        y = (0.08 + _ROW_IN * (rows - row - 0.5)) / height
        _sample(figure, handle, x_in / WIDTH_IN, (x_in + _SAMPLE_IN) / WIDTH_IN, y)
        figure.text((x_in + _SAMPLE_IN + 0.07) / WIDTH_IN, y, label, fontsize=7, va="center", gid="key")
    return figure


def _freeze_ticks(ax: Axes) -> None:
    """The ticks the locator puts inside the final view, fixed: the axis makes a tick for every
    location the locator returns, one beyond each end of the view too, at ~1 ms each."""
    for axis, (low, high) in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
        locator = axis.get_major_locator()
        if isinstance(locator, MaxNLocator):
            low, high = min(low, high), max(low, high)
            ticks = np.asarray(locator.tick_values(low, high))
            axis.set_major_locator(FixedLocator(ticks[(ticks >= low) & (ticks <= high)].tolist()))


_SAMPLE_IN, _ROW_IN = 0.3, 0.17
"""Width of a key's sample and height of its rows, inches."""


def _sample(figure: Figure, handle: Any, x0: float, x1: float, y: float) -> None:
    """A sample of ``handle`` (a line, band, bar, line collection, filled collection or error bar)
    in its style, from ``x0`` to ``x1`` at height ``y`` (figure fractions)."""
    if isinstance(handle, Container):  # error bars: their data line (None: no sample); bars: the first
        handle = handle[0]
        if handle is None:
            return
    half = 0.045 / figure.get_figheight()
    sample: Line2D | LineCollection | Rectangle
    if isinstance(handle, Line2D):
        sample = Line2D([x0, (x0 + x1) / 2, x1], [y, y, y], markevery=[1])  # one marker, centred
    elif isinstance(handle, LineCollection):
        sample = LineCollection([[(x0, y), (x1, y)]])
    else:
        sample = Rectangle((x0, y - half), x1 - x0, 2 * half)
    if isinstance(handle, Line2D | LineCollection | Patch):
        sample.update_from(handle)  # its style, and its data transform and clipping: reset below
    else:  # a filled collection (``fill_between``, bars)
        edges = handle.get_edgecolor()
        edge = edges[0] if len(edges) else "none"
        sample.set(facecolor=handle.get_facecolor()[0], edgecolor=edge, alpha=handle.get_alpha())
    sample.set(transform=figure.transFigure, clip_on=False, clip_path=None, label="")
    figure.add_artist(sample)


def _plain(ax: Axes) -> None:
    """Numbers as they are on both axes (no ``1e7`` multiplier, no ``+3.75e3`` offset), at most
    :data:`TICKS` intervals of them."""
    for axis in (ax.xaxis, ax.yaxis):
        if axis.get_scale() == "linear":
            formatter = ScalarFormatter(useOffset=False)
            formatter.set_scientific(False)
            axis.set_major_formatter(formatter)
            axis.set_major_locator(MaxNLocator(TICKS, steps=[1, 2, 2.5, 5, 10]))
    ax.grid(alpha=0.3)
    ax.tick_params(labelsize=8)


def _labels(ax: Axes, x: str, y: str) -> None:
    ax.set_xlabel(x, fontsize=8)
    ax.set_ylabel(y, fontsize=8)
    _plain(ax)


def _segments(
    ax: Axes,
    segments: Sequence[Sequence[tuple[float, float]]],
    colour: str | Sequence[str],
    gid: str,
    label: str,
    **style: Any,
) -> None:
    """Line segments ``[(x0, y0), (x1, y1)]`` (in one colour or one each) as one collection: one
    artist to make and draw, where ``hlines`` would make one per call at ~2 ms each."""
    if segments:
        ax.add_collection(LineCollection(segments, colors=colour, label=label, gid=gid, **style))


def _note(ax: Axes, text: str) -> None:
    """A short text in the top left corner of the axes, above the data (see :func:`_headroom`)."""
    ax.text(0.01, 0.97, text, transform=ax.transAxes, va="top", fontsize=7.5)


def _mhz(hz: float) -> str:
    return f"{hz / 1e6:.6g} MHz"


def _bandwidth(hz: float) -> str:
    """``100 kHz``, ``1 MHz``."""
    return _mhz(hz) if hz >= 1e6 else f"{hz / 1e3:.6g} kHz"


def _range(low: float, high: float, unit: str) -> str:
    if math.isfinite(low) and math.isfinite(high):
        return f"{low:g} to {high:g} {unit}"
    return f"≥ {low:g} {unit}" if math.isfinite(low) else f"≤ {high:g} {unit}"


def envelope(
    x: npt.NDArray[np.float64], y: npt.NDArray[np.float64], columns: int = TRACE_COLUMNS
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """``x, y`` as ``columns`` vertical strokes from the minimum to the maximum of ``y`` in each
    column (every point in one): every peak and null of the trace stays visible. A trace of fewer
    than two points per column is returned as it is."""
    if x.size < 2 * columns:
        return x, y
    starts = np.linspace(0, x.size, columns + 1).astype(np.intp)[:-1]
    counts = np.diff(np.append(starts, x.size))
    centres = np.repeat(np.add.reduceat(x, starts) / counts, 2)
    strokes = np.column_stack([np.minimum.reduceat(y, starts), np.maximum.reduceat(y, starts)]).ravel()
    return centres, strokes


# --------------------------------------------------------------------------- swept spectra


@dataclass(frozen=True)
class _Trace:
    """A stored swept trace, referred to the antenna connector."""

    freqs_hz: npt.NDArray[np.float64]
    power_dbm: npt.NDArray[np.float64]
    """Analyzer reading + path loss, dBm in the RBW."""
    rbw_hz: float
    enbw_factor: float
    loss_db: float
    centre_hz: float
    """The carrier centre: the record's, else the middle of the span (a swept measurement centres
    the analyzer on the carrier)."""

    def level_db(self, bandwidth_hz: float) -> float:
        """dB from a power spread flat over ``bandwidth_hz`` to the level the trace shows for it
        in one RBW (its noise-equivalent bandwidth)."""
        return 10 * math.log10(self.enbw_factor * self.rbw_hz / bandwidth_hz)

    def covers(self, low_hz: float, high_hz: float) -> bool:
        return bool(self.freqs_hz[0] <= low_hz and high_hz <= self.freqs_hz[-1])


def _trace(run_dir: Path, m: dict[str, Any]) -> _Trace | None:
    path = _capture(run_dir, m, ".npz")
    if path is None:
        return None
    with np.load(path, allow_pickle=False) as stored:
        freqs = np.asarray(stored["freqs_hz"], dtype=np.float64)
        power = np.asarray(stored["power_dbm"], dtype=np.float64)
        rbw = float(stored["rbw_hz"])
        enbw = float(stored["enbw_factor"]) if "enbw_factor" in stored else _condition(m, "enbw_factor")
    if freqs.ndim != 1 or freqs.shape != power.shape or freqs.size < 2:
        return None
    loss = _condition(m, "path_loss_db")
    loss = 0.0 if math.isnan(loss) else loss
    centre = _condition(m, "center_hz")
    if math.isnan(centre):
        centre = float(freqs[0] + freqs[-1]) / 2
    return _Trace(freqs, power + loss, rbw, enbw if math.isfinite(enbw) else 1.0, loss, centre)


def _channel_bandwidth_hz(m: dict[str, Any], centre_hz: float) -> float:
    """BW_Channel: the record's, else the one whose BW_Config (N_RB x 12 x SCS, TS 38.104
    Table 5.3.2-1/-2) is the recorded measurement bandwidth (a unique match in either table);
    NaN when neither tells."""
    recorded = _condition(m, "channel_bandwidth_hz")
    if not math.isnan(recorded):
        return recorded
    from fivegbench.nr.bandwidth import (
        FR1_MAX_HZ,
        channel_bandwidths_hz,
        config_bandwidth_hz,
        scs_for_bandwidth_hz,
    )

    config = _condition(m, "measurement_bandwidth_hz")
    fr2 = centre_hz > FR1_MAX_HZ
    matches = {
        bandwidth
        for bandwidth in channel_bandwidths_hz(fr2)
        for scs in scs_for_bandwidth_hz(bandwidth, fr2)
        if abs(config_bandwidth_hz(bandwidth, scs, fr2) - config) < 1.0
    }
    return matches.pop() if len(matches) == 1 else math.nan


def _referral(trace: _Trace) -> str:
    """How the trace is referred to the antenna connector, for a caption."""
    return f"analyzer reading + {trace.loss_db:g} dB path loss, {_bandwidth(trace.rbw_hz)} RBW"


def _draw_trace(
    ax: Axes,
    trace: _Trace,
    colour: str = _DARK,
    label: str = "_trace",
    window_mhz: tuple[float, float] | None = None,
    ylabel: str | None = None,
) -> None:
    """The trace (its envelope when long) in MHz, over its span or over ``window_mhz``; in the key
    only when ``label`` is given (alone on its axes, the trace needs none)."""
    x, y = trace.freqs_hz / 1e6, trace.power_dbm
    if window_mhz is not None:
        inside = np.flatnonzero((x >= window_mhz[0]) & (x <= window_mhz[1]))
        if inside.size:
            keep = slice(max(inside[0] - 1, 0), inside[-1] + 2)  # one point beyond each side
            x, y = x[keep], y[keep]
    ax.plot(*envelope(x, y), lw=0.5, color=colour, label=label, gid="trace")
    ax.set_xlim(window_mhz or (trace.freqs_hz[0] / 1e6, trace.freqs_hz[-1] / 1e6))
    ylabel = ylabel or f"dBm in {_bandwidth(trace.rbw_hz)} RBW\nat the antenna connector"
    _labels(ax, "frequency (MHz)", ylabel)


def _spectrum(trace: _Trace, height_in: float) -> tuple[Figure, Axes]:
    """A figure with the trace drawn, MHz against dBm at the connector."""
    figure, ax = _figure(height_in)
    _draw_trace(ax, trace)
    return figure, ax


def _band(
    ax: Axes, low_hz: float, high_hz: float, colour: str, label: str, gid: str, hatch: str | None = None
) -> None:
    """A shaded frequency band over the axes' height (``gid`` names it for the tests); added as it
    is, where ``axvspan`` would also update the data limits the trace sets, at 2 ms a band."""
    band = Rectangle(
        (low_hz / 1e6, 0.0),
        (high_hz - low_hz) / 1e6,
        1.0,
        transform=ax.get_xaxis_transform(),
        facecolor=colour,
        edgecolor=colour,
        alpha=0.16,
        hatch=hatch,
        label=label,
        gid=gid,
    )
    ax.add_artist(band)


def _headroom(ax: Axes, trace: _Trace) -> float:
    """Room above the trace for the note in the corner; returns the trace's highest level."""
    top = float(np.max(trace.power_dbm, initial=-math.inf, where=np.isfinite(trace.power_dbm)))
    if math.isfinite(top):
        ax.set_ylim(top=top + 14)
    return top


def _power_point(run_dir: Path, m: dict[str, Any]) -> list[Drawn]:
    """The trace with the BW_Config band the channel power integrates and its mean level."""
    trace = _trace(run_dir, m)
    if trace is None:
        return []
    figure, ax = _spectrum(trace, 3.4)
    config = _condition(m, "measurement_bandwidth_hz")
    power = _value(m, "channel_power")
    if math.isfinite(config):
        low, high = trace.centre_hz - config / 2, trace.centre_hz + config / 2
        _band(ax, low, high, CARRIER, f"BW_Config {_mhz(config)}", "channel")
        if math.isfinite(power):
            level = power + trace.level_db(config)
            segment = [(low / 1e6, level), (high / 1e6, level)]
            _segments(ax, [segment], CARRIER, "channel level", "mean level", lw=2.0)
    _headroom(ax, trace)
    lo, hi = _bound(m, "channel_power", "low"), _bound(m, "channel_power", "high")
    text = f"channel power {power:.2f} dBm" if math.isfinite(power) else "channel power not measured"
    if math.isfinite(lo) or math.isfinite(hi):
        text += ", " + _limit_label(m, "channel_power", f"test limit {_range(lo, hi, 'dBm')}")
    _note(ax, text)
    caption = (
        f"{_where(m)}: spectrum at the antenna connector ({_referral(trace)}) with the measurement "
        "bandwidth BW_Config the channel power integrates and the mean level it holds"
    )
    return [(caption, _finish(figure, ax))]


def _aclr_point(run_dir: Path, m: dict[str, Any]) -> list[Drawn]:
    """The trace with the carrier's and each adjacent channel's square measurement band
    (BW_Config wide, centred ±1 and ±2 BW_Channel off the carrier, TS 38.104 §6.6.3.2), the mean
    level each adjacent band holds and the mean levels its relative and absolute limits allow."""
    from fivegbench.reduce.aclr import ADJACENT_CHANNELS

    trace = _trace(run_dir, m)
    if trace is None:
        return []
    figure, ax = _spectrum(trace, 3.6)
    config = _condition(m, "measurement_bandwidth_hz")
    channel = _channel_bandwidth_hz(m, trace.centre_hz)
    carrier = _value(m, "channel_power")
    caption = f"{_where(m)}: spectrum at the antenna connector ({_referral(trace)})"
    if not math.isfinite(config):
        return [(caption, _finish(figure, ax))]
    # the bands: not in the key, the caption tells them (the key's texts cost ~5 ms each)
    _band(ax, trace.centre_hz - config / 2, trace.centre_hz + config / 2, CARRIER, "_nolegend_", "channel")
    level = trace.level_db(config)  # band power -> its mean trace level
    measured: list[list[tuple[float, float]]] = []
    colours: list[str] = []
    relative: list[list[tuple[float, float]]] = []
    absolute: list[list[tuple[float, float]]] = []
    for name, k in ADJACENT_CHANNELS if math.isfinite(channel) else ():
        centre = trace.centre_hz + k * channel
        low, high = centre - config / 2, centre + config / 2
        if not trace.covers(low, high):
            continue
        colour, hatch = (LOWER, "//") if k < 0 else (UPPER, "\\\\")
        _band(ax, low, high, colour, "_nolegend_", name, hatch)
        x0, x1 = low / 1e6, high / 1e6
        aclr = _value(m, f"aclr_{name}")
        if math.isfinite(aclr) and math.isfinite(carrier):
            mean = carrier - aclr + level
            measured.append([(x0, mean), (x1, mean)])
            colours.append(colour)
            top = ax.get_xaxis_transform()  # x in MHz, y in axes fractions: above the trace
            ax.text(
                centre / 1e6,
                0.96,
                f"{aclr:.1f} dB",
                transform=top,
                ha="center",
                va="top",
                fontsize=7.5,
                color=colour,
                gid=f"{name} aclr",
            )
        limit = _bound(m, f"aclr_{name}", "low")
        if math.isfinite(limit) and math.isfinite(carrier):
            allowed = carrier - limit + level
            relative.append([(x0, allowed), (x1, allowed)])
        limit = _bound(m, f"adjacent_{name}_density", "high")
        if math.isfinite(limit):
            allowed = limit + trace.level_db(1e6)
            absolute.append([(x0, allowed), (x1, allowed)])
    _segments(ax, measured, colours, "measured", "measured mean", lw=2.2)
    relative_1, absolute_1 = _bound(m, "aclr_lower1", "low"), _bound(m, "adjacent_lower1_density", "high")
    label = _limit_label(m, "aclr_lower1", f"ACLR ≥ {relative_1:g} dB")
    _segments(ax, relative, LIMIT, "relative limit", label, lw=1.3, linestyles="--")
    label = _limit_label(m, "adjacent_lower1_density", f"≤ {absolute_1:g} dBm/MHz")
    _segments(ax, absolute, LIMIT, "absolute limit", label, lw=1.3, linestyles=":")
    _headroom(ax, trace)
    caption += (
        f"; channel power {carrier:.2f} dBm; the channel (green) and the adjacent measurement bands "
        f"(square, BW_Config {_mhz(config)}; lower blue, hatched /; upper orange, hatched \\), each with "
        "its ACLR at the top; bars over each adjacent band: its mean level measured (solid) and the mean "
        "levels its relative (dashed) and absolute (dotted) test limits allow; it passes below either"
    )
    return [(caption, _finish(figure, ax, ncols=3))]


def _obw_point(run_dir: Path, m: dict[str, Any]) -> list[Drawn]:
    """The trace with the channel and the 99 % power edges."""
    trace = _trace(run_dir, m)
    if trace is None:
        return []
    figure, ax = _spectrum(trace, 3.4)
    channel = _channel_bandwidth_hz(m, trace.centre_hz)
    if math.isfinite(channel):
        low, high = trace.centre_hz - channel / 2, trace.centre_hz + channel / 2
        _band(ax, low, high, CARRIER, f"channel {_mhz(channel)}", "channel")
    obw, limit = _value(m, "obw"), _bound(m, "obw", "high")
    text = f"OBW {obw / 1e6:.3f} MHz" if math.isfinite(obw) else "OBW not measured"
    text += f", test limit ≤ {limit / 1e6:g} MHz" if math.isfinite(limit) else ""
    low, high = _condition(m, "obw_lower_hz"), _condition(m, "obw_upper_hz")
    top = _headroom(ax, trace)
    if math.isfinite(low) and math.isfinite(high) and math.isfinite(top):
        label = "99 % power edges"
        ax.axvline(low / 1e6, color=LOWER, lw=1.2, label=label, gid="obw lower")
        ax.axvline(high / 1e6, color=LOWER, lw=1.2, gid="obw upper")
        arrow = {"arrowstyle": "<->", "color": LOWER}
        ax.annotate("", (low / 1e6, top + 3), (high / 1e6, top + 3), arrowprops=arrow)
        ax.text((low + high) / 2e6, top + 4, text, ha="center", va="bottom", fontsize=7.5)  # over the arrow
    else:
        _note(ax, text)
    caption = f"{_where(m)}: spectrum at the antenna connector ({_referral(trace)}), occupied bandwidth edges"
    return [(caption, _finish(figure, ax))]


def _recorded_mask(m: dict[str, Any]) -> Any:
    """The OBUE mask the measurement names (``conditions.mask``), rebuilt from its category and
    band; None when no mask of :mod:`fivegbench.nr.masks` has that name."""
    from fivegbench.nr.masks import obue_mask

    name = (m.get("conditions") or {}).get("mask")
    band = re.search(r"\((n\d+)\)\s*$", name) if isinstance(name, str) else None
    if band is None:
        return None
    for category in ("A", "B"):
        try:
            mask = obue_mask(category, band=band.group(1))
        except ValueError:
            return None
        if mask.name == name:
            return mask
    return None


def _sem_point(run_dir: Path, m: dict[str, Any]) -> list[Drawn]:
    """The trace, the power in each mask segment's measurement bandwidth and the mask (the SEM
    reducer re-run on the stored trace, ~15 ms), the worst point marked, over the frequencies the
    mask judges (the whole trace when it cannot be re-run)."""
    from fivegbench.reduce.sem import spectrum_emission_mask

    trace = _trace(run_dir, m)
    if trace is None:
        return []
    channel = _channel_bandwidth_hz(m, trace.centre_hz)
    mask = _recorded_mask(m)
    result = None
    if mask is not None and math.isfinite(channel):
        result = spectrum_emission_mask(
            trace.freqs_hz, trace.power_dbm, trace.rbw_hz, trace.enbw_factor, trace.centre_hz, channel, mask
        )
    figure, ax = _figure(3.8)
    window = _judged_mhz(m, result, trace.centre_hz, channel)
    label = f"trace ({_bandwidth(trace.rbw_hz)} RBW)"
    _draw_trace(ax, trace, GREY, label, window, "dBm at the antenna connector")
    if math.isfinite(channel):
        low, high = trace.centre_hz - channel / 2, trace.centre_hz + channel / 2
        _band(ax, low, high, CARRIER, "_nolegend_", "channel")  # told by the caption
    if result is not None:
        _draw_mask(ax, result, mask, trace.centre_hz, channel)
    worst = _mark_worst(ax, m, result)
    name = (m.get("conditions") or {}).get("mask", "no recorded")
    caption = (
        f"{_where(m)}: spectrum at the antenna connector ({_referral(trace)}), the channel (green) and "
        f"the {name} mask"
    )
    if mask is not None:
        bandwidths = sorted({s.measurement_bandwidth_hz for s in mask.segments})
        caption += f"; power in the measurement bandwidth (MBW) {', '.join(map(_bandwidth, bandwidths))}"
    caption += f"; the {worst}" if worst else ""
    return [(caption, _finish(figure, ax, ncols=3))]


def _judged_mhz(
    m: dict[str, Any], result: Any, centre_hz: float, channel_hz: float
) -> tuple[float, float] | None:
    """The frequencies the mask judged (MHz) and the recorded worst point, with a margin of 5 % of
    that range; None (the whole trace) when the reducer did not re-run."""
    if result is None:
        return None
    ends = [_condition(m, "worst_frequency_hz")]
    for segment in (*result.lower, *result.upper):
        if segment.n_evaluated:
            edge = centre_hz - channel_hz / 2 if segment.side == "lower" else centre_hz + channel_hz / 2
            ends += [edge + float(segment.offsets_hz.min()), edge + float(segment.offsets_hz.max())]
    finite = [f / 1e6 for f in ends if math.isfinite(f)]
    if len(finite) < 2:
        return None
    low, high = min(finite), max(finite)
    return low - 0.05 * (high - low), high + 0.05 * (high - low)


def _draw_mask(ax: Axes, result: Any, mask: Any, centre_hz: float, channel_hz: float) -> None:
    """Per evaluated segment: the power in its measurement bandwidth, its limit and the limit
    plus the test tolerance (what the verdict judges); each of the three one artist."""
    tolerance = float(mask.test_tolerance.value)
    unverified = " [U]" if mask.unverified else ""
    xs: list[npt.NDArray[np.float64]] = []
    ys: list[npt.NDArray[np.float64]] = []
    limits = []
    gap = np.array([math.nan])  # between two segments' powers
    for segment in (*result.lower, *result.upper):
        if not segment.n_evaluated:
            continue
        edge = centre_hz - channel_hz / 2 if segment.side == "lower" else centre_hz + channel_hz / 2
        x = (edge + segment.offsets_hz) / 1e6
        order = np.argsort(x)
        x, limit = x[order], segment.limit_dbm[order]
        share = (x[-1] - x[0]) / (ax.get_xlim()[1] - ax.get_xlim()[0])  # of the trace's columns
        x_drawn, power = envelope(x, segment.power_dbm[order], max(1, round(TRACE_COLUMNS * share)))
        xs += [x_drawn, gap]
        ys += [power, gap]
        limits.append([(x[0], limit[0]), (x[-1], limit[-1])])  # linear in the offset: its ends draw it
    if not limits:
        return
    ax.plot(
        np.concatenate(xs), np.concatenate(ys), color=LOWER, lw=0.8, label="power in the MBW", gid="power"
    )
    _segments(ax, limits, LIMIT, "limit", f"mask{unverified}", lw=1.4)
    raised = [[(x, y + tolerance) for x, y in segment] for segment in limits]
    label = f"mask + {tolerance:g} dB test tolerance{unverified}"
    _segments(ax, raised, LIMIT, "limit + test tolerance", label, lw=1.0, linestyles="--")


def _mark_worst(ax: Axes, m: dict[str, Any], result: Any) -> str:
    """The recorded worst point: a circle on the power in the measurement bandwidth when the
    reducer re-ran and found the same point, else a vertical line at its frequency; its frequency
    and margin noted in the corner. Returns them in words for the caption ("" when none is
    recorded)."""
    worst_hz, margin = _condition(m, "worst_frequency_hz"), _value(m, "sem_margin")
    if not math.isfinite(worst_hz):
        return ""
    worst = None
    if result is not None:
        evaluated = [s for s in (*result.lower, *result.upper) if s.n_evaluated]
        worst = min(evaluated, key=lambda s: s.worst_margin_db, default=None)
    if worst is not None and abs(worst.worst_frequency_hz - worst_hz) < 1.0:
        y = worst.worst_power_dbm
        ax.plot(
            worst_hz / 1e6,
            y,
            "o",
            ms=9,
            mfc="none",
            mec=LIMIT,
            mew=1.6,
            label="worst point",
            gid="worst point",
        )
    else:
        ax.axvline(worst_hz / 1e6, color=LIMIT, lw=0.8, ls="-.", label="worst point", gid="worst point")
    offset = _condition(m, "worst_offset_hz")
    note = words = f"worst point {worst_hz / 1e6:.3f} MHz"
    if math.isfinite(offset):
        note += f" (edge {offset / 1e6:+.3f} MHz)"
        words += f", {offset / 1e6:+.3f} MHz from the channel edge"
    if math.isfinite(margin):
        note += f": margin {margin:.2f} dB"
        words += f", margin to the mask {margin:.2f} dB"
    top = ax.dataLim.y1
    if math.isfinite(top):
        ax.set_ylim(top=top + 12)  # room for the note above the data
    _note(ax, note)
    return words


# --------------------------------------------------------------------------- other point plots


def _rate_floor(ax: Axes, m: dict[str, Any], name: str) -> None:
    """The lower limit of a rate value (Mbit/s) as a dashed line, when it has one."""
    limit = _bound(m, name, "low")
    if math.isfinite(limit):
        ax.axhline(limit, color=LIMIT, lw=1.4, ls="--", label=f"limit ≥ {limit:g} Mbit/s")


def _evm_point(run_dir: Path, m: dict[str, Any]) -> list[Drawn]:
    """EVM of every complete slot (``conditions.evm_per_slot_pct``) with the RMS over the capture
    and the limit, then the constellation (:func:`_constellation`)."""
    return _evm_per_slot(m) + _guarded("constellation", lambda: _constellation(run_dir, m))


def _constellation(run_dir: Path, m: dict[str, Any]) -> list[Drawn]:
    """The equalised REs the EVM reducer samples (``EvmResult.constellation``), from the step's
    SigMF capture reduced again as the run reduced it (~1 s: only point plots draw it), with the
    ideal points of each measured modulation."""
    from fivegbench import analyze  # the reducers: only an EVM point plot needs them
    from fivegbench.captures import read_capture
    from fivegbench.nr.modulation import constellation
    from fivegbench.reduce.evm import CONSTELLATION_SYMBOLS

    path = _capture(run_dir, m, ".sigmf-meta")
    if path is None:
        return []
    capture = read_capture(path)
    meta = capture.metadata
    carrier = analyze.carrier_for(capture, float(meta["bandwidth_hz"]), float(meta["scs_hz"]))
    measured = (name.removeprefix("evm_") for name in _finite_values(m))
    given = [name.upper() for name in measured if name in ("qpsk", "16qam", "64qam", "256qam")]
    modulation = None if "test_model" in meta or not given else given[0]
    result, _ = analyze.evm_result(capture, carrier, analyze.Options(modulation=modulation))
    points = np.asarray(result.constellation, dtype=np.complex128)
    if points.size == 0:
        return []
    figure, ax = _figure(3.6)
    for name in result.evm_by_modulation_pct:  # under the measured points, which they would hide
        ideal = constellation(name)
        ax.plot(ideal.real, ideal.imag, "+", ms=7, mew=0.8, color=GREY, label=f"ideal {name}")
    ax.plot(points.real, points.imag, ".", ms=2.0, color=LOWER, label="measured RE")
    ax.set_aspect("equal", adjustable="datalim")
    _labels(ax, "in phase I (unit mean power)", "quadrature Q")
    caption = (
        f"{_where(m)}: constellation of {points.size} equalised PDSCH REs of the first "
        f"{CONSTELLATION_SYMBOLS} measured symbols (low EVM window position), each modulation scaled "
        "to unit mean power, with the ideal points"
    )
    return [(caption, _finish(figure, ax))]


def _evm_per_slot(m: dict[str, Any]) -> list[Drawn]:
    slots = (m.get("conditions") or {}).get("evm_per_slot_pct")
    if not isinstance(slots, list) or not slots:
        return []
    per_slot = np.array([_number_or_nan(v) for v in slots])
    if not np.any(np.isfinite(per_slot)):
        return []
    figure, ax = _figure(3.2)
    index = np.arange(per_slot.size, dtype=np.float64)
    worst = int(np.nanargmax(per_slot))
    _bars(ax, index, per_slot, LOWER, "EVM per slot", "slots")
    label = f"worst slot {worst}: {per_slot[worst]:.2f} %"
    _bars(ax, index[[worst]], per_slot[[worst]], UPPER, label, "worst slot")
    rms = _value(m, "evm_rms")
    if math.isfinite(rms):
        ax.axhline(rms, color=_DARK, lw=1.0, ls="-.", label=f"RMS {rms:.2f} %")
    top = float(np.nanmax(per_slot))
    drawn: set[float] = set()
    for name in _finite_values(m):
        limit = _bound(m, name, "high") if name.startswith("evm_") else math.nan
        if math.isfinite(limit) and limit not in drawn:
            drawn.add(limit)
            label = _limit_label(m, name, f"{name} limit {limit:g} %")
            ax.axhline(limit, color=LIMIT, lw=1.4, label=label, gid="limit")
            top = max(top, limit)
    ax.set_ylim(0, top * 1.12)
    _labels(ax, "slot", "EVM (%)")
    caption = (
        f"{_where(m)}: EVM of each complete slot of the capture, in order (TS 38.104 Annex B window, "
        "the worse position), the RMS over the capture and the test limit"
    )
    return [(caption, _finish(figure, ax))]


def _bars(
    ax: Axes, x: npt.NDArray[np.float64], heights: npt.NDArray[np.float64], colour: str, label: str, gid: str
) -> None:
    """Bars 0.7 wide from 0 to each finite height, as one collection (``bar`` makes and places a
    patch each, ~1 ms a bar)."""
    finite = np.isfinite(heights)
    left, right, top = x[finite] - 0.35, x[finite] + 0.35, heights[finite]
    outlines = np.stack([left, 0 * top, left, top, right, top, right, 0 * top], axis=1).reshape(-1, 4, 2)
    ax.add_collection(
        PolyCollection(list(outlines), facecolors=colour, edgecolors="none", label=label, gid=gid)
    )


def _throughput_point(run_dir: Path, m: dict[str, Any]) -> list[Drawn]:
    """The goodput of every iperf3 reporting interval over the run (the capture's JSON)."""
    from fivegbench.drivers.traffic.iperf3 import parse_iperf3

    path = _capture(run_dir, m, ".iperf3.json")
    direction = (m.get("conditions") or {}).get("direction")
    if path is None or direction not in ("dl", "ul", "bidir"):
        return []
    result = parse_iperf3(path.read_text(encoding="utf-8"), direction)
    figure, ax = _figure(3.2)
    for flow, colour in zip(result.flows, (LOWER, UPPER), strict=False):
        if flow.intervals_s.size:
            label = f"{flow.direction.upper()} goodput"
            x, y = np.cumsum(flow.intervals_s), flow.intervals_bps / 1e6
            ax.step(x, y, where="pre", color=colour, label=label, gid=f"{flow.direction} goodput")
    mean, low, high = (_value(m, n) for n in ("throughput", "throughput_ci_low", "throughput_ci_high"))
    if math.isfinite(mean):
        ax.axhline(mean, color=_DARK, lw=1.0, label=f"mean {mean:.1f} Mbit/s")
    if math.isfinite(low) and math.isfinite(high):
        ax.axhspan(low, high, color=_DARK, alpha=0.15, label="95 % CI of the mean")
    peak = _value(m, "peak_rate")
    if math.isfinite(peak):
        ax.axhline(peak, color=CARRIER, lw=1.0, ls="-.", label=f"TS 38.306 peak {peak:.0f} Mbit/s")
    _rate_floor(ax, m, "throughput")
    ax.set_ylim(bottom=0)
    _labels(ax, "time from the start of the run (s)", "goodput (Mbit/s)")
    caption = (
        f"{_where(m)}: iperf3 goodput per reporting interval, its mean with its 95 % confidence interval"
    )
    return [(caption, _finish(figure, ax, ncols=3))]


_PERCENTILES = (
    ("rtt_p50", "p50", CARRIER, "o", "-"),
    ("rtt_p90", "p90", UPPER, "s", "--"),
    ("rtt_p99", "p99", _PINK, "^", "-."),
    ("rtt_p999", "p99.9", GREY, "v", ":"),
)


def _latency_point(run_dir: Path, m: dict[str, Any]) -> list[Drawn]:
    """The RTT CDF from irtt's round trips up to past p99, its percentiles and their limits."""
    from fivegbench.drivers.traffic.irtt import parse_irtt

    path = _capture(run_dir, m, ".irtt.json")
    if path is None:
        return []
    rtt = parse_irtt(path.read_text(encoding="utf-8"), one_way_valid=False).rtt_ms
    rtt = np.sort(rtt[np.isfinite(rtt)])
    if rtt.size == 0:
        return []
    cdf = np.arange(1, rtt.size + 1) / rtt.size
    figure, ax = _figure(3.2)
    ax.step(rtt, cdf, where="post", color=LOWER, lw=1.2, label=f"CDF of {rtt.size} RTTs", gid="cdf")
    marked = [float(np.quantile(rtt, 0.99))]
    for name, short, colour, _, style in _PERCENTILES:
        value, limit = _value(m, name), _bound(m, name, "high")
        if math.isfinite(value):
            ax.axvline(value, color=colour, lw=1.0, ls=style, label=f"{short} {value:.2f} ms", gid=name)
            marked.append(value)
        if math.isfinite(limit):
            label = f"{short} limit ≤ {limit:g} ms"
            ax.axvline(limit, color=LIMIT, lw=1.6, ls=style, label=label, gid=f"{name} limit")
            marked.append(limit)
    ax.set_xlim(0, min(float(rtt[-1]), 1.25 * max(marked)) * 1.02)
    _labels(ax, "round-trip time (ms)", "fraction of round trips ≤ RTT")
    caption = f"{_where(m)}: RTT distribution (irtt) with its percentiles and limits, up to past p99"
    return [(caption, _finish(figure, ax))]


def _capacity_point(run_dir: Path, m: dict[str, Any]) -> list[Drawn]:
    """The capacity search (``conditions.trials``): the offered rate of each trial, whether its
    loss was within the threshold, its goodput, and the capacity found."""
    trials = (m.get("conditions") or {}).get("trials")
    if not isinstance(trials, list) or not trials or not all(isinstance(t, dict) for t in trials):
        return []
    number = np.arange(1, len(trials) + 1)
    offered = np.array([_number_or_nan(t.get("offered_mbit_s")) for t in trials])
    goodput = np.array([_number_or_nan(t.get("goodput_mbit_s")) for t in trials])
    passed = np.array([t.get("passed") is True for t in trials])
    figure, ax = _figure(3.2)
    ax.plot(number, offered, color=GREY, lw=0.8)
    within, above = "offered, loss ≤ threshold", "offered, loss > threshold"
    ax.plot(number[passed], offered[passed], "o", color=CARRIER, ms=7, label=within, gid="passed")
    ax.plot(number[~passed], offered[~passed], "X", color=LIMIT, ms=8, label=above, gid="failed")
    ax.plot(number, goodput, "_", color=_DARK, ms=12, mew=1.5, label="goodput received")
    capacity = _value(m, "capacity")
    if math.isfinite(capacity):
        ax.axhline(capacity, color=CARRIER, lw=1.0, ls="--", label=f"capacity {capacity:.1f} Mbit/s")
    _rate_floor(ax, m, "capacity")
    ax.set_ylim(0, 1.1 * float(np.nanmax(np.concatenate([offered, goodput, [1.0]]))))
    _labels(ax, "trial", "UDP rate (Mbit/s)")
    ax.xaxis.set_major_locator(MaxNLocator(TICKS * 2, integer=True))
    threshold = _condition(m, "loss_threshold_percent")
    caption = f"{_where(m)}: capacity search, offered rate per trial"
    caption += f" (loss threshold {threshold:g} %)" if math.isfinite(threshold) else ""
    return [(caption, _finish(figure, ax, ncols=3))]


_POINTS: dict[str, Callable[[Path, dict[str, Any]], list[Drawn]]] = {
    "rf.power": _power_point,
    "rf.aclr": _aclr_point,
    "rf.obw": _obw_point,
    "rf.sem": _sem_point,
    "rf.evm": _evm_point,
    "traffic.throughput": _throughput_point,
    "traffic.latency": _latency_point,
    "traffic.capacity": _capacity_point,
}


# --------------------------------------------------------------------------- sweeps


@dataclass(frozen=True)
class _Sweep:
    """A step's measurements placed on the x axis."""

    label: str
    x: npt.NDArray[np.float64]
    ticks: list[str] | None
    """Tick labels of a parameter swept over text (at 0, 1, ...), else None."""
    measurements: list[dict[str, Any]]
    values: list[dict[str, float]] = field(init=False, repr=False)
    """Each measurement's finite values, read once."""
    bounds: dict[tuple[str, str], npt.NDArray[np.float64]] = field(default_factory=dict, repr=False)
    """The test limits (name, side) of each measurement, read once."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", [_finite_values(m) for m in self.measurements])

    def y(self, name: str, scale: float = 1.0) -> npt.NDArray[np.float64]:
        return np.array([values.get(name, math.nan) for values in self.values]) * scale

    def bound(self, name: str, side: str, scale: float = 1.0) -> npt.NDArray[np.float64]:
        if (name, side) not in self.bounds:
            self.bounds[name, side] = np.array([_bound(m, name, side) for m in self.measurements])
        return self.bounds[name, side] * scale

    def unverified(self, name: str) -> bool:
        return any(_unverified(m, name) for m in self.measurements)

    @property
    def repeated(self) -> bool:
        """Several measurements at one x: markers only, a line would zigzag."""
        return bool(np.unique(self.x).size < self.x.size)


def _sweep(measurements: list[dict[str, Any]]) -> _Sweep:
    """x of each measurement: the first swept parameter's number (or its text as categories), else
    the repeat number, else the measurement's place in the step."""
    points: list[dict[str, Any]] = [
        m["point"] if isinstance(m.get("point"), dict) else {} for m in measurements
    ]
    names = {next(iter(p), None) for p in points}
    name = names.pop() if len(names) == 1 else None
    if name is not None:
        texts = [str(p[name]) for p in points]
        parsed = [_NUMBER.match(t) for t in texts]
        if all(parsed):
            units = {match.group(2).strip() for match in parsed if match}
            unit = units.pop() if len(units) == 1 else ""
            x = np.array([float(match.group(1)) for match in parsed if match])
            return _Sweep(f"{name} ({unit})" if unit else name, x, None, measurements)
        categories = list(dict.fromkeys(texts))
        return _Sweep(name, np.array([float(categories.index(t)) for t in texts]), categories, measurements)
    repeats = [_NUMBER.match(str(m.get("repeat", "")).split("/")[0]) for m in measurements]
    numbers = [float(r.group(1)) for r in repeats if r]
    if len(numbers) == len(measurements) and len(set(numbers)) == len(numbers):
        return _Sweep("repeat", np.array(numbers), None, measurements)
    return _Sweep("measurement", np.arange(1.0, len(measurements) + 1), None, measurements)


def _x_axis(ax: Axes, sweep: _Sweep) -> None:
    ax.set_xlabel(sweep.label, fontsize=8)
    _plain(ax)
    if sweep.label in ("repeat", "measurement"):
        ax.xaxis.set_major_locator(MaxNLocator(TICKS, integer=True))
    if sweep.ticks is not None:
        ax.set_xticks(range(len(sweep.ticks)), sweep.ticks, fontsize=7)


@dataclass(frozen=True)
class _Line:
    """One value drawn against the sweep."""

    value: str
    label: str
    colour: str
    marker: str = "o"
    style: str = "-"
    hollow: bool = False
    """Drawn as a larger open marker: a series that often coincides with the one before it (an
    upper adjacent channel's ACLR, equal to the lower's) stays visible around it."""


def _lines(spec: Iterable[tuple[str, str, str, str, str]]) -> list[_Line]:
    """Lines from (value, label, colour, marker, style), every second one hollow."""
    return [_Line(*row, hollow=i % 2 == 1) for i, row in enumerate(spec)]


def _series(
    ax: Axes, sweep: _Sweep, lines: Sequence[_Line], unit: str, scale: float = 1.0, limits: bool = True
) -> None:
    """Each line's value against the sweep, and (with ``limits``) its limits: one red line per
    limit the lines share, else one in each line's colour."""
    owners: dict[tuple[str, tuple[float, ...]], list[_Line]] = {}
    small = sweep.x.size > 60
    for line in lines:
        y = sweep.y(line.value, scale)
        if not np.any(np.isfinite(y)):
            continue
        ax.plot(
            sweep.x,
            y,
            color=line.colour,
            marker=line.marker,
            ms=(4 if small else 8) if line.hollow else (2.5 if small else 5),
            mfc="none" if line.hollow else line.colour,
            mew=1.3,
            ls="none" if sweep.repeated else line.style,
            lw=1.2,
            label=line.label,
            gid=line.value,
        )
        for side in ("low", "high") if limits else ():
            bound = sweep.bound(line.value, side, scale)
            if np.any(np.isfinite(bound)):
                owners.setdefault((side, tuple(np.round(bound, 9))), []).append(line)
    shared = len({side for side, _ in owners}) == len(owners)  # one limit per side for all lines
    for (side, _), judged in owners.items():
        bound = sweep.bound(judged[0].value, side, scale)
        finite = bound[np.isfinite(bound)]
        flat = bool(np.all(finite == finite[0]))
        sign = "≥" if side == "low" else "≤"
        label = f"test limit {sign} {finite[0]:g} {unit}" if flat else f"test limit ({sign})"
        label = label if shared else f"{judged[0].label} {label}"
        if any(sweep.unverified(line.value) for line in judged):
            label += " [U]"
        colour = LIMIT if shared else judged[0].colour
        if flat:
            ax.axhline(finite[0], color=colour, lw=1.4, ls="--", label=label, gid=f"{side} limit")
        else:
            order = np.argsort(sweep.x, kind="stable")
            ax.plot(
                sweep.x[order], bound[order], color=colour, lw=1.4, ls="--", label=label, gid=f"{side} limit"
            )


def _panel(
    ax: Axes, sweep: _Sweep, lines: Sequence[_Line], ylabel: str, unit: str, scale: float = 1.0
) -> None:
    _series(ax, sweep, lines, unit, scale)
    ax.set_ylabel(ylabel, fontsize=8)
    _x_axis(ax, sweep)


_ADJACENT = (
    ("lower1", "lower 1st", LOWER, "o", "-"),
    ("upper1", "upper 1st", UPPER, "s", "--"),
    ("lower2", "lower 2nd", _SKY, "v", ":"),
    ("upper2", "upper 2nd", _AMBER, "^", "-."),
)


def _aclr_sweep(step: str, measured: list[dict[str, Any]]) -> list[Drawn]:
    """ACLR per adjacent channel with its relative test limit and, on the same axis, its absolute
    alternative (a density limit) as the ACLR it allows at each point."""
    sweep = _sweep(measured)
    figure, ax = _figure(3.6)
    lines = _lines(
        (f"aclr_{name}", label, colour, marker, style) for name, label, colour, marker, style in _ADJACENT
    )
    _panel(ax, sweep, lines, "ACLR (dB)", "dB")
    _absolute_as_aclr(ax, sweep)
    caption = (
        f"{step}: ACLR of the lower and upper 1st and 2nd adjacent channels vs {sweep.label} with its "
        "test limits: the relative one (dashed) and the "
        "absolute one, a density, as the ACLR it allows at each point (dotted: the ACLR at which the "
        "adjacent channel's density meets it, ACLR + density − limit; in each channel's colour when "
        "they differ); a point passes above either"
    )
    return [(caption, _finish(figure, ax, ncols=3))]


def _absolute_as_aclr(ax: Axes, sweep: _Sweep) -> None:
    """The ACLR each adjacent channel's absolute limit allows: its density falls one dB per dB of
    ACLR (same channel power, same band), so it meets the limit at ACLR + density - limit. One red
    dotted line when the channels agree within 0.05 dB (equal bands: they do), else one dotted
    line per channel in its colour."""
    allowed = {}
    limits: set[float] = set()
    for name, *_ in _ADJACENT:
        density = f"adjacent_{name}_density"
        limit = sweep.bound(density, "high")
        series = sweep.y(f"aclr_{name}") + sweep.y(density) - limit
        if np.any(np.isfinite(series)):
            allowed[name] = series
            limits.update(limit[np.isfinite(series)])
    if not allowed:
        return
    first = next(iter(allowed.values()))
    shared = all(
        np.array_equal(np.isnan(first), np.isnan(series)) and np.nanmax(np.abs(series - first)) <= 0.05
        for series in allowed.values()
    )
    label = f"absolute limit ≤ {limits.pop():g} dBm/MHz" if len(limits) == 1 else "absolute limit"
    label += " as ACLR" + ("" if shared else ", per channel")
    label += " [U]" if any(sweep.unverified(f"adjacent_{n}_density") for n in allowed) else ""
    order = np.argsort(sweep.x, kind="stable")
    colours = {name: colour for name, _, colour, *_ in _ADJACENT}
    for name, series in allowed.items() if not shared else [("", first)]:
        colour = colours[name] if name else LIMIT
        ax.plot(sweep.x[order], series[order], color=colour, lw=1.4, ls=":", label=label, gid="absolute")


def _power_sweep(step: str, measured: list[dict[str, Any]]) -> list[Drawn]:
    """Output power with the band its test limits allow and the configured power."""
    sweep = _sweep(measured)
    figure, ax = _figure(3.4)
    low, high = sweep.bound("channel_power", "low"), sweep.bound("channel_power", "high")
    band = bool(np.any(np.isfinite(low) & np.isfinite(high)))
    if band:  # a tolerance around a level: shaded, the band a reviewer reads
        order = np.argsort(sweep.x, kind="stable")
        label = _limit_label(measured[0], "channel_power", "within the test limits")
        ax.fill_between(sweep.x[order], low[order], high[order], color=LIMIT, alpha=0.12, label=label)
        for bound in (low, high):
            ax.plot(sweep.x[order], bound[order], color=LIMIT, lw=1.0, ls="--")
    line = _Line("channel_power", "output power", CARRIER, "D")
    _series(ax, sweep, [line], "dBm", limits=not band)
    configured = np.array([_condition(m, "configured_power_dbm") for m in measured])
    if np.any(np.isfinite(configured)):
        ax.plot(sweep.x, configured, color=GREY, ls=":", marker=".", label="configured TX power")
    ax.set_ylabel("output power (dBm)\nat the antenna connector", fontsize=8)
    _x_axis(ax, sweep)
    return [
        (
            f"{step}: output power at the antenna connector vs {sweep.label} with its test limits",
            _finish(figure, ax),
        )
    ]


def _single(
    value: str, label: str, ylabel: str, unit: str, scale: float = 1.0
) -> Callable[[str, list[dict[str, Any]]], list[Drawn]]:
    """A sweep plot of one value in ``unit`` (its recorded unit times ``scale``)."""

    def build(step: str, measured: list[dict[str, Any]]) -> list[Drawn]:
        sweep = _sweep(measured)
        figure, ax = _figure(3.2)
        _panel(ax, sweep, [_Line(value, label, LOWER)], ylabel, unit, scale)
        return [(f"{step}: {label} vs {sweep.label} with its test limits", _finish(figure, ax))]

    return build


_PALETTE = ((LOWER, "o", "-"), (UPPER, "s", "--"), (CARRIER, "^", "-."), (_PINK, "v", ":"))


def _evm_sweep(step: str, measured: list[dict[str, Any]]) -> list[Drawn]:
    """Every EVM value (RMS, per modulation, worst slot) with its test limit."""
    sweep = _sweep(measured)
    names = list(dict.fromkeys(n for values in sweep.values for n in values if n.startswith("evm_")))
    lines = _lines((n, n, *_PALETTE[i % len(_PALETTE)]) for i, n in enumerate(names))
    figure, ax = _figure(3.4)
    _panel(ax, sweep, lines, "EVM (%)", "%")
    ax.set_ylim(bottom=0)
    return [(f"{step}: EVM vs {sweep.label} with its test limit", _finish(figure, ax))]


def _last_per_point(measured: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The last repeat of each sweep point: throughput's carries the mean over all of them."""
    last: dict[str, dict[str, Any]] = {}
    for m in measured:
        last[json.dumps(m.get("point"), sort_keys=True, default=str)] = m
    return list(last.values())


def _throughput_sweep(step: str, measured: list[dict[str, Any]]) -> list[Drawn]:
    """Throughput with its 95 % interval, the TS 38.306 peak and the limit, against the swept
    parameter and, in a second figure when the UE reported it, against RSRP."""
    sweep = _sweep(_last_per_point(measured))
    what = "with 95 % confidence intervals, the TS 38.306 peak rate and the limit"
    figure, ax = _figure(3.4)
    _throughput_against(ax, sweep, sweep.x)
    _x_axis(ax, sweep)
    drawn = [(f"{step}: throughput vs {sweep.label}, {what}", _finish(figure, ax, ncols=3))]
    rsrp = sweep.y("rsrp")
    if np.sum(np.isfinite(rsrp)) >= 2:
        figure, ax = _figure(3.4)
        _throughput_against(ax, sweep, rsrp)
        _labels(ax, "RSRP reported by the UE (dBm)", "throughput (Mbit/s)")
        drawn.append((f"{step}: throughput vs RSRP, {what}", _finish(figure, ax, ncols=3)))
    return drawn


def _throughput_against(ax: Axes, sweep: _Sweep, x: npt.NDArray[np.float64]) -> None:
    order = np.argsort(x, kind="stable")
    order = order[np.isfinite(x[order])]
    x = x[order]
    mean = sweep.y("throughput")[order]
    low, high = sweep.y("throughput_ci_low")[order], sweep.y("throughput_ci_high")[order]
    errors = np.nan_to_num(np.abs(np.vstack([mean - low, high - mean])))
    bars = ax.errorbar(
        x, mean, yerr=errors, color=LOWER, marker="o", ms=4, capsize=3, lw=1.2, label="throughput, 95 % CI"
    )
    bars.lines[0].set_gid("throughput")
    peak = sweep.y("peak_rate")[order]
    if np.any(np.isfinite(peak)):
        ax.plot(x, peak, color=CARRIER, ls="-.", lw=1.0, label="TS 38.306 peak rate", gid="peak_rate")
    limit = sweep.bound("throughput", "low")[order]
    finite = limit[np.isfinite(limit)]
    if finite.size:
        flat = bool(np.all(finite == finite[0]))
        ax.plot(
            x,
            limit,
            color=LIMIT,
            ls="--",
            lw=1.4,
            label=f"limit ≥ {finite[0]:g} Mbit/s" if flat else "limit (≥)",
            gid="low limit",
        )
    ax.set_ylabel("throughput (Mbit/s)", fontsize=8)
    ax.set_ylim(bottom=0)


def _latency_sweep(step: str, measured: list[dict[str, Any]]) -> list[Drawn]:
    """The RTT percentiles with their order-statistic 95 % intervals (``conditions.intervals``)
    and limits."""
    sweep = _sweep(measured)
    figure, ax = _figure(3.4)
    lines = _lines(_PERCENTILES)
    _series(ax, sweep, lines, "ms")
    for line in lines:
        y = sweep.y(line.value)
        interval = np.array([_interval(m, line.value) for m in measured]).reshape(-1, 2)
        errors = np.abs(np.vstack([y - interval[:, 0], interval[:, 1] - y]))
        if np.any(np.isfinite(errors)):
            ax.errorbar(
                sweep.x, y, yerr=np.nan_to_num(errors), fmt="none", ecolor=line.colour, capsize=3, lw=0.8
            )
    ax.set_ylabel("round-trip time (ms)", fontsize=8)
    ax.set_ylim(bottom=0)
    _x_axis(ax, sweep)
    caption = f"{step}: RTT percentiles vs {sweep.label}, 95 % intervals (order statistics) and limits"
    return [(caption, _finish(figure, ax))]


def _interval(m: dict[str, Any], name: str) -> tuple[float, float]:
    interval = ((m.get("conditions") or {}).get("intervals") or {}).get(name)
    if not isinstance(interval, dict):
        return math.nan, math.nan
    return _number_or_nan(interval.get("low")), _number_or_nan(interval.get("high"))


def _generic_sweep(step: str, measured: list[dict[str, Any]]) -> list[Drawn]:
    """Any other kind: its values grouped by unit, one figure of at most four values per unit (at
    most three figures), judged values first."""
    sweep = _sweep(measured)
    names = list(dict.fromkeys(n for values in sweep.values for n in values))
    names.sort(key=lambda n: not any(_limits_of(m, n) for m in measured))
    by_unit: dict[str, list[str]] = {}
    for name in names:
        by_unit.setdefault(_unit(measured[-1], name) or _unit(measured[0], name), []).append(name)
    drawn = []
    for unit, group in list(by_unit.items())[:3]:
        figure, ax = _figure(3.2)
        lines = _lines((n, n, *_PALETTE[i]) for i, n in enumerate(group[:4]))
        _panel(ax, sweep, lines, f"value ({unit})" if unit else "value", unit)
        caption = f"{step}: {', '.join(group[:4])} vs {sweep.label} with their limits"
        drawn.append((caption, _finish(figure, ax)))
    return drawn


_SWEEPS: dict[str, Callable[[str, list[dict[str, Any]]], list[Drawn]]] = {
    "rf.power": _power_sweep,
    "rf.aclr": _aclr_sweep,
    "rf.obw": _single("obw", "occupied bandwidth", "occupied bandwidth (MHz)", "MHz", 1e-6),
    "rf.sem": _single("sem_margin", "worst margin to the OBUE mask", "margin to the mask (dB)", "dB"),
    "rf.evm": _evm_sweep,
    "rf.freq_error": _single("freq_error", "frequency error", "frequency error (Hz)", "Hz"),
    "traffic.throughput": _throughput_sweep,
    "traffic.latency": _latency_sweep,
    "traffic.capacity": _single("capacity", "capacity", "capacity (Mbit/s)", "Mbit/s"),
}
