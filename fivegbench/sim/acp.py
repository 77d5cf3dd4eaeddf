"""A simulated analyzer's own adjacent-channel-power measurement, on the trace it shows: the
arithmetic (pure numpy, shared) and each personality's commands (FSW ``CALC:MARK:FUNC:POW`` with
``[SENS:]POW:ACH``; X-series ``:CONF:ACP``, ``[:SENS]:ACP`` lists and ``:FETC:ACP?``).

The instrument's ACP is the integration-bandwidth method of a swept analyzer: the linear sum of
the trace points whose frequency lies inside the channel, times point spacing / ENBW. It is
deliberately cruder than :mod:`fivegbench.reduce.power` (whole points, no fractional edge bins),
so a test comparing the two compares two methods, not one function with itself.

Model choices [U]: FSW ``RES?`` with the power function off, or for another function than the
one selected, is -221; the FSW's channel defaults after ``*RST`` are 14 kHz wide at 20 kHz
spacing, one pair; only ACPower and CPOWer are simulated. X-series ``:CONF:ACP`` restores its
defaults (3.84 MHz carrier, offsets 5-30 MHz, A and B on); ``:FETC:ACP?`` answers 28 values:
carrier relative (0 dB) and absolute power twice, then for offsets A-F lower relative, lower
absolute, upper relative, upper absolute (indexes 4, 6, 8, 10 are the A/B relative powers, as
public lab scripts read them); an offset that is off or off screen is 9.91E+37.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from fivegbench.sim.markers import Gate, ShownTrace, marker_number
from fivegbench.sim.scpi import (
    Context,
    Handler,
    Response,
    ScpiEngine,
    ScpiError,
    format_bool,
    format_nr3,
    parse_bool,
    parse_enum,
    parse_int,
    parse_numeric,
)
from fivegbench.sim.spectrum import enbw_hz


@dataclass
class AcpSetup:
    """Channel setup of an ACP measurement: the TX channel and the offset channels
    (offset k: centre at ±spacings_hz[k], width bandwidths_hz[k]; the first ``pairs`` are used)."""

    tx_bandwidth_hz: float
    spacings_hz: list[float]
    bandwidths_hz: list[float]
    pairs: int
    enabled: list[bool] = field(default_factory=list)  # per offset; empty: the first ``pairs``

    def active(self) -> list[int]:
        """Indexes of the offsets measured."""
        if self.enabled:
            return [k for k, on in enumerate(self.enabled) if on]
        return list(range(self.pairs))


def band_power_dbm(
    freqs_hz: np.ndarray, trace_dbm: np.ndarray, rbw_hz: float, lo_hz: float, hi_hz: float
) -> float:
    """Power (dBm) of the trace points in [lo, hi]: Σ P_i · Δf / ENBW. NaN when the trace does
    not reach both edges (the channel is not fully on screen)."""
    if lo_hz < freqs_hz[0] or hi_hz > freqs_hz[-1] or freqs_hz.size < 2:
        return math.nan
    inside = (freqs_hz >= lo_hz) & (freqs_hz <= hi_hz)
    spacing = (freqs_hz[-1] - freqs_hz[0]) / (freqs_hz.size - 1)
    total_mw = (
        float(np.sum(10.0 ** (trace_dbm[inside].astype(np.float64) / 10.0))) * spacing / enbw_hz(rbw_hz)
    )
    return 10.0 * math.log10(total_mw) if total_mw > 0 else -math.inf


def acp_powers_dbm(shown: ShownTrace, setup: AcpSetup) -> tuple[float, list[tuple[float, float]]]:
    """(TX channel power, [(lower, upper) power of each active offset]) in dBm, around the centre
    of the shown trace."""
    sweep = shown.settings
    freqs, trace, rbw = sweep.frequencies_hz, shown.trace_dbm, sweep.rbw_hz
    center = (sweep.start_hz + sweep.stop_hz) / 2.0
    half = setup.tx_bandwidth_hz / 2.0
    tx = band_power_dbm(freqs, trace, rbw, center - half, center + half)
    offsets = []
    for k in setup.active():
        spacing, width = setup.spacings_hz[k], setup.bandwidths_hz[k] / 2.0
        lower = band_power_dbm(freqs, trace, rbw, center - spacing - width, center - spacing + width)
        upper = band_power_dbm(freqs, trace, rbw, center + spacing - width, center + spacing + width)
        offsets.append((lower, upper))
    return tx, offsets


# ---------------------------------------------------------------------------------------------
# R&S FSW: CALCulate:MARKer:FUNCtion:POWer and [SENSe:]POWer:ACHannel
# ---------------------------------------------------------------------------------------------

FSW_ACP_PAIRS_MAX = 12
FSW_POWER_FUNCTIONS = ("ACPower", "CPOWer")  # of CALC:MARK:FUNC:POW:SEL, the ones simulated
FSW_MARKERS = 16


def fsw_default_acp() -> AcpSetup:
    """The FSW's ACLR channel setup after ``*RST`` [U]: 14 kHz channels, 20 kHz spacing, 1 pair."""
    return AcpSetup(14e3, [20e3 * (k + 1) for k in range(FSW_ACP_PAIRS_MAX)], [14e3] * FSW_ACP_PAIRS_MAX, 1)


