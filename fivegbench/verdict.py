"""Limits and the one function that decides verdicts, :func:`judge`.

A measurement produces named values (``channel_power``, ``aclr_lower1``, ...). A
:class:`Requirement` is a set of alternative :class:`Limit` s on those values; it passes if ANY
alternative passes ("whichever is less stringent shall apply", TS 38.104 §6.6.3.3), so a plain
limit is a requirement with one alternative.

Rules of :func:`judge`:

* limits are inclusive: a value exactly on ``low`` or ``high`` passes (margin 0);
* a missing or NaN value never passes: the requirement is undecidable (``passed=None``) unless
  another alternative with a value passes;
* overall FAIL if any requirement fails, else INCONCLUSIVE if any is undecidable, else PASS;
* with no requirements at all the verdict is INCONCLUSIVE (a measurement without limits has not
  passed anything), with a note saying so;
* a measurement flagged ``invalid`` (e.g. analyzer overload) is INCONCLUSIVE, never PASS or FAIL;
* a value given with a confidence interval (traffic measurements) is judged statistically: a
  limit passes when the whole interval lies inside it, fails when the whole interval lies
  outside, and is undecidable when the interval straddles a bound; the check's note then says
  about how many more samples would likely decide it. The margin is still the point estimate's.

``judge`` only ever returns PASS, FAIL or INCONCLUSIVE. ERROR (the harness or an instrument
failed), ABORTED and SKIPPED are set by the runner; FAIL (the device is out of spec) and ERROR
are never merged.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from fivegbench.reduce.stats import Interval, repeats_to_decide

__all__ = ["Check", "Judgement", "Limit", "Requirement", "Verdict", "explicit_requirements", "judge"]


class Verdict(StrEnum):
    """Outcome of a step or a run (a ``str`` subclass: the members equal their upper-case names)."""

    PASS = "PASS"
    FAIL = "FAIL"
    INCONCLUSIVE = "INCONCLUSIVE"
    ERROR = "ERROR"
    ABORTED = "ABORTED"
    SKIPPED = "SKIPPED"


def _json_float(x: float | None) -> float | None:
    """JSON has no NaN/Infinity: non-finite floats become None."""
    if x is None or not math.isfinite(x):
        return None
    return float(x)


@dataclass(frozen=True)
class Limit:
    """An inclusive bound on one named measured value.

    Attributes
    ----------
    value : name of the measured value it applies to, e.g. ``"aclr_lower1"``.
    low, high : inclusive bounds in ``unit`` (the test requirement, i.e. after test tolerance);
        either may be None (one-sided), not both.
    unit : unit of the value and bounds, e.g. ``"dB"``, ``"dBm"``, ``"dBm/MHz"``.
    minimum_requirement : the TS 38.104 number before test tolerance, or None (plan limits).
        For a one-sided limit this is the limit itself (45 dB, -13 dBm/MHz); for a symmetric
        tolerance it is the half-width (2.0 for "within ±2 dB").
    test_tolerance : the TS 38.141-1 test tolerance that relaxed it into ``low``/``high`` (dB), or
        None.
    tolerance_unverified : True if the test tolerance (or any number in the limit) is [U].
    clause : where the requirement is defined (``"TS 38.104 §6.6.3.2"``, ``"plan"``).
    note : free text (reference used, status of the numbers, ...).
    """

    value: str
    low: float | None
    high: float | None
    unit: str
    minimum_requirement: float | None = None
    test_tolerance: float | None = None
    tolerance_unverified: bool = False
    clause: str = ""
    note: str = ""

    def __post_init__(self) -> None:
        if not self.value:
            raise ValueError("a limit needs the name of the value it applies to")
        if self.low is None and self.high is None:
            raise ValueError(f"limit on {self.value!r} has neither a low nor a high bound")
        for bound in (self.low, self.high):
            if bound is not None and math.isnan(bound):
                raise ValueError(f"limit on {self.value!r} has a NaN bound")
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError(f"limit on {self.value!r}: low {self.low} is above high {self.high}")

    def margin(self, measured: float) -> float:
        """Distance inside the limit (positive = inside, 0 = on the bound, negative = outside).

        ``measured - low`` or ``high - measured``, the smaller if both bounds are set. NaN in,
        NaN out.
        """
        margins = []
        if self.low is not None:
            margins.append(measured - self.low)
        if self.high is not None:
            margins.append(self.high - measured)
        return min(margins)

    def describe(self) -> str:
        """Human-readable form, e.g. ``aclr_lower1 >= 44.2 dB``."""
        if self.low is not None and self.high is not None:
            return f"{self.low:g} <= {self.value} <= {self.high:g} {self.unit}"
        if self.low is not None:
            return f"{self.value} >= {self.low:g} {self.unit}"
        return f"{self.value} <= {self.high:g} {self.unit}"

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "value": self.value,
            "low": _json_float(self.low),
            "high": _json_float(self.high),
            "unit": self.unit,
            "minimum_requirement": self.minimum_requirement,
            "test_tolerance": self.test_tolerance,
            "tolerance_unverified": self.tolerance_unverified,
            "clause": self.clause,
            "note": self.note,
        }


@dataclass(frozen=True)
class Requirement:
    """A named requirement: passes if ANY of its alternative limits passes.

    With several alternatives this is "whichever is less stringent" (TS 38.104 §6.6.3.3, ACLR
    relative vs absolute); with one it is a plain limit.
    """

    name: str
    alternatives: tuple[Limit, ...]

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("a requirement needs a name")
        if not self.alternatives:
            raise ValueError(f"requirement {self.name!r} has no limits")
        object.__setattr__(self, "alternatives", tuple(self.alternatives))

    @property
    def values(self) -> tuple[str, ...]:
        """Names of the measured values this requirement reads."""
        return tuple(dict.fromkeys(lim.value for lim in self.alternatives))

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {"name": self.name, "alternatives": [lim.to_dict() for lim in self.alternatives]}


@dataclass(frozen=True)
class Check:
    """The outcome of one requirement.

    Attributes
    ----------
    requirement : the requirement's name.
    passed : True / False, or None if undecidable (a value needed is missing or NaN).
    margin : the largest margin over the alternatives (positive = inside), None if undecidable.
    decided_by : the alternative with that margin (the one that passed, or the closest to
        passing for a failure), None if undecidable.
    measured : (value name, measured value or None if missing/NaN) for every value read.
    limits : all alternatives of the requirement.
    note : why it is undecidable, or empty.
    """

    requirement: str
    passed: bool | None
    margin: float | None
    decided_by: Limit | None
    measured: tuple[tuple[str, float | None], ...]
    limits: tuple[Limit, ...]
    note: str = ""

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (non-finite numbers become null). The alternatives are not repeated:
        the measurement record lists them under ``limits``."""
        return {
            "requirement": self.requirement,
            "passed": self.passed,
            "margin": _json_float(self.margin),
            "decided_by": self.decided_by.to_dict() if self.decided_by is not None else None,
            "measured": {name: _json_float(v) for name, v in self.measured},
            "note": self.note,
        }


