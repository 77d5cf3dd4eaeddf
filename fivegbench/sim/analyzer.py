"""Simulated R&S FSW-26 signal and spectrum analyzer: the swept-SA subset a driver needs, and the
Spectrum application's simple I/Q data acquisition (``TRACe:IQ``).

Built on :class:`fivegbench.sim.scpi.ScpiEngine` (protocol), :mod:`fivegbench.sim.spectrum`
(swept physics), :mod:`fivegbench.sim.iq_capture` (I/Q physics: noise, ADC full scale,
clipping, autolevel), :mod:`fivegbench.sim.markers` and :mod:`fivegbench.sim.acp` (the marker and
ACLR functions on the shown trace). Serve it with ``ScpiServer(SimFsw(world)).start()`` and talk
to it through ``TCPIP::127.0.0.1::<port>::SOCKET``.

Behaviour modelled on the FSW (instrument-comms.md §3.2, §3.3, §3.6), with the simplifications noted:

* ``*RST``: centre 13.25 GHz, full span (0–26.5 GHz), RBW/VBW auto (3 MHz), 1001 points,
  reference level 0 dBm with auto attenuation (10 dB), detector auto peak, continuous sweep,
  ASCII format, I/Q mode off. REAL,32 is always little-endian: the FSW has no ``FORMat:BORDer``
  (its FORMat subsystem is DATA, DEXPort, DIMPort in R&S's RsFsw command list), so it is -113 here.
* ``BANDwidth`` and its SCPI alias ``BWIDth`` are both accepted, as on the FSW. A manual RBW is
  rounded to the nearest value (in log) of the swept Gaussian filters' 1-2-3-5 sequence, 1 Hz …
  10 MHz [U: the sequence is the FSW's documented one; nearest-in-log is the model's rounding
  rule], and ``BAND?`` answers the rounded value (110 kHz -> 100 kHz).
* Status: ``STATus:QUEStionable:POWer`` bit 0 (1) RF overload (first mixer) and bit 2 (4) IF
  overload (ADC full scale: clipped I/Q samples, or the swept estimate of
  :func:`fivegbench.sim.iq_capture.swept_adc_overload`); bit 3 (input protection, RF input
  disconnected) is not modelled. CONDition is the last completed measurement (live in continuous
  swept mode); EVENt latches each overloaded measurement until it is read or ``*CLS``.
* I/Q (``TRAC:IQ``; limits [U], the reference gives none): ``TRAC:IQ ON`` switches the spectrum
  measurement off and blanks the traces: ``TRAC:DATA?``, markers and the ACLR result are -230 until
  ``TRAC:IQ OFF`` and a new sweep [U: the code a real FSW gives for a blank trace is not in the
  reference]. ``TRAC:IQ:SRAT`` 100 Hz … 10 GHz (*RST 32 MHz), ``TRAC:IQ:RLEN`` 2 … 16 777 216
  samples (*RST 1001; the cap is the simulator's memory budget, a real FSW holds more),
  ``TRAC:IQ:DATA:FORM COMP|IQBL|IQP`` (*RST IQBL, as the FSWP; set it), ``TRAC:IQ:BWID?`` =
  0.8 x sample rate. ``INIT`` captures for RLEN/SRAT seconds; ``TRAC:IQ:DATA:MEM? [offset,count]``
  returns the last capture (-230 before one, -221 with I/Q mode off), ``TRAC:IQ:DATA?`` captures
  and returns. REAL,32 little-endian volts; IQP is I,Q pairs (8 bytes per sample). In continuous
  mode a fetch captures anew.
* Autolevel ``[SENS:]ADJ:LEV`` (with ``*OPC?``): the reference level becomes the measured peak
  (:func:`fivegbench.sim.iq_capture.autolevel_dbm`); the attenuation follows if coupled.
* Markers 1–16 in window 1 (:mod:`fivegbench.sim.markers`) and the ACLR function
  (``CALC:MARK:FUNC:POW:SEL ACP``, ``[SENS:]POW:ACH:...``, ``CALC:MARK:FUNC:POW:RES? ACP``,
  :mod:`fivegbench.sim.acp`) work on the last trace.
* Couplings (model assumptions): auto RBW = span/100 rounded up in a 1-3 sequence, clipped to
  1 Hz … 3 MHz; auto VBW = RBW; auto attenuation = clip(5·ceil((ref + 10)/5), 0, 70) dB;
  auto sweep time as in :func:`fivegbench.sim.spectrum.auto_sweep_time_s`.
* ``INIT`` starts a sweep (or capture) lasting the sweep (capture) time (times ``time_scale``)
  as an overlapped operation; the data are computed lazily at completion from a snapshot of the
  world taken at ``INIT`` (under ``world.lock``), seeded by the world seed and the measurement
  count. In continuous mode (``INIT:CONT ON``) every fetch shows a fresh measurement of the world
  as it is now.
* ``TRAC? TRACE1`` before any completed sweep in single mode: -230 Data corrupt or stale.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import numpy as np

from fivegbench.sim.acp import FswPowerFunction
from fivegbench.sim.faults import Faults
from fivegbench.sim.iq_capture import (
    AUTOLEVEL_DURATION_S,
    IqCapture,
    IqRequest,
    IqScene,
    Overload,
    acquire_iq,
    autolevel_dbm,
    swept_adc_overload,
)
from fivegbench.sim.markers import Markers
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
    serve_engine,
)
from fivegbench.sim.spectrum import (
    RfScene,
    SweepSettings,
    auto_sweep_time_s,
    is_overloaded,
    swept_trace,
)
from fivegbench.sim.waveform import ANALYZER_FLAT_FRACTION
from fivegbench.sim.world import World

log = logging.getLogger(__name__)

F_MAX_HZ = 26.5e9  # FSW-26 upper frequency limit
SPAN_MIN_HZ = 10.0  # smallest non-zero span accepted (zero span is not simulated)
RBW_RANGE_HZ = (1.0, 10e6)
RBW_AUTO_MAX_HZ = 3e6
VBW_RANGE_HZ = (1.0, 10e6)
ATTENUATION_RANGE_DB = (0.0, 79.0)
POINTS_RANGE = (101, 100001)
SWEEP_TIME_RANGE_S = (1e-6, 16000.0)
AUTOLEVEL_DURATION_RANGE_S = (0.001, 16000.0)  # SENS:ADJ:CONF:DUR (R&S's command list)
DETECTORS = ("RMS", "APEak", "POSitive", "NEGative", "SAMPle", "AVERage")
TRACES = 6
#: STATus:QUEStionable:POWer bits (FSW user manual status-register table).
QUES_POWER_RF_OVERLOAD = 1
QUES_POWER_IF_OVERLOAD = 4
# A real FSW captures from 100 Hz; the simulator's resampler (sim/waveform.py, rational p/q with
# q <= 65536 from the 614.4 MHz synthesis rate) starts at ~10 kHz: stricter than the instrument.
IQ_SAMPLE_RATE_RANGE_HZ = (10e3, 10e9)
IQ_RECORD_LENGTH_RANGE = (2, 1 << 24)
IQ_DATA_FORMATS = ("COMPatible", "IQBLock", "IQPair")
IQ_COMPATIBLE_BLOCK = 512 * 1024  # samples per I (then Q) block in COMPatible format


def filter_steps_hz(mantissas: tuple[float, ...], low_hz: float, high_hz: float) -> tuple[float, ...]:
    """Every ``mantissa x 10^k`` Hz within [low, high]: an analyzer's RBW filter values."""
    steps = (float(f"{m * 10.0**k:.6g}") for k in range(-1, 11) for m in mantissas)  # no float noise
    return tuple(sorted(s for s in steps if low_hz * (1 - 1e-12) <= s <= high_hz * (1 + 1e-12)))


