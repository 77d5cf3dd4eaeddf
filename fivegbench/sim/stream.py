"""The byte-stream server behind the simulated console instruments (the gNB CLI, the UE modem's
AT port): sockets, pty, threads, stop and fault injection; the personality only talks.

Two transports, both opened through pyserial like a console cable:

* ``transport="socket"``: a TCP server on 127.0.0.1 (ephemeral port), like a raw terminal server
  (ser2net); open ``socket://127.0.0.1:<port>``. Each TCP client gets its own session, made when
  it connects.
* ``transport="pty"``: a pseudo-terminal, both ends raw (no echo or CR/LF mapping by the kernel: a
  session does its own); open the slave path ``/dev/pts/N``. ONE session for the life of the
  server, like a serial line: what it remembers (logged in, echo off) outlives a client's
  disconnection. The server holds the slave open too, so a client closing it does not end the line.

A personality gives :class:`StreamServer` a factory ``open_session(connection) -> session``; the
session gets each connection's input decoded as UTF-8 (``errors="replace"``, incrementally: a
character split across reads arrives whole) through ``session.feed(text)`` on the connection's own
thread, and writes with ``connection.write(text)``, from any thread.

Stopping: :meth:`StreamServer.stop` wakes every ``select`` at once (a pipe made readable), ends
every session, joins every thread (5 s at most in all) and closes the sockets, the pty and the
pipe. :meth:`StreamServer.wait` sleeps but wakes at once when the server stops, for sessions that
simulate slow operations.

Fault injection acts on *socket* sessions only (a pty is one line: there is nothing to drop) and
never on the session given as ``except_session`` (the one that asked, for a hidden console
command); the personality's state is left as it is:

* :meth:`StreamServer.reset_sessions` drops them with a TCP reset: the session leaves the
  registry at once, its thread sets ``SO_LINGER`` 0 and closes the socket within one poll
  (0.1 s), and the client's next ``recv`` raises ``ConnectionResetError``. Output the session
  writes meanwhile (a slow command finishing) is discarded.
* :meth:`StreamServer.hang_sessions` makes them stop answering: whatever they receive is discarded
  and nothing is written, not even an echo, until the client disconnects (or the session is reset,
  or the server stops).
"""

from __future__ import annotations

import codecs
import contextlib
import errno
import logging
import os
import select
import socket
import struct
import threading
import time
import tty
from collections.abc import Callable
from typing import Any, Generic, Protocol, Self, TypeVar

from fivegbench.sim.faults import DEFAULT_REBOOT_S, GARBAGE, Faults

log = logging.getLogger(__name__)

TRANSPORTS = ("socket", "pty")
_CHUNK = 4096
POLL_S = 0.1
"""How long a thread waits in ``select`` before it looks at the stop and fault flags again."""
_STOP_TIMEOUT_S = 5.0


class StreamSession(Protocol):
    """What a personality's session must do: take the decoded input of its connection."""

    def feed(self, text: str) -> None: ...


S = TypeVar("S", bound=StreamSession)


class Connection:
    """One client of a :class:`StreamServer` as its session sees it: where to write, and the fault
    flags other threads set (Events are thread-safe)."""

    def __init__(
        self, server: StreamServer[Any], transport: str, fd: Any, send: Callable[[bytes], int]
    ) -> None:
        self.transport = transport
        """``socket`` or ``pty``."""
        self.reset = threading.Event()
        """Set by :meth:`StreamServer.reset_sessions`: closed with a TCP reset at the next poll."""
        self.hung = threading.Event()
        """Set by :meth:`StreamServer.hang_sessions`: input discarded, nothing written."""
        self._server = server
        self._fd = fd
        self._send = send
        self._write_lock = threading.Lock()  # the session's thread and, e.g., an injected URC
        self._decode = codecs.getincrementaldecoder("utf-8")(errors="replace").decode

    @property
    def silenced(self) -> bool:
        """Nothing more may be written: the server stops, or the connection is reset or hung."""
        return self._server.stopping or self.reset.is_set() or self.hung.is_set()

    def write(self, text: str) -> None:
        """Write ``text`` as UTF-8, all of it, in as few writes as the peer allows; give up when
        :attr:`silenced` (a client that does not read blocks only its own session)."""
        faults = self._server.faults
        self._server.wait(faults.delay())
        if faults.take_garbage():
            text = GARBAGE + text
        data = text.encode("utf-8")
        with self._write_lock:
            while data and not self.silenced:
                if self._server.ready(self._fd, writable=True):
                    with contextlib.suppress(BlockingIOError):
                        data = data[self._send(data) :]

    def decode(self, data: bytes) -> str:
        return self._decode(data)


