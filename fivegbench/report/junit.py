"""``junit.xml``: the run as a JUnit (Surefire dialect) test suite, for CI dashboards.

One testcase per measurement, named by step and sweep point. FAIL and INCONCLUSIVE are failures
(``type`` tells which) whose message states, for each requirement not met, the value, the limit
and the margin with their units; ERROR and ABORTED are errors whose message is the cause; SKIPPED
is skipped. A device out of spec and a harness failure stay apart. Every testcase's
``<system-out>`` holds the whole measurement: values, requirements with their clauses,
conditions. Valid against the Surefire XSD Jenkins' xUnit plugin uses (``junit-10.xsd``).
Streamed from the journal like ``record.json``.
"""

from __future__ import annotations

import json
import math
import re
import shlex
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from fivegbench.record import RunRecord
from fivegbench.report.quantities import difference, quantity

_FAILURES = ("FAIL", "INCONCLUSIVE")
_ERRORS = ("ERROR", "ABORTED")


#: Characters XML 1.0 forbids (C0 controls but TAB/LF/CR, lone surrogates, U+FFFE/U+FFFF).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _clean(text: object) -> str:
    """``text`` as a string XML 1.0 can hold: forbidden characters become U+FFFD."""
    return _NOT_XML.sub("\ufffd", str(text))


def _attr(text: object) -> str:
    """A quoted, escaped attribute value."""
    return quoteattr(_clean(text))


def _text(text: object) -> str:
    """Escaped element text (a CR kept as a reference: parsers turn a bare CR into LF)."""
    return escape(_clean(text), {"\r": "&#13;"})


def _bounds(limit: Mapping[str, Any]) -> str:
    """``>= 44.2 dB``, ``-199.5 Hz to 199.5 Hz``, with [U] when a number in it is unverified."""
    low, high, unit = limit.get("low"), limit.get("high"), limit.get("unit", "")
    if low is not None and high is not None:
        text = f"{quantity(low, unit, exact=True)} to {quantity(high, unit, exact=True)}"
    elif low is not None:
        text = f">= {quantity(low, unit, exact=True)}"
    else:
        text = f"<= {quantity(high, unit, exact=True)}"
    return text + (" [U]" if limit.get("tolerance_unverified") else "")


def _margin(limit: Mapping[str, Any], measured: float) -> float:
    """Distance inside the limit, as :meth:`fivegbench.verdict.Limit.margin` defines it."""
    margins = [measured - limit["low"]] if limit.get("low") is not None else []
    if limit.get("high") is not None:
        margins.append(limit["high"] - measured)
    return min(margins)


def _measured(m: Mapping[str, Any], check: Mapping[str, Any], name: str) -> float | None:
    if name in check.get("measured", {}):
        value: float | None = check["measured"][name]
        return value
    return m.get("values", {}).get(name, {}).get("value")


def failed_requirement(m: Mapping[str, Any], check: Mapping[str, Any]) -> str:
    """One requirement not met, e.g. ``aclr_lower1 = 36.07 dB, limit >= 44.2 dB [U], margin
    -8.13 dB (TS 38.141-1 ...)``: the alternative that came closest to passing."""
    requirement, limit, note = check["requirement"], check.get("decided_by"), check.get("note")
    if limit is None or check.get("margin") is None:
        return f"{requirement}: {note or 'no valid value'}"
    name, unit = limit["value"], limit.get("unit", "")
    text = "" if name == requirement else f"{requirement}: "
    text += (
        f"{name} = {quantity(_measured(m, check, name), unit)}, limit {_bounds(limit)}, "
        f"margin {difference(check['margin'], unit)}"
    )
    if limit.get("clause"):
        text += f" ({limit['clause']})"
    return text + (f": {note}" if note else "")


def failure_reasons(m: Mapping[str, Any]) -> list[str]:
    """Why a measurement is not a PASS: its invalidity or error, then each requirement not met."""
    reasons = (
        [f"measurement invalid: {m['conditions']['invalid']}"]
        if m.get("conditions", {}).get("invalid")
        else []
    )
    if m.get("error"):
        reasons.append(str(m["error"]))
    reasons += [failed_requirement(m, c) for c in m.get("checks", []) if c.get("passed") is not True]
    if not reasons and not m.get("checks"):
        reasons.append("no limits: nothing to judge the values against")
    return reasons or [m["verdict"]]


