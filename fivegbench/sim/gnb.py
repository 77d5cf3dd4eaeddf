"""The simulated gNB console: a small vendor-style CLI on a real byte stream.

Two ways to reach it, both through pyserial exactly like a console cable:

* ``transport="socket"``: a TCP server on 127.0.0.1 (ephemeral port), like a raw terminal server
  (ser2net); open ``socket://127.0.0.1:<port>``. Each TCP client is its own session, greeted with
  the banner and ``login: `` on connect (which pyserial's socket open may discard, as it resets
  the input buffer: drivers provoke a prompt either way).
* ``transport="pty"``: a pseudo-terminal; open the slave path ``/dev/pts/N``. One session for the
  life of the console, like a serial line: it stays logged in when the driver disconnects. As
  pyserial flushes input on open, the banner is printed on the first ``\\r``/``\\n`` received.

The console echoes what is typed (not the password), prints ``\\r\\n`` line endings, and changes
``world.gnb`` under ``world.lock``: the simulated analyzer sees what the console configured.
Slow operations (PA settling after ``set tx-power`` with RF on, the ``rf on`` ramp) hold the
prompt back for ``settle_s`` / ``rf_ramp_s`` seconds.

Fault injection, for tests that reach the simulator only through its console (``fivegbench sim
serve`` in a subprocess): two hidden commands, not listed by ``help``, act on every *other* open
socket session, never on the one that typed them, and leave the world (RF, cell) unchanged.
``debug fault reset`` drops them with a TCP reset (``SO_LINGER`` 0, then close: the client's next
``recv`` raises ``ConnectionResetError``) and prints ``reset <n> session(s)``; ``debug fault hang``
makes them stop answering (whatever they receive is discarded, nothing is written, not even the
echo, until the client disconnects) and prints ``hung <n> session(s)``. New connections afterwards
get a fresh session as usual. A session is reset by its own thread within one poll (0.1 s), or when
a slow command it is running returns (its output is then discarded). In-process tests call
``SimGnbConsole.reset_sessions()`` / ``hang_sessions()``. On the pty transport both commands
answer ``% Error:``.
"""

from __future__ import annotations

import codecs
import contextlib
import errno
import logging
import math
import os
import re
import select
import socket
import struct
import threading
import time
import tty
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fivegbench.nr.bandwidth import n_rb
from fivegbench.sim.world import World

log = logging.getLogger(__name__)

MODEL = "VHT gNodeB 8T8R (simulated)"
SOFTWARE = "2.3.1-sim"
PROMPT = "gnb-cli> "
TX_POWER_RANGE_DBM = (-10.0, 50.0)
TEST_MODELS = (
    "NR-FR1-TM1.1",
    "NR-FR1-TM1.2",
    "NR-FR1-TM2",
    "NR-FR1-TM2a",
    "NR-FR1-TM3.1",
    "NR-FR1-TM3.1a",
    "NR-FR1-TM3.2",
    "NR-FR1-TM3.3",
)
CHANNEL_BANDWIDTHS_MHZ = (5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 60, 70, 80, 90, 100, 200, 400)
SCS_KHZ = (15, 30, 60, 120)
# Downlink operating band edges in MHz (TS 38.104 Table 5.2-1/5.2-2, nr-standards.md §1.4).
BANDS_MHZ: dict[str, tuple[float, float]] = {
    "n1": (2110.0, 2170.0),
    "n3": (1805.0, 1880.0),
    "n28": (758.0, 803.0),
    "n40": (2300.0, 2400.0),
    "n41": (2496.0, 2690.0),
    "n77": (3300.0, 4200.0),
    "n78": (3300.0, 3800.0),
    "n79": (4400.0, 5000.0),
    "n257": (26500.0, 29500.0),
    "n258": (24250.0, 27500.0),
}
FR2_BANDS = frozenset({"n257", "n258"})
_CHUNK = 4096
_POLL_S = 0.1


def arfcn_to_hz(arfcn: int) -> float:
    """NR-ARFCN -> F_REF in Hz (TS 38.104 §5.4.2.1, Table 5.4.2.1-1)."""
    if 0 <= arfcn < 600000:
        return 5e3 * arfcn
    if 600000 <= arfcn <= 2016666:
        return 3000e6 + 15e3 * (arfcn - 600000)
    if 2016667 <= arfcn <= 3279165:
        return 24250.08e6 + 60e3 * (arfcn - 2016667)
    raise ValueError(f"NR-ARFCN {arfcn} is outside 0..3279165")


