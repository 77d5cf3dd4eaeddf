"""Rohde & Schwarz FSW (and FSV family) spectrum analyzer: swept spectrum, and I/Q capture in the
Spectrum application's simple I/Q data acquisition mode.

Commands from reference/instrument-comms.md §3.2, §3.3 and §3.6 (R&S Examples, rssd, RsFsw's
command list, FSW user manual). REAL,32 data are always little-endian on the FSW: it has no
``FORMat:BORDer`` command (a real FSW answers -113), so none is sent.

* Overload is ``STAT:QUES:POW`` bit 0 RF overload, bit 2 IF overload and bit 3 input overload
  (the RF input was disconnected to protect it: the trace is then only the noise floor, yet
  looks valid).
* RBW filter: the FSW's swept RBW filters are Gaussian, ENBW = 1.0645 x RBW (:attr:`RsFsw.ENBW_FACTOR`).
* I/Q (§3.3, §3.6): ``TRAC:IQ ON`` switches the spectrum measurement off and blanks the traces,
  so :meth:`~RsFsw.capture_iq` switches it off again (``TRAC:IQ OFF``) before returning;
  ``TRAC:IQ:SRAT``, ``TRAC:IQ:RLEN``, ``TRAC:IQ:DATA:FORM IQP``, ``INIT;*OPC?`` then
  ``TRAC:IQ:DATA:MEM?`` (the last capture): REAL,32 little-endian volts, I,Q pairs, 8 bytes per
  sample. The ADC full scale follows the reference level.
* Autolevel: ``SENS:ADJ:LEV;*OPC?`` [R3], measuring for ``SENS:ADJ:CONF:DUR`` seconds with
  ``SENS:ADJ:CONF:DUR:MODE MAN`` (0.001 to 16000 s; RsFsw's command list) when asked: the 1 ms
  default may see only the UL part of a TDD pattern.
"""

from __future__ import annotations

import logging
import math

from fivegbench.drivers.analyzer.swept import MAX_IQ_SAMPLES, IqSettings, OverloadRegister, SweptAnalyzer
from fivegbench.drivers.analyzer.trace import GAUSSIAN_ENBW_FACTOR, Trace
from fivegbench.drivers.settings import (
    Setting,
    as_bool,
    in_range,
    int_in_range,
    one_of,
    scpi_bool,
    scpi_number,
)
from fivegbench.errors import InstrumentError

__all__ = ["RsFsw", "Trace"]

log = logging.getLogger(__name__)


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

    ENBW_FACTOR = GAUSSIAN_ENBW_FACTOR
    # TRAC:IQ OFF: a capture that stopped half-way leaves the traces blank until it is sent
    PREPARE = ("*CLS", "TRAC:IQ OFF", "INIT:CONT OFF", "FORM REAL,32")
    SINGLE_SWEEP = "INIT;*OPC?"
    TRACE_QUERY = "TRAC:DATA? TRACE1"
    OVERLOAD_REGISTERS = (
        OverloadRegister(
            "STAT:QUES:POW",
            ((1, "RF overload"), (4, "IF overload"), (8, "input overload, RF input disconnected")),
        ),
    )

    IQ = IqSettings(
        sample_rate=Setting(
            "TRAC:IQ:SRAT?",
            "TRAC:IQ:SRAT",
            "I/Q sample rate (100 Hz … 10 GHz [U])",
            "Hz",
            in_range(100, 10e9),
        ),
        record=Setting[int](
            "TRAC:IQ:RLEN?",
            "TRAC:IQ:RLEN",
            "I/Q record length, samples",
            validator=int_in_range(2, MAX_IQ_SAMPLES),
            parse=int,
            format=str,
        ),
    )  # the ADC full scale follows the reference level
    IQ_ENTER = ("TRAC:IQ ON",)
    IQ_FORMAT = ("FORM REAL,32", "TRAC:IQ:DATA:FORM IQP")
    IQ_CAPTURE = "INIT;*OPC?"
    IQ_QUERY = "TRAC:IQ:DATA:MEM?"
    IQ_LEAVE = ("TRAC:IQ OFF",)
    AUTOLEVEL = "SENS:ADJ:LEV;*OPC?"
    AUTOLEVEL_DURATION = ("SENS:ADJ:CONF:DUR:MODE MAN", "SENS:ADJ:CONF:DUR {seconds}")

    def select_rms_detector(self) -> None:
        self.detector = "RMS"

    def set_iq_record_length(self, samples: int, sample_rate_hz: float) -> None:
        self.write_setting(self.IQ.record, samples)

    def iq_record_length(self, sample_rate_hz: float) -> int:
        return int(self.read_setting(self.IQ.record))

    ACP_RESULT_QUERY = "CALC:MARK:FUNC:POW:RES? ACP"

    def setup_acp(self, channel_bandwidth_hz: float, spacing_hz: float) -> None:
        # ADJ spacing first: setting it rescales the ALT spacings, so ALT1 is set after it
        width = scpi_number(channel_bandwidth_hz)
        for command in (
            "CALC:MARK:FUNC:POW:SEL ACP",
            "POW:ACH:TXCH:COUN 1",
            "POW:ACH:ACP 2",
            f"POW:ACH:BAND {width}",
            f"POW:ACH:BAND:ACH {width}",
            f"POW:ACH:BAND:ALT1 {width}",
            f"POW:ACH:SPAC {scpi_number(spacing_hz)}",
            f"POW:ACH:SPAC:ALT1 {scpi_number(2 * spacing_hz)}",
            "POW:ACH:MODE REL",
        ):
            self.transport.write(command)
        self.check_errors("ACLR setup")

    def instrument_aclr_db(self) -> tuple[float, float, float, float]:
        """The FSW's own ACLR of the last sweep; the power function is switched off after it.

        The reply in relative mode is TX power (dBm), then lower/upper ADJ and ALT1 relative to
        it (dB, negative): the ACLR is their negation. A channel off screen (SCPI NaN) is NaN.
        """
        query = self.ACP_RESULT_QUERY
        reply = self.transport.query(query)
        self.transport.write("CALC:MARK:FUNC:POW OFF")
        self.check_errors("ACLR result")
        try:
            values = [float(v) for v in reply.split(",")]
        except ValueError:
            raise InstrumentError(self.role, query, None, f"unexpected reply {reply!r}") from None
        if len(values) != 5:
            raise InstrumentError(self.role, query, None, f"{len(values)} values, expected 5: {reply!r}")
        lower1, upper1, lower2, upper2 = (-v if abs(v) < 9e37 else math.nan for v in values[1:])
        return lower1, upper1, lower2, upper2
