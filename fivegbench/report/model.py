"""What the trial report says, gathered from a run folder: everything the template shows, computed
here so that the template only lays it out (ISO/IEC 17025 §7.8 lists what a test report carries).
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from fivegbench import history, kinds
from fivegbench.nr.arfcn import hz_to_arfcn
from fivegbench.report.quantities import difference, quantity

#: Verdicts from the worst down: the order of the summary's counts and of the failure list.
VERDICTS = ("FAIL", "INCONCLUSIVE", "ERROR", "ABORTED", "SKIPPED", "PASS")
#: Verdicts that mean the run did not measure everything it was asked to.
INCOMPLETE = frozenset({"ERROR", "ABORTED", "SKIPPED"})
#: Failures and inconclusive results the summary lists (worst first; all are in section 3).
MAX_FAILURES_LISTED = 100
#: Per-point plots in one report at most: every non-PASS point and each step's worst PASS point.
MAX_POINT_PLOTS = 50
#: Condition keys shown per measurement, in this order, with their units.
CONDITIONS = {
    "rbw_hz": ("RBW", "Hz"),
    "vbw_hz": ("VBW", "Hz"),
    "detector": ("detector", ""),
    "span_hz": ("span", "Hz"),
    "sweep_time_s": ("sweep time", "s"),
    "attenuation_db": ("input attenuation", "dB"),
    "reference_level_dbm": ("reference level", "dBm"),
    "path_loss_db": ("path loss", "dB"),
    "measurement_bandwidth_hz": ("measurement bandwidth", "Hz"),
    "sample_rate_hz": ("sample rate", "Hz"),
    "duration_s": ("capture", "s"),
    "test_model": ("test model", ""),
    "mask": ("mask", ""),
    "configured_power_dbm": ("configured power", "dBm"),
}


def plain_name(name: str) -> str:
    """``aclr_lower1`` -> ``ACLR lower 1``: a requirement or value name as a reviewer reads it."""
    words = re.sub(r"(\d+)$", r" \1", name).replace("_", " ").split()
    acronyms = {
        "aclr",
        "evm",
        "obw",
        "sem",
        "obue",
        "rtt",
        "owd",
        "ipdv",
        "ppm",
        "qam",
        "tdd",
        "scs",
        "arfcn",
    }
    text = " ".join(w.upper() if w in acronyms else w for w in words)
    return text[:1].upper() + text[1:] if text else name


def _when(text: str, zone: str) -> dict[str, str]:
    """UTC and local text of an ISO UTC timestamp; ``zone`` is the run's ``+HHMM NAME``."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return {"utc": str(text), "local": ""}
    utc = moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    match = re.match(r"([+-])(\d\d)(\d\d)\s*(.*)", zone or "")
    if match is None:
        return {"utc": utc, "local": ""}
    sign = -1 if match.group(1) == "-" else 1
    offset = timedelta(hours=int(match.group(2)), minutes=int(match.group(3))) * sign
    local = moment.astimezone(timezone(offset)).strftime("%Y-%m-%d %H:%M:%S")
    return {"utc": utc, "local": f"{local} {match.group(4) or match.group(0)}".strip()}


def _duration(started: str, finished: str) -> str:
    try:
        seconds = (
            datetime.fromisoformat(finished.replace("Z", "+00:00"))
            - datetime.fromisoformat(started.replace("Z", "+00:00"))
        ).total_seconds()
    except (ValueError, AttributeError):
        return "unknown"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min {secs:02d} s" if hours else f"{minutes} min {secs:02d} s"


def overall_verdict(counts: dict[str, int], status: str) -> str:
    """One word: FAIL if anything failed; INCOMPLETE if anything was not measured or the run did
    not complete; INCONCLUSIVE if a verdict could not be reached; PASS only if all passed."""
    if counts.get("FAIL"):
        return "FAIL"
    if status != "completed" or any(counts.get(v) for v in INCOMPLETE):
        return "INCOMPLETE"
    if counts.get("INCONCLUSIVE"):
        return "INCONCLUSIVE"
    return "PASS" if counts.get("PASS") else "INCOMPLETE"


def anchor(m: dict[str, Any]) -> str:
    """The HTML id of a measurement: unique per step point and repeat."""
    return f"m{m['index']}-{str(m.get('repeat', '1/1')).split('/')[0]}"


