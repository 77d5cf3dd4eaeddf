"""Simulated Mini-Circuits programmable attenuator (RCDAT / RC4DAT), Ethernet Telnet service.

A real TCP server on 127.0.0.1 (an ephemeral port by default) that reads lines, like the unit's
Telnet service on port 23. Reach it through ``TCPIP::127.0.0.1::<port>::SOCKET`` with CR LF
terminations both ways (:meth:`SimMiniCircuitsAttenuator.start` returns that string). The command
set and the public sources it rests on are in
:mod:`fivegbench.drivers.attenuator.minicircuits`. This module keeps to what they show and errs
towards strictness where they are silent; every such choice is marked [U] below.

Models (:data:`MODELS`): ``RCDAT-6000-110`` (one channel, the default) and ``RC4DAT-6G-95`` (four
channels). The maximum attenuation is the last field of the model name, as on the real unit.

Framing
-------
* A command ends at LF. White space around it, including the CR of CR LF, is ignored.
* Each reply is one line ending in CR LF, sent with one ``sendall`` on a ``TCP_NODELAY`` socket.
* Commands are case-insensitive, and the leading ``:`` is optional. [U] Inferred from public
  clients that send ``ATT?`` and ``:ATT?``, ``Firmware?`` and ``:FIRMWARE?``.
* An empty line gets no reply. [U]
* No Telnet option negotiation is sent on connect. [U] The real unit may send some (see the
  driver's notes).

Commands
--------
* ``MN?`` -> ``MN=<model>``. ``SN?`` -> ``SN=<serial>``.
* ``SETATT=<dB>`` (single-channel models only) and ``CHAN:<n>:SETATT:<dB>`` or
  ``CHAN:<n>:SETATT=<dB>`` (``n`` from 1 to the channel count; ``=`` is the issue's form, ``:`` is
  the public clients' form). The reply is:

  - ``1``: set. The value is rounded to the nearest 0.25 dB step, ties upwards. [U] The real
    unit's rounding is not documented.
  - ``2``: above the maximum. The unit sets its maximum instead (verified).
  - ``0``: a negative value or one that is not a plain decimal number (``abc``, ``1e3``,
    ``10 dB``, ``1;:ATT?``). Nothing changes. [U] The reply code for these inputs is assumed.

* ``ATT?`` -> the setting, with two decimals (``25.75``). [U] for the number format. On a
  multi-channel model the reply holds every channel, separated by two spaces. [U] The separator
  comes from a client that splits on two spaces.
* ``CHAN:<n>:ATT?`` -> channel n's setting.
* Anything starting with ``*`` (``*IDN?``, ``*OPC?``, ``*RST``) -> **no reply at all**, so a
  client waiting for one times out, as the issue reports for ``*IDN?`` and ``*OPC?``. [U] For the
  other common commands.
* Any other line -> ``-99``. [U] What the real unit answers is not known. This includes
  ``SETATT=`` on a multi-channel model, a channel number outside the model's range (the mobly
  notes say a single-channel unit ignores it) and a query followed by ``;`` and more.

State
-----
Channel 1 is the RF path of the bench: setting it sets ``world.attenuation_db`` under
``world.lock`` before the reply is sent. At construction, channel 1 starts at the world's current
value, and the other channels start at 0 dB. Settings are shared by all connections.
"""

from __future__ import annotations

import contextlib
import logging
import math
import re
import socket
import threading

from fivegbench.sim.attenuator import snap_to_step
from fivegbench.sim.world import World

log = logging.getLogger(__name__)

#: Model name -> number of channels. The maximum attenuation is the name's last ``-`` field.
MODELS: dict[str, int] = {"RCDAT-6000-110": 1, "RC4DAT-6G-95": 4}
DEFAULT_MODEL = "RCDAT-6000-110"
STEP_DB = 0.25
UNKNOWN_REPLY = "-99"  # [U]
MAX_LINE = 4096  # bytes without a LF before the line is discarded [U]

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_SETATT = re.compile(r"SETATT=(?P<value>.*)")
_CHAN_SETATT = re.compile(r"CHAN:(?P<channel>\d+):SETATT[:=](?P<value>.*)")
_CHAN_ATT = re.compile(r"CHAN:(?P<channel>\d+):ATT\?")


def model_max_db(model: str) -> float:
    """The maximum attenuation a model name declares: ``RCDAT-6000-110`` -> 110.0."""
    return float(model.rsplit("-", 1)[1])