#: The FSW's swept (Gaussian) RBW filters: 1-2-3-5 sequence, 1 Hz … 10 MHz.
RBW_STEPS_HZ = filter_steps_hz((1.0, 2.0, 3.0, 5.0), *RBW_RANGE_HZ)


def nearest_step(value: float, steps: tuple[float, ...]) -> float:
    """The step nearest ``value`` on a log scale (how the simulated analyzers round an RBW)."""
    return min(steps, key=lambda step: abs(math.log(step / value)))


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
    autolevel_duration_s: float = AUTOLEVEL_DURATION_S
    autolevel_duration_manual: bool = False

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

    def axis(self) -> tuple[float, float, float]:
        """(start, centre, stop) of the frequency axis, Hz."""
        return self.start_hz, self.center_hz, self.stop_hz

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


@dataclass
class FswIq:
    """The simple I/Q data acquisition settings (``TRAC:IQ``); ``*RST`` restores them [U]."""

    enabled: bool = False
    sample_rate_hz: float = 32e6
    record_length: int = 1001
    data_format: str = "IQBL"


@dataclass(frozen=True)
class SweepResult:
    """A completed sweep: its settings, trace (dBm, float32) and what overloaded."""

    settings: SweepSettings
    trace_dbm: np.ndarray
    overload: Overload


