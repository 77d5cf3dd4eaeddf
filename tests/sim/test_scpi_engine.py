"""The generic SCPI engine and TCP server, exercised through real loopback sockets."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import numpy as np
import pytest

from fivegbench.sim.scpi import (
    Context,
    MessageFramer,
    Response,
    ScpiEngine,
    ScpiError,
    ScpiServer,
    definite_block,
    format_nr3,
    mnemonic_matches,
    parse_block,
    parse_bool,
    parse_enum,
    parse_numeric,
    real32_block,
)
from tests.sim.rawclient import Client

TIMEOUT_S = 5.0


class ToyInstrument(ScpiEngine):
    """A minimal personality: two frequencies, a detector with suffixes, a timed operation and
    a block register."""

    def __init__(self) -> None:
        super().__init__("Acme,Toy,0001,1.0")
        self.center = 1e9
        self.span = 1e6
        self.block = b""
        self.command("[SENSe:]FREQuency:CENTer", self._center)
        self.command("[SENSe:]FREQuency:SPAN", self._span)
        self.command("[SENSe:][WINDow#:]DETector#[:FUNCtion]", self._detector)
        self.command("TEST:OPeration", self._operation, query_args=None)
        self.command("TEST:BLOCk", self._block)

    def _center(self, ctx: Context) -> Response:
        if ctx.is_query:
            return format_nr3(self.center)
        self.center = parse_numeric(ctx.params[0], "HZ", minimum=0.0, maximum=26.5e9)
        return None

    def _span(self, ctx: Context) -> Response:
        if ctx.is_query:
            return format_nr3(self.span)
        self.span = parse_numeric(ctx.params[0], "HZ", minimum=0.0, maximum=26.5e9)
        return None

    def _detector(self, ctx: Context) -> Response:
        if ctx.is_query:
            return ",".join(str(s) for s in ctx.suffixes)
        parse_enum(ctx.params[0], ("RMS", "APEak", "POSitive"))
        return None

    def _operation(self, ctx: Context) -> None:
        self.start_operation(parse_numeric(ctx.params[0], "S", minimum=0.0, maximum=10.0))

    def _block(self, ctx: Context) -> Response:
        if ctx.is_query:
            return self.block
        self.block = ctx.block(0)
        return None


@pytest.fixture
def toy() -> ToyInstrument:
    return ToyInstrument()


@pytest.fixture
def server(toy: ToyInstrument) -> Iterator[ScpiServer]:
    srv = ScpiServer(toy)
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def client(server: ScpiServer) -> Iterator[Client]:
    c = Client(server.port)
    yield c
    c.close()


def drain_errors(client: Client) -> list[str]:
    entries = []
    while not (entry := client.query("SYST:ERR?")).startswith("0,"):
        entries.append(entry)
        assert len(entries) < 20
    return entries


# -- pure helpers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "unit", "expected"),
    [
        ("3.5GHz", "HZ", 3.5e9),
        ("100 kHz", "HZ", 1e5),
        ("10MHZ", "HZ", 1e7),
        ("2 MAHZ", "HZ", 2e6),
        ("7KHZ", "HZ", 7e3),
        ("-10dBm", "DBM", -10.0),
        ("3 DB", "DB", 3.0),
        ("20 MS", "S", 0.02),
        ("5us", "S", 5e-6),
        ("1.5e3", None, 1500.0),
        (".5", None, 0.5),
    ],
)
def test_parse_numeric_units(text: str, unit: str | None, expected: float) -> None:
    assert parse_numeric(text, unit) == pytest.approx(expected)


def test_parse_numeric_min_max_def_and_errors() -> None:
    assert parse_numeric("MIN", "HZ", minimum=1.0, maximum=2.0, default=1.5) == 1.0
    assert parse_numeric("maximum", "HZ", minimum=1.0, maximum=2.0) == 2.0
    assert parse_numeric("DEF", "HZ", default=1.5) == 1.5
    for text, code in (("abc", -104), ("1 parsec", -131), ("3GHz", -222), ("DEF", -224)):
        with pytest.raises(ScpiError) as info:
            parse_numeric(text, "HZ", minimum=0.0, maximum=1e9)
        assert info.value.code == code


def test_booleans_enums_and_mnemonics() -> None:
    assert [parse_bool(t) for t in ("ON", "off", "1", "0")] == [True, False, True, False]
    with pytest.raises(ScpiError, match="-224"):
        parse_bool("maybe")
    assert parse_enum("apeak", ("RMS", "APEak")) == "APE"
    assert parse_enum("APE", ("RMS", "APEak")) == "APE"
    with pytest.raises(ScpiError, match="-224"):
        parse_enum("APEA", ("RMS", "APEak"))
    assert mnemonic_matches("freq", "FREQuency") and mnemonic_matches("FREQUENCY", "FREQuency")
    assert not mnemonic_matches("FREQU", "FREQuency")


def test_blocks_and_number_format() -> None:
    assert definite_block(b"abc") == b"#13abc"
    payload = "x\n;,\"'#123456"
    assert parse_block(f"#2{len(payload)}{payload}") == payload.encode()
    with pytest.raises(ScpiError, match="-161"):
        parse_block("#15ab")
    assert real32_block([1.0], little_endian=True) == b"\x00\x00\x80\x3f"
    assert real32_block([1.0], little_endian=False) == b"\x3f\x80\x00\x00"
    assert format_nr3(3.75e9) == "3.75E+09"
    assert format_nr3(-10.0) == "-1E+01"


def test_framer_splits_on_lf_but_reads_blocks_by_length() -> None:
    framer = MessageFramer()
    assert framer.feed(b"A 1\nB #15a\nb;c") == [b"A 1"]
    assert framer.feed(b"d\r\nC") == [b"B #15a\nb;cd\r"]
    assert framer.feed(b'?;D "x\nE') == [b'C?;D "x']  # LF ends a message even inside a string
    assert framer.feed(b"\n#2") == [b"E"]
    assert framer.feed(b"1") == [] and framer.feed(b"0\n123456789") == []
    assert framer.feed(b"\n") == [b"#210\n123456789"]


# -- message structure over a socket ----------------------------------------------------------


def test_compound_message_with_relative_paths_gives_one_joined_response(
    client: Client, toy: ToyInstrument
) -> None:
    assert client.query("FREQ:CENT 1GHz;SPAN 10MHz;CENT?;SPAN?;*IDN?;SPAN?") == (
        "1E+09;1E+07;Acme,Toy,0001,1.0;1E+07"
    )
    assert toy.span == 1e7
    assert client.query("sense:frequency:center 2.5 ghz;:FREQ:CENT?") == "2.5E+09"
    client.write("SPAN?")  # a new message starts at the root again: no response, -113
    assert drain_errors(client) == ['-113,"Undefined header;SPAN"']


def test_relative_header_resolves_against_previous_path_only(client: Client) -> None:
    # After FREQ:CENT, a relative FREQ:SPAN means FREQ:FREQ:SPAN -> -113, the rest still runs
    assert client.query("FREQ:CENT 1GHz;FREQ:SPAN 2MHz;:FREQ:SPAN?;*OPC?") == "1E+06;1"
    assert drain_errors(client) == ['-113,"Undefined header;FREQ:FREQ:SPAN"']


def test_suffixes_and_optional_nodes(client: Client) -> None:
    assert client.query("DET?;:SENS:WIND3:DET2:FUNC?;:wind4:detector?") == "1,1;3,2;4,1"


def test_crlf_segmentation_and_pipelining(client: Client) -> None:
    client.sock.sendall(b"FREQ:CE")
    time.sleep(0.02)
    client.sock.sendall(b"NT?\r\n*IDN?\n*OPC?\r\n")
    assert [client.read_line() for _ in range(3)] == ["1E+09", "Acme,Toy,0001,1.0", "1"]


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ("*IDN", -100),  # query-only command sent as a setting
        ("FREQ:CENT 1,,2", -102),
        ("FREQ:CENT= 1", -102),
        ('FREQ:CENT "abc', -102),
        ("FREQ:CENT 1GHz,2", -108),
        ("FREQ:CENT", -109),
        ("FREQU:CENT 1GHz", -113),
        ("FREQ:CENT 1e12", -222),
        ("DET FOO", -224),
        ("FREQ:CENT 1 parsec", -131),
    ],
)
def test_error_lands_in_queue(client: Client, message: str, code: int) -> None:
    client.write(message)
    assert client.query("SYST:ERR?").startswith(f"{code},")
    assert client.query("SYST:ERR?") == '0,"No error"'


def test_failing_unit_does_not_stop_the_message(client: Client) -> None:
    assert client.query("FREQ:CENT 2GHz;BOGUS 1;:FREQ:CENT?") == "2E+09"
    assert drain_errors(client) == ['-113,"Undefined header;FREQ:BOGUS"']


def test_queue_overflow_replaces_last_entry(client: Client) -> None:
    client.write(";".join(["BOGUS"] * 12))
    entries = client.query("SYST:ERR:ALL?")
    assert entries.count("-113,") == 9
    assert entries.endswith('-350,"Queue overflow"')
    assert client.query("SYST:ERR?") == '0,"No error"'


def test_esr_bits_stb_and_cls_rst(client: Client) -> None:
    client.write("BOGUS;FREQ:CENT 1e12")  # CME 32 + EXE 16
    assert client.query("*STB?") == "4"  # EAV; ESB masked out (ESE 0)
    assert client.query("*ESE 32;*ESE?") == "32"
    assert int(client.query("*STB?")) == 4 | 32
    assert client.query("*IDN?;*STB?").endswith(";52")  # MAV too: a response is pending
    assert client.query("*ESR?") == "48"
    assert client.query("*ESR?") == "0"  # read and cleared
    client.write(";".join(["BOGUS"] * 11))  # overflow: -350 is a device-dependent error
    assert int(client.query("*ESR?")) == 32 | 8
    client.write("*RST")
    assert client.query("SYST:ERR?").startswith("-113")  # *RST keeps the queue
    client.write("FREQ:CENT 1e12;*CLS")
    assert client.query("SYST:ERR?;*ESR?") == '0,"No error";0'


# -- overlapped operations --------------------------------------------------------------------


def test_opc_query_waits_for_operation_without_blocking_other_clients(server: ScpiServer) -> None:
    first, second = Client(server.port), Client(server.port)
    try:
        t0 = time.monotonic()
        first.write("TEST:OP 0.4;*OPC?")
        time.sleep(0.05)
        assert second.query("*IDN?") == "Acme,Toy,0001,1.0"
        assert time.monotonic() - t0 < 0.3, "another connection must be served during *OPC?"
        assert first.read_line() == "1"
        assert time.monotonic() - t0 >= 0.4
    finally:
        first.close()
        second.close()


def test_wai_and_opc_bit(client: Client) -> None:
    t0 = time.monotonic()
    assert client.query("TEST:OP 0.2;*WAI;*IDN?") == "Acme,Toy,0001,1.0"
    assert time.monotonic() - t0 >= 0.2
    assert client.query("TEST:OP 0.2;*OPC;*ESR?") == "0"
    time.sleep(0.25)
    assert client.query("*ESR?") == "1"
    assert client.query("*OPC;*ESR?") == "1"  # nothing pending: complete at once


# -- binary blocks ------------------------------------------------------------------------------


@pytest.mark.parametrize("little_endian", [True, False])
def test_binary_block_round_trip_with_lf_in_payload(client: Client, little_endian: bool) -> None:
    rng = np.random.default_rng(7)
    values = rng.normal(-60.0, 20.0, 4001).astype(np.float32)
    payload = real32_block(values, little_endian)
    assert b"\n" in payload and b";" in payload, "test data must contain 0x0A and ';' bytes"
    client.write(b"TEST:BLOCK " + definite_block(payload) + b";:TEST:BLOCK?")
    received = client.read_block()
    assert received == payload
    decoded = np.frombuffer(received, dtype="<f4" if little_endian else ">f4")
    np.testing.assert_array_equal(decoded, values)
    assert drain_errors(client) == []


# -- server behaviour ---------------------------------------------------------------------------


def test_server_sets_nodelay_and_resource(server: ScpiServer, client: Client) -> None:
    assert client.query("*IDN?")  # the connection is accepted by now
    options = server.client_socket_option(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    assert options and all(options)
    assert server.resource == f"TCPIP::127.0.0.1::{server.port}::SOCKET"


def test_survives_clients_disconnecting_mid_message(server: ScpiServer) -> None:
    for partial in (b"FREQ:CE", b"TEST:BLOCK #18abc", b"TEST:OP 0.3;*OPC?\n"):
        c = Client(server.port)
        c.sock.sendall(partial)
        c.close()
    time.sleep(0.05)
    c = Client(server.port)
    try:
        assert c.query("*IDN?") == "Acme,Toy,0001,1.0"
    finally:
        c.close()


def test_stop_closes_clients_and_joins_threads(toy: ToyInstrument) -> None:
    server = ScpiServer(toy)
    port = server.start()
    assert port > 0
    waiting = Client(port)
    idle = Client(port)
    try:
        waiting.write("TEST:OP 5;*OPC?")  # blocked in *OPC? when the server stops
        assert idle.query("*IDN?")
        t0 = time.monotonic()
        server.stop()
        assert time.monotonic() - t0 < 2.0
        names = [t.name for t in threading.enumerate() if t.name.startswith(f"scpi-{port}-")]
        assert names == []
        assert server.connections == 0
        with pytest.raises((ConnectionError, OSError)):
            idle.query("*IDN?")
    finally:
        waiting.close()
        idle.close()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1.0).close()
