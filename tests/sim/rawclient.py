"""A raw-socket SCPI controller for simulator tests: LF-terminated messages, blocks read by
their declared length (the same framing rules as a VISA SOCKET session)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

from fivegbench.sim.scpi import ScpiEngine, ScpiServer

TIMEOUT_S = 10.0


class Client:
    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buffer = b""

    def write(self, message: str | bytes) -> None:
        data = message.encode() if isinstance(message, str) else message
        self.sock.sendall(data + b"\n")

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        self._buffer += chunk

    def _take(self, count: int) -> bytes:
        while len(self._buffer) < count:
            self._fill()
        data, self._buffer = self._buffer[:count], self._buffer[count:]
        return data

    def read_line(self) -> str:
        while b"\n" not in self._buffer:
            self._fill()
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode("latin-1")

    def query(self, message: str) -> str:
        self.write(message)
        return self.read_line()

    def read_block(self) -> bytes:
        assert self._take(1) == b"#"
        n = int(self._take(1))
        payload = self._take(int(self._take(n)))
        assert self._take(1) == b"\n", "a block response must end in exactly one LF"
        return payload

    def query_block(self, message: str) -> bytes:
        self.write(message)
        return self.read_block()

    def close(self) -> None:
        self.sock.close()


def served(engine: ScpiEngine) -> Iterator[Client]:
    """Serve ``engine`` on an ephemeral port and yield a raw client of it (for a fixture:
    ``yield from served(SimFsw(world))``); both are closed afterwards."""
    server = ScpiServer(engine)
    server.start()
    client = Client(server.port)
    try:
        yield client
    finally:
        client.close()
        server.stop()
