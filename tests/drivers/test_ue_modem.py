"""Exact-exchange protocol tests for the UE modem driver (ue-3gpp and ue-quectel profiles); profile
loading is in test_ue_profile.py.

Replies are written as the transport hands them over: line endings already turned into ``\\n``, so
the modem's ``<CR><LF>+CESQ: ...<CR><LF><CR><LF>OK<CR><LF>`` reads ``\\n+CESQ: ...\\n\\nOK\\n``.
"""

import logging
from pathlib import Path

import pytest

from fivegbench.drivers.ue import UeModem, UeProfile, UeReading, load_ue_profile
from fivegbench.errors import InstrumentError
from fivegbench.transport.scripted import ScriptedTransport

PROFILES = Path(__file__).resolve().parents[2] / "instruments" / "profiles"
GPP = load_ue_profile("ue-3gpp", search_dirs=[PROFILES])
QUECTEL = load_ue_profile("ue-quectel", search_dirs=[PROFILES])

# The NR5G-SA example of the Quectel RG50xQ&RM5xxQ Network Application Note, §3.2.2.
QENG_SA = (
    '+QENG: "servingcell","NOCONN","NR5G-SA","TDD",460,01,19013B004,299,690E0F,633984,78,12,-107,-13,2,1,-'
)


def modem(t: ScriptedTransport, profile: UeProfile = GPP) -> UeModem:
    return UeModem(t, profile, role="ue")


def ok(command: str, *lines: str) -> tuple[str, str]:
    """The pair for a command answered with information lines and OK, echo off."""
    info = "".join(f"\n{line}\n" for line in lines[:1]) + "".join(f"{line}\n" for line in lines[1:])
    return command, f"{info}\nOK\n"


# -- opening -------------------------------------------------------------------------------------
def test_open_turns_echo_off_asks_for_numeric_errors_and_checks_at():
    pairs = [("ATE0", "ATE0\nOK\n"), ("AT+CMEE=1", "\nOK\n"), ("AT", "\nOK\n")]  # ATE0 itself is echoed
    with ScriptedTransport(pairs) as t:
        modem(t).open()


def test_open_with_echo_left_on_strips_every_echo():
    commands = GPP.commands.model_copy(update={"identity": ["AT+CGMI"]})
    profile = GPP.model_copy(update={"on_open": [], "commands": commands})
    with ScriptedTransport([("AT", "AT\nOK\n"), ("AT+CGMI", "AT+CGMI\nQuectel\n\nOK\n")]) as t:
        m = modem(t, profile)
        m.open()
        assert m.identity() == "Quectel"


def test_open_fails_when_at_is_not_answered_and_quotes_what_was_seen():
    pairs = [("ATE0", "ATE0\nOK\n"), ("AT+CMEE=1", "\nOK\n"), ("AT", "\nRDY\n")]
    with ScriptedTransport(pairs) as t, pytest.raises(InstrumentError) as info:
        modem(t).open()
    assert (info.value.role, info.value.command, info.value.code) == ("ue", "AT", None)
    assert "no final result code" in info.value.message
    assert "RDY" in info.value.message


def test_reopen_closes_the_link_opens_it_and_runs_open():
    with ScriptedTransport([("ATE0", "\nOK\n"), ("AT+CMEE=1", "\nOK\n"), ("AT", "\nOK\n")]) as t:
        modem(t).reopen()
    assert (t.closed, t.opened) == (1, 1)


# -- identity ------------------------------------------------------------------------------------
def test_identity_3gpp():
    pairs = [
        ok("AT+CGMI", "Quectel"),
        ok("AT+CGMM", "RM500Q-GL"),
        ok("AT+CGMR", "RM500QGLABR11A06M4G"),
        ok("AT+CGSN", "869710030002905"),
    ]
    with ScriptedTransport(pairs) as t:
        assert modem(t).identity() == "Quectel, RM500Q-GL, RM500QGLABR11A06M4G, 869710030002905"


