"""Keysight X-series (N9030B PXA, N9020B MXA, ...) signal analyzer: Spectrum Analyzer mode, and
I/Q capture in the I/Q Analyzer (Basic) mode's waveform measurement.

Commands from reference/instrument-comms.md §3.1–3.3 and §3.6 (Keysight column: QCoDeS N9030B
driver, N9030A user manual, X-series SA-mode and IQ-waveform references). Differences from the
R&S FSW that matter to a driver:

* Byte order: ``FORM:BORD NORMal`` is the preset and means big-endian (MSB first) on Keysight
  (§1.3), the opposite of R&S. ``prepare`` sends ``FORM:BORD SWAP`` and the traces are decoded
  little-endian. Whether ``FORM:BORD`` also applies to the ``WAV0`` I/Q data is not verified
  [U]: :meth:`~KeysightX.capture_iq` sends ``:FORM REAL,32`` and ``:FORM:BORD SWAP`` in Basic
  mode too and decodes little-endian. Byte-swapped volts are mostly finite (tiny or huge
  numbers), so a wrong order would show as absurd levels, not as a refused block: check it once
  on a real instrument against a known level.
* RMS detection is two settings: the Average detector (``:SENS:DET:TRAC AVER``) with power
  averaging (``:SENS:AVER:TYPE RMS``). The preset average type is log-power, which under-reads a
  noise-like signal by about 2.5 dB, so ``acquire`` always sets both.
* ``SYST:ERR?`` answers ``+0,"No error"`` (a leading sign); :func:`drain_errors` accepts it.
* Overload (§3.6, X-series status-register tables): ``STAT:QUES:INT`` bit 4 (16) Input
  Overload and bit 5 (32) Over Range, ``STAT:QUES:POW`` bit 6 (64) Input Port Overload. Bit 0
  of ``STAT:QUES:INT`` is Signal Summary, not overload.
* I/Q (§3.3, §3.6): ``:INST:SEL BASIC;*OPC?``, ``:CONF:WAV``, ``:SENS:FREQ:CENT``,
  ``:SENS:WAV:SRAT``, ``:SENS:WAV:SWE:TIME`` (the capture length is a time: samples = time x
  rate), ``:INIT:CONT OFF``, then ``:INIT:WAV;*OPC?`` and ``:FETC:WAV0?`` (I,Q interleaved
  float32 volts), and back to ``:INST:SEL SA;*OPC?``. In Basic mode the ADC full scale follows
  the input range ``:SENS:POW:RANG`` [U: the node is the X-series I/Q modes' "Range", as public
  lab scripts use it; not checked in the Basic-mode reference].
* Autolevel: ``:SENS:POW:RANG:OPT IMM;*OPC?`` ("adjust for minimum clipping") [U: §3.2 names it
  with "check the manual"; public X-series lab scripts send it in SA-mode measurements]. No
  command sets how long it measures [U], so on a TDD carrier it may level on UL symbols; the
  measurement layer checks the level it chose against the carrier's expected power.

Assumption [U]: the X-series swept RBW filter is Gaussian, like the FSW's, so the driver's
:attr:`KeysightX.ENBW_FACTOR` is the Gaussian 1.0645. The reference is silent on the Keysight
filter shape (§3.2 only names the ``:SENS:BAND:TYPE DB3`` -3 dB definition).
"""

from __future__ import annotations

import logging
import math

from fivegbench.drivers.analyzer.swept import IqSettings, OverloadRegister, SweptAnalyzer
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

__all__ = ["KeysightX", "Trace"]

