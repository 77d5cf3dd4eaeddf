"""How one step parameter is written and checked: a quantity with a unit, a whole number, or a
text choice, with an inclusive range and an optional default.

Quantities are text with units (``43 dBm``, ``100 kHz``, ``10 s``) stored as floats in the kind's
unit (:mod:`fivegbench.units`: Hz, dBm, dB, s, bit/s); whole numbers stay ints; a choice stays
the text written (``dl``). Every parse error is a ValueError whose message the plan loader puts
on one ``file:line:col`` line.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from fivegbench import units
from fivegbench.describe import describe

Scalar = bool | float | int | str | dict[str, "float | int | str"]
"""What a step parameter holds once parsed (a mapping parameter holds its parsed fields)."""


@lru_cache(maxsize=4096)
def _parse_cached(text: str, kind: str) -> float:
    # pint warns (numpy overflow) for absurd log values such as 99999 dBm; the check below reports it.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        value = units.parse(text, kind)
    if not math.isfinite(value):
        raise units.UnitParseError(f"{text!r} is not a finite {kind}")
    return value


def parse_quantity(value: object, kind: str) -> float:
    """``units.parse`` with a cache for text, refusing nan and infinity. Raises UnitParseError."""
    if isinstance(value, str):
        return _parse_cached(value, kind)
    return units.parse(value, kind)


@dataclass(frozen=True)
class ParamSpec:
    """How one parameter is written.

    ``kind`` is a units kind (``frequency``, ``power``, ``ratio``, ``time``, ``rate``), ``int``,
    ``choice`` (one of ``choices``), ``text`` (any single-line text) or ``bool`` (YAML true or
    false). ``lo``/``hi`` bound numbers inclusively. ``default`` is the parsed value a step gets
    when it does not set the parameter (None: the measurement decides, e.g. a span from the
    channel bandwidth).
    """

    kind: str
    lo: float | None = None
    hi: float | None = None
    choices: tuple[str, ...] = ()
    default: Scalar | None = None
    doc: str = ""
    multiple_of: float | None = None
    """A number must be a whole multiple of this (iperf3 takes whole seconds)."""
    fields: tuple[tuple[str, ParamSpec], ...] = ()
    """A ``mapping`` parameter's keys and how each is written (``load: {direction: dl}``)."""
    sets: str | None = None
    """``role.setting`` the value is given to (``analyzer.span``): preflight checks it against the
    range that role's driver declares for that setting."""

    @property
    def unit(self) -> str:
        return units.KINDS[self.kind][0] if self.kind in units.KINDS else ""

    @property
    def step_kind(self) -> str:
        """Kind of a range step: a power steps in dB, everything else in its own kind."""
        return "ratio" if self.kind == "power" else self.kind

    @property
    def numeric(self) -> bool:
        return self.kind not in ("choice", "mapping", "text", "bool")

    def text(self, value: Scalar) -> str:
        if self.kind == "bool":
            return "true" if value else "false"
        if isinstance(value, str):
            return value
        if isinstance(value, dict):
            return ", ".join(f"{k} {dict(self.fields)[k].text(v)}" for k, v in value.items())
        return units.format_value(value, self.unit) if self.unit else f"{value:g}"

    def parse_raw(self, value: object) -> Scalar:
        """The value in the spec's unit, without the range check. Raises ValueError."""
        if self.kind == "mapping":
            return self._parse_mapping(value)
        if self.kind == "text":
            if not isinstance(value, str):
                raise ValueError(
                    f"expected text (in quotes if it looks like a number), got {describe(value)}"
                )
            return value
        if self.kind == "bool":  # YAML's own true/false, never a string that looks like one
            if not isinstance(value, bool):
                raise ValueError(f"expected true or false, got {describe(value)}")
            return value
        if self.kind == "choice":
            if not isinstance(value, str) or value not in self.choices:
                shown = repr(value) if isinstance(value, str) else describe(value)
                raise ValueError(f"{shown} is not one of: {', '.join(self.choices)}")
            return value
        if self.kind == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"expected a whole number, got {describe(value)}")
            return value
        if isinstance(value, int | float) and not isinstance(value, bool) and self.kind in units.KINDS:
            raise ValueError(f"{value!r} has no unit (write it with one: {self.unit_examples(value)})")
        return parse_quantity(value, self.kind)

    def unit_examples(self, number: float) -> str:
        """``'2593 MHz'``: ``number`` with each unit that puts it inside this spec's range (the
        base unit when none or no range), so a bare 2593 for a centre frequency suggests MHz."""
        scales = {"m": 1e-3, "": 1.0, "k": 1e3, "M": 1e6, "G": 1e9}
        prefixed = self.unit in ("Hz", "s", "bit/s")  # dBm and dB take no prefix
        fits = [
            f"'{number:g} {prefix}{self.unit}'"
            for prefix, scale in (scales.items() if prefixed else [("", 1.0)])
            if (self.lo is None or number * scale >= self.lo)
            and (self.hi is None or number * scale <= self.hi)
        ]
        return " or ".join(fits) if fits else f"'{number:g} {self.unit}'"

    def _parse_mapping(self, value: object) -> dict[str, Any]:
        fields = dict(self.fields)
        if not isinstance(value, dict):
            raise ValueError(f"expected a mapping with keys {', '.join(fields)}, got {describe(value)}")
        unknown = [key for key in value if key not in fields]
        if unknown:
            raise ValueError(f"unknown key '{unknown[0]}' (expected one of: {', '.join(fields)})")
        parsed: dict[str, Any] = {}
        for key, spec in fields.items():
            if key in value:
                try:
                    parsed[key] = spec.parse(value[key])
                except ValueError as exc:
                    raise ValueError(f"{key}: {exc}") from None
            elif spec.default is not None:
                parsed[key] = spec.default
            else:
                raise ValueError(f"missing required key '{key}'")
        return parsed

    def check(self, value: Scalar) -> Scalar:
        """Raise ValueError when a number is outside the spec's range."""
        if isinstance(value, str | dict):
            return value
        if (self.lo is not None and value < self.lo) or (self.hi is not None and value > self.hi):
            lo = self.text(self.lo) if self.lo is not None else "-inf"
            hi = self.text(self.hi) if self.hi is not None else "inf"
            raise ValueError(f"{self.text(value)} is out of range ({lo} to {hi})")
        if self.multiple_of is not None and not math.isclose(
            value / self.multiple_of, round(value / self.multiple_of), abs_tol=1e-9
        ):
            raise ValueError(f"{self.text(value)} is not a whole multiple of {self.text(self.multiple_of)}")
        return value

    def parse(self, value: object) -> Any:
        """Parse and range-check (a whole number stays an int). Raises ValueError."""
        parsed = self.parse_raw(value)
        self.check(parsed)
        return parsed


def number(value: object) -> float:
    """A parsed numeric parameter as a float (TypeError for text or a mapping: a bug, not input)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected a number, got {value!r}")
    return float(value)


def choice(*options: str, default: str | None = None, doc: str = "") -> ParamSpec:
    """A text parameter that must be one of ``options``."""
    return ParamSpec("choice", choices=options, default=default, doc=doc)


# Parameters of the cell, the DUT and steps that several kinds share.
TX_POWER = ParamSpec("power", -30.0, 80.0, doc="TX power at the antenna connector")
RATED_POWER = ParamSpec("power", -30.0, 80.0)
CENTER_FREQUENCY = ParamSpec("frequency", 410e6, 52.6e9)
CHANNEL_BANDWIDTH = ParamSpec("frequency", 1e6, 2e9)
SCS = ParamSpec("frequency", 15e3, 960e3)
ARFCN = ParamSpec("int", 0, 3279165)
REPEAT = ParamSpec("int", 1, 1000)
ATTENUATION = ParamSpec("ratio", 0.0, 150.0, doc="the bench attenuator's setting")