@dataclass(frozen=True)
class Judgement:
    """The verdict of one measurement against its requirements."""

    verdict: Verdict
    checks: tuple[Check, ...]
    note: str = ""

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "verdict": self.verdict.value,
            "checks": [c.to_dict() for c in self.checks],
            "note": self.note,
        }


def _measured(values: Mapping[str, float], name: str) -> float | None:
    raw = values.get(name)
    if raw is None:
        return None
    try:
        x = float(raw)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"measured value {name!r} is not a number: {raw!r}") from exc
    return None if math.isnan(x) else x


def _outcome(limit: Limit, measured: float, interval: Interval | None) -> bool | None:
    """True/False for a point value; for an interval, None when it straddles a bound."""
    if interval is None:
        return limit.margin(measured) >= 0
    inside = (limit.low is None or interval.low >= limit.low) and (
        limit.high is None or interval.high <= limit.high
    )
    outside = (limit.low is not None and interval.high < limit.low) or (
        limit.high is not None and interval.low > limit.high
    )
    return True if inside else False if outside else None


def _straddle_note(limit: Limit, interval: Interval) -> str:
    bound = limit.low if limit.low is not None and interval.low < limit.low else limit.high
    text = (
        f"{interval.confidence:.0%} interval {interval.low:.4g} to {interval.high:.4g} {limit.unit} "
        f"straddles the limit {limit.describe()}"
    )
    more = repeats_to_decide(interval, bound) if bound is not None else None
    return text + (f"; about {more} more samples would likely decide it" if more is not None else "")


