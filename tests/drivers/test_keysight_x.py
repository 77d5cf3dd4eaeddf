"""Exact-exchange protocol tests for the Keysight X-series driver against the scripted transport."""

import math
import struct

import numpy as np
import pytest

from fivegbench.drivers.analyzer.keysight_x import KeysightX
from fivegbench.drivers.analyzer.rs_fsw import Trace
from fivegbench.drivers.analyzer.trace import Trace as SharedTrace
from fivegbench.errors import InstrumentError
from fivegbench.transport.scripted import ScriptedTransport

NO_ERROR = ("SYST:ERR?", '+0,"No error"')

SETTINGS = [
    ("center_frequency", 3.75e9, ":SENS:FREQ:CENT 3750000000", "+3.75000000E+009"),
    ("span", 200e6, ":SENS:FREQ:SPAN 200000000", "2.0E+08"),
    ("rbw", 100e3, ":SENS:BAND:RES 100000", "100000"),
    ("vbw", 1e6, ":SENS:BAND:VID 1000000", "1E6"),
    ("reference_level", -3.5, ":DISP:WIND:TRAC:Y:SCAL:RLEV -3.5", "-3.50E+00"),
    ("attenuation", 20, ":SENS:POW:ATT 20", "+20"),
    ("attenuation_auto", True, ":SENS:POW:ATT:AUTO ON", "1"),
    ("attenuation_auto", False, ":SENS:POW:ATT:AUTO OFF", "0"),
    ("detector", "aver", ":SENS:DET:TRAC AVER", "AVER"),
    ("detector", "NORM", ":SENS:DET:TRAC NORM", "NORM"),
    ("average_type", "rms", ":SENS:AVER:TYPE RMS", "RMS"),
    ("average_type", "LOG", ":SENS:AVER:TYPE LOG", "LOG"),
    ("sweep_points", 1, ":SENS:SWE:POIN 1", "+1"),
    ("sweep_points", 100001, ":SENS:SWE:POIN 100001", "+100001"),
    ("sweep_time", 0.05, ":SENS:SWE:TIME 0.05", "5.000000000E-02"),
    ("continuous", False, ":INIT:CONT OFF", "0"),
]


@pytest.mark.parametrize(("name", "value", "command", "reply"), SETTINGS)
def test_setting_write_and_read(name, value, command, reply):
    query = getattr(KeysightX, name).get_command
    assert query == getattr(KeysightX, name).set_command + "?"
    with ScriptedTransport([(command, None), (query, reply)]) as t:
        analyzer = KeysightX(t)
        setattr(analyzer, name, value)
        read_back = getattr(analyzer, name)
    expected = getattr(KeysightX, name).validator(value)
    assert read_back == pytest.approx(expected) if isinstance(expected, float) else read_back == expected


REJECTED = [
    ("center_frequency", -1.0),
    ("center_frequency", float("nan")),
    ("span", 1e12),
    ("rbw", 0.0),
    ("rbw", 10e6),
    ("vbw", -5.0),
    ("reference_level", 45.0),
    ("attenuation", 72),
    ("attenuation_auto", "yes"),
    ("detector", "RMS"),
    ("average_type", "POWER"),
    ("sweep_points", 0),
    ("sweep_points", 100002),
    ("sweep_points", 1000.5),
    ("sweep_time", 0.0),
    ("continuous", 1),
]


@pytest.mark.parametrize(("name", "value"), REJECTED)
def test_validator_rejects_with_nothing_sent(name, value):
    with ScriptedTransport([]) as t, pytest.raises(ValueError, match=name):
        setattr(KeysightX(t), name, value)
    assert t.sent == []


PREPARE = [
    ("*CLS", None),
    (":INST:SEL SA;*OPC?", "1"),  # back to the spectrum if a capture stopped half-way
    (":INIT:CONT OFF", None),
    (":FORM REAL,32", None),
    (":FORM:BORD SWAP", None),
]


