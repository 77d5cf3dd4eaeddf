"""How the report and junit.xml write a measured value: rounded to its unit's resolution, one
table for both (a margin of -2.10 dB reads the same in either)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from fivegbench.readout import frequency


@dataclass(frozen=True)
class UnitFormat:
    """How values in one unit are written.

    Attributes
    ----------
    resolution : the step measured values are rounded to (a power of ten), in the unit.
    difference : the unit of the difference of two such values (a margin): dB between two
        levels in dBm or dBm/MHz, the unit itself for linear units.
    """

    resolution: float
    difference: str


#: The one table of resolutions. Levels and ratios to 0.01 dB (the analyzer's display
#: resolution, well below its uncertainty); EVM and loss to 0.01 %; frequencies to 1 Hz, written
#: in their natural prefix; ppm to 0.001 (BS frequency limits are 0.05 ppm and wider); rates to
#: 0.1 Mbit/s; latencies to 10 µs (irtt resolves ns, the radio link jitters by far more).
UNITS: Mapping[str, UnitFormat] = {
    "dB": UnitFormat(0.01, "dB"),
    "dBm": UnitFormat(0.01, "dB"),
    "dBm/MHz": UnitFormat(0.01, "dB"),
    "%": UnitFormat(0.01, "%"),
    "ppm": UnitFormat(0.001, "ppm"),
    "Hz": UnitFormat(1.0, "Hz"),
    "Mbit/s": UnitFormat(0.1, "Mbit/s"),
    "ms": UnitFormat(0.01, "ms"),
    "s": UnitFormat(0.001, "s"),
    "": UnitFormat(1.0, ""),  # counts: samples, trials, retransmits
}


def quantity(value: float | None, unit: str, *, exact: bool = False) -> str:
    """``36.07 dB``, ``97.296015 MHz``: a value rounded to its unit's resolution (``exact``:
    every digit it has, for limits, which are settings). None: no valid value."""
    if value is None or not math.isfinite(value):
        return "no valid value"
    if unit == "Hz":
        return frequency(value, None if exact else UNITS["Hz"].resolution)
    style = UNITS.get(unit)
    if exact:
        number = f"{value:.10g}"
    elif style is None:  # a unit this table does not know: six significant digits
        number = f"{value:.6g}"
    else:
        decimals = max(0, -math.floor(math.log10(style.resolution)))
        number = f"{value:.{decimals}f}"
    return f"{number} {unit}" if unit else number


def difference_unit(unit: str) -> str:
    """The unit of a difference of two values in ``unit``: dB between two levels."""
    return UNITS[unit].difference if unit in UNITS else unit


def difference(value: float | None, unit: str, *, exact: bool = False) -> str:
    """A margin (or a tolerance: ``exact``) between two values in ``unit``, e.g. ``-2.10 dB``."""
    return quantity(value, difference_unit(unit), exact=exact)
