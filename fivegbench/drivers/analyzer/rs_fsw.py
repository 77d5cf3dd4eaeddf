"""Rohde & Schwarz FSW (and FSV family) spectrum analyzer, swept-spectrum mode.

Commands from reference/instrument-comms.md §3.2 (R&S Examples, rssd, FSW user manual).
REAL,32 traces arrive little-endian with ``FORM:BORD NORM`` on R&S (NORMal = LSB first); we set
the order explicitly rather than trusting the preset.
"""

from __future__ import annotations

import logging

import numpy as np

from fivegbench.drivers.analyzer.trace import GAUSSIAN_ENBW_FACTOR, Trace
from fivegbench.drivers.scpi_errors import drain_errors
from fivegbench.drivers.settings import Setting, as_bool, in_range, int_in_range, one_of, scpi_bool
from fivegbench.errors import InstrumentError
from fivegbench.transport.base import MessageTransport

__all__ = ["GAUSSIAN_ENBW_FACTOR", "RsFsw", "Trace"]

log = logging.getLogger(__name__)

# The FSW's swept RBW filters are Gaussian: ENBW = GAUSSIAN_ENBW_FACTOR * RBW (the Trace default).


class RsFsw:
    """R&S FSW spectrum analyzer driver. The constructor does no I/O."""

    center_frequency = Setting("FREQ:CENT?", "FREQ:CENT", "Centre frequency", "Hz", in_range(2, 90e9))
    span = Setting("FREQ:SPAN?", "FREQ:SPAN", "Frequency span", "Hz", in_range(0, 90e9))
    rbw = Setting("BAND?", "BAND", "Resolution bandwidth", "Hz", in_range(1, 80e6))
    vbw = Setting("BAND:VID?", "BAND:VID", "Video bandwidth", "Hz", in_range(1, 80e6))
    reference_level = Setting(
        "DISP:TRAC:Y:RLEV?", "DISP:TRAC:Y:RLEV", "Reference level", "dBm", in_range(-130, 30)
    )
    attenuation = Setting("INP:ATT?", "INP:ATT", "RF input attenuation", "dB", in_range(0, 79))
    attenuation_auto = Setting[bool](
        "INP:ATT:AUTO?",
        "INP:ATT:AUTO",
        "Attenuation coupled to the reference level",
        validator=as_bool,
        parse=scpi_bool,
        format=lambda on: "ON" if on else "OFF",
    )
    detector = Setting[str](
        "DET?",
        "DET",
        "Trace detector",
        validator=one_of("RMS", "APE", "POS", "NEG", "SAMP", "AVER"),
        parse=lambda text: text.strip().upper(),
        format=str,
    )
    sweep_points = Setting[int](
        "SWE:POIN?",
        "SWE:POIN",
        "Points per sweep",
        validator=int_in_range(101, 100001),
        parse=int,
        format=str,
    )
    sweep_time = Setting("SWE:TIME?", "SWE:TIME", "Sweep time", "s", in_range(1e-6, 16000))
    continuous = Setting[bool](
        "INIT:CONT?",
        "INIT:CONT",
        "Continuous sweep",
        validator=as_bool,
        parse=scpi_bool,
        format=lambda on: "ON" if on else "OFF",
    )

    def __init__(self, transport: MessageTransport, role: str = "analyzer") -> None:
        self.transport = transport
        self.role = role

    def idn(self) -> str:
        """The instrument's raw ``*IDN?`` reply."""
        return self.transport.query("*IDN?")

    def prepare(self) -> None:
        """Idempotent initialisation: clear status, single sweeps, binary little-endian traces."""
        self.transport.write("*CLS")
        self.transport.write("INIT:CONT OFF")
        self.transport.write("FORM REAL,32")
        self.transport.write("FORM:BORD NORM")
        self.check_errors("prepare")

    def check_errors(self, context: str) -> None:
        """Drain the error queue; raise InstrumentError for the first error found."""
        drain_errors(self.transport, self.role, context)

    def single_sweep(self, expected_time_s: float) -> None:
        """Start one sweep and wait for it to complete (``INIT;*OPC?``)."""
        with self.transport.timeout(expected_time_s * 1.5 + 5.0):
            reply = self.transport.query("INIT;*OPC?")
        if reply.strip() != "1":
            raise InstrumentError(self.role, "INIT;*OPC?", None, f"unexpected reply {reply!r}")

    def trace_dbm(self) -> np.ndarray:
        """Trace 1 as float32 dBm values (REAL,32 little-endian, set by ``prepare``)."""
        payload = self.transport.query_block("TRAC:DATA? TRACE1")
        if len(payload) % 4:
            raise InstrumentError(
                self.role, "TRAC:DATA? TRACE1", None, f"{len(payload)} bytes is not REAL,32"
            )
        return np.frombuffer(payload, dtype="<f4").astype(np.float64)

    def overloaded(self) -> bool:
        """True when the last sweep overloaded the RF input (STAT:QUES:POW bit 0)."""
        return bool(int(self.transport.query("STAT:QUES:POW:COND?")) & 1)

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
        self.detector = "RMS"
        self.reference_level = reference_level_dbm
        self.attenuation_auto = True
        self.check_errors("configure sweep")
        sweep_time = self.sweep_time
        attenuation = self.attenuation
        self.single_sweep(sweep_time)
        power = self.trace_dbm()
        if power.size != points:
            raise InstrumentError(
                self.role, "TRAC:DATA? TRACE1", None, f"{power.size} points, asked {points}"
            )
        overload = self.overloaded()
        self.check_errors("sweep")
        freqs = np.linspace(center_hz - span_hz / 2, center_hz + span_hz / 2, points)
        return Trace(
            freqs, power, rbw_hz, vbw_hz, "RMS", sweep_time, attenuation, reference_level_dbm, overload
        )
