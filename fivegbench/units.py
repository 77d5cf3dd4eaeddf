"""Quantities with units, parsed by pint.

Plans write quantities as text (``43 dBm``, ``100 MHz``, ``-13 dBm/MHz``): a number and a unit,
nothing else. The registry holds only the units in ``units.txt`` (pint's full registry takes up
to a second to build at every start-up); ``autoconvert_offset_to_baseunit=True`` lets pint
convert its logarithmic units (dBm to W). Values leave this module as plain floats in a fixed
unit per dimension (Hz, dBm, dB, s), so the rest of fivegbench never handles pint objects.
"""

from __future__ import annotations

import math
import re
import warnings
from functools import cache
from pathlib import Path
from typing import Any

import pint


class UnitParseError(ValueError):
    """Text that is not a quantity of the wanted kind."""


# A quantity is a decimal number and a unit, nothing else: pint would otherwise evaluate
# arithmetic ("20 dBm * 2" is 40 dBm, "9**9**9 dBm" never ends) and read "dBm" alone as 1 dBm.
_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]?(?i:nan|inf(?:inity)?)"
_UNIT_WORD = r"[^\W\d_]\w*"
_QUANTITY = re.compile(rf"\s*({_NUMBER})\s*({_UNIT_WORD}(?:\s*/\s*{_UNIT_WORD})?|%)\s*")


def _number_and_unit(text: str, name: str) -> tuple[float, str]:
    """``'43 dBm'`` -> ``(43.0, 'dBm')``; anything but a finite number and a unit is refused."""
    match = _QUANTITY.fullmatch(text)
    if match is None:
        example = next(example for _, kind_name, example in KINDS.values() if kind_name == name)
        raise UnitParseError(f"{text!r} is not {name}: write a number and a unit, e.g. '{example}'")
    value = float(match.group(1))
    if not math.isfinite(value):
        raise UnitParseError(f"{text!r} is not a finite {name.split(' ', 1)[1]}")
    return value, match.group(2)


@cache
def registry() -> pint.UnitRegistry:
    """The one pint registry, of the units in ``units.txt`` beside this module (built once)."""
    return pint.UnitRegistry(str(Path(__file__).with_name("units.txt")), autoconvert_offset_to_baseunit=True)


# What a plan can ask for -> (unit the value is returned in, human name used in error messages,
# an example of how it is written).
KINDS: dict[str, tuple[str, str, str]] = {
    "frequency": ("Hz", "a frequency", "3750 MHz"),
    "power": ("dBm", "a power", "43 dBm"),
    "ratio": ("dB", "a ratio in dB", "40 dB"),
    "time": ("s", "a time", "10 s"),
    "rate": ("bit/s", "a bit rate", "100 Mbit/s"),
    "psd": ("dBm/MHz", "a power density", "-13 dBm/MHz"),
    "percent": ("%", "a percentage", "1 %"),
    "ppm": ("ppm", "a fraction in ppm", "0.05 ppm"),
}

#: Units values are reported in that are not a kind's own unit -> that kind.
DISPLAY_UNITS: dict[str, str] = {"Mbit/s": "rate", "ms": "time"}


def kind_of_unit(unit: str) -> str | None:
    """The kind (``rate``, ``time``, ...) a unit measures, or None for a count or unknown unit."""
    return next((kind for kind, (base, _, _) in KINDS.items() if base == unit), DISPLAY_UNITS.get(unit))


def parse(text: object, kind: str) -> float:
    """Parse ``text`` as a quantity of ``kind`` and return its magnitude in the kind's unit.

    Raises UnitParseError with a message such as ``'45 dBz' is not a power``.
    """
    unit, name, _ = KINDS[kind]
    if isinstance(text, bool) or not isinstance(text, str | int | float):
        raise UnitParseError(f"{text!r} is not {name}")
    if not isinstance(text, str):
        raise UnitParseError(f"{text!r} has no unit; write it as {name} with a unit, e.g. '{text} {unit}'")
    if kind == "psd":
        return _parse_psd(text, name)
    if kind in ("percent", "ppm"):  # dimensionless: the unit itself says what is meant
        return _parse_fraction(text, kind, name)
    quantity = _quantity(text, unit, name)
    if quantity.dimensionless and unit not in ("dB",):
        raise UnitParseError(f"{text!r} is not {name}")
    if kind == "ratio":
        # A bare dB value; pint treats dB as a logarithmic dimensionless unit.
        if str(quantity.units) not in ("decibel",):
            raise UnitParseError(f"{text!r} is not {name}")
        return float(quantity.magnitude)
    try:
        with warnings.catch_warnings():  # numpy overflow warnings for absurd log values
            warnings.simplefilter("ignore", RuntimeWarning)
            value = float(quantity.to(unit).magnitude)
    except Exception as exc:
        raise UnitParseError(f"{text!r} is not {name}") from exc
    if not math.isfinite(value):  # 0 W is -inf dBm
        raise UnitParseError(f"{text!r} is not a finite {name.split(' ', 1)[1]}")
    return value


