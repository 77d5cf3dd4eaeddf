"""VISA transport on pyvisa with the pure-Python pyvisa-py backend (``@py``).

Pitfalls measured on these machines (reference/instrument-comms.md §0, §1.8) and handled here:

* pyvisa-py leaves Nagle on for ``TCPIP::...::SOCKET`` sessions and refuses the VISA attribute,
  so ``write; write; query`` stalls 44 ms. We set ``TCP_NODELAY`` on the session's socket.
* Binary blocks are read by their declared length with the termination character off; reading
  to the termchar returns at every 0x0A byte inside the payload.
* One ResourceManager per process (closing one closes the sessions of all): the caller owns it.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from contextlib import contextmanager

import pyvisa
from pyvisa.resources import MessageBasedResource

from fivegbench.errors import ConnectionLost, InstrumentError
from fivegbench.transport.base import NOTE, RECEIVED, SENT, IoLog
from fivegbench.transport.block import read_block

log = logging.getLogger(__name__)

# pyvisa-py raises raw OSErrors next to VisaIOError (instrument-comms.md §1.6).
IO_ERRORS = (pyvisa.errors.VisaIOError, OSError)
RECV_SIZE = 1 << 20


class VisaTransport:
    """A message-based link to one instrument through pyvisa.

    Parameters
    ----------
    resource : VISA resource string, e.g. ``TCPIP::127.0.0.1::5025::SOCKET``.
    role : the bench role, used in logs and errors.
    resource_manager : the process's one ``pyvisa.ResourceManager("@py")``.
    iolog : where every exchange is recorded (the run's ``io.log``).
    timeout_s, open_timeout_s : I/O and connection timeouts in seconds.
    read_termination, write_termination : the message terminators. ``"\\n"`` suits SCPI over a
        raw socket; a Telnet-style service (e.g. a Mini-Circuits attenuator on port 23) wants
        ``"\\r\\n"``. Only the last character of ``read_termination`` ends a read (pyvisa's
        termchar); the whole string is stripped from the reply.
    """

    def __init__(
        self,
        resource: str,
        role: str,
        resource_manager: pyvisa.ResourceManager,
        iolog: IoLog | None = None,
        timeout_s: float = 10.0,
        open_timeout_s: float = 5.0,
        read_termination: str = "\n",
        write_termination: str = "\n",
    ) -> None:
        if not read_termination:
            raise ValueError("read_termination must not be empty: a SOCKET read would never end")
        self.resource = resource
        self.role = role
        self._rm = resource_manager
        self._iolog = iolog or IoLog()
        self._timeout_s = timeout_s
        self._open_timeout_s = open_timeout_s
        self.read_termination = read_termination
        self.write_termination = write_termination
        self._inst: MessageBasedResource | None = None

    def open(self) -> None:
        try:
            inst = self._rm.open_resource(
                self.resource,
                read_termination=self.read_termination,
                write_termination=self.write_termination,
                open_timeout=int(self._open_timeout_s * 1000),
                timeout=int(self._timeout_s * 1000),
            )
        except IO_ERRORS as exc:
            raise ConnectionLost(self.role, "<open>", None, f"cannot open {self.resource}: {exc}") from exc
        if not isinstance(inst, MessageBasedResource):
            inst.close()
            raise InstrumentError(self.role, "<open>", None, f"{self.resource} is not message-based")
        self._inst = inst
        sock = self.socket
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            # pyvisa-py receives at most max_recv_size (4096) bytes per recv(); a trace of
            # 400 kB then costs a hundred loop turns. Let one recv() take what the socket holds.
            session = self._session()
            if hasattr(session, "max_recv_size"):
                session.max_recv_size = RECV_SIZE

    def _session(self) -> object | None:
        """pyvisa-py's session object behind the resource (None with another backend)."""
        if self._inst is None:
            return None
        return getattr(self._rm.visalib, "sessions", {}).get(self._inst.session)

    @property
    def socket(self) -> socket.socket | None:
        """The TCP socket of a pyvisa-py SOCKET session (None for other session types)."""
        interface = getattr(self._session(), "interface", None)
        return interface if isinstance(interface, socket.socket) else None

    @property
    def _resource(self) -> MessageBasedResource:
        if self._inst is None:
            raise ConnectionLost(self.role, "<io>", None, "transport is not open")
        return self._inst

    @contextmanager
    def timeout(self, seconds: float) -> Iterator[None]:
        """Temporarily allow ``seconds`` for each read (e.g. a long sweep behind ``*OPC?``)."""
        inst = self._resource
        previous = inst.timeout
        inst.timeout = int(max(seconds, 0.001) * 1000)
        try:
            yield
        finally:
            inst.timeout = previous

    def write(self, message: str) -> None:
        self._iolog.record(self.role, SENT, message)
        try:
            self._resource.write(message)
        except IO_ERRORS as exc:
            raise ConnectionLost(self.role, message, None, f"write failed: {exc}") from exc

    def read(self) -> str:
        try:
            reply = self._resource.read()
        except IO_ERRORS as exc:
            raise ConnectionLost(self.role, "<read>", None, f"read failed: {exc}") from exc
        self._iolog.record(self.role, RECEIVED, reply)
        return reply

    def query(self, message: str) -> str:
        self.write(message)
        return self.read()

    def note(self, text: str) -> None:
        """Write a line of the harness's own (e.g. a reopening) into io.log beside the exchanges."""
        self._iolog.record(self.role, NOTE, text)

    def query_block(self, message: str) -> bytes:
        """Send ``message`` and read one IEEE 488.2 definite-length block by its length."""
        self.write(message)
        inst = self._resource
        try:
            with inst.read_termination_context(None):
                payload = read_block(lambda n: inst.read_bytes(n, chunk_size=max(n, 1)), self.role, message)
        except IO_ERRORS as exc:
            raise ConnectionLost(self.role, message, None, f"block read failed: {exc}") from exc
        except InstrumentError as exc:  # what did arrive is logged beside the reason
            self._iolog.record(self.role, RECEIVED, f"<bad block: {exc.message}>")
            self.close()  # the rest of the block is still in flight: the next use reopens
            raise
        self._iolog.block(self.role, RECEIVED, len(payload))
        return payload

    def close(self) -> None:
        if self._inst is not None:
            try:
                self._inst.close()
            except IO_ERRORS as exc:  # closing a dead link is not worth failing a run
                log.warning("%s: close failed: %s", self.role, exc)
            self._inst = None
