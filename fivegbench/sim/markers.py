"""The markers of a simulated analyzer: state, peak search, position and level on the trace it
shows, and what the ACP functions of :mod:`fivegbench.sim.acp` share with them (the shown trace,
the window/marker suffixes). One class for both personalities; each registers it under its own
header tree (FSW ``CALCulate<w>:MARKer<m>``, X-series ``:CALCulate:MARKer<m>``).

Model choices [U]: X?/Y? of a marker that is off is -221 Settings conflict; switching a marker
on puts it at the centre frequency; a peak search puts it on the highest trace point (the first
if tied).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np

from fivegbench.sim.scpi import (
    Context,
    Handler,
    Response,
    ScpiEngine,
    ScpiError,
    format_bool,
    format_nr3,
    parse_bool,
    parse_numeric,
)
from fivegbench.sim.spectrum import SweepSettings

Gate = Callable[[Handler], Handler]
"""Wraps a handler, e.g. to refuse it outside the analyzer mode it belongs to."""


class ShownTrace(Protocol):
    """The trace an analyzer displays: its sweep settings and its levels (dBm)."""

    @property
    def settings(self) -> SweepSettings: ...

    @property
    def trace_dbm(self) -> np.ndarray: ...


def peak_index(trace_dbm: np.ndarray) -> int:
    """The point a peak search puts the marker on: the highest level (the first if tied)."""
    return int(np.argmax(trace_dbm))


def nearest_index(freqs_hz: np.ndarray, frequency_hz: float) -> int:
    """The trace point nearest ``frequency_hz`` (a marker sits on trace points)."""
    return int(np.argmin(np.abs(freqs_hz - frequency_hz)))


def marker_number(ctx: Context, count: int, window: bool) -> int:
    """The marker a header names: suffixes (window, marker) with ``window``, else (marker,).
    -114 for a window other than 1 or a marker outside 1 … count."""
    window_number, marker = ctx.suffixes[:2] if window else (1, ctx.suffixes[0])
    if window_number != 1 or not 1 <= marker <= count:
        raise ScpiError(-114, f"Header suffix out of range;{ctx.header}")
    return marker


class Markers:
    """Markers 1 … ``count`` on the trace ``shown()`` returns (which raises -230 without one).

    Parameters
    ----------
    shown : the trace the analyzer displays now.
    axis : (start, centre, stop) of the current frequency axis, Hz.
    count : number of markers.
    window : the header carries a window suffix before the marker's (FSW).
    """

    def __init__(
        self,
        shown: Callable[[], ShownTrace],
        axis: Callable[[], tuple[float, float, float]],
        count: int,
        window: bool,
    ) -> None:
        self._shown = shown
        self._axis = axis
        self.count = count
        self.window = window
        self.positions: dict[int, float] = {}  # marker that is on -> its frequency, Hz

    def reset(self) -> None:
        """All markers off (``*RST``)."""
        self.positions.clear()

    def register(self, engine: ScpiEngine, root: str, peak: str, gate: Gate) -> None:
        """Register the marker commands under ``root`` (e.g. ``CALCulate#:MARKer#``); ``peak``
        is the peak-search node (``MAXimum[:PEAK]``); ``gate`` wraps each handler (a mode check)."""
        engine.command(f"{root}[:STATe]", gate(self._state))
        engine.command(f"{root}:{peak}", gate(self._peak), args=(0, 0), query_args=None)
        engine.command(f"{root}:X", gate(self._x))
        engine.command(f"{root}:Y?", gate(self._y))

    def _marker(self, ctx: Context) -> int:
        return marker_number(ctx, self.count, self.window)

    def _state(self, ctx: Context) -> Response:
        marker = self._marker(ctx)
        if ctx.is_query:
            return format_bool(marker in self.positions)
        if not parse_bool(ctx.params[0]):
            self.positions.pop(marker, None)
        elif marker not in self.positions:
            self.positions[marker] = self._axis()[1]
        return None

    def _peak(self, ctx: Context) -> None:
        marker = self._marker(ctx)
        shown = self._shown()
        self.positions[marker] = float(shown.settings.frequencies_hz[peak_index(shown.trace_dbm)])

    def _x(self, ctx: Context) -> Response:
        marker = self._marker(ctx)
        if ctx.is_query:
            return format_nr3(self._position(marker))
        start, _, stop = self._axis()
        self.positions[marker] = parse_numeric(ctx.params[0], "HZ", minimum=start, maximum=stop)
        return None

    def _y(self, ctx: Context) -> str:
        frequency = self._position(self._marker(ctx))
        shown = self._shown()
        return format_nr3(float(shown.trace_dbm[nearest_index(shown.settings.frequencies_hz, frequency)]))

    def _position(self, marker: int) -> float:
        if marker not in self.positions:
            raise ScpiError(-221, f"Settings conflict;marker {marker} is off")
        return self.positions[marker]
