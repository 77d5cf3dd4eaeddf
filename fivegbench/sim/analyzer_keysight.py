"""Simulated Keysight N9030B PXA (option 526, 2 Hz – 26.5 GHz), Spectrum Analyzer mode.

A Keysight personality on the same sweep engine and physics as :class:`~fivegbench.sim.analyzer.SimFsw`
(subclassed: INIT/``*OPC?`` timing, world snapshots, couplings, overload and the trace model of
:mod:`fivegbench.sim.spectrum` are shared, not copied). Serve it with
``ScpiServer(SimN9030B(world)).start()``.

Header tree (instrument-comms.md §3.1–3.2, Keysight column; ``[:SENSe]`` is optional)::

    [:SENSe]:FREQuency:CENTer|SPAN|STARt|STOP
    [:SENSe]:BANDwidth|BWIDth[:RESolution][:AUTO]      1 Hz … 8 MHz
    [:SENSe]:BANDwidth|BWIDth:VIDeo[:AUTO]             1 Hz … 50 MHz
    :DISPlay:WINDow[1]:TRACe:Y[:SCALe]:RLEVel          -170 … +30 dBm
    [:SENSe]:POWer[:RF]:ATTenuation[:AUTO]             0 … 70 dB, 2 dB steps
    [:SENSe]:DETector:TRACe[n] AVERage|POSitive|NEGative|SAMPle|NORMal    n = 1 … 6
    [:SENSe]:AVERage:TYPE RMS|LOG|SCALar
    [:SENSe]:SWEep:POINts                              1 … 100001 (newer firmware; older: 20001)
    [:SENSe]:SWEep:TIME[:AUTO]                         1 ms … 4000 s
    :INITiate:CONTinuous, :INITiate[:IMMediate]
    :FORMat[:TRACe][:DATA] ASCii|REAL,32|REAL,64        query: ASC,8 | REAL,32 | REAL,64
    :FORMat:BORDer NORMal|SWAPped                      NORMal = big-endian (MSB first), the preset
    :TRACe[:DATA] TRACE1,<data> and :TRACe[:DATA]? TRACE1 (TRACE2..6 hold no data: -230)
    :STATus:QUEStionable:INTegrity|POWer[:EVENt]|:CONDition?   INT bit 4 (16) input overload
    :CALCulate:MARKer<1..12>[:STATe]|:MAXimum|:X|:Y?
    :CONFigure:ACPower|SANalyzer, :INITiate:ACPower, :FETCh:ACPower?
    [:SENSe]:ACPower:CARRier[1]:LIST:BANDwidth, :OFFSet[1]:LIST[:FREQuency]|:BANDwidth|:STATe
    :SYSTem:ERRor[:NEXT]?                              +0,"No error" / -113,"Undefined header;…"

Model choices and simplifications (beyond those of SimFsw):

* Power-on: continuous sweep. ``*RST`` is a mode preset followed by single-sweep mode
  (``INIT:CONT OFF``): the X-series behaviour as remembered, not checked against the reference,
  which is silent on it (drivers set ``INIT:CONT`` explicitly anyway). Preset: 10 MHz – 26.5 GHz (centre
  13.255 GHz), RBW/VBW/attenuation/sweep time auto, 1001 points, reference level 0 dBm,
  detector NORMal on all traces, average type LOG, ASCII format, byte order NORMal.
* Detectors: the trace is the RMS power only with ``DET:TRAC AVER`` *and* ``AVER:TYPE RMS``.
  With AVERage and LOG (log-power averaging) the model shows the RMS trace minus
  :data:`LOG_AVERAGE_OFFSET_DB` (2.51 dB, the log-average bias of noise-like power), with SCALar
  (voltage averaging) minus :data:`SCALAR_AVERAGE_OFFSET_DB` (1.05 dB, π/4). POSitive,
  NEGative and SAMPle use the physics' detectors; NORMal (Rosenfell) is modelled as POSitive
  peak, which is what it shows on a signal that rises within each bucket. ``AVER:TYPE:AUTO``
  and trace averaging are not modelled.
* Overload (X-series status-register tables): ``STAT:QUES:INT`` bit 4 (16) Input Overload, set
  from the physics as the FSW's RF overload; bit 0 is Signal Summary, never overload. Bit 5
  (32, Over Range) and ``STAT:QUES:POW`` bit 6 (64, Input Port Overload) exist but are not
  modelled. CONDition and EVENt behave as on the FSW personality.
* Markers 1–12 (``:CALC:MARK<n>:MAX``, ``X``, ``Y?``, ``STATe``) on the last trace. The ACP
  measurement (``:CONF:ACP``, ``:INIT:ACP``, ``:FETC:ACP?``) integrates the last swept trace
  (:mod:`fivegbench.sim.acp`), not a sweep of its own span and RBW, a simplification. ``:FETC:ACP?``
  answers 28 values: carrier relative (0 dB) and absolute power twice, then for offsets A–F lower
  relative, lower absolute, upper relative, upper absolute (indexes 4, 6, 8, 10 are the A/B
  relative powers, as public lab scripts read them); an offset that is off or off screen is
  9.91E+37 [U]. ``:CONF:ACP`` restores the ACP defaults [U]: 3.84 MHz carrier, offsets 5–30 MHz,
  A and B on. ``:READ:ACP?`` is not simulated.
* A 1-point sweep shows one bucket spanning the whole span, centred on the centre frequency.
* Error entries carry a sign on every code (``+0``); texts are the engine's SCPI texts.
* Auto RBW, VBW, sweep time and the noise/overload physics are SimFsw's; auto attenuation is
  SimFsw's coupling rounded up to the 2 dB attenuator step.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np

from fivegbench.sim.acp import AcpSetup, acp_powers_dbm
from fivegbench.sim.analyzer import (
    F_MAX_HZ,
    TRACES,
    FswSettings,
    SimFsw,
    SweepResult,
)
from fivegbench.sim.faults import Faults
from fivegbench.sim.scpi import (
    Context,
    Response,
    ScpiError,
    format_nr3,
    parse_block,
    parse_bool,
    parse_enum,
    parse_int,
    parse_numeric,
    serve_engine,
)
from fivegbench.sim.spectrum import RfScene, SweepSettings
from fivegbench.sim.world import World

F_MIN_PRESET_HZ = 10e6  # preset start frequency
RBW_RANGE_HZ = (1.0, 8e6)
VBW_RANGE_HZ = (1.0, 50e6)
REF_LEVEL_RANGE_DBM = (-170.0, 30.0)
ATTENUATION_RANGE_DB = (0.0, 70.0)
ATTENUATION_STEP_DB = 2.0
POINTS_RANGE = (1, 100001)
SWEEP_TIME_RANGE_S = (1e-3, 4000.0)
DETECTORS = ("AVERage", "POSitive", "NEGative", "SAMPle", "NORMal")
AVERAGE_TYPES = ("RMS", "LOG", "SCALar")
MARKERS = 12
ACP_OFFSETS = 6  # offsets A..F
#: STATus:QUEStionable:INTegrity bit 4: Input Overload (bit 0 is Signal Summary).
QUES_INTEGRITY_INPUT_OVERLOAD = 16


def default_acp() -> AcpSetup:
    """The ACP measurement's defaults after ``:CONF:ACP`` [U]."""
    return AcpSetup(
        3.84e6,
        [5e6 * (k + 1) for k in range(ACP_OFFSETS)],
        [3.84e6] * ACP_OFFSETS,
        2,
        [True, True] + [False] * (ACP_OFFSETS - 2),
    )


