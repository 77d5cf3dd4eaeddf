"""The simulated UE modem through real pyserial (socket:// and pty), raw and with the real driver."""

from __future__ import annotations

import logging
import os
import re
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from fivegbench.drivers.ue import UeModem, load_ue_profile
from fivegbench.errors import InstrumentError
from fivegbench.sim.ue import SimRadio, SimUeModem
from fivegbench.transport.serial import SerialTransport

PROFILES = Path(__file__).resolve().parents[2] / "instruments" / "profiles"
GPP = load_ue_profile("ue-3gpp", search_dirs=[PROFILES])
QUECTEL = load_ue_profile("ue-quectel", search_dirs=[PROFILES])
FINAL = re.compile(r"^(?:OK|ERROR|\+CME ERROR: .*)\n", re.MULTILINE)
RADIO = SimRadio(
    rsrp_dbm=-87.3, rsrq_db=-10.8, sinr_db=15.2, band="n78", arfcn=650000, pci=42, registered=True
)


class Air:
    """What ``radio()`` returns; tests change ``now``."""

    def __init__(self) -> None:
        self.now = RADIO
        self.fault: Exception | None = None

    def __call__(self) -> SimRadio:
        if self.fault is not None:
            raise self.fault
        return self.now


@pytest.fixture(params=["socket", "pty"])
def mode(request):
    return request.param


@pytest.fixture
def air():
    return Air()


@pytest.fixture
def sim(air, mode):
    modem = SimUeModem(radio=air, transport=mode)
    modem.start()
    yield modem
    modem.stop()


@pytest.fixture
def link(sim):
    transport = SerialTransport(sim.resource, "ue", line_ending="\r")
    transport.open()
    yield transport
    transport.close()


def at(t: SerialTransport, command: str) -> str:
    """Send one command line; return everything up to and including the final result code."""
    t.send_line(command)
    return t.read_until(FINAL, 2.0)


def quiet(t: SerialTransport) -> None:
    """Assert that nothing arrives (within 0.3 s)."""
    with pytest.raises(TimeoutError):
        t.read_until(re.compile(r"[\s\S]+"), 0.3)


# -- framing -----------------------------------------------------------------------------------------
def test_start_returns_the_resource_string(sim, mode):
    pattern = r"socket://127\.0\.0\.1:\d+" if mode == "socket" else r"/dev/pts/\d+"
    assert re.fullmatch(pattern, sim.resource)


def test_echo_is_on_until_ate0(link):
    assert at(link, "AT") == "AT\nOK\n"  # echo of "AT<CR>", then <CR><LF>OK<CR><LF>
    assert at(link, "ATE0") == "ATE0\nOK\n"  # the line that turns echo off is still echoed
    assert at(link, "AT") == "\nOK\n"
    assert at(link, "ATE1") == "\nOK\n"
    assert at(link, "AT") == "AT\nOK\n"


def test_commands_are_case_insensitive_but_the_prefix_is_at_or_at_lowercase(link):
    at(link, "ATE0")
    assert at(link, "at+cgmi") == "\nfivegbench\n\nOK\n"
    assert at(link, "at + cgmm") == "\nSIMUE-5G\n\nOK\n"  # spaces are ignored outside strings
    link.send_line("At+CGMI")  # neither AT nor at: not a command line, no answer at all
    quiet(link)
    assert at(link, "AT") == "\nOK\n"


def test_a_line_ends_with_cr_and_an_lf_is_ignored(link):
    at(link, "ATE0")
    link._write("AT+CGMR\n")  # raw: LF alone ends nothing
    quiet(link)
    link._write("\r")
    assert link.read_until(FINAL, 2.0) == "\nSIMUE5G01A01\n\nOK\n"
    link._write("AT\r\n")  # CR LF: one command, one answer
    assert link.read_until(FINAL, 2.0) == "\nOK\n"
    quiet(link)


def test_backspace_edits_the_line(link):
    at(link, "ATE0")
    link._write("AT+CGMX\x08I\r")
    assert link.read_until(FINAL, 2.0) == "\nfivegbench\n\nOK\n"


def test_unknown_malformed_and_test_commands_answer_error(link):
    at(link, "ATE0")
    for command in (
        "AT+FOO",
        "AT+CESQ=?",
        "AT+CESQ?",
        "AT+CFUN=7",
        "AT+CFUN=",
        'AT+QENG="SERVINGCELL"',
        'AT+QENG="x',
    ):
        assert at(link, command) == "\nERROR\n", command


def test_identity(link):
    at(link, "ATE0")
    assert at(link, "ATI") == "\nfivegbench\nSIMUE-5G\nRevision: SIMUE5G01A01\n\nOK\n"
    assert at(link, "AT+CGSN") == "\n860000000000009\n\nOK\n"
    assert at(link, "AT+GMI") == "\nfivegbench\n\nOK\n"


