"""Simulated R&S FSW-26 signal and spectrum analyzer: the swept-SA subset a driver needs.

Built on :class:`fivegbench.sim.scpi.ScpiEngine` (protocol) and
:mod:`fivegbench.sim.spectrum` (physics). Serve it with
``ScpiServer(SimFsw(world)).start()`` and talk to it through ``TCPIP::127.0.0.1::<port>::SOCKET``.

Behaviour modelled on the FSW (instrument-comms.md §3.2), with the simplifications noted:

* ``*RST``: centre 13.25 GHz, full span (0–26.5 GHz), RBW/VBW auto (3 MHz), 1001 points,
  reference level 0 dBm with auto attenuation (10 dB), detector auto peak, continuous sweep,
  ASCII format. REAL,32 is always little-endian: the FSW has no ``FORMat:BORDer`` (its FORMat
  subsystem is DATA, DEXPort, DIMPort in R&S's RsFsw command list), so it is -113 here too.
* ``BANDwidth`` and its SCPI alias ``BWIDth`` are both accepted, as on the FSW.
* Status: ``STATus:QUEStionable:POWer`` bit 0 (1) RF overload, from the physics; IF overload
  (bit 2) and the input protection (bit 3, RF input disconnected) are not modelled. CONDition is
  the last completed sweep (live in continuous mode); EVENt latches each overloaded sweep until it
  is read or ``*CLS``.
* Markers 1–16 in window 1 (``CALC:MARK:MAX``, ``X``, ``Y?``, ``STATe``) and the ACLR function
  (``CALC:MARK:FUNC:POW:SEL ACP``, ``[SENS:]POW:ACH:...``, ``CALC:MARK:FUNC:POW:RES? ACP``) work
  on the last trace (:mod:`fivegbench.sim.acp`). Model choices [U]: X?/Y? of a marker that is off
  and RES? with the power function off are -221; the ACP channel defaults are 14 kHz wide at
  20 kHz spacing; only ACPower and CPOWer are simulated.
* Couplings (model assumptions): auto RBW = span/100 rounded up in a 1-3 sequence, clipped to
  1 Hz … 3 MHz; auto VBW = RBW; auto attenuation = clip(5·ceil((ref + 10)/5), 0, 70) dB;
  auto sweep time as in :func:`fivegbench.sim.spectrum.auto_sweep_time_s`.
* ``INIT`` starts a sweep lasting the sweep time (times ``time_scale``) as an overlapped
  operation; the trace is computed lazily at completion from a snapshot of the world taken at
  ``INIT`` (under ``world.lock``), with ``np.random.default_rng([world.seed, sweep number])``.
  In continuous mode (``INIT:CONT ON``) every trace fetch shows a fresh sweep of the world as
  it is now.
* ``TRAC? TRACE1`` before any completed sweep in single mode: -230 Data corrupt or stale.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from fivegbench.sim.acp import AcpSetup, acp_powers_dbm, nearest_index, peak_index
from fivegbench.sim.faults import Faults
from fivegbench.sim.scpi import (
    Context,
    Handler,
    Response,
    ScpiEngine,
    ScpiError,
    format_bool,
    format_nr3,
    parse_block,
    parse_bool,
    parse_enum,
    parse_int,
    parse_numeric,
    real32_block,
    serve_engine,
)
from fivegbench.sim.spectrum import (
    RfScene,
    SweepSettings,
    auto_sweep_time_s,
    is_overloaded,
    swept_trace,
)
from fivegbench.sim.world import World

log = logging.getLogger(__name__)

F_MAX_HZ = 26.5e9  # FSW-26 upper frequency limit
SPAN_MIN_HZ = 10.0  # smallest non-zero span accepted (zero span is not simulated)
RBW_RANGE_HZ = (1.0, 10e6)
RBW_AUTO_MAX_HZ = 3e6
VBW_RANGE_HZ = (1.0, 10e6)
REF_LEVEL_RANGE_DBM = (-130.0, 30.0)
ATTENUATION_RANGE_DB = (0.0, 79.0)
POINTS_RANGE = (101, 100001)
SWEEP_TIME_RANGE_S = (1e-6, 16000.0)
DETECTORS = ("RMS", "APEak", "POSitive", "NEGative", "SAMPle", "AVERage")
TRACES = 6
MARKERS = 16
#: STATus:QUEStionable:POWer bit 0: RF overload (FSW user manual status-register table).
QUES_POWER_RF_OVERLOAD = 1
ACP_PAIRS_MAX = 12
POWER_FUNCTIONS = ("ACPower", "CPOWer")  # of CALC:MARK:FUNC:POW:SEL, the ones simulated


def default_acp() -> AcpSetup:
    """The FSW's ACLR channel setup after ``*RST`` [U]: 14 kHz channels, 20 kHz spacing, 1 pair."""
    return AcpSetup(14e3, [20e3 * (k + 1) for k in range(ACP_PAIRS_MAX)], [14e3] * ACP_PAIRS_MAX, 1)