def hz_to_arfcn(frequency_hz: float) -> int | None:
    """F_REF in Hz -> NR-ARFCN, or None when the frequency is not on the global raster."""
    if 0 <= frequency_hz < 3000e6:
        n = round(frequency_hz / 5e3)
    elif 3000e6 <= frequency_hz < 24250.08e6:
        n = 600000 + round((frequency_hz - 3000e6) / 15e3)
    elif 24250.08e6 <= frequency_hz <= 100000e6:
        n = 2016667 + round((frequency_hz - 24250.08e6) / 60e3)
    else:
        return None
    try:
        return n if abs(arfcn_to_hz(n) - frequency_hz) < 1.0 else None
    except ValueError:
        return None


class CliError(Exception):
    """A command the CLI refuses; printed as ``% Error: <message>``."""


@dataclass
class _Alarm:
    severity: str
    name: str
    text: str


class _Link:
    """The fault flags of one live socket session, set by other threads (Events are thread-safe)."""

    def __init__(self) -> None:
        self.reset = threading.Event()  # close with a TCP reset at the next poll
        self.hung = threading.Event()  # discard what is received, write nothing


class _Session:
    """One console session: line discipline (echo, CR/LF), login, and the CLI."""

    def __init__(self, console: SimGnbConsole, write: Callable[[str], None], greet: bool) -> None:
        self._console = console
        self._sink = write
        self._out: list[str] = []
        self._line: list[str] = []
        self._last_cr = False
        self._user = ""
        self.decode = codecs.getincrementaldecoder("utf-8")(errors="replace").decode
        self.state = "login" if greet else "idle"  # idle -> login -> password -> shell
        if greet:
            self._banner()
            self._flush()

    # -- line discipline ---------------------------------------------------------------------
    def _write(self, text: str) -> None:
        self._out.append(text)

    def _flush(self) -> None:
        if self._out:
            text, self._out = "".join(self._out), []
            self._sink(text)

    def feed(self, data: str) -> None:
        """Process typed characters; output (echo first) is written in as few writes as possible."""
        try:
            self._feed(data)
        finally:
            self._flush()

    def _feed(self, data: str) -> None:
        for ch in data:
            if ch == "\n" and self._last_cr:
                self._last_cr = False
                continue
            self._last_cr = ch == "\r"
            if ch in "\r\n":
                line, self._line = "".join(self._line), []
                if self.state != "idle":
                    self._write("\r\n")
                self._flush()  # the echo shows before a slow command runs
                self._on_line(line)
            elif ch in "\x7f\x08":
                if self._line:
                    self._line.pop()
                    if self.state in ("login", "shell"):
                        self._write("\b \b")
            elif ch == "\x03":  # Ctrl-C
                self._line = []
                if self.state == "shell":
                    self._write("^C\r\n" + PROMPT)
            elif ch.isprintable():
                self._line.append(ch)
                if self.state in ("login", "shell"):
                    self._write(ch)

    def _banner(self) -> None:
        self._write(f"\r\n{MODEL} console\r\nSerial {self._console.serial}\r\n\r\nlogin: ")

    def _on_line(self, line: str) -> None:
        if self.state == "idle":
            self.state = "login"
            self._banner()
        elif self.state == "login":
            if line.strip():
                self._user = line.strip()
                self.state = "password"
                self._write("Password: ")
            else:
                self._write("login: ")
        elif self.state == "password":
            if self._user == self._console.user and line == self._console.password:
                self.state = "shell"
                self._write(f"Welcome to {MODEL}. Type 'help' for commands.\r\n{PROMPT}")
            else:
                self.state = "login"
                self._console.wait(self._console.login_delay_s)
                self._write("Login incorrect\r\n\r\nlogin: ")
        else:
            words = line.split()
            if words and words[0] in ("exit", "logout"):
                self.state = "login"
                self._write("logout\r\n")
                self._banner()
                return
            out = ""
            try:
                out = self._console.execute(words, session=self)
            except CliError as exc:
                out = f"% Error: {exc}"
            self._write((out.replace("\n", "\r\n") + "\r\n" if out else "") + PROMPT)