log = logging.getLogger(__name__)


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

    ENBW_FACTOR = GAUSSIAN_ENBW_FACTOR  # [U]: see the module docstring
    # :INST:SEL SA: a capture that stopped half-way leaves the analyzer in Basic mode
    PREPARE = ("*CLS", ":INST:SEL SA;*OPC?", ":INIT:CONT OFF", ":FORM REAL,32", ":FORM:BORD SWAP")
    SINGLE_SWEEP = ":INIT:IMM;*OPC?"
    TRACE_QUERY = ":TRAC:DATA? TRACE1"
    OVERLOAD_REGISTERS = (
        OverloadRegister(":STAT:QUES:INT", ((16, "input overload"), (32, "over range"))),
        OverloadRegister(":STAT:QUES:POW", ((64, "input port overload"),)),
    )

    IQ = IqSettings(
        sample_rate=Setting(
            ":SENS:WAV:SRAT?", ":SENS:WAV:SRAT", "I/Q sample rate (Basic mode)", "Hz", in_range(1e3, 600e6)
        ),
        record=Setting(
            ":SENS:WAV:SWE:TIME?",
            ":SENS:WAV:SWE:TIME",
            "I/Q capture time (Basic mode)",
            "s",
            in_range(1e-6, 40),
        ),
        level=Setting(
            ":SENS:POW:RANG?",
            ":SENS:POW:RANG",
            "Input range the ADC full scale follows (Basic mode) [U]",
            "dBm",
            in_range(-170, 30),
        ),
    )
    IQ_ENTER = (":INST:SEL BASIC;*OPC?", ":CONF:WAV", ":INIT:CONT OFF")
    IQ_FORMAT = (":FORM REAL,32", ":FORM:BORD SWAP")  # [U] whether BORD applies to WAV0
    IQ_CAPTURE = ":INIT:WAV;*OPC?"
    IQ_QUERY = ":FETC:WAV0?"
    IQ_LEAVE = (":INST:SEL SA;*OPC?",)
    AUTOLEVEL = ":SENS:POW:RANG:OPT IMM;*OPC?"

    def select_rms_detector(self) -> None:
        """The Average detector with power averaging: Keysight's RMS."""
        self.detector = "AVER"
        self.average_type = "RMS"

    def set_iq_record_length(self, samples: int, sample_rate_hz: float) -> None:
        self.write_setting(self.IQ.record, samples / sample_rate_hz)

    def iq_record_length(self, sample_rate_hz: float) -> int:
        """Samples in a capture: the capture time times the sample rate (both read back)."""
        return round(float(self.read_setting(self.IQ.record)) * sample_rate_hz)

    #: :FETC:ACP? indexes of the lower/upper relative powers of offsets A and B (dB, negative).
    ACP_RELATIVE_INDEXES = (4, 6, 8, 10)
    _acp: tuple[float, float] | None = None

    def setup_acp(self, channel_bandwidth_hz: float, spacing_hz: float) -> None:
        """Remembered only: the X-series ACP is a measurement of its own, run by
        :meth:`instrument_aclr_db` after the swept trace."""
        self._acp = (channel_bandwidth_hz, spacing_hz)

    def instrument_aclr_db(self) -> tuple[float, float, float, float]:
        """The ACP measurement (offsets A and B), then back to the swept SA measurement; NaN for
        an offset it did not measure (SCPI NaN, 9.91E37)."""
        if self._acp is None:
            raise InstrumentError(self.role, ":CONF:ACP", None, "setup_acp was not called")
        width, spacing = (scpi_number(v) for v in self._acp)
        sweep_time = self.sweep_time  # the swept SA's, read before leaving it: the ACP's is no longer
        for command in (
            ":CONF:ACP",
            f":SENS:ACP:CARR:LIST:BAND {width}",
            f":SENS:ACP:OFFS:LIST {spacing},{scpi_number(2 * self._acp[1])},0,0,0,0",
            f":SENS:ACP:OFFS:LIST:BAND {','.join([width] * 6)}",
            ":SENS:ACP:OFFS:LIST:STAT 1,1,0,0,0,0",
        ):
            self.transport.write(command)
        self.check_errors("ACP setup")
        with self.transport.timeout(sweep_time * 1.5 + 5.0):
            done = self.transport.query(":INIT:ACP;*OPC?")
        if done.strip() != "1":
            raise InstrumentError(self.role, ":INIT:ACP;*OPC?", None, f"unexpected reply {done!r}")
        query = ":FETC:ACP?"
        reply = self.transport.query(query)
        self.transport.write(":CONF:SAN")
        self.check_errors("ACP result")
        try:
            values = [float(v) for v in reply.split(",")]
            relative = [values[i] for i in self.ACP_RELATIVE_INDEXES]
        except (ValueError, IndexError):
            raise InstrumentError(self.role, query, None, f"unexpected reply {reply!r}") from None
        lower1, upper1, lower2, upper2 = (-v if abs(v) < 9e37 else math.nan for v in relative)
        return lower1, upper1, lower2, upper2
