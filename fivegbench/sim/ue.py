"""The simulated 5G UE modem: an AT command interpreter on a real byte stream.

The stream (a TCP socket or a pty, both reached through pyserial like a modem's AT port; threads,
stop, fault injection) is :mod:`fivegbench.sim.stream`'s. What is the modem's:

* ``transport="socket"``: each connection is its own AT port, with its own echo and ``+CMEE``
  setting, as a modem's several USB AT ports are.
* ``transport="pty"``: one AT port for the life of the modem: ``ATE0`` outlives the driver's
  disconnection, as on a serial line.

What it answers is what the radio says: every command calls ``radio()``, which returns a
:class:`SimRadio` (SS-RSRP, SS-RSRQ, SS-SINR, band, ARFCN, PCI, and whether the network accepts
the UE), so the world's radio model can be plugged in. ``AT+CFUN=0`` (or ``4``) switches the
radio off: the modem deregisters and measures nothing until ``AT+CFUN=1``.

As strict as a modem (V.250 framing, as the Quectel RM5xx/EC2x AT manuals state it):

* a command line starts with ``AT`` or ``at`` (a line without that prefix, or with ``At``/``aT``
  [U: V.250's own text not read], gets no answer at all) and ends with CR; an LF is ignored, so
  CR LF works but LF alone ends nothing; BS (S5 = 8) deletes the previous character;
* the command body is case-insensitive and spaces are ignored, except inside quoted strings,
  which are compared exactly (``AT+QENG="servingcell"``) [U: case of quoted values];
* echo is on at power-up (``ATE1``): what is typed is echoed as received; ``ATE0`` turns it off;
* replies are ``<CR><LF>text<CR><LF>`` per information line, then ``<CR><LF>OK<CR><LF>``;
* an unknown command, a malformed one, a test command (``=?``, not implemented) or a parameter
  out of range answers ``ERROR``; a failure of the mobile equipment itself (no SIM) answers
  ``+CME ERROR: <err>`` as ``AT+CMEE`` says (0: ``ERROR``, 1: number, 2: text; default 0
  [U: power-up default]); one command per line (``;`` concatenation is not implemented).

Commands: ``AT``, ``ATE0``/``ATE1``, ``ATI``, ``AT+CGMI``/``+CGMM``/``+CGMR``/``+CGSN`` (and the
V.250 ``+GMI``/``+GMM``/``+GMR``/``+GSN``), ``AT+CMEE``, ``AT+CPIN?``, ``AT+CFUN``,
``AT+C5GREG``, ``AT+CEREG``, ``AT+COPS?``, ``AT+CESQ`` (TS 27.007) and ``AT+QENG="servingcell"``
(Quectel NR5G-SA format).

URCs: with ``AT+C5GREG=1`` (or ``2``) a registration change made by ``AT+CFUN`` is reported as
``+C5GREG: <stat>`` after the ``OK``. Changes of ``radio().registered`` alone are not polled.
Tests inject their own with :meth:`SimUeModem.inject_urc`, and break socket AT ports with
:meth:`SimUeModem.reset_sessions` / :meth:`SimUeModem.hang_sessions` (no AT command does: an
unknown command answers ``ERROR``, as on the modem).

On the simulated bench (:func:`serve`) the radio is the world's: :func:`world_radio` turns the
gNB's state and the attenuator into what the UE measures (:mod:`fivegbench.sim.radio`).
"""

from __future__ import annotations

import logging
import math
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from fivegbench.nr.arfcn import hz_to_arfcn
from fivegbench.sim.faults import Faults
from fivegbench.sim.radio import world_link
from fivegbench.sim.stream import Connection, StreamServer
from fivegbench.sim.world import World

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SimRadio:
    """What the modem's receiver sees of its serving cell. ``rsrp_dbm`` None: no cell at all."""

    rsrp_dbm: float | None = -85.0
    rsrq_db: float | None = -11.0
    sinr_db: float | None = 20.0
    band: str = "n78"
    arfcn: int = 650000
    pci: int = 1
    registered: bool = True
    """Whether the network accepts the UE (with the radio on and a cell in sight)."""
    bandwidth_mhz: float | None = None
    """The cell's channel bandwidth; None: the modem's own ``bandwidth_mhz``."""
    scs_khz: float | None = None
    """The cell's subcarrier spacing; None: the modem's own ``scs_khz``."""


