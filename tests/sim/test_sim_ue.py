"""The simulated UE modem through real pyserial (socket:// and pty), raw and with the real driver."""

from __future__ import annotations

import logging
import math
import os
import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest
import pyvisa

from fivegbench.bench import InstrumentConfig
from fivegbench.drivers.attenuator.minicircuits import MiniCircuitsAttenuator
from fivegbench.drivers.ue import UeModem, UeReading, load_ue_profile
from fivegbench.errors import InstrumentError
from fivegbench.sim.attenuator_minicircuits import serve as serve_attenuator
from fivegbench.sim.ue import SimRadio, SimUeModem, serve, world_radio
from fivegbench.sim.world import World
from fivegbench.transport.serial import SerialTransport
from fivegbench.transport.visa import VisaTransport

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
        "ue-quectel": "fivegbench, SIMUE-5G, Revision: SIMUE5G01A01, 860000000000009",
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


# -- the simulated bench's entry point: the world's radio ----------------------------------------------
BENCH_UE = InstrumentConfig(
    driver="at_modem", resource="socket://127.0.0.1:0", profile="ue-3gpp", serial="861234567890123"
)


def sim_ue_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("sim-ue-")]


def model_rsrp_dbm(attenuation_db: float) -> float:
    """docs/radio-model.md §1 for the default world (30 dBm over 273 PRB x 12 subcarriers, 60 dB
    coupling loss), written out here rather than taken from the model."""
    return 30.0 - 10 * math.log10(273 * 12) - 60.0 - attenuation_db


@contextmanager
def bench_ue(world: World, mode: str, profile) -> Iterator[UeModem]:
    """``fivegbench.sim.ue.serve`` on ``world``, reached by the real driver; stopped on exit."""
    resource, stop = serve(world, BENCH_UE, mode)
    try:
        with SerialTransport(resource, "ue", line_ending=profile.line_ending) as transport:
            modem = UeModem(transport, profile, timeout=2.0)
            modem.open()
            yield modem
    finally:
        stop()


def rf_on(world: World, on: bool = True) -> None:
    with world.lock:
        world.gnb.rf_on = on


def set_attenuation(world: World, db: float) -> None:
    with world.lock:
        world.attenuation_db = db


def test_serve_rsrp_follows_the_worlds_attenuation(mode, profile):
    world = World()
    rf_on(world)
    with bench_ue(world, mode, profile) as ue:
        ue.require_registered()
        set_attenuation(world, 0.0)
        at_0 = ue.reading()
        set_attenuation(world, 60.0)
        ue.require_registered()  # SINR -2.9 dB: still above the detection threshold
        at_60 = ue.reading()
    # +CESQ reports the lower edge of the 1 dB interval holding the value; QENG rounds to 1 dB.
    resolution = 1.0
    for reading, attenuation in ((at_0, 0.0), (at_60, 60.0)):
        true = model_rsrp_dbm(attenuation)  # -65.15 dBm, -125.15 dBm
        if profile is GPP:
            assert reading.rsrp_dbm <= true < reading.rsrp_dbm + resolution, (reading, true)
        else:
            assert abs(reading.rsrp_dbm - true) <= resolution / 2, (reading, true)
    assert abs(at_0.rsrp_dbm - at_60.rsrp_dbm - 60.0) <= resolution
    if profile is QUECTEL:  # the cell as the world configures it; PCI is the simulator's fixed 1
        assert (at_60.band, at_60.arfcn, at_60.pci) == ("n78", 650000, 1)
    assert sim_ue_threads() == []


def test_serve_rf_off_is_no_cell(mode, profile):
    world = World()  # RF off, as the gNB starts
    with bench_ue(world, mode, profile) as ue:
        assert not ue.registered()
        with pytest.raises(InstrumentError) as info:
            ue.require_registered()
        words = {
            "ue-3gpp": "not registered: +C5GREG: 0,2; +COPS: 0",  # 2: searching
            "ue-quectel": 'not registered: +QENG: "servingcell","SEARCH"',
        }
        assert info.value.message == words[profile.name]
        if profile is GPP:
            assert ue.reading() == UeReading()  # +CESQ: every NR field 255, not known
        else:
            with pytest.raises(InstrumentError, match="no reading"):
                ue.reading()
        rf_on(world)
        assert ue.require_registered()
        rf_on(world, False)
        assert not ue.registered()


