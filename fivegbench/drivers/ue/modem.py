"""The UE modem driver: a 5G modem on a serial line speaking AT commands, described by a
:class:`~fivegbench.drivers.ue.profile.UeProfile`.

Every command is one line. The reply is read until a final result code (``OK``, ``ERROR``,
``+CME ERROR: <err>``); the echoed command line and any unsolicited result code (URC) interleaved
anywhere before the final result code are dropped (URCs are logged at debug level); what remains
is the information response. ``ERROR`` and ``+CME ERROR`` raise
:class:`~fivegbench.errors.InstrumentError` with the modem's own words (and the TS 27.007 §9.2
meaning of a numeric ``<err>``); no final result code in time raises InstrumentError quoting what
was received.

No line the driver sends may contain a control character, whatever its origin: a CR would end
the command line and start another one. Such a line raises InstrumentError naming the profile
field it came from, and nothing is sent. Commands of one operation (``identity``, ``reading``)
are all checked before the first is sent.

A URC that arrives after a final result code stays buffered in the transport and is dropped from
the next command's reply. A command that timed out may still answer later; :meth:`UeModem.reopen`
starts afresh.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from typing import Any

from fivegbench.drivers.ue.profile import UeProfile
from fivegbench.errors import ConnectionLost, InstrumentError
from fivegbench.safetext import control_character
from fivegbench.transport.base import StreamTransport

log = logging.getLogger(__name__)

#: TS 27.007 §9.2.1, general errors (``+CME ERROR: <err>``). Numbers and texts as printed by the
#: Quectel EC25/RM5xx AT manuals, which reproduce the 27.007 table.
CME_ERRORS: dict[int, str] = {
    0: "phone failure",
    1: "no connection to phone",
    2: "phone-adaptor link reserved",
    3: "operation not allowed",
    4: "operation not supported",
    5: "PH-SIM PIN required",
    6: "PH-FSIM PIN required",
    7: "PH-FSIM PUK required",
    10: "SIM not inserted",
    11: "SIM PIN required",
    12: "SIM PUK required",
    13: "SIM failure",
    14: "SIM busy",
    15: "SIM wrong",
    16: "incorrect password",
    17: "SIM PIN2 required",
    18: "SIM PUK2 required",
    20: "memory full",
    21: "invalid index",
    22: "not found",
    23: "memory failure",
    24: "text string too long",
    25: "invalid characters in text string",
    26: "dial string too long",
    27: "invalid characters in dial string",
    30: "no network service",
    31: "network timeout",
    32: "network not allowed - emergency calls only",
    40: "network personalization PIN required",
    41: "network personalization PUK required",
    42: "network subset personalization PIN required",
    43: "network subset personalization PUK required",
    44: "service provider personalization PIN required",
    45: "service provider personalization PUK required",
    46: "corporate personalization PIN required",
    47: "corporate personalization PUK required",
    100: "unknown",
}
_CME_CODES = {text.lower(): code for code, text in CME_ERRORS.items()}

#: Reading groups -> UeReading fields.
_FIELDS = {
    "rsrp": "rsrp_dbm",
    "rsrq": "rsrq_db",
    "sinr": "sinr_db",
    "band": "band",
    "arfcn": "arfcn",
    "pci": "pci",
}
_BAND = re.compile(r"[nN]?(\d{1,3})")


@dataclass(frozen=True)
class UeReading:
    """What the modem reports about its serving NR cell; None where the profile reads nothing
    (or the modem reports the value as not known)."""

    rsrp_dbm: float | None = None
    """SS-RSRP, dBm (TS 38.215 §5.1)."""
    rsrq_db: float | None = None
    """SS-RSRQ, dB (TS 38.215 §5.1)."""
    sinr_db: float | None = None
    """SS-SINR, dB (TS 38.215 §5.1)."""
    band: str | None = None
    """NR operating band, e.g. ``n78``."""
    arfcn: int | None = None
    """NR-ARFCN the modem reports for the cell."""
    pci: int | None = None
    """Physical cell identity."""


class UeModem:
    """A 5G modem driven with AT commands. The constructor does no I/O.

    ``timeout`` (seconds) bounds an ordinary command; None takes the profile's
    ``timeouts.command``. ``AT+CFUN`` waits up to ``timeouts.radio``.
    """

    def __init__(
        self,
        transport: StreamTransport,
        profile: UeProfile,
        role: str = "ue",
        timeout: float | None = None,
    ) -> None:
        self.transport = transport
        self.profile = profile
        self.role = role
        self.timeout = profile.timeouts.command if timeout is None else timeout
        self.radio_timeout = max(self.timeout, profile.timeouts.radio)
        results = profile.results
        self._ok = profile.regex(results.ok)
        self._error = profile.regex(results.error)
        self._cme = profile.regex(results.cme_error)
        # A final result code is a whole line: wait for its line ending, so that "+CME ERROR: 3"
        # is not taken for the first characters of "+CME ERROR: 30".
        self._final = re.compile(
            "|".join(f"(?:{p})\n" for p in (results.ok, results.error, results.cme_error)), re.MULTILINE
        )
        self._urcs = [profile.regex(p) for p in profile.urcs]
        self._registration = profile.regex(profile.responses.registration)
        self._signal = [profile.regex(p) for p in profile.responses.signal]

    # -- session -----------------------------------------------------------------------------
    def open(self) -> None:
        """Send the profile's ``on_open`` commands (e.g. ``ATE0``), then check that ``AT`` is
        answered ``OK``. The transport must be open."""
        commands = [(f"on_open[{n}]", command) for n, command in enumerate(self.profile.on_open)]
        commands.append(("commands.check", self.profile.commands.check))
        self._run(commands)
        log.info("%s: modem answers", self.role)

    def reopen(self) -> None:
        """Close the link, open it again and run :meth:`open`: after a reset link or a hung reply."""
        self.transport.close()
        self.transport.open()
        self.open()

    def close(self) -> None:
        """Release the transport."""
        self.transport.close()

    # -- readings ----------------------------------------------------------------------------
    def identity(self) -> str:
        """A one-line identity for the record: the identity commands' information lines, joined
        with ``, `` (e.g. ``Quectel, RM500Q-GL, Revision: RM500QGLABR11A06M4G``)."""
        commands = self.profile.commands.identity
        replies = self._run([(f"commands.identity[{n}]", c) for n, c in enumerate(commands)])
        lines = [line for reply in replies for line in reply]
        if not lines:
            raise InstrumentError(self.role, " / ".join(commands), None, "the modem gave no identity")
        return ", ".join(lines)

    def idn(self) -> str:
        """:meth:`identity`, under the name the other drivers use for the record."""
        return self.identity()

    def registration_text(self) -> str:
        """The registration replies in the modem's own words, lines joined with ``; ``."""
        return self._registration_state()[1]

    def registered(self) -> bool:
        """Whether the modem is registered (the ``stat`` group is one of ``responses.registered``)."""
        return self._registration_state()[0]

    def require_registered(self) -> str:
        """Return the registration text; raise InstrumentError with it when not registered."""
        registered, text = self._registration_state()
        if not registered:
            commands = " / ".join(self.profile.commands.registration)
            raise InstrumentError(self.role, commands, None, f"not registered: {text}")
        return text

    def reading(self) -> UeReading:
        """SS-RSRP, SS-RSRQ, SS-SINR, band, ARFCN and PCI as the profile reads them."""
        commands = self.profile.commands.signal
        replies = self._run([(f"commands.signal[{n}]", c) for n, c in enumerate(commands)])
        text = "\n".join(line for reply in replies for line in reply)
        raw: dict[str, str] = {}
        for pattern in self._signal:
            match = pattern.search(text)
            if match is not None:
                raw.update({k: v for k, v in match.groupdict().items() if v is not None})
        label = " / ".join(commands)
        if not raw:
            raise InstrumentError(self.role, label, None, f"no reading in reply {text!r}")
        responses = self.profile.responses
        values: dict[str, Any] = {}
        for group, value_text in raw.items():
            value_text = value_text.strip()
            if value_text in responses.not_known:
                continue
            try:
                values[_FIELDS[group]] = self._convert(group, value_text)
            except ValueError as exc:
                raise InstrumentError(self.role, label, None, f"cannot read {group}: {exc}") from None
        return UeReading(**values)

    # -- settings ----------------------------------------------------------------------------
    def set_radio(self, on: bool) -> None:
        """Full functionality (``commands.radio_on``) or RF off (``commands.radio_off``)."""
        field = "commands.radio_on" if on else "commands.radio_off"
        command = self.profile.commands.radio_on if on else self.profile.commands.radio_off
        self._run([(field, command)], self.radio_timeout)

    # -- internals ---------------------------------------------------------------------------
    def _registration_state(self) -> tuple[bool, str]:
        commands = self.profile.commands.registration
        replies = self._run([(f"commands.registration[{n}]", c) for n, c in enumerate(commands)])
        lines = [line for reply in replies for line in reply]
        words = "; ".join(lines)
        match = self._registration.search("\n".join(lines))
        if match is None:
            raise InstrumentError(
                self.role, " / ".join(commands), None, f"no registration state in {words!r}"
            )
        return match.group("stat") in self.profile.responses.registered, words

    def _convert(self, group: str, text: str) -> float | int | str:
        scale = self.profile.responses.scales.get(group)
        if scale is not None:
            if not text.isdigit():
                raise ValueError(f"index {text!r} is not a whole number")
            index = int(text)
            if index > scale.max_index:
                raise ValueError(f"index {index} is outside 0..{scale.max_index}")
            return scale.value(index)
        if group in ("rsrp", "rsrq", "sinr"):
            value = float(text)
            if not math.isfinite(value):
                raise ValueError(f"{text!r} is not a finite number")
            return value
        if group in ("arfcn", "pci"):
            if not text.isdigit():
                raise ValueError(f"{text!r} is not a whole number")
            return int(text)
        band = _BAND.fullmatch(text)
        if band is None:
            raise ValueError(f"{text!r} is not an NR band")
        return f"n{int(band.group(1))}"

    def _check(self, field: str, command: str) -> None:
        """Refuse a line holding a control character before anything is sent."""
        found = control_character(command)
        if found is not None:
            raise InstrumentError(
                self.role, field, None, f"refused to send {command!r}: it contains {found}; nothing was sent"
            )

    def _run(self, commands: list[tuple[str, str]], timeout: float | None = None) -> list[list[str]]:
        """Check every (field, command) first, then send them in order; each one's information lines."""
        for field, command in commands:
            self._check(field, command)
        return [self._command(command, timeout) for _, command in commands]

    def _command(self, command: str, timeout: float | None = None) -> list[str]:
        """Send one command line; return its information response lines (no echo, no URC)."""
        timeout = self.timeout if timeout is None else timeout
        self.transport.send_line(command)
        try:
            text = self.transport.read_until(self._final, timeout)
        except TimeoutError as exc:
            message = f"no final result code (OK, ERROR, +CME ERROR) within {timeout:g} s ({exc})"
            raise ConnectionLost(self.role, command, None, message) from exc
        end = self._final.search(text)
        if end is None:  # pragma: no cover - read_until returns only once the pattern matched
            raise InstrumentError(self.role, command, None, f"no final result code in {text!r}")
        if text[end.end() :].strip():
            log.debug("%s: %r after the final result code ignored", self.role, text[end.end() :])
        final = end.group().strip()
        lines = [line.strip() for line in text[: end.start()].split("\n")]
        info: list[str] = []
        echo = command.strip()
        for line in lines:
            if not line:
                continue
            if any(urc.search(line) for urc in self._urcs):
                log.debug("%s: unsolicited %r dropped (in the reply to %s)", self.role, line, command)
            elif line == echo:
                echo = ""  # the echo of the command line, once
            else:
                info.append(line)
        if self._ok.search(final):
            return info
        cme = self._cme.search(final)
        if cme is not None:
            err = cme.group("err").strip()
            code = int(err) if err.isdigit() else _CME_CODES.get(err.lower())
            meaning = CME_ERRORS.get(code) if code is not None and err.isdigit() else None
            message = f"{final} ({meaning})" if meaning else final
            raise InstrumentError(self.role, command, code, message)
        raise InstrumentError(self.role, command, None, final)
