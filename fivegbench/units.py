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
}


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


def format_value(value: float, unit: str) -> str:
    """Text for a value with its unit, in the form plans use (``3.75 GHz``, ``43 dBm``)."""
    if unit == "Hz":
        for scale, prefix in ((1e9, "GHz"), (1e6, "MHz"), (1e3, "kHz")):
            if abs(value) >= scale:
                return f"{value / scale:.10g} {prefix}"
        return f"{value:.10g} Hz"
    return f"{value:.10g} {unit}"