class FswPowerFunction:
    """The FSW's channel-power / ACLR function on the trace ``shown()`` returns."""

    def __init__(self, shown: Callable[[], ShownTrace]) -> None:
        self._shown = shown
        self.reset()

    def reset(self) -> None:
        """Function off, default channels, relative mode (``*RST``)."""
        self.selected: str | None = None  # ACP or CPOW while the power function is on
        self.acp = fsw_default_acp()
        self.relative = True

    def register(self, engine: ScpiEngine) -> None:
        function = "CALCulate#:MARKer#:FUNCtion:POWer#"
        engine.command(f"{function}:SELect", self._select)
        engine.command(f"{function}[:STATe]", self._state)
        engine.command(f"{function}:RESult?", self._result, query_args=(0, 1))
        engine.command("[SENSe:]POWer:ACHannel:TXCHannel:COUNt", self._tx_count)
        engine.command("[SENSe:]POWer:ACHannel:ACPairs", self._pairs)
        engine.command("[SENSe:]POWer:ACHannel:MODE", self._mode)
        for root in ("BANDwidth", "BWIDth"):
            engine.command(f"[SENSe:]POWer:ACHannel:{root}[:CHANnel#]", self._tx_bandwidth)
            engine.command(f"[SENSe:]POWer:ACHannel:{root}:ACHannel", self._offset("bandwidths_hz", 0))
            engine.command(f"[SENSe:]POWer:ACHannel:{root}:ALTernate#", self._offset("bandwidths_hz", None))
        engine.command("[SENSe:]POWer:ACHannel:SPACing[:ACHannel]", self._adjacent_spacing)
        engine.command("[SENSe:]POWer:ACHannel:SPACing:ALTernate#", self._offset("spacings_hz", None))

    def _select(self, ctx: Context) -> Response:
        marker_number(ctx, FSW_MARKERS, window=True)
        if ctx.is_query:
            return self.selected or "OFF"
        self.selected = parse_enum(ctx.params[0], FSW_POWER_FUNCTIONS)
        return None

    def _state(self, ctx: Context) -> Response:
        marker_number(ctx, FSW_MARKERS, window=True)
        if ctx.is_query:
            return format_bool(self.selected is not None)
        if not parse_bool(ctx.params[0]):
            self.selected = None
        elif self.selected is None:
            raise ScpiError(-221, "Settings conflict;select a power measurement first")
        return None

    def _result(self, ctx: Context) -> str:
        marker_number(ctx, FSW_MARKERS, window=True)
        wanted = parse_enum(ctx.params[0], FSW_POWER_FUNCTIONS) if ctx.params else self.selected
        if self.selected is None or wanted != self.selected:
            raise ScpiError(-221, f"Settings conflict;{wanted or 'no'} power measurement is not on")
        tx, offsets = acp_powers_dbm(self._shown(), self.acp)
        if wanted == "CPOW":
            return format_nr3(tx)
        values = [tx]
        for pair in offsets:
            values += [p - tx if self.relative else p for p in pair]
        return ",".join(format_nr3(v) for v in values)

    def _tx_count(self, ctx: Context) -> Response:
        if ctx.is_query:
            return "1"
        parse_int(ctx.params[0], minimum=1, maximum=1)  # one TX channel: ACPower, not MCACpower
        return None

    def _pairs(self, ctx: Context) -> Response:
        if ctx.is_query:
            return str(self.acp.pairs)
        self.acp.pairs = parse_int(ctx.params[0], minimum=0, maximum=FSW_ACP_PAIRS_MAX)
        return None

    def _mode(self, ctx: Context) -> Response:
        if ctx.is_query:
            return "REL" if self.relative else "ABS"
        self.relative = parse_enum(ctx.params[0], ("ABSolute", "RELative")) == "REL"
        return None

    def _tx_bandwidth(self, ctx: Context) -> Response:
        if ctx.suffixes[0] != 1:
            raise ScpiError(-114, f"Header suffix out of range;{ctx.header}")
        if ctx.is_query:
            return format_nr3(self.acp.tx_bandwidth_hz)
        self.acp.tx_bandwidth_hz = parse_numeric(ctx.params[0], "HZ", minimum=100.0, maximum=1e9)
        return None

    def _offset(self, attribute: str, fixed: int | None) -> Handler:
        """A per-offset list (bandwidths or spacings): ACHannel is offset 0, ALTernate<k> offset k."""

        def handler(ctx: Context) -> Response:
            index = fixed if fixed is not None else ctx.suffixes[-1]
            if not 0 <= index < FSW_ACP_PAIRS_MAX:
                raise ScpiError(-114, f"Header suffix out of range;{ctx.header}")
            values = getattr(self.acp, attribute)
            if ctx.is_query:
                return format_nr3(values[index])
            values[index] = parse_numeric(ctx.params[0], "HZ", minimum=100.0, maximum=2e9)
            return None

        return handler

    def _adjacent_spacing(self, ctx: Context) -> Response:
        """The ADJ spacing; changing it rescales the ALT spacings proportionally (as the FSW does)."""
        spacings = self.acp.spacings_hz
        if ctx.is_query:
            return format_nr3(spacings[0])
        value = parse_numeric(ctx.params[0], "HZ", minimum=100.0, maximum=2e9)
        self.acp.spacings_hz = [s * value / spacings[0] for s in spacings]
        return None