def point_text(m: dict[str, Any]) -> str:
    """A measurement's sweep point, and its repeat when there are several."""
    text = history.point_text(m.get("point", {}))
    repeat = m.get("repeat", "1/1")
    return f"{text} (repeat {repeat})" if repeat != "1/1" else text


@dataclass
class Alternative:
    """One limit of a requirement with the value it judges (a requirement may offer two: the
    less stringent applies)."""

    value: str
    minimum: str
    tolerance: str
    limit: str
    margin: str
    deciding: bool
    unverified: bool
    interval: str


@dataclass
class Check:
    """One requirement of one measurement, as a table row."""

    requirement: str
    clause: str
    alternatives: list[Alternative]
    margin_value: float | None
    passed: bool | None
    note: str

    @property
    def deciding(self) -> Alternative:
        return next((a for a in self.alternatives if a.deciding), self.alternatives[0])


@dataclass
class Row:
    """One measurement: its checks (one row each) and its conditions."""

    m: dict[str, Any]
    anchor: str
    point: str
    checks: list[Check]
    values: str
    conditions: str
    worst_margin: float | None
    reason: str

    @property
    def summary(self) -> str:
        """One line for a passing point: each requirement's deciding value, limit and margin."""
        parts = []
        for check in self.checks:
            alt = check.deciding
            parts.append(f"{check.requirement}: {alt.value} (limit {alt.limit}, margin {alt.margin})")
        return "; ".join(parts) or self.values or "no value"


@dataclass
class StepBlock:
    """One plan step with its measurements."""

    name: str
    kind: str
    counts: dict[str, int]
    problems: list[Row] = field(default_factory=list)
    passing: list[Row] = field(default_factory=list)
    plots: list[Any] = field(default_factory=list)

    def requirements(self) -> list[Check]:
        """Each requirement of the step once (its clause, minimum requirement and tolerance), as
        its first measurement that has it states it."""
        seen: dict[str, Check] = {}
        for r in itertools.chain(self.problems, self.passing):
            for check in r.checks:
                seen.setdefault(check.requirement, check)
        return list(seen.values())

    def in_run_order(self) -> list[dict[str, Any]]:
        """Its measurements in the order they were taken."""
        rows = sorted(
            self.problems + self.passing,
            key=lambda r: (r.m["index"], int(str(r.m.get("repeat", "1/1")).split("/")[0])),
        )
        return [r.m for r in rows]


def _limit_text(alt: dict[str, Any]) -> str:
    low, high, unit = alt.get("low"), alt.get("high"), alt.get("unit", "")
    if low is not None and high is not None:
        return f"{quantity(low, unit, exact=True)} to {quantity(high, unit, exact=True)}"
    if low is not None:
        return f"≥ {quantity(low, unit, exact=True)}"
    if high is not None:
        return f"≤ {quantity(high, unit, exact=True)}"
    return "none"


def _minimum(alt: dict[str, Any]) -> str:
    """The TS 38.104 minimum requirement: a level, or a symmetric accuracy (±2 dB)."""
    value, unit = alt.get("minimum_requirement"), alt.get("unit", "")
    if value is None:
        return "—"
    if alt.get("low") is not None and alt.get("high") is not None:
        return f"±{difference(value, unit, exact=True)}"
    return quantity(value, unit, exact=True)


def _tolerance(alt: dict[str, Any]) -> str:
    """The TS 38.141-1 test tolerance: a difference (dB for levels)."""
    value = alt.get("test_tolerance")
    return "—" if value is None else difference(value, alt.get("unit", ""), exact=True)


def _interval(m: dict[str, Any], name: str) -> str:
    interval = m.get("conditions", {}).get("intervals", {}).get(name)
    if not interval:
        return ""
    unit = m["values"].get(name, {}).get("unit", "")
    level = interval.get("confidence")
    level_text = f"{level * 100:g} % " if isinstance(level, int | float) else ""
    return f"{level_text}CI {quantity(interval.get('low'), unit)} to {quantity(interval.get('high'), unit)}"


