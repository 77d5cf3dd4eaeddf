"""Keysight X-series (N9030B PXA, N9020B MXA, ...) signal analyzer, Spectrum Analyzer mode.

Commands from reference/instrument-comms.md §3.1–3.2 (Keysight column: QCoDeS N9030B driver,
N9030A user manual). Differences from the R&S FSW that matter to a driver:

* Byte order: ``FORM:BORD NORMal`` is the preset and means big-endian (MSB first) on Keysight
  (§1.3), the opposite of R&S. ``prepare`` sends ``FORM:BORD SWAP`` and the traces are decoded
  little-endian.
* RMS detection is two settings: the Average detector (``:SENS:DET:TRAC AVER``) with power
  averaging (``:SENS:AVER:TYPE RMS``). The preset average type is log-power, which under-reads a
  noise-like signal by about 2.5 dB, so ``acquire`` always sets both.
* ``SYST:ERR?`` answers ``+0,"No error"`` (a leading sign); :func:`drain_errors` accepts it.
* Input overload is read from ``STAT:QUES:INT:COND?`` bit 0: the Keysight questionable
  integrity register is where overload belongs (§3.2 leaves the exact register open); the bit
  position is this project's model choice, shared with :mod:`fivegbench.sim.analyzer_keysight`.
  Check it against the firmware's status-register chapter before using a real instrument.

Assumption: the X-series swept RBW filter is Gaussian, like the FSW's, so the trace carries the
same :data:`GAUSSIAN_ENBW_FACTOR`. The reference is silent on the Keysight filter shape (§3.2
only names the ``:SENS:BAND:TYPE DB3`` -3 dB definition), so this is not verified.
"""

from __future__ import annotations

import logging

from fivegbench.drivers.analyzer.swept import SweptAnalyzer
from fivegbench.drivers.analyzer.trace import GAUSSIAN_ENBW_FACTOR, Trace
from fivegbench.drivers.settings import Setting, as_bool, in_range, int_in_range, one_of, scpi_bool

__all__ = ["GAUSSIAN_ENBW_FACTOR", "OVERLOAD_BIT", "KeysightX", "Trace"]

log = logging.getLogger(__name__)

#: Bit of ``STAT:QUES:INT:COND?`` that reports RF input overload (model choice, see above).
OVERLOAD_BIT = 1


def _on_off(on: bool) -> str:
    return "ON" if on else "OFF"


def _upper(text: str) -> str:
    return text.strip().upper()


class KeysightX(SweptAnalyzer):
    """Keysight X-series spectrum analyzer driver. The constructor does no I/O.

    Limits are those of the family (up to 110 GHz, 8 MHz swept RBW, 70 dB mechanical
    attenuator); the instrument itself rejects what its options do not cover (-222).
    """

    center_frequency = Setting(
        ":SENS:FREQ:CENT?", ":SENS:FREQ:CENT", "Centre frequency", "Hz", in_range(2, 110e9)
    )
    span = Setting(":SENS:FREQ:SPAN?", ":SENS:FREQ:SPAN", "Frequency span", "Hz", in_range(0, 110e9))
    rbw = Setting(":SENS:BAND:RES?", ":SENS:BAND:RES", "Resolution bandwidth", "Hz", in_range(1, 8e6))
    vbw = Setting(":SENS:BAND:VID?", ":SENS:BAND:VID", "Video bandwidth", "Hz", in_range(1, 50e6))
    reference_level = Setting(
        ":DISP:WIND:TRAC:Y:SCAL:RLEV?",
        ":DISP:WIND:TRAC:Y:SCAL:RLEV",
        "Reference level",
        "dBm",
        in_range(-170, 30),
    )
    attenuation = Setting(":SENS:POW:ATT?", ":SENS:POW:ATT", "RF input attenuation", "dB", in_range(0, 70))
    attenuation_auto = Setting[bool](
        ":SENS:POW:ATT:AUTO?",
        ":SENS:POW:ATT:AUTO",
        "Attenuation coupled to the reference level",
        validator=as_bool,
        parse=scpi_bool,
        format=_on_off,
    )
    detector = Setting[str](
        ":SENS:DET:TRAC?",
        ":SENS:DET:TRAC",
        "Trace 1 detector (AVER with average type RMS is the RMS detector)",
        validator=one_of("AVER", "POS", "NEG", "SAMP", "NORM"),
        parse=_upper,
        format=str,
    )
    average_type = Setting[str](
        ":SENS:AVER:TYPE?",
        ":SENS:AVER:TYPE",
        "Average type: RMS (power), LOG (log-power, video) or SCAL (voltage)",
        validator=one_of("RMS", "LOG", "SCAL"),
        parse=_upper,
        format=str,
    )
    sweep_points = Setting[int](
        ":SENS:SWE:POIN?",
        ":SENS:SWE:POIN",
        "Points per sweep (1..100001: newer firmware; older firmware stops at 20001)",
        validator=int_in_range(1, 100001),
        parse=int,
        format=str,
    )
    sweep_time = Setting(":SENS:SWE:TIME?", ":SENS:SWE:TIME", "Sweep time", "s", in_range(1e-6, 6000))
    continuous = Setting[bool](
        ":INIT:CONT?",
        ":INIT:CONT",
        "Continuous sweep",
        validator=as_bool,
        parse=scpi_bool,
        format=_on_off,
    )

    PREPARE = ("*CLS", ":INIT:CONT OFF", ":FORM REAL,32", ":FORM:BORD SWAP")
    SINGLE_SWEEP = ":INIT:IMM;*OPC?"
    TRACE_QUERY = ":TRAC:DATA? TRACE1"
    OVERLOAD_QUERY = ":STAT:QUES:INT:COND?"
    OVERLOAD_MASK = OVERLOAD_BIT

    def select_rms_detector(self) -> None:
        """The Average detector with power averaging: Keysight's RMS."""
        self.detector = "AVER"
        self.average_type = "RMS"