def test_world_radio_detects_the_cell_from_minus_6_db_sinr():
    world = World()
    rf_on(world)
    radio = world_radio(world)
    # SINR = RSRP - N_RE = (-65.15 dBm - A) - (-174 + 10 log10(30 kHz) + 7 dB) = 57.08 dB - A
    set_attenuation(world, 63.0)
    seen = radio()
    assert seen.registered and seen.sinr_db == pytest.approx(-5.92, abs=0.01)
    assert seen.rsrp_dbm == pytest.approx(model_rsrp_dbm(63.0), abs=1e-9)
    assert (seen.band, seen.arfcn, seen.pci, seen.bandwidth_mhz, seen.scs_khz) == ("n78", 650000, 1, 100, 30)
    set_attenuation(world, 63.1)  # SINR -6.02 dB
    assert radio() == replace(seen, rsrp_dbm=None, rsrq_db=None, sinr_db=None, registered=False)


def test_world_radio_follows_the_gnb_configuration():
    world = World()
    rf_on(world)
    with world.lock:
        world.gnb.tx_power_dbm = 40.0
        world.gnb.bandwidth_hz = 20e6  # 51 PRB at 30 kHz
        world.gnb.center_frequency_hz = 3.51e9
    seen = world_radio(world)()
    assert seen.rsrp_dbm == pytest.approx(40.0 - 10 * math.log10(51 * 12) - 60.0, abs=1e-9)
    assert (seen.arfcn, seen.bandwidth_mhz) == (634000, 20)  # 600000 + 510 MHz / 15 kHz


def test_serve_qeng_reports_the_worlds_bandwidth(mode):
    world = World()
    rf_on(world)
    with world.lock:
        world.gnb.bandwidth_hz = 20e6
    resource, stop = serve(world, BENCH_UE, mode)
    try:
        with SerialTransport(resource, "ue", line_ending="\r") as link:
            at(link, "ATE0")
            fields = at(link, 'AT+QENG="servingcell"').split("\n")[1].split(",")
    finally:
        stop()
    assert fields[11] == "3"  # <NR_DL_bandwidth> 3: 20 MHz (not the modem's own 100 MHz, 12)


def test_serve_with_the_minicircuits_attenuator_in_the_path():
    """The attenuator's serve() and the UE's on one world: the driver sets 40 dB, the UE sees it."""
    world = World()
    rf_on(world)
    unit = InstrumentConfig(driver="minicircuits_attenuator", resource="TCPIP::127.0.0.1::0::SOCKET")
    att_resource, att_stop = serve_attenuator(world, unit, "socket")
    rm = pyvisa.ResourceManager("@py")
    try:
        link = VisaTransport(
            att_resource, "attenuator", rm, None, read_termination="\r\n", write_termination="\r\n"
        )
        link.open()
        try:
            with bench_ue(world, "socket", GPP) as ue:
                before = ue.reading().rsrp_dbm
                assert MiniCircuitsAttenuator(link).set_attenuation(40) == 40.0
                after = ue.reading().rsrp_dbm
        finally:
            link.close()
    finally:
        att_stop()
        rm.close()
    assert before - after == 40.0  # -66 -> -106 dBm: both values inside their 1 dB intervals


def test_stop_after_serve_leaves_no_thread_and_no_fd(mode):
    before = set(os.listdir("/proc/self/fd"))
    resource, stop = serve(World(), BENCH_UE, mode)
    with SerialTransport(resource, "ue", line_ending="\r") as link:
        assert at(link, "AT") == "AT\nOK\n"
        assert sim_ue_threads()
    stop()
    assert sim_ue_threads() == []
    assert set(os.listdir("/proc/self/fd")) == before


# -- fault injection -----------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["socket"])
def test_reset_and_hang_socket_ports(sim):
    port = int(sim.resource.rsplit(":", 1)[1])
    first = socket.create_connection(("127.0.0.1", port), timeout=2.0)
    second = socket.create_connection(("127.0.0.1", port), timeout=2.0)
    try:
        for client in (first, second):
            client.sendall(b"AT\r")
            received = b""
            while not received.endswith(b"OK\r\n"):
                chunk = client.recv(64)
                assert chunk, received  # not closed
                received += chunk
            assert received == b"AT\r\r\nOK\r\n"
        assert sim.hang_sessions() == 2
        second.sendall(b"AT\r")
        second.settimeout(0.5)
        with pytest.raises(TimeoutError):  # not even the echo
            second.recv(64)
        assert sim.reset_sessions() == 2
        for client in (first, second):
            client.settimeout(2.0)
            with pytest.raises(ConnectionResetError):
                client.recv(64)
        assert sim.reset_sessions() == 0
    finally:
        first.close()
        second.close()
    with SerialTransport(sim.resource, "ue") as link:  # a new connection is a new port
        assert at(link, "AT") == "AT\nOK\n"


@pytest.mark.parametrize("mode", ["pty"])
def test_faults_leave_the_pty_alone(sim, link):
    assert (sim.hang_sessions(), sim.reset_sessions()) == (0, 0)
    assert at(link, "AT") == "AT\nOK\n"