def _quantity(text: str, wanted: str, name: str) -> Any:
    """``text`` as a pint Quantity; ``wanted`` (the kind's unit) and ``name`` word the error."""
    value, unit = _number_and_unit(text, name)
    try:
        return registry().Quantity(value, unit)
    except Exception as exc:  # pint raises many types for an unknown unit
        raise UnitParseError(f"{text!r} is not {name}{_case_hint(text, unit, wanted)}") from exc


def _case_hint(text: str, unit: str, wanted: str) -> str:
    """`` (units are case-sensitive: did you mean '40 MHz'?)`` when ``unit`` differs from a unit
    convertible to ``wanted`` only in case (pint's case-insensitive lookup finds it), else ``""``."""
    ureg = registry()
    found: list[tuple[str, str, str]] = []
    # pint folds the case of unit names but not of prefixes: try 'ghz' as 'Ghz' too
    for candidate in (unit, unit[:1].upper() + unit[1:]):
        try:
            found += ureg.parse_unit_name(candidate, case_sensitive=False)
        except Exception:  # pint raises several types for a name it cannot split
            continue
    for prefix, base, suffix in found:
        symbol = ureg.get_symbol(prefix + base + suffix)
        if symbol != unit and convertible(symbol, wanted):
            number = text.strip()[: -len(unit)].strip()
            return f" (units are case-sensitive: did you mean '{number} {symbol}'?)"
    return ""


def _parse_fraction(text: str, unit: str, name: str) -> float:
    """``0.5 %`` -> 0.5, ``0.05 ppm`` -> 0.05: pint reads both as dimensionless, so the unit
    written must be ``unit`` itself (pint's name for it: ``percent``, ``ppm``)."""
    quantity = _quantity(text, unit, name)
    if str(quantity.units) != unit:
        raise UnitParseError(f"{text!r} is not {name}")
    return float(quantity.magnitude)


def _parse_psd(text: str, name: str) -> float:
    """``-13 dBm/MHz`` -> -13.0; ``-43 dBm/kHz`` -> -13.0 (pint cannot divide a log unit)."""
    power_text, slash, per_text = text.rpartition("/")
    if not slash:
        raise UnitParseError(f"{text!r} is not {name}")
    try:
        power = parse(power_text, "power")
        per_hz = parse("1 " + per_text.strip(), "frequency")
    except UnitParseError as exc:
        raise UnitParseError(f"{text!r} is not {name}") from exc
    if per_hz <= 0:
        raise UnitParseError(f"{text!r} is not {name}")
    return power + 10.0 * math.log10(1e6 / per_hz)


def convert(value: float, from_unit: str, to_unit: str) -> float:
    """``value`` in ``from_unit`` expressed in ``to_unit`` (``1e8``, ``bit/s``, ``Mbit/s`` -> 100).

    Raises UnitParseError when the units measure different things (``dB`` and ``dBm`` too: a
    ratio is not a level)."""
    if from_unit == to_unit:
        return value
    ureg = registry()
    try:
        return float(ureg.Quantity(value, from_unit).to(to_unit).magnitude)
    except Exception as exc:  # pint raises several types for incompatible or unknown units
        raise UnitParseError(f"{from_unit} cannot be expressed in {to_unit}") from exc


def convertible(from_unit: str, to_unit: str) -> bool:
    """Whether :func:`convert` can take a value from ``from_unit`` to ``to_unit``."""
    try:
        convert(1.0, from_unit, to_unit)
    except UnitParseError:
        return False
    return True


def format_value(value: float, unit: str) -> str:
    """Text for a value with its unit, in the form plans use (``3.75 GHz``, ``43 dBm``)."""
    if unit == "Hz":
        for scale, prefix in ((1e9, "GHz"), (1e6, "MHz"), (1e3, "kHz")):
            if abs(value) >= scale:
                return f"{value / scale:.10g} {prefix}"
        return f"{value:.10g} Hz"
    return f"{value:.10g} {unit}"
