"""Simulated R&S FSW-26 signal and spectrum analyzer: the swept-SA subset a driver needs.

Built on :class:`fivegbench.sim.scpi.ScpiEngine` (protocol) and
:mod:`fivegbench.sim.spectrum` (physics). Serve it with
``ScpiServer(SimFsw(world)).start()`` and talk to it through ``TCPIP::127.0.0.1::<port>::SOCKET``.

Behaviour modelled on the FSW (instrument-comms.md §3.2), with the simplifications noted:

* ``*RST``: centre 13.25 GHz, full span (0–26.5 GHz), RBW/VBW auto (3 MHz), 1001 points,
  reference level 0 dBm with auto attenuation (10 dB), detector auto peak, continuous sweep,
  ASCII format, little-endian REAL byte order (R&S ``NORMal``).
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
        self._register()

    # -- state -----------------------------------------------------------------------------
    def preset(self) -> None:
        """``*RST``: default settings, no trace data."""
        self.settings = FswSettings()
        self._result = None

    def _measure(self, scene: RfScene, sweep: SweepSettings) -> SweepResult:
        self._sweeps += 1
        with self.world.lock:
            seed = self.world.seed
        rng = np.random.default_rng([seed, self._sweeps])
        trace = swept_trace(scene, sweep, rng).astype(np.float32)
        return SweepResult(sweep, trace, is_overloaded(scene, sweep.attenuation_db))

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
        self.command(
            "[SENSe:]BANDwidth[:RESolution]",
            self._numeric("effective_rbw_hz", self._set_rbw, "HZ", RBW_RANGE_HZ),
        )
        self.command("[SENSe:]BANDwidth[:RESolution]:AUTO", self._boolean("rbw_auto"))
        self.command(
            "[SENSe:]BANDwidth:VIDeo", self._numeric("effective_vbw_hz", self._set_vbw, "HZ", VBW_RANGE_HZ)
        )
        self.command("[SENSe:]BANDwidth:VIDeo:AUTO", self._boolean("vbw_auto"))
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
        self.command("FORMat:BORDer", self._byte_order)
        self.command("TRACe#[:DATA]", self._trace_data, args=(2, POINTS_RANGE[1] + 1), query_args=(1, 1))
        self.command("TRACe#[:DATA]:X?", self._trace_x, query_args=(1, 1))
        self.command("STATus:QUEStionable:POWer[:CONDition]?", self._overload)
        self.command("SYSTem:DISPlay:UPDate", self._boolean("display_update"))

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

    def _byte_order(self, ctx: Context) -> Response:
        if ctx.is_query:
            return "NORM" if self.settings.little_endian else "SWAP"
        self.settings.little_endian = parse_enum(ctx.params[0], ("NORMal", "SWAPped")) == "NORM"
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

    def _overload(self, ctx: Context) -> str:
        if self.settings.continuous and not self.operation_pending("sweep"):
            attenuation = self.settings.effective_attenuation_db()
            return str(int(is_overloaded(RfScene.from_world(self.world), attenuation)))
        return str(int(self._result.overload) if self._result else 0)


def serve(
    world: World, config: Any, console: str, faults: Faults | None = None, port: int = 0
) -> tuple[str, Callable[[], None]]:
    """The simulated bench's entry point (see :mod:`fivegbench.drivers.registry`)."""
    return serve_engine(SimFsw(world, config.serial or "100000"), faults, port=port)
