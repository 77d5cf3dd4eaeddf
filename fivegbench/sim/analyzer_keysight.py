"""Simulated Keysight N9030B PXA (option 526, 2 Hz – 26.5 GHz): Spectrum Analyzer mode and the
I/Q Analyzer (Basic) mode's waveform measurement.

A Keysight personality on the same engine and physics as :class:`~fivegbench.sim.analyzer.SimFsw`
(subclassed: INIT/``*OPC?`` timing, world snapshots, couplings, overload, the trace model of
:mod:`fivegbench.sim.spectrum` and the I/Q model of :mod:`fivegbench.sim.iq_capture` are shared,
not copied; only the dialect is parsed here). Serve it with ``ScpiServer(SimN9030B(world)).start()``.

Header tree (instrument-comms.md §3.1–3.3 and §3.6, Keysight column; ``[:SENSe]`` is optional)::

    :INSTrument[:SELect] SA|BASIC                       the mode (power-on: SA)
    [:SENSe]:FREQuency:CENTer                           both modes
    [:SENSe]:POWer[:RF]:ATTenuation[:AUTO]              both modes; 0 … 70 dB, 2 dB steps
    [:SENSe]:POWer[:RF]:RANGe:OPTimize IMMediate        both modes: autolevel [U]
    :INITiate:CONTinuous, :INITiate[:IMMediate]         both modes (the current measurement)
    :FORMat[:TRACe][:DATA] ASCii|REAL,32|REAL,64        query: ASC,8 | REAL,32 | REAL,64
    :FORMat:BORDer NORMal|SWAPped                       NORMal = big-endian (MSB first), the preset
    :STATus:QUEStionable:INTegrity|POWer[:EVENt]|:CONDition?
    SA mode only:
    [:SENSe]:FREQuency:SPAN|STARt|STOP
    [:SENSe]:BANDwidth|BWIDth[:RESolution][:AUTO]       1 Hz … 8 MHz
    [:SENSe]:BANDwidth|BWIDth:VIDeo[:AUTO]              1 Hz … 50 MHz
    :DISPlay:WINDow[1]:TRACe:Y[:SCALe]:RLEVel           -170 … +30 dBm
    [:SENSe]:DETector:TRACe[n] AVERage|POSitive|NEGative|SAMPle|NORMal    n = 1 … 6
    [:SENSe]:AVERage:TYPE RMS|LOG|SCALar
    [:SENSe]:SWEep:POINts                               1 … 100001 (newer firmware; older: 20001)
    [:SENSe]:SWEep:TIME[:AUTO]                          1 ms … 4000 s
    :TRACe[:DATA] TRACE1,<data> and :TRACe[:DATA]? TRACE1 (TRACE2..6 hold no data: -230)
    :CALCulate:MARKer<1..12>[:STATe]|:MAXimum|:X|:Y?
    :CONFigure:ACPower|SANalyzer, :INITiate:ACPower, :FETCh:ACPower?
    [:SENSe]:ACPower:CARRier[1]:LIST:BANDwidth, :OFFSet[1]:LIST[:FREQuency]|:BANDwidth|:STATe
    BASIC mode only:
    :CONFigure:WAVeform, :INITiate:WAVeform, :READ:WAVeform0?, :FETCh:WAVeform0?
    [:SENSe]:WAVeform:SRATe                             1 kHz … 300 MHz [U]
    [:SENSe]:WAVeform:DIF:BANDwidth[:RESolution]        = sample rate / 1.25 [U]
    [:SENSe]:WAVeform:SWEep:TIME                        1 us … 4 s [U]
    [:SENSe]:POWer[:RF]:RANGe[:UPPer]                   -170 … +30 dBm (the ADC range) [U]
    :SYSTem:ERRor[:NEXT]?                               +0,"No error" / -113,"Undefined header;…"

Model choices and simplifications (beyond those of SimFsw):

* Modes: a command of the other mode is -113 Undefined header [U: the X-series behaviour as
  remembered]. ``:INST:SEL`` is immediate; modes other than SA and BASIC are -224 (not installed).
  The mode keeps its settings in one store [U: a real X-series keeps per-mode settings]: the
  centre frequency and attenuation are shared, and the BASIC mode's ``:POW:RANG`` (the input
  range the ADC full scale follows) is the SA mode's reference level, so an autolevel in SA mode
  carries over to a capture.
* Power-on: continuous sweep, SA mode. ``*RST`` is a mode preset of every setting (the mode is
  kept) followed by single-sweep mode (``INIT:CONT OFF``) [U: remembered, not checked against the
  reference]. Preset: 10 MHz – 26.5 GHz (centre 13.255 GHz), RBW/VBW/attenuation/sweep time auto,
  1001 points, reference level 0 dBm, detector NORMal on all traces, average type LOG, ASCII
  format, byte order NORMal; waveform 12.5 MS/s (10 MHz IF bandwidth) for 2 ms [U].
* RBW: a manual RBW is rounded to the nearest (in log) of the X-series filter values, 24 per
  decade (the E24 series, ~10 % steps) from 1 Hz to 3 MHz, then 4, 5, 6, 8 MHz [U: the ~10 % steps
  are the data sheet's wording; the exact values are the model's]. ``:BAND?`` answers it.
* Detectors: the trace is the RMS power only with ``DET:TRAC AVER`` *and* ``AVER:TYPE RMS``.
  With AVERage and LOG (log-power averaging) the model shows the RMS trace minus
  :data:`LOG_AVERAGE_OFFSET_DB` (2.51 dB, the log-average bias of noise-like power), with SCALar
  (voltage averaging) minus :data:`SCALAR_AVERAGE_OFFSET_DB` (1.05 dB, π/4). POSitive,
  NEGative and SAMPle use the physics' detectors; NORMal (Rosenfell) is modelled as POSitive
  peak, which is what it shows on a signal that rises within each bucket. ``AVER:TYPE:AUTO``
  and trace averaging are not modelled.
* Overload (X-series status-register tables): ``STAT:QUES:INT`` bit 4 (16) Input Overload from
  the first mixer, bit 5 (32) Over Range from the ADC full scale (clipped I/Q samples, or the
  swept estimate); bit 0 is Signal Summary, never overload. ``STAT:QUES:POW`` bit 6 (64, Input
  Port Overload) exists but is not modelled. CONDition and EVENt behave as on the FSW personality.
* Waveform: ``:READ:WAV0?`` (or ``:INIT:WAV;*OPC?`` then ``:FETC:WAV0?``) answers I,Q interleaved
  volts (I even-indexed, Q odd) in the FORMat data type and, [U], the FORMat:BORDer byte order.
  Samples = round(sweep time x sample rate), at most 16 777 216 (the simulator's memory budget):
  beyond it ``INIT`` is -221 [U]. ``WAV<n>`` for n ≠ 0 (the scalar results) is not simulated: -114.
  ``:CONF:WAV`` restores the waveform defaults (CONFigure presets its measurement) [U].
* Autolevel ``:POW:RANG:OPT IMM`` (both modes) [U: named by instrument-comms.md §3.2 and used
  by public X-series lab scripts; not checked in the Basic-mode reference]: as the FSW's
  ``SENS:ADJ:LEV``, the reference level (range) becomes the measured peak.
* Markers 1–12 on the last trace (:mod:`fivegbench.sim.markers`). The ACP measurement
  (:mod:`fivegbench.sim.acp`) integrates the last swept trace, not a sweep of its own span and
  RBW, a simplification; ``:READ:ACP?`` is not simulated.
* A 1-point sweep shows one bucket spanning the whole span, centred on the centre frequency.
* Error entries carry a sign on every code (``+0``); texts are the engine's SCPI texts.
* Auto RBW, VBW, sweep time and the noise/overload physics are SimFsw's; auto attenuation is
  SimFsw's coupling rounded up to the 2 dB attenuator step.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from typing import Any, ClassVar

import numpy as np

from fivegbench.sim.acp import KeysightAcp
from fivegbench.sim.analyzer import (
    F_MAX_HZ,
    TRACES,
    FswSettings,
    SimFsw,
    SweepResult,
    filter_steps_hz,
)
from fivegbench.sim.faults import Faults
from fivegbench.sim.iq_capture import IqRequest, Overload
from fivegbench.sim.markers import Gate, Markers
from fivegbench.sim.scpi import (
    Context,
    Handler,
    Response,
    ScpiError,
    format_nr3,
    parse_block,
    parse_enum,
    parse_int,
    parse_numeric,
    serve_engine,
)
from fivegbench.sim.spectrum import RfScene, SweepSettings
from fivegbench.sim.waveform import ANALYZER_FLAT_FRACTION
from fivegbench.sim.world import World

F_MIN_PRESET_HZ = 10e6  # preset start frequency
RBW_RANGE_HZ = (1.0, 8e6)
VBW_RANGE_HZ = (1.0, 50e6)
ATTENUATION_RANGE_DB = (0.0, 70.0)
ATTENUATION_STEP_DB = 2.0
POINTS_RANGE = (1, 100001)
SWEEP_TIME_RANGE_S = (1e-3, 4000.0)
DETECTORS = ("AVERage", "POSitive", "NEGative", "SAMPle", "NORMal")
AVERAGE_TYPES = ("RMS", "LOG", "SCALar")
MODES = ("SA", "BASIC")
WAVEFORM_SAMPLE_RATE_RANGE_HZ = (10e3, 300e6)  # 10 kHz: the simulator's resampler (sim/analyzer.py)
WAVEFORM_TIME_RANGE_S = (1e-6, 4.0)
WAVEFORM_MAX_SAMPLES = 1 << 24
#: STATus:QUEStionable:INTegrity bits 4 and 5: Input Overload, Over Range (bit 0 is Signal Summary).
QUES_INTEGRITY_INPUT_OVERLOAD = 16
QUES_INTEGRITY_OVER_RANGE = 32

#: E24: the X-series swept RBWs step by ~10 %, 24 values per decade [U].
_E24: tuple[float, ...] = (1.0, 1.1, 1.2, 1.3, 1.5, 1.6, 1.8, 2.0, 2.2, 2.4, 2.7, 3.0)
_E24 += (3.3, 3.6, 3.9, 4.3, 4.7, 5.1, 5.6, 6.2, 6.8, 7.5, 8.2, 9.1)
RBW_STEPS_HZ = (*filter_steps_hz(_E24, 1.0, 3e6), 4e6, 5e6, 6e6, 8e6)

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


@dataclass
class Waveform:
    """The Basic mode's waveform measurement settings (``:CONF:WAV`` restores them) [U]."""

    sample_rate_hz: float = 12.5e6
    capture_time_s: float = 2e-3

    @property
    def samples(self) -> int:
        return round(self.capture_time_s * self.sample_rate_hz)


