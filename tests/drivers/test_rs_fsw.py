"""Exact-exchange protocol tests for the R&S FSW driver against the scripted transport."""

import math
import struct

import numpy as np
import pytest

from fivegbench.drivers.analyzer.rs_fsw import RsFsw
from fivegbench.errors import InstrumentError
from fivegbench.transport.scripted import ScriptedTransport

NO_ERROR = ("SYST:ERR?", '0,"No error"')

SETTINGS = [
    ("center_frequency", 3.75e9, "FREQ:CENT 3750000000", "3.75E+09"),
    ("span", 200e6, "FREQ:SPAN 200000000", "2.0E+08"),
    ("rbw", 100e3, "BAND 100000", "100000"),
    ("vbw", 1e6, "BAND:VID 1000000", "1E6"),
    ("reference_level", -3.5, "DISP:TRAC:Y:RLEV -3.5", "-3.5"),
    ("attenuation", 20, "INP:ATT 20", "20"),
    ("attenuation_auto", True, "INP:ATT:AUTO ON", "1"),
    ("detector", "rms", "DET RMS", "RMS"),
    ("sweep_points", 10001, "SWE:POIN 10001", "10001"),
    ("sweep_time", 0.05, "SWE:TIME 0.05", "0.05"),
    ("continuous", False, "INIT:CONT OFF", "0"),
]


@pytest.mark.parametrize(("name", "value", "command", "reply"), SETTINGS)
def test_setting_write_and_read(name, value, command, reply):
    query = getattr(RsFsw, name).get_command
    with ScriptedTransport([(command, None), (query, reply)]) as t:
        fsw = RsFsw(t)
        setattr(fsw, name, value)
        read_back = getattr(fsw, name)
    expected = getattr(RsFsw, name).validator(value)
    assert read_back == pytest.approx(expected) if isinstance(expected, float) else read_back == expected


REJECTED = [
    ("center_frequency", -1.0),
    ("center_frequency", float("nan")),
    ("span", 1e12),
    ("rbw", 0.0),
    ("vbw", -5.0),
    ("reference_level", 45.0),
    ("attenuation", 80),
    ("attenuation_auto", "yes"),
    ("detector", "QUASIPEAK"),
    ("sweep_points", 100),
    ("sweep_points", 1000.5),
    ("sweep_time", 0.0),
    ("continuous", 1),
]


@pytest.mark.parametrize(("name", "value"), REJECTED)
def test_validator_rejects_with_nothing_sent(name, value):
    with ScriptedTransport([]) as t, pytest.raises(ValueError, match=name):
        setattr(RsFsw(t), name, value)
    assert t.sent == []


def test_idn_and_prepare():
    idn = "Rohde&Schwarz,FSW-26,1331.5003K26/101234,5.30"
    pairs = [
        ("*IDN?", idn),
        ("*CLS", None),
        ("TRAC:IQ OFF", None),  # back to the spectrum if a capture stopped half-way
        ("INIT:CONT OFF", None),
        ("FORM REAL,32", None),  # no FORM:BORD: the FSW has none (-113); REAL,32 is little-endian
        NO_ERROR,
    ]
    with ScriptedTransport(pairs) as t:
        fsw = RsFsw(t)
        assert fsw.idn() == idn
        fsw.prepare()


def test_error_queue_becomes_instrument_error_with_code():
    pairs = [("SYST:ERR?", '-113,"Undefined header"'), ("SYST:ERR?", '-222,"Data out of range"'), NO_ERROR]
    with ScriptedTransport(pairs) as t, pytest.raises(InstrumentError) as info:
        RsFsw(t).check_errors("configure")
    assert info.value.code == -113
    assert "Undefined header" in str(info.value) and "+1 more" in str(info.value)


def test_keysight_style_no_error_reply_is_accepted():
    with ScriptedTransport([("SYST:ERR?", '+0,"No error"')]) as t:
        RsFsw(t).check_errors("x")


