"""A console link over pyserial: a serial port, a pty, or a terminal server (``socket://``).

The driver on top sees text: VT100 escape sequences are stripped and line endings normalised to
``\\n`` before any pattern is matched. Reading is done in chunks of what is waiting
(``read(max(1, in_waiting))``), never with pyserial's ``read_until``, which reads one byte per
call and returns partial data silently on timeout (instrument-comms.md §5.3).

Remember that pyserial flushes the input buffer when a local port is opened, so a banner or a
prompt printed before :meth:`SerialTransport.open` is lost: the driver provokes a fresh prompt.
"""

from __future__ import annotations

import codecs
import logging
import re
import time
from types import TracebackType

import serial

from fivegbench.errors import ConnectionLost, InstrumentError
from fivegbench.safetext import control_character
from fivegbench.transport.base import NOTE, RECEIVED, SENT, IoLog

log = logging.getLogger(__name__)

# After labgrid's re_vt100: CSI sequences (ESC [ or the 8-bit CSI) and two-byte ESC sequences
# (ESC 7, ESC M, ESC =, ...).
_VT100 = re.compile(r"(?:\x1b\[|\x9b)[^@-_a-z]*[@-_a-z]|\x1b[0-Z\\-~]")
# An escape sequence that may still be incomplete at the end of what has arrived.
_VT100_PARTIAL = re.compile(r"(?:\x1b\[|\x9b)[^@-_a-z]*\Z|\x1b\Z")
_NEWLINE = re.compile(r"\r*\n")

#: Seconds one ``read`` may block; bounds how late a deadline is noticed.
POLL_S = 0.05
#: Bytes gathered into one chunk at most before the buffer is searched.
_MAX_CHUNK = 65536
#: Characters of the received text quoted in a timeout message.
TAIL_CHARS = 200


def clean_console_text(text: str) -> str:
    """Strip VT100 escape sequences, turn ``\\r\\n`` (and ``\\r\\r\\n``) into ``\\n`` and drop
    any remaining bare ``\\r``."""
    text = _VT100.sub("", text)
    return _NEWLINE.sub("\n", text).replace("\r", "")


