"""A threaded TCP line server, what every simulated instrument reached as
``TCPIP::host::port::SOCKET`` stands on (the SCPI engine's :class:`~fivegbench.sim.scpi.ScpiServer`,
the Mini-Circuits attenuator's Telnet service).

One daemon thread accepts; one daemon thread per connection reads, splits the stream into messages
with its own framer (a :class:`LineFramer` by default: lines ending at LF), hands each message
with the connection's session to ``handle`` and writes the reply ``handle`` returns with ONE
``sendall`` on a ``TCP_NODELAY`` socket (instrument-comms.md §0(2)). ``handle`` returns the whole
reply, terminator included, or None for no reply at all. An exception in ``handle`` is a simulator
bug: it is logged, and the connection (and the test) carries on with no reply. The instrument's
state is shared by every connection and guarded by the instrument; a session (``new_session()``,
made per connection) holds what is per connection.

:meth:`LineServer.stop` closes the listener and every connection and joins every thread; no reply
is written once it has begun, and ``close_session`` is called on every session first (to cancel
waits that would otherwise hold a connection's thread).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import struct
import threading
import time
from collections.abc import Callable
from typing import Generic, Protocol, Self, TypeVar

from fivegbench.sim.faults import DEFAULT_REBOOT_S, Faults, mangle_block

log = logging.getLogger(__name__)

S = TypeVar("S")


class Framer(Protocol):
    """Splits one connection's byte stream into messages."""

    def feed(self, data: bytes) -> list[bytes]:
        """Add received bytes; return every message they complete (possibly none)."""
        ...


class LineFramer:
    """Lines ending at ``terminator``, returned without it (a CR before an LF is left to the
    handler). With ``max_line``, a partial line longer than that many bytes is discarded."""

    def __init__(self, terminator: bytes = b"\n", max_line: int | None = None) -> None:
        if not terminator:
            raise ValueError("the line terminator may not be empty")
        self.terminator = terminator
        self.max_line = max_line
        self._buffer = b""

    def feed(self, data: bytes) -> list[bytes]:
        *lines, self._buffer = (self._buffer + data).split(self.terminator)
        if self.max_line is not None and len(self._buffer) > self.max_line:
            log.debug("discarding %d bytes without a line end", len(self._buffer))
            self._buffer = b""
        return lines


