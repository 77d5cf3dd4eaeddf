"""The simulated gNB console: a small vendor-style CLI on a real byte stream.

The stream (a TCP socket or a pty, both reached through pyserial exactly like a console cable;
threads, stop, fault injection) is :mod:`fivegbench.sim.stream`'s. What is the gNB's:

* ``transport="socket"``: each TCP client is its own session, greeted with the banner and
  ``login: `` on connect (which pyserial's socket open may discard, as it resets the input buffer:
  drivers provoke a prompt either way).
* ``transport="pty"``: one session for the life of the console, like a serial line: it stays
  logged in when the driver disconnects. As pyserial flushes input on open, the banner is printed
  on the first ``\\r``/``\\n`` received.

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

import logging
import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fivegbench.nr.arfcn import arfcn_to_hz, hz_to_arfcn
from fivegbench.nr.bands import band as nr_band
from fivegbench.nr.bandwidth import n_rb
from fivegbench.nr.test_models import TEST_MODELS
from fivegbench.sim.faults import Faults
from fivegbench.sim.stream import Connection, StreamServer
from fivegbench.sim.world import World

log = logging.getLogger(__name__)

MODEL = "VHT gNodeB 8T8R (simulated)"
SOFTWARE = "2.3.1"
PROMPT = "gnb-cli> "
TX_POWER_RANGE_DBM = (-10.0, 50.0)
CHANNEL_BANDWIDTHS_MHZ = (5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 60, 70, 80, 90, 100, 200, 400)
SCS_KHZ = (15, 30, 60, 120)
# The bands this gNB's firmware supports; their edges come from TS 38.104 (nr.bands).
SUPPORTED_BANDS = ("n1", "n3", "n28", "n40", "n41", "n77", "n78", "n79", "n257", "n258")


def _dl_edges_mhz(name: str) -> tuple[float, float]:
    b = nr_band(name)
    if b.dl_low_hz is None or b.dl_high_hz is None:  # an uplink-only band: no carrier to transmit
        raise CliError(f"band {name} has no downlink")
    return b.dl_low_hz / 1e6, b.dl_high_hz / 1e6


def _arfcn_or_none(frequency_hz: float) -> int | None:
    try:
        return hz_to_arfcn(frequency_hz)
    except ValueError:
        return None


class CliError(Exception):
    """A command the CLI refuses; printed as ``% Error: <message>``."""


@dataclass
class _Alarm:
    severity: str
    name: str
    text: str


class _Session:
    """One console session: line discipline (echo, CR/LF), login, and the CLI."""

    def __init__(self, console: SimGnbConsole, write: Callable[[str], None], greet: bool) -> None:
        self._console = console
        self._sink = write
        self._out: list[str] = []
        self._line: list[str] = []
        self._last_cr = False
        self._user = ""
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


class SimGnbConsole(StreamServer[_Session]):
    """The simulated gNB console server. ``start()`` returns the resource string to open; the
    stream, stop and fault injection (``reset_sessions``, ``hang_sessions``) are
    :class:`~fivegbench.sim.stream.StreamServer`'s."""

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
        faults: Faults | None = None,
        port: int = 0,
    ) -> None:
        super().__init__(
            self._open_session, transport, "sim-gnb", "simulated gNB console", faults, self._power_on, port
        )
        self.faults.allow("alarm", lambda spec: self.raise_alarm("INJECTED", spec.text))
        self.world = world
        self.user = user
        self.password = password
        self.serial = serial
        self.settle_s = settle_s
        self.rf_ramp_s = rf_ramp_s
        self.login_delay_s = login_delay_s
        self._alarms: list[_Alarm] = []
        self._alarms_lock = threading.Lock()
        self._started = time.monotonic()

    def _open_session(self, connection: Connection) -> _Session:
        # A socket client is greeted on connect; a serial line at its first line ending.
        return _Session(self, connection.write, greet=connection.transport == "socket")

    def start(self) -> str:
        """Start serving; return ``socket://127.0.0.1:<port>`` or the pty slave path."""
        if self.resource is None:
            self._started = time.monotonic()
        return super().start()

    # -- fault injection -----------------------------------------------------------------------
    def _power_on(self) -> None:
        """Back from a reboot: RF off, no alarms; the cell configuration is kept (saved config)."""
        with self.world.lock:
            self.world.gnb.rf_on = False
        with self._alarms_lock:
            self._alarms.clear()
        self._started = time.monotonic()

    def raise_alarm(self, name: str, text: str, severity: str = "MAJOR") -> None:
        """Add an active alarm, listed by ``show alarms``."""
        with self._alarms_lock:
            self._alarms.append(_Alarm(severity, name, text))

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
            arfcn = _arfcn_or_none(g.center_frequency_hz)
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
            low, high = _dl_edges_mhz(g.band)
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
        if band not in SUPPORTED_BANDS:
            raise CliError(f"Unsupported band '{band}' (supported: {', '.join(SUPPORTED_BANDS)})")
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
            low, high = _dl_edges_mhz(band)
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
                n_rb(g.bandwidth_hz, g.scs_hz, fr2=nr_band(g.band).fr == "FR2")
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


def serve(
    world: World, config: Any, console: str, faults: Faults | None = None, port: int = 0
) -> tuple[str, Callable[[], None]]:
    """The simulated bench's entry point (see :mod:`fivegbench.drivers.registry`): a console on
    ``console`` (``socket`` or ``pty``) accepting the bench's user and password."""
    options = config.options
    gnb = SimGnbConsole(
        world,
        transport=console,
        user=str(options.get("user", "admin")),
        password=str(options.get("password", "admin")),
        serial=config.serial or "SIM-GNB-0001",
        faults=faults,
        port=port,
    )
    return gnb.start(), gnb.stop
