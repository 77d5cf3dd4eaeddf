"""How an ``analyze`` result reads for a person: each number with its real unit, to the
resolution the measurement has. The JSON keeps full precision; this is only the text.

A key's unit is its suffix, the JSON convention (``_hz``, ``_dbm``, ``_dbm_per_mhz``, ``_db``,
``_pct``, ``_ppm``, ``_s``); the printed name drops it and the unit follows the value. Powers take
the capture's ``power_unit`` (dBm, or dBFS without an absolute scale) whatever the key says.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

NAME_WIDTH = 26

# What the analysis was given or read from the capture's metadata: exact, printed in full.
EXACT_FREQUENCIES = frozenset(
    {"center_hz", "sample_rate_hz", "bandwidth_hz", "scs_hz", "resolution_hz", "measurement_bandwidth_hz"}
)
# A frequency measured without a spectrum (the frequency error) resolves a fraction of a Hz.
FINEST_HZ = 0.1

_FREQUENCY_PREFIXES = ((1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, ""))
_TIME_PREFIXES = ((1.0, ""), (1e-3, "m"), (1e-6, "µ"), (1e-9, "n"))


def frequency(hz: float, resolution_hz: float | None = None) -> str:
    """``8.559 MHz``: in the natural prefix, to the digit ``resolution_hz`` reaches; the shortest
    exact form when ``resolution_hz`` is None."""
    if resolution_hz is None:
        scale, prefix = _prefix(hz, _FREQUENCY_PREFIXES)
        return f"{hz / scale:.10g} {prefix}Hz"
    digit = math.floor(math.log10(resolution_hz))
    rounded = round(hz, -digit)
    scale, prefix = _prefix(rounded, _FREQUENCY_PREFIXES)  # after rounding: 999.9996 kHz is 1 MHz
    decimals = max(0, round(math.log10(scale)) - digit)
    return f"{_fixed(rounded / scale, decimals)} {prefix}Hz"


def seconds(s: float) -> str:
    """``1 ms``: a duration in the natural prefix (durations here are settings, exact)."""
    scale, prefix = _prefix(s, _TIME_PREFIXES)
    return f"{s / scale:.10g} {prefix}s"


def decibels(db: float, unit: str = "dB") -> str:
    """``-13.91 dBFS``: a level or ratio to 0.01 dB."""
    return f"{_fixed(db, 2)} {unit}"


def percent(pct: float) -> str:
    """``4.01 %``, to 0.01 %."""
    return f"{_fixed(pct, 2)} %"


def parts_per_million(ppm: float) -> str:
    """``0.012 ppm``, to 0.001 ppm (BS frequency limits are 0.05 ppm and wider)."""
    return f"{_fixed(ppm, 3)} ppm"


def lines(result: dict[str, Any]) -> list[str]:
    """The result as ``name  value unit`` rows; a dict gives one row per entry, a list of
    sentences one row per sentence, any other list one row."""
    rows: list[str] = []
    for key, value in result.items():
        name, show = _reading(key, result)
        if isinstance(value, dict):
            rows += [_row(f"{name} {k}", _shown(v, show)) for k, v in value.items()] or [_row(name, "none")]
        elif isinstance(value, list) and any(isinstance(v, str) and " " in v for v in value):
            rows += [_row(name if i == 0 else "", str(v)) for i, v in enumerate(value)]  # sentences
        elif isinstance(value, list):
            rows.append(_row(name, ", ".join(_shown(v, show) for v in value) or "none"))
        else:
            rows.append(_row(name, _shown(value, show)))
    return rows


def caveats(result: dict[str, Any]) -> list[str]:
    """What the numbers do not say, one line each (for stderr)."""
    said = []
    if result.get("not_covered"):
        said.append(
            f"the capture's span (±{frequency(result['sample_rate_hz'] / 2)}) does not reach the adjacent "
            f"channels {', '.join(result['not_covered'])}: no ACLR for them"
        )
    if "pass" in result and result["pass"] is None:
        said.append(f"pass undecided: {result.get('note') or 'no reason given'}")
    return said


def _reading(key: str, result: dict[str, Any]) -> tuple[str, Callable[[float], str]]:
    """The printed name of ``key`` and how its numbers read."""
    power_unit = result.get("power_unit", "dBm")
    if key.endswith("_dbm_per_mhz"):
        return key.removesuffix("_dbm_per_mhz"), lambda v: decibels(v, f"{power_unit}/MHz")
    if key.endswith("_dbm"):
        return key.removesuffix("_dbm"), lambda v: decibels(v, power_unit)
    if key.endswith("_db"):
        return key.removesuffix("_db"), decibels
    if key.endswith("_pct"):
        return key.removesuffix("_pct"), percent
    if key.endswith("_ppm"):
        return key.removesuffix("_ppm"), parts_per_million
    if key.endswith("_hz"):
        resolution = None if key in EXACT_FREQUENCIES else result.get("resolution_hz", FINEST_HZ)
        return key.removesuffix("_hz"), lambda v: frequency(v, resolution)
    if key.endswith("_s"):
        return key.removesuffix("_s"), seconds
    return key, _plain


def _shown(value: Any, show: Callable[[float], str]) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return _plain(value)
    return show(value)


def _plain(value: Any) -> str:
    """A value as JSON would mean it: no NaN (JSON has none), yes/no, unknown for null, nested
    structures as JSON."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "unknown"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value) or "none"


def _prefix(value: float, prefixes: tuple[tuple[float, str], ...]) -> tuple[float, str]:
    """The largest prefix not above |value|; none for zero, the smallest below all."""
    if value == 0:
        return 1.0, ""
    return next(((s, p) for s, p in prefixes if abs(value) >= s), prefixes[-1])


def _fixed(value: float, decimals: int) -> str:
    """``value`` to ``decimals`` places, never "-0.00" (a tiny negative is still zero)."""
    return f"{round(value, decimals) + 0.0:.{decimals}f}"


def _row(name: str, text: str) -> str:
    return f"{name:<{NAME_WIDTH}} {text}".rstrip()
