"""Exact-exchange protocol tests for the Mini-Circuits RCDAT/RUDAT/RC4DAT attenuator driver.

Every command and reply is written out literally (terminators excluded), not taken from the
driver's constants.
"""

import numpy as np
import pytest

from fivegbench.drivers.attenuator.minicircuits import MiniCircuitsAttenuator
from fivegbench.errors import InstrumentError
from fivegbench.transport.scripted import ScriptedTransport

MN = (":MN?", "MN=RCDAT-6000-110")


def test_constructor_does_no_io():
    with ScriptedTransport([]) as t:
        att = MiniCircuitsAttenuator(t, role="ue-att", channel=2, max_db=60)
    assert t.sent == []
    assert (att.transport, att.role, att.channel, att.max_db) == (t, "ue-att", 2, 60.0)


def test_defaults():
    att = MiniCircuitsAttenuator(ScriptedTransport([]))
    assert (att.role, att.channel, att.max_db) == ("attenuator", None, None)


# -- identity ----------------------------------------------------------------------------------
def test_idn_is_built_from_model_and_serial():
    with ScriptedTransport([MN, (":SN?", "SN=12345678901")]) as t:
        assert MiniCircuitsAttenuator(t).idn() == "Mini-Circuits,RCDAT-6000-110,SN 12345678901"


def test_idn_tolerates_surrounding_white_space():
    with ScriptedTransport([(":MN?", "\rMN=RC4DAT-6G-95 "), (":SN?", "SN=11604210008\r")]) as t:
        assert MiniCircuitsAttenuator(t).idn() == "Mini-Circuits,RC4DAT-6G-95,SN 11604210008"


@pytest.mark.parametrize("reply", ["1", "RCDAT-6000-110", "MN=", "MN=RCDAT", "", "-99"])
def test_idn_model_reply_without_its_prefix_is_an_instrument_error(reply):
    with ScriptedTransport([(":MN?", reply)]) as t, pytest.raises(InstrumentError) as info:
        MiniCircuitsAttenuator(t, role="ue-att").idn()
    assert info.value.role == "ue-att" and info.value.command == ":MN?"
    assert info.value.message == f"unexpected reply {reply!r}"


@pytest.mark.parametrize("reply", ["12345678901", "SN=", "1", "SN=1 2"])
def test_idn_serial_reply_without_its_prefix_is_an_instrument_error(reply):
    with ScriptedTransport([MN, (":SN?", reply)]) as t, pytest.raises(InstrumentError) as info:
        MiniCircuitsAttenuator(t).idn()
    assert info.value.command == ":SN?"
    assert info.value.message == f"unexpected reply {reply!r}"


@pytest.mark.parametrize(
    ("model", "maximum"),
    [("RCDAT-6000-110", 110.0), ("RC4DAT-6G-95", 95.0), ("RUDAT-13G-90", 90.0), ("RCDAT-8000-30", 30.0)],
)
def test_model_max_db_is_the_last_field_of_the_model(model, maximum):
    with ScriptedTransport([(":MN?", f"MN={model}")]) as t:
        assert MiniCircuitsAttenuator(t).model_max_db() == maximum


def test_model_max_db_asks_every_time():
    with ScriptedTransport([MN, (":MN?", "MN=RCDAT-6000-60")]) as t:
        att = MiniCircuitsAttenuator(t)
        assert att.model_max_db() == 110.0
        assert att.model_max_db() == 60.0


@pytest.mark.parametrize("reply", ["MN=RCDAT-6000-ABC", "MN=RCDAT", "garbage", "MN=RCDAT-6000-0"])
def test_model_max_db_unusable_model_is_an_instrument_error(reply):
    with ScriptedTransport([(":MN?", reply)]) as t, pytest.raises(InstrumentError) as info:
        MiniCircuitsAttenuator(t).model_max_db()
    assert info.value.command == ":MN?"


