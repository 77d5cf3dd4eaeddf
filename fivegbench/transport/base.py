"""Transport protocols and the exchange log.

Two shapes of conversation exist on a bench:

* message-based (SCPI over VISA): ``write``/``read``/``query``/``query_block``, one message per
  terminator, binary blocks read by their declared length;
* stream-based (a console over a serial line or a terminal server): ``send_line`` and
  ``read_until`` a regular expression (a prompt), reading in chunks.

Every exchange is logged in one place, :class:`IoLog`, to the run's ``io.log``: one line per
message, ``UTC time  role  >|<  message``, plain text with the terminator stripped, or
``<block N bytes>`` for a binary block.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol, TextIO

log = logging.getLogger(__name__)

SENT = ">"
RECEIVED = "<"
NOTE = "!"  # a line of the harness's own (a reopened link), not an exchange


class IoLog:
    """Appends every exchange of every instrument to one file (and to the module logger).

    Writing the log never stands between the harness and an instrument: a write that fails (a
    full disk) is reported once, loudly, the file is given up, and :attr:`failure` says why. The
    runner reads it between measurements and stops the run.
    """

    def __init__(self, path: Path | None = None) -> None:
        self._lock = threading.Lock()
        self.path = path
        self.failure: OSError | None = None
        self._file: TextIO | None = open(path, "a", encoding="utf-8") if path else None  # noqa: SIM115

    def record(self, role: str, direction: str, message: str) -> None:
        """Log one message; multi-line console output becomes one log line per text line."""
        stamp = datetime.now(UTC).isoformat(timespec="microseconds")[:-6] + "Z"
        if "\n" in message or "\r" in message:
            lines = [line for line in message.replace("\r", "").split("\n") if line.strip()] or [""]
            text = "".join(f"{stamp}  {role}  {direction}  {line}\n" for line in lines)
        else:  # the common case: one SCPI message
            text = f"{stamp}  {role}  {direction}  {message}\n"
        with self._lock:
            if self._file is not None:
                try:
                    self._file.write(text)
                    self._file.flush()
                except OSError as exc:
                    self._give_up(exc)
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s", text.rstrip("\n"))

    def _give_up(self, exc: OSError) -> None:
        self.failure = exc
        file, self._file = self._file, None
        log.error("cannot write %s: %s; instrument exchanges are no longer logged", self.path, exc)
        if file is not None:
            with contextlib.suppress(OSError):  # the buffered tail cannot be written either
                file.close()

    def block(self, role: str, direction: str, size: int) -> None:
        """Log a binary block by its size only."""
        self.record(role, direction, f"<block {size} bytes>")

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                try:
                    self._file.close()
                except OSError as exc:
                    self._give_up(exc)
                self._file = None


class MessageTransport(Protocol):
    """A message-based instrument link (SCPI). Terminators are added and stripped here."""

    role: str

    def open(self) -> None:
        """Open (or reopen, after :meth:`close`) the link."""

    def write(self, message: str) -> None:
        """Send one program message."""

    def read(self) -> str:
        """Read one response message, terminator stripped."""

    def query(self, message: str) -> str:
        """Write then read."""

    def query_block(self, message: str) -> bytes:
        """Send a query answered by one IEEE 488.2 definite-length block; return its payload."""

    def timeout(self, seconds: float) -> AbstractContextManager[None]:
        """Allow ``seconds`` per read inside the ``with`` block (long sweeps)."""

    def close(self) -> None:
        """Release the link."""


class StreamTransport(Protocol):
    """A byte-stream console link (serial line, pty, terminal server socket)."""

    role: str

    def open(self) -> None:
        """Open (or reopen, after :meth:`close`) the link."""

    def send_line(self, text: str) -> None:
        """Send ``text`` followed by the line ending."""

    def read_until(self, pattern: re.Pattern[str], timeout: float) -> str:
        """Read until ``pattern`` matches the text received so far; return that text.

        Raises TimeoutError (with the text seen so far in its message) when it does not match
        within ``timeout`` seconds.
        """

    def close(self) -> None:
        """Release the link."""