def test_identity_quectel_ati():
    reply = ok("ATI", "Quectel", "RM500Q-GL", "Revision: RM500QGLABR11A06M4G")
    assert reply[1] == "\nQuectel\nRM500Q-GL\nRevision: RM500QGLABR11A06M4G\n\nOK\n"
    imei = ok("AT+CGSN", "869710030002905")  # the serial a bench declares for the UE
    with ScriptedTransport([reply, imei, reply, imei]) as t:
        m = modem(t, QUECTEL)
        assert m.identity() == "Quectel, RM500Q-GL, Revision: RM500QGLABR11A06M4G, 869710030002905"
        assert m.idn() == "Quectel, RM500Q-GL, Revision: RM500QGLABR11A06M4G, 869710030002905"


# -- registration --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("c5greg", "registered"),
    [
        ("+C5GREG: 0,1", True),  # registered, home network
        ("+C5GREG: 0,5", True),  # registered, roaming
        ('+C5GREG: 2,1,"690E0F","9013B004",11,4,"01.000000"', True),  # n=2 (Quectel manual example)
        ("+C5GREG: 0,0", False),  # not registered, not searching
        ("+C5GREG: 0,2", False),  # searching
        ("+C5GREG: 0,3", False),  # denied
        ("+C5GREG: 0,4", False),  # unknown
        ("+C5GREG: 0,8", False),  # emergency services only
    ],
)
def test_registered_3gpp(c5greg, registered):
    with ScriptedTransport([ok("AT+C5GREG?", c5greg), ok("AT+COPS?", "+COPS: 0")]) as t:
        assert modem(t).registered() is registered


def test_registration_text_is_the_modems_own_words():
    pairs = [ok("AT+C5GREG?", "+C5GREG: 0,1"), ok("AT+COPS?", '+COPS: 0,0,"CHINA MOBILE",11')]
    with ScriptedTransport(pairs) as t:
        assert modem(t).registration_text() == '+C5GREG: 0,1; +COPS: 0,0,"CHINA MOBILE",11'


def test_require_registered_raises_with_the_modems_words():
    with (
        ScriptedTransport([ok("AT+C5GREG?", "+C5GREG: 0,2"), ok("AT+COPS?", "+COPS: 0")]) as t,
        pytest.raises(InstrumentError) as info,
    ):
        modem(t).require_registered()
    assert (info.value.role, info.value.command, info.value.code) == ("ue", "AT+C5GREG? / AT+COPS?", None)
    assert info.value.message == "not registered: +C5GREG: 0,2; +COPS: 0"


def test_require_registered_returns_the_text_when_registered():
    with ScriptedTransport([ok("AT+C5GREG?", "+C5GREG: 0,1"), ok("AT+COPS?", '+COPS: 0,0,"X",11')]) as t:
        assert modem(t).require_registered() == '+C5GREG: 0,1; +COPS: 0,0,"X",11'


def test_registration_reply_without_a_state_is_an_instrument_error():
    with (
        ScriptedTransport([ok("AT+C5GREG?", "+CREG: 0,1"), ok("AT+COPS?", "+COPS: 0")]) as t,
        pytest.raises(InstrumentError, match=r"no registration state in '\+CREG: 0,1; \+COPS: 0'"),
    ):
        modem(t).registered()


@pytest.mark.parametrize(("state", "registered"), [("NOCONN", True), ("CONNECT", True), ("LIMSRV", False)])
def test_registered_quectel_from_the_qeng_state(state, registered):
    with ScriptedTransport([ok('AT+QENG="servingcell"', QENG_SA.replace("NOCONN", state))]) as t:
        assert modem(t, QUECTEL).registered() is registered