class SimMiniCircuitsAttenuator:
    """A simulated Mini-Circuits RCDAT/RC4DAT attenuator on a threaded TCP line server.

    Parameters
    ----------
    world : the physical world; channel 1 sets ``world.attenuation_db``.
    model : a key of :data:`MODELS`.
    serial : what ``SN?`` reports.
    host, port : where to listen; port 0 picks an ephemeral port.
    """

    _ACCEPT_POLL_S = 0.05
    _RECV_SIZE = 4096

    def __init__(
        self,
        world: World,
        model: str = DEFAULT_MODEL,
        serial: str = "12345678901",
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        if model not in MODELS:
            raise ValueError(f"unknown model {model!r}; known: {', '.join(MODELS)}")
        self.world = world
        self.model = model
        self.serial = serial
        self.channels = MODELS[model]
        self.max_db = model_max_db(model)
        self._host = host
        self._requested_port = port
        self._lock = threading.Lock()  # guards the settings
        with world.lock:
            first = world.attenuation_db
        self._settings = [first] + [0.0] * (self.channels - 1)
        self._listener: socket.socket | None = None
        self._accept_thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._clients: dict[threading.Thread, socket.socket] = {}
        self._clients_lock = threading.Lock()
        self._count = 0
        self.port = 0

    # -- the instrument ----------------------------------------------------------------------
    def attenuation(self, channel: int = 1) -> float:
        """The programmed setting of ``channel`` (1-based), in dB."""
        with self._lock:
            return self._settings[channel - 1]

    def handle(self, line: str) -> str | None:
        """Execute one command line; return the reply (without CR LF), or None for no reply."""
        command = line.strip().upper()
        if not command or command.startswith("*"):
            return None
        command = command.removeprefix(":")
        if command == "MN?":
            return f"MN={self.model}"
        if command == "SN?":
            return f"SN={self.serial}"
        if command == "ATT?":
            with self._lock:
                return "  ".join(_format_db(value) for value in self._settings)
        if self.channels == 1 and (match := _SETATT.fullmatch(command)):
            return self._set(1, match.group("value"))
        if match := _CHAN_SETATT.fullmatch(command):
            channel = int(match.group("channel"))
            if 1 <= channel <= self.channels:
                return self._set(channel, match.group("value"))
        elif match := _CHAN_ATT.fullmatch(command):
            channel = int(match.group("channel"))
            if 1 <= channel <= self.channels:
                return _format_db(self.attenuation(channel))
        return UNKNOWN_REPLY

    def _set(self, channel: int, text: str) -> str:
        text = text.strip()
        if not _NUMBER.fullmatch(text):
            return "0"
        value = float(text)
        if not math.isfinite(value) or value < 0:
            return "0"
        clipped = value > self.max_db
        setting = self.max_db if clipped else min(snap_to_step(value, STEP_DB), self.max_db)
        with self._lock:
            self._settings[channel - 1] = setting
            if channel == 1:
                with self.world.lock:
                    self.world.attenuation_db = setting
        log.debug("channel %d set to %g dB%s", channel, setting, " (clipped)" if clipped else "")
        return "2" if clipped else "1"

    # -- the server --------------------------------------------------------------------------
    @property
    def resource(self) -> str:
        """The VISA resource string of this server."""
        return f"TCPIP::{self._host}::{self.port}::SOCKET"

    def start(self) -> str:
        """Bind, listen and accept in the background; return :attr:`resource`."""
        if self._listener is not None:
            raise RuntimeError("server already started")
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind((self._host, self._requested_port))
            listener.listen(8)
        except OSError:
            listener.close()
            raise
        listener.settimeout(self._ACCEPT_POLL_S)
        self._listener = listener
        self.port = listener.getsockname()[1]
        self._stopping.clear()
        self._accept_thread = threading.Thread(
            target=self._accept_loop, name=f"mcl-att-{self.port}-accept", daemon=True
        )
        self._accept_thread.start()
        log.info("Mini-Circuits attenuator %s listening on %s", self.model, self.resource)
        return self.resource

    def stop(self, timeout: float = 5.0) -> None:
        """Close the listener and every connection; join all threads."""
        self._stopping.set()
        if self._listener is not None:
            with contextlib.suppress(OSError):  # wakes a blocked accept() at once on Linux
                self._listener.shutdown(socket.SHUT_RDWR)
        if self._accept_thread is not None:
            self._accept_thread.join(timeout)
            self._accept_thread = None
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        with self._clients_lock:
            clients = list(self._clients.items())
        for _thread, conn in clients:
            with contextlib.suppress(OSError):  # already closed by its thread
                conn.shutdown(socket.SHUT_RDWR)
        for thread, _ in clients:
            thread.join(timeout)
            if thread.is_alive():
                log.warning("connection thread %s did not stop", thread.name)
        log.info("Mini-Circuits attenuator on port %d stopped", self.port)

    def __enter__(self) -> SimMiniCircuitsAttenuator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def connections(self) -> int:
        """Number of open client connections."""
        with self._clients_lock:
            return len(self._clients)

    def _accept_loop(self) -> None:
        assert self._listener is not None
        listener = self._listener
        while not self._stopping.is_set():
            try:
                conn, peer = listener.accept()
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
        self._count += 1
        thread = threading.Thread(
            target=self._serve, args=(conn,), name=f"mcl-att-{self.port}-conn{self._count}", daemon=True
        )
        with self._clients_lock:
            if self._stopping.is_set():
                conn.close()
                return
            self._clients[thread] = conn
        log.debug("client %s:%d connected", *peer)
        thread.start()

    def _serve(self, conn: socket.socket) -> None:
        buffer = b""
        try:
            while not self._stopping.is_set():
                data = conn.recv(self._RECV_SIZE)
                if not data:
                    break
                buffer += data
                while b"\n" in buffer:
                    raw, buffer = buffer.split(b"\n", 1)
                    reply = self._reply(raw)
                    if reply is not None:
                        conn.sendall(reply.encode("ascii") + b"\r\n")  # one sendall per reply
                if len(buffer) > MAX_LINE:
                    log.debug("discarding %d bytes without a line end", len(buffer))
                    buffer = b""
        except OSError as exc:
            log.debug("connection closed: %s", exc)
        finally:
            conn.close()
            with self._clients_lock:
                self._clients.pop(threading.current_thread(), None)

    def _reply(self, raw: bytes) -> str | None:
        try:
            return self.handle(raw.decode("ascii"))
        except UnicodeDecodeError:
            return UNKNOWN_REPLY
        except Exception:  # a simulator bug: log it, keep the connection (and the test) alive
            log.exception("executing %r failed", raw[:80])
            return None


def _format_db(value: float) -> str:
    return f"{value:.2f}"