def test_idn_and_prepare():
    idn = "Keysight Technologies,N9030B,MY12345678,A.33.03"
    pairs = [
        ("*IDN?", idn),
        *PREPARE,
        NO_ERROR,
    ]
    with ScriptedTransport(pairs) as t:
        analyzer = KeysightX(t)
        assert analyzer.idn() == idn
        analyzer.prepare()


def test_prepare_reports_an_error_from_the_queue():
    pairs = [
        *PREPARE,
        ("SYST:ERR?", '-222,"Data out of range"'),
        NO_ERROR,
    ]
    with ScriptedTransport(pairs) as t, pytest.raises(InstrumentError) as info:
        KeysightX(t, role="sa").prepare()
    assert info.value.code == -222
    assert "Data out of range" in str(info.value) and "more" not in str(info.value)


def test_error_queue_becomes_instrument_error_with_code():
    pairs = [("SYST:ERR?", '-113,"Undefined header"'), ("SYST:ERR?", '-222,"Data out of range"'), NO_ERROR]
    with ScriptedTransport(pairs) as t, pytest.raises(InstrumentError) as info:
        KeysightX(t).check_errors("configure")
    assert info.value.code == -113
    assert "Undefined header" in str(info.value) and "+1 more" in str(info.value)


def test_signed_no_error_reply_is_an_empty_queue():
    with ScriptedTransport([NO_ERROR]) as t:
        KeysightX(t).check_errors("x")


def test_trace_is_decoded_little_endian():
    values = np.array([-10.5, -80.25, 3.0], dtype="<f4")
    with ScriptedTransport([(":TRAC:DATA? TRACE1", values.tobytes())]) as t:
        trace = KeysightX(t).trace_dbm()
    np.testing.assert_array_equal(trace, values.astype(float))
    assert trace.dtype == np.float64
    assert struct.unpack("<f", values.tobytes()[:4])[0] == -10.5


def test_big_endian_payload_is_not_what_we_decode():
    """The preset byte order (NORMal, big-endian) would be misread: prepare must send SWAP."""
    values = np.array([-10.5, -80.25], dtype=">f4")
    with ScriptedTransport([(":TRAC:DATA? TRACE1", values.tobytes())]) as t:
        trace = KeysightX(t).trace_dbm()
    assert not np.allclose(trace, values.astype(float))


def test_trace_with_partial_float_is_an_error():
    with ScriptedTransport([(":TRAC:DATA? TRACE1", b"\x00" * 7)]) as t, pytest.raises(InstrumentError):
        KeysightX(t).trace_dbm()


OVERLOAD_CASES = [
    # INT condition, INT event, POW condition, POW event -> what the driver reports
    (("+0", "+0", "+0", "+0"), ()),
    (("+1", "+1", "+0", "+0"), ()),  # bit 0 is Signal Summary, not overload
    (("+16", "+0", "+0", "+0"), ("input overload",)),
    (("+0", "+16", "+0", "+0"), ("input overload",)),  # latched during the sweep, gone since
    (("+0", "+32", "+0", "+0"), ("over range",)),
    (("+48", "+16", "+0", "+0"), ("input overload", "over range")),
    (("+0", "+0", "+0", "+64"), ("input port overload",)),
    (("+0", "+0", "+63", "+0"), ()),  # POW bits other than 6
]


@pytest.mark.parametrize(("replies", "conditions"), OVERLOAD_CASES)
def test_overload_bits_of_questionable_integrity_and_power(replies, conditions):
    queries = (":STAT:QUES:INT:COND?", ":STAT:QUES:INT:EVEN?", ":STAT:QUES:POW:COND?", ":STAT:QUES:POW:EVEN?")
    with ScriptedTransport(list(zip(queries, replies, strict=True))) as t:
        assert KeysightX(t).overload_conditions() == conditions


def test_overload_reply_that_is_not_a_number_is_an_error():
    with ScriptedTransport([(":STAT:QUES:INT:COND?", "OVLD")]) as t, pytest.raises(InstrumentError):
        KeysightX(t).overload_conditions()