@dataclass(frozen=True)
class ReportTable:
    """A TS 38.133 §10.1 reporting table: index 0 is below ``lowest``, index ``n`` in
    ``1..top-1`` is ``[lowest + (n-1)*step, lowest + n*step)``, index ``top`` is everything above."""

    lowest: float
    step: float
    top: int

    def index(self, value: float) -> int:
        if value < self.lowest:
            return 0
        return min(self.top, 1 + math.floor((value - self.lowest) / self.step))


#: TS 38.133 Table 10.1.6.1-1, SS-RSRP: -156 .. -31 dBm in 1 dB steps, indices 0..126.
SS_RSRP = ReportTable(-156.0, 1.0, 126)
#: TS 38.133 Table 10.1.11.1-1, SS-RSRQ: -43 .. 20 dB in 0.5 dB steps, indices 0..127.
SS_RSRQ = ReportTable(-43.0, 0.5, 127)
#: TS 38.133 Table 10.1.16.1-1, SS-SINR: -23 .. 40 dB in 0.5 dB steps, indices 0..127.
SS_SINR = ReportTable(-23.0, 0.5, 127)
#: ``+CESQ``: "not known or not detectable".
NOT_KNOWN = 255

#: Quectel ``<NR_DL_bandwidth>`` and ``<scs>`` codes (RG50xQ&RM5xxQ Network Application Note §3.2.2).
QENG_BANDWIDTH_MHZ = {
    **{5: 0, 10: 1, 15: 2, 20: 3, 25: 4, 30: 5, 40: 6, 50: 7, 60: 8},
    **{70: 9, 80: 10, 90: 11, 100: 12, 200: 13, 400: 14, 35: 15, 45: 16},
}
QENG_SCS_KHZ = {15: 0, 30: 1, 60: 2, 120: 3, 240: 4}
#: Unpaired (TDD) NR bands among the common ones (TS 38.101-1/-2 Table 5.2-1); others read FDD.
TDD_BANDS = frozenset({"n34", "n38", "n39", "n40", "n41", "n48", "n77", "n78", "n79", "n257", "n258", "n261"})
#: ``+COPS`` ``<AcT>`` 11: NR connected to a 5GCN (SA).
ACT_NR_5GC = 11

#: TS 27.007 §9.2.1 texts of the errors this modem can raise (``AT+CMEE=2``).
CME_TEXT = {10: "SIM not inserted"}

_PREFIX = re.compile(r"(?:AT|at)")


class _Error(Exception):
    """The command fails with ``ERROR`` (unknown, malformed, out of range)."""