def _margin(alt: dict[str, Any], value: float) -> float | None:
    """Distance of ``value`` inside the limit (negative outside); None without a bound."""
    low, high = alt.get("low"), alt.get("high")
    margins = ([value - low] if low is not None else []) + ([high - value] if high is not None else [])
    return min(margins) if margins else None


def _alternative(m: dict[str, Any], alt: dict[str, Any], deciding: bool) -> Alternative:
    name, unit = alt["value"], alt.get("unit", "")
    value = m["values"].get(name)
    margin = _margin(alt, value["value"]) if value and isinstance(value["value"], int | float) else None
    return Alternative(
        value=f"{plain_name(name)} {quantity(value['value'], value['unit'])}"
        if value
        else f"{plain_name(name)} missing",
        minimum=_minimum(alt),
        tolerance=_tolerance(alt),
        limit=_limit_text(alt),
        margin=difference(margin, unit) if margin is not None else "—",
        deciding=deciding,
        unverified=bool(alt.get("tolerance_unverified")),
        interval=_interval(m, name),
    )


def _checks(m: dict[str, Any]) -> list[Check]:
    checks = {c["requirement"]: c for c in m.get("checks", [])}
    out = []
    for requirement in m.get("limits", []):
        check = checks.get(requirement["name"], {})
        decided_by = check.get("decided_by") or requirement["alternatives"][0]
        alternatives = [_alternative(m, alt, alt == decided_by) for alt in requirement["alternatives"]]
        out.append(
            Check(
                requirement=plain_name(requirement["name"]),
                clause=decided_by.get("clause") or "",
                alternatives=alternatives,
                margin_value=check.get("margin"),
                passed=check.get("passed"),
                note=check.get("note") or "",
            )
        )
    return out


#: Plan fields stored in base units, shown with theirs.
_FIELD_UNITS = {
    "center_frequency": "Hz",
    "bandwidth": "Hz",
    "scs": "Hz",
    "tx_power": "dBm",
    "rated_output_power": "dBm",
}


def described(fields: dict[str, Any]) -> str:
    """``Key value`` pairs of the DUT or cell, quantities with units, empty fields left out."""
    parts = []
    for key, value in fields.items():
        if value is None:
            continue
        if key in _FIELD_UNITS and isinstance(value, int | float):
            value = quantity(value, _FIELD_UNITS[key], exact=True)
        elif isinstance(value, list):
            value = ":".join(map(str, value))
        parts.append(f"{plain_name(key)} {value}")
    return "; ".join(parts)


def _arfcn(cell: dict[str, Any]) -> int | None:
    """The carrier's NR-ARFCN: as the plan gives it, or of its centre frequency on the raster."""
    if cell.get("arfcn") is not None:
        return int(cell["arfcn"])
    try:
        return hz_to_arfcn(float(cell["center_frequency"]))
    except (KeyError, TypeError, ValueError):
        return None


def _conditions(m: dict[str, Any], cell: dict[str, Any]) -> str:
    c = m.get("conditions", {})
    parts = [
        f"{label} {quantity(c[key], unit, exact=True) if unit else c[key]}"
        for key, (label, unit) in CONDITIONS.items()
        if key in c and c[key] is not None and not isinstance(c[key], list | dict)
    ]
    arfcn = _arfcn(cell)
    if arfcn is not None:
        parts.append(f"NR-ARFCN {arfcn}")
    if "worst_frequency_hz" in c:
        parts.append(f"worst point at {quantity(c['worst_frequency_hz'], 'Hz', exact=True)}")
    return "; ".join(parts)


def row(m: dict[str, Any], cell: dict[str, Any]) -> Row:
    checks = _checks(m)
    margins = [c.margin_value for c in checks if c.margin_value is not None]
    values = "; ".join(
        f"{plain_name(name)} {quantity(v['value'], v['unit'])}" for name, v in m.get("values", {}).items()
    )
    reason = m.get("error") or m.get("conditions", {}).get("invalid") or ""
    return Row(
        m=m,
        anchor=anchor(m),
        point=point_text(m),
        checks=checks,
        values=values,
        conditions=_conditions(m, cell),
        worst_margin=min(margins) if margins else None,
        reason=str(reason),
    )