def test_model_max_db_implausible_maximum_is_an_instrument_error():
    # A model name without its attenuation field: the frequency field would be read as 6000 dB.
    with (
        ScriptedTransport([(":MN?", "MN=RCDAT-6000")]) as t,
        pytest.raises(InstrumentError, match="implausible"),
    ):
        MiniCircuitsAttenuator(t).model_max_db()


# -- set_attenuation ---------------------------------------------------------------------------
def test_set_attenuation_sends_setatt_and_reads_back():
    with ScriptedTransport([(":SETATT=25.75", "1"), (":ATT?", "25.75")]) as t:
        assert MiniCircuitsAttenuator(t, max_db=110).set_attenuation(25.75) == 25.75


@pytest.mark.parametrize(
    ("value", "sent", "reply"),
    [
        (0, ":SETATT=0", "0.00"),
        (30, ":SETATT=30", "30"),
        (42.5, ":SETATT=42.5", "42.50"),
        (0.25, ":SETATT=0.25", "0.25"),
    ],
)
def test_set_attenuation_number_formats(value, sent, reply):
    with ScriptedTransport([(sent, "1"), (":ATT?", reply)]) as t:
        assert MiniCircuitsAttenuator(t, max_db=110).set_attenuation(value) == float(reply)


def test_set_attenuation_float_noise_is_snapped_to_the_step():
    value = sum([0.05] * 15)  # 0.7500000000000001
    assert value != 0.75
    with ScriptedTransport([(":SETATT=0.75", "1"), (":ATT?", "0.75")]) as t:
        assert MiniCircuitsAttenuator(t, max_db=110).set_attenuation(value) == 0.75


def test_set_attenuation_accepts_numpy_numbers():
    with ScriptedTransport(
        [(":SETATT=12.5", "1"), (":ATT?", "12.50"), (":SETATT=7", "1"), (":ATT?", "7")]
    ) as t:
        att = MiniCircuitsAttenuator(t, max_db=110)
        assert att.set_attenuation(np.float64(12.5)) == 12.5
        assert att.set_attenuation(np.int64(7)) == 7.0


def test_set_attenuation_at_the_limit_is_allowed():
    with ScriptedTransport([(":SETATT=60", "1"), (":ATT?", "60.00")]) as t:
        assert MiniCircuitsAttenuator(t, max_db=60).set_attenuation(60) == 60.0


def test_set_attenuation_on_a_channel_uses_the_chan_form():
    with ScriptedTransport([(":CHAN:3:SETATT:12.5", "1"), (":CHAN:3:ATT?", "12.50")]) as t:
        assert MiniCircuitsAttenuator(t, channel=3, max_db=95).set_attenuation(12.5) == 12.5


def test_set_attenuation_reply_0_is_a_failure():
    with ScriptedTransport([(":SETATT=20", "0")]) as t, pytest.raises(InstrumentError) as info:
        MiniCircuitsAttenuator(t, role="ue-att", max_db=110).set_attenuation(20)
    assert info.value.role == "ue-att" and info.value.command == ":SETATT=20" and info.value.code is None
    assert info.value.message == "the attenuator refused the setting (reply 0: command failed)"


def test_set_attenuation_reply_2_means_clipped_to_the_units_maximum():
    # The bench file says 120 dB, the unit (a -60 model) clipped: no read-back is trusted.
    with ScriptedTransport([(":SETATT=100", "2")]) as t, pytest.raises(InstrumentError) as info:
        MiniCircuitsAttenuator(t, max_db=120).set_attenuation(100)
    assert info.value.command == ":SETATT=100"
    assert info.value.message == "above the unit's maximum: the unit set its maximum instead (reply 2)"


def test_channel_reply_2_is_an_error_too():
    with (
        ScriptedTransport([(":CHAN:1:SETATT:100", "2")]) as t,
        pytest.raises(InstrumentError, match="reply 2"),
    ):
        MiniCircuitsAttenuator(t, channel=1, max_db=120).set_attenuation(100)


