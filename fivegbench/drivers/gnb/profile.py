"""gNB console profiles: a vendor's CLI dialect described as data (``instruments/profiles/*.yaml``,
every file there whose name does not start with ``ue-``; see :mod:`fivegbench.drivers.profiles`).

A lab adapts :class:`~fivegbench.drivers.gnb.console.GnbConsole` to its gNB by writing a profile:
the prompts, how to log in, how errors look, the command templates and the regular expressions
that read values out of replies. No code.

Every regular expression is compiled with ``re.MULTILINE`` and matched against console text that
the transport has already cleaned (VT100 sequences stripped, line endings turned into ``\\n``).
Do not use inline global flags such as ``(?m)``: prompts are combined into one alternation while
logging in. A prompt regex must match the whole prompt: console text arrives in pieces, so an
optional tail (``login: ?``) may match before its last character has arrived.

Every text the driver sends (the ``commands`` templates, ``on_login`` and the values of
``limits.test_models``) may contain no control character at all: a CR or LF in one would send a
second command (``rf on``) the driver never meant to.

Reading regexes (``responses.version``, ``responses.cell``) use named groups. A cell group named
``<field>_hz``, ``_khz``, ``_mhz`` or ``_ghz`` gives ``<field>_hz`` scaled to Hz, so a CLI that
prints kHz needs only a different group name.
"""

from __future__ import annotations

import re
import string
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

#: Fields each command template may use (``str.format`` syntax, e.g. ``{dbm:.1f}``).
COMMAND_FIELDS: dict[str, frozenset[str]] = {
    "show_version": frozenset(),
    "show_cell": frozenset(),
    "show_alarms": frozenset(),
    "set_band": frozenset({"band"}),
    "set_frequency": frozenset(
        {"arfcn", "center_frequency_hz", "center_frequency_khz", "center_frequency_mhz"}
    ),
    "set_bandwidth": frozenset({"bandwidth_hz", "bandwidth_mhz"}),
    "set_scs": frozenset({"scs_hz", "scs_khz"}),
    "set_tdd": frozenset({"pattern", "special"}),
    "commit": frozenset(),
    "set_tx_power": frozenset({"dbm"}),
    "set_test_model": frozenset({"name"}),
    "rf_on": frozenset(),
    "rf_off": frozenset(),
    "logout": frozenset(),
}

#: Named groups a ``responses.cell`` regex may define (before unit suffixes are resolved).
CELL_FIELDS = frozenset(
    {
        "band",
        "center_frequency",
        "arfcn",
        "bandwidth",
        "scs",
        "tdd_pattern",
        "special_slot",
        "tx_power_dbm",
        "test_model",
        "rf",
    }
)
FREQUENCY_SUFFIXES = {"_hz": 1.0, "_khz": 1e3, "_mhz": 1e6, "_ghz": 1e9}
VERSION_FIELDS = frozenset({"model", "serial", "software"})


def _template_fields(template: str) -> set[str]:
    try:
        return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as exc:
        raise ValueError(f"invalid template {template!r}: {exc}") from None


def _sendable(text: str) -> str | None:
    """Why ``text`` may not be sent to the console as one line, or None."""
    return control_problem(text, "text sent to the gNB console")


def cell_field(group: str) -> tuple[str, float]:
    """Map a cell regex group name to (CellStatus field, scale to SI)."""
    for suffix, scale in FREQUENCY_SUFFIXES.items():
        if group.endswith(suffix) and group[: -len(suffix)] in CELL_FIELDS:
            return group[: -len(suffix)] + "_hz", scale
    return group, 1.0


class LoginSpec(ProfileModel):
    """How the console asks for credentials and says no."""

    user_prompt: str = Field(description="regex of the user-name prompt, e.g. '^login: '")
    password_prompt: str = Field(description="regex of the password prompt")
    failure: str = Field(description="regex of the rejection message, e.g. 'Login incorrect'")

    @field_validator("user_prompt", "password_prompt", "failure")
    @classmethod
    def _regex(cls, value: str) -> str:
        return checked_regex(value)


class Commands(ProfileModel):
    """Command templates (``str.format``); ``null`` for a step the CLI does not need."""

    show_version: str
    show_cell: str
    show_alarms: str
    set_band: str | None = None
    set_frequency: str
    set_bandwidth: str
    set_scs: str
    set_tdd: str | None = None
    commit: str | None = None
    set_tx_power: str
    set_test_model: str
    rf_on: str
    rf_off: str
    logout: str | None = None

    @field_validator("*")
    @classmethod
    def _one_line(cls, value: str | None) -> str | None:
        problem = None if value is None else _sendable(value)
        if problem:
            raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _fields_known(self) -> Commands:
        for name, allowed in COMMAND_FIELDS.items():
            template = getattr(self, name)
            if template is None:
                continue
            unknown = _template_fields(template) - allowed
            if unknown:
                allowed_text = ", ".join(sorted(allowed)) or "none"
                raise at(name, f"unknown field(s) {', '.join(sorted(unknown))} (allowed: {allowed_text})")
        return self