# ---------------------------------------------------------------------------------------------
# Keysight X-series: the ACP measurement of Spectrum Analyzer mode
# ---------------------------------------------------------------------------------------------

KEYSIGHT_ACP_OFFSETS = 6  # offsets A..F


def keysight_default_acp() -> AcpSetup:
    """The ACP measurement's defaults after ``:CONF:ACP`` [U]."""
    return AcpSetup(
        3.84e6,
        [5e6 * (k + 1) for k in range(KEYSIGHT_ACP_OFFSETS)],
        [3.84e6] * KEYSIGHT_ACP_OFFSETS,
        2,
        [True, True] + [False] * (KEYSIGHT_ACP_OFFSETS - 2),
    )


class KeysightAcp:
    """The X-series ACP measurement's lists and result on the trace ``shown()`` returns;
    ``current()`` says whether ACP is the current measurement (``:FETC:ACP?`` is -221 otherwise).
    Selecting and starting the measurement is the personality's (``:CONF:ACP``, ``:INIT:ACP``)."""

    def __init__(self, shown: Callable[[], ShownTrace], current: Callable[[], bool]) -> None:
        self._shown = shown
        self._current = current
        self.reset()

    def reset(self) -> None:
        """The measurement's defaults (``:CONF:ACP``, ``*RST``)."""
        self.acp = keysight_default_acp()

    def register(self, engine: ScpiEngine, gate: Gate) -> None:
        engine.command("FETCh:ACPower#?", gate(self._fetch))
        carrier = "[SENSe:]ACPower:CARRier#:LIST:BANDwidth[:INTegration]"  # carrier 1 only
        engine.command(carrier, gate(self._carrier_bandwidth))
        offset = "[SENSe:]ACPower:OFFSet#:LIST"  # offset list 1 only
        limits = (1, KEYSIGHT_ACP_OFFSETS)
        engine.command(f"{offset}[:FREQuency]", gate(self._list("spacings_hz")), args=limits)
        engine.command(f"{offset}:BANDwidth[:INTegration]", gate(self._list("bandwidths_hz")), args=limits)
        engine.command(f"{offset}:STATe", gate(self._states), args=limits)

    def _fetch(self, ctx: Context) -> str:
        if ctx.suffix() != 1:
            raise ScpiError(-114, f"Header suffix out of range;{ctx.header}")
        if not self._current():
            raise ScpiError(-221, "Settings conflict;ACP is not the current measurement")
        tx, pairs = acp_powers_dbm(self._shown(), self.acp)
        measured = dict(zip(self.acp.active(), pairs, strict=True))
        values = [0.0, tx, 0.0, tx]
        for k in range(KEYSIGHT_ACP_OFFSETS):
            lower, upper = measured.get(k, (math.nan, math.nan))
            values += [lower - tx, lower, upper - tx, upper]
        return ",".join(format_nr3(v) for v in values)

    @staticmethod
    def _first_list(ctx: Context) -> None:
        if ctx.suffixes != (1,):
            raise ScpiError(-114, f"Header suffix out of range;{ctx.header}")

    def _carrier_bandwidth(self, ctx: Context) -> Response:
        self._first_list(ctx)
        if ctx.is_query:
            return format_nr3(self.acp.tx_bandwidth_hz)
        self.acp.tx_bandwidth_hz = parse_numeric(ctx.params[0], "HZ", minimum=100.0, maximum=1e9)
        return None

    def _list(self, attribute: str) -> Handler:
        def handler(ctx: Context) -> Response:
            self._first_list(ctx)
            values = getattr(self.acp, attribute)
            if ctx.is_query:
                return ",".join(format_nr3(v) for v in values)
            for k, text in enumerate(ctx.params):
                values[k] = parse_numeric(text, "HZ", minimum=0.0, maximum=2e9)
            return None

        return handler

    def _states(self, ctx: Context) -> Response:
        self._first_list(ctx)
        if ctx.is_query:
            return ",".join(str(int(on)) for on in self.acp.enabled)
        for k, text in enumerate(ctx.params):
            self.acp.enabled[k] = parse_bool(text)
        return None
