"""The procedures every spectrum-analyzer driver shares (swept trace, I/Q capture, autolevel);
a family supplies its settings (``Setting`` descriptors), its RBW filter's ENBW factor and the
few command strings that differ.

Every procedure reads back what it relies on after configuring and builds its result from the
instrument's values, never the requested ones: an analyzer that rounds the RBW to its own steps
(or the sample rate, or the span) must not shift a channel power by 10·log(actual/requested).
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from fivegbench.drivers.analyzer.iq import IqAcquisition
from fivegbench.drivers.analyzer.trace import Trace
from fivegbench.drivers.scpi_errors import drain_errors
from fivegbench.drivers.settings import Setting, scpi_number
from fivegbench.errors import InstrumentError
from fivegbench.transport.base import MessageTransport
from fivegbench.transport.block import MAX_BLOCK_BYTES

#: The most I/Q samples one capture may hold: REAL,32 I/Q pairs in the largest block the
#: transport reads (8 bytes per sample).
MAX_IQ_SAMPLES = MAX_BLOCK_BYTES // 8
#: Time allowed beyond the capture itself for the instrument to finish it (trigger, processing,
#: filling its memory), s.
IQ_PROCESSING_S = 30.0
#: Time allowed for an autolevel measurement, s.
AUTOLEVEL_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class OverloadRegister:
    """A questionable status register (``node``, e.g. ``STAT:QUES:POW``) and its overload bits:
    (bit value, what it means). The driver reads ``<node>:COND?`` (now) and ``<node>:EVEN?``
    (latched since the last read: an overload during the sweep that has since gone)."""

    node: str
    bits: tuple[tuple[int, str], ...]

    @property
    def queries(self) -> tuple[str, str]:
        return f"{self.node}:COND?", f"{self.node}:EVEN?"

    def conditions(self, value: int) -> list[str]:
        """What the set overload bits of a register reading mean."""
        return [meaning for bit, meaning in self.bits if value & bit]


class IqSettings:
    """A family's I/Q capture settings. They exist in the mode :meth:`SweptAnalyzer.capture_iq`
    enters (the X-series Basic mode), so they are not declared on the driver, whose declared
    settings must read back in its prepared state: the procedure sets and reads them.

    Parameters
    ----------
    sample_rate : the I/Q sample rate, Hz.
    record : the capture length, in the family's unit (FSW samples, X-series seconds).
    level : the level the ADC full scale follows in I/Q mode, dBm; None: ``reference_level``.
    """

    def __init__(
        self, sample_rate: Setting[float], record: Setting[Any], level: Setting[float] | None = None
    ) -> None:
        self.sample_rate: Setting[float] = sample_rate
        self.record: Setting[Any] = record
        self.level: Setting[float] | None = level
        for name in ("sample_rate", "record", "level"):  # named for the validators' messages
            setting = getattr(self, name)
            if setting is not None:
                setting.__set_name__(IqSettings, f"iq_{name}")


class SweptAnalyzer:
    """Base of the analyzer drivers. The constructor does no I/O.

    Subclasses define the settings ``center_frequency``, ``span``, ``rbw``, ``vbw``,
    ``reference_level``, ``attenuation``, ``attenuation_auto``, ``sweep_points``, ``sweep_time``
    and the class attributes below, and say how to select an RMS detector and how the I/Q record
    length is set and read back.

    In the command tuples (``PREPARE``, ``IQ_ENTER``, ...) a message ending in ``?`` is a query
    that must answer ``1`` (``...;*OPC?``); the others are written.
    """

    ENBW_FACTOR: ClassVar[float]  # ENBW / RBW of the family's swept RBW filter
    PREPARE: ClassVar[tuple[str, ...]]  # idempotent init: swept mode, single sweeps, REAL,32 LE
    SINGLE_SWEEP: ClassVar[str]  # start one sweep and answer 1 when done (…;*OPC?)
    TRACE_QUERY: ClassVar[str]  # trace 1 as a definite-length REAL,32 block
    OVERLOAD_REGISTERS: ClassVar[tuple[OverloadRegister, ...]]  # where the family reports overload
    IQ: ClassVar[IqSettings]  # the I/Q capture settings
    IQ_ENTER: ClassVar[tuple[str, ...]]  # into I/Q capture mode
    IQ_FORMAT: ClassVar[tuple[str, ...]]  # I/Q data as REAL,32 little-endian I,Q pairs
    IQ_CAPTURE: ClassVar[str]  # capture once and answer 1 when done (…;*OPC?)
    IQ_QUERY: ClassVar[str]  # the capture as a definite-length REAL,32 block of I,Q pairs
    IQ_LEAVE: ClassVar[tuple[str, ...]]  # back to swept-spectrum mode
    AUTOLEVEL: ClassVar[str]  # the family's autolevel, answering 1 when done (…;*OPC?)
    # how long autolevel measures ({seconds}); None: the family has no such setting
    AUTOLEVEL_DURATION: ClassVar[tuple[str, ...] | None] = None

    # settings the subclass declares as descriptors
    center_frequency: Any
    span: Any
    rbw: Any
    vbw: Any
    reference_level: Any
    attenuation: Any
    attenuation_auto: Any
    sweep_points: Any
    sweep_time: Any

    def __init__(self, transport: MessageTransport, role: str = "analyzer") -> None:
        self.transport = transport
        self.role = role

    def idn(self) -> str:
        """The instrument's raw ``*IDN?`` reply."""
        return self.transport.query("*IDN?")

    def prepare(self) -> None:
        """Idempotent initialisation, then a check of the error queue."""
        self._run(self.PREPARE)
        self.check_errors("prepare")

    def _run(self, messages: tuple[str, ...]) -> None:
        """Write each message; a query (``…;*OPC?``) must answer 1."""
        for message in messages:
            if message.endswith("?"):
                self._expect_one(message)
            else:
                self.transport.write(message)

    def _expect_one(self, query: str, timeout_s: float | None = None) -> None:
        """Send an ``…;*OPC?`` query (allowing ``timeout_s`` for it) and check it answers 1."""
        with self.transport.timeout(timeout_s) if timeout_s is not None else contextlib.nullcontext():
            reply = self.transport.query(query)
        if reply.strip() != "1":
            raise InstrumentError(self.role, query, None, f"unexpected reply {reply!r}")

    def check_errors(self, context: str) -> None:
        """Drain the error queue; raise InstrumentError for the first error found."""
        drain_errors(self.transport, self.role, context)

    def single_sweep(self, expected_time_s: float) -> None:
        """Start one sweep and wait for it to complete."""
        self._expect_one(self.SINGLE_SWEEP, expected_time_s * 1.5 + 5.0)

    def trace_dbm(self) -> np.ndarray:
        """Trace 1 as float64 dBm values (REAL,32 little-endian, set by ``prepare``)."""
        payload = self.transport.query_block(self.TRACE_QUERY)
        if len(payload) % 4:
            raise InstrumentError(self.role, self.TRACE_QUERY, None, f"{len(payload)} bytes is not REAL,32")
        values = np.frombuffer(payload, dtype="<f4").astype(np.float64)
        self._check_finite(self.TRACE_QUERY, values, "points")
        return values

    def _check_finite(self, query: str, values: np.ndarray, what: str) -> None:
        bad = int(np.count_nonzero(~np.isfinite(values)))
        if bad:  # a corrupted block: reducing it would fail later, far from the cause
            raise InstrumentError(self.role, query, None, f"{bad} of {values.size} {what} are not numbers")

    def overload_conditions(self) -> tuple[str, ...]:
        """The overload conditions the status registers report, now (CONDition) or latched
        since they were last read (EVENt, cleared by reading it); empty when there were none."""
        found: list[str] = []
        for register in self.OVERLOAD_REGISTERS:
            for query in register.queries:
                reply = self.transport.query(query)
                try:
                    value = int(reply.strip())
                except ValueError:
                    raise InstrumentError(self.role, query, None, f"unexpected reply {reply!r}") from None
                found += [name for name in register.conditions(value) if name not in found]
        return tuple(found)

    def clear_overload_events(self) -> None:
        """Read the EVENt registers so that what configuring latched is not blamed on the sweep."""
        for register in self.OVERLOAD_REGISTERS:
            self.transport.query(register.queries[1])

    def select_rms_detector(self) -> None:
        """Make the trace an RMS (power-averaging) detector trace."""
        raise NotImplementedError

    def setup_acp(self, channel_bandwidth_hz: float, spacing_hz: float) -> None:
        """Before a sweep: the instrument's own ACLR measurement, one TX channel and two adjacent
        pairs at ±spacing and ±2·spacing, every channel ``channel_bandwidth_hz`` wide (square)."""
        raise NotImplementedError

    def instrument_aclr_db(self) -> tuple[float, float, float, float]:
        """After the sweep: the instrument's own ACLR (lower1, upper1, lower2, upper2), dB; NaN
        for a channel it did not measure."""
        raise NotImplementedError

    def acquire(
        self,
        center_hz: float,
        span_hz: float,
        rbw_hz: float,
        vbw_hz: float,
        points: int,
        reference_level_dbm: float,
    ) -> Trace:
        """Configure an RMS-detector sweep, run it once and fetch the trace. The frequency axis,
        RBW, VBW, sweep time, attenuation and reference level are the instrument's, read back."""
        self.center_frequency = center_hz
        self.span = span_hz
        self.rbw = rbw_hz
        self.vbw = vbw_hz
        self.sweep_points = points
        self.select_rms_detector()
        self.reference_level = reference_level_dbm
        self.attenuation_auto = True
        self.check_errors("configure sweep")
        center, span, points_set = self.center_frequency, self.span, self.sweep_points
        rbw, vbw = self.rbw, self.vbw
        sweep_time, attenuation, reference = self.sweep_time, self.attenuation, self.reference_level
        self.clear_overload_events()
        self.single_sweep(sweep_time)
        power = self.trace_dbm()
        if power.size != points_set:
            raise InstrumentError(
                self.role, self.TRACE_QUERY, None, f"{power.size} points, the analyzer is set to {points_set}"
            )
        overload = self.overload_conditions()
        self.check_errors("sweep")
        freqs = np.linspace(center - span / 2, center + span / 2, points_set)
        return Trace(
            freqs, power, rbw, vbw, "RMS", sweep_time, attenuation, reference, overload, self.ENBW_FACTOR
        )

    # -- I/Q -------------------------------------------------------------------------------
    def set_iq_record_length(self, samples: int, sample_rate_hz: float) -> None:
        """Ask for ``samples`` samples at the (read-back) sample rate."""
        raise NotImplementedError

    def iq_record_length(self, sample_rate_hz: float) -> int:
        """The number of samples a capture will hold, read back."""
        raise NotImplementedError

    def capture_iq(
        self, center_hz: float, sample_rate_hz: float, duration_s: float, reference_level_dbm: float
    ) -> IqAcquisition:
        """One I/Q capture of ``duration_s`` at ``sample_rate_hz`` around ``center_hz``, with the
        ADC full scale following ``reference_level_dbm`` and the attenuation coupled to it.

        Every setting of the result is read back from the instrument; the overload conditions
        are those reported during the capture (CONDition and EVENt). The analyzer is left in
        swept-spectrum mode, so a following :meth:`acquire` works.

        Raises ValueError for a duration or sample rate that is not a positive number or asks
        for more than :data:`MAX_IQ_SAMPLES` samples (nothing is sent); InstrumentError for an
        error the instrument reports or a block that is not the capture asked for.
        """
        samples = duration_s * sample_rate_hz
        if not (math.isfinite(samples) and duration_s > 0 and sample_rate_hz > 0):
            raise ValueError(
                f"capture_iq: duration {duration_s!r} s at {sample_rate_hz!r} Hz is not a capture"
            )
        if not 1 <= round(samples) <= MAX_IQ_SAMPLES:
            raise ValueError(f"capture_iq: {samples:.0f} samples is outside 1..{MAX_IQ_SAMPLES}")
        try:
            self._run(self.IQ_ENTER)
            acquisition = self._capture_iq(center_hz, sample_rate_hz, round(samples), reference_level_dbm)
        except BaseException:
            with contextlib.suppress(InstrumentError):  # the original error is the one to report
                self._run(self.IQ_LEAVE)
            raise
        self._run(self.IQ_LEAVE)
        self.check_errors("leave I/Q mode")
        return acquisition

    def _capture_iq(
        self, center_hz: float, sample_rate_hz: float, samples: int, reference_level_dbm: float
    ) -> IqAcquisition:
        level_setting = self.IQ.level or type(self).reference_level
        self.center_frequency = center_hz
        self.write_setting(level_setting, reference_level_dbm)
        self.attenuation_auto = True
        self.write_setting(self.IQ.sample_rate, sample_rate_hz)
        rate = float(self.read_setting(self.IQ.sample_rate))
        self.set_iq_record_length(samples, rate)
        self._run(self.IQ_FORMAT)
        self.check_errors("configure I/Q capture")
        length = self.iq_record_length(rate)
        center = self.center_frequency
        level = float(self.read_setting(level_setting))
        attenuation = self.attenuation
        self.clear_overload_events()
        self._expect_one(self.IQ_CAPTURE, length / rate * 1.5 + IQ_PROCESSING_S)
        iq = self._iq_samples(length)
        overload = self.overload_conditions()
        self.check_errors("I/Q capture")
        return IqAcquisition(iq, rate, center, level, attenuation, overload)

    def write_setting(self, setting: Setting[Any], value: Any) -> None:
        """Set a setting that is not declared on the driver (validated first, as a declared one)."""
        setting.__set__(self, value)

    def read_setting(self, setting: Setting[Any]) -> Any:
        """Query a setting that is not declared on the driver."""
        return setting.__get__(self, type(self))

    def _iq_samples(self, expected: int) -> np.ndarray:
        """The capture as complex64 volts (REAL,32 little-endian I,Q pairs), checked."""
        query = self.IQ_QUERY
        payload = self.transport.query_block(query)
        if len(payload) % 8:
            raise InstrumentError(self.role, query, None, f"{len(payload)} bytes is not REAL,32 I/Q pairs")
        values = np.frombuffer(payload, dtype="<f4")
        if values.size // 2 != expected:
            raise InstrumentError(self.role, query, None, f"{values.size // 2} samples, expected {expected}")
        self._check_finite(query, values, "values")
        return values.astype(np.float32).view(np.complex64)

    def autolevel(self, duration_s: float | None = None) -> float:
        """Run the family's autolevel (reference level, and attenuation when coupled, from the
        measured peak at the current centre frequency); return the reference level, read back.

        ``duration_s``: measure that long where the family lets it be set (a TDD carrier needs a
        whole pattern period, or the measurement may see only UL symbols)."""
        if duration_s is not None and self.AUTOLEVEL_DURATION is not None:
            for command in self.AUTOLEVEL_DURATION:
                self.transport.write(command.format(seconds=scpi_number(duration_s)))
        self._expect_one(self.AUTOLEVEL, AUTOLEVEL_TIMEOUT_S + (duration_s or 0.0))
        self.check_errors("autolevel")
        return float(self.reference_level)
