"""The procedures every swept-spectrum analyzer driver shares; a family supplies its settings
(``Setting`` descriptors) and the few command strings that differ.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from fivegbench.drivers.analyzer.trace import Trace
from fivegbench.drivers.scpi_errors import drain_errors
from fivegbench.errors import InstrumentError
from fivegbench.transport.base import MessageTransport


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


class SweptAnalyzer:
    """Base of the analyzer drivers. The constructor does no I/O.

    Subclasses define the settings ``center_frequency``, ``span``, ``rbw``, ``vbw``,
    ``reference_level``, ``attenuation``, ``attenuation_auto``, ``sweep_points``, ``sweep_time``
    and the class attributes below, and say how to select an RMS detector.
    """

    PREPARE: ClassVar[tuple[str, ...]]  # idempotent init: single sweeps, REAL,32 little-endian
    SINGLE_SWEEP: ClassVar[str]  # start one sweep and answer 1 when done (…;*OPC?)
    TRACE_QUERY: ClassVar[str]  # trace 1 as a definite-length REAL,32 block
    OVERLOAD_REGISTERS: ClassVar[tuple[OverloadRegister, ...]]  # where the family reports overload

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
        for command in self.PREPARE:
            self.transport.write(command)
        self.check_errors("prepare")

    def check_errors(self, context: str) -> None:
        """Drain the error queue; raise InstrumentError for the first error found."""
        drain_errors(self.transport, self.role, context)

    def single_sweep(self, expected_time_s: float) -> None:
        """Start one sweep and wait for it to complete."""
        with self.transport.timeout(expected_time_s * 1.5 + 5.0):
            reply = self.transport.query(self.SINGLE_SWEEP)
        if reply.strip() != "1":
            raise InstrumentError(self.role, self.SINGLE_SWEEP, None, f"unexpected reply {reply!r}")

    def trace_dbm(self) -> np.ndarray:
        """Trace 1 as float64 dBm values (REAL,32 little-endian, set by ``prepare``)."""
        payload = self.transport.query_block(self.TRACE_QUERY)
        if len(payload) % 4:
            raise InstrumentError(self.role, self.TRACE_QUERY, None, f"{len(payload)} bytes is not REAL,32")
        values = np.frombuffer(payload, dtype="<f4").astype(np.float64)
        bad = int(np.count_nonzero(~np.isfinite(values)))
        if bad:  # a corrupted block: reducing it would fail later, far from the cause
            raise InstrumentError(
                self.role, self.TRACE_QUERY, None, f"{bad} of {values.size} points are not numbers"
            )
        return values

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
        """Configure an RMS-detector sweep, run it once and fetch the trace with its settings."""
        self.center_frequency = center_hz
        self.span = span_hz
        self.rbw = rbw_hz
        self.vbw = vbw_hz
        self.sweep_points = points
        self.select_rms_detector()
        self.reference_level = reference_level_dbm
        self.attenuation_auto = True
        self.check_errors("configure sweep")
        sweep_time = self.sweep_time
        attenuation = self.attenuation
        self.clear_overload_events()
        self.single_sweep(sweep_time)
        power = self.trace_dbm()
        if power.size != points:
            raise InstrumentError(self.role, self.TRACE_QUERY, None, f"{power.size} points, asked {points}")
        overload = self.overload_conditions()
        self.check_errors("sweep")
        freqs = np.linspace(center_hz - span_hz / 2, center_hz + span_hz / 2, points)
        return Trace(
            freqs, power, rbw_hz, vbw_hz, "RMS", sweep_time, attenuation, reference_level_dbm, overload
        )