def auto_rbw_hz(span_hz: float) -> float:
    """Coupled RBW: span/100 rounded up to the 1-3 sequence, within 1 Hz … 3 MHz (Hz)."""
    target = span_hz / 100.0
    decade = 10.0 ** math.floor(math.log10(max(target, 1.0)))
    for step in (1.0, 3.0, 10.0):
        if step * decade >= target * (1 - 1e-12):
            return float(np.clip(step * decade, RBW_RANGE_HZ[0], RBW_AUTO_MAX_HZ))
    return RBW_AUTO_MAX_HZ


def auto_attenuation_db(ref_level_dbm: float) -> float:
    """Coupled RF attenuation for a reference level: clip(5·ceil((ref + 10)/5), 0, 70) dB."""
    return float(np.clip(5.0 * math.ceil((ref_level_dbm + 10.0) / 5.0), 0.0, 70.0))


@dataclass
class FswSettings:
    """The analyzer's user settings (units: Hz, s, dB, dBm). ``*RST`` restores the defaults."""

    center_hz: float = F_MAX_HZ / 2.0
    span_hz: float = F_MAX_HZ
    rbw_hz: float = RBW_AUTO_MAX_HZ
    rbw_auto: bool = True
    vbw_hz: float = RBW_AUTO_MAX_HZ
    vbw_auto: bool = True
    ref_level_dbm: float = 0.0
    attenuation_db: float = 10.0
    attenuation_auto: bool = True
    detectors: list[str] = field(default_factory=lambda: ["APE"] * TRACES)
    points: int = 1001
    sweep_time_s: float = 0.01
    sweep_time_auto: bool = True
    continuous: bool = True
    ascii_format: bool = True
    little_endian: bool = True
    display_update: bool = True

    @property
    def start_hz(self) -> float:
        return self.center_hz - self.span_hz / 2.0

    @property
    def stop_hz(self) -> float:
        return self.center_hz + self.span_hz / 2.0

    def set_center(self, center_hz: float) -> None:
        """Move the centre; the span shrinks if it would leave 0 … F_MAX."""
        self.center_hz = center_hz
        self.span_hz = min(self.span_hz, 2.0 * center_hz, 2.0 * (F_MAX_HZ - center_hz))

    def set_span(self, span_hz: float) -> None:
        """Set the span around the centre, limited to 0 … F_MAX."""
        self.span_hz = min(span_hz, 2.0 * self.center_hz, 2.0 * (F_MAX_HZ - self.center_hz))

    def set_start(self, start_hz: float) -> None:
        """Set the start; the stop moves up if it would be closer than the minimum span."""
        self._set_start_stop(start_hz, max(self.stop_hz, start_hz + SPAN_MIN_HZ))

    def set_stop(self, stop_hz: float) -> None:
        """Set the stop; the start moves down if it would be closer than the minimum span."""
        self._set_start_stop(min(self.start_hz, stop_hz - SPAN_MIN_HZ), stop_hz)

    def _set_start_stop(self, start_hz: float, stop_hz: float) -> None:
        self.center_hz = (start_hz + stop_hz) / 2.0
        self.span_hz = stop_hz - start_hz

    def effective_rbw_hz(self) -> float:
        return auto_rbw_hz(self.span_hz) if self.rbw_auto else self.rbw_hz

    def effective_vbw_hz(self) -> float:
        return self.effective_rbw_hz() if self.vbw_auto else self.vbw_hz

    def effective_attenuation_db(self) -> float:
        return auto_attenuation_db(self.ref_level_dbm) if self.attenuation_auto else self.attenuation_db

    def effective_sweep_time_s(self) -> float:
        if not self.sweep_time_auto:
            return self.sweep_time_s
        return auto_sweep_time_s(self.span_hz, self.effective_rbw_hz(), self.effective_vbw_hz())

    def sweep_settings(self, trace: int = 1) -> SweepSettings:
        """What one sweep of ``trace`` uses."""
        return SweepSettings(
            start_hz=self.start_hz,
            stop_hz=self.stop_hz,
            points=self.points,
            rbw_hz=self.effective_rbw_hz(),
            vbw_hz=self.effective_vbw_hz(),
            attenuation_db=self.effective_attenuation_db(),
            sweep_time_s=self.effective_sweep_time_s(),
            detector=self.detectors[trace - 1],
        )


