"""The bench and the DUT are who they claim to be: calibration dates stop a run at preflight
(or flag every measurement with --allow-expired-calibration), and instruments or a DUT that do
not answer with the declared serials and firmware stop the run before RF is on (or are flagged
under ``identity: warn``)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
import yaml

from tests.simserve import ROOT, SIM_BENCH, sim_serve, write_bench

PLAN = """trial: identity
dut: {vendor: VHT, model: gNodeB 8T8R, serial: SERIAL, firmware: FIRMWARE}
POLICY
cell: {band: n78, center_frequency: 3750 MHz, bandwidth: 100 MHz, scs: 30 kHz, tdd_pattern: DDDSU,
       special_slot: "10:2:2", tx_power: 40 dBm, test_model: NR-FR1-TM1.1}
steps:
  - name: channel power
    measure: rf.power
    limits: {channel_power: {min: 30 dBm, max: 50 dBm}}
"""


def plan(tmp_path: Path, serial: str = "GNB-0042", firmware: str = "2.3.1", policy: str = "") -> Path:
    path = tmp_path / "plan.yaml"
    path.write_text(PLAN.replace("SERIAL", serial).replace("FIRMWARE", firmware).replace("POLICY", policy))
    return path


def fivegbench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fivegbench", *args], cwd=ROOT, capture_output=True, text=True, timeout=180
    )


def only_run(results: Path) -> Path:
    (run_dir,) = [p for p in results.iterdir() if p.is_dir()]
    return run_dir


def simulated_bench(tmp_path: Path, **due: str) -> Path:
    """The simulated bench with some roles' calibration_due changed."""
    bench = yaml.safe_load(SIM_BENCH.read_text())
    for role, when in due.items():
        bench["instruments"][role]["calibration_due"] = date.fromisoformat(when)
    path = tmp_path / "bench.yaml"
    path.write_text(yaml.safe_dump(bench, sort_keys=False))
    return path


# -- calibration ---------------------------------------------------------------------------------


def test_an_expired_calibration_stops_validate_and_run_at_the_bench_line(tmp_path):
    bench = simulated_bench(tmp_path, analyzer="2020-01-31")
    line = bench.read_text().splitlines().index("    calibration_due: 2020-01-31") + 1
    expected = (
        f"{bench}:{line}:5: instruments.analyzer.calibration_due: calibration expired on 2020-01-31 "
        f"(test date {date.today()}): recalibrate the instrument, or run with "
        "--allow-expired-calibration to flag every measurement it takes\n"
    )
    proc = fivegbench("validate", str(plan(tmp_path)), "--bench", str(bench))
    assert (proc.returncode, proc.stderr) == (2, expected)
    results = tmp_path / "results"
    proc = fivegbench("run", str(plan(tmp_path)), "--bench", str(bench), "--results", str(results))
    assert (proc.returncode, proc.stderr) == (2, expected)
    assert not results.exists()


def test_an_instrument_the_plan_does_not_use_may_be_past_its_date(tmp_path):
    bench = simulated_bench(tmp_path, ue="2020-01-31")  # rf.power does not use the UE
    bench_data = yaml.safe_load(bench.read_text())
    assert bench_data["instruments"]["ue"]["calibration_due"] == date(2020, 1, 31)
    proc = fivegbench("validate", str(plan(tmp_path)), "--bench", str(bench))
    assert proc.returncode == 0, proc.stderr


def test_allowed_expired_calibration_flags_every_measurement_it_took(tmp_path):
    bench = simulated_bench(tmp_path, analyzer="2020-01-31")
    results = tmp_path / "results"
    proc = fivegbench(
        "run",
        str(plan(tmp_path)),
        "--bench",
        str(bench),
        "--results",
        str(results),
        "--allow-expired-calibration",
    )
    assert proc.returncode == 0, proc.stderr
    run_dir = only_run(results)
    record = json.loads((run_dir / "record.json").read_text())
    assert record["flags"] == [
        "analyzer calibration expired 2020-01-31 (run with --allow-expired-calibration)"
    ]
    (measurement,) = record["measurements"]
    assert measurement["flags"] == ["analyzer calibration expired 2020-01-31"]
    report = (run_dir / "report.html").read_text()
    assert "⚑ analyzer calibration expired 2020-01-31" in report and "Flags" in report


# -- identity ------------------------------------------------------------------------------------


def test_a_dut_that_is_not_the_plans_stops_the_run_before_rf_on(tmp_path):
    results = tmp_path / "results"
    proc = fivegbench(
        "run", str(plan(tmp_path, serial="GNB-0099", firmware="2.4.0")), "--results", str(results)
    )
    assert proc.returncode == 2
    assert proc.stderr.splitlines()[-1] == (
        "error: gnb: the plan's DUT serial is GNB-0099, the gNB reports 'GNB-0042'; "
        "gnb: the plan's DUT firmware is 2.4.0, the gNB reports '2.3.1' "
        "(stopped before RF on; fix the bench or the plan's dut, or set identity: warn)"
    )
    sent = [line for line in (only_run(results) / "io.log").read_text().splitlines() if "  gnb  >  " in line]
    assert sent and not any(line.endswith("rf on") for line in sent)


def test_identity_warn_records_and_flags_the_mismatch(tmp_path):
    results = tmp_path / "results"
    proc = fivegbench(
        "run", str(plan(tmp_path, serial="GNB-0099", policy="identity: warn")), "--results", str(results)
    )
    assert proc.returncode == 0, proc.stderr
    record = json.loads((only_run(results) / "record.json").read_text())
    assert record["flags"] == ["identity: gnb: the plan's DUT serial is GNB-0099, the gNB reports 'GNB-0042'"]
    assert record["counts"] == {"PASS": 1}


@pytest.fixture
def sim():
    with sim_serve() as resources:
        yield resources


def test_an_instrument_answering_with_another_serial_stops_the_run(tmp_path, sim):
    bench = write_bench(tmp_path, sim)
    data = yaml.safe_load(bench.read_text())
    data["instruments"]["analyzer"]["serial"] = "101235"  # the served analyzer is 101234
    bench.write_text(yaml.safe_dump(data, sort_keys=False))
    results = tmp_path / "results"
    proc = fivegbench("run", str(plan(tmp_path)), "--bench", str(bench), "--results", str(results))
    assert proc.returncode == 2
    last = proc.stderr.splitlines()[-1]
    assert last.startswith("error: analyzer: the bench declares serial 101235, the instrument answers '")
    assert "101234" in last and "stopped before RF on" in last