def acquire_pairs(values: np.ndarray, overload: str = "+16") -> list:
    return [
        (":SENS:FREQ:CENT 3750000000", None),
        (":SENS:FREQ:SPAN 200000000", None),
        (":SENS:BAND:RES 104000", None),
        (":SENS:BAND:VID 1000000", None),
        (":SENS:SWE:POIN 101", None),
        (":SENS:DET:TRAC AVER", None),
        (":SENS:AVER:TYPE RMS", None),
        (":DISP:WIND:TRAC:Y:SCAL:RLEV 10", None),
        (":SENS:POW:ATT:AUTO ON", None),
        NO_ERROR,
        (":SENS:FREQ:CENT?", "+3.75000000E+009"),
        (":SENS:FREQ:SPAN?", "+2.00000000E+008"),
        (":SENS:SWE:POIN?", "+101"),
        (":SENS:BAND:RES?", "+1.00000000E+005"),  # the ~10 % step nearest 104 kHz
        (":SENS:BAND:VID?", "+1.00000000E+006"),
        (":SENS:SWE:TIME?", "+5.000000000E-02"),
        (":SENS:POW:ATT?", "+20"),
        (":DISP:WIND:TRAC:Y:SCAL:RLEV?", "+1.00E+01"),
        (":STAT:QUES:INT:EVEN?", "+16"),  # read before the sweep: what configuring latched
        (":STAT:QUES:POW:EVEN?", "+0"),
        (":INIT:IMM;*OPC?", "1"),
        (":TRAC:DATA? TRACE1", values.tobytes()),
        (":STAT:QUES:INT:COND?", "+0"),
        (":STAT:QUES:INT:EVEN?", overload),
        (":STAT:QUES:POW:COND?", "+0"),
        (":STAT:QUES:POW:EVEN?", "+0"),
        NO_ERROR,
    ]


def test_acquire_exchange():
    values = np.linspace(-60, -20, 101).astype("<f4")
    with ScriptedTransport(acquire_pairs(values)) as t:
        trace = KeysightX(t).acquire(3.75e9, 200e6, 104e3, 1e6, 101, 10.0)
    assert isinstance(trace, Trace) and Trace is SharedTrace
    assert trace.overload == ("input overload",)
    assert trace.detector == "RMS"
    assert trace.enbw_factor == pytest.approx(1.0645, abs=1e-4)  # Gaussian, assumed [U]
    assert trace.sweep_time_s == 0.05 and trace.attenuation_db == 20
    assert trace.rbw_hz == 100e3 and trace.vbw_hz == 1e6 and trace.reference_level_dbm == 10.0
    assert trace.freqs_hz[0] == 3.65e9 and trace.freqs_hz[-1] == 3.85e9
    np.testing.assert_allclose(trace.power_dbm, values)


def test_acquire_with_wrong_point_count_is_an_error():
    values = np.zeros(100, dtype="<f4")
    pairs = acquire_pairs(values)[:22]
    with (
        ScriptedTransport(pairs) as t,
        pytest.raises(InstrumentError, match="100 points, the analyzer is set to 101"),
    ):
        KeysightX(t).acquire(3.75e9, 200e6, 104e3, 1e6, 101, 10.0)


def test_acquire_stops_at_a_rejected_argument():
    pairs = [(":SENS:FREQ:CENT 3750000000", None), (":SENS:FREQ:SPAN 200000000", None)]
    with ScriptedTransport(pairs) as t, pytest.raises(ValueError, match="rbw"):
        KeysightX(t).acquire(3.75e9, 200e6, 20e6, 1e6, 101, 10.0)
    assert t.sent == [":SENS:FREQ:CENT 3750000000", ":SENS:FREQ:SPAN 200000000"]


def test_opc_reply_other_than_one_is_an_error():
    with ScriptedTransport([(":INIT:IMM;*OPC?", "0")]) as t, pytest.raises(InstrumentError):
        KeysightX(t).single_sweep(0.1)


