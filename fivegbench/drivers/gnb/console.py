"""The gNB console driver: logs in and drives a vendor CLI described by a :class:`GnbProfile`.

Every command is sent as one line; the reply is read up to the next prompt, the echoed command
line is stripped, and a reply matching the profile's error regex raises
:class:`~fivegbench.errors.InstrumentError`. Values are validated before anything is sent:
a rejected value raises ValueError and nothing reaches the gNB.

No line the driver sends may contain a control character, whatever its origin (bench options,
profile templates and mappings, plan values): a CR or LF would start a second command, so
``admin\\r\\nrf on`` as a password would switch RF on. Such a line raises InstrumentError naming
the field it came from, and nothing is sent.
"""

from __future__ import annotations

import logging
import math
import re
import time
from dataclasses import dataclass
from typing import Any

from fivegbench.drivers.gnb.profile import GnbProfile, cell_field
from fivegbench.errors import ConnectionLost, InstrumentError
from fivegbench.nr.arfcn import arfcn_to_hz, hz_to_arfcn
from fivegbench.nr.bandwidth import FR1_MAX_HZ, n_rb
from fivegbench.safetext import control_character
from fivegbench.transport.base import StreamTransport

log = logging.getLogger(__name__)

_BAND = re.compile(r"n\d{1,3}", re.IGNORECASE)
_SPECIAL_SLOT = re.compile(r"(\d+):(\d+):(\d+)")


@dataclass(frozen=True)
class CellStatus:
    """The cell as the gNB reports it (``show cell``); None where the profile reads nothing."""

    rf_on: bool
    tx_power_dbm: float | None = None
    band: str | None = None
    center_frequency_hz: float | None = None
    arfcn: int | None = None
    bandwidth_hz: float | None = None
    scs_hz: float | None = None
    tdd_pattern: str | None = None
    special_slot: str | None = None
    test_model: str | None = None


class LoginRefused(InstrumentError):
    """The console refused the credentials. Never retried: a retry could lock the account."""