#: Log-power average of exponentially distributed (noise-like) power: 10·γ/ln 10 dB below the mean.
LOG_AVERAGE_OFFSET_DB = 10.0 * 0.5772156649015329 / math.log(10.0)
#: Voltage average of a Rayleigh envelope, squared: π/4 of the mean power.
SCALAR_AVERAGE_OFFSET_DB = -10.0 * math.log10(math.pi / 4.0)

#: Keysight detector (short form) -> the detector of :func:`fivegbench.sim.spectrum.swept_trace`.
_PHYSICS_DETECTOR = {"AVER": "AVER", "POS": "POS", "NEG": "NEG", "SAMP": "SAMP", "NORM": "POS"}


@dataclass(frozen=True)
class KeysightSweepSettings(SweepSettings):
    """A sweep's settings plus the average type, which scales the Average detector's trace."""

    average_type: str = "RMS"

    @property
    def display_offset_db(self) -> float:
        """What the average type adds to the RMS trace of the Average detector (dB, <= 0)."""
        if self.detector != "AVER":
            return 0.0
        return {"RMS": 0.0, "LOG": -LOG_AVERAGE_OFFSET_DB, "SCAL": -SCALAR_AVERAGE_OFFSET_DB}[
            self.average_type
        ]


@dataclass
class KeysightSettings(FswSettings):
    """The N9030B's user settings; the defaults are the mode preset (continuous at power-on)."""

    center_hz: float = (F_MIN_PRESET_HZ + F_MAX_HZ) / 2.0
    span_hz: float = F_MAX_HZ - F_MIN_PRESET_HZ
    detectors: list[str] = field(default_factory=lambda: ["NORM"] * TRACES)
    average_type: str = "LOG"
    little_endian: bool = False  # FORM:BORD NORMal = MSB first on Keysight
    real_bits: int = 32

    def effective_attenuation_db(self) -> float:
        if not self.attenuation_auto:
            return self.attenuation_db
        coupled = super().effective_attenuation_db()
        return min(ATTENUATION_STEP_DB * math.ceil(coupled / ATTENUATION_STEP_DB), ATTENUATION_RANGE_DB[1])

    def sweep_settings(self, trace: int = 1) -> KeysightSweepSettings:
        base = super().sweep_settings(trace)
        values = {f.name: getattr(base, f.name) for f in fields(base)}
        values["detector"] = _PHYSICS_DETECTOR[self.detectors[trace - 1]]
        return KeysightSweepSettings(**values, average_type=self.average_type)


