"""Two runs compared measurement by measurement: what a lab does between two firmware releases.

Run A is the baseline, run B the newer run. Measurements are matched by step, sweep point and
repeat; each value of a matched pair becomes a row with value A, value B and their difference.
A requirement's margin (``checks[].margin``) is shown on the row of the value it judges. Margins
are in the limit's unit, except that a margin between two levels (dBm, dBm/MHz) is in dB.

A row is a regression when its requirement passed in A and does not in B (FAIL, INCONCLUSIVE,
ERROR, or not measured: ABORTED, SKIPPED, B no longer shows the pass), or when its margin shrank
by more than the threshold; an improvement the other way round.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from fivegbench import units
from fivegbench.errors import FivegbenchError
from fivegbench.history import format_number, point_text, read_record

#: Where a row lands -> its title; the order is the order of every listing (regressions first).
CATEGORIES: dict[str, str] = {
    "regressions": "Regressions",
    "improvements": "Improvements",
    "only_in_a": "Only in run A",
    "only_in_b": "Only in run B",
    "unchanged": "Unchanged",
}

DEFAULT_THRESHOLD = "0.5 dB"

#: Units a margin threshold cannot be in: a level is not a margin.
_LEVEL_KINDS = ("power", "psd")


@dataclass(frozen=True)
class Threshold:
    """How much a margin may shrink before the row is a regression.

    Attributes
    ----------
    text : as given (``0.5 dB``, ``1 kHz``, ``0.2``).
    amount : in the unit of ``kind`` (``units.KINDS``), or in the margin's own unit when
        ``kind`` is None (a plain number).
    kind : the kind of margin it applies to (``ratio`` for dB), None for a plain number.
    """

    text: str
    amount: float
    kind: str | None

    @classmethod
    def parse(cls, text: str) -> Threshold:
        """``0.5dB``, ``1 dB``, ``1 kHz`` or a plain number. Raises FivegbenchError (one line)."""
        kind: str | None = None
        try:
            amount = float(text)
        except ValueError:
            for kind in units.KINDS:  # the kind that parses is kept
                try:
                    amount = units.parse(text, kind)
                    break
                except units.UnitParseError:
                    continue
            else:
                raise FivegbenchError(
                    f"--threshold {text!r}: write a margin such as '0.5 dB' or '1 kHz', or a plain "
                    "number in each margin's own unit"
                ) from None
            if kind in _LEVEL_KINDS:
                raise FivegbenchError(
                    f"--threshold {text!r} is a level: a margin between levels is in dB, e.g. '0.5 dB'"
                ) from None
        if not math.isfinite(amount) or amount < 0:
            raise FivegbenchError(f"--threshold {text!r}: must be a finite amount, zero or more")
        return cls(text, amount, kind)

    def in_unit(self, unit: str) -> float | None:
        """The threshold for a margin in ``unit``, or None when it is not that kind of margin."""
        if self.kind is None:
            return self.amount
        if units.kind_of_unit(unit) != self.kind:
            return None
        return units.convert(self.amount, units.KINDS[self.kind][0], unit)


def threshold_for(thresholds: Sequence[Threshold], unit: str) -> float | None:
    """The threshold for a margin in ``unit``: the one of its kind, else a plain number, else
    None (such margins are not compared; verdicts still are)."""
    for threshold in sorted(thresholds, key=lambda t: t.kind is None):  # plain numbers last
        amount = threshold.in_unit(unit)
        if amount is not None:
            return amount
    return None


def margin_unit(limit_unit: str) -> str:
    """The unit of a margin to a limit in ``limit_unit``: the difference of two levels (dBm,
    dBm/MHz, dB) is in dB; other margins are in the limit's unit."""
    return "dB" if limit_unit.startswith("dB") else limit_unit