def test_quectel_searching_is_not_registered_in_the_modems_words():
    with (
        ScriptedTransport([ok('AT+QENG="servingcell"', '+QENG: "servingcell","SEARCH"')]) as t,
        pytest.raises(InstrumentError) as info,
    ):
        modem(t, QUECTEL).require_registered()
    assert info.value.message == 'not registered: +QENG: "servingcell","SEARCH"'


# -- readings: +CESQ indices (TS 38.133 §10.1 reporting tables) --------------------------------------
def test_cesq_indices_map_to_the_lower_edge_of_the_38133_interval():
    # Index n >= 1 stands for [lowest + (n - 1) * step, lowest + n * step) (TS 38.133 Tables
    # 10.1.6.1-1, 10.1.11.1-1, 10.1.16.1-1): SS-RSRP lowest -156 dBm, 1 dB; SS-RSRQ lowest
    # -43 dB, 0.5 dB; SS-SINR lowest -23 dB, 0.5 dB.
    with ScriptedTransport([ok("AT+CESQ", "+CESQ: 99,99,255,255,255,255,65,70,77")]) as t:
        reading = modem(t).reading()
    assert reading == UeReading(
        rsrp_dbm=-156 + (70 - 1) * 1.0,  # -87 dBm <= SS-RSRP < -86 dBm
        rsrq_db=-43 + (65 - 1) * 0.5,  # -11 dB <= SS-RSRQ < -10.5 dB
        sinr_db=-23 + (77 - 1) * 0.5,  # 15 dB <= SS-SINR < 15.5 dB
    )
    assert (reading.rsrp_dbm, reading.rsrq_db, reading.sinr_db) == (-87.0, -11.0, 15.0)


def test_cesq_top_indices_are_the_open_ended_upper_intervals():
    with ScriptedTransport([ok("AT+CESQ", "+CESQ: 99,99,255,255,255,255,127,126,127")]) as t:
        reading = modem(t).reading()
    assert (reading.rsrp_dbm, reading.rsrq_db, reading.sinr_db) == (-31.0, 20.0, 40.0)  # ">= edge"


def test_cesq_first_interval():
    with ScriptedTransport([ok("AT+CESQ", "+CESQ: 99,99,255,255,255,255,1,1,1")]) as t:
        reading = modem(t).reading()
    assert (reading.rsrp_dbm, reading.rsrq_db, reading.sinr_db) == (-156.0, -43.0, -23.0)


def test_cesq_255_is_not_known():
    with ScriptedTransport([ok("AT+CESQ", "+CESQ: 99,99,255,255,255,255,255,255,255")]) as t:
        assert modem(t).reading() == UeReading()


def test_cesq_index_beyond_the_table_is_an_instrument_error():
    with (
        ScriptedTransport([ok("AT+CESQ", "+CESQ: 99,99,255,255,255,255,65,127,77")]) as t,
        pytest.raises(InstrumentError, match=r"cannot read rsrp: index 127 is outside 0\.\.126"),
    ):
        modem(t).reading()


def test_cesq_without_nr_fields_is_an_instrument_error_quoting_the_reply():
    with (
        ScriptedTransport([ok("AT+CESQ", "+CESQ: 99,99,255,255,20,64")]) as t,  # a pre-Rel-15 (LTE) modem
        pytest.raises(InstrumentError, match=r"no reading in reply '\+CESQ: 99,99,255,255,20,64'"),
    ):
        modem(t).reading()


# -- readings: Quectel +QENG ---------------------------------------------------------------------------
def test_qeng_nr5g_sa():
    with ScriptedTransport([ok('AT+QENG="servingcell"', QENG_SA)]) as t:
        reading = modem(t, QUECTEL).reading()
    assert reading == UeReading(
        rsrp_dbm=-107.0, rsrq_db=-13.0, sinr_db=2.0, band="n78", arfcn=633984, pci=299
    )