def test_trace_is_decoded_little_endian():
    values = np.array([-10.5, -80.25, 3.0], dtype="<f4")
    with ScriptedTransport([("TRAC:DATA? TRACE1", values.tobytes())]) as t:
        trace = RsFsw(t).trace_dbm()
    np.testing.assert_array_equal(trace, values.astype(float))
    assert struct.unpack("<f", values.tobytes()[:4])[0] == -10.5


def test_trace_with_partial_float_is_an_error():
    with ScriptedTransport([("TRAC:DATA? TRACE1", b"\x00" * 7)]) as t, pytest.raises(InstrumentError):
        RsFsw(t).trace_dbm()


ACQUIRE_CONFIGURE = [
    ("FREQ:CENT 3750000000", None),
    ("FREQ:SPAN 200000000", None),
    ("BAND 110000", None),
    ("BAND:VID 1000000", None),
    ("SWE:POIN 101", None),
    ("DET RMS", None),
    ("DISP:TRAC:Y:RLEV 10", None),
    ("INP:ATT:AUTO ON", None),
    NO_ERROR,
]


def test_acquire_builds_the_trace_from_the_values_read_back():
    values = np.linspace(-60, -20, 101).astype("<f4")
    pairs = [
        *ACQUIRE_CONFIGURE,
        ("FREQ:CENT?", "3.75E+09"),
        ("FREQ:SPAN?", "1.98E+08"),  # the analyzer narrowed it
        ("SWE:POIN?", "101"),
        ("BAND?", "1E+05"),  # the 1-2-3-5 step nearest 110 kHz
        ("BAND:VID?", "1E+06"),
        ("SWE:TIME?", "0.05"),
        ("INP:ATT?", "20"),
        ("DISP:TRAC:Y:RLEV?", "1E+01"),
        ("STAT:QUES:POW:EVEN?", "1"),  # read before the sweep: what configuring latched
        ("INIT;*OPC?", "1"),
        ("TRAC:DATA? TRACE1", values.tobytes()),
        ("STAT:QUES:POW:COND?", "0"),
        ("STAT:QUES:POW:EVEN?", "1"),  # the overload came and went during the sweep
        NO_ERROR,
    ]
    with ScriptedTransport(pairs) as t:
        trace = RsFsw(t).acquire(3.75e9, 200e6, 110e3, 1e6, 101, 10.0)
    assert trace.overload == ("RF overload",)
    assert trace.rbw_hz == 100e3 and trace.vbw_hz == 1e6 and trace.reference_level_dbm == 10.0
    assert trace.sweep_time_s == 0.05 and trace.attenuation_db == 20
    assert trace.freqs_hz[0] == 3.651e9 and trace.freqs_hz[-1] == 3.849e9
    assert trace.enbw_factor == pytest.approx(1.0645, abs=1e-4)  # the Gaussian RBW filter
    np.testing.assert_allclose(trace.power_dbm, values)


def test_acquire_with_a_trace_of_another_length_is_an_error():
    pairs = [
        *ACQUIRE_CONFIGURE,
        ("FREQ:CENT?", "3.75E+09"),
        ("FREQ:SPAN?", "2E+08"),
        ("SWE:POIN?", "101"),
        ("BAND?", "1E+05"),
        ("BAND:VID?", "1E+06"),
        ("SWE:TIME?", "0.05"),
        ("INP:ATT?", "20"),
        ("DISP:TRAC:Y:RLEV?", "10"),
        ("STAT:QUES:POW:EVEN?", "0"),
        ("INIT;*OPC?", "1"),
        ("TRAC:DATA? TRACE1", np.zeros(100, dtype="<f4").tobytes()),
    ]
    with (
        ScriptedTransport(pairs) as t,
        pytest.raises(InstrumentError, match="100 points, the analyzer is set to 101"),
    ):
        RsFsw(t).acquire(3.75e9, 200e6, 110e3, 1e6, 101, 10.0)


# -- I/Q ------------------------------------------------------------------------------------------

