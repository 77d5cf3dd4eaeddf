"""The trial report (issue 10): every example plan's run, an interrupted run and a run with an
ERROR render with every required section, every measurement exactly once, nothing external, and
everything that comes from an instrument, a plan or a console shown as text."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fivegbench.errors import InstrumentError
from fivegbench.report import write_report
from fivegbench.runner import execute
from fivegbench.sim.link import available
from tests.report.page import anchor, assert_complete_report, parse
from tests.test_runner import echo_power, make_context

ROOT = Path(__file__).resolve().parents[2]
SHORT = ROOT / "tests" / "data" / "plans"
# the conformance plans run on a served lab bench in tests/test_conformance_plans.py, which checks
# their reports with assert_complete_report
PLANS = sorted(
    p.stem
    for p in (ROOT / "testplans").glob("*.yaml")
    if "conformance" not in p.stem or p.stem == "rf-conformance"
)
HOSTILE = '<script>alert("x")</script>'


def _plan(stem: str) -> Path:
    plan = ROOT / "testplans" / f"{stem}.yaml"
    return SHORT / plan.name if (SHORT / plan.name).is_file() else plan


@pytest.mark.parametrize("stem", PLANS)
def test_the_report_of_each_example_plan_is_complete(plan_run, stem):
    if (
        "traffic." in (ROOT / "testplans" / f"{stem}.yaml").read_text()
        and (reason := available()) is not None
    ):
        pytest.skip(f"the simulated traffic path needs the link emulator: {reason}")
    done = plan_run(_plan(stem))
    assert done.returncode in (0, 1), done.output[-2000:]
    assert_complete_report(done.run_dir)


def test_the_demo_report_states_the_failure_with_margin_in_db_and_the_traceability(plan_run):
    done = plan_run(ROOT / "testplans" / "demo.yaml")
    page = parse(done.run_dir / "report.html")
    text = page.all_text
    record = json.loads((done.run_dir / "record.json").read_text())
    failed = [m for m in record["measurements"] if m["verdict"] == "FAIL"]
    assert len(failed) == 1 and page.ids[anchor(failed[0])] == 1
    # the failure list links to it; its margin is in dB although the deciding limit is in dBm/MHz
    assert f"#{anchor(failed[0])}" in page.links
    margin = min(c["margin"] for c in failed[0]["checks"])
    assert f"{margin:.2f} dB" in text and f"{margin:.2f} dBm" not in text
    for identity in (i["identity"] for i in record["instruments"].values() if i["identity"]):
        assert identity in text
    assert record["plan_sha256"] in text and record["report_id"] in text
    assert "Tested by" in text and "Reviewed by" in text
    assert "TS 38.141-1" in text and "shared-risk principle" in text


def _abort_after_first(ctx):
    def interrupted(mctx, step):
        if step.index == 1:
            ctx.stop.on_signal()
        return echo_power(mctx, step)

    return interrupted


def test_the_report_of_an_interrupted_run_lists_what_was_not_measured(tmp_path):
    ctx = make_context(tmp_path, echo_power)
    ctx.measurements = {"rf.power": _abort_after_first(ctx)}
    record = execute(ctx)
    assert record.counts == {"PASS": 1, "ABORTED": 2}
    assert_complete_report(tmp_path)
    text = parse(tmp_path / "report.html").all_text
    assert "Overall verdict: INCOMPLETE" in text
    assert text.count("ABORTED — not run: aborted") == 2


def test_the_report_of_a_run_with_an_error_gives_its_cause(tmp_path):
    def second_breaks(mctx, step):
        if step.index == 2:
            raise InstrumentError("analyzer", "INIT;*OPC?", None, f"timeout {HOSTILE}")
        return echo_power(mctx, step)

    execute(make_context(tmp_path, second_breaks, on_error="continue"))
    assert_complete_report(tmp_path)
    page = parse(tmp_path / "report.html")
    assert "Overall verdict: INCOMPLETE" in page.all_text
    assert f"analyzer: INIT;*OPC?: timeout {HOSTILE}" in page.all_text or HOSTILE in page.all_text
    assert page.tags["script"] == 0


def _hostile_copy(plan_run, tmp_path: Path) -> Path:
    done = plan_run(ROOT / "testplans" / "demo.yaml")
    run_dir = tmp_path / "run"
    shutil.copytree(done.run_dir, run_dir)
    record = json.loads((run_dir / "record.json").read_text())
    record["trial"] = f'"; }} </style>{HOSTILE}'
    record["dut"]["firmware"] = f"2.3.1 {HOSTILE}"
    record["environment"] = {"temperature": f"<b>23</b> {HOSTILE}"}
    for instrument in record["instruments"].values():
        if instrument["identity"]:
            instrument["identity"] = f"R&S,FSW<img src=x onerror=alert(1)>,{HOSTILE},1.0"
    record["gnb_readback"] = {
        "version": {"software": HOSTILE},
        "cell": {"band": HOSTILE},
        "differences": [HOSTILE],
    }
    record["measurements"][0]["step"] = f"power {HOSTILE}"
    record["measurements"][0]["point"] = {"tx_power": f"37 dBm {HOSTILE}"}
    record["measurements"][1]["error"] = f"InstrumentError: {HOSTILE}"
    (run_dir / "record.json").write_text(json.dumps(record))
    return run_dir


def test_hostile_strings_from_instruments_plans_and_consoles_appear_as_text(plan_run, tmp_path):
    run_dir = _hostile_copy(plan_run, tmp_path)
    write_report(run_dir)
    page = parse(run_dir / "report.html")
    assert page.tags["script"] == 0 and page.tags["img"] == len(page.sources)  # only the plots' images
    assert all(src.startswith("data:image/png;base64,") for src in page.sources)
    assert page.all_text.count(HOSTILE) >= 8
    assert "R&S,FSW<img src=x onerror=alert(1)>" in page.all_text
    css = " ".join(page.styles)
    assert "</style>" not in css and HOSTILE not in css  # the running header's CSS string is escaped


def test_fivegbench_report_regenerates_the_page_and_refuses_a_folder_without_a_record(plan_run, tmp_path):
    done = plan_run(ROOT / "testplans" / "demo.yaml")
    run_dir = tmp_path / "run"
    shutil.copytree(done.run_dir, run_dir)
    (run_dir / "report.html").unlink()
    command = [sys.executable, "-m", "fivegbench", "report"]
    made = subprocess.run([*command, str(run_dir)], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert made.returncode == 0 and made.stdout.strip() == f"report: {run_dir / 'report.html'}"
    assert_complete_report(run_dir)
    empty = tmp_path / "empty"
    empty.mkdir()
    refused = subprocess.run([*command, str(empty)], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.strip().splitlines() == [
        f"error: {empty}: no record.json (not a run folder, or the run never started)"
    ]


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_every_result_file_gets_the_same_permissions(tmp_path, umask):
    previous = os.umask(umask)
    try:
        execute(make_context(tmp_path, echo_power))
    finally:
        os.umask(previous)
    modes = {p.name: p.stat().st_mode & 0o777 for p in tmp_path.iterdir() if p.is_file()}
    assert {"record.json", "report.html", "junit.xml", "journal.jsonl", "io.log"} <= set(modes)
    assert set(modes.values()) == {0o666 & ~umask}, modes


def test_the_record_of_an_older_fivegbench_still_renders(plan_run, tmp_path):
    done = plan_run(ROOT / "testplans" / "demo.yaml")
    run_dir = tmp_path / "run"
    shutil.copytree(done.run_dir, run_dir)
    record = json.loads((run_dir / "record.json").read_text())
    for key in ("report_id", "local_timezone", "environment", "command_line", "overrides", "versions"):
        del record[key]
    del record["gnb_readback"], record["dut"]["rated_output_power"]
    (run_dir / "record.json").write_text(json.dumps(record))
    write_report(run_dir)
    assert_complete_report(run_dir)
    text = parse(run_dir / "report.html").all_text
    assert f"FGB-{record['run_id']}" in text and "Not read back" in text
