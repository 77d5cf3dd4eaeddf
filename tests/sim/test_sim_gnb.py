"""The simulated gNB console through real pyserial (socket:// and pty), and the driver end to end."""

import re
import threading
import time
from pathlib import Path

import pytest

from fivegbench.drivers.gnb import GnbConsole, load_profile
from fivegbench.errors import InstrumentError
from fivegbench.sim.gnb import SimGnbConsole
from fivegbench.sim.world import World
from fivegbench.transport.base import IoLog
from fivegbench.transport.serial import SerialTransport, clean_console_text
from tests.sim.consoleclient import LOGIN, PASSWORD, PROMPT, RawSession

PROFILES = Path(__file__).resolve().parents[2] / "instruments" / "profiles"
PASSWORD_S = "s3cret"  # the fixture console's password
SETTLE_S = 0.05
RAMP_S = 0.2


@pytest.fixture(params=["socket", "pty"])
def mode(request):
    return request.param


@pytest.fixture
def world():
    return World()


@pytest.fixture
def sim(world, mode):
    console = SimGnbConsole(world, transport=mode, password=PASSWORD_S, settle_s=SETTLE_S, rf_ramp_s=RAMP_S)
    console.start()
    yield console
    console.stop()


@pytest.fixture
def link(sim):
    transport = SerialTransport(sim.resource, "gnb")
    transport.open()
    yield transport
    transport.close()


@pytest.fixture
def connect(sim):
    """Open raw sessions on the socket console; all are closed at the end of the test."""
    opened: list[RawSession] = []

    def open_session() -> RawSession:
        opened.append(RawSession(sim.resource))
        return opened[-1]

    yield open_session
    for session in opened:
        session.close()


def session_threads() -> int:
    return sum(t.name == "sim-gnb-session" and t.is_alive() for t in threading.enumerate())


