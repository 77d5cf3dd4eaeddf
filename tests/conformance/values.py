"""Safe values for a declared setting, taken from its validator's domain, and the snapshot and
restore that leave an instrument's declared settings as they were found.

Which way is safe depends on the unit, so the rule is written per unit: dB and dBm go up in
steps of 10 (more input attenuation, a higher reference level: never towards overload), seconds
go up to the next decade (a longer sweep is always allowed), anything else (Hz, points) goes to
the decade below (a value every instrument accepts without rounding). A bool is flipped, a
choice is the first other one.
"""

from __future__ import annotations

import math
from typing import Any

from fivegbench.drivers.attenuator.minicircuits import MiniCircuitsAttenuator
from fivegbench.drivers.settings import Setting, as_bool


def safe_value(setting: Setting[Any], current: Any) -> Any:
    """A value other than ``current``, inside the validator's domain, per the rule above."""
    validator = setting.validator
    if validator is as_bool:
        return not current
    domain = getattr(validator, "domain", None)
    if domain is None:
        raise LookupError(f"setting {setting.name} has no validator with a domain to pick a value from")
    if all(isinstance(choice, str) for choice in domain):
        return next(choice for choice in domain if choice.upper() != str(current).upper())
    low, high = domain
    if setting.unit in ("dB", "dBm"):
        candidates = [10 * math.floor(current / 10) + 10, 10 * math.ceil(current / 10) - 10]
    elif setting.unit == "s":
        candidates = [_decade_above(current)]
    else:
        candidates = [_decade_below(current), _decade_above(current)]
    for candidate in candidates:
        value = int(candidate) if isinstance(low, int) and isinstance(high, int) else float(candidate)
        if low <= value <= high and value != current:
            return value
    raise LookupError(f"setting {setting.name}: no safe value near {current!r} within {low}..{high}")


def _decade_below(value: float) -> float:
    if value <= 0:
        return 0.0
    decade = 10.0 ** math.floor(math.log10(value))
    return decade / 10 if math.isclose(decade, value) else decade


def _decade_above(value: float) -> float:
    if value <= 0:
        return 1.0
    decade = 10.0 ** math.ceil(math.log10(value))
    return decade * 10 if math.isclose(decade, value) else decade


def same(read: Any, wanted: Any) -> bool:
    """Whether a read-back is the value set (numbers to 1 ppm: the reply is decimal text)."""
    if isinstance(wanted, bool):
        return read is wanted
    if isinstance(wanted, str):
        return str(read).upper() == wanted.upper()
    return math.isclose(float(read), float(wanted), rel_tol=1e-6, abs_tol=1e-9)


def snapshot(driver: Any, names: list[str]) -> dict[str, Any]:
    """Every named setting as the instrument reports it now."""
    return {name: getattr(driver, name) for name in names}


def restore(driver: Any, before: dict[str, Any]) -> dict[str, Any]:
    """Write back the settings that differ from ``before``, one at a time and reading all again
    after each: a value coupled to another (sweep time to span) comes back by itself, and is not
    written (which would switch its coupling off). Couplings (bools such as ``attenuation_auto``)
    go last, as they recompute what they couple. Returns what still differs (empty: restored)."""
    for _ in range(2 * len(before)):
        now = snapshot(driver, list(before))
        differ = [name for name in before if not same(now[name], before[name])]
        if not differ:
            return {}
        name = min(differ, key=lambda n: isinstance(before[n], bool))
        setattr(driver, name, before[name])
    now = snapshot(driver, list(before))
    return {name: now[name] for name in before if not same(now[name], before[name])}


def attenuation_and_maximum(attenuator: Any) -> tuple[float, float]:
    """The attenuator's setting and its own maximum, asked with its family's queries (dB)."""
    if isinstance(attenuator, MiniCircuitsAttenuator):
        query = ":ATT?" if attenuator.channel is None else f":CHAN:{attenuator.channel}:ATT?"
        return float(attenuator.transport.query(query)), attenuator.model_max_db()
    return float(attenuator.transport.query("ATT?")), float(attenuator.transport.query("ATT? MAX"))