def test_qeng_dash_is_not_known():
    line = QENG_SA.replace("LIMSRV", "NOCONN").replace("-107,-13,2", "-107,-,-")
    with ScriptedTransport([ok('AT+QENG="servingcell"', line)]) as t:
        reading = modem(t, QUECTEL).reading()
    assert (reading.rsrp_dbm, reading.rsrq_db, reading.sinr_db, reading.pci) == (-107.0, None, None, 299)


def test_qeng_searching_has_no_reading():
    with (
        ScriptedTransport([ok('AT+QENG="servingcell"', '+QENG: "servingcell","SEARCH"')]) as t,
        pytest.raises(InstrumentError, match=r"""no reading in reply '\+QENG: "servingcell","SEARCH"'"""),
    ):
        modem(t, QUECTEL).reading()


# -- errors ----------------------------------------------------------------------------------------------
def test_cme_error_numeric_carries_the_code_and_the_2707_meaning():
    with ScriptedTransport([("AT+CESQ", "\n+CME ERROR: 30\n")]) as t, pytest.raises(InstrumentError) as info:
        modem(t).reading()
    assert (info.value.role, info.value.command, info.value.code) == ("ue", "AT+CESQ", 30)
    assert info.value.message == "+CME ERROR: 30 (no network service)"


def test_cme_error_verbose_keeps_the_modems_text_and_finds_the_code():
    pairs = [("AT+CFUN=1", "\n+CME ERROR: SIM not inserted\n")]
    with ScriptedTransport(pairs) as t, pytest.raises(InstrumentError) as info:
        modem(t).set_radio(True)
    assert (info.value.code, info.value.message) == (10, "+CME ERROR: SIM not inserted")


def test_cme_error_vendor_code_is_kept_as_is():
    with ScriptedTransport([("AT+CESQ", "\n+CME ERROR: 505\n")]) as t, pytest.raises(InstrumentError) as info:
        modem(t).reading()
    assert (info.value.code, info.value.message) == (505, "+CME ERROR: 505")


def test_plain_error():
    with ScriptedTransport([("AT+CFUN=0", "\nERROR\n")]) as t, pytest.raises(InstrumentError) as info:
        modem(t).set_radio(False)
    assert (info.value.command, info.value.code, info.value.message) == ("AT+CFUN=0", None, "ERROR")


def test_a_final_result_code_needs_its_line_ending():
    # "+CME ERROR: 3" may be the first characters of "+CME ERROR: 30": wait for the line to end
    with ScriptedTransport([("AT+CESQ", "\n+CME ERROR: 3")]) as t, pytest.raises(InstrumentError) as info:
        modem(t).reading()
    assert info.value.code is None
    assert "no final result code" in info.value.message


def test_garbage_is_an_instrument_error_quoting_it():
    with ScriptedTransport([("AT+CESQ", "\n\x00\xff#@!\n")]) as t, pytest.raises(InstrumentError) as info:
        modem(t).reading()
    assert "no final result code (OK, ERROR, +CME ERROR) within 5 s" in info.value.message
    assert "#@!" in info.value.message


# -- unsolicited result codes -------------------------------------------------------------------------------
CESQ = "+CESQ: 99,99,255,255,255,255,65,70,77"
EXPECTED = UeReading(rsrp_dbm=-87.0, rsrq_db=-11.0, sinr_db=15.0)


@pytest.mark.parametrize(
    "reply",
    [
        f"\n+C5GREG: 1\n\n{CESQ}\n\nOK\n",  # before the reply (arrived after the last OK)
        f"\nRING\n\n+C5GREG: 0\n\n{CESQ}\n\nOK\n",  # several before
        f"AT+CESQ\n\n+CGEV: ME PDN ACT 1\n\n{CESQ}\n\nOK\n",  # between the echo and the reply
        f"\n{CESQ}\n\n+C5GREG: 1\n\nOK\n",  # between the reply and OK
        f'\n{CESQ}\n\n+C5GREG: 1,"690E0F","9013B004",11\n\nOK\n',  # n=2 form, within
    ],
    ids=["before", "several-before", "after-echo", "within", "within-n2"],
)
def test_urcs_anywhere_in_a_reply_are_dropped(reply):
    with ScriptedTransport([("AT+CESQ", reply)]) as t:
        assert modem(t).reading() == EXPECTED