@dataclass(frozen=True)
class Row:
    """One value of a pair of matched measurements (or of a measurement only one run has).

    ``a``/``b`` are in ``unit`` and ``delta`` is ``b - a``; ``verdict_a``/``verdict_b`` are the
    requirement's outcome in each run (the measurement's verdict on a row without a
    requirement); margins are in ``margin_unit``. None where a run has no such measurement,
    value or margin.
    """

    category: str
    step: str
    point: dict[str, str]
    repeat: str
    value: str
    unit: str
    a: float | None
    b: float | None
    delta: float | None
    verdict_a: str | None
    verdict_b: str | None
    requirement: str | None
    margin_a: float | None
    margin_b: float | None
    margin_unit: str | None
    margin_change: float | None
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The row for ``--json``: every field but the category (the list it is in says it)."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__ if name != "category"}

    def cells(self) -> dict[str, str]:
        """The row as text: column -> cell (the text table and the HTML page)."""
        margin_unit = f" {self.margin_unit}" if self.margin_unit and self.margin_change is not None else ""
        return {
            "step": self.step,
            "point": point_text(self.point) or "-",
            "repeat": self.repeat,
            "value": self.value,
            "A": format_number(self.a),
            "B": format_number(self.b),
            "delta": _signed(self.delta),
            "unit": self.unit,
            "verdict": f"{self.verdict_a or '-'} -> {self.verdict_b or '-'}",
            "requirement": self.requirement or "-",
            "margin A": format_number(self.margin_a),
            "margin B": format_number(self.margin_b),
            "margin change": _signed(self.margin_change) + margin_unit,
            "why": self.reason,
        }


def _signed(x: float | None) -> str:
    return "-" if x is None else ("+" if x > 0 else "") + format_number(x)


@dataclass(frozen=True)
class Comparison:
    """Run B against run A: who and what each run was, the thresholds, and every row, listed
    in :data:`CATEGORIES` order (regressions first)."""

    run_a: dict[str, Any]
    run_b: dict[str, Any]
    thresholds: tuple[Threshold, ...]
    rows: list[Row]
    notes: list[str] = field(default_factory=list)

    def by_category(self) -> dict[str, list[Row]]:
        groups: dict[str, list[Row]] = {category: [] for category in CATEGORIES}
        for row in self.rows:
            groups[row.category].append(row)
        return groups

    @property
    def regressed(self) -> bool:
        return any(row.category == "regressions" for row in self.rows)

    def to_dict(self) -> dict[str, Any]:
        """The comparison for ``--json``."""
        groups = self.by_category()
        return {
            "run_a": self.run_a,
            "run_b": self.run_b,
            "thresholds": [threshold.text for threshold in self.thresholds],
            "notes": self.notes,
            "summary": {category: len(rows) for category, rows in groups.items()},
            **{category: [row.to_dict() for row in rows] for category, rows in groups.items()},
        }


# --- reading the records ----------------------------------------------------------------------

Key = tuple[str, tuple[tuple[str, str], ...], str]


def _measurements(record: Mapping[str, Any], where: Path) -> dict[Key, dict[str, Any]]:
    """The run's measurements by (step, sweep point, repeat). A measurement recorded twice
    keeps its later record (the one the run ended with)."""
    found: dict[Key, dict[str, Any]] = {}
    for n, m in enumerate(record.get("measurements", [])):
        if not isinstance(m, dict) or not isinstance(m.get("step"), str):
            raise FivegbenchError(f"{where}: measurement {n + 1} is not a measurement (no step)")
        point = m.get("point") or {}
        found[(m["step"], tuple((str(k), str(v)) for k, v in point.items()), str(m.get("repeat", "1/1")))] = m
    return found


class Reading(NamedTuple):
    """A recorded value: its number (None when it was not measured) and its unit."""

    number: float | None
    unit: str


def _number(x: object) -> float | None:
    return float(x) if isinstance(x, int | float) and not isinstance(x, bool) else None


def _values(m: Mapping[str, Any] | None) -> dict[str, Reading]:
    """Value name -> its reading."""
    found: dict[str, Reading] = {}
    for name, entry in ((m or {}).get("values") or {}).items():
        entry = entry if isinstance(entry, dict) else {}
        found[name] = Reading(_number(entry.get("value")), str(entry.get("unit") or ""))
    return found