IQ_CONFIGURE = [
    ("TRAC:IQ ON", None),
    ("FREQ:CENT 3750000000", None),
    ("DISP:TRAC:Y:RLEV 7", None),
    ("INP:ATT:AUTO ON", None),
    ("TRAC:IQ:SRAT 1000000", None),
    ("TRAC:IQ:SRAT?", "1E+06"),
    ("TRAC:IQ:RLEN 4", None),
    ("FORM REAL,32", None),
    ("TRAC:IQ:DATA:FORM IQP", None),
    NO_ERROR,
    ("TRAC:IQ:RLEN?", "4"),
    ("FREQ:CENT?", "3.75E+09"),
    ("DISP:TRAC:Y:RLEV?", "7"),
    ("INP:ATT?", "2E+01"),
    ("STAT:QUES:POW:EVEN?", "0"),
    ("INIT;*OPC?", "1"),
]
IQ_VALUES = np.array([0.5, -0.25, 0.75, 2.0, -1.5, 0.0, 0.125, -0.0625], dtype="<f4")  # I, Q pairs


def test_capture_iq_exchange():
    pairs = [
        *IQ_CONFIGURE,
        ("TRAC:IQ:DATA:MEM?", IQ_VALUES.tobytes()),
        ("STAT:QUES:POW:COND?", "4"),
        ("STAT:QUES:POW:EVEN?", "4"),
        NO_ERROR,
        ("TRAC:IQ OFF", None),  # the spectrum back, traces no longer blank
        NO_ERROR,
    ]
    with ScriptedTransport(pairs) as t:
        acquisition = RsFsw(t).capture_iq(3.75e9, 1e6, 4e-6, 7.0)
    np.testing.assert_array_equal(acquisition.samples, [0.5 - 0.25j, 0.75 + 2j, -1.5 + 0j, 0.125 - 0.0625j])
    assert acquisition.samples.dtype == np.complex64
    assert (acquisition.sample_rate_hz, acquisition.center_hz) == (1e6, 3.75e9)
    assert (acquisition.reference_level_dbm, acquisition.attenuation_db) == (7.0, 20.0)
    assert acquisition.overload == ("IF overload",)
    assert acquisition.duration_s == 4e-6


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (IQ_VALUES.tobytes()[:-4], "28 bytes is not REAL,32 I/Q pairs"),
        (IQ_VALUES[:6].tobytes(), "3 samples, expected 4"),
        (np.r_[IQ_VALUES[:7], np.float32("nan")].astype("<f4").tobytes(), "1 of 8 values are not numbers"),
    ],
)
def test_capture_iq_refuses_a_bad_block_and_still_leaves_iq_mode(payload, message):
    pairs = [*IQ_CONFIGURE, ("TRAC:IQ:DATA:MEM?", payload), ("TRAC:IQ OFF", None)]
    with ScriptedTransport(pairs) as t, pytest.raises(InstrumentError, match=message):
        RsFsw(t).capture_iq(3.75e9, 1e6, 4e-6, 7.0)


def test_capture_iq_leaves_iq_mode_after_an_instrument_error():
    pairs = [
        *IQ_CONFIGURE[:9],
        ("SYST:ERR?", '-222,"Data out of range"'),
        NO_ERROR,
        ("TRAC:IQ OFF", None),
    ]
    with ScriptedTransport(pairs) as t, pytest.raises(InstrumentError, match="Data out of range"):
        RsFsw(t).capture_iq(3.75e9, 1e6, 4e-6, 7.0)


@pytest.mark.parametrize(
    ("rate", "duration"), [(0.0, 1e-3), (1e6, -1e-3), (float("nan"), 1e-3), (1e6, float("inf")), (10e9, 1.0)]
)
def test_capture_iq_rejects_a_capture_with_nothing_sent(rate, duration):
    with ScriptedTransport([]) as t, pytest.raises(ValueError, match="capture_iq"):
        RsFsw(t).capture_iq(3.75e9, rate, duration, 0.0)
    assert t.sent == []