def test_cme_error_follows_cmee(air, mode):
    with (
        SimUeModem(radio=air, transport=mode, sim_inserted=False) as sim,
        SerialTransport(sim.resource, "ue") as link,
    ):
        at(link, "ATE0")
        assert at(link, "AT+CPIN?") == "\nERROR\n"  # AT+CMEE=0
        at(link, "AT+CMEE=1")
        assert at(link, "AT+CPIN?") == "\n+CME ERROR: 10\n"
        at(link, "AT+CMEE=2")
        assert at(link, "AT+CMEE?") == "\n+CMEE: 2\n\nOK\n"
        assert at(link, "AT+CPIN?") == "\n+CME ERROR: SIM not inserted\n"
        assert at(link, "AT+C5GREG?") == "\n+C5GREG: 0,0\n\nOK\n"  # no SIM: not searching


def test_cfun_0_deregisters_and_stops_measuring(link):
    at(link, "ATE0")
    assert at(link, "AT+C5GREG?") == "\n+C5GREG: 0,1\n\nOK\n"
    assert at(link, "AT+COPS?") == '\n+COPS: 0,0,"fivegbench",11\n\nOK\n'
    assert at(link, "AT+CFUN=0") == "\nOK\n"
    assert at(link, "AT+CFUN?") == "\n+CFUN: 0\n\nOK\n"
    assert at(link, "AT+C5GREG?") == "\n+C5GREG: 0,0\n\nOK\n"
    assert at(link, "AT+COPS?") == "\n+COPS: 0\n\nOK\n"
    assert at(link, "AT+CESQ") == "\n+CESQ: 99,99,255,255,255,255,255,255,255\n\nOK\n"
    assert at(link, 'AT+QENG="servingcell"') == '\n+QENG: "servingcell","SEARCH"\n\nOK\n'
    assert at(link, "AT+CFUN=1") == "\nOK\n"
    assert at(link, "AT+C5GREG?") == "\n+C5GREG: 0,1\n\nOK\n"


def test_c5greg_urc_after_cfun(link):
    at(link, "ATE0")
    at(link, "AT+C5GREG=1")
    assert at(link, "AT+CFUN=0") == "\nOK\n"
    assert link.read_until(re.compile(r"^\+C5GREG: \d\n", re.MULTILINE), 2.0) == "\n+C5GREG: 0\n"
    at(link, "AT+C5GREG=2")
    at(link, "AT+CFUN=1")
    assert link.read_until(re.compile(r"^\+C5GREG: .*\n", re.MULTILINE), 2.0) == (
        '\n+C5GREG: 1,"000001","19013B02A",11\n'
    )
    assert at(link, "AT+C5GREG?") == '\n+C5GREG: 2,1,"000001","19013B02A",11\n\nOK\n'


def test_cesq_indices_follow_ts_38133(link, air):
    at(link, "ATE0")
    # -87.3 dBm is in [-88, -87): RSRP_69 (index n covers [-156 + (n-1), -156 + n))
    # -10.8 dB is in [-11, -10.5): RSRQ_65 (index n covers [-43 + (n-1)/2, -43 + n/2))
    # 15.2 dB is in [15, 15.5): SINR_77 (index n covers [-23 + (n-1)/2, -23 + n/2))
    assert at(link, "AT+CESQ") == "\n+CESQ: 99,99,255,255,255,255,65,69,77\n\nOK\n"
    air.now = replace(RADIO, rsrp_dbm=-160.0, rsrq_db=25.0, sinr_db=None)
    assert at(link, "AT+CESQ") == "\n+CESQ: 99,99,255,255,255,255,127,0,255\n\nOK\n"


def test_qeng_nr5g_sa(link, air):
    at(link, "ATE0")
    expected = (
        '+QENG: "servingcell","NOCONN","NR5G-SA","TDD",001,01,19013B02A,42,1,650000,78,12,-87,-11,15,1,-'
    )
    assert at(link, 'at+qeng="servingcell"') == f"\n{expected}\n\nOK\n"
    air.now = replace(RADIO, registered=False, band="n1", rsrq_db=None)
    reply = at(link, 'AT+QENG="servingcell"')
    assert (
        reply.startswith('\n+QENG: "servingcell","LIMSRV","NR5G-SA","FDD",')
        and ",1,12,-87,-,15,1,-\n" in reply
    )


def test_injected_urcs_arrive_before_and_within_replies(link, sim):
    at(link, "ATE0")
    assert sim.inject_urc("RING") == 1
    assert sim.inject_urc('+QIND: "csq",20,99', during_next_reply=True) == 1
    assert (
        at(link, "ATI")
        == '\nRING\n\nfivegbench\n\n+QIND: "csq",20,99\nSIMUE-5G\nRevision: SIMUE5G01A01\n\nOK\n'
    )


def test_a_fault_in_radio_answers_error_and_is_logged(link, air, caplog):
    at(link, "ATE0")
    air.fault = RuntimeError("radio model exploded")
    with caplog.at_level(logging.ERROR, logger="fivegbench.sim.ue"):
        assert at(link, "AT+CESQ") == "\nERROR\n"
    assert "radio model exploded" in caplog.text