def steps(measurements: Iterable[dict[str, Any]], cell: dict[str, Any]) -> list[StepBlock]:
    """Measurements grouped by plan step in run order; failures apart from the passing ones."""
    blocks: dict[str, StepBlock] = {}
    for m in measurements:
        block = blocks.setdefault(m["step"], StepBlock(m["step"], m["kind"], Counter()))
        block.counts[m["verdict"]] += 1
        r = row(m, cell)
        (block.passing if m["verdict"] == "PASS" else block.problems).append(r)
    for block in blocks.values():
        block.counts = {v: block.counts[v] for v in VERDICTS if block.counts.get(v)}
    return list(blocks.values())


def point_plot_rows(blocks: Sequence[StepBlock]) -> list[Row]:
    """The measurements that get their own plots: every non-PASS point, then each step's worst
    PASS point (smallest margin), at most :data:`MAX_POINT_PLOTS` in all."""
    chosen = [r for b in blocks for r in b.problems if r.m["verdict"] not in ("SKIPPED", "ABORTED")]
    for b in blocks:
        with_margin = [r for r in b.passing if r.worst_margin is not None]
        if with_margin:
            chosen.append(min(with_margin, key=lambda r: r.worst_margin or 0.0))
        elif b.passing:
            chosen.append(b.passing[0])
    return chosen[:MAX_POINT_PLOTS]


@dataclass
class Instrument:
    role: str
    make: str
    model: str
    serial: str
    firmware: str
    identity: str
    resource: str
    driver: str
    calibration_due: str
    calibration_valid: str


def _idn_fields(identity: str | None) -> tuple[str, str, str, str]:
    """make, model, serial, firmware of an IEEE 488.2 ``*IDN?`` answer (empty when not one)."""
    parts = [p.strip() for p in (identity or "").split(",")]
    return (parts[0], parts[1], parts[2], parts[3]) if len(parts) == 4 else ("", "", "", "")


def instruments(record: dict[str, Any]) -> list[Instrument]:
    """The bench's instruments with their identities and calibration on the test date."""
    tested = str(record.get("started", ""))[:10]
    out = []
    for role, i in record.get("instruments", {}).items():
        make, model, serial, firmware = _idn_fields(i.get("identity"))
        due = i.get("calibration_due")
        if due is None:
            valid = (
                "not calibrated (not a measuring instrument)"
                if role in ("gnb", "ue", "traffic")
                else "no date"
            )
        else:
            valid = "valid" if tested and date.fromisoformat(due) >= date.fromisoformat(tested) else "EXPIRED"
        out.append(
            Instrument(
                role=role,
                make=make,
                model=model or i.get("model") or "",
                serial=serial or i.get("serial") or "",
                firmware=firmware,
                identity=i.get("identity") or "",
                resource=i.get("resource") or "",
                driver=i.get("driver") or "",
                calibration_due=due or "—",
                calibration_valid=valid,
            )
        )
    return out


def error_queue_entries(io_log: Path, limit: int = 200) -> list[str]:
    """Every non-zero answer to ``SYST:ERR?`` in ``io.log`` (time, role, answer)."""
    if not io_log.is_file():
        return []
    found: list[str] = []
    asked: dict[str, bool] = {}
    with open(io_log, encoding="utf-8", errors="replace") as log:
        for line in log:
            parts = line.rstrip("\n").split(None, 3)
            if len(parts) < 4:
                continue
            time, role, way, text = parts
            if way == ">":
                asked[role] = text.strip().upper().startswith(("SYST:ERR?", "SYSTEM:ERROR?", ":SYST:ERR?"))
            elif way == "<" and asked.pop(role, False) and not re.match(r"\s*[+]?0\s*,", text):
                found.append(f"{time} {role}: {text.strip()}")
                if len(found) >= limit:
                    break
    return found