def _alternative(m: Mapping[str, Any], check: Mapping[str, Any] | None, limit: Mapping[str, Any]) -> str:
    name, unit = limit["value"], limit.get("unit", "")
    measured = _measured(m, check or {}, name)
    text = f"{name} = {quantity(measured, unit)}, limit {_bounds(limit)}"
    if measured is not None and math.isfinite(measured):
        text += f", margin {difference(_margin(limit, measured), unit)}"
    minimum, tolerance = limit.get("minimum_requirement"), limit.get("test_tolerance")
    if minimum is not None:  # two-sided: the half-width of the tolerance, a difference
        two_sided = limit.get("low") is not None and limit.get("high") is not None
        shown = (
            "±" + difference(minimum, unit, exact=True) if two_sided else quantity(minimum, unit, exact=True)
        )
        text += f", minimum requirement {shown}"
    if tolerance is not None:
        text += f", test tolerance {difference(tolerance, unit, exact=True)}"
    return text + (f" ({limit['clause']})" if limit.get("clause") else "")


def _scalar(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, allow_nan=True)


def detail(m: Mapping[str, Any]) -> str:
    """The whole measurement as text: values, requirements with every alternative and clause,
    conditions, flags and error."""
    duration = m.get("duration_s")
    lines = [
        f"{case_name(m)}: measurement {m['index']}, {m['kind']}",
        f"verdict {m['verdict']}, finished {m.get('time')}"
        + (f", took {seconds(duration)} s" if duration is not None else ""),
    ]
    if m.get("values"):
        lines.append("values:")
        lines += [
            f"  {name} = {quantity(v.get('value'), v.get('unit', ''))}" for name, v in m["values"].items()
        ]
    checks = {c["requirement"]: c for c in m.get("checks", [])}
    if m.get("limits"):
        lines.append("requirements:")
    for requirement in m.get("limits", []):
        check = checks.get(requirement["name"])
        outcome = {True: "met", False: "not met", None: "undecided"}[check.get("passed") if check else None]
        lines.append(f"  {requirement['name']}: {outcome}")
        lines += [f"    {_alternative(m, check, limit)}" for limit in requirement["alternatives"]]
        if check and check.get("note"):
            lines.append(f"    note: {check['note']}")
    if m.get("conditions"):
        lines.append("conditions:")
        lines += [f"  {key}: {_scalar(value)}" for key, value in m["conditions"].items()]
    lines += [f"flag: {flag}" for flag in m.get("flags", [])]
    if m.get("error"):
        lines.append(f"error: {m['error']}")
    return "\n".join(lines)


def seconds(value: Any) -> str:
    """A duration for a ``time`` attribute: seconds to the ms, 0 when unknown (never negative)."""
    if not isinstance(value, int | float) or not math.isfinite(value):
        return "0"
    return f"{max(0.0, float(value)):.3f}"


def case_name(m: Mapping[str, Any]) -> str:
    """``ACLR vs TX power [tx_power 46 dBm]``, ``(repeat 2/3)`` added when repeated: stable from
    run to run (step names are unique in a plan), so dashboards follow a point across runs."""
    point = ", ".join(f"{k} {v}" for k, v in m.get("point", {}).items())
    name = str(m["step"]) + (f" [{point}]" if point else "")
    if m.get("repeat", "1/1") != "1/1":
        name += f" (repeat {m['repeat']})"
    return name


