"""Checks of a run's machine-readable outputs, for any test that has a run folder:
``record.json`` against the committed JSON Schema, ``junit.xml`` against the JUnit XSD and the
record's counts.

    record = assert_valid_record(run_dir / "record.json")
    assert_valid_junit(run_dir / "junit.xml", record)
"""

from __future__ import annotations

import json
from collections import Counter
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from lxml import etree

#: The JUnit XSD (Surefire dialect) Jenkins' xUnit plugin validates against: MIT licence, its
#: header kept. Vendored from shared/data/junit/ so that a clone without shared/ beside it checks
#: the same thing; tests/test_junit.py checks the copy has not drifted from the original.
JUNIT_XSD = Path(__file__).resolve().parent / "data" / "junit-10.xsd"

_FAILURES = ("FAIL", "INCONCLUSIVE")
_ERRORS = ("ERROR", "ABORTED")


@cache
def record_validator() -> Draft202012Validator:
    """The validator of the schema the package ships (``fivegbench/schemas``)."""
    text = resources.files("fivegbench").joinpath("schemas/record.schema.json").read_text(encoding="utf-8")
    return Draft202012Validator(json.loads(text))


@cache
def junit_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(JUNIT_XSD)))


def _not_json(constant: str) -> Any:
    raise AssertionError(f"{constant} is not JSON: a strict reader (jq, a browser) refuses the file")


def _where(path: Any) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".") or "(top level)"


def assert_valid_record(path: Path) -> dict[str, Any]:
    """Fail, saying where and why, unless ``path`` is strict JSON valid against the record schema
    whose ``counts`` tally its measurements' verdicts. Returns the record."""
    try:
        record: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"), parse_constant=_not_json)
    except AssertionError as exc:
        raise AssertionError(f"{path}: {exc}") from None
    errors = sorted(record_validator().iter_errors(record), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        shown = [f"  {_where(e.absolute_path)}: {e.message[:300]}" for e in errors[:10]]
        more = [f"  ... and {len(errors) - 10} more"] if len(errors) > 10 else []
        raise AssertionError("\n".join([f"{path} does not match record.schema.json:", *shown, *more]))
    tally = Counter(m["verdict"] for m in record["measurements"])
    assert record["counts"] == dict(tally), (
        f"{path}: counts {record['counts']} but measurements {dict(tally)}"
    )
    return record


def assert_valid_junit(path: Path, record: dict[str, Any]) -> None:
    """Fail unless ``path`` is valid against the JUnit XSD and tells the record's story: one
    testcase per measurement, in order, each failed, errored or skipped as its verdict says, and
    the suite's counts equal the record's."""
    document = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True))
    schema = junit_schema()
    if not schema.validate(document):
        problems = [f"  line {e.line}: {e.message}" for e in list(schema.error_log)[:10]]
        raise AssertionError("\n".join([f"{path} is not valid against junit-10.xsd:", *problems]))
    suite = document.getroot()
    assert suite.tag == "testsuite", suite.tag
    counts = Counter(record["counts"])
    expected = {
        "tests": sum(counts.values()),
        "failures": sum(counts[v] for v in _FAILURES),
        "errors": sum(counts[v] for v in _ERRORS),
        "skipped": counts["SKIPPED"],
    }
    found = {name: int(suite.get(name, "-1")) for name in expected}
    assert found == expected, f"{path}: testsuite counts {found}, the record's {expected}"
    cases = suite.findall("testcase")
    verdicts = [m["verdict"] for m in record["measurements"]]
    assert len(cases) == len(verdicts), f"{path}: {len(cases)} testcases for {len(verdicts)} measurements"
    outcome = {**dict.fromkeys(_FAILURES, "failure"), **dict.fromkeys(_ERRORS, "error"), "SKIPPED": "skipped"}
    for n, (case, verdict) in enumerate(zip(cases, verdicts, strict=True)):
        assert float(case.get("time", "-1")) >= 0, f"{path}: testcase {n + 1} time {case.get('time')!r}"
        marks = [child.tag for child in case if child.tag in ("failure", "error", "skipped")]
        wanted = [outcome[verdict]] if verdict in outcome else []
        assert marks == wanted, (
            f"{path}: testcase {n + 1} {case.get('name')!r} has {marks}, verdict {verdict}"
        )
        if wanted:
            (mark,) = case.findall(wanted[0])
            assert mark.get("type") == verdict and mark.get("message"), (
                f"{path}: testcase {n + 1} {case.get('name')!r}: type {mark.get('type')!r}, "
                f"message {mark.get('message')!r}"
            )
