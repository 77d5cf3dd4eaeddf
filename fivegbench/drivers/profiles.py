"""Instrument profiles: an instrument's dialect described as data (``instruments/profiles/*.yaml``).

What the gNB console profiles (:mod:`fivegbench.drivers.gnb.profile`) and the UE modem profiles
(:mod:`fivegbench.drivers.ue.profile`) share: how a profile is found by name and read, how its
regular expressions are compiled, and the check that a text the driver sends is one line.

Which kind a profile file is
----------------------------
Its file name says, so listing the profiles of a kind reads no file: a UE modem profile's file
name starts with ``ue-`` (``ue-3gpp.yaml``, ``ue-quectel.yaml``); every other ``*.yaml`` or
``*.yml`` file in a profiles folder is a gNB console profile (``sim-gnb.yaml``). A profile asked
for by name (in a bench, or ``load_profile("sim-gnb")``) is looked for among the files of its kind
only, and the message for a name not found lists only the profiles of that kind. A profile given
by path is read whatever its file name: its fields say whether it fits.

Reading
-------
Every profile is read with the bounded loader plans and benches use
(:mod:`fivegbench.plan.yamlsafe`): an unreadable or invalid file raises PlanError
(``file:line:col: key: message``), a name not found raises BenchError; either is one line.

Every regular expression of a profile is compiled with ``re.MULTILINE``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict

from fivegbench.errors import BenchError
from fivegbench.plan import yamlsafe
from fivegbench.plan.yamlsafe import at
from fivegbench.safetext import control_character

ProfileKind = Literal["gnb", "ue"]
KIND_NAMES: dict[ProfileKind, str] = {"gnb": "gNB", "ue": "UE"}
UE_PREFIX = "ue-"
"""The file-name prefix of a UE modem profile."""
SUFFIXES = (".yaml", ".yml")
DEFAULT_DIRS = (Path("instruments/profiles"),)

M = TypeVar("M", bound=BaseModel)


class ProfileModel(BaseModel):
    """A part of a profile: unknown keys are errors, and a loaded profile does not change."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def compile_regex(pattern: str) -> re.Pattern[str]:
    """Compile a profile's regex as the drivers use it (``re.MULTILINE``); ValueError, with the
    pattern and the reason, when it does not compile."""
    try:
        return re.compile(pattern, re.MULTILINE)
    except re.error as exc:
        raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from None


def checked_regex(pattern: str) -> str:
    """``pattern`` when it compiles (a field validator's body); ValueError otherwise."""
    compile_regex(pattern)
    return pattern


def checked_regex_with_group(pattern: str, group: str, field: str) -> str:
    """``pattern`` when it compiles and has a group named ``group``; ValueError otherwise
    (``the <field> regex needs a group named '<group>'``)."""
    if group not in compile_regex(pattern).groupindex:
        raise ValueError(f"the {field} regex needs a group named {group!r}")
    return pattern


def check_combinable(patterns: Sequence[str], what: str) -> None:
    """Check that ``patterns`` compile as one alternation, as a driver combines them (a pattern
    with an inline global flag, ``(?m)``, does not); ValueError (``<what> cannot be combined
    ...``) otherwise."""
    try:
        re.compile("|".join(f"(?:{p})" for p in patterns), re.MULTILINE)
    except re.error as exc:
        raise ValueError(f"{what} cannot be combined into one regex: {exc}") from None


def checked_regexes(patterns: list[str]) -> list[str]:
    """``patterns`` when each compiles; otherwise the error at the first bad one's index."""
    for index, pattern in enumerate(patterns):
        try:
            compile_regex(pattern)
        except ValueError as exc:
            raise at(index, str(exc)) from None
    return patterns


def checked_lines(lines: list[str], problem: Callable[[str], str | None]) -> list[str]:
    """``lines`` when ``problem`` finds nothing wrong with any; otherwise the error at the first
    bad one's index (a field validator's body for a list of texts the driver sends)."""
    for index, line in enumerate(lines):
        found = problem(line)
        if found:
            raise at(index, found)
    return lines


def control_problem(text: str, what: str) -> str | None:
    """Why ``text`` may not be sent as one line, or None: it contains a control character (a CR
    or LF would end the line early and send a second one). ``what`` names such texts in the
    message (``text sent to the gNB console``)."""
    found = control_character(text)
    if found is None:
        return None
    return f"contains a control character ({found}); {what} may contain none"


def kind_of(path: str | Path) -> ProfileKind:
    """The kind of the profile in a file of this name (see the module docstring)."""
    return "ue" if Path(path).name.startswith(UE_PREFIX) else "gnb"


def available_profiles(kind: ProfileKind, search_dirs: Sequence[Path]) -> list[str]:
    """The names of the profiles of ``kind`` in ``search_dirs``, sorted."""
    return sorted(
        {
            p.stem
            for d in search_dirs
            if d.is_dir()
            for p in d.iterdir()
            if p.suffix in SUFFIXES and p.is_file() and kind_of(p) == kind
        }
    )


def find_profile(name_or_path: str | Path, kind: ProfileKind, search_dirs: Sequence[Path]) -> Path:
    """The file of a profile named ``name_or_path`` (``sim-gnb`` -> the first
    ``<dir>/sim-gnb.yaml`` or ``.yml`` of ``search_dirs``), or the path itself when it is one
    (it has a directory part or a YAML suffix). Raises BenchError when no profile of that name and
    kind exists."""
    path = Path(name_or_path)
    if path.suffix in SUFFIXES or len(path.parts) != 1:
        return path
    candidates = [d / f"{path.name}{suffix}" for d in search_dirs for suffix in SUFFIXES]
    found = next((c for c in candidates if c.is_file()), None)
    if found is not None and kind_of(found) == kind:
        return found
    names = available_profiles(kind, search_dirs)
    message = (
        f"{KIND_NAMES[kind]} profile {str(name_or_path)!r} not found in {', '.join(map(str, search_dirs))}"
        + (f" (available: {', '.join(names)})" if names else "")
    )
    if found is not None:  # a file of that name, of the other kind
        other = KIND_NAMES[kind_of(found)]
        message += f"; {found} is a {other} profile (a UE profile's file name starts with {UE_PREFIX!r})"
    raise BenchError(message)


def load_profile_file(
    model: type[M], name_or_path: str | Path, kind: ProfileKind, search_dirs: Sequence[Path] = DEFAULT_DIRS
) -> M:
    """Find (:func:`find_profile`), read and validate a profile as ``model`` with the bounded
    loader. Raises PlanError or BenchError, one line each."""
    path = find_profile(name_or_path, kind, search_dirs)
    data, positions = yamlsafe.load_yaml(path)
    return yamlsafe.validate(model, data, positions, str(path))