class SimN9030B(SimFsw):
    """Simulated Keysight N9030B on the shared :class:`~fivegbench.sim.world.World`.

    Parameters
    ----------
    world : the physical world (the gNB's emission reaches the analyzer through its path loss).
    serial : serial number in ``*IDN?``.
    time_scale : real seconds per modelled second of sweep time.
    """

    settings: KeysightSettings

    def __init__(self, world: World, serial: str = "MY00000001", *, time_scale: float = 1.0) -> None:
        super().__init__(world, serial, time_scale=time_scale)
        self.idn = f"Keysight Technologies,N9030B,{serial},A.33.03"
        self.options = "526"  # frequency range option: 2 Hz - 26.5 GHz
        self.settings = KeysightSettings()  # power-on state: continuous sweep

    # -- state -----------------------------------------------------------------------------
    def preset(self) -> None:
        """``*RST``: mode preset, then single-sweep mode; no trace data."""
        self.settings = KeysightSettings(continuous=False)
        self._result = None
        self._reset_functions()

    def _reset_functions(self) -> None:
        super()._reset_functions()
        self.acp = default_acp()
        self.measurement = "SAN"

    def questionable_bits(self, overload: bool) -> dict[str, int]:
        return {"INTegrity": QUES_INTEGRITY_INPUT_OVERLOAD if overload else 0, "POWer": 0}

    def _measure(self, scene: RfScene, sweep: SweepSettings) -> SweepResult:
        if sweep.points == 1:
            # One bucket as wide as the span, centred: the middle point of a 3-point sweep of
            # twice the span and three times the time (the same time per point).
            span = sweep.stop_hz - sweep.start_hz
            wide = replace(
                sweep,
                start_hz=sweep.start_hz - span / 2.0,
                stop_hz=sweep.stop_hz + span / 2.0,
                points=3,
                sweep_time_s=3.0 * sweep.sweep_time_s,
            )
            three = super()._measure(scene, wide)
            result = SweepResult(sweep, three.trace_dbm[1:2], three.overload)
        else:
            result = super()._measure(scene, sweep)
        offset = sweep.display_offset_db if isinstance(sweep, KeysightSweepSettings) else 0.0
        if offset:
            result = replace(result, trace_dbm=(result.trace_dbm + np.float32(offset)).astype(np.float32))
        return result

    # -- errors: Keysight signs every code -------------------------------------------------
    def next_error(self) -> str:
        error = self.errors.pop()
        return f'{error.code:+d},"{error.text}"' if error is not None else '+0,"No error"'

    def _all_errors(self, ctx: Context) -> str:
        entries: list[str] = []
        while len(self.errors):
            entries.append(self.next_error())
        return ",".join(entries) if entries else '+0,"No error"'

    # -- registration ----------------------------------------------------------------------
    def _register(self) -> None:
        self.command("INITiate:CONTinuous", self._boolean("continuous"))
        self.command("INITiate[:IMMediate]", self._init, args=(0, 0), query_args=None)
        self._register_frequency()
        for root in ("BANDwidth", "BWIDth"):
            self.command(
                f"[SENSe:]{root}[:RESolution]",
                self._numeric("effective_rbw_hz", self._set_rbw, "HZ", RBW_RANGE_HZ),
            )
            self.command(f"[SENSe:]{root}[:RESolution]:AUTO", self._boolean("rbw_auto"))
            self.command(
                f"[SENSe:]{root}:VIDeo",
                self._numeric("effective_vbw_hz", self._set_vbw, "HZ", VBW_RANGE_HZ),
            )
            self.command(f"[SENSe:]{root}:VIDeo:AUTO", self._boolean("vbw_auto"))
        self.command("DISPlay:WINDow#:TRACe:Y[:SCALe]:RLEVel", self._ref_level)
        self.command(
            "[SENSe:]POWer[:RF]:ATTenuation",
            self._numeric("effective_attenuation_db", self._set_attenuation, "DB", ATTENUATION_RANGE_DB),
        )
        self.command("[SENSe:]POWer[:RF]:ATTenuation:AUTO", self._boolean("attenuation_auto"))
        self.command("[SENSe:]DETector:TRACe#", self._detector)
        self.command("[SENSe:]AVERage:TYPE", self._average_type)
        self.command("[SENSe:]SWEep:POINts", self._points)
        self.command(
            "[SENSe:]SWEep:TIME",
            self._numeric("effective_sweep_time_s", self._set_sweep_time, "S", SWEEP_TIME_RANGE_S),
        )
        self.command("[SENSe:]SWEep:TIME:AUTO", self._boolean("sweep_time_auto"))
        self.command("FORMat[:TRACe][:DATA]", self._format, args=(1, 2))
        self.command("FORMat:BORDer", self._byte_order)
        self.command("TRACe[:DATA]", self._trace_data, args=(2, POINTS_RANGE[1] + 1), query_args=(1, 1))
        self._register_status()
        self.command("CALCulate:MARKer#[:STATe]", self._marker_state)
        self.command("CALCulate:MARKer#:MAXimum", self._marker_peak, args=(0, 0), query_args=None)
        self.command("CALCulate:MARKer#:X", self._marker_x)
        self.command("CALCulate:MARKer#:Y?", self._marker_y)
        self._register_acp()

    def _register_acp(self) -> None:
        self.command("CONFigure:ACPower", self._configure("ACP"), args=(0, 0), query_args=None)
        self.command("CONFigure:SANalyzer", self._configure("SAN"), args=(0, 0), query_args=None)
        self.command("INITiate:ACPower", self._init_acp, args=(0, 0), query_args=None)
        self.command("FETCh:ACPower#?", self._fetch_acp)
        carrier = "[SENSe:]ACPower:CARRier#:LIST:BANDwidth[:INTegration]"  # carrier 1 only
        self.command(carrier, self._acp_carrier_bandwidth)
        offset = "[SENSe:]ACPower:OFFSet#:LIST"  # offset list 1 only
        limits = (1, ACP_OFFSETS)
        self.command(f"{offset}[:FREQuency]", self._acp_list("spacings_hz"), args=limits)
        self.command(f"{offset}:BANDwidth[:INTegration]", self._acp_list("bandwidths_hz"), args=limits)
        self.command(f"{offset}:STATe", self._acp_states, args=limits)

    # -- markers and ACP -------------------------------------------------------------------
    def _window_marker(self, ctx: Context, markers: int = MARKERS) -> int:
        marker = ctx.suffixes[0]  # no window suffix on the X-series CALCulate node
        if not 1 <= marker <= markers:
            raise ScpiError(-114, f"Header suffix out of range;{ctx.header}")
        return marker

    def _configure(self, measurement: str) -> Callable[[Context], None]:
        def handler(ctx: Context) -> None:
            if measurement == "ACP":
                self.acp = default_acp()  # CONFigure restores the measurement's defaults
            self.measurement = measurement

        return handler

    def _init_acp(self, ctx: Context) -> None:
        self.measurement = "ACP"
        self._init(ctx)

    def _fetch_acp(self, ctx: Context) -> str:
        if ctx.suffix() != 1:
            raise ScpiError(-114, f"Header suffix out of range;{ctx.header}")
        if self.measurement != "ACP":
            raise ScpiError(-221, "Settings conflict;ACP is not the current measurement")
        result = self.latest()
        freqs, rbw = result.settings.frequencies_hz, result.settings.rbw_hz
        center = (result.settings.start_hz + result.settings.stop_hz) / 2.0
        tx, pairs = acp_powers_dbm(freqs, result.trace_dbm, rbw, center, self.acp)
        measured = dict(zip(self.acp.active(), pairs, strict=True))
        values = [0.0, tx, 0.0, tx]
        for k in range(ACP_OFFSETS):
            lower, upper = measured.get(k, (math.nan, math.nan))
            values += [lower - tx, lower, upper - tx, upper]
        return ",".join(format_nr3(v) for v in values)

    @staticmethod
    def _first_list(ctx: Context) -> None:
        if ctx.suffixes != (1,):
            raise ScpiError(-114, f"Header suffix out of range;{ctx.header}")

    def _acp_carrier_bandwidth(self, ctx: Context) -> Response:
        self._first_list(ctx)
        if ctx.is_query:
            return format_nr3(self.acp.tx_bandwidth_hz)
        self.acp.tx_bandwidth_hz = parse_numeric(ctx.params[0], "HZ", minimum=100.0, maximum=1e9)
        return None

    def _acp_list(self, attribute: str) -> Callable[[Context], Response]:
        def handler(ctx: Context) -> Response:
            self._first_list(ctx)
            values = getattr(self.acp, attribute)
            if ctx.is_query:
                return ",".join(format_nr3(v) for v in values)
            for k, text in enumerate(ctx.params):
                values[k] = parse_numeric(text, "HZ", minimum=0.0, maximum=2e9)
            return None

        return handler

    def _acp_states(self, ctx: Context) -> Response:
        self._first_list(ctx)
        if ctx.is_query:
            return ",".join(str(int(on)) for on in self.acp.enabled)
        for k, text in enumerate(ctx.params):
            self.acp.enabled[k] = parse_bool(text)
        return None

    # -- handlers --------------------------------------------------------------------------
    def _set_attenuation(self, value: float) -> None:
        step = ATTENUATION_STEP_DB  # nearest step, halves up (5 dB -> 6 dB)
        self.settings.attenuation_db = step * math.floor(value / step + 0.5)
        self.settings.attenuation_auto = False

    def _ref_level(self, ctx: Context) -> Response:
        if ctx.suffix() != 1:
            raise ScpiError(-114, f"Header suffix out of range;{ctx.header}")
        if ctx.is_query:
            return format_nr3(self.settings.ref_level_dbm)
        lo, hi = REF_LEVEL_RANGE_DBM
        self.settings.ref_level_dbm = parse_numeric(ctx.params[0], "DBM", minimum=lo, maximum=hi)
        return None

    def _detector(self, ctx: Context) -> Response:
        trace = ctx.suffix()
        if not 1 <= trace <= TRACES:
            raise ScpiError(-114, f"Header suffix out of range;{ctx.header}")
        if ctx.is_query:
            return self.settings.detectors[trace - 1]
        self.settings.detectors[trace - 1] = parse_enum(ctx.params[0], DETECTORS)
        return None

    def _average_type(self, ctx: Context) -> Response:
        if ctx.is_query:
            return self.settings.average_type
        self.settings.average_type = parse_enum(ctx.params[0], AVERAGE_TYPES)
        return None

    def _points(self, ctx: Context) -> Response:
        if ctx.is_query:
            return str(self.settings.points)
        self.settings.points = parse_int(ctx.params[0], minimum=POINTS_RANGE[0], maximum=POINTS_RANGE[1])
        return None

    def _format(self, ctx: Context) -> Response:
        settings = self.settings
        if ctx.is_query:
            return "ASC,8" if settings.ascii_format else f"REAL,{settings.real_bits}"
        kind = parse_enum(ctx.params[0], ("ASCii", "REAL"))
        width = ctx.params[1] if len(ctx.params) > 1 else None
        if kind == "ASC" and width is None:
            settings.ascii_format = True
        elif kind == "REAL" and width in (None, "32", "64"):
            settings.ascii_format, settings.real_bits = False, int(width or 32)
        else:
            raise ScpiError(-224, f"Illegal parameter value;{','.join(ctx.params)}")
        return None

    def _byte_order(self, ctx: Context) -> Response:
        if ctx.is_query:
            return "SWAP" if self.settings.little_endian else "NORM"
        self.settings.little_endian = parse_enum(ctx.params[0], ("NORMal", "SWAPped")) == "SWAP"
        return None

    @staticmethod
    def _trace_number(ctx: Context) -> int:
        name = ctx.params[0].strip().upper()
        number = int(name[5:]) if name.startswith("TRACE") and name[5:].isdigit() else 0
        if not 1 <= number <= TRACES:
            raise ScpiError(-224, f"Illegal parameter value;{ctx.params[0]}")
        return number

    def _values(self, values: np.ndarray, digits: int) -> Response:
        if self.settings.ascii_format or self.settings.real_bits == 32:
            return super()._values(values, digits)
        dtype = "<f8" if self.settings.little_endian else ">f8"
        return np.asarray(values, dtype=np.float64).astype(dtype).tobytes()

    def _decode_values(self, params: list[str]) -> np.ndarray:
        settings = self.settings
        if settings.ascii_format or settings.real_bits == 32 or not params[0].startswith("#"):
            return super()._decode_values(params)
        if len(params) != 1:
            raise ScpiError(-161, "Invalid block data;one block expected")
        payload = parse_block(params[0])
        if len(payload) % 8:
            raise ScpiError(-161, "Invalid block data;length is not a multiple of 8")
        dtype = "<f8" if settings.little_endian else ">f8"
        return np.frombuffer(payload, dtype=dtype).astype(np.float32)


def serve(
    world: World, config: Any, console: str, faults: Faults | None = None, port: int = 0
) -> tuple[str, Callable[[], None]]:
    """The simulated bench's entry point (see :mod:`fivegbench.drivers.registry`)."""
    return serve_engine(SimN9030B(world, config.serial or "MY00000001"), faults, port=port)
