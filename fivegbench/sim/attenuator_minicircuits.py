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

import logging
import math
import re
import threading
from collections.abc import Callable
from typing import Any

from fivegbench.sim.attenuator import snap_to_step
from fivegbench.sim.faults import Faults
from fivegbench.sim.lineserver import LineFramer, LineServer
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
    """A simulated Mini-Circuits RCDAT/RC4DAT attenuator on a threaded TCP line server
    (:class:`~fivegbench.sim.lineserver.LineServer`: lines end at LF, replies end in CR LF).

    Parameters
    ----------
    world : the physical world; channel 1 sets ``world.attenuation_db``.
    model : a key of :data:`MODELS`.
    serial : what ``SN?`` reports.
    host, port : where to listen; port 0 picks an ephemeral port.
    """

    def __init__(
        self,
        world: World,
        model: str = DEFAULT_MODEL,
        serial: str = "12345678901",
        host: str = "127.0.0.1",
        port: int = 0,
        faults: Faults | None = None,
    ) -> None:
        if model not in MODELS:
            raise ValueError(f"unknown model {model!r}; known: {', '.join(MODELS)}")
        self.world = world
        self.model = model
        self.serial = serial
        self.channels = MODELS[model]
        self.max_db = model_max_db(model)
        self._lock = threading.Lock()  # guards the settings
        with world.lock:
            first = world.attenuation_db
        self._settings = [first] + [0.0] * (self.channels - 1)
        self._server = LineServer(
            self._reply,
            lambda: None,
            framer=lambda: LineFramer(b"\n", max_line=MAX_LINE),
            name="mcl-att",
            label=f"Mini-Circuits attenuator {model}",
            host=host,
            port=port,
            recv_size=4096,
            faults=faults,
        )
        # no binary blocks; a reboot keeps the settings (the unit's start-up value is [U])
        self._server.faults.limit({"drop", "hang", "slow", "reboot"})

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
    def port(self) -> int:
        """The TCP port listened on (0 before :meth:`start`)."""
        return self._server.port

    @property
    def resource(self) -> str:
        """The VISA resource string of this server."""
        return self._server.resource

    def start(self) -> str:
        """Bind, listen and accept in the background; return :attr:`resource`."""
        self._server.start()
        return self.resource

    def stop(self, timeout: float = 5.0) -> None:
        """Close the listener and every connection; join all threads."""
        self._server.stop(timeout)

    def __enter__(self) -> SimMiniCircuitsAttenuator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def connections(self) -> int:
        """Number of open client connections."""
        return self._server.connections

    def _reply(self, raw: bytes, session: None) -> bytes | None:
        """One line (without its LF) -> the reply line with CR LF, or None for no reply."""
        try:
            reply = self.handle(raw.decode("ascii"))
        except UnicodeDecodeError:
            reply = UNKNOWN_REPLY
        return None if reply is None else reply.encode("ascii") + b"\r\n"


def _format_db(value: float) -> str:
    return f"{value:.2f}"


def serve(
    world: World, config: Any, console: str, faults: Faults | None = None, port: int = 0
) -> tuple[str, Callable[[], None]]:
    """The simulated bench's entry point (see :mod:`fivegbench.drivers.registry`): a unit of the
    model ``config.options["model"]`` (:data:`DEFAULT_MODEL`, single-channel, when not given) with
    the serial ``config.serial``, started on an ephemeral port. ``console`` is not used: the unit
    is reached over TCP."""
    unit = SimMiniCircuitsAttenuator(
        world,
        model=str(config.options.get("model") or DEFAULT_MODEL),
        serial=config.serial or "12345678901",
        faults=faults,
        port=port,
    )
    return unit.start(), unit.stop