@pytest.mark.parametrize("reply", ["", "OK", "-99", "11", "1.0", "25.75", "garbage"])
def test_set_attenuation_any_other_reply_is_an_error(reply):
    with ScriptedTransport([(":SETATT=20", reply)]) as t, pytest.raises(InstrumentError) as info:
        MiniCircuitsAttenuator(t, max_db=110).set_attenuation(20)
    assert info.value.message == f"unexpected reply {reply!r}"


def test_set_reply_with_line_end_white_space_is_accepted():
    with ScriptedTransport([(":SETATT=20", "\r1"), (":ATT?", "20.00\r")]) as t:
        assert MiniCircuitsAttenuator(t, max_db=110).set_attenuation(20) == 20.0


def test_read_back_mismatch_is_an_instrument_error():
    with (
        ScriptedTransport([(":SETATT=25.75", "1"), (":ATT?", "25.50")]) as t,
        pytest.raises(InstrumentError) as info,
    ):
        MiniCircuitsAttenuator(t, role="ue-att", max_db=110).set_attenuation(25.75)
    assert info.value.command == ":SETATT=25.75"
    assert info.value.message == "read back 25.5 dB, set 25.75 dB"


def test_read_back_half_a_step_away_is_accepted_and_more_is_not():
    with ScriptedTransport([(":SETATT=25.75", "1"), (":ATT?", "25.875")]) as t:
        assert MiniCircuitsAttenuator(t, max_db=110).set_attenuation(25.75) == 25.875
    pairs = [(":SETATT=25.75", "1"), (":ATT?", "25.88")]
    with ScriptedTransport(pairs) as t, pytest.raises(InstrumentError, match=r"read back 25\.88 dB"):
        MiniCircuitsAttenuator(t, max_db=110).set_attenuation(25.75)


@pytest.mark.parametrize("reply", ["garbage", "", "0.00  12.50  0.00  0.00", "MN=RCDAT-6000-110"])
def test_unparseable_read_back_is_an_instrument_error(reply):
    # The four-channel answer is what :ATT? gives on an RC4DAT driven without a channel.
    with (
        ScriptedTransport([(":SETATT=10", "1"), (":ATT?", reply)]) as t,
        pytest.raises(InstrumentError) as info,
    ):
        MiniCircuitsAttenuator(t, max_db=110).set_attenuation(10)
    assert info.value.command == ":ATT?"
    assert info.value.message == f"unparseable reply {reply!r}"


def test_without_max_db_the_models_maximum_is_learnt_once():
    pairs = [MN, (":SETATT=100", "1"), (":ATT?", "100.00"), (":SETATT=110", "1"), (":ATT?", "110.00")]
    with ScriptedTransport(pairs) as t:
        att = MiniCircuitsAttenuator(t)
        assert att.set_attenuation(100) == 100.0
        assert att.set_attenuation(110) == 110.0


def test_without_max_db_above_the_models_maximum_sends_only_the_model_query():
    with (
        ScriptedTransport([(":MN?", "MN=RCDAT-6000-30")]) as t,
        pytest.raises(ValueError, match="above the maximum 30"),
    ):
        MiniCircuitsAttenuator(t).set_attenuation(30.25)
    assert t.sent == [":MN?"]


# -- validators: nothing is sent ---------------------------------------------------------------
@pytest.mark.parametrize(
    "value",
    [-0.25, -1e-6, 110.25, 1000, float("nan"), float("inf"), float("-inf"), 10.1, 0.3, 25.76, 0.125],
)
def test_set_attenuation_rejects_with_nothing_sent(value):
    with ScriptedTransport([]) as t, pytest.raises(ValueError, match="set_attenuation"):
        MiniCircuitsAttenuator(t, max_db=110).set_attenuation(value)
    assert t.sent == []


@pytest.mark.parametrize("value", ["10", None, True, False, b"10", [10], complex(10, 0)])
def test_set_attenuation_rejects_non_numbers_with_nothing_sent(value):
    with ScriptedTransport([]) as t, pytest.raises(ValueError, match="is not a number"):
        MiniCircuitsAttenuator(t, max_db=110).set_attenuation(value)
    assert t.sent == []