def test_acquire_without_overload_reports_none():
    values = np.linspace(-60, -20, 101).astype("<f4")
    with ScriptedTransport(acquire_pairs(values, overload="+1")) as t:
        trace = KeysightX(t).acquire(3.75e9, 200e6, 104e3, 1e6, 101, 10.0)
    assert trace.overload == ()


# -- I/Q ------------------------------------------------------------------------------------------

IQ_CONFIGURE = [
    (":INST:SEL BASIC;*OPC?", "1"),
    (":CONF:WAV", None),
    (":INIT:CONT OFF", None),
    (":SENS:FREQ:CENT 3750000000", None),
    (":SENS:POW:RANG 7", None),
    (":SENS:POW:ATT:AUTO ON", None),
    (":SENS:WAV:SRAT 1000000", None),
    (":SENS:WAV:SRAT?", "+1.00000000E+006"),
    (":SENS:WAV:SWE:TIME 4e-06", None),  # the capture length is a time on the X-series
    (":FORM REAL,32", None),
    (":FORM:BORD SWAP", None),
    NO_ERROR,
    (":SENS:WAV:SWE:TIME?", "+4.000000000E-06"),
    (":SENS:FREQ:CENT?", "+3.75000000E+009"),
    (":SENS:POW:RANG?", "+7.00E+00"),
    (":SENS:POW:ATT?", "+20"),
    (":STAT:QUES:INT:EVEN?", "+0"),
    (":STAT:QUES:POW:EVEN?", "+0"),
    (":INIT:WAV;*OPC?", "1"),
]
IQ_VALUES = np.array([0.5, -0.25, 0.75, 2.0, -1.5, 0.0, 0.125, -0.0625], dtype="<f4")  # I, Q pairs


def test_capture_iq_exchange():
    pairs = [
        *IQ_CONFIGURE,
        (":FETC:WAV0?", IQ_VALUES.tobytes()),
        (":STAT:QUES:INT:COND?", "+0"),
        (":STAT:QUES:INT:EVEN?", "+32"),
        (":STAT:QUES:POW:COND?", "+0"),
        (":STAT:QUES:POW:EVEN?", "+0"),
        NO_ERROR,
        (":INST:SEL SA;*OPC?", "1"),  # back to the Spectrum Analyzer mode
        NO_ERROR,
    ]
    with ScriptedTransport(pairs) as t:
        acquisition = KeysightX(t).capture_iq(3.75e9, 1e6, 4e-6, 7.0)
    np.testing.assert_array_equal(acquisition.samples, [0.5 - 0.25j, 0.75 + 2j, -1.5 + 0j, 0.125 - 0.0625j])
    assert (acquisition.sample_rate_hz, acquisition.center_hz) == (1e6, 3.75e9)
    assert (acquisition.reference_level_dbm, acquisition.attenuation_db) == (7.0, 20.0)
    assert acquisition.overload == ("over range",)


def test_capture_iq_stops_when_the_mode_does_not_change():
    pairs = [(":INST:SEL BASIC;*OPC?", "0"), (":INST:SEL SA;*OPC?", "1")]
    with ScriptedTransport(pairs) as t, pytest.raises(InstrumentError, match="unexpected reply '0'"):
        KeysightX(t).capture_iq(3.75e9, 1e6, 4e-6, 7.0)


def test_capture_iq_range_out_of_the_family_range_is_refused_and_sa_mode_restored():
    pairs = [*IQ_CONFIGURE[:4], (":INST:SEL SA;*OPC?", "1")]
    with ScriptedTransport(pairs) as t, pytest.raises(ValueError, match="iq_level"):
        KeysightX(t).capture_iq(3.75e9, 1e6, 4e-6, 31.0)  # above +30 dBm


def test_iq_settings_are_not_declared_settings():
    """They exist only in Basic mode: a declared setting must read back in the prepared (SA) state."""
    assert not hasattr(KeysightX, "iq_sample_rate") and ":SENS:WAV:SRAT?" not in {
        getattr(v, "get_command", None) for v in vars(KeysightX).values()
    }