class SerialTransport:
    """A :class:`~fivegbench.transport.base.StreamTransport` over ``serial.serial_for_url``.

    ``url_or_port`` is anything pyserial opens: ``/dev/ttyUSB0``, ``/dev/pts/7``,
    ``socket://host:port`` (a raw terminal server), ``rfc2217://host:port`` or ``loop://``.
    The constructor does no I/O; call :meth:`open` (or use the object as a context manager).
    """

    def __init__(
        self,
        url_or_port: str,
        role: str,
        iolog: IoLog | None = None,
        baudrate: int = 115200,
        line_ending: str = "\r\n",
        write_timeout: float = 5.0,
    ) -> None:
        self.url = url_or_port
        self.role = role
        self.baudrate = baudrate
        self.line_ending = line_ending
        self.write_timeout = write_timeout
        self._iolog = iolog
        self._port: serial.SerialBase | None = None
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""  # decoded, not yet cleaned (a partial escape sequence or a final \r)
        self._text = ""  # cleaned, not yet returned by read_until

    # -- life cycle --------------------------------------------------------------------------
    @property
    def is_open(self) -> bool:
        return self._port is not None and bool(self._port.is_open)

    def open(self) -> None:
        """Open the port. Raises InstrumentError when it cannot be opened."""
        if self.is_open:
            return
        try:
            self._port = serial.serial_for_url(
                self.url,
                baudrate=self.baudrate,
                timeout=POLL_S,
                write_timeout=self.write_timeout,
                do_not_open=False,
            )
        except (serial.SerialException, OSError, ValueError) as exc:
            raise ConnectionLost(self.role, "<io>", None, f"cannot open {self.url}: {exc}") from exc
        self._decoder.reset()
        self._pending = ""
        self._text = ""
        log.debug("%s: opened %s", self.role, self.url)

    def close(self) -> None:
        """Close the port (idempotent). Note that pyserial's ``socket://`` close sleeps 0.3 s."""
        port, self._port = self._port, None
        if port is None:
            return
        # pyserial's socket:// close() skips socket.close() when shutdown() fails, which it does
        # once the peer has gone: close the socket ourselves (idempotent) so nothing leaks.
        sock = getattr(port, "_socket", None)
        try:
            port.close()
        except (serial.SerialException, OSError) as exc:  # closing a dead link is not an error
            log.debug("%s: error while closing %s: %s", self.role, self.url, exc)
        finally:
            if sock is not None and hasattr(sock, "close"):
                sock.close()

    def __enter__(self) -> SerialTransport:
        self.open()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- StreamTransport ---------------------------------------------------------------------
    def send_line(self, text: str) -> None:
        """Send ``text`` followed by the line ending; log it as sent.

        Raises InstrumentError, sending nothing, when ``text`` contains a control character (a CR
        or LF in it would be a second command)."""
        self._refuse_control(text)
        self._write(text + self.line_ending)
        if self._iolog is not None:
            self._iolog.record(self.role, SENT, text)

    def note(self, text: str) -> None:
        """Write a line of the harness's own (e.g. a reopening) into io.log beside the exchanges."""
        if self._iolog is not None:
            self._iolog.record(self.role, NOTE, text)

    def send_secret(self, text: str) -> None:
        """Send ``text`` (a password) followed by the line ending; the log shows ``********``.

        Refuses a control character like :meth:`send_line`, without quoting the text."""
        self._refuse_control(text)
        self._write(text + self.line_ending)
        if self._iolog is not None:
            self._iolog.record(self.role, SENT, "********")

    def read_until(self, pattern: re.Pattern[str], timeout: float) -> str:
        """Read until ``pattern`` matches the cleaned text received so far.

        Returns the text up to and including the match; what follows stays buffered for the
        next call. Raises TimeoutError quoting the tail of what was seen.
        """
        port = self._require_open()
        deadline = time.monotonic() + timeout
        while True:
            match = pattern.search(self._text)
            if match is not None:
                out, self._text = self._text[: match.end()], self._text[match.end() :]
                if self._iolog is not None:
                    self._iolog.record(self.role, RECEIVED, out)
                return out
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                seen = self._text + self._pending
                if seen and self._iolog is not None:
                    self._iolog.record(self.role, RECEIVED, seen)
                tail = seen[-TAIL_CHARS:]
                raise TimeoutError(
                    f"{self.role}: {pattern.pattern!r} not seen within {timeout:g} s; last received: {tail!r}"
                )
            self._absorb(self._read_chunk(port))

    # -- internals ---------------------------------------------------------------------------
    def _require_open(self) -> serial.SerialBase:
        if self._port is None or not self._port.is_open:
            raise ConnectionLost(self.role, "<io>", None, f"{self.url} is not open")
        return self._port

    def _refuse_control(self, text: str) -> None:
        found = control_character(text)
        if found:  # which character where, never the text: it may be a password
            raise InstrumentError(
                self.role,
                "<io>",
                None,
                f"refused to send a line containing a control character ({found}); nothing was sent",
            )

    def _write(self, text: str) -> None:
        port = self._require_open()
        try:
            port.write(text.encode("utf-8"))
        except (serial.SerialException, OSError) as exc:
            raise ConnectionLost(self.role, "<io>", None, f"write to {self.url} failed: {exc}") from exc

    def _read_chunk(self, port: serial.SerialBase) -> bytes:
        try:
            data: bytes = port.read(max(1, port.in_waiting))
            # socket:// reports in_waiting as 0 or 1: gather what has already arrived into one chunk
            while data and len(data) < _MAX_CHUNK and port.in_waiting:
                data += port.read(port.in_waiting)
        except (serial.SerialException, OSError) as exc:
            raise ConnectionLost(self.role, "<io>", None, f"read from {self.url} failed: {exc}") from exc
        return data

    def _absorb(self, data: bytes) -> None:
        """Decode, clean and buffer ``data``, holding back what a later chunk may complete."""
        if not data:
            return
        text = self._pending + self._decoder.decode(data)
        hold = 0
        partial = _VT100_PARTIAL.search(text)
        if partial is not None and len(text) - partial.start() < 32:
            hold = len(text) - partial.start()
        elif text.endswith("\r"):
            hold = 1  # may be the first half of \r\n
        if hold:
            text, self._pending = text[:-hold], text[-hold:]
        else:
            self._pending = ""
        self._text += clean_console_text(text)