# -- the driver end to end ---------------------------------------------------------------------------------
@pytest.fixture(params=["ue-3gpp", "ue-quectel"])
def profile(request):
    return {"ue-3gpp": GPP, "ue-quectel": QUECTEL}[request.param]


@pytest.fixture
def ue(sim, profile):
    transport = SerialTransport(sim.resource, "ue", line_ending=profile.line_ending)
    transport.open()
    modem = UeModem(transport, profile, timeout=2.0)
    modem.open()
    yield modem
    modem.close()


def within_resolution(profile, reading, radio: SimRadio) -> None:
    """The reading equals the radio's value within what the profile's reporting can resolve: the
    +CESQ index is the TS 38.133 interval holding the value, reported as its lower edge; QENG
    rounds to whole dB."""
    for group, field in (("rsrp", "rsrp_dbm"), ("rsrq", "rsrq_db"), ("sinr", "sinr_db")):
        got, true = getattr(reading, field), getattr(radio, field)
        scale = profile.responses.scales.get(group)
        if scale is not None:
            assert got <= true < got + scale.step, (field, got, true)
        else:
            assert abs(got - true) <= 0.5, (field, got, true)


VALUES = [
    RADIO,
    replace(RADIO, rsrp_dbm=-120.0, rsrq_db=-19.5, sinr_db=-5.25),  # on interval edges and between
    replace(RADIO, rsrp_dbm=-44.9, rsrq_db=-3.1, sinr_db=31.7),
]


@pytest.mark.parametrize("radio", VALUES, ids=["typical", "edges", "strong"])
def test_readings_equal_the_radio_within_the_reporting_resolution(ue, air, profile, radio):
    air.now = radio
    ue.require_registered()
    reading = ue.reading()
    within_resolution(profile, reading, radio)
    if profile is QUECTEL:
        assert (reading.band, reading.arfcn, reading.pci) == ("n78", 650000, 42)
    else:
        assert (reading.band, reading.arfcn, reading.pci) == (None, None, None)  # +CESQ has none


def test_identity_through_the_driver(ue, profile):
    expected = {
        "ue-3gpp": "fivegbench, SIMUE-5G, SIMUE5G01A01, 860000000000009",
        "ue-quectel": "fivegbench, SIMUE-5G, Revision: SIMUE5G01A01",
    }
    assert ue.identity() == expected[profile.name]


def test_radio_off_deregisters_and_require_registered_quotes_the_modem(ue, profile):
    assert ue.registered()
    ue.set_radio(False)
    assert not ue.registered()
    with pytest.raises(InstrumentError) as info:
        ue.require_registered()
    words = {
        "ue-3gpp": "not registered: +C5GREG: 0,0; +COPS: 0",
        "ue-quectel": 'not registered: +QENG: "servingcell","SEARCH"',
    }
    assert info.value.message == words[profile.name]
    ue.set_radio(True)
    assert ue.registered()


def test_not_accepted_by_the_network(ue, air, profile):
    air.now = replace(RADIO, registered=False)
    with pytest.raises(InstrumentError) as info:
        ue.require_registered()
    expected = {"ue-3gpp": "+C5GREG: 0,2; +COPS: 0", "ue-quectel": '+QENG: "servingcell","LIMSRV"'}
    assert expected[profile.name] in info.value.message


def test_injected_urcs_do_not_disturb_the_driver(ue, sim, air, profile):
    urc = {"ue-3gpp": "+C5GREG: 1", "ue-quectel": '+QIND: "csq",20,99'}[profile.name]
    sim.inject_urc(urc)  # before the next reply
    sim.inject_urc(urc, during_next_reply=True)  # within it
    within_resolution(profile, ue.reading(), RADIO)
    sim.inject_urc("RING", during_next_reply=True)
    assert ue.registered()


def test_echo_setting_outlives_a_reconnection_on_the_pty_only(air, mode):
    with SimUeModem(radio=air, transport=mode) as sim:
        with SerialTransport(sim.resource, "ue") as link:
            at(link, "ATE0")
        with SerialTransport(sim.resource, "ue") as link:
            # a serial line is one AT port; each TCP connection is a new one, echo on again
            assert at(link, "AT") == ("\nOK\n" if mode == "pty" else "AT\nOK\n")


# -- clean-up -------------------------------------------------------------------------------------------
def test_stop_ends_every_thread_and_closes_every_fd(air, mode):
    before = set(os.listdir("/proc/self/fd"))
    sim = SimUeModem(radio=air, transport=mode)
    sim.start()
    transport = SerialTransport(sim.resource, "ue", line_ending="\r")
    transport.open()
    modem = UeModem(transport, GPP, timeout=2.0)
    modem.open()
    modem.reading()
    assert any(t.name.startswith("sim-ue-") for t in threading.enumerate())
    modem.close()
    sim.stop()
    assert [t.name for t in threading.enumerate() if t.name.startswith("sim-ue-")] == []
    assert set(os.listdir("/proc/self/fd")) == before
    assert sim.resource is None
