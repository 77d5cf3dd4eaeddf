"""Rohde & Schwarz FSW (and FSV family) spectrum analyzer, swept-spectrum mode.

Commands from reference/instrument-comms.md §3.2 (R&S Examples, rssd, FSW user manual).
REAL,32 traces arrive little-endian with ``FORM:BORD NORM`` on R&S (NORMal = LSB first); we set
the order explicitly rather than trusting the preset.
"""

from __future__ import annotations

import logging

from fivegbench.drivers.analyzer.swept import SweptAnalyzer
from fivegbench.drivers.analyzer.trace import GAUSSIAN_ENBW_FACTOR, Trace
from fivegbench.drivers.settings import Setting, as_bool, in_range, int_in_range, one_of, scpi_bool

__all__ = ["GAUSSIAN_ENBW_FACTOR", "RsFsw", "Trace"]

log = logging.getLogger(__name__)

# The FSW's swept RBW filters are Gaussian: ENBW = GAUSSIAN_ENBW_FACTOR * RBW (the Trace default).


class RsFsw(SweptAnalyzer):
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

    PREPARE = ("*CLS", "INIT:CONT OFF", "FORM REAL,32", "FORM:BORD NORM")
    SINGLE_SWEEP = "INIT;*OPC?"
    TRACE_QUERY = "TRAC:DATA? TRACE1"
    OVERLOAD_QUERY = "STAT:QUES:POW:COND?"  # bit 0: RF overload
    OVERLOAD_MASK = 1

    def select_rms_detector(self) -> None:
        self.detector = "RMS"