class SimFsw(ScpiEngine):
    """Simulated R&S FSW-26 on the shared :class:`~fivegbench.sim.world.World`.

    Parameters
    ----------
    world : the physical world (the gNB's emission reaches the analyzer through its path loss).
    serial : serial number in ``*IDN?``.
    time_scale : real seconds per modelled second of sweep or capture time (< 1 speeds CI up;
        queries still report the modelled times).
    """

    REF_LEVEL_RANGE_DBM: ClassVar[tuple[float, float]] = (-130.0, 30.0)
    RBW_STEPS_HZ: ClassVar[tuple[float, ...]] = RBW_STEPS_HZ

    def __init__(self, world: World, serial: str = "101234", *, time_scale: float = 1.0) -> None:
        super().__init__(idn=f"Rohde&Schwarz,FSW-26,1331.5003K26/{serial},5.30", options="B4,B8,B13,K144")
        self.world = world
        self.time_scale = time_scale
        self.settings = FswSettings()
        self.iq = FswIq()
        self._result: SweepResult | None = None
        self._capture: IqCapture | None = None
        self._sweeps = 0
        self._captures = 0
        self._events: dict[str, int] = {}  # questionable register -> latched EVENt bits
        self._status_masks: dict[str, int] = {}  # ENABle / PTRansition / NTRansition as written
        self._register()

    # -- state -----------------------------------------------------------------------------
    def preset(self) -> None:
        """``*RST``: default settings, no trace or I/Q data, markers and the power function off."""
        self.settings = FswSettings()
        self.iq = FswIq()
        self._result = None
        self._capture = None
        self._reset_functions()

    def _reset_functions(self) -> None:
        self.markers.reset()
        self.power_function.reset()

    def clear_status(self) -> None:
        super().clear_status()
        self._events = {}

    def questionable_bits(self, overload: Overload) -> dict[str, int]:
        """The questionable registers' condition bits for a measurement (register node -> bits)."""
        bits = (QUES_POWER_RF_OVERLOAD if overload.mixer else 0) | (
            QUES_POWER_IF_OVERLOAD if overload.adc else 0
        )
        return {"POWer": bits}

    def _latch(self, overload: Overload) -> None:
        for register, bits in self.questionable_bits(overload).items():
            self._events[register] = self._events.get(register, 0) | bits

    def iq_mode(self) -> bool:
        """I/Q data acquisition is on: INIT captures I/Q, the spectrum traces are blank."""
        return self.iq.enabled

    def iq_request(self) -> IqRequest:
        """What the next I/Q capture uses."""
        settings = self.settings
        return IqRequest(
            center_hz=settings.center_hz,
            sample_rate_hz=self.iq.sample_rate_hz,
            samples=self.iq.record_length,
            reference_level_dbm=settings.ref_level_dbm,
            attenuation_db=settings.effective_attenuation_db(),
        )

    def _measure(self, scene: RfScene, sweep: SweepSettings, reference_level_dbm: float) -> SweepResult:
        self._sweeps += 1
        with self.world.lock:
            seed = self.world.seed
        rng = np.random.default_rng([seed, self._sweeps])
        trace = swept_trace(scene, sweep, rng).astype(np.float32)
        overload = Overload(
            mixer=is_overloaded(scene, sweep.attenuation_db),
            adc=swept_adc_overload(sweep, trace, reference_level_dbm),
        )
        self._latch(overload)
        return SweepResult(sweep, trace, overload)

    def _capture_iq(self, scene: IqScene, request: IqRequest) -> IqCapture:
        self._captures += 1
        capture = acquire_iq(scene, request, self._captures)
        self._latch(capture.overload)
        return capture

    def _start_measurement(self) -> None:
        """A sweep, or in I/Q mode a capture, as an overlapped operation."""
        if self.iq_mode():
            scene, request = IqScene.from_world(self.world), self.iq_request()

            def captured() -> None:
                self._capture = self._capture_iq(scene, request)

            duration = request.samples / request.sample_rate_hz
            self.start_operation(duration * self.time_scale, captured, name="measurement")
            return
        rf, sweep, reference = (
            RfScene.from_world(self.world),
            self.settings.sweep_settings(),
            self.settings.ref_level_dbm,
        )

        def swept() -> None:
            self._result = self._measure(rf, sweep, reference)
            log.debug("sweep %d complete", self._sweeps)

        self.start_operation(sweep.sweep_time_s * self.time_scale, swept, name="measurement")

    def _fresh(self) -> bool:
        """Continuous mode with no measurement running: a fetch shows the world as it is now."""
        return self.settings.continuous and not self.operation_pending("measurement")

    def latest(self) -> SweepResult:
        """The trace the analyzer shows now (call with the lock held).

        Raises -230 in I/Q mode (traces blank) and in single-sweep mode if no sweep has
        completed since ``*RST`` or since I/Q mode was left.
        """
        if self.iq_mode():
            raise ScpiError(-230, "Data corrupt or stale;traces are blank in I/Q mode")
        if self._fresh():
            sweep = self.settings.sweep_settings()
            self._result = self._measure(RfScene.from_world(self.world), sweep, self.settings.ref_level_dbm)
        if self._result is None:
            raise ScpiError(-230, "Data corrupt or stale;no sweep has completed")
        return self._result

    def latest_capture(self) -> IqCapture:
        """The I/Q capture in memory (call with the lock held): -221 outside I/Q mode, -230
        before the first capture."""
        if not self.iq_mode():
            raise ScpiError(-221, "Settings conflict;I/Q data acquisition is off")
        if self._fresh():
            self._capture = self._capture_iq(IqScene.from_world(self.world), self.iq_request())
        if self._capture is None:
            raise ScpiError(-230, "Data corrupt or stale;no I/Q capture has completed")
        return self._capture

    # -- registration ----------------------------------------------------------------------
    def _register(self) -> None:
        self.markers = Markers(self.latest, lambda: self.settings.axis(), count=16, window=True)
        self.power_function = FswPowerFunction(self.latest)
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
        self.command("[SENSe:]ADJust:LEVel", self._adjust_level, args=(0, 0), query_args=None)
        self.command(
            "[SENSe:]ADJust:CONFigure:DURation",
            self._numeric(
                "autolevel_duration_s", self._set_autolevel_duration, "S", AUTOLEVEL_DURATION_RANGE_S
            ),
        )
        self.command("[SENSe:]ADJust:CONFigure:DURation:MODE", self._autolevel_duration_mode)
        self.command("FORMat[:DATA]", self._format, args=(1, 2))
        self.command("TRACe#[:DATA]", self._trace_data, args=(2, POINTS_RANGE[1] + 1), query_args=(1, 1))
        self.command("TRACe#[:DATA]:X?", self._trace_x, query_args=(1, 1))
        self._register_iq()
        self._register_status()
        self.command("SYSTem:DISPlay:UPDate", self._boolean("display_update"))
        self.markers.register(self, "CALCulate#:MARKer#", "MAXimum[:PEAK]", gate=lambda handler: handler)
        self.power_function.register(self)

    def _register_iq(self) -> None:
        self.command("TRACe:IQ[:STATe]", self._iq_state)
        self.command("TRACe:IQ:SRATe", self._iq_sample_rate)
        self.command("TRACe:IQ:RLENgth", self._iq_record_length)
        self.command("TRACe:IQ:BWIDth?", self._iq_bandwidth)
        self.command("TRACe:IQ:DATA:FORMat", self._iq_data_format)
        self.command("TRACe:IQ:DATA:MEMory?", self._iq_memory, query_args=(0, 2))
        self.command("TRACe:IQ:DATA?", self._iq_read, locked=False)

    def _register_status(self) -> None:
        for register in self.questionable_bits(Overload()):
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

    def _register_frequency(self, span_gate: Callable[[Handler], Handler] = lambda handler: handler) -> None:
        """CENTer, and through ``span_gate`` (a mode check) SPAN, STARt and STOP."""
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

            handler = self._numeric(attribute, setter, "HZ", bounds)
            self.command(f"[SENSe:]FREQuency:{node}", handler if node == "CENTer" else span_gate(handler))

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
        if self.operation_pending("measurement"):
            raise ScpiError(-213, "Init ignored;measurement in progress")
        self._start_measurement()

    def _set_rbw(self, value: float) -> None:
        self.settings.rbw_hz, self.settings.rbw_auto = nearest_step(value, self.RBW_STEPS_HZ), False

    def _set_vbw(self, value: float) -> None:
        self.settings.vbw_hz, self.settings.vbw_auto = value, False

    def _set_attenuation(self, value: float) -> None:
        self.settings.attenuation_db, self.settings.attenuation_auto = float(round(value)), False

    def _set_sweep_time(self, value: float) -> None:
        self.settings.sweep_time_s, self.settings.sweep_time_auto = value, False

    def _set_ref_level(self, text: str) -> None:
        lo, hi = self.REF_LEVEL_RANGE_DBM
        self.settings.ref_level_dbm = parse_numeric(text, "DBM", minimum=lo, maximum=hi)

    def _ref_level(self, ctx: Context) -> Response:
        window, trace = ctx.suffixes
        if window != 1 or not 1 <= trace <= TRACES:
            raise ScpiError(-114, f"Header suffix out of range;{ctx.header}")
        if ctx.is_query:
            return format_nr3(self.settings.ref_level_dbm)
        self._set_ref_level(ctx.params[0])
        return None

    def _adjust_level(self, ctx: Context) -> None:
        self._autolevel()

    def _set_autolevel_duration(self, value: float) -> None:
        self.settings.autolevel_duration_s = value

    def _autolevel_duration_mode(self, ctx: Context) -> Response:
        if ctx.is_query:
            return "MAN" if self.settings.autolevel_duration_manual else "AUTO"
        self.settings.autolevel_duration_manual = parse_enum(ctx.params[0], ("AUTO", "MANual")) == "MAN"
        return None

    def _autolevel(self) -> None:
        """The measured peak becomes the reference level (the attenuation follows if coupled)."""
        self._captures += 1
        settings = self.settings
        level = autolevel_dbm(
            IqScene.from_world(self.world),
            settings.center_hz,
            settings.effective_attenuation_db(),
            self._captures,
            settings.autolevel_duration_s if settings.autolevel_duration_manual else AUTOLEVEL_DURATION_S,
        )
        lo, hi = self.REF_LEVEL_RANGE_DBM
        settings.ref_level_dbm = min(max(level, lo), hi)

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
        self._result = SweepResult(replace(sweep, points=values.size), values, Overload())
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
        dtype = "<f4" if self.settings.little_endian else ">f4"
        return np.asarray(values).astype(dtype, copy=False).tobytes()

    def _decode_values(self, params: list[str]) -> np.ndarray:
        if len(params) == 1 and params[0].startswith("#"):
            payload = parse_block(params[0])
            if len(payload) % 4:
                raise ScpiError(-161, "Invalid block data;length is not a multiple of 4")
            dtype = "<f4" if self.settings.little_endian else ">f4"
            return np.frombuffer(payload, dtype=dtype).astype(np.float32)
        return np.array([parse_numeric(p, "DBM") for p in params], dtype=np.float32)

    # -- I/Q -------------------------------------------------------------------------------
    def _iq_state(self, ctx: Context) -> Response:
        if ctx.is_query:
            return format_bool(self.iq.enabled)
        on = parse_bool(ctx.params[0])
        if on != self.iq.enabled:  # either way the spectrum traces start blank
            self.iq.enabled, self._result, self._capture = on, None, None
            self.power_function.selected = None  # all measurements are turned off
        return None

    def _iq_sample_rate(self, ctx: Context) -> Response:
        if ctx.is_query:
            return format_nr3(self.iq.sample_rate_hz)
        lo, hi = IQ_SAMPLE_RATE_RANGE_HZ
        self.iq.sample_rate_hz = parse_numeric(ctx.params[0], "HZ", minimum=lo, maximum=hi)
        return None

    def _iq_record_length(self, ctx: Context) -> Response:
        if ctx.is_query:
            return str(self.iq.record_length)
        lo, hi = IQ_RECORD_LENGTH_RANGE
        self.iq.record_length = parse_int(ctx.params[0], minimum=lo, maximum=hi)
        return None

    def _iq_bandwidth(self, ctx: Context) -> str:
        return format_nr3(ANALYZER_FLAT_FRACTION * self.iq.sample_rate_hz)

    def _iq_data_format(self, ctx: Context) -> Response:
        if ctx.is_query:
            return self.iq.data_format
        self.iq.data_format = parse_enum(ctx.params[0], IQ_DATA_FORMATS)
        return None

    def _iq_memory(self, ctx: Context) -> Response:
        samples = self.latest_capture().samples
        if len(ctx.params) == 1:
            raise ScpiError(-109, f"Missing parameter;{ctx.header} takes an offset and a count")
        if ctx.params:
            offset = parse_int(ctx.params[0], minimum=0, maximum=samples.size - 1)
            count = parse_int(ctx.params[1], minimum=1, maximum=samples.size - offset)
            samples = samples[offset : offset + count]
        return self._iq_values(samples)

    def _iq_read(self, ctx: Context) -> Response:
        """``TRAC:IQ:DATA?``: capture, then return it."""
        return self._read_capture(ctx, self._iq_values)

    def _read_capture(self, ctx: Context, respond: Callable[[np.ndarray], Response]) -> Response:
        """Start a capture, wait for it without the lock (like ``*OPC?``), answer ``respond(samples)``."""
        with self.lock:
            self.reap_operations()
            if not self.iq_mode():
                raise ScpiError(-221, "Settings conflict;I/Q data acquisition is off")
            self._init(ctx)
        if not self.wait_operations(ctx.session.cancel):
            return None
        with self.lock:
            self.reap_operations()
            if self._capture is None:  # the capture was cleared while waiting (*RST, TRAC:IQ OFF)
                raise ScpiError(-230, "Data corrupt or stale;the capture was aborted")
            return respond(self._capture.samples)

    def _iq_values(self, samples: np.ndarray) -> Response:
        """Samples in the I/Q data format: IQP pairs, IQBL all I then all Q, COMP blocks of each."""
        pairs = samples.view(np.float32)  # I0, Q0, I1, Q1, ...
        if self.iq.data_format == "IQBL":
            values = np.concatenate([pairs[0::2], pairs[1::2]])
        elif self.iq.data_format == "COMP":
            block = 2 * IQ_COMPATIBLE_BLOCK
            values = np.concatenate(
                [np.concatenate([c[0::2], c[1::2]]) for c in np.split(pairs, range(block, pairs.size, block))]
            )
        else:
            values = pairs
        return self._values(values, digits=8)

    # -- status ----------------------------------------------------------------------------
    def _overload_now(self) -> Overload:
        """Overload as the CONDition register shows it: the last measurement; live while sweeping
        continuously."""
        if self.iq_mode():
            return self._capture.overload if self._capture else Overload()
        if self._fresh():
            return self.latest().overload  # a continuous sweep latches what it sees
        return self._result.overload if self._result else Overload()

    def _condition(self, register: str) -> Handler:
        return lambda ctx: str(self.questionable_bits(self._overload_now())[register])

    def _event(self, register: str) -> Handler:
        def handler(ctx: Context) -> str:
            self._overload_now()
            return str(self._events.pop(register, 0))  # cleared on read

        return handler


def serve(
    world: World, config: Any, console: str, faults: Faults | None = None, port: int = 0
) -> tuple[str, Callable[[], None]]:
    """The simulated bench's entry point (see :mod:`fivegbench.drivers.registry`)."""
    return serve_engine(SimFsw(world, config.serial or "100000"), faults, port=port)