def test_set_attenuation_above_the_bench_limit_sends_nothing():
    with ScriptedTransport([]) as t, pytest.raises(ValueError, match=r"60\.25 dB is above the maximum 60 dB"):
        MiniCircuitsAttenuator(t, max_db=60).set_attenuation(60.25)
    assert t.sent == []


def test_invalid_value_on_a_channel_sends_nothing():
    with ScriptedTransport([]) as t, pytest.raises(ValueError, match="multiple"):
        MiniCircuitsAttenuator(t, channel=2, max_db=95).set_attenuation(12.3)
    assert t.sent == []


def test_non_step_value_is_rejected_before_the_model_is_asked():
    with ScriptedTransport([]) as t, pytest.raises(ValueError, match="multiple"):
        MiniCircuitsAttenuator(t).set_attenuation(10.1)
    assert t.sent == []


@pytest.mark.parametrize("channel", [0, 9, -1, True, 1.5, "2"])
def test_constructor_rejects_a_bad_channel(channel):
    with pytest.raises(ValueError, match="channel"):
        MiniCircuitsAttenuator(ScriptedTransport([]), channel=channel)


@pytest.mark.parametrize("max_db", [0.0, -10.0, float("nan"), float("inf"), "60", True])
def test_constructor_rejects_a_bad_max_db(max_db):
    with pytest.raises(ValueError, match="max_db"):
        MiniCircuitsAttenuator(ScriptedTransport([]), max_db=max_db)


# -- to_maximum --------------------------------------------------------------------------------
def test_to_maximum_uses_the_models_maximum_not_the_bench_file():
    with ScriptedTransport([MN, (":SETATT=110", "1"), (":ATT?", "110.00")]) as t:
        assert MiniCircuitsAttenuator(t, max_db=60).to_maximum() == 110.0


def test_to_maximum_on_a_channel():
    pairs = [(":MN?", "MN=RC4DAT-6G-95"), (":CHAN:2:SETATT:95", "1"), (":CHAN:2:ATT?", "95.00")]
    with ScriptedTransport(pairs) as t:
        assert MiniCircuitsAttenuator(t, channel=2).to_maximum() == 95.0


def test_to_maximum_asks_the_model_every_time():
    pairs = [MN, (":SETATT=110", "1"), (":ATT?", "110"), MN, (":SETATT=110", "1"), (":ATT?", "110")]
    with ScriptedTransport(pairs) as t:
        att = MiniCircuitsAttenuator(t)
        assert att.to_maximum() == 110.0
        assert att.to_maximum() == 110.0


def test_to_maximum_read_back_mismatch_is_an_error():
    pairs = [MN, (":SETATT=110", "1"), (":ATT?", "0.00")]
    with ScriptedTransport(pairs) as t, pytest.raises(InstrumentError, match="read back 0 dB, set 110 dB"):
        MiniCircuitsAttenuator(t).to_maximum()


def test_to_maximum_reply_0_is_an_error():
    with ScriptedTransport([MN, (":SETATT=110", "0")]) as t, pytest.raises(InstrumentError, match="reply 0"):
        MiniCircuitsAttenuator(t).to_maximum()


def test_to_maximum_with_an_unusable_model_sends_no_setting():
    with (
        ScriptedTransport([(":MN?", "1")]) as t,
        pytest.raises(InstrumentError, match="unexpected reply '1'"),
    ):
        MiniCircuitsAttenuator(t).to_maximum()
    assert t.sent == [":MN?"]


def test_to_maximum_off_step_maximum_is_an_instrument_error():
    with ScriptedTransport([(":MN?", "MN=XDAT-1-31.1")]) as t, pytest.raises(InstrumentError) as info:
        MiniCircuitsAttenuator(t).to_maximum()
    assert info.value.command == ":MN?" and "multiple" in info.value.message
    assert t.sent == [":MN?"]