def test_dropped_urcs_are_logged_at_debug(caplog):
    pairs = [("AT+CESQ", f"\n+C5GREG: 1\n\n{CESQ}\n\nOK\n")]
    with ScriptedTransport(pairs) as t, caplog.at_level(logging.DEBUG, logger="fivegbench.drivers.ue.modem"):
        modem(t).reading()
    assert "unsolicited '+C5GREG: 1' dropped (in the reply to AT+CESQ)" in caplog.text


def test_urc_after_a_reply_is_dropped_from_the_next_one():
    # The transport keeps what follows OK; the next command's reply starts with it.
    pairs = [
        ok("AT+CESQ", CESQ),
        ("AT+C5GREG?", "\n+C5GREG: 0\n\n+C5GREG: 0,1\n\nOK\n"),
        ok("AT+COPS?", "+COPS: 0"),
    ]
    with ScriptedTransport(pairs) as t:
        m = modem(t)
        assert m.reading() == EXPECTED
        assert m.registration_text() == "+C5GREG: 0,1; +COPS: 0"


def test_a_registration_urc_is_not_taken_for_the_registration_reply():
    # URC "+C5GREG: 2" (searching) arrives while the read reply says registered: the reply wins
    pairs = [("AT+C5GREG?", "\n+C5GREG: 2\n\n+C5GREG: 0,1\n\nOK\n"), ok("AT+COPS?", "+COPS: 0")]
    with ScriptedTransport(pairs) as t:
        assert modem(t).registered() is True


def test_quectel_urcs_within_the_qeng_reply():
    reply = f'\n+QIND: "csq",20,99\n\n{QENG_SA}\n\n+QIND: SMS DONE\n\nOK\n'
    with ScriptedTransport([('AT+QENG="servingcell"', reply)]) as t:
        assert modem(t, QUECTEL).reading().pci == 299


# -- radio ---------------------------------------------------------------------------------------------------
def test_set_radio():
    with ScriptedTransport([ok("AT+CFUN=0"), ok("AT+CFUN=1")]) as t:
        m = modem(t)
        m.set_radio(False)
        m.set_radio(True)


# -- nothing smuggled to the modem ------------------------------------------------------------------------
def test_a_command_with_a_cr_is_refused_with_nothing_sent():
    commands = GPP.commands.model_copy(update={"radio_on": "AT+CFUN=1\rAT+CFUN=0"})
    profile = GPP.model_copy(update={"commands": commands})
    with ScriptedTransport([]) as t, pytest.raises(InstrumentError) as info:
        modem(t, profile).set_radio(True)
    assert t.sent == []
    assert info.value.command == "commands.radio_on"
    assert "CR (U+000D) at position 10" in info.value.message


def test_one_bad_identity_command_sends_none_of_them():
    commands = GPP.commands.model_copy(update={"identity": ["AT+CGMI", "AT+CGMM\nAT+CFUN=0"]})
    profile = GPP.model_copy(update={"commands": commands})
    with ScriptedTransport([]) as t, pytest.raises(InstrumentError, match=r"commands\.identity\[1\]"):
        modem(t, profile).identity()
    assert t.sent == []


def test_on_open_with_a_tab_is_refused_before_anything_is_sent():
    profile = GPP.model_copy(update={"on_open": ["ATE0", "AT+CMEE=1\t"]})
    with ScriptedTransport([]) as t, pytest.raises(InstrumentError, match=r"on_open\[1\].*TAB"):
        modem(t, profile).open()
    assert t.sent == []


def test_constructor_does_no_io():
    with ScriptedTransport([]) as t:
        modem(t)
    assert (t.sent, t.opened, t.closed) == ([], 0, 0)
