"""The simulated SCPI server survives what a lab network throws at it: garbage, a 10 MB line,
clients that vanish half-way, and 50 connections at once; and it leaves no thread behind."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from fivegbench.sim.attenuator import SimAttenuator
from fivegbench.sim.scpi import ScpiServer
from fivegbench.sim.world import World
from tests.sim.rawclient import Client

IDN = "fivegbench,SIM-ATT-95,SIM-ATT-0001,1.0"


@pytest.fixture
def server():
    before = set(threading.enumerate())
    server = ScpiServer(SimAttenuator(World()))
    server.start()
    yield server
    server.stop()
    left = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    assert left == [], f"threads left behind: {left}"


def wait_for(condition, seconds: float = 10.0) -> bool:
    """Poll ``condition`` (bounded): True once it holds."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def test_garbage_then_a_query_is_answered(server):
    client = Client(server.port)
    try:
        client.sock.sendall(bytes(range(256)) * 40 + b"\n")
        assert client.query("*IDN?") == IDN
        assert client.query("SYST:ERR?").startswith("-")
    finally:
        client.sock.close()


def test_a_10_mb_line_is_too_much_data_and_the_connection_carries_on(server):
    client = Client(server.port)
    try:
        client.sock.sendall(b"ATT " + b"9" * 10_000_000 + b"\n")
        assert client.query("*IDN?") == IDN
        assert client.query("SYST:ERR?") == '-223,"Too much data;more than 1048576 bytes"'
        assert client.query("SYST:ERR?") == '0,"No error"'
    finally:
        client.sock.close()


def test_a_block_declaring_9999999999_bytes_does_not_swallow_the_next_command(server):
    client = Client(server.port)
    try:
        client.write("ATT #9999999999")
        assert client.query("*IDN?") == IDN
    finally:
        client.sock.close()


def test_half_open_clients_do_not_block_others_and_are_released(server):
    vanished = []
    for _ in range(5):  # a partial message, then gone; and one that says nothing at all
        sock = socket.create_connection(("127.0.0.1", server.port))
        sock.sendall(b"*IDN")
        vanished.append(sock)
    vanished.append(socket.create_connection(("127.0.0.1", server.port)))
    big = socket.create_connection(("127.0.0.1", server.port))
    big.sendall(b";".join([b"*IDN?"] * 5000) + b"\n")  # a large reply it never reads
    client = Client(server.port)
    try:
        assert client.query("*IDN?") == IDN
        for sock in [*vanished, big]:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            sock.close()  # a reset, as when the client machine goes away
        assert wait_for(lambda: server.connections == 1), server.connections
        assert client.query("*IDN?") == IDN
    finally:
        client.sock.close()
    assert wait_for(lambda: server.connections == 0)


def test_fifty_concurrent_connections_are_all_answered(server):
    clients = [Client(server.port) for _ in range(50)]
    answers: list[str] = []
    lock = threading.Lock()

    def ask(client: Client) -> None:
        reply = client.query("*IDN?;ATT?")
        with lock:
            answers.append(reply)

    threads = [threading.Thread(target=ask, args=(c,)) for c in clients]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert answers == [f"{IDN};0E+00"] * 50
    finally:
        for c in clients:
            c.sock.close()