def testcase(m: Mapping[str, Any]) -> str:
    """One ``<testcase>`` element."""
    verdict = m["verdict"]
    head = (
        f"  <testcase name={_attr(case_name(m))} classname={_attr(m['kind'])} "
        f"time={_attr(seconds(m.get('duration_s')))}>\n"
    )
    if verdict in _FAILURES:
        reasons = failure_reasons(m)
        inner = (
            f"    <failure type={_attr(verdict)} message={_attr('; '.join(reasons))}>"
            f"{_text(chr(10).join(reasons))}</failure>\n"
        )
    elif verdict in _ERRORS or verdict == "SKIPPED":
        cause = str(m.get("error") or verdict)
        element = "skipped" if verdict == "SKIPPED" else "error"
        inner = f"    <{element} type={_attr(verdict)} message={_attr(cause)}>{_text(cause)}</{element}>\n"
    else:
        inner = ""
    return f"{head}{inner}    <system-out>{_text(detail(m))}</system-out>\n  </testcase>\n"


def _utc(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None


def _properties(record: RunRecord) -> dict[str, str]:
    """What identifies the run, as ``<property>`` pairs (empty ones left out: older runs lack
    the report ID, versions, environment and command line)."""
    dut = record.dut or {}
    properties: dict[str, Any] = {
        "report_id": record.report_id,
        "plan": record.plan_file,
        "plan_sha256": record.plan_sha256,
        "bench": record.bench_name,
        "simulated": str(record.simulated).lower(),
        "operator": record.operator,
        "started": record.started,
        "finished": record.finished,
        "local_timezone": record.local_timezone,
        "status": record.status,
        "exit_code": record.exit_code,
        "safe_state": record.safe_state,
        "software": record.software,
        "command_line": shlex.join(record.command_line),
        **{f"dut.{key}": dut.get(key) for key in ("vendor", "model", "serial", "firmware")},
        **{f"environment.{key}": value for key, value in record.environment.items()},
        **{f"override.{key}": value for key, value in record.overrides.items()},
        **{f"version.{key}": value for key, value in record.versions.items()},
    }
    return {name: str(value) for name, value in properties.items() if value not in (None, "")}


def _run_notes(record: RunRecord) -> str:
    """The run's ``<system-out>``: what a reviewer must know about the run as a whole."""
    lines = [f"status {record.status}, exit code {record.exit_code}"]
    if record.start_state:
        lines.append(f"start state: {record.start_state}")
    lines.append(f"safe state: {record.safe_state}")
    lines += [f"flag: {flag}" for flag in record.flags]
    readback = record.gnb_readback or {}
    if readback.get("version"):
        lines.append("gNB reports: " + ", ".join(f"{k} {v}" for k, v in readback["version"].items()))
    lines += [f"gNB differs from the plan: {d}" for d in readback.get("differences", [])]
    lines += [f"simulation: {caveat}" for caveat in record.simulation]
    lines += [f"resumed {r.get('at')} after {r.get('completed_before')} measurements" for r in record.resumed]
    return "\n".join(lines)


def junit_xml(record: RunRecord, measurements: Iterable[dict[str, Any]]) -> Iterator[str]:
    """The document in pieces; counts come from the record, cases from ``measurements``."""
    counts = record.counts
    started, finished = _utc(record.started), _utc(record.finished)
    suite = {
        "name": record.trial,
        "tests": sum(counts.values()),
        "failures": sum(counts.get(v, 0) for v in _FAILURES),
        "errors": sum(counts.get(v, 0) for v in _ERRORS),
        "skipped": counts.get("SKIPPED", 0),
        # SUREFIRE_TIME: digits and a decimal point only
        "time": seconds((finished - started).total_seconds()) if started and finished else None,
        # Ant's and Surefire's form: ISO 8601 to the second, no zone (UTC here; the exact
        # instant is the "started" property)
        "timestamp": started.strftime("%Y-%m-%dT%H:%M:%S") if started else None,
        "hostname": record.host,
        "id": record.run_id,
    }
    attributes = " ".join(f"{key}={_attr(value)}" for key, value in suite.items() if value is not None)
    yield '<?xml version="1.0" encoding="UTF-8"?>\n'
    yield f"<testsuite {attributes}>\n"
    yield "  <properties>\n"
    for name, value in _properties(record).items():
        yield f"    <property name={_attr(name)} value={_attr(value)}/>\n"
    yield "  </properties>\n"
    for m in measurements:
        yield testcase(m)
    yield f"  <system-out>{_text(_run_notes(record))}</system-out>\n"
    yield "</testsuite>\n"
