"""Exact-exchange protocol tests for the generic SCPI attenuator driver."""

import pytest

from fivegbench.drivers.attenuator.scpi_attenuator import ScpiAttenuator
from fivegbench.errors import InstrumentError
from fivegbench.transport.scripted import ScriptedTransport

NO_ERROR = ("SYST:ERR?", '+0,"No error"')


def test_constructor_does_no_io():
    with ScriptedTransport([]) as t:
        ScpiAttenuator(t)
    assert t.sent == []


def test_idn():
    idn = "fivegbench,SIM-ATT-95,SIM-ATT-0001,1.0"
    with ScriptedTransport([("*IDN?", idn)]) as t:
        assert ScpiAttenuator(t).idn() == idn


def test_attenuation_setting_write_and_read():
    with ScriptedTransport([("ATT 30.5", None), ("ATT?", "3.05E+01")]) as t:
        att = ScpiAttenuator(t)
        att.attenuation = 30.5
        assert att.attenuation == 30.5


def test_set_attenuation_waits_and_reads_back():
    pairs = [("ATT 12.3", None), ("*OPC?", "1"), NO_ERROR, ("ATT?", "1.225E+01")]
    with ScriptedTransport(pairs) as t:
        assert ScpiAttenuator(t).set_attenuation(12.3) == 12.25


def test_set_attenuation_integer_is_sent_exactly():
    with ScriptedTransport([("ATT 0", None), ("*OPC?", "1"), NO_ERROR, ("ATT?", "0E+00")]) as t:
        assert ScpiAttenuator(t).set_attenuation(0) == 0.0


def test_read_back_mismatch_is_an_instrument_error():
    pairs = [("ATT 40", None), ("*OPC?", "1"), NO_ERROR, ("ATT?", "3.0E+01")]
    with ScriptedTransport(pairs) as t, pytest.raises(InstrumentError) as info:
        ScpiAttenuator(t, role="ue-att").set_attenuation(40)
    assert info.value.role == "ue-att" and info.value.command == "ATT" and info.value.code is None
    assert info.value.message == "read back 30 dB, set 40 dB"


def test_read_back_just_outside_half_a_step_is_an_error():
    pairs = [("ATT 40", None), ("*OPC?", "1"), NO_ERROR, ("ATT?", "40.14")]
    with ScriptedTransport(pairs) as t, pytest.raises(InstrumentError, match=r"read back 40\.14 dB"):
        ScpiAttenuator(t).set_attenuation(40)


def test_an_error_entry_after_setting_is_an_instrument_error_not_a_log_line():
    pairs = [("ATT 10", None), ("*OPC?", "1"), ("SYST:ERR?", '-222,"Data out of range"'), NO_ERROR]
    with ScriptedTransport(pairs) as t, pytest.raises(InstrumentError) as info:
        ScpiAttenuator(t).set_attenuation(10)
    assert (info.value.command, info.value.code) == ("ATT 10", -222)
    assert "ATT?" not in t.sent  # nothing is read back from a unit that refused the value


def test_opc_reply_other_than_one_is_an_error():
    with ScriptedTransport([("ATT 10", None), ("*OPC?", "0")]) as t, pytest.raises(InstrumentError):
        ScpiAttenuator(t).set_attenuation(10)


def test_unparseable_read_back_is_an_instrument_error():
    pairs = [("ATT 10", None), ("*OPC?", "1"), NO_ERROR, ("ATT?", "garbage")]
    with ScriptedTransport(pairs) as t, pytest.raises(InstrumentError, match="unparseable"):
        ScpiAttenuator(t).set_attenuation(10)


def test_to_maximum_uses_the_instruments_maximum():
    pairs = [("ATT? MAX", "1.1E+02"), ("ATT 110", None), ("*OPC?", "1"), NO_ERROR, ("ATT?", "1.1E+02")]
    with ScriptedTransport(pairs) as t:
        assert ScpiAttenuator(t, max_db=95.0).to_maximum() == 110.0


def test_to_maximum_read_back_mismatch_is_an_error():
    pairs = [("ATT? MAX", "9.5E+01"), ("ATT 95", None), ("*OPC?", "1"), NO_ERROR, ("ATT?", "0E+00")]
    with ScriptedTransport(pairs) as t, pytest.raises(InstrumentError, match="read back 0 dB, set 95 dB"):
        ScpiAttenuator(t).to_maximum()


def test_to_maximum_rejects_an_implausible_maximum():
    with ScriptedTransport([("ATT? MAX", "-1")]) as t, pytest.raises(InstrumentError, match="implausible"):
        ScpiAttenuator(t).to_maximum()


def test_check_errors_clean_queue():
    with ScriptedTransport([NO_ERROR]) as t:
        ScpiAttenuator(t).check_errors("set")


def test_error_queue_becomes_instrument_error_with_code():
    pairs = [
        ("SYST:ERR?", '-222,"Data out of range;100"'),
        ("SYST:ERR?", '-113,"Undefined header"'),
        NO_ERROR,
    ]
    with ScriptedTransport(pairs) as t, pytest.raises(InstrumentError) as info:
        ScpiAttenuator(t, role="ue-att").check_errors("set attenuation")
    assert info.value.code == -222 and info.value.role == "ue-att"
    assert info.value.command == "set attenuation"
    assert "Data out of range" in str(info.value) and "+1 more" in str(info.value)


def test_unparseable_error_reply_is_an_instrument_error():
    with ScriptedTransport([("SYST:ERR?", "what")]) as t, pytest.raises(InstrumentError, match="unparseable"):
        ScpiAttenuator(t).check_errors("x")


@pytest.mark.parametrize("value", [-0.5, 95.5, float("nan"), float("inf")])
def test_attenuation_setting_rejects_with_nothing_sent(value):
    with ScriptedTransport([]) as t, pytest.raises(ValueError, match="attenuation"):
        ScpiAttenuator(t).attenuation = value
    assert t.sent == []


@pytest.mark.parametrize("value", [-0.25, 95.25, float("nan"), float("-inf")])
def test_set_attenuation_rejects_out_of_range_with_nothing_sent(value):
    with ScriptedTransport([]) as t, pytest.raises(ValueError, match="set_attenuation"):
        ScpiAttenuator(t).set_attenuation(value)
    assert t.sent == []


def test_set_attenuation_rejects_above_instance_max_with_nothing_sent():
    with ScriptedTransport([]) as t, pytest.raises(ValueError, match=r"outside 0\.\.60"):
        ScpiAttenuator(t, max_db=60.0).set_attenuation(60.25)
    assert t.sent == []


@pytest.mark.parametrize("max_db", [0.0, -10.0, float("nan")])
def test_constructor_rejects_a_bad_max_db(max_db):
    with pytest.raises(ValueError, match="max_db"):
        ScpiAttenuator(ScriptedTransport([]), max_db=max_db)
