"""`fivegbench schema`: the plan and bench reference, generated from the models.

The keys expected here come from the example files a user copies (testplans/, instruments/benches/),
walked independently of the schema code, and from keys written out literally.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import MappingProxyType

import pytest
import yaml

from fivegbench import kinds, schema
from fivegbench.params import ParamSpec

ROOT = Path(__file__).resolve().parent.parent


def fivegbench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fivegbench", *args], cwd=ROOT, capture_output=True, text=True, timeout=60
    )


def _paths(node: object, prefix: str = "") -> set[str]:
    """Key paths of a YAML document, ``[]`` for list items: ``steps[].sweep``."""
    out: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            out.add(path)
            out |= _paths(value, path)
    elif isinstance(node, list):
        for item in node:
            out |= _paths(item, f"{prefix}[]")
    return out


def _keys(section: str) -> set[str]:
    return {k["key"] for k in schema.reference(section)[section]}


@pytest.mark.parametrize("plan", sorted((ROOT / "testplans").glob("*.yaml")), ids=lambda p: p.name)
def test_every_key_of_an_example_plan_is_in_the_reference(plan):
    data = yaml.safe_load(plan.read_text())
    documented = _keys("plan")
    reference = schema.reference("all")["kinds"]
    for path in _paths(data):
        if path.startswith("steps[].sweep.") or path.startswith("steps[].limits."):
            continue  # named by the user (a parameter, a reported value), not keys of the plan
        head = path.split(".")[0:2]
        if path in documented:
            continue
        # a step parameter (or a field of a mapping parameter): documented under the step's kind
        assert head[0] == "steps[]", path
        param, *field = path.split(".")[1:]
        step_kinds = {step["measure"] for step in data["steps"] if param in step}
        for kind in step_kinds:
            params = {p["key"]: p for p in reference[kind]["params"]}
            assert param in params, (path, kind)
            if field:
                assert (
                    params[param]["type"].startswith("mapping of ") and field[0] in params[param]["type"]
                ), path


@pytest.mark.parametrize("bench", sorted((ROOT / "instruments/benches").glob("*.yaml")), ids=lambda p: p.name)
def test_every_key_of_an_example_bench_is_in_the_reference(bench):
    data = yaml.safe_load(bench.read_text())
    documented = _keys("bench")
    drivers = schema.reference("bench")["drivers"]
    for path in _paths(data):
        parts = path.split(".")
        if parts[0] == "instruments" and len(parts) == 2:
            continue  # a role: named by the bench
        if parts[0] == "instruments" and len(parts) > 1:
            role = parts[1]
            if len(parts) > 3 and parts[2] == "options":
                driver = data["instruments"][role]["driver"]
                assert parts[3] in {o["key"] for o in drivers[driver]["options"]}, path
                continue
            path = ".".join(["instruments", "<role>", *parts[2:]])
        assert path in documented, path


def test_keys_a_user_asks_about_are_there_with_their_units():
    plan = {k["key"]: k for k in schema.reference("plan")["plan"]}
    assert plan["cell.arfcn"]["type"] == "int" and plan["cell.arfcn"]["range"] == "0 to 3279165"
    assert plan["cell.center_frequency"]["unit"] == "Hz"
    assert plan["cell.center_frequency"]["range"] == "410 MHz to 52.6 GHz"
    assert plan["steps[].on_error"]["type"] == "one of: stop, continue, skip-step"
    assert plan["steps[].on_error"]["default"] == "stop"
    assert plan["steps[].sweep"]["type"] == "mapping"
    assert plan["trial"]["required"] and plan["trial"]["doc"]
    aclr = {p["key"]: p for p in schema.kind_reference("rf.aclr")["params"]}
    assert aclr["rbw"]["unit"] == "Hz" and aclr["rbw"]["default"] == "100 kHz"
    assert aclr["span"]["range"] == "0 Hz to 100 GHz"
    bench = {k["key"]: k for k in schema.reference("bench")["bench"]}
    assert bench["instruments.<role>.limits.max_tx_power"]["unit"] == "dBm"
    assert bench["rf_path.loss[].frequency"]["unit"] == "Hz"


def test_every_kind_is_described():
    described = schema.reference("all")["kinds"]
    expected = [
        "rf.power",
        "rf.aclr",
        "rf.obw",
        "rf.sem",
        "traffic.throughput",
        "traffic.latency",
        "traffic.capacity",
    ]
    assert set(expected) <= set(described)
    assert described["rf.power"]["values"] == {"channel_power": "dBm"}
    assert described["rf.aclr"]["presets"] == ["3gpp"]


def test_a_parameter_added_to_a_kind_shows_up(monkeypatch):
    kind = kinds.KINDS["rf.obw"]
    added = ParamSpec("time", 0.0, 10.0, default=2.0, doc="how long to average")
    patched = type(kind)(**{**kind.__dict__, "params": {**kind.params, "averaging": added}})
    monkeypatch.setattr(kinds, "KINDS", MappingProxyType({**kinds.KINDS, "rf.obw": patched}))
    text = schema.as_text(schema.reference("kind", "rf.obw"))
    line = next(line for line in text.splitlines() if line.strip().startswith("averaging"))
    assert line.split(None, 1)[1] == "time; in s; 0 s to 10 s; default 2 s.  how long to average"


def test_schema_command_text_json_and_help():
    text = fivegbench("schema")
    assert text.returncode == 0, text.stderr
    for literal in (
        "cell.arfcn",
        "steps[].on_error",
        "KIND rf.aclr",
        "  rbw ",
        "instruments.<role>.resource",
    ):
        assert literal in text.stdout, literal
    data = json.loads(fivegbench("schema", "--format", "json").stdout)
    assert set(data) == {"plan", "bench", "drivers", "kinds"}
    one = json.loads(fivegbench("schema", "kind", "rf.sem", "--format", "json").stdout)
    assert list(one["kinds"]) == ["rf.sem"]
    bench_only = fivegbench("schema", "bench")
    assert "BENCH" in bench_only.stdout and "PLAN" not in bench_only.stdout
    assert fivegbench("schema", "--help").returncode == 0
    unknown = fivegbench("schema", "kind", "rf.nope")
    assert unknown.returncode == 2 and "unknown kind 'rf.nope'" in unknown.stderr
