"""The simulated Mini-Circuits attenuator through a real socket and through pyvisa-py, with its driver."""

from __future__ import annotations

import re
import socket
import threading
import time

import pytest

from fivegbench.bench import InstrumentConfig
from fivegbench.drivers.attenuator.minicircuits import MiniCircuitsAttenuator
from fivegbench.errors import InstrumentError
from fivegbench.sim.attenuator_minicircuits import SimMiniCircuitsAttenuator, model_max_db, serve
from fivegbench.sim.world import World
from fivegbench.transport.base import IoLog
from fivegbench.transport.visa import VisaTransport

TIMEOUT_S = 5.0
SHORT_TIMEOUT_S = 0.3


class Line:
    """A raw-socket client: sends CR LF terminated lines, reads exact bytes."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buffer = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def read_line(self) -> bytes:
        """One reply, CR LF included."""
        while b"\r\n" not in self._buffer:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("server closed the connection")
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\r\n")
        return line + b"\r\n"

    def query(self, command: str) -> str:
        self.send(command.encode("ascii") + b"\r\n")
        reply = self.read_line()
        return reply[:-2].decode("ascii")

    def assert_silent(self, seconds: float = SHORT_TIMEOUT_S) -> None:
        self.sock.settimeout(seconds)
        try:
            with pytest.raises(TimeoutError):
                self.sock.recv(4096)
        finally:
            self.sock.settimeout(TIMEOUT_S)
        assert self._buffer == b""

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def sim(world):
    with SimMiniCircuitsAttenuator(world) as server:
        yield server


@pytest.fixture
def sim4(world):
    with SimMiniCircuitsAttenuator(world, model="RC4DAT-6G-95", serial="11604210008") as server:
        yield server


@pytest.fixture
def client(sim):
    line = Line(sim.port)
    yield line
    line.close()


@pytest.fixture
def client4(sim4):
    line = Line(sim4.port)
    yield line
    line.close()


def open_link(rm, sim, timeout_s: float = TIMEOUT_S, iolog: IoLog | None = None) -> VisaTransport:
    link = VisaTransport(
        sim.resource,
        "attenuator",
        rm,
        iolog,
        timeout_s=timeout_s,
        read_termination="\r\n",
        write_termination="\r\n",
    )
    link.open()
    return link


@pytest.fixture
def link(rm, sim):
    transport = open_link(rm, sim)
    yield transport
    transport.close()


def attenuation(world: World) -> float:
    with world.lock:
        return world.attenuation_db


# -- the server ----------------------------------------------------------------------------
def test_start_returns_the_socket_resource(world):
    server = SimMiniCircuitsAttenuator(world)
    resource = server.start()
    try:
        assert resource == f"TCPIP::127.0.0.1::{server.port}::SOCKET" == server.resource
        assert server.port > 0
        with pytest.raises(RuntimeError, match="already started"):
            server.start()
    finally:
        server.stop()


def test_stop_closes_connections_and_joins_every_thread(world):
    before = set(threading.enumerate())
    server = SimMiniCircuitsAttenuator(world)
    server.start()
    port = server.port
    line = Line(port)
    assert line.query(":SN?") == "SN=12345678901"
    assert server.connections == 1
    names = {t.name for t in threading.enumerate()} - {t.name for t in before}
    assert names == {f"mcl-att-{port}-accept", f"mcl-att-{port}-conn1"}
    server.stop()
    assert line.sock.recv(16) == b""  # the server closed the connection
    line.close()
    assert set(threading.enumerate()) <= before
    assert server.connections == 0
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_stop_with_a_pyvisa_session_open(rm, world):
    before = set(threading.enumerate())
    server = SimMiniCircuitsAttenuator(world)
    server.start()
    link = open_link(rm, server)
    try:
        assert MiniCircuitsAttenuator(link).set_attenuation(5) == 5.0
    finally:
        server.stop()
        link.close()
    assert set(threading.enumerate()) <= before


def test_unknown_model_is_rejected(world):
    with pytest.raises(ValueError, match="unknown model"):
        SimMiniCircuitsAttenuator(world, model="RCDAT-6000-60")


def test_model_max_db():
    assert model_max_db("RCDAT-6000-110") == 110.0
    assert model_max_db("RC4DAT-6G-95") == 95.0


# -- the protocol on a raw socket ------------------------------------------------------------
def test_replies_are_exact_crlf_lines(client):
    client.send(b":MN?\r\n")
    assert client.read_line() == b"MN=RCDAT-6000-110\r\n"
    client.send(b":SN?\r\n")
    assert client.read_line() == b"SN=12345678901\r\n"
    client.send(b":ATT?\r\n")
    assert client.read_line() == b"0.00\r\n"


def test_set_read_back_and_the_world_follows(client, world):
    assert client.query(":SETATT=25.75") == "1"
    assert client.query(":ATT?") == "25.75"
    assert attenuation(world) == 25.75
    assert client.query(":CHAN:1:SETATT:30") == "1"  # the channel form addresses channel 1 too
    assert client.query(":CHAN:1:ATT?") == "30.00"
    assert attenuation(world) == 30.0
    assert client.query(":CHAN:1:SETATT=12.5") == "1"
    assert attenuation(world) == 12.5


def test_two_commands_in_one_segment_get_two_replies(client):
    client.send(b":SETATT=10\r\n:ATT?\r\n")
    assert client.read_line() == b"1\r\n"
    assert client.read_line() == b"10.00\r\n"


def test_a_command_split_across_segments(client):
    client.send(b":SET")
    time.sleep(0.02)
    client.send(b"ATT=7.5\r")
    time.sleep(0.02)
    client.send(b"\n")
    assert client.read_line() == b"1\r\n"
    assert client.query(":ATT?") == "7.50"


def test_case_insensitive_and_the_leading_colon_is_optional(client, world):
    assert client.query("mn?") == "MN=RCDAT-6000-110"
    assert client.query("setatt=40") == "1"
    assert client.query("Att?") == "40.00"
    assert client.query("chan:1:setatt:41") == "1"
    assert attenuation(world) == 41.0


def test_above_the_maximum_clips_with_reply_2(client, world):
    assert client.query(":SETATT=120") == "2"
    assert client.query(":ATT?") == "110.00"
    assert attenuation(world) == 110.0
    assert client.query(":SETATT=110") == "1"
    assert client.query(":SETATT=110.1") == "2"


@pytest.mark.parametrize(
    ("sent", "expected"), [("10.1", 10.0), ("10.125", 10.25), ("10.2", 10.25), ("0.1", 0.0)]
)
def test_rounds_to_the_nearest_quarter_db(client, world, sent, expected):
    assert client.query(f":SETATT={sent}") == "1"
    assert float(client.query(":ATT?")) == expected == attenuation(world)


@pytest.mark.parametrize("value", ["-1", "-0.25", "abc", "", "1e3", "nan", "10 dB", "1;:ATT?"])
def test_negative_or_non_numeric_value_fails_with_reply_0(client, world, value):
    assert client.query(":SETATT=20") == "1"
    assert client.query(f":SETATT={value}") == "0"
    assert client.query(":ATT?") == "20.00"
    assert attenuation(world) == 20.0


@pytest.mark.parametrize("command", ["*IDN?", "*OPC?", "*RST", "*idn?"])
def test_common_commands_get_no_reply_at_all(client, command):
    client.send(command.encode() + b"\r\n")
    client.assert_silent()
    assert client.query(":SN?") == "SN=12345678901"  # nothing late is left in the stream


def test_empty_line_gets_no_reply(client):
    client.send(b"\r\n")
    client.assert_silent()


@pytest.mark.parametrize(
    "command", [":FOO?", ":CHAN:2:SETATT:5", ":CHAN:0:ATT?", ":ATT?;:MN?", "ATT", ":MN", "\xffMN?"]
)
def test_unknown_commands_answer_minus_99(client, world, command):
    client.send(command.encode("latin-1") + b"\r\n")
    assert client.read_line() == b"-99\r\n"
    assert attenuation(world) == 0.0


def test_initial_setting_is_the_worlds():
    w = World(attenuation_db=33.25)
    with SimMiniCircuitsAttenuator(w) as server:
        line = Line(server.port)
        try:
            assert line.query(":ATT?") == "33.25"
        finally:
            line.close()


def test_settings_are_shared_between_connections(sim, client):
    other = Line(sim.port)
    try:
        assert other.query(":SETATT=3") == "1"
        assert client.query(":ATT?") == "3.00"
    finally:
        other.close()


# -- the four-channel model ----------------------------------------------------------------
def test_four_channel_model(client4, world):
    assert client4.query(":MN?") == "MN=RC4DAT-6G-95"
    assert client4.query(":CHAN:2:SETATT:12.5") == "1"
    assert client4.query(":CHAN:4:SETATT=95") == "1"
    assert client4.query(":CHAN:3:SETATT:100") == "2"
    assert client4.query(":CHAN:2:ATT?") == "12.50"
    assert client4.query(":ATT?") == "0.00  12.50  95.00  95.00"
    assert attenuation(world) == 0.0  # only channel 1 is the world's RF path
    assert client4.query(":CHAN:1:SETATT:6") == "1"
    assert attenuation(world) == 6.0


@pytest.mark.parametrize("command", [":SETATT=5", ":CHAN:5:SETATT:1", ":CHAN:5:ATT?"])
def test_four_channel_model_unknown_forms(client4, command):
    assert client4.query(command) == "-99"


# -- pyvisa-py and the driver end to end ----------------------------------------------------
def test_driver_end_to_end(link, world, sim):
    att = MiniCircuitsAttenuator(link)
    assert att.idn() == "Mini-Circuits,RCDAT-6000-110,SN 12345678901"
    assert att.model_max_db() == 110.0
    assert att.set_attenuation(25.75) == 25.75
    assert attenuation(world) == 25.75 == sim.attenuation()
    assert att.set_attenuation(0) == 0.0
    assert attenuation(world) == 0.0
    assert att.to_maximum() == 110.0
    assert attenuation(world) == 110.0


def test_driver_exchanges_are_logged_without_terminators(rm, sim, tmp_path):
    iolog = IoLog(tmp_path / "io.log")
    link = open_link(rm, sim, iolog=iolog)
    try:
        MiniCircuitsAttenuator(link, max_db=110).set_attenuation(12.5)
    finally:
        link.close()
        iolog.close()
    lines = [line.split("  ", 1)[1] for line in (tmp_path / "io.log").read_text().splitlines()]
    assert lines == [
        "attenuator  >  :SETATT=12.5",
        "attenuator  <  1",
        "attenuator  >  :ATT?",
        "attenuator  <  12.50",
    ]


def test_driver_bench_limit_above_the_unit_clips_and_fails(link, world):
    att = MiniCircuitsAttenuator(link, max_db=120)  # the bench file is wrong about the unit
    with pytest.raises(InstrumentError, match=r"reply 2"):
        att.set_attenuation(115)
    assert attenuation(world) == 110.0  # the unit went to its maximum: the safe direction
    assert att.set_attenuation(50) == 50.0  # the link is still in step


def test_driver_to_maximum_ignores_the_bench_limit(link, world):
    assert MiniCircuitsAttenuator(link, max_db=30).to_maximum() == 110.0
    assert attenuation(world) == 110.0


def test_driver_refuses_above_the_models_maximum_without_setting(link, world):
    att = MiniCircuitsAttenuator(link)
    with pytest.raises(ValueError, match="above the maximum 110"):
        att.set_attenuation(110.25)
    assert attenuation(world) == 0.0


def test_driver_on_a_channel_of_the_four_channel_model(rm, sim4, world):
    link = open_link(rm, sim4)
    try:
        att = MiniCircuitsAttenuator(link, channel=2)
        assert att.idn() == "Mini-Circuits,RC4DAT-6G-95,SN 11604210008"
        assert att.set_attenuation(12.5) == 12.5
        assert att.to_maximum() == 95.0
        assert sim4.attenuation(2) == 95.0
        assert attenuation(world) == 0.0
        # The single-channel form means nothing to a four-channel unit (-99 in the simulator).
        with pytest.raises(InstrumentError):
            MiniCircuitsAttenuator(link, max_db=95).set_attenuation(1)
    finally:
        link.close()


def test_idn_query_times_out_through_pyvisa(rm, sim):
    link = open_link(rm, sim, timeout_s=SHORT_TIMEOUT_S)
    try:
        start = time.monotonic()
        with pytest.raises(InstrumentError) as info:
            link.query("*IDN?")
        assert time.monotonic() - start >= SHORT_TIMEOUT_S * 0.9
        assert info.value.command == "<read>" and "read failed" in info.value.message
        with pytest.raises(InstrumentError, match="read failed"):
            link.query("*OPC?")
        # Nothing arrives late: the next exchange is in step.
        assert MiniCircuitsAttenuator(link).set_attenuation(1.25) == 1.25
    finally:
        link.close()


# -- the simulated bench's entry point --------------------------------------------------------
def bench_unit(**options) -> InstrumentConfig:
    return InstrumentConfig(
        driver="minicircuits_attenuator",
        resource="TCPIP::127.0.0.1::0::SOCKET",
        serial="11604210008",
        options=options,
    )


def visa_link(rm, resource: str) -> VisaTransport:
    link = VisaTransport(resource, "attenuator", rm, None, read_termination="\r\n", write_termination="\r\n")
    link.open()
    return link


def test_serve_starts_a_single_channel_unit_the_driver_reaches(rm, world):
    before = set(threading.enumerate())
    resource, stop = serve(world, bench_unit(), "socket")
    try:
        assert re.fullmatch(r"TCPIP::127\.0\.0\.1::\d+::SOCKET", resource)
        link = visa_link(rm, resource)
        try:
            att = MiniCircuitsAttenuator(link)
            assert att.idn() == "Mini-Circuits,RCDAT-6000-110,SN 11604210008"
            assert att.set_attenuation(30.25) == 30.25
            assert attenuation(world) == 30.25
        finally:
            link.close()
    finally:
        stop()
    assert set(threading.enumerate()) <= before
    port = int(resource.split("::")[2])
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_serve_takes_the_model_from_the_options(rm, world):
    resource, stop = serve(world, bench_unit(model="RC4DAT-6G-95"), "pty")  # console: not used
    try:
        link = visa_link(rm, resource)
        try:
            identity = MiniCircuitsAttenuator(link, channel=1).idn()
            assert identity == "Mini-Circuits,RC4DAT-6G-95,SN 11604210008"
        finally:
            link.close()
    finally:
        stop()
