"""``junit.xml``: the run as a JUnit (Surefire dialect) test suite, for CI dashboards.

One testcase per measurement. FAIL and INCONCLUSIVE are failures (type tells which), ERROR and
ABORTED are errors, SKIPPED is skipped: a device out of spec and a harness failure stay apart.
Streamed from the journal like ``record.json``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any
from xml.sax.saxutils import quoteattr

from fivegbench.record import RunRecord

_FAILURES = {"FAIL", "INCONCLUSIVE"}
_ERRORS = {"ERROR", "ABORTED"}


def _case(m: dict[str, Any]) -> str:
    point = ", ".join(f"{k} {v}" for k, v in m["point"].items())
    name = f"{m['index']:04d} {m['step']}" + (f" [{point}]" if point else "")
    if m.get("repeat", "1/1") != "1/1":
        name += f" (repeat {m['repeat']})"
    head = f"    <testcase name={quoteattr(name)} classname={quoteattr(m['kind'])}"
    verdict = m["verdict"]
    failed = [c for c in m.get("checks", []) if c.get("passed") is not True]
    detail = "; ".join(f"{c['requirement']}: margin {c.get('margin')}" for c in failed)
    message = m.get("error") or m.get("conditions", {}).get("invalid") or detail or verdict
    if verdict in _FAILURES:
        inner = f"<failure type={quoteattr(verdict)} message={quoteattr(message)}/>"
    elif verdict in _ERRORS:
        inner = f"<error type={quoteattr(verdict)} message={quoteattr(message)}/>"
    elif verdict == "SKIPPED":
        inner = f"<skipped message={quoteattr(message)}/>"
    else:
        return head + "/>\n"
    return f"{head}>{inner}</testcase>\n"


def junit_xml(record: RunRecord, measurements: Iterable[dict[str, Any]]) -> Iterator[str]:
    """The document in pieces; counts come from the record, cases from ``measurements``."""
    counts = record.counts
    failures = sum(counts.get(v, 0) for v in _FAILURES)
    errors = sum(counts.get(v, 0) for v in _ERRORS)
    properties = {
        "plan": record.plan_file,
        "plan_sha256": record.plan_sha256,
        "bench": record.bench_name,
        "simulated": str(record.simulated).lower(),
        "operator": record.operator,
        "status": record.status,
        "safe_state": record.safe_state,
        "software": record.software,
    }
    yield '<?xml version="1.0" encoding="UTF-8"?>\n'
    yield (
        f'<testsuite name={quoteattr(record.trial)} tests="{sum(counts.values())}" '
        f'failures="{failures}" errors="{errors}" skipped="{counts.get("SKIPPED", 0)}" '
        f"timestamp={quoteattr(record.started)} hostname={quoteattr(record.host)} "
        f"id={quoteattr(record.run_id)}>\n"
    )
    yield "  <properties>\n"
    for name, value in properties.items():
        yield f"    <property name={quoteattr(name)} value={quoteattr(value)}/>\n"
    yield "  </properties>\n"
    for m in measurements:
        yield _case(m)
    yield "</testsuite>\n"
