"""``fivegbench/schemas/record.schema.json``: a valid Draft 2020-12 schema that a run's
``record.json`` matches and that catches drift (an unknown key, a missing field)."""

from __future__ import annotations

import copy
import json
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from tests.record_checks import assert_valid_record

ROOT = Path(__file__).resolve().parent.parent
#: Fields a record gained after the first runs: a record without them is still valid.
NEWER_RUN_FIELDS = (
    "report_id",
    "local_timezone",
    "environment",
    "command_line",
    "overrides",
    "versions",
    "gnb_readback",
    "resumed",
    "flags",
    "simulation",
)
NEWER_MEASUREMENT_FIELDS = ("duration_s", "flags")


@pytest.fixture(scope="module")
def demo(plan_run) -> dict[str, Any]:
    run = plan_run(ROOT / "testplans" / "demo.yaml")
    return json.loads((run.run_dir / "record.json").read_text(encoding="utf-8"))


def written(tmp_path: Path, record: dict[str, Any]) -> Path:
    path = tmp_path / "record.json"
    path.write_text(json.dumps(record), encoding="utf-8")
    return path


def test_the_schema_is_draft_2020_12_and_ships_with_the_package():
    text = resources.files("fivegbench").joinpath("schemas/record.schema.json").read_text(encoding="utf-8")
    schema = json.loads(text)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)
    assert "schemas/*.json" in (ROOT / "pyproject.toml").read_text()  # package data: in the wheel too


def test_every_property_is_described():
    schema = json.loads((ROOT / "fivegbench/schemas/record.schema.json").read_text(encoding="utf-8"))
    measurement = schema["$defs"]["measurement"]["properties"]
    undescribed = [
        name
        for properties in (schema["properties"], measurement)
        for name, spec in properties.items()
        if not spec.get("description")
    ]
    assert not undescribed


def test_the_demo_record_validates(demo, tmp_path):
    assert_valid_record(written(tmp_path, demo))
    assert demo["report_id"] and demo["versions"]  # the run writes the new fields
    assert all(isinstance(m["duration_s"], float) for m in demo["measurements"])


def test_a_record_of_an_older_run_validates(demo, tmp_path):
    old = {k: v for k, v in demo.items() if k not in NEWER_RUN_FIELDS}
    old["measurements"] = [
        {k: v for k, v in m.items() if k not in NEWER_MEASUREMENT_FIELDS} for m in demo["measurements"]
    ]
    assert_valid_record(written(tmp_path, old))


def test_an_unknown_top_level_key_is_refused(demo, tmp_path):
    record = {**demo, "colour": "red"}
    with pytest.raises(AssertionError, match=r"\(top level\): Additional properties .*'colour'"):
        assert_valid_record(written(tmp_path, record))


def test_a_measurement_without_verdict_is_refused(demo, tmp_path):
    record = copy.deepcopy(demo)
    del record["measurements"][2]["verdict"]
    with pytest.raises(AssertionError, match=r"measurements\[2\]: 'verdict' is a required property"):
        assert_valid_record(written(tmp_path, record))


def test_an_unknown_verdict_or_measurement_key_is_refused(demo, tmp_path):
    record = copy.deepcopy(demo)
    record["measurements"][0]["verdict"] = "PASSED"
    record["measurements"][1]["colour"] = "red"
    with pytest.raises(AssertionError) as caught:
        assert_valid_record(written(tmp_path, record))
    assert "measurements[0].verdict: 'PASSED' is not one of" in str(caught.value)
    assert "measurements[1]: Additional properties are not allowed ('colour'" in str(caught.value)


def test_counts_that_do_not_tally_the_measurements_are_refused(demo, tmp_path):
    record = {**demo, "counts": {**demo["counts"], "PASS": demo["counts"]["PASS"] + 1}}
    with pytest.raises(AssertionError, match="counts"):
        assert_valid_record(written(tmp_path, record))


def test_nan_is_not_json(demo, tmp_path):
    path = tmp_path / "record.json"
    path.write_text(json.dumps(demo).replace('"margin": ', '"margin": NaN, "x": ', 1), encoding="utf-8")
    with pytest.raises(AssertionError, match="NaN is not JSON"):
        assert_valid_record(path)
