"""The VISA transport through pyvisa-py against a real simulated SCPI server."""

from __future__ import annotations

import re
import socket

import numpy as np
import pytest
import pyvisa

from fivegbench.errors import InstrumentError
from fivegbench.sim.analyzer import SimFsw
from fivegbench.sim.scpi import ScpiServer
from fivegbench.sim.world import World
from fivegbench.transport.base import IoLog
from fivegbench.transport.visa import VisaTransport


@pytest.fixture(scope="module")
def rm():
    manager = pyvisa.ResourceManager("@py")  # one per process in real use; one per module here
    yield manager
    manager.close()


@pytest.fixture
def server():
    with ScpiServer(SimFsw(World(), serial="T1")) as srv:
        yield srv


@pytest.fixture
def transport(rm, server, tmp_path):
    iolog = IoLog(tmp_path / "io.log")
    link = VisaTransport(server.resource, "analyzer", rm, iolog, timeout_s=5)
    link.open()
    yield link
    link.close()
    iolog.close()


def test_driver_socket_has_tcp_nodelay(transport):
    sock = transport.socket
    assert isinstance(sock, socket.socket)
    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def test_query_and_io_log_format(transport, tmp_path):
    assert transport.query("*IDN?").startswith("Rohde&Schwarz,FSW-26,")
    lines = (tmp_path / "io.log").read_text().splitlines()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z  analyzer  >  \*IDN\?", lines[0])
    assert re.fullmatch(r"\S+  analyzer  <  Rohde&Schwarz,FSW-26,1331\.5003K26/T1,5\.30", lines[1])


def test_block_with_newline_bytes_is_read_by_length(transport, tmp_path):
    rng = np.random.default_rng(7)
    values = rng.normal(-60, 20, 20001).astype("<f4")
    assert b"\n" in values.tobytes()  # the payload contains the termination character
    transport.write("INIT:CONT OFF;:SWE:POIN 20001;:FORM REAL,32")  # FSW REAL,32 is little-endian
    block = b"#" + str(len(str(values.nbytes))).encode() + str(values.nbytes).encode() + values.tobytes()
    upload = "TRAC:DATA TRACE1,"
    # the engine accepts a block parameter; send it raw through the same session
    transport._resource.write_raw(upload.encode() + block + b"\n")
    payload = transport.query_block("TRAC:DATA? TRACE1")
    np.testing.assert_array_equal(np.frombuffer(payload, "<f4"), values)
    assert transport.query("SYST:ERR?") == '0,"No error"'  # nothing left over in the stream
    assert f"<block {values.nbytes} bytes>" in (tmp_path / "io.log").read_text()


def test_refused_port_is_an_instrument_error(rm):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    link = VisaTransport(f"TCPIP::127.0.0.1::{port}::SOCKET", "analyzer", rm, timeout_s=1, open_timeout_s=1)
    with pytest.raises(InstrumentError) as info:
        link.open()
        link.query("*IDN?")  # pyvisa-py 0.8 reports a refused port only on first I/O
    assert info.value.role == "analyzer"
    link.close()