def deviations(record: dict[str, Any], blocks: Sequence[StepBlock], run_dir: Path) -> dict[str, list[str]]:
    """Section 6: what did not run and why, instrument errors, method deviations, caveats, [U]."""
    not_run = [
        f"{r.m['step']} ({r.point or 'single point'}): {r.m['verdict']} — {r.reason or 'no reason recorded'}"
        for b in blocks
        for r in b.problems
        if r.m["verdict"] in INCOMPLETE
    ]
    used = {b.kind for b in blocks}
    methods = [
        f"{name}: {kind.deviation}" for name, kind in kinds.KINDS.items() if name in used and kind.deviation
    ]
    notes: dict[str, None] = {}
    unverified: dict[str, None] = {}
    for b in blocks:
        for r in itertools.chain(b.problems, b.passing):
            for requirement in r.m.get("limits", []):
                for alt in requirement["alternatives"]:
                    note = alt.get("note") or ""
                    if note:
                        notes.setdefault(f"{plain_name(requirement['name'])}: {note}")
                    if alt.get("tolerance_unverified") or "[U]" in note or "UNVERIFIED" in note:
                        unverified.setdefault(f"{plain_name(requirement['name'])} ({alt.get('clause', '')})")
    return {
        "not_run": not_run,
        "errors": error_queue_entries(run_dir / "io.log"),
        "methods": methods,
        "simulation": list(record.get("simulation", [])),
        "unverified": list(unverified),
        "notes": list(notes),
        "flags": list(record.get("flags", [])),
    }


def raw_files(run_dir: Path, measurements: Iterable[dict[str, Any]]) -> list[tuple[str, str]]:
    """(relative link, what it is) for the run's raw data."""
    fixed = [
        ("journal.jsonl", "every measurement as it finished (JSON lines)"),
        ("record.json", "the run record (JSON, schema fivegbench/schemas/record.schema.json)"),
        ("junit.xml", "the verdicts as JUnit XML"),
        ("io.log", "every instrument command and reply"),
        ("run.log", "the run's log"),
        ("plan.yaml", "the plan as run"),
        ("bench.yaml", "the bench as run"),
    ]
    out = [(name, what) for name, what in fixed if (run_dir / name).exists()]
    for m in measurements:
        capture = m.get("conditions", {}).get("capture")
        if capture:
            out.append((capture, f"capture of {m['step']} {point_text(m)}".strip()))
    return out


def text_file(path: Path, limit: int = 200_000) -> str:
    """A text file's content for the report (the plan and bench as run), cut at ``limit``."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return text if len(text) <= limit else text[:limit] + "\n… (cut)"


#: Record fields a run from an older fivegbench lacks, with what the report shows instead.
OPTIONAL_FIELDS: dict[str, Any] = {
    "report_id": "",
    "local_timezone": "",
    "environment": {},
    "command_line": [],
    "overrides": {},
    "versions": {},
    "gnb_readback": None,
    "flags": [],
    "simulation": [],
    "resumed": [],
    "rf_path": {},
    "instruments": {},
    "dut": {},
    "cell": {},
}


def completed(record: dict[str, Any]) -> dict[str, Any]:
    """``record`` with every optional field present (an older run's record lacks some); a run
    without a report ID gets one derived from its run ID."""
    out = dict(record)
    for key, default in OPTIONAL_FIELDS.items():
        if out.get(key) is None:
            out[key] = default.copy() if isinstance(default, dict | list) else default
    out["report_id"] = out["report_id"] or f"FGB-{out.get('run_id', 'unknown')}"
    if not out["versions"] and out.get("software"):
        out["versions"] = {"fivegbench": str(out["software"]).removeprefix("fivegbench ")}
    return out


def summary(record: dict[str, Any]) -> dict[str, Any]:
    counts = record.get("counts", {})
    zone = record.get("local_timezone", "")
    return {
        "verdict": overall_verdict(counts, record.get("status", "")),
        "counts": [(v, counts[v]) for v in VERDICTS if counts.get(v)],
        "total": sum(counts.values()),
        "started": _when(record.get("started", ""), zone),
        "finished": _when(record.get("finished", ""), zone),
        "duration": _duration(record.get("started", ""), record.get("finished", "")),
    }


def failures(blocks: Sequence[StepBlock]) -> Iterator[Row]:
    """Failures and inconclusive results, worst margin first."""
    rows = [r for b in blocks for r in b.problems if r.m["verdict"] in ("FAIL", "INCONCLUSIVE")]
    yield from sorted(
        rows, key=lambda r: (r.m["verdict"] != "FAIL", r.worst_margin if r.worst_margin is not None else 0.0)
    )


def is_raw_link(path: str) -> bool:
    """A relative link inside the run folder (never absolute, never upwards)."""
    return not path.startswith("/") and ".." not in Path(path).parts and "://" not in path