class _MeError(Exception):
    """The command fails with ``+CME ERROR: <code>`` (or ``ERROR``, per ``AT+CMEE``)."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def _normalise(body: str) -> str:
    """Upper-case the command body and drop spaces, except inside quoted strings."""
    out: list[str] = []
    quoted = False
    for ch in body:
        if ch == '"':
            quoted = not quoted
            out.append(ch)
        elif quoted:
            out.append(ch)
        elif ch != " ":
            out.append(ch.upper())
    if quoted:
        raise _Error("unterminated string")
    return "".join(out)


class _Port:
    """One AT port: line discipline, echo, result codes; the modem state is shared."""

    def __init__(self, modem: SimUeModem, write: Callable[[str], None]) -> None:
        self._modem = modem
        self._write = write
        self._urc_lock = threading.Lock()
        self._line: list[str] = []
        self.echo = True
        self.cmee = 0
        self.c5greg = 0
        self.cereg = 0
        self._urcs_within: list[str] = []  # sent inside the next reply
        self._urcs_after: list[str] = []  # sent after the next final result code

    def send(self, text: str) -> None:
        if text:
            self._write(text)  # the connection serialises writers (this port's thread, inject_urc)

    def queue_urc(self, text: str, within_reply: bool) -> None:
        with self._urc_lock:
            (self._urcs_within if within_reply else self._urcs_after).append(text)

    def feed(self, text: str) -> None:
        """Process received characters: echo them as received (when on), run each command line."""
        echo: list[str] = []
        for ch in text:
            if self.echo:
                echo.append(ch)
            if ch == "\r":
                self.send("".join(echo))  # the echo comes before the reply
                echo = []
                line, self._line = "".join(self._line), []
                self._on_line(line)
            elif ch == "\n":
                continue  # ignored on input, so CR LF works
            elif ch == "\x08":
                if self._line:
                    self._line.pop()
            else:
                self._line.append(ch)
        self.send("".join(echo))

    def _on_line(self, line: str) -> None:
        if not _PREFIX.match(line):
            return  # not a command line: a modem does not answer it
        try:
            info = self._modem.execute(_normalise(line[2:]), self)
            final = "OK"
        except _Error:
            info, final = [], "ERROR"
        except _MeError as exc:
            info, final = [], self._me_error(exc.code)
        with self._urc_lock:
            within, self._urcs_within = self._urcs_within, []
            after, self._urcs_after = self._urcs_after, []
        reply = "".join(f"\r\n{text}\r\n" for text in info[:1])
        reply += "".join(f"\r\n{urc}\r\n" for urc in within)  # a URC in the middle of the reply
        reply += "".join(f"{text}\r\n" for text in info[1:])
        reply += f"\r\n{final}\r\n"
        reply += "".join(f"\r\n{urc}\r\n" for urc in after)
        self.send(reply)

    def _me_error(self, code: int) -> str:
        if self.cmee == 1:
            return f"+CME ERROR: {code}"
        if self.cmee == 2:
            return f"+CME ERROR: {CME_TEXT.get(code, 'unknown')}"
        return "ERROR"


class SimUeModem(StreamServer[_Port]):
    """The simulated modem server. ``start()`` returns the resource string to open; the stream,
    stop and fault injection (``reset_sessions``, ``hang_sessions``) are
    :class:`~fivegbench.sim.stream.StreamServer`'s."""

    def __init__(
        self,
        radio: Callable[[], SimRadio] = SimRadio,
        transport: str = "socket",
        manufacturer: str = "fivegbench",
        model: str = "SIMUE-5G",
        revision: str = "SIMUE5G01A01",
        imei: str = "860000000000009",
        operator: str = "fivegbench",
        mcc: str = "001",
        mnc: str = "01",
        sim_inserted: bool = True,
        bandwidth_mhz: int = 100,
        scs_khz: int = 30,
        faults: Faults | None = None,
        port: int = 0,
    ) -> None:
        super().__init__(self._open_port, transport, "sim-ue", "simulated UE modem", faults, port=port)
        if bandwidth_mhz not in QENG_BANDWIDTH_MHZ or scs_khz not in QENG_SCS_KHZ:
            raise ValueError(f"no Quectel code for {bandwidth_mhz} MHz / {scs_khz} kHz")
        self.radio = radio
        self.manufacturer = manufacturer
        self.model = model
        self.revision = revision
        self.imei = imei
        self.operator = operator
        self.mcc = mcc
        self.mnc = mnc
        self.sim_inserted = sim_inserted
        self.bandwidth_mhz = bandwidth_mhz
        self.scs_khz = scs_khz
        self.cfun = 1
        self._state_lock = threading.Lock()  # guards cfun

    def _open_port(self, connection: Connection) -> _Port:
        return _Port(self, connection.write)

    # -- test hooks --------------------------------------------------------------------------
    def inject_urc(self, text: str, during_next_reply: bool = False) -> int:
        """Send the unsolicited result code ``text`` (as ``<CR><LF>text<CR><LF>``) on every open
        port, now, or, with ``during_next_reply``, after the first line of each port's next reply
        (before its final result code when it has none). Returns how many ports it went to."""
        ports = self.sessions()
        for port in ports:
            if during_next_reply:
                port.queue_urc(text, within_reply=True)
            else:
                port.send(f"\r\n{text}\r\n")
        return len(ports)

    # -- the AT interpreter ---------------------------------------------------------------------
    def execute(self, body: str, port: _Port) -> list[str]:
        """Run one command (``body`` without ``AT``, normalised); return its information lines.

        Raises _Error (``ERROR``) or _MeError (``+CME ERROR``)."""
        if body == "":
            return []
        if body in ("E", "E0", "E1"):
            port.echo = body == "E1"
            return []
        if body in ("I", "I0"):
            return [self.manufacturer, self.model, f"Revision: {self.revision}"]
        identity = {"GMI": self.manufacturer, "GMM": self.model, "GMR": self.revision, "GSN": self.imei}
        for name, value in identity.items():
            if body in (f"+{name}", f"+C{name}"):
                return [value]
        name, _, rest = body.partition("=") if "=" in body else body.partition("?")
        handlers: dict[str, Callable[[str, _Port], list[str]]] = {
            "+CMEE": self._cmee,
            "+CPIN": self._cpin,
            "+CFUN": self._cfun,
            "+C5GREG": self._c5greg,
            "+CEREG": self._cereg,
            "+COPS": self._cops,
            "+CESQ": self._cesq,
            "+QENG": self._qeng,
        }
        handler = handlers.get(name)
        if handler is None:
            raise _Error(body)
        operation = "?" if body == f"{name}?" else ("=" + rest if "=" in body else body[len(name) :])
        if operation == "=?":
            raise _Error("test commands are not implemented")
        try:
            return handler(operation, port)
        except (_Error, _MeError):
            raise
        except Exception:  # a fault in radio() or here: visible in the log, ERROR on the line
            log.exception("simulated UE modem: AT%s failed", body)
            raise _Error(body) from None

    def _state(self) -> tuple[SimRadio, bool, bool]:
        """(radio, camped on a cell, registered)."""
        radio = self.radio()
        with self._state_lock:
            on = self.cfun == 1
        camped = on and radio.rsrp_dbm is not None
        return radio, camped, camped and radio.registered and self.sim_inserted

    def _stat(self) -> int:
        """TS 27.007 ``<stat>``: 1 registered (home), 2 searching, 0 not searching."""
        if self._state()[2]:
            return 1
        with self._state_lock:
            searching = self.cfun == 1 and self.sim_inserted
        return 2 if searching else 0

    def _cmee(self, operation: str, port: _Port) -> list[str]:
        if operation == "?":
            return [f"+CMEE: {port.cmee}"]
        port.cmee = _choice(operation, (0, 1, 2))
        return []

    def _cpin(self, operation: str, port: _Port) -> list[str]:
        if operation != "?":
            raise _Error("only AT+CPIN? is implemented")
        if not self.sim_inserted:
            raise _MeError(10)
        return ["+CPIN: READY"]

    def _cfun(self, operation: str, port: _Port) -> list[str]:
        if operation == "?":
            with self._state_lock:
                return [f"+CFUN: {self.cfun}"]
        fun = _choice(operation, (0, 1, 4))
        before = self._stat()
        with self._state_lock:
            self.cfun = fun
        after = self._stat()
        if after != before:  # +C5GREG URCs after the reply, on the ports that asked for them
            ports = [p for p in self.sessions() if p.c5greg]
            for other in ports:
                other.queue_urc(self._c5greg_urc(after, other.c5greg), within_reply=False)
        return []

    def _c5greg_urc(self, stat: int, n: int) -> str:
        radio = self.radio()
        if n == 2 and stat in (1, 5):
            return f'+C5GREG: {stat},"{self._tac(radio):06X}","{self._cell_id(radio):09X}",{ACT_NR_5GC}'
        return f"+C5GREG: {stat}"

    def _c5greg(self, operation: str, port: _Port) -> list[str]:
        if operation == "?":
            stat = self._stat()
            radio = self.radio()
            if port.c5greg == 2 and stat in (1, 5):
                tac, cell = self._tac(radio), self._cell_id(radio)
                return [f'+C5GREG: 2,{stat},"{tac:06X}","{cell:09X}",{ACT_NR_5GC}']
            return [f"+C5GREG: {port.c5greg},{stat}"]
        port.c5greg = _choice(operation, (0, 1, 2))
        return []

    def _cereg(self, operation: str, port: _Port) -> list[str]:
        if operation == "?":
            return [f"+CEREG: {port.cereg},0"]  # NR standalone only: never on EPS [U: 0 or 4]
        port.cereg = _choice(operation, (0, 1, 2))
        return []

    def _cops(self, operation: str, port: _Port) -> list[str]:
        if operation != "?":
            raise _Error("only AT+COPS? is implemented")
        if self._state()[2]:
            return [f'+COPS: 0,0,"{self.operator}",{ACT_NR_5GC}']
        return ["+COPS: 0"]  # no operator selected: <format>, <oper> and <AcT> are omitted

    def _cesq(self, operation: str, port: _Port) -> list[str]:
        if operation != "":
            raise _Error("AT+CESQ takes no parameter")
        radio, camped, _ = self._state()

        def index(table: ReportTable, value: float | None) -> int:
            return NOT_KNOWN if value is None or not camped else table.index(value)

        nr = (index(SS_RSRQ, radio.rsrq_db), index(SS_RSRP, radio.rsrp_dbm), index(SS_SINR, radio.sinr_db))
        return ["+CESQ: 99,99,255,255,255,255,{},{},{}".format(*nr)]

    def _qeng(self, operation: str, port: _Port) -> list[str]:
        if operation != '="servingcell"':
            raise _Error('only AT+QENG="servingcell" is implemented')
        radio, camped, registered = self._state()
        if not camped:
            return ['+QENG: "servingcell","SEARCH"']

        def value(number: float | None) -> str:
            return "-" if number is None else str(round(number))

        band = radio.band.lower()
        bandwidth_mhz = self.bandwidth_mhz if radio.bandwidth_mhz is None else radio.bandwidth_mhz
        scs_khz = self.scs_khz if radio.scs_khz is None else radio.scs_khz
        fields = [
            '"servingcell"',
            '"NOCONN"' if registered else '"LIMSRV"',
            '"NR5G-SA"',
            '"TDD"' if band in TDD_BANDS else '"FDD"',
            self.mcc,
            self.mnc,
            f"{self._cell_id(radio):X}",
            str(radio.pci),
            f"{self._tac(radio):X}",
            str(radio.arfcn),
            band.removeprefix("n"),
            _code(QENG_BANDWIDTH_MHZ, bandwidth_mhz),
            value(radio.rsrp_dbm),
            value(radio.rsrq_db),
            value(radio.sinr_db),
            _code(QENG_SCS_KHZ, scs_khz),
            "-",
        ]
        return ["+QENG: " + ",".join(fields)]

    @staticmethod
    def _cell_id(radio: SimRadio) -> int:
        return 0x19013B000 + radio.pci  # 36-bit NR cell identity

    @staticmethod
    def _tac(radio: SimRadio) -> int:
        return 0x000001  # 24-bit tracking area code