def _finite(value: float, what: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a number, not {value!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"{what} must be finite, not {value!r}")
    return number


class GnbConsole:
    """A gNB driven through its console CLI. The constructor does no I/O.

    ``timeout`` (seconds) bounds an ordinary command; None takes the profile's
    ``timeouts.command``. RF on/off and TX power changes wait up to ``timeouts.long``.
    """

    def __init__(
        self,
        transport: StreamTransport,
        profile: GnbProfile,
        user: str,
        password: str,
        role: str = "gnb",
        timeout: float | None = None,
    ) -> None:
        self.transport = transport
        self.profile = profile
        self.user = user
        self._password = password
        self.role = role
        self.timeout = profile.timeouts.command if timeout is None else timeout
        self.long_timeout = max(self.timeout, profile.timeouts.long)
        self._prompt = profile.regex(profile.prompt)
        self._error = profile.regex(profile.error)
        self._user_prompt = profile.regex(profile.login.user_prompt)
        self._password_prompt = profile.regex(profile.login.password_prompt)
        self._login_failure = profile.regex(profile.login.failure)
        self._logged_in = False

    # -- session -----------------------------------------------------------------------------
    def connect(self) -> None:
        """Log in (or find the console already logged in) and run the profile's ``on_login``.

        Sends a line ending to provoke a prompt (pyserial flushes whatever the console printed
        before the port was opened), answers ``login:`` and ``Password:``, and sends the line
        ending again after ``timeouts.quiet`` of silence while nothing is pending. The password
        is never retried, so a wrong one cannot lock the account.
        """
        self._check("user", self.user)
        self._check("password", self._password, secret=True)
        for n, command in enumerate(self.profile.on_login):
            self._check(f"on_login[{n}]", command)
        timeouts = self.profile.timeouts
        deadline = time.monotonic() + timeouts.login
        expect = {"prompt", "user", "password"}
        password_sent = False
        self.transport.send_line("")
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ConnectionLost(
                    self.role, "<login>", None, f"no console prompt within {timeouts.login:g} s"
                )
            try:
                text = self.transport.read_until(self._login_pattern(expect), min(remaining, timeouts.quiet))
            except TimeoutError:
                if expect == {"prompt", "user", "password"}:
                    self.transport.send_line("")  # nothing pending: provoke a prompt again
                continue
            if password_sent and self._login_failure.search(text):
                raise LoginRefused(self.role, "<login>", None, f"login as {self.user!r} refused")
            kind = self._last_prompt(text, expect)
            if kind == "prompt":
                break
            if kind == "user":
                if password_sent:
                    raise LoginRefused(self.role, "<login>", None, f"login as {self.user!r} refused")
                self.transport.send_line(self.user)
                expect = {"password", "prompt"}
            elif kind == "password":
                self._send_password()
                password_sent = True
                expect = {"prompt", "user"}
        log.info("%s: logged in", self.role)
        self._logged_in = True
        for n, command in enumerate(self.profile.on_login):
            self._command(command, field=f"on_login[{n}]")

    def reopen(self) -> None:
        """Close the link, open it again and log in: after a reset link or a hung session."""
        self.transport.close()
        self.transport.open()
        self.connect()

    def logout(self) -> None:
        """Log out (the profile's ``logout`` command) and wait for the login prompt."""
        command = self.profile.commands.logout
        if command is None:
            return
        self._check("commands.logout", command)
        self.transport.send_line(command)
        try:
            self.transport.read_until(self._user_prompt, self.timeout)
        except TimeoutError as exc:
            raise InstrumentError(self.role, command, None, f"no login prompt after logout: {exc}") from exc

    def close(self) -> None:
        """Release the transport."""
        self.transport.close()

    # -- readings ----------------------------------------------------------------------------
    def version_info(self) -> dict[str, str]:
        """The version groups the profile reads (``model``, ``serial``, ``software``)."""
        command = self.profile.commands.show_version
        reply = self._command(command, field="commands.show_version")
        info: dict[str, str] = {}
        for pattern in self.profile.responses.version:
            match = self.profile.regex(pattern).search(reply)
            if match is not None:
                info.update({k: v for k, v in match.groupdict().items() if v is not None})
        if not info:
            raise InstrumentError(self.role, command, None, f"no version in reply {reply!r}")
        return info

    def version(self) -> str:
        """The gNB software version, e.g. ``2.3.1-sim``."""
        info = self.version_info()
        if "software" not in info:
            raise InstrumentError(self.role, self.profile.commands.show_version, None, "no software version")
        return info["software"]

    def idn(self) -> str:
        """A one-line identity for the record: model, serial and software."""
        info = self.version_info()
        try:
            return self.profile.responses.idn.format(**info)
        except KeyError as exc:
            raise InstrumentError(
                self.role, self.profile.commands.show_version, None, f"reply has no {exc.args[0]}"
            ) from None

    def cell_status(self) -> CellStatus:
        """The cell configuration and RF state as the gNB reports them."""
        command = self.profile.commands.show_cell
        reply = self._command(command, field="commands.show_cell")
        raw: dict[str, str] = {}
        for pattern in self.profile.responses.cell:
            match = self.profile.regex(pattern).search(reply)
            if match is not None:
                raw.update({k: v for k, v in match.groupdict().items() if v is not None})
        if "rf" not in raw:
            raise InstrumentError(self.role, command, None, f"no RF state in reply {reply!r}")
        values: dict[str, Any] = {}
        try:
            for group, text in raw.items():
                name, scale = cell_field(group)
                if name == "rf":
                    on_values = {v.upper() for v in self.profile.responses.rf_on_values}
                    values["rf_on"] = text.strip().upper() in on_values
                elif name.endswith("_hz"):
                    values[name] = float(text) * scale
                elif name == "tx_power_dbm":
                    values[name] = float(text)
                elif name == "arfcn":
                    values[name] = int(text)
                elif name == "test_model":
                    reverse = {cli: name for name, cli in self.profile.limits.test_models.items()}
                    values[name] = reverse.get(text, text)
                else:
                    values[name] = text
        except ValueError as exc:
            raise InstrumentError(self.role, command, None, f"cannot parse reply: {exc}") from None
        return CellStatus(**values)

    def alarms(self) -> list[str]:
        """Active alarms, one string each; empty when none are active."""
        command = self.profile.commands.show_alarms
        reply = self._command(command, field="commands.show_alarms")
        responses = self.profile.responses
        if self.profile.regex(responses.alarms_none).search(reply):
            return []
        line = self.profile.regex(responses.alarm_line)
        found = [m.group("alarm") if "alarm" in line.groupindex else m.group(0) for m in line.finditer(reply)]
        if not found:
            raise InstrumentError(self.role, command, None, f"unrecognised alarms reply {reply!r}")
        return found

    # -- settings ----------------------------------------------------------------------------
    def configure_cell(
        self,
        band: str,
        *,
        bandwidth_hz: float,
        scs_hz: float,
        center_frequency_hz: float | None = None,
        arfcn: int | None = None,
        tdd_pattern: str | None = None,
        special_slot: str | None = None,
    ) -> None:
        """Configure the carrier (RF must be off on most gNBs). Give the centre frequency or the
        NR-ARFCN, not both. Everything is validated before the first command is sent."""
        commands = self.profile.commands
        limits = self.profile.limits
        if not isinstance(band, str) or not _BAND.fullmatch(band):
            raise ValueError(f"band must look like n78, not {band!r}")
        band = band.lower()
        if (center_frequency_hz is None) == (arfcn is None):
            raise ValueError("give exactly one of center_frequency_hz and arfcn")
        if arfcn is not None:
            if isinstance(arfcn, bool) or not isinstance(arfcn, int):
                raise ValueError(f"arfcn must be an integer, not {arfcn!r}")
            center_frequency_hz = arfcn_to_hz(arfcn)
        elif center_frequency_hz is not None:
            center_frequency_hz = _finite(center_frequency_hz, "centre frequency")
            arfcn = hz_to_arfcn(center_frequency_hz)
        else:
            raise ValueError("give exactly one of center_frequency_hz and arfcn")
        bandwidth_hz = _finite(bandwidth_hz, "bandwidth")
        bandwidth_mhz = round(bandwidth_hz / 5e6) * 5
        if bandwidth_hz <= 0 or abs(bandwidth_mhz * 1e6 - bandwidth_hz) > 1.0:
            raise ValueError(f"bandwidth must be a positive multiple of 5 MHz, not {bandwidth_hz!r} Hz")
        if limits.bandwidths_mhz is not None and bandwidth_mhz not in limits.bandwidths_mhz:
            raise ValueError(f"bandwidth {bandwidth_mhz} MHz is not one of {limits.bandwidths_mhz} MHz")
        scs_hz = _finite(scs_hz, "SCS")
        scs_khz = scs_hz / 1e3
        if not any(abs(scs_khz - allowed) < 1e-6 for allowed in limits.scs_khz):
            raise ValueError(f"SCS {scs_khz:g} kHz is not one of {limits.scs_khz} kHz")
        n_rb(bandwidth_hz, scs_hz, fr2=center_frequency_hz > FR1_MAX_HZ)  # ValueError if not 3GPP
        tdd_args: dict[str, str] | None = None
        if tdd_pattern is not None or special_slot is not None:
            if tdd_pattern is None or special_slot is None:
                raise ValueError("give tdd_pattern and special_slot together")
            if commands.set_tdd is None:
                raise ValueError(f"profile {self.profile.name} cannot set a TDD pattern")
            if not re.fullmatch(limits.tdd_pattern, tdd_pattern):
                raise ValueError(f"TDD pattern {tdd_pattern!r} does not match {limits.tdd_pattern!r}")
            slot = _SPECIAL_SLOT.fullmatch(special_slot)
            if slot is None or sum(int(x) for x in slot.groups()) != 14:
                raise ValueError(f"special slot must be D:G:U symbols summing to 14, not {special_slot!r}")
            tdd_args = {"pattern": tdd_pattern, "special": special_slot}

        to_send: list[tuple[str, str]] = []  # (profile field, line)
        if commands.set_band is not None:
            to_send.append(("commands.set_band", commands.set_band.format(band=band)))
        frequency = commands.set_frequency.format(
            arfcn=arfcn,
            center_frequency_hz=center_frequency_hz,
            center_frequency_khz=center_frequency_hz / 1e3,
            center_frequency_mhz=center_frequency_hz / 1e6,
        )
        to_send.append(("commands.set_frequency", frequency))
        to_send.append(("commands.set_scs", commands.set_scs.format(scs_hz=scs_hz, scs_khz=scs_khz)))
        bandwidth = commands.set_bandwidth.format(bandwidth_hz=bandwidth_hz, bandwidth_mhz=bandwidth_mhz)
        to_send.append(("commands.set_bandwidth", bandwidth))
        if tdd_args is not None and commands.set_tdd is not None:
            to_send.append(("commands.set_tdd", commands.set_tdd.format(**tdd_args)))
        if commands.commit is not None:
            to_send.append(("commands.commit", commands.commit))
        for field, command in to_send:  # all checked before the first is sent
            self._check(field, command)
        for field, command in to_send:
            self._command(command, field=field)

    def set_tx_power(self, dbm: float) -> None:
        """Set the TX power at the antenna connector (dBm); returns once the PA has settled."""
        dbm = _finite(dbm, "TX power")
        low, high = self.profile.limits.tx_power_dbm
        if not low <= dbm <= high:
            raise ValueError(f"TX power {dbm:g} dBm is outside {low:g}..{high:g} dBm")
        self._command(
            self.profile.commands.set_tx_power.format(dbm=dbm), self.long_timeout, "commands.set_tx_power"
        )

    def set_test_model(self, name: str) -> None:
        """Select an NR test model by its 3GPP name (e.g. ``NR-FR1-TM1.1``)."""
        models = self.profile.limits.test_models
        if name not in models:
            raise ValueError(f"test model {name!r} is not one of {', '.join(models)}")
        self._command(
            self.profile.commands.set_test_model.format(name=models[name]), field=f"limits.test_models.{name}"
        )

    def rf_on(self) -> None:
        """Enable RF transmission; returns once the PA has ramped up."""
        self._command(self.profile.commands.rf_on, self.long_timeout, "commands.rf_on")

    def rf_off(self, timeout: float | None = None) -> None:
        """Disable RF transmission; wait up to ``timeout`` (default ``timeouts.long``) for the prompt."""
        self._command(
            self.profile.commands.rf_off, self.long_timeout if timeout is None else timeout, "commands.rf_off"
        )

    def resync(self, quiet_s: float = 0.3) -> None:
        """Come back to a fresh prompt after an interrupted command.

        Sends an empty line, then discards prompts (and whatever came before them: the rest of
        the interrupted command's output) until the console has been quiet for ``quiet_s``.
        The CLI answers in order, so the last prompt read belongs to the empty line. A login
        prompt instead (the session timed out, or the link was replaced) logs in again.
        """
        self.transport.send_line("")
        wait = self.long_timeout  # the interrupted command may still be settling
        any_prompt = self._login_pattern({"prompt", "user", "password"})
        seen = False
        while True:
            try:
                text = self.transport.read_until(any_prompt, wait)
            except TimeoutError as exc:
                if seen:
                    return
                raise InstrumentError(self.role, "<resync>", None, f"no prompt ({exc})") from exc
            if self._last_prompt(text, {"prompt", "user", "password"}) != "prompt":
                if self._logged_in:  # the session ended under us: an idle timeout, a reset link
                    log.warning("%s: the console asks for a login again; logging in", self.role)
                self.connect()
                return
            seen, wait = True, quiet_s

    # -- internals ---------------------------------------------------------------------------
    def _check(self, field: str, text: str, secret: bool = False) -> None:
        """Refuse a line holding a control character before anything is sent."""
        found = control_character(text)
        if found is not None:
            shown = "" if secret else f" {text!r}"
            raise InstrumentError(
                self.role, field, None, f"refused to send{shown}: it contains {found}; nothing was sent"
            )

    def _command(self, command: str, timeout: float | None = None, field: str | None = None) -> str:
        """Send one command line, wait for the prompt; return the reply without echo or prompt.

        ``field`` names where the line came from, for the error if it holds a control character.
        """
        timeout = self.timeout if timeout is None else timeout
        self._check(field or "command", command)
        self.transport.send_line(command)
        try:
            text = self.transport.read_until(self._prompt, timeout)
        except TimeoutError as exc:
            message = f"no prompt within {timeout:g} s ({exc})"
            raise ConnectionLost(self.role, command, None, message) from exc
        prompts = list(self._prompt.finditer(text))
        body = text[: prompts[-1].start()] if prompts else text
        lines = body.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        if self.profile.echo:
            while lines and not lines[0].strip():
                lines.pop(0)
            if lines and lines[0].rstrip().endswith(command.strip()):
                lines.pop(0)
        reply = "\n".join(lines).strip("\n")
        error = self._error.search(reply)
        if error is not None:
            raise InstrumentError(self.role, command, None, error.group("message").strip())
        return reply

    def _send_password(self) -> None:
        send_secret = getattr(self.transport, "send_secret", None)
        if callable(send_secret):
            send_secret(self._password)  # keeps the password out of io.log
        else:
            self.transport.send_line(self._password)

    def _login_pattern(self, expect: set[str]) -> re.Pattern[str]:
        sources = {
            "prompt": self.profile.prompt,
            "user": self.profile.login.user_prompt,
            "password": self.profile.login.password_prompt,
        }
        return re.compile("|".join(f"(?:{sources[k]})" for k in sorted(expect)), re.MULTILINE)

    def _last_prompt(self, text: str, expect: set[str]) -> str:
        """Which expected prompt ends ``text`` (the one matching last)."""
        patterns = {"prompt": self._prompt, "user": self._user_prompt, "password": self._password_prompt}
        best, best_end = "", -1
        for kind in sorted(expect):
            for match in patterns[kind].finditer(text):
                if match.end() > best_end:
                    best, best_end = kind, match.end()
        return best