def test_autolevel_returns_the_reference_level_read_back():
    pairs = [(":SENS:POW:RANG:OPT IMM;*OPC?", "1"), NO_ERROR, (":DISP:WIND:TRAC:Y:SCAL:RLEV?", "+9.00E+00")]
    with ScriptedTransport(pairs) as t:
        assert KeysightX(t).autolevel() == 9.0


def test_instrument_aclr_is_the_acp_measurement_offsets_a_and_b():
    reply = ",".join(
        ["0", "-10.5", "0", "-10.5", "-45.25", "-55.75", "-46.5", "-57", "-60.125", "-70.625", "-61", "-71.5"]
        + ["9.91E+37"] * 16
    )
    pairs = [
        (":SENS:SWE:TIME?", "+5.000000000E-02"),
        (":CONF:ACP", None),
        (":SENS:ACP:CARR:LIST:BAND 98280000", None),
        (":SENS:ACP:OFFS:LIST 100000000,200000000,0,0,0,0", None),
        (":SENS:ACP:OFFS:LIST:BAND 98280000,98280000,98280000,98280000,98280000,98280000", None),
        (":SENS:ACP:OFFS:LIST:STAT 1,1,0,0,0,0", None),
        NO_ERROR,
        (":INIT:ACP;*OPC?", "1"),
        (":FETC:ACP?", reply),
        (":CONF:SAN", None),
        NO_ERROR,
    ]
    with ScriptedTransport(pairs) as t:
        analyzer = KeysightX(t)
        analyzer.setup_acp(98.28e6, 100e6)
        assert t.sent == []  # remembered only, before the swept trace
        assert analyzer.instrument_aclr_db() == (45.25, 46.5, 60.125, 61.0)


def test_instrument_aclr_of_an_offset_not_measured_is_nan():
    reply = ",".join(["0", "-10.5", "0", "-10.5"] + ["9.91E+37"] * 24)
    pairs = [
        (":SENS:SWE:TIME?", "+1.0E-02"),
        (":CONF:ACP", None),
        (":SENS:ACP:CARR:LIST:BAND 18000000", None),
        (":SENS:ACP:OFFS:LIST 20000000,40000000,0,0,0,0", None),
        (":SENS:ACP:OFFS:LIST:BAND 18000000,18000000,18000000,18000000,18000000,18000000", None),
        (":SENS:ACP:OFFS:LIST:STAT 1,1,0,0,0,0", None),
        NO_ERROR,
        (":INIT:ACP;*OPC?", "1"),
        (":FETC:ACP?", reply),
        (":CONF:SAN", None),
        NO_ERROR,
    ]
    with ScriptedTransport(pairs) as t:
        analyzer = KeysightX(t)
        analyzer.setup_acp(18e6, 20e6)
        assert all(math.isnan(v) for v in analyzer.instrument_aclr_db())


def test_instrument_aclr_without_setup_sends_nothing():
    with ScriptedTransport([]) as t, pytest.raises(InstrumentError, match="setup_acp"):
        KeysightX(t).instrument_aclr_db()
    assert t.sent == []


def test_instrument_aclr_stops_when_the_acp_sweep_does_not_complete():
    pairs = [
        (":SENS:SWE:TIME?", "+1.0E-02"),
        (":CONF:ACP", None),
        (":SENS:ACP:CARR:LIST:BAND 18000000", None),
        (":SENS:ACP:OFFS:LIST 20000000,40000000,0,0,0,0", None),
        (":SENS:ACP:OFFS:LIST:BAND 18000000,18000000,18000000,18000000,18000000,18000000", None),
        (":SENS:ACP:OFFS:LIST:STAT 1,1,0,0,0,0", None),
        NO_ERROR,
        (":INIT:ACP;*OPC?", "0"),
    ]
    with ScriptedTransport(pairs) as t, pytest.raises(InstrumentError, match="unexpected reply '0'"):
        analyzer = KeysightX(t)
        analyzer.setup_acp(18e6, 20e6)
        analyzer.instrument_aclr_db()