def _choice(operation: str, allowed: tuple[int, ...]) -> int:
    """The value of ``=<n>``, one of ``allowed``; _Error otherwise."""
    text = operation.removeprefix("=")
    if not operation.startswith("=") or not text.isdigit() or int(text) not in allowed:
        raise _Error(f"parameter {text!r} not in {allowed}")
    return int(text)


def _code(codes: dict[int, int], value: float) -> str:
    """A Quectel code as text; ``-`` (invalid) for a value the table has no code for."""
    code = codes.get(int(value)) if value == int(value) else None
    return "-" if code is None else str(code)


# -- the simulated bench ------------------------------------------------------------------------
DETECTION_SINR_DB = -6.0
"""The DL SS-SINR (dB) at and above which the simulated UE finds the cell and registers [U]. It
stands for TS 38.133's side condition for intra-frequency NR cell identification, SSB Es/Iot >=
-6 dB (recalled, the table not read). Below it the UE sees no cell at all: it measures nothing and
is not registered, as with RF off."""
SIM_PCI = 1
"""The physical cell identity of the simulated bench's cell (the gNB console sets none)."""


def world_radio(world: World) -> Callable[[], SimRadio]:
    """A ``radio()`` for a modem on the simulated bench: the radio link the traffic path also uses
    (:func:`fivegbench.sim.radio.world_link`: :func:`~fivegbench.sim.radio.link_state` of the
    gNB's TX power, the attenuator, bandwidth, SCS, TDD pattern and special slot), read under
    ``world.lock`` at each call.

    RF off (``world.gnb.rf_on`` False), or a DL SINR below :data:`DETECTION_SINR_DB`: no cell, so
    no readings and not registered. Otherwise the UE is registered and reports the model's
    RSRP, RSRQ and SINR (the effective SINR, which saturates at the implementation floor), the
    world's band, the NR-ARFCN of the centre frequency (ValueError off the global raster: the
    modem answers ``ERROR``) and :data:`SIM_PCI`.
    """

    def radio() -> SimRadio:
        with world.lock:  # re-entrant: the link and the cell it describes are read together
            link = world_link(world)
            g = world.gnb
            no_cell = SimRadio(
                rsrp_dbm=None,
                rsrq_db=None,
                sinr_db=None,
                band=g.band,
                arfcn=hz_to_arfcn(g.center_frequency_hz),
                pci=SIM_PCI,
                registered=False,
                bandwidth_mhz=g.bandwidth_hz / 1e6,
                scs_khz=g.scs_hz / 1e3,
            )
        if link is None or link.sinr_db < DETECTION_SINR_DB:
            return no_cell
        return replace(
            no_cell, rsrp_dbm=link.rsrp_dbm, rsrq_db=link.rsrq_db, sinr_db=link.sinr_db, registered=True
        )

    return radio


def serve(
    world: World, config: Any, console: str, faults: Faults | None = None, port: int = 0
) -> tuple[str, Callable[[], None]]:
    """The simulated bench's entry point (see :mod:`fivegbench.drivers.registry`): a modem on
    ``console`` (``socket`` or ``pty``) whose radio is the world's (:func:`world_radio`), with
    ``config.serial`` as its IMEI (``AT+CGSN``)."""
    modem = SimUeModem(
        radio=world_radio(world),
        transport=console,
        imei=config.serial or "860000000000009",
        faults=faults,
        port=port,
    )
    return modem.start(), modem.stop