def _checks(m: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Requirement name -> its check."""
    checks = (m or {}).get("checks") or []
    return {c["requirement"]: c for c in checks if isinstance(c, dict) and "requirement" in c}


def _judged_values(sides: Sequence[Mapping[str, Any]]) -> dict[str, list[str]]:
    """Value name -> the requirements whose margin its row shows. A requirement goes to the
    value of its own name when it judges one (``aclr_lower1``), else to the value that decided
    it, else to its first limit's value."""
    alternatives: dict[str, list[str]] = {}
    decided: dict[str, str] = {}
    for m in sides:
        for requirement in m.get("limits") or []:
            names = [limit.get("value") for limit in requirement.get("alternatives") or []]
            alternatives.setdefault(str(requirement.get("name")), []).extend(n for n in names if n)
        for name, check in _checks(m).items():
            alternatives.setdefault(name, [])
            if (check.get("decided_by") or {}).get("value"):
                decided.setdefault(name, check["decided_by"]["value"])
    judged: dict[str, list[str]] = {}
    for requirement, names in alternatives.items():
        value = requirement if requirement in names else decided.get(requirement) or next(iter(names), None)
        judged.setdefault(value or requirement, []).append(requirement)
    return judged


def _verdict(m: Mapping[str, Any] | None, check: Mapping[str, Any] | None) -> str | None:
    """The outcome of one requirement in one run: its check's, unless the measurement as a
    whole is no PASS or FAIL (ERROR, SKIPPED, ...) or was judged INCONCLUSIVE though every
    check passed (an invalid measurement, such as an analyzer overload)."""
    if m is None:
        return None
    verdict = str(m.get("verdict"))
    if check is None or verdict not in ("PASS", "FAIL", "INCONCLUSIVE"):
        return verdict
    passed = check.get("passed")
    outcome = "PASS" if passed is True else "FAIL" if passed is False else "INCONCLUSIVE"
    if outcome == "PASS" and verdict == "INCONCLUSIVE" and all(c.get("passed") for c in _checks(m).values()):
        return verdict
    return outcome


def _margin(check: Mapping[str, Any] | None) -> tuple[float | None, str | None]:
    """A check's margin and its unit (None, None when it has none)."""
    margin = _number((check or {}).get("margin"))
    limit = (check or {}).get("decided_by") or {}
    if margin is None or "unit" not in limit:
        return None, None
    return margin, margin_unit(str(limit["unit"]))


def _in_unit(reading: Reading | None, unit: str) -> float | None:
    """The reading's number in ``unit``; None when it has none or its unit measures another thing."""
    if reading is None or reading.number is None or reading.unit == unit:
        return None if reading is None else reading.number
    kind = units.kind_of_unit(reading.unit)
    if kind is None or kind != units.kind_of_unit(unit):
        return None
    return units.convert(reading.number, reading.unit, unit)


def _difference(a: float | None, b: float | None) -> float | None:
    """``b - a``, rounded to 1e-9: the float noise of recorded numbers (11.222000000000001) is
    no change."""
    return None if a is None or b is None else round(b - a, 9)


# --- the comparison ---------------------------------------------------------------------------


def _classify(
    verdict_a: str | None,
    verdict_b: str | None,
    change: float | None,
    unit: str | None,
    threshold: float | None,
) -> tuple[str, str]:
    """(category, why) of a row with a requirement in both runs."""
    lost = change is not None and threshold is not None and change < -threshold
    gained = change is not None and threshold is not None and change > threshold
    if verdict_a == "PASS" and verdict_b != "PASS":
        return "regressions", f"{verdict_a} -> {verdict_b}"
    if lost:
        return "regressions", f"margin {_signed(change)} {unit} (threshold {format_number(threshold)} {unit})"
    if verdict_b == "PASS" and verdict_a != "PASS":
        return "improvements", f"{verdict_a} -> {verdict_b}"
    if gained:
        return "improvements", f"margin {_signed(change)} {unit}"
    return "unchanged", ""


def _rows(
    key: Key, ma: dict[str, Any] | None, mb: dict[str, Any] | None, thresholds: Sequence[Threshold]
) -> Iterator[Row]:
    """The rows of one measurement (matched, or in one run only): one per value and requirement."""
    step, point, repeat = key
    values_a, values_b = _values(ma), _values(mb)
    checks_a, checks_b = _checks(ma), _checks(mb)
    judged = _judged_values([m for m in (ma, mb) if m is not None])
    for name in dict.fromkeys([*values_a, *values_b, *judged]):
        a, b = values_a.get(name), values_b.get(name)
        unit = (a or b or Reading(None, "")).unit
        number_a, number_b = _in_unit(a, unit), _in_unit(b, unit)
        requirements: list[str | None] = [*judged.get(name, [])] or [None]
        for requirement in requirements:
            check_a = checks_a.get(requirement) if requirement else None
            check_b = checks_b.get(requirement) if requirement else None
            verdict_a, verdict_b = _verdict(ma, check_a), _verdict(mb, check_b)
            (margin_a, unit_a), (margin_b, unit_b) = _margin(check_a), _margin(check_b)
            unit_m = unit_b or unit_a
            change = _difference(margin_a, margin_b)
            if unit_a != unit_b:
                change = None  # margins of different kinds (two runs judged by different limits)
            if ma is None:
                category, why = "only_in_b", ""
            elif mb is None:
                category, why = "only_in_a", ""
            elif requirement is None:
                category, why = "unchanged", ""  # an unjudged value: shown, never judged here
            else:
                threshold = threshold_for(thresholds, unit_m) if unit_m else None
                category, why = _classify(verdict_a, verdict_b, change, unit_m, threshold)
            yield Row(
                category=category,
                step=step,
                point=dict(point),
                repeat=repeat,
                value=name,
                unit=unit,
                a=number_a,
                b=number_b,
                delta=_difference(number_a, number_b),
                verdict_a=verdict_a,
                verdict_b=verdict_b,
                requirement=requirement,
                margin_a=margin_a,
                margin_b=margin_b,
                margin_unit=unit_m,
                margin_change=change,
                reason=why,
            )


def _summary(record: Mapping[str, Any], path: Path) -> dict[str, Any]:
    """Who, what and when of a run, for the heading of a comparison."""
    dut = record.get("dut") or {}
    return {
        "run_id": record.get("run_id"),
        "path": str(path),
        "trial": record.get("trial"),
        "plan": record.get("plan_file"),
        "plan_sha256": record.get("plan_sha256"),
        "dut": {key: dut.get(key) for key in ("vendor", "model", "serial", "firmware")},
        "software": record.get("software"),
        "started": record.get("started"),
        "status": record.get("status"),
        "simulated": record.get("simulated"),
    }


def _notes(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[str]:
    """What a reader must know before trusting the rows."""
    notes = []
    if a.get("plan_sha256") != b.get("plan_sha256"):
        notes.append("the runs used different plans (plan sha256 differs): limits and points may differ")
    serial_a, serial_b = (r.get("dut", {}).get("serial") for r in (a, b))
    if serial_a != serial_b:
        notes.append(f"different DUTs: A is serial {serial_a}, B is serial {serial_b}")
    if bool(a.get("simulated")) != bool(b.get("simulated")):
        notes.append("one run is on the simulated bench, the other is not")
    return notes


def compare(run_a: Path, run_b: Path, thresholds: Sequence[Threshold] = ()) -> Comparison:
    """Compare run B (newer) with run A (baseline); each is a run folder or its record.json.

    ``thresholds`` default to :data:`DEFAULT_THRESHOLD`. Raises FivegbenchError (one line) for
    a folder without a record or a record that cannot be read.
    """
    thresholds = tuple(thresholds) or (Threshold.parse(DEFAULT_THRESHOLD),)
    record_a, record_b = read_record(run_a), read_record(run_b)
    measured_a, measured_b = _measurements(record_a, run_a), _measurements(record_b, run_b)
    rows = [
        row
        for key in dict.fromkeys([*measured_a, *measured_b])
        for row in _rows(key, measured_a.get(key), measured_b.get(key), thresholds)
    ]
    order = {category: n for n, category in enumerate(CATEGORIES)}
    rows.sort(key=lambda row: order[row.category])  # stable: run order within a category
    summary_a, summary_b = _summary(record_a, run_a), _summary(record_b, run_b)
    return Comparison(summary_a, summary_b, thresholds, rows, _notes(summary_a, summary_b))


def html_page(comparison: Comparison) -> str:
    """The comparison as one self-contained HTML page (inline CSS, no external resource, every
    text escaped), regressions first."""
    from jinja2 import Environment, PackageLoader

    env = Environment(
        loader=PackageLoader("fivegbench.report", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    template = env.get_template("compare.html")
    return template.render(comparison=comparison, groups=comparison.by_category(), titles=CATEGORIES)