class LineServer(Generic[S]):
    """Threaded raw-socket line server (``TCPIP::127.0.0.1::<port>::SOCKET``).

    Parameters
    ----------
    handle : ``handle(message, session)`` -> the reply bytes (terminator included), or None.
    new_session : makes the per-connection session handed to ``handle``.
    framer : makes a connection's framer; :class:`LineFramer` (LF) by default.
    close_session : called with a connection's session when it closes or the server stops.
    name : thread-name prefix: ``<name>-<port>-accept``, ``<name>-<port>-conn<n>``.
    label : what the log calls the server.
    host : interface to bind (loopback by default).
    port : TCP port; 0 picks an ephemeral port (read it from :attr:`port` after :meth:`start`).
    recv_size : bytes asked of each ``recv``.
    faults : the instrument's fault injection (:mod:`fivegbench.sim.faults`); the server does
        ``drop``, ``hang``, ``slow``, ``reboot`` and the block faults.
    reset : what a reboot does to the instrument (back to its power-on state).
    """

    #: Modes this server does itself; a personality adds its own (``error``) by a hook.
    FAULTS = frozenset({"drop", "hang", "slow", "reboot", "truncate", "corrupt"})
    #: Connections waiting to be accepted: 50 clients connecting at once are all taken.
    BACKLOG = 64

    _ACCEPT_POLL_S = 0.05

    def __init__(
        self,
        handle: Callable[[bytes, S], bytes | None],
        new_session: Callable[[], S],
        *,
        framer: Callable[[], Framer] = LineFramer,
        close_session: Callable[[S], None] | None = None,
        name: str = "line",
        label: str = "line server",
        host: str = "127.0.0.1",
        port: int = 0,
        recv_size: int = 1 << 16,
        faults: Faults | None = None,
        reset: Callable[[], object] | None = None,
    ) -> None:
        self._handle = handle
        self._new_session = new_session
        self._framer = framer
        self._close_session = close_session
        self._name = name
        self._label = label
        self._host = host
        self._requested_port = port
        self._recv_size = recv_size
        self._listener: socket.socket | None = None
        self._accept_thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._clients: dict[threading.Thread, tuple[socket.socket, S]] = {}
        self._clients_lock = threading.Lock()
        self._count = 0
        self.port = 0
        self.faults = faults if faults is not None else Faults()
        self.faults.limit(self.FAULTS)
        self._reset = reset
        self._reboot_until = 0.0
        self._dropped: set[threading.Thread] = set()  # their current message gets no reply
        self.faults.on("drop", lambda spec: self.drop_all())
        self.faults.on(
            "reboot", lambda spec: self.reboot(DEFAULT_REBOOT_S if spec.duration is None else spec.duration)
        )

    @property
    def resource(self) -> str:
        """The VISA resource string of this server."""
        return f"TCPIP::{self._host}::{self.port}::SOCKET"

    def start(self) -> int:
        """Bind, listen and start accepting in the background; returns the port."""
        if self._listener is not None:
            raise RuntimeError("server already started")
        self._listener = self._listen(self._requested_port)
        self.port = self._listener.getsockname()[1]
        self._stopping.clear()
        self._accept_thread = threading.Thread(
            target=self._accept_loop, name=f"{self._name}-{self.port}-accept", daemon=True
        )
        self._accept_thread.start()
        log.info("%s listening on %s", self._label, self.resource)
        return self.port

    def stop(self, timeout: float = 5.0) -> None:
        """Close the listener and every client connection; join all threads."""
        self._stopping.set()
        listener = self._listener  # the accept thread replaces it during a reboot
        if listener is not None:
            with contextlib.suppress(OSError):  # wakes a blocked accept() at once on Linux
                listener.shutdown(socket.SHUT_RDWR)
        if self._accept_thread is not None:
            self._accept_thread.join(timeout)
            self._accept_thread = None
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        with self._clients_lock:
            clients = list(self._clients.items())
        for _thread, (conn, session) in clients:
            self._close(session)
            with contextlib.suppress(OSError):  # already closed by its thread
                conn.shutdown(socket.SHUT_RDWR)
        for thread, _ in clients:
            thread.join(timeout)
            if thread.is_alive():
                log.warning("connection thread %s did not stop", thread.name)
        log.info("%s on port %d stopped", self._label, self.port)

    def _listen(self, port: int) -> socket.socket:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind((self._host, port))
            listener.listen(self.BACKLOG)
        except OSError:
            listener.close()
            raise
        listener.settimeout(self._ACCEPT_POLL_S)
        return listener

    # -- faults ----------------------------------------------------------------------------------
    def drop_all(self) -> int:
        """Close every client connection with a TCP reset; return how many."""
        with self._clients_lock:
            clients = list(self._clients.items())
            self._dropped.update(thread for thread, _ in clients)
        for _thread, (conn, _session) in clients:
            with contextlib.suppress(OSError):  # RST on close; SHUT_RD wakes its recv, sending nothing
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                conn.shutdown(socket.SHUT_RD)
        return len(clients)

    def reboot(self, seconds: float) -> None:
        """Drop every connection, refuse new ones for ``seconds``, then come back reset."""
        self._reboot_until = time.monotonic() + seconds
        self.drop_all()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def connections(self) -> int:
        """Number of open client connections."""
        with self._clients_lock:
            return len(self._clients)

    def client_socket_option(self, level: int, option: int) -> list[int]:
        """``getsockopt(level, option)`` of every open client connection (diagnostics, tests)."""
        with self._clients_lock:
            return [conn.getsockopt(level, option) for conn, _ in self._clients.values()]

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            if time.monotonic() < self._reboot_until:  # rebooting: nothing listens, connect is refused
                if self._listener is not None:
                    self._listener.close()
                    self._listener = None
                self._stopping.wait(self._ACCEPT_POLL_S)
                continue
            if self._listener is None:  # back from a reboot, in the power-on state
                if self._reset is not None:
                    self._reset()
                self._listener = self._listen(self.port)
                log.info("%s on port %d is back from a reboot", self._label, self.port)
            try:
                conn, peer = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                break
            self._start_client(conn, peer)

    def _start_client(self, conn: socket.socket, peer: tuple[str, int]) -> None:
        try:
            conn.settimeout(None)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError as exc:  # the peer is already gone
            log.debug("dropping connection from %s:%d: %s", *peer, exc)
            conn.close()
            return
        session = self._new_session()
        self._count += 1
        thread = threading.Thread(
            target=self._serve,
            args=(conn, session),
            name=f"{self._name}-{self.port}-conn{self._count}",
            daemon=True,
        )
        with self._clients_lock:
            if self._stopping.is_set():
                conn.close()
                return
            self._clients[thread] = (conn, session)
        log.debug("client %s:%d connected", *peer)
        thread.start()

    def _close(self, session: S) -> None:
        if self._close_session is not None:
            self._close_session(session)

    def _reply(self, message: bytes, session: S) -> bytes | None:
        self.faults.received(message)
        if self.faults.hung() or threading.current_thread() in self._dropped:
            return None
        try:
            reply = self._handle(message, session)
        except Exception:  # a simulator bug: log it, keep the connection (and the test) alive
            log.exception("executing %r failed", message[:80])
            return None
        if reply is None:
            return None
        self._stopping.wait(self.faults.delay())
        if reply[:1] == b"#" and (how := self.faults.take_block()) is not None:
            return mangle_block(reply, how)
        return reply

    def _serve(self, conn: socket.socket, session: S) -> None:
        framer = self._framer()
        try:
            while not self._stopping.is_set():
                data = conn.recv(self._recv_size)
                if not data:
                    break
                for message in framer.feed(data):
                    reply = self._reply(message, session)
                    if reply is not None and not self._stopping.is_set():
                        conn.sendall(reply)  # one sendall per reply
        except OSError as exc:
            log.debug("connection closed: %s", exc)
        finally:
            self._close(session)
            conn.close()
            with self._clients_lock:
                self._clients.pop(threading.current_thread(), None)
                self._dropped.discard(threading.current_thread())
