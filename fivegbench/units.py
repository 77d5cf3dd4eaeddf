"""Quantities with units, parsed by pint.

Plans write quantities as text (``43 dBm``, ``100 MHz``, ``-13 dBm/MHz``). pint's default
registry refuses logarithmic units with offsets; ``autoconvert_offset_to_baseunit=True`` accepts
them. Values leave this module as plain floats in a fixed unit per dimension (Hz, dBm, dB, s), so
the rest of fivegbench never handles pint objects.
"""

from __future__ import annotations

import math
from functools import cache
from typing import Any

import pint


class UnitParseError(ValueError):
    """Text that is not a quantity of the wanted kind."""


@cache
def registry() -> pint.UnitRegistry:
    """The one pint registry (built once; pint registries are expensive and immutable here)."""
    return pint.UnitRegistry(autoconvert_offset_to_baseunit=True)


# What a plan can ask for -> (unit the value is returned in, human name used in error messages).
KINDS: dict[str, tuple[str, str]] = {
    "frequency": ("Hz", "a frequency"),
    "power": ("dBm", "a power"),
    "ratio": ("dB", "a ratio in dB"),
    "time": ("s", "a time"),
    "rate": ("bit/s", "a bit rate"),
    "psd": ("dBm/MHz", "a power density"),
    "percent": ("%", "a percentage"),
}

#: Units values are reported in that are not a kind's own unit -> that kind.
DISPLAY_UNITS: dict[str, str] = {"Mbit/s": "rate", "ms": "time"}


def kind_of_unit(unit: str) -> str | None:
    """The kind (``rate``, ``time``, ...) a unit measures, or None for a count or unknown unit."""
    return next((kind for kind, (base, _) in KINDS.items() if base == unit), DISPLAY_UNITS.get(unit))


def parse(text: object, kind: str) -> float:
    """Parse ``text`` as a quantity of ``kind`` and return its magnitude in the kind's unit.

    Raises UnitParseError with a message such as ``'45 dBz' is not a power``.
    """
    unit, name = KINDS[kind]
    if isinstance(text, bool) or not isinstance(text, str | int | float):
        raise UnitParseError(f"{text!r} is not {name}")
    if not isinstance(text, str):
        raise UnitParseError(f"{text!r} has no unit; write it as {name} with a unit, e.g. '{text} {unit}'")
    if kind == "psd":
        return _parse_psd(text, name)
    if kind == "percent":
        return _parse_percent(text, name)
    ureg = registry()
    try:
        quantity: Any = ureg.Quantity(text.strip())
    except Exception as exc:  # pint raises many types for bad text
        raise UnitParseError(f"{text!r} is not {name}") from exc
    if not isinstance(quantity, pint.Quantity) or (quantity.dimensionless and unit not in ("dB",)):
        raise UnitParseError(f"{text!r} is not {name}")
    if kind == "ratio":
        # A bare dB value; pint treats dB as a logarithmic dimensionless unit.
        if str(quantity.units) not in ("decibel",):
            raise UnitParseError(f"{text!r} is not {name}")
        return float(quantity.magnitude)
    try:
        return float(quantity.to(unit).magnitude)
    except Exception as exc:
        raise UnitParseError(f"{text!r} is not {name}") from exc


def _parse_percent(text: str, name: str) -> float:
    """``0.5 %`` -> 0.5 (pint reads ``%`` as a dimensionless ``percent``)."""
    try:
        quantity: Any = registry().Quantity(text.strip())
    except Exception as exc:  # pint raises many types for bad text
        raise UnitParseError(f"{text!r} is not {name}") from exc
    if not isinstance(quantity, pint.Quantity) or str(quantity.units) != "percent":
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