class SimGnbConsole:
    """The simulated gNB console server. ``start()`` returns the resource string to open."""

    def __init__(
        self,
        world: World,
        transport: str = "socket",
        user: str = "admin",
        password: str = "admin",
        serial: str = "SIM-GNB-0001",
        settle_s: float = 0.5,
        rf_ramp_s: float = 1.0,
        login_delay_s: float = 0.0,
    ) -> None:
        if transport not in ("socket", "pty"):
            raise ValueError(f"transport must be 'socket' or 'pty', not {transport!r}")
        self.world = world
        self.transport = transport
        self.user = user
        self.password = password
        self.serial = serial
        self.settle_s = settle_s
        self.rf_ramp_s = rf_ramp_s
        self.login_delay_s = login_delay_s
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._threads_lock = threading.Lock()
        self._server: socket.socket | None = None
        self._wake: tuple[int, int] | None = None  # a pipe made readable by stop(): selects wake at once
        self._master: int | None = None
        self._slave: int | None = None
        self._alarms: list[_Alarm] = []
        self._alarms_lock = threading.Lock()
        self._links: dict[_Session, _Link] = {}  # the live socket sessions
        self._links_lock = threading.Lock()
        self._started = time.monotonic()
        self.resource: str | None = None

    # -- life cycle --------------------------------------------------------------------------
    def start(self) -> str:
        """Start serving; return ``socket://127.0.0.1:<port>`` or the pty slave path."""
        if self.resource is not None:
            return self.resource
        self._stop.clear()
        self._started = time.monotonic()
        self._wake = os.pipe()
        if self.transport == "socket":
            server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            server.bind(("127.0.0.1", 0))
            server.listen(8)
            self._server = server
            port = server.getsockname()[1]
            self.resource = f"socket://127.0.0.1:{port}"
            self._spawn(self._accept_loop, "sim-gnb-accept")
        else:
            master, slave = os.openpty()
            tty.setraw(slave)  # no line-discipline echo or CR/LF mapping: the CLI does its own
            tty.setraw(master)
            os.set_blocking(master, False)
            self._master, self._slave = master, slave
            self.resource = os.ttyname(slave)
            self._spawn(self._pty_loop, "sim-gnb-pty")
        log.info("simulated gNB console on %s", self.resource)
        return self.resource

    def stop(self) -> None:
        """Stop serving: end every session, join the threads, close sockets and fds."""
        self._stop.set()
        if self._wake is not None:
            os.write(self._wake[1], b"x")
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:  # sessions accepted while stopping are joined too
            with self._threads_lock:
                self._threads = [t for t in self._threads if t.is_alive()]
                alive = list(self._threads)
            if not alive:
                break
            for thread in alive:
                thread.join(timeout=max(0.0, deadline - time.monotonic()))
        if self._threads:
            log.warning("simulated gNB console: %d thread(s) did not stop", len(self._threads))
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

    def __enter__(self) -> SimGnbConsole:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def wait(self, seconds: float) -> None:
        """Sleep, but wake at once when the console is stopped."""
        if seconds > 0:
            self._stop.wait(seconds)

    # -- fault injection -----------------------------------------------------------------------
    def raise_alarm(self, name: str, text: str, severity: str = "MAJOR") -> None:
        """Add an active alarm, listed by ``show alarms``."""
        with self._alarms_lock:
            self._alarms.append(_Alarm(severity, name, text))

    def reset_sessions(self, except_session: _Session | None = None) -> int:
        """Drop every socket session but ``except_session`` with a TCP reset; return how many.

        The sessions leave the registry at once; each one's thread sets ``SO_LINGER`` 0 and closes
        its socket at its next poll. The world is not changed.
        """
        links = self._other_links(except_session, remove=True)
        for link in links:
            link.reset.set()
        return len(links)

    def hang_sessions(self, except_session: _Session | None = None) -> int:
        """Make every socket session but ``except_session`` stop answering; return how many.

        A hung session discards what it receives and writes nothing until its client disconnects
        (or it is reset, or the console stops).
        """
        links = self._other_links(except_session, remove=False)
        for link in links:
            link.hung.set()
        return len(links)

    def _other_links(self, except_session: _Session | None, remove: bool) -> list[_Link]:
        with self._links_lock:
            others = [s for s in self._links if s is not except_session]
            links = [self._links[s] for s in others]
            if remove:
                for s in others:
                    del self._links[s]
        return links

    # -- threads -----------------------------------------------------------------------------
    def _select(self, read: list[Any], write: list[Any]) -> tuple[list[Any], list[Any]]:
        """select() that also returns (with nothing ready) when the console is being stopped."""
        wake = [self._wake[0]] if self._wake is not None else []
        readable, writable, _ = select.select([*read, *wake], write, [], _POLL_S)
        if self._stop.is_set():
            return [], []
        return [r for r in readable if r not in wake], writable

    def _spawn(self, target: Callable[..., None], name: str, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        with self._threads_lock:
            self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        server = self._server
        assert server is not None
        while not self._stop.is_set():
            ready, _ = self._select([server], [])
            if not ready:
                continue
            try:
                conn, _addr = server.accept()
            except OSError:
                continue
            self._spawn(self._socket_session, "sim-gnb-session", conn)

    def _socket_session(self, conn: socket.socket) -> None:
        link = _Link()
        with conn:
            conn.setblocking(False)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def write(text: str) -> None:
                data = text.encode("utf-8")
                while data and not (self._stop.is_set() or link.reset.is_set() or link.hung.is_set()):
                    _, ready = self._select([], [conn])
                    if ready:
                        try:
                            data = data[conn.send(data) :]
                        except BlockingIOError:
                            continue

            try:
                session = _Session(self, write, greet=True)
                with self._links_lock:
                    self._links[session] = link
                try:
                    self._serve_socket(conn, session, link)
                finally:
                    with self._links_lock:
                        self._links.pop(session, None)
                if link.reset.is_set():  # close() now sends RST instead of FIN
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError as exc:  # reset by peer, broken pipe
                log.debug("sim gNB session ended: %s", exc)

    def _serve_socket(self, conn: socket.socket, session: _Session, link: _Link) -> None:
        """Feed what the client types to ``session`` until it disconnects, is reset or we stop."""
        while not (self._stop.is_set() or link.reset.is_set()):
            ready, _ = self._select([conn], [])
            if not ready or link.reset.is_set():
                continue
            try:
                data = conn.recv(_CHUNK)
            except BlockingIOError:
                continue
            if not data:
                return  # client disconnected
            if not link.hung.is_set():
                session.feed(session.decode(data))

    def _pty_loop(self) -> None:
        master = self._master
        assert master is not None

        def write(text: str) -> None:
            data = text.encode("utf-8")
            while data and not self._stop.is_set():
                _, ready = self._select([], [master])
                if not ready:
                    continue  # nobody reads the slave and its buffer is full: wait
                try:
                    data = data[os.write(master, data) :]
                except BlockingIOError:
                    continue

        session = _Session(self, write, greet=False)
        while not self._stop.is_set():
            ready, _ = self._select([master], [])
            if not ready:
                continue
            try:
                data = os.read(master, _CHUNK)
            except BlockingIOError:
                continue
            except OSError as exc:
                if exc.errno == errno.EIO:  # no slave open right now; we hold one, so rare
                    self.wait(_POLL_S)
                    continue
                raise
            if data:
                session.feed(session.decode(data))

    # -- the CLI -------------------------------------------------------------------------------
    def execute(self, words: list[str], session: _Session | None = None) -> str:
        """Run one command line (already split); return its output without the prompt.

        ``session`` is the session that typed it, which ``debug fault ...`` leaves alone.
        """
        if not words:
            return ""
        head = " ".join(words[:2])
        args = words[2:]
        if words[0] in ("help", "?"):
            return _HELP
        if words[0] == "debug":
            return self._debug(words, session)
        handlers: dict[str, Callable[[list[str]], str]] = {
            "show version": self._show_version,
            "show cell": self._show_cell,
            "show alarms": self._show_alarms,
            "set band": self._set_band,
            "set arfcn": self._set_arfcn,
            "set bandwidth": self._set_bandwidth,
            "set scs": self._set_scs,
            "set tdd-pattern": self._set_tdd,
            "set tx-power": self._set_tx_power,
            "set test-model": self._set_test_model,
            "rf on": self._rf_on,
            "rf off": self._rf_off,
        }
        handler = handlers.get(head)
        if handler is None:
            raise CliError(f"Unknown command '{' '.join(words)}'")
        return handler(args)

    def _debug(self, words: list[str], session: _Session | None) -> str:
        """The hidden ``debug fault reset`` / ``debug fault hang`` (see the module docstring)."""
        command = " ".join(words)
        faults: dict[str, tuple[Callable[[_Session | None], int], str]] = {
            "debug fault reset": (self.reset_sessions, "reset"),
            "debug fault hang": (self.hang_sessions, "hung"),
        }
        fault = faults.get(command)
        if fault is None:
            raise CliError(f"Unknown command '{command}'")
        if self.transport != "socket":
            raise CliError(f"'{command}' is not available on a {self.transport} console")
        inject, done = fault
        return f"{done} {inject(session)} session(s)"

    def _show_version(self, args: list[str]) -> str:
        _no_args(args, "show version")
        up = int(time.monotonic() - self._started)
        return (
            f"Model: {MODEL}\nSerial: {self.serial}\nSoftware version: {SOFTWARE}\n"
            f"Uptime: {up // 86400}d {up % 86400 // 3600:02d}:{up % 3600 // 60:02d}:{up % 60:02d}"
        )

    def _show_cell(self, args: list[str]) -> str:
        _no_args(args, "show cell")
        with self.world.lock:
            g = self.world.gnb
            arfcn = hz_to_arfcn(g.center_frequency_hz)
            return "\n".join(
                [
                    f"Band: {g.band}",
                    f"Center frequency: {g.center_frequency_hz / 1e6:.3f} MHz",
                    f"ARFCN: {arfcn if arfcn is not None else 'off-raster'}",
                    f"Bandwidth: {g.bandwidth_hz / 1e6:g} MHz",
                    f"SCS: {g.scs_hz / 1e3:g} kHz",
                    f"TDD pattern: {g.tdd_pattern} (special {g.special_slot})",
                    f"TX power: {g.tx_power_dbm:.1f} dBm",
                    f"Test model: {g.test_model}",
                    f"RF: {'ON' if g.rf_on else 'OFF'}",
                ]
            )

    def _show_alarms(self, args: list[str]) -> str:
        _no_args(args, "show alarms")
        with self._alarms_lock:
            alarms = list(self._alarms)
        with self.world.lock:
            g = self.world.gnb
            low, high = BANDS_MHZ.get(g.band, (math.nan, math.nan))
            if g.rf_on and not low <= g.center_frequency_hz / 1e6 <= high:
                text = f"carrier {g.center_frequency_hz / 1e6:.3f} MHz outside band {g.band}"
                alarms.append(_Alarm("MAJOR", "CELL-CONFIG", text))
        if not alarms:
            return "No active alarms"
        return "\n".join(f"{a.severity:<8} {a.name:<12} {a.text}" for a in alarms)

    def _require_rf_off(self, what: str) -> None:
        with self.world.lock:
            if self.world.gnb.rf_on:
                raise CliError(f"RF must be off to change {what}")

    def _set_band(self, args: list[str]) -> str:
        band = _one_arg(args, "set band <band>").lower()
        if band not in BANDS_MHZ:
            raise CliError(f"Unsupported band '{band}' (supported: {', '.join(BANDS_MHZ)})")
        self._require_rf_off("band")
        with self.world.lock:
            self.world.gnb.band = band
        return ""

    def _set_arfcn(self, args: list[str]) -> str:
        text = _one_arg(args, "set arfcn <NR-ARFCN>")
        try:
            arfcn = int(text)
            frequency_hz = arfcn_to_hz(arfcn)
        except ValueError:
            raise CliError(f"Invalid NR-ARFCN '{text}'") from None
        self._require_rf_off("ARFCN")
        with self.world.lock:
            band = self.world.gnb.band
            low, high = BANDS_MHZ.get(band, (0.0, math.inf))
            if not low <= frequency_hz / 1e6 <= high:
                raise CliError(f"ARFCN {arfcn} ({frequency_hz / 1e6:.3f} MHz) is outside band {band}")
            self.world.gnb.center_frequency_hz = frequency_hz
        return ""

    def _set_bandwidth(self, args: list[str]) -> str:
        text = _one_arg(args, "set bandwidth <MHz>")
        mhz = _number(text, "bandwidth")
        if mhz not in CHANNEL_BANDWIDTHS_MHZ:
            raise CliError(f"Unsupported bandwidth {text} MHz")
        self._require_rf_off("bandwidth")
        with self.world.lock:
            self.world.gnb.bandwidth_hz = mhz * 1e6
        return ""

    def _set_scs(self, args: list[str]) -> str:
        text = _one_arg(args, "set scs <kHz>")
        khz = _number(text, "SCS")
        if khz not in SCS_KHZ:
            raise CliError(f"Unsupported SCS {text} kHz")
        self._require_rf_off("SCS")
        with self.world.lock:
            self.world.gnb.scs_hz = khz * 1e3
        return ""

    def _set_tdd(self, args: list[str]) -> str:
        if len(args) != 2:
            raise CliError("Usage: set tdd-pattern <pattern> <D:G:U>")
        pattern, special = args[0].upper(), args[1]
        if not re.fullmatch(r"[DSU]{1,20}", pattern):
            raise CliError(f"Invalid TDD pattern '{args[0]}' (letters D, S, U)")
        m = re.fullmatch(r"(\d+):(\d+):(\d+)", special)
        if m is None or sum(int(x) for x in m.groups()) != 14:
            raise CliError(f"Invalid special slot '{special}' (D:G:U symbols summing to 14)")
        with self.world.lock:
            self.world.gnb.tdd_pattern = pattern
            self.world.gnb.special_slot = special
        return ""

    def _set_tx_power(self, args: list[str]) -> str:
        text = _one_arg(args, "set tx-power <dBm>")
        dbm = _number(text, "TX power")
        low, high = TX_POWER_RANGE_DBM
        if not math.isfinite(dbm) or not low <= dbm <= high:
            raise CliError(f"TX power {text} dBm out of range ({low:.1f} to {high:.1f} dBm)")
        with self.world.lock:
            rf_on = self.world.gnb.rf_on
        if rf_on:
            self.wait(self.settle_s)  # the PA settles before the prompt returns
        with self.world.lock:
            self.world.gnb.tx_power_dbm = dbm
        return ""

    def _set_test_model(self, args: list[str]) -> str:
        name = _one_arg(args, "set test-model <NR-FR1-TMx>")
        canonical = {m.upper(): m for m in TEST_MODELS}.get(name.upper())
        if canonical is None:
            raise CliError(f"Unknown test model '{name}' (known: {', '.join(TEST_MODELS)})")
        with self.world.lock:
            self.world.gnb.test_model = canonical
        return ""

    def _rf_on(self, args: list[str]) -> str:
        _no_args(args, "rf on")
        with self.world.lock:
            g = self.world.gnb
            if g.rf_on:
                return "RF transmission ON"
            try:
                n_rb(g.bandwidth_hz, g.scs_hz, fr2=g.band in FR2_BANDS)
            except ValueError as exc:
                raise CliError(f"Invalid carrier configuration: {exc}") from None
        self.wait(self.rf_ramp_s)
        with self.world.lock:
            self.world.gnb.rf_on = True
        return "RF transmission ON"

    def _rf_off(self, args: list[str]) -> str:
        _no_args(args, "rf off")
        with self.world.lock:
            self.world.gnb.rf_on = False
        return "RF transmission OFF"


_HELP = """\
show version | show cell | show alarms
set band <nXX> | set arfcn <N> | set bandwidth <MHz> | set scs <kHz>
set tdd-pattern <pattern> <D:G:U> | set tx-power <dBm> | set test-model <NR-FR1-TMx>
rf on | rf off | exit"""


def _no_args(args: list[str], usage: str) -> None:
    if args:
        raise CliError(f"Usage: {usage}")


def _one_arg(args: list[str], usage: str) -> str:
    if len(args) != 1:
        raise CliError(f"Usage: {usage}")
    return args[0]


def _number(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise CliError(f"Invalid {what} '{text}'") from None
    if not math.isfinite(value):
        raise CliError(f"Invalid {what} '{text}'")
    return value


def serve(world: World, config: Any, console: str) -> tuple[str, Callable[[], None]]:
    """The simulated bench's entry point (see :mod:`fivegbench.drivers.registry`): a console on
    ``console`` (``socket`` or ``pty``) accepting the bench's user and password."""
    options = config.options
    gnb = SimGnbConsole(
        world,
        transport=console,
        user=str(options.get("user", "admin")),
        password=str(options.get("password", "admin")),
        serial=config.serial or "SIM-GNB-0001",
    )
    return gnb.start(), gnb.stop
