"""UE modem profiles: a 5G modem's AT dialect described as data (``instruments/profiles/ue-*.yaml``:
a UE profile's file name starts with ``ue-``; see :mod:`fivegbench.drivers.profiles`).

A lab adapts :class:`~fivegbench.drivers.ue.modem.UeModem` to its modem by writing a profile: the
command lines to send, the final result codes, the unsolicited result codes (URCs) to ignore, and
the regular expressions that read values out of the information responses. No code.

AT framing, as the driver relies on it (ITU-T V.250, summarised by the Quectel RM5xxQ/RG50xQ AT
manuals, section "AT Command Syntax"): a command line starts with ``AT`` (or ``at``) and ends with
CR (S3 = 13); the modem ignores an LF after it; information responses and result codes arrive as
``<CR><LF>text<CR><LF>``; every command ends with exactly one final result code, ``OK``, ``ERROR``
or ``+CME ERROR: <err>`` (TS 27.007 §9.2; ``<err>`` is a number after ``AT+CMEE=1`` and a text
after ``AT+CMEE=2``). With echo on (``ATE1``, the power-up default) the modem first echoes the
command line; the driver strips that echo whether or not ``ATE0`` has taken effect yet.

Every regular expression is compiled with ``re.MULTILINE`` and matched against text the transport
has cleaned (line endings turned into ``\\n``). Final result codes and URC patterns are matched
against one line at a time. Do not use inline global flags such as ``(?m)``: the final result
codes are combined into one alternation.

Reading regexes (``responses.signal``) use named groups: ``rsrp``, ``rsrq``, ``sinr`` (SS-RSRP in
dBm, SS-RSRQ and SS-SINR in dB), ``band``, ``arfcn``, ``pci``. A group listed in
``responses.scales`` holds a TS 27.007 ``+CESQ`` index, not a value: the value is
``offset + step * index`` for an index in ``0..max_index``. A value listed in
``responses.not_known`` (255 for ``+CESQ``, ``-`` for Quectel's ``+QENG``) reads as None.

Every text the driver sends (``on_open`` and the ``commands``) may contain no control character
at all, and must start with ``AT``: a CR in one would end the command line early and start a
second one (``AT+CFUN=1\\rAT+CFUN=0``).

Sources of the AT facts the shipped profiles and the simulated modem rely on ([U]: not verified
against the primary text):

* Framing, echo, ``AT+CFUN`` (0 minimum, 1 full, 4 RF off; up to 15 s), ``AT+CMEE`` (0 ``ERROR``,
  1 ``+CME ERROR: 10``, 2 ``+CME ERROR: SIM not inserted``), ``ATI``/``+CGMI``/``+CGMM``/``+CGMR``
  /``+CGSN``: Quectel 5G module AT Commands Manual §§1.3-1.4, 2.1-2.9, 2.16, 2.22, 2.23 (which
  cite V.250 and TS 27.007).
* ``+CME ERROR`` numbers (30 = no network service, ...): the TS 27.007 §9.2.1 table as reproduced
  in the Quectel EC25/EC21 AT manual.
* ``+COPS?`` (``+COPS: 0`` when no operator; ``<AcT>`` 11 = NR connected to a 5GCN), ``+C5GREG``
  (``<stat>`` 0/1/2/3/4/5/8; URC ``+C5GREG: <stat>`` for n=1), ``+CEREG``, ``+QENG`` (NR5G-SA field
  order, ``<state>`` SEARCH/LIMSRV/NOCONN/CONNECT, NR RSRP -140..-44 dBm, RSRQ -20..-3 dB, SINR
  -23..40 dB, ``-`` = invalid, bandwidth and SCS codes): Quectel RG50xQ&RM5xxQ Series Network
  Application Note §§3.1.1, 3.1.4, 3.1.5, 3.2.2 (its examples are used in the tests).
* ``+CESQ`` Rel-15 fields ``<ss_rsrq>,<ss_rsrp>,<ss_sinr>`` after ``<rsrp>``, 255 = not known:
  modem manuals that point to TS 27.007 §8.69 (Fibocom FM350, MeiG) and parsers written from them;
  that 27.007 uses the TS 38.133 tables unchanged is [U] (27.007's own table not read).
* TS 38.133 Table 10.1.6.1-1 (SS-RSRP_0 < -156 dBm, SS-RSRP_n = [-157 + n, -156 + n) dBm,
  SS-RSRP_126 >= -31 dBm) and Table 10.1.16.1-1 (SS-SINR_0 < -23 dB, 0.5 dB steps, SS-SINR_127 >=
  40 dB), as reproduced in Microsoft's WWAN_SIGNAL_STATE_EXT documentation; SS-RSRQ reporting
  range -43..20 dB in 0.5 dB steps (38.133 §10.1.11.1 text), from which SS-RSRQ_0..127 follows
  [U: the table itself not read].
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from pydantic import Field, field_validator, model_validator

from fivegbench.drivers.profiles import (
    DEFAULT_DIRS,
    ProfileModel,
    check_combinable,
    checked_lines,
    checked_regex,
    checked_regex_with_group,
    checked_regexes,
    compile_regex,
    control_problem,
    load_profile_file,
)
from fivegbench.plan.yamlsafe import at

#: Named groups a ``responses.signal`` regex may define.
READING_GROUPS = frozenset({"rsrp", "rsrq", "sinr", "band", "arfcn", "pci"})
#: Groups that may hold an index with a declared scale instead of a value.
SCALED_GROUPS = frozenset({"rsrp", "rsrq", "sinr"})
#: The AT command line prefix (V.250: "AT" or "at", not mixed case).
_PREFIX = re.compile(r"(?:AT|at)")


def _command_problem(text: str) -> str | None:
    """Why ``text`` may not be sent to the modem as one command line, or None."""
    problem = control_problem(text, "an AT command line")
    if problem is not None:
        return problem
    if not _PREFIX.match(text):
        return f"{text!r} is not an AT command line (it must start with AT)"
    return None


class IndexScale(ProfileModel):
    """How a reported index maps to a value: ``offset + step * index`` for ``0 <= index <= max_index``.

    For the TS 38.133 reporting tables behind ``+CESQ`` (see ``ue-3gpp.yaml``) ``offset`` is the
    lower edge of the interval index 0 stands for, so the value is the lower edge of the reported
    interval and the true value lies within ``[value, value + step)``. Index 0 and ``max_index``
    are open-ended (below the lowest edge, at or above the highest).
    """

    offset: float
    step: float = Field(gt=0)
    max_index: int = Field(ge=0)

    def value(self, index: int) -> float:
        return self.offset + self.step * index


class Commands(ProfileModel):
    """Command lines (sent as written; no templates). Lists run in order, replies concatenated."""

    check: str = Field(default="AT", description="a command answered OK when the modem is there")
    identity: list[str] = Field(min_length=1, description="e.g. [ATI] or [AT+CGMI, AT+CGMM, AT+CGMR]")
    registration: list[str] = Field(min_length=1, description="e.g. [AT+C5GREG?, AT+COPS?]")
    signal: list[str] = Field(min_length=1, description='e.g. [AT+CESQ] or [AT+QENG="servingcell"]')
    radio_on: str = Field(description="full functionality, e.g. AT+CFUN=1")
    radio_off: str = Field(description="RF off, e.g. AT+CFUN=0 (minimum) or AT+CFUN=4 (flight mode)")

    @field_validator("check", "radio_on", "radio_off")
    @classmethod
    def _one_line(cls, value: str) -> str:
        problem = _command_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("identity", "registration", "signal")
    @classmethod
    def _lines(cls, value: list[str]) -> list[str]:
        return checked_lines(value, _command_problem)


class FinalResults(ProfileModel):
    """Regexes of the final result codes, each matched against one whole line."""

    ok: str = "^OK$"
    error: str = "^ERROR$"
    cme_error: str = Field(
        default=r"^\+CME ERROR: ?(?P<err>.*\S)$",
        description="with a group named 'err': a number (AT+CMEE=1) or a text (AT+CMEE=2)",
    )

    @field_validator("ok", "error")
    @classmethod
    def _regex(cls, value: str) -> str:
        return checked_regex(value)

    @field_validator("cme_error")
    @classmethod
    def _cme_regex(cls, value: str) -> str:
        return checked_regex_with_group(value, "err", "cme_error")

    @model_validator(mode="after")
    def _combine(self) -> FinalResults:
        check_combinable((self.ok, self.error, self.cme_error), "the final result codes")
        return self


class Responses(ProfileModel):
    """Regexes that read values out of information responses."""

    registration: str = Field(description="regex with a group named 'stat'")
    registered: list[str] = Field(min_length=1, description="values of 'stat' that mean registered")
    signal: list[str] = Field(min_length=1, description="regexes with groups among READING_GROUPS")
    scales: dict[str, IndexScale] = Field(default={}, description="groups holding an index, by name")
    not_known: list[str] = Field(default=[], description="raw values meaning not known / not detectable")

    @field_validator("registration")
    @classmethod
    def _registration_regex(cls, value: str) -> str:
        return checked_regex_with_group(value, "stat", "registration")

    @field_validator("signal")
    @classmethod
    def _signal_regexes(cls, value: list[str]) -> list[str]:
        for index, pattern in enumerate(value):
            try:
                groups = set(compile_regex(pattern).groupindex)
            except ValueError as exc:
                raise at(index, str(exc)) from None
            unknown = groups - READING_GROUPS
            if unknown:
                known = ", ".join(sorted(READING_GROUPS))
                raise at(index, f"unknown group(s) {', '.join(sorted(unknown))} (known: {known})")
        return value

    @model_validator(mode="after")
    def _scales_used(self) -> Responses:
        captured: set[str] = set()
        for pattern in self.signal:
            captured |= set(compile_regex(pattern).groupindex)
        for name in self.scales:
            if name not in SCALED_GROUPS:
                raise at(("scales", name), f"only {', '.join(sorted(SCALED_GROUPS))} can have a scale")
            if name not in captured:
                raise at(("scales", name), f"no signal regex captures the group '{name}'")
        return self


class Timeouts(ProfileModel):
    """Seconds to wait for the final result code."""

    command: float = Field(default=5.0, gt=0, description="an ordinary command")
    radio: float = Field(default=30.0, gt=0, description="AT+CFUN (Quectel: up to 15 s, network-bound)")


class UeProfile(ProfileModel):
    """One UE modem's AT dialect."""

    name: str
    description: str = ""
    line_ending: str = Field(default="\r", description="CR (V.250 S3 = 13); CRLF also works")
    on_open: list[str] = Field(default=[], description="commands sent once on open, e.g. ATE0")
    urcs: list[str] = Field(default=[], description="regexes of unsolicited result codes to drop")
    results: FinalResults = FinalResults()
    timeouts: Timeouts = Timeouts()
    commands: Commands
    responses: Responses

    @field_validator("line_ending")
    @classmethod
    def _line_ending(cls, value: str) -> str:
        if value not in ("\r", "\r\n"):
            raise ValueError(f"line_ending must be CR (V.250 S3) or CRLF, not {value!r}")
        return value

    @field_validator("on_open")
    @classmethod
    def _on_open(cls, value: list[str]) -> list[str]:
        return checked_lines(value, _command_problem)

    @field_validator("urcs")
    @classmethod
    def _urcs(cls, value: list[str]) -> list[str]:
        return checked_regexes(value)

    def regex(self, pattern: str) -> re.Pattern[str]:
        """Compile one of this profile's regexes the way the driver uses them."""
        return compile_regex(pattern)


def load_ue_profile(name_or_path: str | Path, search_dirs: Sequence[Path] = DEFAULT_DIRS) -> UeProfile:
    """Load a UE profile by name (``ue-3gpp`` -> the first ``<dir>/ue-3gpp.yaml`` of
    ``search_dirs``; only files whose name starts with ``ue-`` are UE profiles) or by path.

    The file is read with the bounded loader plans use (:mod:`fivegbench.drivers.profiles`). Raises
    PlanError (``file:line:col: key: message``) for an unreadable or invalid file, BenchError when
    no UE profile of that name exists; either is one line.
    """
    return load_profile_file(UeProfile, name_or_path, "ue", search_dirs)