def test_capture_iq_setting_out_of_the_family_range_is_refused_and_iq_mode_left():
    pairs = [
        ("TRAC:IQ ON", None),
        ("FREQ:CENT 3750000000", None),
        ("DISP:TRAC:Y:RLEV 7", None),
        ("INP:ATT:AUTO ON", None),
        ("TRAC:IQ OFF", None),
    ]
    with ScriptedTransport(pairs) as t, pytest.raises(ValueError, match="iq_sample_rate"):
        RsFsw(t).capture_iq(3.75e9, 50.0, 1.0, 7.0)  # below the FSW's 100 Hz


def test_autolevel_returns_the_reference_level_read_back():
    pairs = [("SENS:ADJ:LEV;*OPC?", "1"), NO_ERROR, ("DISP:TRAC:Y:RLEV?", "9")]
    with ScriptedTransport(pairs) as t:
        assert RsFsw(t).autolevel() == 9.0


def test_opc_reply_other_than_one_is_an_error():
    with ScriptedTransport([("INIT;*OPC?", "0")]) as t, pytest.raises(InstrumentError):
        RsFsw(t).single_sweep(0.1)


@pytest.mark.parametrize(
    ("condition", "event", "conditions"),
    [
        ("0", "0", ()),
        ("1", "0", ("RF overload",)),
        ("0", "4", ("IF overload",)),
        ("8", "8", ("input overload, RF input disconnected",)),
        ("2", "2", ()),  # bit 1 is RF underload, not overload
        ("13", "0", ("RF overload", "IF overload", "input overload, RF input disconnected")),
    ],
)
def test_overload_is_mask_13_of_questionable_power(condition, event, conditions):
    pairs = [("STAT:QUES:POW:COND?", condition), ("STAT:QUES:POW:EVEN?", event)]
    with ScriptedTransport(pairs) as t:
        assert RsFsw(t).overload_conditions() == conditions


def test_acp_setup_exchange():
    pairs = [
        ("CALC:MARK:FUNC:POW:SEL ACP", None),
        ("POW:ACH:TXCH:COUN 1", None),
        ("POW:ACH:ACP 2", None),
        ("POW:ACH:BAND 98280000", None),
        ("POW:ACH:BAND:ACH 98280000", None),
        ("POW:ACH:BAND:ALT1 98280000", None),
        ("POW:ACH:SPAC 100000000", None),
        ("POW:ACH:SPAC:ALT1 200000000", None),
        ("POW:ACH:MODE REL", None),
        NO_ERROR,
    ]
    with ScriptedTransport(pairs) as t:
        RsFsw(t).setup_acp(98.28e6, 100e6)


def test_instrument_aclr_is_the_negated_relative_result():
    pairs = [
        ("CALC:MARK:FUNC:POW:RES? ACP", "-10.5,-45.25,-46.5,-60.125,-61"),
        ("CALC:MARK:FUNC:POW OFF", None),
        NO_ERROR,
    ]
    with ScriptedTransport(pairs) as t:
        assert RsFsw(t).instrument_aclr_db() == (45.25, 46.5, 60.125, 61.0)


def test_instrument_aclr_of_a_channel_off_screen_is_nan():
    pairs = [
        ("CALC:MARK:FUNC:POW:RES? ACP", "-10.5,-45.25,-46.5,9.91E+37,9.91E+37"),
        ("CALC:MARK:FUNC:POW OFF", None),
        NO_ERROR,
    ]
    with ScriptedTransport(pairs) as t:
        lower1, upper1, lower2, upper2 = RsFsw(t).instrument_aclr_db()
    assert (lower1, upper1) == (45.25, 46.5)
    assert math.isnan(lower2) and math.isnan(upper2)


@pytest.mark.parametrize("reply", ["-10.5,-45.25,-46.5", "ACP,OFF", ""])
def test_instrument_aclr_short_or_garbled_is_an_error(reply):
    pairs = [("CALC:MARK:FUNC:POW:RES? ACP", reply), ("CALC:MARK:FUNC:POW OFF", None), NO_ERROR]
    with ScriptedTransport(pairs) as t, pytest.raises(InstrumentError):
        RsFsw(t).instrument_aclr_db()
