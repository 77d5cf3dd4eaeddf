"""Every example plan runs end to end on the simulated bench (the demo and the conformance plans
have their own tests: tests/test_e2e.py, tests/test_conformance_plans.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fivegbench.sim.link import available
from tests.record_checks import assert_valid_junit, assert_valid_record
from tests.test_conformance_plans import PLANS as CONFORMANCE_PLANS

ROOT = Path(__file__).resolve().parent.parent
OWN_TESTS = {"demo", *CONFORMANCE_PLANS}
PLANS = sorted(p.stem for p in (ROOT / "testplans").glob("*.yaml") if p.stem not in OWN_TESTS)
SHORT = ROOT / "tests" / "data" / "plans"  # short variants of the long example plans


@pytest.fixture(scope="module")
def run(plan_run):
    def run_plan(stem: str, bench: str | None = None) -> tuple[int, list[dict]]:
        plan = ROOT / "testplans" / f"{stem}.yaml"
        if (SHORT / plan.name).is_file():  # a few points, short runs: CI stays fast
            plan = SHORT / plan.name
        done = plan_run(plan, ROOT / "instruments/benches" / f"{bench}.yaml" if bench else None)
        record = assert_valid_record(done.run_dir / "record.json")
        assert_valid_junit(done.run_dir / "junit.xml", record)
        return done.returncode, done.lines

    return run_plan


def needs_traffic(stem: str) -> bool:
    return "traffic." in (ROOT / "testplans" / f"{stem}.yaml").read_text()


@pytest.mark.parametrize("stem", PLANS)
def test_example_plan_runs_on_the_simulated_bench(run, stem):
    if needs_traffic(stem) and (reason := available()) is not None:
        pytest.skip(f"the simulated traffic path needs the link emulator: {reason}")
    code, lines = run(stem)
    assert code in (0, 1)
    # a statistical verdict may straddle its limit; nothing may fail to measure
    unwanted = ("ERROR",) if needs_traffic(stem) else ("ERROR", "INCONCLUSIVE")
    assert lines and not [line for line in lines if line["verdict"] in unwanted]


def test_rf_conformance_passes_at_rated_power(run):
    code, lines = run("rf-conformance")
    assert code == 0
    values = {k: v["value"] for line in lines for k, v in line["values"].items()}
    # the simulated carrier occupies BW_Config = 98.28 MHz: its 99 % bandwidth is just below
    assert 96e6 < values["obw"] <= 100e6
    assert values["sem_margin"] > 0