class Responses(ProfileModel):
    """Regexes that read values out of replies."""

    version: list[str] = Field(description="regexes with groups model, serial, software")
    idn: str = Field(
        default="{model}, serial {serial}, software {software}",
        description="template of the one-line identity built from the version groups",
    )
    cell: list[str] = Field(description="regexes with groups named after CellStatus fields")
    rf_on_values: list[str] = Field(default=["ON"], description="values of the rf group meaning on")
    alarms_none: str = Field(description="regex matching the reply when no alarm is active")
    alarm_line: str = Field(description="regex of one alarm line; group 'alarm' or the whole match")

    @field_validator("version", "cell")
    @classmethod
    def _regex_list(cls, value: list[str]) -> list[str]:
        return checked_regexes(value)  # the error points at the bad item's line

    @field_validator("alarms_none", "alarm_line")
    @classmethod
    def _regex(cls, value: str) -> str:
        return checked_regex(value)

    @model_validator(mode="after")
    def _groups_known(self) -> Responses:
        version_groups: set[str] = set()
        for pattern in self.version:
            version_groups |= set(compile_regex(pattern).groupindex)
        unknown = version_groups - VERSION_FIELDS
        if unknown:
            raise at("version", f"unknown group(s) {', '.join(sorted(unknown))}")
        unused = _template_fields(self.idn) - version_groups
        if unused:
            raise at("idn", f"uses {', '.join(sorted(unused))}, which no version regex captures")
        cell_groups: set[str] = set()
        for pattern in self.cell:
            cell_groups |= {cell_field(g)[0] for g in compile_regex(pattern).groupindex}
        known = (CELL_FIELDS - {"center_frequency", "bandwidth", "scs"}) | {
            "center_frequency_hz",
            "bandwidth_hz",
            "scs_hz",
        }
        unknown = cell_groups - known
        if unknown:
            raise at("cell", f"unknown group(s) {', '.join(sorted(unknown))}")
        if "rf" not in cell_groups:
            raise at("cell", "no regex captures the 'rf' group")
        return self


class Limits(ProfileModel):
    """What the gNB accepts; the driver refuses anything else before sending."""

    tx_power_dbm: tuple[float, float] = Field(description="[min, max] settable TX power, dBm")
    test_models: dict[str, str] = Field(description="3GPP test-model name -> the word the CLI uses")
    bandwidths_mhz: list[float] | None = Field(default=None, description="channel bandwidths, MHz")
    scs_khz: list[float] = Field(default=[15, 30, 60, 120], description="subcarrier spacings, kHz")
    tdd_pattern: str = Field(default=r"[DSU]{1,20}", description="regex a TDD pattern must fullmatch")

    @field_validator("test_models")
    @classmethod
    def _test_models_sendable(cls, value: dict[str, str]) -> dict[str, str]:
        for name, cli_name in value.items():
            problem = _sendable(name)
            if problem:  # not quoted back: the name itself would break the message
                raise ValueError(f"a test-model name {problem}")
            problem = _sendable(cli_name)
            if problem:
                raise at(name, problem)
        return value

    @model_validator(mode="after")
    def _ordered(self) -> Limits:
        low, high = self.tx_power_dbm
        if not low < high:
            raise at("tx_power_dbm", f"min {low:g} is not below max {high:g}")
        try:
            compile_regex(self.tdd_pattern)
        except ValueError as exc:
            raise at("tdd_pattern", str(exc)) from None
        return self


class Timeouts(ProfileModel):
    """Seconds to wait for the prompt."""

    command: float = Field(default=10.0, gt=0, description="an ordinary command")
    long: float = Field(default=30.0, gt=0, description="rf on/off and tx power (a PA settles)")
    login: float = Field(default=20.0, gt=0, description="the whole login exchange")
    quiet: float = Field(default=2.0, gt=0, description="silence after which a line ending is sent again")


class GnbProfile(ProfileModel):
    """One gNB console dialect."""

    name: str
    description: str = ""
    line_ending: str = "\r\n"
    prompt: str = Field(description="regex of the command prompt")
    error: str = Field(description="regex of an error reply, with a group named 'message'")
    echo: bool = Field(default=True, description="the console echoes the command line")
    login: LoginSpec
    on_login: list[str] = Field(default=[], description="commands sent once after login (paging off)")
    timeouts: Timeouts = Timeouts()
    commands: Commands
    responses: Responses
    limits: Limits

    @field_validator("prompt")
    @classmethod
    def _regex(cls, value: str) -> str:
        return checked_regex(value)

    @field_validator("on_login")
    @classmethod
    def _on_login_sendable(cls, value: list[str]) -> list[str]:
        return checked_lines(value, _sendable)

    @field_validator("error")
    @classmethod
    def _error_regex(cls, value: str) -> str:
        return checked_regex_with_group(value, "message", "error")

    @field_validator("line_ending")
    @classmethod
    def _line_ending(cls, value: str) -> str:
        if value not in ("\r\n", "\r", "\n"):
            raise ValueError(f"line_ending must be CRLF, CR or LF, not {value!r}")
        return value

    @model_validator(mode="after")
    def _prompts_combine(self) -> GnbProfile:
        prompts = (self.prompt, self.login.user_prompt, self.login.password_prompt)
        check_combinable(prompts, "prompt and login prompts")
        return self

    def regex(self, pattern: str) -> re.Pattern[str]:
        """Compile one of this profile's regexes the way the driver uses them."""
        return compile_regex(pattern)


def load_profile(name_or_path: str | Path, search_dirs: Sequence[Path] = DEFAULT_DIRS) -> GnbProfile:
    """Load a gNB profile by name (``sim-gnb`` -> the first ``<dir>/sim-gnb.yaml`` of
    ``search_dirs``; a file whose name starts with ``ue-`` is a UE profile, never a gNB one) or by
    path.

    The file is read with the bounded loader plans use (:mod:`fivegbench.drivers.profiles`). Raises
    PlanError (``file:line:col: key: message``) for an unreadable or invalid file, BenchError when
    no gNB profile of that name exists; either is one line.
    """
    return load_profile_file(GnbProfile, name_or_path, "gnb", search_dirs)