def wait_for(condition, timeout: float = 2.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def login(t: SerialTransport, password: str = "s3cret") -> str:
    t.send_line("")  # pyserial flushed whatever came before the open: provoke a prompt
    t.read_until(LOGIN, 2)
    t.send_line("admin")
    t.read_until(PASSWORD, 2)
    t.send_line(password)
    return t.read_until(re.compile(r"^(?:gnb-cli> |login: )", re.MULTILINE), 2)


def run(t: SerialTransport, command: str, timeout: float = 2.0) -> str:
    """Send a command; return its output with the echo line and the prompt removed."""
    t.send_line(command)
    text = t.read_until(PROMPT, timeout)
    echo, _, rest = text.partition("\n")
    assert echo == command  # the console echoes the command line
    return rest.removesuffix("gnb-cli> ").rstrip("\n")


# -- the console itself -------------------------------------------------------------------------
def test_start_returns_the_resource_string(sim, mode):
    if mode == "socket":
        assert re.fullmatch(r"socket://127\.0\.0\.1:\d+", sim.resource)
    else:
        assert re.fullmatch(r"/dev/pts/\d+", sim.resource)


def test_login_and_show_version(link):
    text = login(link)
    assert "Welcome" in text
    assert text.endswith("gnb-cli> ")
    lines = run(link, "show version").split("\n")
    assert "Model: VHT gNodeB 8T8R (simulated)" in lines
    assert "Serial: SIM-GNB-0001" in lines
    assert "Software version: 2.3.1" in lines


def test_wrong_password_is_refused_and_not_echoed(link):
    text = login(link, password="wrong-pass")
    assert "Login incorrect" in text
    assert "wrong-pass" not in text
    assert text.endswith("login: ")
    link.send_line("admin")  # and the console asks again
    link.read_until(PASSWORD, 2)


def test_set_tx_power_updates_the_world(link, world):
    login(link)
    assert run(link, "set tx-power 37.5") == ""
    with world.lock:
        assert world.gnb.tx_power_dbm == 37.5
    assert "TX power: 37.5 dBm" in run(link, "show cell").split("\n")


def test_tx_power_out_of_range(link, world):
    login(link)
    assert run(link, "set tx-power 51") == "% Error: TX power 51 dBm out of range (-10.0 to 50.0 dBm)"
    assert world.gnb.tx_power_dbm == 30.0


def test_rf_on_ramps_then_rf_off(link, world):
    login(link)
    start = time.monotonic()
    assert run(link, "rf on") == "RF transmission ON"
    assert time.monotonic() - start >= RAMP_S * 0.9
    assert world.gnb.rf_on is True
    assert "RF: ON" in run(link, "show cell").split("\n")
    assert run(link, "rf off") == "RF transmission OFF"
    assert world.gnb.rf_on is False


def test_changing_the_carrier_while_rf_on_is_refused(link, world):
    login(link)
    run(link, "rf on")
    assert run(link, "set bandwidth 50") == "% Error: RF must be off to change bandwidth"
    assert run(link, "set scs 15") == "% Error: RF must be off to change SCS"
    assert run(link, "set arfcn 640000") == "% Error: RF must be off to change ARFCN"
    assert world.gnb.bandwidth_hz == 100e6
    start = time.monotonic()
    assert run(link, "set tx-power 40") == ""  # allowed with RF on, after the PA settles
    assert time.monotonic() - start >= SETTLE_S * 0.9
    assert world.gnb.tx_power_dbm == 40.0


def test_set_arfcn_moves_the_carrier(link, world):
    login(link)
    assert run(link, "set arfcn 640000") == ""
    assert world.gnb.center_frequency_hz == pytest.approx(3600e6)
    assert run(link, "set arfcn 510000") == "% Error: ARFCN 510000 (2550.000 MHz) is outside band n78"
    run(link, "set band n41")
    run(link, "set arfcn 510000")
    assert world.gnb.band == "n41"
    assert world.gnb.center_frequency_hz == pytest.approx(2550e6)


def test_unknown_command_and_alarms(link, sim):
    login(link)
    assert run(link, "reboot now") == "% Error: Unknown command 'reboot now'"
    assert run(link, "show alarms") == "No active alarms"
    sim.raise_alarm("VSWR", "antenna port 3 VSWR 2.8")
    assert run(link, "show alarms") == "MAJOR    VSWR         antenna port 3 VSWR 2.8"


# -- fault injection ---------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["socket"])
def test_debug_fault_reset_drops_the_other_sessions(sim, connect, world):
    first, second = connect(), connect()
    first.login(password=PASSWORD_S)
    second.login(password=PASSWORD_S)
    assert first.run("rf on") == "RF transmission ON"
    assert second.run("debug fault reset") == "reset 1 session(s)"
    with pytest.raises(ConnectionResetError):  # a TCP reset, not an orderly close (b"")
        first.recv(2.0)
    assert "RF: ON" in second.run("show cell").split("\n")  # the session that typed it lives on
    third = connect()
    third.login(password=PASSWORD_S)
    assert "RF: ON" in third.run("show cell").split("\n")  # the world is not changed
    with world.lock:
        assert world.gnb.rf_on is True


@pytest.mark.parametrize("mode", ["socket"])
def test_debug_fault_hang_silences_the_other_sessions(sim, connect, world):
    first, second = connect(), connect()
    first.login(password=PASSWORD_S)
    second.login(password=PASSWORD_S)
    assert second.run("debug fault hang") == "hung 1 session(s)"
    first.send("show cell\r\nrf on\r\n")
    with pytest.raises(TimeoutError):  # no echo, no output, no prompt, and not closed either
        first.recv(1.0)
    with world.lock:
        assert world.gnb.rf_on is False  # what a hung session receives is discarded, not run
    assert second.run("show version").startswith("Model: ")
    third = connect()
    third.login(password=PASSWORD_S)
    assert "RF: OFF" in third.run("show cell").split("\n")
    before = session_threads()
    first.close()  # the hung session's thread ends when its client disconnects
    assert wait_for(lambda: session_threads() == before - 1)
    assert third.run("debug fault hang") == "hung 1 session(s)"  # the first one is gone


@pytest.mark.parametrize("mode", ["socket"])
def test_reset_and_hang_methods(sim, connect):
    first, second = connect(), connect()
    first.login(password=PASSWORD_S)
    second.login(password=PASSWORD_S)
    assert sim.hang_sessions() == 2  # no session excepted: all of them
    second.send("show cell\r\n")
    with pytest.raises(TimeoutError):
        second.recv(0.5)
    assert sim.reset_sessions() == 2  # hung sessions can still be reset
    for session in (first, second):
        with pytest.raises(ConnectionResetError):
            session.recv(2.0)
    assert sim.reset_sessions() == 0
    third = connect()
    third.login(password=PASSWORD_S)
    assert "Band: n78" in third.run("show cell").split("\n")


@pytest.mark.parametrize("mode", ["socket"])
def test_a_session_hung_during_a_slow_command_prints_nothing_more(sim, connect, world):
    first = connect()
    first.login(password=PASSWORD_S)
    first.send("rf on\r\n")
    assert first.read_until(re.compile(r"rf on\n")) == "rf on\n"  # the echo comes before the ramp
    assert sim.hang_sessions() == 1
    with pytest.raises(TimeoutError):  # neither "RF transmission ON" nor the prompt
        first.recv(RAMP_S + 0.8)
    with world.lock:
        assert world.gnb.rf_on is True  # the command itself completed


@pytest.mark.parametrize("mode", ["socket"])
def test_stop_ends_a_hung_session(sim, connect):
    first = connect()
    first.login(password=PASSWORD_S)
    assert sim.hang_sessions() == 1
    start = time.monotonic()
    sim.stop()
    assert time.monotonic() - start < 2.0
    assert session_threads() == 0
    assert first.recv(2.0) == b""  # an orderly close, not a reset


@pytest.mark.parametrize("mode", ["pty"])
def test_debug_fault_is_refused_on_a_pty(link):
    login(link)
    assert run(link, "debug fault reset") == "% Error: 'debug fault reset' is not available on a pty console"
    assert run(link, "debug fault hang") == "% Error: 'debug fault hang' is not available on a pty console"
    assert "RF: OFF" in run(link, "show cell").split("\n")


def test_unknown_debug_commands(link):
    login(link)
    assert run(link, "debug") == "% Error: Unknown command 'debug'"
    assert run(link, "debug fault") == "% Error: Unknown command 'debug fault'"
    assert run(link, "debug fault crash") == "% Error: Unknown command 'debug fault crash'"
    assert run(link, "debug fault reset now") == "% Error: Unknown command 'debug fault reset now'"
    assert "debug" not in run(link, "help")  # hidden, as vendors do


# -- the driver end to end ----------------------------------------------------------------------
def test_driver_end_to_end(sim, world, tmp_path):
    iolog = IoLog(tmp_path / "io.log")
    transport = SerialTransport(sim.resource, "gnb", iolog)
    transport.open()
    gnb = GnbConsole(transport, load_profile("sim-gnb", search_dirs=[PROFILES]), "admin", "s3cret")
    try:
        gnb.connect()
        assert gnb.idn() == "VHT gNodeB 8T8R (simulated), serial SIM-GNB-0001, software 2.3.1"
        gnb.configure_cell(
            "n78",
            center_frequency_hz=3.75e9,
            bandwidth_hz=60e6,
            scs_hz=30e3,
            tdd_pattern="DDSU",
            special_slot="6:4:4",
        )
        gnb.set_test_model("NR-FR1-TM3.1")
        gnb.set_tx_power(43)
        gnb.rf_on()
        status = gnb.cell_status()
        assert status.rf_on and status.tx_power_dbm == 43.0 and status.bandwidth_hz == 60e6
        assert status.arfcn == 650000 and status.test_model == "NR-FR1-TM3.1"
        with world.lock:
            assert (world.gnb.rf_on, world.gnb.tx_power_dbm, world.gnb.tdd_pattern) == (True, 43.0, "DDSU")
        with pytest.raises(InstrumentError) as info:
            gnb.configure_cell("n78", arfcn=640000, bandwidth_hz=100e6, scs_hz=30e3)
        assert info.value.message == "RF must be off to change band"
        assert gnb.alarms() == []
        gnb.rf_off()
        assert world.gnb.rf_on is False
        gnb.logout()
    finally:
        gnb.close()
        iolog.close()
    log = (tmp_path / "io.log").read_text(encoding="utf-8")
    assert re.search(r"Z  gnb  >  rf off$", log, re.MULTILINE)
    assert re.search(r"Z  gnb  <  RF transmission OFF$", log, re.MULTILINE)
    assert re.search(r"Z  gnb  >  set tx-power 43\.0$", log, re.MULTILINE)
    assert re.search(r"Z  gnb  >  \*{8}$", log, re.MULTILINE)  # the password is masked
    assert "s3cret" not in log


def test_driver_reconnects_to_a_console_left_logged_in(world):
    with SimGnbConsole(world, transport="pty") as sim:
        profile = load_profile("sim-gnb", search_dirs=[PROFILES])
        for _ in range(2):  # the second time the serial line is still logged in
            with SerialTransport(sim.resource, "gnb") as transport:
                gnb = GnbConsole(transport, profile, "admin", "admin")
                gnb.connect()
                assert gnb.version() == "2.3.1"


def test_driver_wrong_password(sim):
    with SerialTransport(sim.resource, "gnb") as transport:
        gnb = GnbConsole(transport, load_profile("sim-gnb", search_dirs=[PROFILES]), "admin", "admin")
        with pytest.raises(InstrumentError, match="login as 'admin' refused"):
            gnb.connect()


def test_console_gone_is_an_instrument_error(sim, link):
    login(link)
    sim.stop()
    with pytest.raises(InstrumentError) as info:
        link.send_line("show cell")
        link.read_until(PROMPT, 2)
    assert info.value.command == "<io>"


# -- the serial transport ------------------------------------------------------------------------
def test_escape_sequences_and_line_endings_split_across_reads():
    with SerialTransport("loop://", "loop", line_ending="") as t:
        for piece in ("abc\x1b[1", "mdef\r", "\nok\x1b", "[0m> rest"):
            t._write(piece)  # raw: send_line refuses control characters
            with pytest.raises(TimeoutError):
                t.read_until(re.compile("never"), 0.06)
        assert t.read_until(re.compile(r"ok> "), 1) == "abcdef\nok> "
        t._write("\r\n")
        assert t.read_until(re.compile(r"\n"), 1) == "rest\n"


def test_timeout_quotes_the_tail():
    with SerialTransport("loop://", "loop") as t:
        t.send_line("still booting")
        with pytest.raises(TimeoutError, match="still booting"):
            t.read_until(PROMPT, 0.1)


def test_clean_console_text():
    assert clean_console_text("\x1b[32mOK\x1b[0m\r\r\nnext\rline\x1b7") == "OK\nnextline"


def test_open_failure_is_an_instrument_error():
    with pytest.raises(InstrumentError, match="cannot open"):
        SerialTransport("/dev/does-not-exist-fivegbench", "gnb").open()


def test_constructor_does_no_io():
    t = SerialTransport("/dev/does-not-exist-fivegbench", "gnb")
    assert not t.is_open
    with pytest.raises(InstrumentError, match="not open"):
        t.send_line("show cell")