class SimN9030B(SimFsw):
    """Simulated Keysight N9030B on the shared :class:`~fivegbench.sim.world.World`.

    Parameters
    ----------
    world : the physical world (the gNB's emission reaches the analyzer through its path loss).
    serial : serial number in ``*IDN?``.
    time_scale : real seconds per modelled second of sweep or capture time.
    """

    REF_LEVEL_RANGE_DBM: ClassVar[tuple[float, float]] = (-170.0, 30.0)
    RBW_STEPS_HZ: ClassVar[tuple[float, ...]] = RBW_STEPS_HZ
    settings: KeysightSettings

    def __init__(self, world: World, serial: str = "MY00000001", *, time_scale: float = 1.0) -> None:
        self.mode = "SA"
        self.waveform = Waveform()
        super().__init__(world, serial, time_scale=time_scale)
        self.idn = f"Keysight Technologies,N9030B,{serial},A.33.03"
        self.options = "526"  # frequency range option: 2 Hz - 26.5 GHz
        self.settings = KeysightSettings()  # power-on state: continuous sweep

    # -- state -----------------------------------------------------------------------------
    def preset(self) -> None:
        """``*RST``: mode preset, then single-sweep mode; no trace or I/Q data."""
        self.settings = KeysightSettings(continuous=False)
        self.waveform = Waveform()
        self._result = None
        self._capture = None
        self._reset_functions()

    def _reset_functions(self) -> None:
        self.markers.reset()
        self.acp.reset()
        self.measurement = "SAN"  # of SA mode; Basic mode has only the waveform here

    def questionable_bits(self, overload: Overload) -> dict[str, int]:
        bits = (QUES_INTEGRITY_INPUT_OVERLOAD if overload.mixer else 0) | (
            QUES_INTEGRITY_OVER_RANGE if overload.adc else 0
        )
        return {"INTegrity": bits, "POWer": 0}

    def iq_mode(self) -> bool:
        return self.mode == "BASIC"

    def iq_request(self) -> IqRequest:
        samples = self.waveform.samples
        if not 1 <= samples <= WAVEFORM_MAX_SAMPLES:
            raise ScpiError(-221, f"Settings conflict;{samples} samples (sweep time x sample rate)")
        return IqRequest(
            center_hz=self.settings.center_hz,
            sample_rate_hz=self.waveform.sample_rate_hz,
            samples=samples,
            reference_level_dbm=self.settings.ref_level_dbm,
            attenuation_db=self.settings.effective_attenuation_db(),
        )

    def _measure(self, scene: RfScene, sweep: SweepSettings, reference_level_dbm: float) -> SweepResult:
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
            three = super()._measure(scene, wide, reference_level_dbm)
            result = SweepResult(sweep, three.trace_dbm[1:2], three.overload)
        else:
            result = super()._measure(scene, sweep, reference_level_dbm)
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
    def _only_in(self, mode: str) -> Gate:
        """A handler of one mode: in the other it is -113, as an unknown header."""

        def gate(handler: Handler) -> Handler:
            def gated(ctx: Context) -> Response:
                if self.mode != mode:
                    raise ScpiError(-113, f"Undefined header;{ctx.header} is not a {mode} mode command")
                return handler(ctx)

            return gated

        return gate

    def _register(self) -> None:
        self.markers = Markers(self.latest, lambda: self.settings.axis(), count=12, window=False)
        self.acp = KeysightAcp(self.latest, lambda: self.measurement == "ACP")
        sa, basic = self._only_in("SA"), self._only_in("BASIC")
        self.command("INSTrument[:SELect]", self._instrument)
        self.command("INITiate:CONTinuous", self._boolean("continuous"))
        self.command("INITiate[:IMMediate]", self._init, args=(0, 0), query_args=None)
        self._register_frequency(span_gate=sa)
        for root in ("BANDwidth", "BWIDth"):
            rbw = self._numeric("effective_rbw_hz", self._set_rbw, "HZ", RBW_RANGE_HZ)
            vbw = self._numeric("effective_vbw_hz", self._set_vbw, "HZ", VBW_RANGE_HZ)
            self.command(f"[SENSe:]{root}[:RESolution]", sa(rbw))
            self.command(f"[SENSe:]{root}[:RESolution]:AUTO", sa(self._boolean("rbw_auto")))
            self.command(f"[SENSe:]{root}:VIDeo", sa(vbw))
            self.command(f"[SENSe:]{root}:VIDeo:AUTO", sa(self._boolean("vbw_auto")))
        self.command("DISPlay:WINDow#:TRACe:Y[:SCALe]:RLEVel", sa(self._ref_level))
        self.command(
            "[SENSe:]POWer[:RF]:ATTenuation",
            self._numeric("effective_attenuation_db", self._set_attenuation, "DB", ATTENUATION_RANGE_DB),
        )
        self.command("[SENSe:]POWer[:RF]:ATTenuation:AUTO", self._boolean("attenuation_auto"))
        self.command("[SENSe:]POWer[:RF]:RANGe:OPTimize", self._optimize_range, query_args=None)
        self.command("[SENSe:]DETector:TRACe#", sa(self._detector))
        self.command("[SENSe:]AVERage:TYPE", sa(self._average_type))
        self.command("[SENSe:]SWEep:POINts", sa(self._points))
        sweep_time = self._numeric("effective_sweep_time_s", self._set_sweep_time, "S", SWEEP_TIME_RANGE_S)
        self.command("[SENSe:]SWEep:TIME", sa(sweep_time))
        self.command("[SENSe:]SWEep:TIME:AUTO", sa(self._boolean("sweep_time_auto")))
        self.command("FORMat[:TRACe][:DATA]", self._format, args=(1, 2))
        self.command("FORMat:BORDer", self._byte_order)
        self.command("TRACe[:DATA]", sa(self._trace_data), args=(2, POINTS_RANGE[1] + 1), query_args=(1, 1))
        self._register_status()
        self.markers.register(self, "CALCulate:MARKer#", "MAXimum", gate=sa)
        self.command("CONFigure:ACPower", sa(self._configure("ACP")), args=(0, 0), query_args=None)
        self.command("CONFigure:SANalyzer", sa(self._configure("SAN")), args=(0, 0), query_args=None)
        self.command("INITiate:ACPower", sa(self._init_acp), args=(0, 0), query_args=None)
        self.acp.register(self, gate=sa)
        self._register_waveform(basic)

    def _register_waveform(self, basic: Gate) -> None:
        self.command("CONFigure:WAVeform", basic(self._configure_waveform), args=(0, 0), query_args=None)
        self.command("INITiate:WAVeform", basic(self._init), args=(0, 0), query_args=None)
        self.command("READ:WAVeform#?", basic(self._read_waveform), locked=False)
        self.command("FETCh:WAVeform#?", basic(self._fetch_waveform))
        self.command("[SENSe:]WAVeform:SRATe", basic(self._waveform_sample_rate))
        self.command("[SENSe:]WAVeform:DIF:BANDwidth[:RESolution]", basic(self._waveform_if_bandwidth))
        self.command("[SENSe:]WAVeform:SWEep:TIME", basic(self._waveform_time))
        self.command("[SENSe:]POWer[:RF]:RANGe[:UPPer]", basic(self._range))

    # -- mode, ACP and waveform ------------------------------------------------------------
    def _instrument(self, ctx: Context) -> Response:
        if ctx.is_query:
            return self.mode
        mode = parse_enum(ctx.params[0], MODES)
        if mode != self.mode:
            self.mode, self._result, self._capture = mode, None, None
        return None

    def _configure(self, measurement: str) -> Callable[[Context], None]:
        def handler(ctx: Context) -> None:
            if measurement == "ACP":
                self.acp.reset()  # CONFigure restores the measurement's defaults
            self.measurement = measurement

        return handler

    def _init_acp(self, ctx: Context) -> None:
        self.measurement = "ACP"
        self._init(ctx)

    def _configure_waveform(self, ctx: Context) -> None:
        self.waveform = Waveform()

    @staticmethod
    def _waveform_number(ctx: Context) -> None:
        if ctx.suffix() != 0:  # WAV1.. (scalar results) are not simulated
            raise ScpiError(-114, f"Header suffix out of range;{ctx.header}")

    def _read_waveform(self, ctx: Context) -> Response:
        self._waveform_number(ctx)
        return self._read_capture(ctx, self._waveform_values)

    def _fetch_waveform(self, ctx: Context) -> Response:
        self._waveform_number(ctx)
        return self._waveform_values(self.latest_capture().samples)

    def _waveform_values(self, samples: np.ndarray) -> Response:
        """I, Q interleaved (I even-indexed, Q odd) in the FORMat type and byte order."""
        return self._values(samples.view(np.float32), digits=8)

    def _waveform_sample_rate(self, ctx: Context) -> Response:
        if ctx.is_query:
            return format_nr3(self.waveform.sample_rate_hz)
        lo, hi = WAVEFORM_SAMPLE_RATE_RANGE_HZ
        self.waveform.sample_rate_hz = parse_numeric(ctx.params[0], "HZ", minimum=lo, maximum=hi)
        return None

    def _waveform_if_bandwidth(self, ctx: Context) -> Response:
        ratio = 1.0 / ANALYZER_FLAT_FRACTION  # :WAV:SRAT / :WAV:DIF:BAND [U]
        if ctx.is_query:
            return format_nr3(self.waveform.sample_rate_hz / ratio)
        lo, hi = WAVEFORM_SAMPLE_RATE_RANGE_HZ
        band = parse_numeric(ctx.params[0], "HZ", minimum=lo / ratio, maximum=hi / ratio)
        self.waveform.sample_rate_hz = band * ratio
        return None

    def _waveform_time(self, ctx: Context) -> Response:
        if ctx.is_query:
            return format_nr3(self.waveform.capture_time_s)
        lo, hi = WAVEFORM_TIME_RANGE_S
        self.waveform.capture_time_s = parse_numeric(ctx.params[0], "S", minimum=lo, maximum=hi)
        return None

    def _range(self, ctx: Context) -> Response:
        if ctx.is_query:
            return format_nr3(self.settings.ref_level_dbm)
        self._set_ref_level(ctx.params[0])
        return None

    def _optimize_range(self, ctx: Context) -> None:
        parse_enum(ctx.params[0], ("IMMediate",))
        self._autolevel()

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
        self._set_ref_level(ctx.params[0])
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