def _check(values: Mapping[str, float], req: Requirement, intervals: Mapping[str, Interval]) -> Check:
    measured = {name: _measured(values, name) for name in req.values}
    scored = [
        (lim.margin(x), _outcome(lim, x, intervals.get(lim.value)), lim)
        for lim in req.alternatives
        if (x := measured[lim.value]) is not None
    ]
    missing = [name for name, x in measured.items() if x is None]
    passing = [s for s in scored if s[1] is True]
    if passing:
        margin, _, limit = max(passing, key=lambda s: s[0])
        return Check(req.name, True, margin, limit, tuple(measured.items()), req.alternatives)
    if missing or not scored:
        note = f"no valid value for {', '.join(missing)}"
        return Check(req.name, None, None, None, tuple(measured.items()), req.alternatives, note)
    margin, _, limit = max(scored, key=lambda s: s[0])
    straddling = [s for s in scored if s[1] is None]
    if straddling:
        _, _, open_limit = straddling[0]
        note = _straddle_note(open_limit, intervals[open_limit.value])
        return Check(req.name, None, margin, limit, tuple(measured.items()), req.alternatives, note)
    # every alternative has a value and none passed
    return Check(req.name, False, margin, limit, tuple(measured.items()), req.alternatives)


def judge(
    values: Mapping[str, float],
    requirements: Sequence[Requirement],
    *,
    invalid: str | None = None,
    intervals: Mapping[str, Interval] | None = None,
) -> Judgement:
    """Decide a measurement's verdict: the only place verdicts are decided.

    Parameters
    ----------
    values : mapping
        Measured value name -> number, in the units of the limits (dB, dBm, dBm/MHz, ...).
        Missing names and NaN count as "no valid value".
    requirements : sequence of Requirement
        What the values must satisfy.
    invalid : str or None
        Why the measurement itself is not trustworthy (e.g. "analyzer overload"), or None. An
        invalid measurement is INCONCLUSIVE whatever the values say: neither PASS nor FAIL can be
        claimed from it. The checks are still computed (for the record).
    intervals : mapping or None
        Value name -> its confidence interval (:class:`~fivegbench.reduce.stats.Interval`), for
        values judged statistically.

    Returns
    -------
    Judgement
        FAIL if any requirement fails; else INCONCLUSIVE if any is undecidable (missing/NaN
        value and no alternative passed) or if there are no requirements at all; else PASS.
        Always INCONCLUSIVE when ``invalid`` is given.
    """
    checks = tuple(_check(values, req, intervals or {}) for req in requirements)
    if invalid:
        return Judgement(Verdict.INCONCLUSIVE, checks, f"measurement invalid: {invalid}")
    if not requirements:
        return Judgement(Verdict.INCONCLUSIVE, (), "no limits: nothing to judge the values against")
    if any(c.passed is False for c in checks):
        verdict = Verdict.FAIL
    elif any(c.passed is None for c in checks):
        verdict = Verdict.INCONCLUSIVE
    else:
        verdict = Verdict.PASS
    return Judgement(verdict, checks)


def explicit_requirements(mapping: Mapping[str, Mapping[str, object]]) -> list[Requirement]:
    """Requirements from plan limits ``{value_name: {"min": x|None, "max": x|None, "unit": str}}``.

    Each entry becomes a one-alternative requirement named after the value, with
    ``clause="plan"`` and no minimum requirement / test tolerance (the plan author owns the
    numbers). ValueError for unknown keys, non-numeric bounds, or an entry with neither bound.
    """
    out: list[Requirement] = []
    for name, spec in mapping.items():
        if not isinstance(spec, Mapping):
            raise ValueError(f"limit {name!r}: expected a mapping with min/max/unit, got {spec!r}")
        unknown = set(spec) - {"min", "max", "unit"}
        if unknown:
            raise ValueError(f"limit {name!r}: unknown keys {', '.join(sorted(map(str, unknown)))}")
        bounds: dict[str, float | None] = {}
        for key in ("min", "max"):
            raw = spec.get(key)
            if raw is None:
                bounds[key] = None
            elif isinstance(raw, int | float) and not isinstance(raw, bool):
                bounds[key] = float(raw)
            else:
                raise ValueError(f"limit {name!r}: {key} must be a number, got {raw!r}")
        unit = spec.get("unit", "")
        if not isinstance(unit, str):
            raise ValueError(f"limit {name!r}: unit must be text, got {unit!r}")
        limit = Limit(
            value=name,
            low=bounds["min"],
            high=bounds["max"],
            unit=unit,
            clause="plan",
            note="explicit plan limit",
        )
        out.append(Requirement(name, (limit,)))
    return out