class StreamServer(Generic[S]):
    """A socket or pty server handing each connection to a session from ``open_session``; a
    personality subclasses it (or holds one).

    Parameters
    ----------
    open_session : makes the session of a new connection (it may write, e.g. a banner).
    transport : ``socket`` or ``pty``.
    name : thread-name prefix: threads are ``<name>-accept``, ``<name>-session``, ``<name>-pty``.
    label : what the log calls the server (``simulated gNB console``).
    """

    #: Modes this server does itself (on socket sessions); a personality adds its own.
    FAULTS = frozenset({"drop", "hang", "slow", "reboot", "garbage"})

    def __init__(
        self,
        open_session: Callable[[Connection], S],
        transport: str = "socket",
        name: str = "sim-stream",
        label: str = "simulated stream server",
        faults: Faults | None = None,
        reset: Callable[[], None] | None = None,
        port: int = 0,
    ) -> None:
        if transport not in TRANSPORTS:
            raise ValueError(f"transport must be 'socket' or 'pty', not {transport!r}")
        self._port = port  # the TCP port of the socket transport; 0 picks an ephemeral one
        self.transport = transport
        self._name = name
        self._label = label
        self._open_session = open_session
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._threads_lock = threading.Lock()
        self._wake: tuple[int, int] | None = None  # a pipe made readable by stop(): selects wake at once
        self._server: socket.socket | None = None
        self._master: int | None = None
        self._slave: int | None = None
        self._sessions: dict[S, Connection] = {}  # the live sessions, socket and pty
        self._sessions_lock = threading.Lock()
        self.resource: str | None = None
        self.faults = faults if faults is not None else Faults()
        self.faults.limit(self.FAULTS if transport == "socket" else self.FAULTS - {"drop", "reboot"})
        self.faults.on("drop", lambda spec: self.reset_sessions())
        self.faults.on(
            "reboot", lambda spec: self.reboot(DEFAULT_REBOOT_S if spec.duration is None else spec.duration)
        )
        self._reset = reset
        self._reboot_until = 0.0

    # -- life cycle --------------------------------------------------------------------------
    def start(self) -> str:
        """Start serving; return ``socket://127.0.0.1:<port>`` or the pty slave path. Starting a
        running server returns its resource."""
        if self.resource is not None:
            return self.resource
        self._stop.clear()
        self._wake = os.pipe()
        if self.transport == "socket":
            server = _listen(self._port)
            self._server = server
            self.resource = f"socket://127.0.0.1:{server.getsockname()[1]}"
            self._spawn(self._accept_loop, f"{self._name}-accept")
        else:
            master, slave = os.openpty()
            tty.setraw(master)
            tty.setraw(slave)
            os.set_blocking(master, False)
            self._master, self._slave = master, slave
            self.resource = os.ttyname(slave)
            self._spawn(self._pty_loop, f"{self._name}-pty")
        log.info("%s on %s", self._label, self.resource)
        return self.resource

    def stop(self) -> None:
        """Stop serving: end every session, join the threads, close sockets and fds."""
        self._stop.set()
        if self._wake is not None:
            os.write(self._wake[1], b"x")
        deadline = time.monotonic() + _STOP_TIMEOUT_S
        while time.monotonic() < deadline:  # sessions accepted while stopping are joined too
            with self._threads_lock:
                self._threads = [t for t in self._threads if t.is_alive()]
                alive = list(self._threads)
            if not alive:
                break
            for thread in alive:
                thread.join(timeout=max(0.0, deadline - time.monotonic()))
        if self._threads:
            log.warning("%s: %d thread(s) did not stop", self._label, len(self._threads))
        if self._server is not None:
            self._server.close()
            self._server = None
        for fd in (self._master, self._slave):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._master = self._slave = None
        if self._wake is not None and not self._threads:
            for fd in self._wake:
                os.close(fd)
            self._wake = None
        self.resource = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def wait(self, seconds: float) -> None:
        """Sleep, but wake at once when the server is stopped."""
        if seconds > 0:
            self._stop.wait(seconds)

    # -- sessions and faults -------------------------------------------------------------------
    def sessions(self) -> list[S]:
        """The live sessions (socket and pty), in no particular order."""
        with self._sessions_lock:
            return list(self._sessions)

    def reset_sessions(self, except_session: S | None = None) -> int:
        """Drop every socket session but ``except_session`` with a TCP reset; return how many."""
        connections = self._other_sockets(except_session, remove=True)
        for connection in connections:
            connection.reset.set()
        return len(connections)

    def hang_sessions(self, except_session: S | None = None) -> int:
        """Make every socket session but ``except_session`` stop answering; return how many."""
        connections = self._other_sockets(except_session, remove=False)
        for connection in connections:
            connection.hung.set()
        return len(connections)

    def reboot(self, seconds: float) -> None:
        """Drop every socket session, refuse connections for ``seconds``, then come back reset."""
        self._reboot_until = time.monotonic() + seconds
        self.reset_sessions()

    def _other_sockets(self, except_session: S | None, remove: bool) -> list[Connection]:
        with self._sessions_lock:
            others = [
                s for s, c in self._sessions.items() if s is not except_session and c.transport == "socket"
            ]
            connections = [self._sessions[s] for s in others]
            if remove:
                for s in others:
                    del self._sessions[s]
        return connections

    def _register(self, connection: Connection) -> S:
        session = self._open_session(connection)
        with self._sessions_lock:
            self._sessions[session] = connection
        return session

    def _unregister(self, session: S) -> None:
        with self._sessions_lock:
            self._sessions.pop(session, None)

    # -- threads -------------------------------------------------------------------------------
    def ready(self, fd: Any, writable: bool = False) -> bool:
        """Wait up to one poll for ``fd``; False when it is not ready or the server is stopping."""
        wake = [self._wake[0]] if self._wake is not None else []
        if writable:
            _, ready, _ = select.select(wake, [fd], [], POLL_S)
        else:
            ready, _, _ = select.select([fd, *wake], [], [], POLL_S)
        return not self._stop.is_set() and fd in ready

    def _spawn(self, target: Callable[..., None], name: str, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        with self._threads_lock:
            self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        port = self._server.getsockname()[1] if self._server is not None else 0
        while not self._stop.is_set():
            if time.monotonic() < self._reboot_until:  # rebooting: nothing listens, connect is refused
                if self._server is not None:
                    self._server.close()
                    self._server = None
                self.wait(POLL_S)
                continue
            if self._server is None:  # back from a reboot, in the power-on state
                if self._reset is not None:
                    self._reset()
                self._server = _listen(port)
                log.info("%s on port %d is back from a reboot", self._label, port)
            server = self._server
            if not self.ready(server):
                continue
            try:
                conn, _addr = server.accept()
            except OSError:
                continue
            self._spawn(self._socket_session, f"{self._name}-session", conn)

    def _socket_session(self, conn: socket.socket) -> None:
        connection = Connection(self, "socket", conn, conn.send)
        with conn:
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)  # a vanished client ends too
            conn.setblocking(False)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                session = self._register(connection)
                try:
                    self._serve_socket(conn, session, connection)
                finally:
                    self._unregister(session)
                if connection.reset.is_set():  # close() now sends RST instead of FIN
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError as exc:  # reset by peer, broken pipe
                log.debug("%s: connection ended: %s", self._label, exc)

    def _serve_socket(self, conn: socket.socket, session: S, connection: Connection) -> None:
        """Feed what the client sends to ``session`` until it disconnects, is reset or we stop."""
        while not (self._stop.is_set() or connection.reset.is_set()):
            if not self.ready(conn) or connection.reset.is_set():
                continue
            try:
                data = conn.recv(_CHUNK)
            except BlockingIOError:
                continue
            if not data:
                return  # the client disconnected
            self.faults.received(data)
            if not (connection.hung.is_set() or self.faults.hung()):
                session.feed(connection.decode(data))

    def _pty_loop(self) -> None:
        master = self._master
        assert master is not None
        connection = Connection(self, "pty", master, lambda data: os.write(master, data))
        session = self._register(connection)
        try:
            while not self._stop.is_set():
                if not self.ready(master):
                    continue
                try:
                    data = os.read(master, _CHUNK)
                except BlockingIOError:
                    continue
                except OSError as exc:
                    if exc.errno != errno.EIO:
                        raise
                    self.wait(POLL_S)  # no slave open right now; we hold one, so rare
                    continue
                if data:
                    session.feed(connection.decode(data))
        finally:
            self._unregister(session)


def _listen(port: int) -> socket.socket:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", port))
    server.listen(64)
    return server