@dataclass(frozen=True)
class SweepResult:
    """A completed sweep: its settings, trace (dBm, float32) and RF overload flag."""

    settings: SweepSettings
    trace_dbm: np.ndarray
    overload: bool


class SimFsw(ScpiEngine):
    """Simulated R&S FSW-26 on the shared :class:`~fivegbench.sim.world.World`.

    Parameters
    ----------
    world : the physical world (the gNB's emission reaches the analyzer through its path loss).
    serial : serial number in ``*IDN?``.
    time_scale : real seconds per modelled second of sweep time (< 1 speeds CI up; queries
        still report the modelled sweep time).
    """

    def __init__(self, world: World, serial: str = "101234", *, time_scale: float = 1.0) -> None:
        super().__init__(idn=f"Rohde&Schwarz,FSW-26,1331.5003K26/{serial},5.30", options="B4,B8,B13,K144")
        self.world = world
        self.time_scale = time_scale
        self.settings = FswSettings()
        self._result: SweepResult | None = None
        self._sweeps = 0
        self._events: dict[str, int] = {}  # questionable register -> latched EVENt bits
        self._status_masks: dict[str, int] = {}  # ENABle / PTRansition / NTRansition as written
        self._reset_functions()
        self._register()

    # -- state -----------------------------------------------------------------------------
    def preset(self) -> None:
        """``*RST``: default settings, no trace data, markers and the power function off."""
        self.settings = FswSettings()
        self._result = None
        self._reset_functions()

    def _reset_functions(self) -> None:
        self._markers: dict[int, float] = {}  # marker on -> its frequency, Hz
        self.power_function: str | None = None  # ACP or CPOW while the power function is on
        self.acp = default_acp()
        self.acp_relative = True

    def clear_status(self) -> None:
        super().clear_status()
        self._events = {}

    def questionable_bits(self, overload: bool) -> dict[str, int]:
        """The questionable registers' condition bits for a sweep (register node -> bits)."""
        return {"POWer": QUES_POWER_RF_OVERLOAD if overload else 0}

    def _latch(self, overload: bool) -> None:
        for register, bits in self.questionable_bits(overload).items():
            self._events[register] = self._events.get(register, 0) | bits

    def _measure(self, scene: RfScene, sweep: SweepSettings) -> SweepResult:
        self._sweeps += 1
        with self.world.lock:
            seed = self.world.seed
        rng = np.random.default_rng([seed, self._sweeps])
        trace = swept_trace(scene, sweep, rng).astype(np.float32)
        overload = is_overloaded(scene, sweep.attenuation_db)
        self._latch(overload)
        return SweepResult(sweep, trace, overload)

    def _start_sweep(self) -> None:
        scene = RfScene.from_world(self.world)
        sweep = self.settings.sweep_settings()

        def complete() -> None:
            self._result = self._measure(scene, sweep)
            log.debug("sweep %d complete", self._sweeps)

        self.start_operation(sweep.sweep_time_s * self.time_scale, complete, name="sweep")

    def latest(self) -> SweepResult:
        """The trace the analyzer shows now (call with the lock held).

        Raises -230 in single-sweep mode if no sweep has completed since ``*RST``.
        """
        if self.settings.continuous and not self.operation_pending("sweep"):
            self._result = self._measure(RfScene.from_world(self.world), self.settings.sweep_settings())
        if self._result is None:
            raise ScpiError(-230, "Data corrupt or stale;no sweep has completed")
        return self._result

    # -- registration ----------------------------------------------------------------------
    def _register(self) -> None:
        self.command("INITiate:CONTinuous", self._boolean("continuous"))
        self.command("INITiate[:IMMediate]", self._init, args=(0, 0), query_args=None)
        self._register_frequency()
        for root in ("BANDwidth", "BWIDth"):  # BWIDth is the SCPI alias the FSW accepts too
            self.command(
                f"[SENSe:]{root}[:RESolution]",
                self._numeric("effective_rbw_hz", self._set_rbw, "HZ", RBW_RANGE_HZ),
            )
            self.command(f"[SENSe:]{root}[:RESolution]:AUTO", self._boolean("rbw_auto"))
            self.command(
                f"[SENSe:]{root}:VIDeo", self._numeric("effective_vbw_hz", self._set_vbw, "HZ", VBW_RANGE_HZ)
            )
            self.command(f"[SENSe:]{root}:VIDeo:AUTO", self._boolean("vbw_auto"))
        self.command("DISPlay[:WINDow#]:TRACe#:Y[:SCALe]:RLEVel", self._ref_level)
        self.command(
            "INPut:ATTenuation",
            self._numeric("effective_attenuation_db", self._set_attenuation, "DB", ATTENUATION_RANGE_DB),
        )
        self.command("INPut:ATTenuation:AUTO", self._boolean("attenuation_auto"))
        self.command("[SENSe:][WINDow#:]DETector#[:FUNCtion]", self._detector)
        self.command("[SENSe:]SWEep:POINts", self._points)
        self.command(
            "[SENSe:]SWEep:TIME",
            self._numeric("effective_sweep_time_s", self._set_sweep_time, "S", SWEEP_TIME_RANGE_S),
        )
        self.command("[SENSe:]SWEep:TIME:AUTO", self._boolean("sweep_time_auto"))
        self.command("FORMat[:DATA]", self._format, args=(1, 2))
        self.command("TRACe#[:DATA]", self._trace_data, args=(2, POINTS_RANGE[1] + 1), query_args=(1, 1))
        self.command("TRACe#[:DATA]:X?", self._trace_x, query_args=(1, 1))
        self._register_status()
        self.command("SYSTem:DISPlay:UPDate", self._boolean("display_update"))
        self._register_markers()
        self._register_acp()

    def _register_status(self) -> None:
        for register in self.questionable_bits(False):
            node = f"STATus:QUEStionable:{register}"
            self.command(f"{node}:CONDition?", self._condition(register))
            self.command(f"{node}[:EVENt]?", self._event(register))
            for part in ("ENABle", "PTRansition", "NTRansition"):  # kept, not used by the model
                self.command(f"{node}:{part}", self._status_mask(f"{register}:{part}"))
        self.command("STATus:PRESet", lambda ctx: self._status_masks.clear(), args=(0, 0), query_args=None)

    def _status_mask(self, key: str) -> Handler:
        def handler(ctx: Context) -> Response:
            if ctx.is_query:
                default = 32767 if key.endswith("PTRansition") else 0  # SCPI's STAT:PRES values
                return str(self._status_masks.get(key, default))
            self._status_masks[key] = parse_int(ctx.params[0], minimum=0, maximum=65535)
            return None

        return handler

    def _register_markers(self) -> None:
        self.command("CALCulate#:MARKer#[:STATe]", self._marker_state)
        self.command("CALCulate#:MARKer#:MAXimum[:PEAK]", self._marker_peak, args=(0, 0), query_args=None)
        self.command("CALCulate#:MARKer#:X", self._marker_x)
        self.command("CALCulate#:MARKer#:Y?", self._marker_y)

    def _register_acp(self) -> None:
        function = "CALCulate#:MARKer#:FUNCtion:POWer#"
        self.command(f"{function}:SELect", self._power_select)
        self.command(f"{function}[:STATe]", self._power_state)
        self.command(f"{function}:RESult?", self._power_result, query_args=(0, 1))
        self.command("[SENSe:]POWer:ACHannel:TXCHannel:COUNt", self._acp_tx_count)
        self.command("[SENSe:]POWer:ACHannel:ACPairs", self._acp_pairs)
        self.command("[SENSe:]POWer:ACHannel:MODE", self._acp_mode)
        for root in ("BANDwidth", "BWIDth"):
            self.command(f"[SENSe:]POWer:ACHannel:{root}[:CHANnel#]", self._acp_tx_bandwidth)
            self.command(f"[SENSe:]POWer:ACHannel:{root}:ACHannel", self._acp_offset("bandwidths_hz", 0))
            self.command(f"[SENSe:]POWer:ACHannel:{root}:ALTernate#", self._acp_offset("bandwidths_hz", None))
        self.command("[SENSe:]POWer:ACHannel:SPACing[:ACHannel]", self._acp_adjacent_spacing)
        self.command("[SENSe:]POWer:ACHannel:SPACing:ALTernate#", self._acp_offset("spacings_hz", None))

    def _register_frequency(self) -> None:
        half = SPAN_MIN_HZ / 2.0
        axis = (
            ("CENTer", "center_hz", FswSettings.set_center, (half, F_MAX_HZ - half)),
            ("SPAN", "span_hz", FswSettings.set_span, (SPAN_MIN_HZ, F_MAX_HZ)),
            ("STARt", "start_hz", FswSettings.set_start, (0.0, F_MAX_HZ - SPAN_MIN_HZ)),
            ("STOP", "stop_hz", FswSettings.set_stop, (SPAN_MIN_HZ, F_MAX_HZ)),
        )
        for node, attribute, method, bounds in axis:

            def setter(value: float, method: Callable[[FswSettings, float], None] = method) -> None:
                method(self.settings, value)

            self.command(f"[SENSe:]FREQuency:{node}", self._numeric(attribute, setter, "HZ", bounds))

    def _numeric(
        self, attribute: str, setter: Callable[[float], None], unit: str, bounds: tuple[float, float]
    ) -> Handler:
        """Handler of a numeric setting; the query reads ``settings.<attribute>`` (a value or a
        method returning the effective, coupled value)."""

        def handler(ctx: Context) -> Response:
            if ctx.is_query:
                value = getattr(self.settings, attribute)
                return format_nr3(value() if callable(value) else value)
            setter(parse_numeric(ctx.params[0], unit, minimum=bounds[0], maximum=bounds[1]))
            return None

        return handler

    def _boolean(self, name: str) -> Handler:
        def handler(ctx: Context) -> Response:
            if ctx.is_query:
                return format_bool(getattr(self.settings, name))
            setattr(self.settings, name, parse_bool(ctx.params[0]))
            return None

        return handler

    # -- handlers --------------------------------------------------------------------------
    def _init(self, ctx: Context) -> None:
        if self.operation_pending("sweep"):
            raise ScpiError(-213, "Init ignored;sweep in progress")
        self._start_sweep()

    def _set_rbw(self, value: float) -> None:
        self.settings.rbw_hz, self.settings.rbw_auto = value, False

    def _set_vbw(self, value: float) -> None:
        self.settings.vbw_hz, self.settings.vbw_auto = value, False

    def _set_attenuation(self, value: float) -> None:
        self.settings.attenuation_db, self.settings.attenuation_auto = float(round(value)), False

    def _set_sweep_time(self, value: float) -> None:
        self.settings.sweep_time_s, self.settings.sweep_time_auto = value, False

    def _ref_level(self, ctx: Context) -> Response:
        window, trace = ctx.suffixes
        if window != 1 or not 1 <= trace <= TRACES:
            raise ScpiError(-114, f"Header suffix out of range;{ctx.header}")
        if ctx.is_query:
            return format_nr3(self.settings.ref_level_dbm)
        lo, hi = REF_LEVEL_RANGE_DBM
        self.settings.ref_level_dbm = parse_numeric(ctx.params[0], "DBM", minimum=lo, maximum=hi)
        return None

    def _detector(self, ctx: Context) -> Response:
        window, trace = ctx.suffixes
        if window != 1 or not 1 <= trace <= TRACES:
            raise ScpiError(-114, f"Header suffix out of range;{ctx.header}")
        if ctx.is_query:
            return self.settings.detectors[trace - 1]
        self.settings.detectors[trace - 1] = parse_enum(ctx.params[0], DETECTORS)
        return None

    def _points(self, ctx: Context) -> Response:
        if ctx.is_query:
            return str(self.settings.points)
        self.settings.points = parse_int(ctx.params[0], minimum=POINTS_RANGE[0], maximum=POINTS_RANGE[1])
        return None

    def _format(self, ctx: Context) -> Response:
        if ctx.is_query:
            return "ASC,0" if self.settings.ascii_format else "REAL,32"
        kind = parse_enum(ctx.params[0], ("ASCii", "REAL"))
        width = ctx.params[1] if len(ctx.params) > 1 else ("0" if kind == "ASC" else "32")
        if (kind, width) not in (("ASC", "0"), ("REAL", "32")):
            raise ScpiError(-224, f"Illegal parameter value;{','.join(ctx.params)}")
        self.settings.ascii_format = kind == "ASC"
        return None

    def _trace_data(self, ctx: Context) -> Response:
        trace = self._trace_number(ctx)
        if ctx.is_query:
            if trace != 1:
                raise ScpiError(-230, f"Data corrupt or stale;TRACE{trace} holds no data")
            return self._values(self.latest().trace_dbm, digits=7)
        values = self._decode_values(ctx.params[1:])
        if trace != 1 or values.size != self.settings.points:
            raise ScpiError(-222, f"Data out of range;{values.size} values for {self.settings.points} points")
        sweep = self._result.settings if self._result else self.settings.sweep_settings()
        self._result = SweepResult(replace(sweep, points=values.size), values, False)
        return None

    def _trace_x(self, ctx: Context) -> Response:
        self._trace_number(ctx)
        return self._values(self.latest().settings.frequencies_hz, digits=10)

    @staticmethod
    def _trace_number(ctx: Context) -> int:
        name = ctx.params[0].strip().upper()
        if ctx.suffix() != 1 or not (name.startswith("TRACE") and name[5:].isdigit()):
            raise ScpiError(-224, f"Illegal parameter value;{ctx.params[0]}")
        number = int(name[5:])
        if not 1 <= number <= TRACES:
            raise ScpiError(-224, f"Illegal parameter value;{ctx.params[0]}")
        return number

    def _values(self, values: np.ndarray, digits: int) -> Response:
        if self.settings.ascii_format:
            return ",".join(f"{v:.{digits}G}" for v in values.tolist())
        return real32_block(values, self.settings.little_endian)

    def _decode_values(self, params: list[str]) -> np.ndarray:
        if len(params) == 1 and params[0].startswith("#"):
            payload = parse_block(params[0])
            if len(payload) % 4:
                raise ScpiError(-161, "Invalid block data;length is not a multiple of 4")
            dtype = "<f4" if self.settings.little_endian else ">f4"
            return np.frombuffer(payload, dtype=dtype).astype(np.float32)
        return np.array([parse_numeric(p, "DBM") for p in params], dtype=np.float32)

    # -- status ----------------------------------------------------------------------------
    def _overload_now(self) -> bool:
        """Overload as the CONDition register shows it: live while sweeping continuously."""
        if self.settings.continuous and not self.operation_pending("sweep"):
            attenuation = self.settings.effective_attenuation_db()
            overload = is_overloaded(RfScene.from_world(self.world), attenuation)
            self._latch(overload)  # a continuous sweep latches what it sees
            return overload
        return self._result.overload if self._result else False

    def _condition(self, register: str) -> Handler:
        return lambda ctx: str(self.questionable_bits(self._overload_now())[register])

    def _event(self, register: str) -> Handler:
        def handler(ctx: Context) -> str:
            self._overload_now()
            return str(self._events.pop(register, 0))  # cleared on read

        return handler

    # -- markers ---------------------------------------------------------------------------
    def _window_marker(self, ctx: Context, markers: int = MARKERS) -> int:
        window, marker = ctx.suffixes[0], ctx.suffixes[1]
        if window != 1 or not 1 <= marker <= markers:
            raise ScpiError(-114, f"Header suffix out of range;{ctx.header}")
        return marker

    def _marker_state(self, ctx: Context) -> Response:
        marker = self._window_marker(ctx)
        if ctx.is_query:
            return format_bool(marker in self._markers)
        if not parse_bool(ctx.params[0]):
            self._markers.pop(marker, None)
        elif marker not in self._markers:
            self._markers[marker] = self.settings.center_hz
        return None

    def _marker_peak(self, ctx: Context) -> None:
        marker = self._window_marker(ctx)
        result = self.latest()
        self._markers[marker] = float(result.settings.frequencies_hz[peak_index(result.trace_dbm)])

    def _marker_x(self, ctx: Context) -> Response:
        marker = self._window_marker(ctx)
        if ctx.is_query:
            return format_nr3(self._marker_frequency(marker))
        start, stop = self.settings.start_hz, self.settings.stop_hz
        self._markers[marker] = parse_numeric(ctx.params[0], "HZ", minimum=start, maximum=stop)
        return None

    def _marker_y(self, ctx: Context) -> str:
        frequency = self._marker_frequency(self._window_marker(ctx))
        result = self.latest()
        return format_nr3(float(result.trace_dbm[nearest_index(result.settings.frequencies_hz, frequency)]))

    def _marker_frequency(self, marker: int) -> float:
        if marker not in self._markers:
            raise ScpiError(-221, f"Settings conflict;marker {marker} is off")
        return self._markers[marker]

    # -- channel power and ACLR ------------------------------------------------------------
    def _power_select(self, ctx: Context) -> Response:
        self._window_marker(ctx)
        if ctx.is_query:
            return self.power_function or "OFF"
        self.power_function = parse_enum(ctx.params[0], POWER_FUNCTIONS)
        return None

    def _power_state(self, ctx: Context) -> Response:
        self._window_marker(ctx)
        if ctx.is_query:
            return format_bool(self.power_function is not None)
        if not parse_bool(ctx.params[0]):
            self.power_function = None
        elif self.power_function is None:
            raise ScpiError(-221, "Settings conflict;select a power measurement first")
        return None

    def _power_result(self, ctx: Context) -> str:
        self._window_marker(ctx)
        wanted = parse_enum(ctx.params[0], POWER_FUNCTIONS) if ctx.params else self.power_function
        if self.power_function is None or wanted != self.power_function:
            raise ScpiError(-221, f"Settings conflict;{wanted or 'no'} power measurement is not on")
        result = self.latest()
        freqs, rbw = result.settings.frequencies_hz, result.settings.rbw_hz
        center = (result.settings.start_hz + result.settings.stop_hz) / 2.0
        tx, offsets = acp_powers_dbm(freqs, result.trace_dbm, rbw, center, self.acp)
        if wanted == "CPOW":
            return format_nr3(tx)
        values = [tx]
        for pair in offsets:
            values += [p - tx if self.acp_relative else p for p in pair]
        return ",".join(format_nr3(v) for v in values)

    def _acp_tx_count(self, ctx: Context) -> Response:
        if ctx.is_query:
            return "1"
        parse_int(ctx.params[0], minimum=1, maximum=1)  # one TX channel: ACPower, not MCACpower
        return None

    def _acp_pairs(self, ctx: Context) -> Response:
        if ctx.is_query:
            return str(self.acp.pairs)
        self.acp.pairs = parse_int(ctx.params[0], minimum=0, maximum=ACP_PAIRS_MAX)
        return None

    def _acp_mode(self, ctx: Context) -> Response:
        if ctx.is_query:
            return "REL" if self.acp_relative else "ABS"
        self.acp_relative = parse_enum(ctx.params[0], ("ABSolute", "RELative")) == "REL"
        return None

    def _acp_tx_bandwidth(self, ctx: Context) -> Response:
        if ctx.suffixes[0] != 1:
            raise ScpiError(-114, f"Header suffix out of range;{ctx.header}")
        if ctx.is_query:
            return format_nr3(self.acp.tx_bandwidth_hz)
        self.acp.tx_bandwidth_hz = parse_numeric(ctx.params[0], "HZ", minimum=100.0, maximum=1e9)
        return None

    def _acp_offset(self, attribute: str, fixed: int | None) -> Handler:
        """A per-offset list (bandwidths or spacings): ACHannel is offset 0, ALTernate<k> offset k."""

        def handler(ctx: Context) -> Response:
            index = fixed if fixed is not None else ctx.suffixes[-1]
            if not 0 <= index < ACP_PAIRS_MAX:
                raise ScpiError(-114, f"Header suffix out of range;{ctx.header}")
            values = getattr(self.acp, attribute)
            if ctx.is_query:
                return format_nr3(values[index])
            values[index] = parse_numeric(ctx.params[0], "HZ", minimum=100.0, maximum=2e9)
            return None

        return handler

    def _acp_adjacent_spacing(self, ctx: Context) -> Response:
        """The ADJ spacing; changing it rescales the ALT spacings proportionally (as the FSW does)."""
        spacings = self.acp.spacings_hz
        if ctx.is_query:
            return format_nr3(spacings[0])
        value = parse_numeric(ctx.params[0], "HZ", minimum=100.0, maximum=2e9)
        self.acp.spacings_hz = [s * value / spacings[0] for s in spacings]
        return None


def serve(
    world: World, config: Any, console: str, faults: Faults | None = None, port: int = 0
) -> tuple[str, Callable[[], None]]:
    """The simulated bench's entry point (see :mod:`fivegbench.drivers.registry`)."""
    return serve_engine(SimFsw(world, config.serial or "100000"), faults, port=port)
