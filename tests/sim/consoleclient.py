"""A raw TCP client of the simulated gNB's socket console, as an operator at a terminal would use
it: no pyserial and no driver, so a reset shows as it is; every read has a deadline."""

from __future__ import annotations

import re
import socket
import time

PROMPT = re.compile(r"^gnb-cli> ", re.MULTILINE)
LOGIN = re.compile(r"^login: ", re.MULTILINE)
PASSWORD = re.compile(r"^Password: ", re.MULTILINE)


class RawSession:
    """One console session over a plain socket."""

    def __init__(self, resource: str) -> None:
        host, port = resource.removeprefix("socket://").rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=2)
        self.buffer = ""

    def send(self, text: str) -> None:
        self.sock.sendall(text.encode("utf-8"))

    def recv(self, timeout: float) -> bytes:
        self.sock.settimeout(timeout)
        return self.sock.recv(4096)

    def read_until(self, pattern: re.Pattern[str], timeout: float = 2.0) -> str:
        """Return the text up to the end of ``pattern`` (CR/LF as ``\\n``), keep the rest."""
        deadline = time.monotonic() + timeout
        while (m := pattern.search(self.buffer)) is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no {pattern.pattern!r} in {self.buffer[-200:]!r}")
            data = self.recv(remaining)
            if not data:
                raise EOFError(f"console closed the connection; got {self.buffer[-200:]!r}")
            self.buffer += data.decode("utf-8").replace("\r\n", "\n")
        text, self.buffer = self.buffer[: m.end()], self.buffer[m.end() :]
        return text

    def close(self) -> None:
        self.sock.close()

    def login(self, user: str = "admin", password: str = "admin") -> RawSession:
        """Log in on a fresh session (the console greets with ``login:`` on connect)."""
        self.read_until(LOGIN)
        self.send(user + "\r\n")
        self.read_until(PASSWORD)
        self.send(password + "\r\n")
        assert "Welcome" in self.read_until(PROMPT)
        return self

    def run(self, command: str, timeout: float = 5.0) -> str:
        """Type ``command``; return its output without the echo line and the prompt."""
        self.send(command + "\r\n")
        echo, _, rest = self.read_until(PROMPT, timeout).partition("\n")
        assert echo == command
        return rest.removesuffix("gnb-cli> ").rstrip("\n")

    def __enter__(self) -> RawSession:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def rf_state(resource: str) -> str:
    """``ON`` or ``OFF``, as the simulated console itself reports it (``show cell``)."""
    with RawSession(resource).login() as session:
        match = re.search(r"^RF:\s*(ON|OFF)", session.run("show cell"), re.MULTILINE)
    assert match is not None, "show cell printed no RF line"
    return match.group(1)
