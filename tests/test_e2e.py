"""End to end: the CLI on the simulated bench, through pyvisa-py and pyserial."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.record_checks import assert_valid_junit, assert_valid_record
from tests.report.page import assert_complete_report

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "testplans" / "demo.yaml"


def fivegbench(*args: str, **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fivegbench", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        **kwargs,
    )


def only_run_dir(results: Path) -> Path:
    runs = [p for p in results.iterdir() if p.is_dir()]
    assert len(runs) == 1, runs
    return runs[0]


@dataclass(frozen=True)
class Finished:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture(scope="module")
def demo_run(plan_run) -> tuple[Finished, Path]:
    done = plan_run(DEMO)  # the session's one demo run (tests/conftest.py)
    return Finished(done.returncode, done.output, done.output), done.run_dir


def test_demo_exits_1_and_reports(demo_run):
    proc, run_dir = demo_run
    assert proc.returncode == 1, proc.stderr
    assert f"report: {run_dir / 'report.html'}" in proc.stdout
    for name in (
        "plan.yaml",
        "bench.yaml",
        "journal.jsonl",
        "record.json",
        "io.log",
        "run.log",
        "report.html",
    ):
        assert (run_dir / name).is_file(), name
    assert (run_dir.parent / "index.sqlite").is_file()
    report = (run_dir / "report.html").read_text()
    assert report.count('data-verdict="FAIL"') == 1 and report.count('data-verdict="PASS"') == 7
    assert "[U]" in report and "2027-06-30" in report and "Rohde&amp;Schwarz,FSW-26" in report
    # per step its sweep plots, and the failed point and each step's worst passing point
    assert report.count("data:image/png;base64,") >= 5


def test_demo_journal_verdicts(demo_run):
    _, run_dir = demo_run
    lines = [json.loads(line) for line in (run_dir / "journal.jsonl").read_text().splitlines()]
    assert len(lines) == 8
    for line in lines:
        assert {"step", "kind", "point", "values", "limits", "verdict", "time"} <= set(line)
    verdicts = {(line["kind"], line["point"]["tx_power"]): line["verdict"] for line in lines}
    assert verdicts == {
        ("rf.power", "37 dBm"): "PASS",
        ("rf.power", "40 dBm"): "PASS",
        ("rf.power", "43 dBm"): "PASS",
        ("rf.power", "46 dBm"): "PASS",
        ("rf.aclr", "37 dBm"): "PASS",
        ("rf.aclr", "40 dBm"): "PASS",
        ("rf.aclr", "43 dBm"): "PASS",
        ("rf.aclr", "46 dBm"): "FAIL",
    }
    power = {
        line["point"]["tx_power"]: line["values"]["channel_power"]["value"]
        for line in lines
        if line["kind"] == "rf.power"
    }
    # referred to the antenna connector: close to the commanded power (the PA compresses at 46 dBm)
    assert power["37 dBm"] == pytest.approx(37.0, abs=0.3)
    assert power["43 dBm"] == pytest.approx(43.0, abs=0.3)
    assert power["46 dBm"] < 46.0


def test_demo_record_traceability(demo_run):
    _, run_dir = demo_run
    record = json.loads((run_dir / "record.json").read_text())
    import hashlib

    assert record["plan_sha256"] == hashlib.sha256(DEMO.read_bytes()).hexdigest()
    assert record["instruments"]["analyzer"]["identity"].startswith("Rohde&Schwarz,FSW")
    assert record["instruments"]["analyzer"]["calibration_due"] == "2027-06-30"
    assert "GNB-0042" in record["instruments"]["gnb"]["identity"]
    assert record["exit_code"] == 1
    first = record["measurements"][0]
    assert first["conditions"]["path_loss_db"] == 40.0
    assert any(limit.get("alternatives") for limit in record["measurements"][-1]["limits"])
    # a simulated run says what the simulation simplifies, in the record and in the report
    assert record["simulated"] is True and any("no SSB" in c for c in record["simulation"])
    assert "no SSB, CSI-RS or PT-RS" in (run_dir / "report.html").read_text()


def test_demo_io_log_has_both_instruments(demo_run):
    _, run_dir = demo_run
    text = (run_dir / "io.log").read_text()
    lines = text.splitlines()
    assert all(len(line.split("  ")) >= 4 for line in lines), [x for x in lines if len(x.split("  ")) < 4][:3]
    assert "  analyzer  >  *IDN?" in text
    assert "  analyzer  >  TRAC:DATA? TRACE1" in text
    assert "<block 40004 bytes>" in text or "<block" in text
    assert "  gnb  >  rf off" in text
    # the safe state's last acts: the Mini-Circuits attenuator to its maximum, read back, then
    # the FSW's input attenuation to its maximum (79 dB), read back; only then is the gNB asked
    # for its version and cell, for the report (a hung console cannot delay the safe state)
    end = max(i for i, line in enumerate(lines) if "  analyzer  " in line) + 1
    assert all("  gnb  " in line for line in lines[end:]) and "  gnb  >  show cell" in "\n".join(lines[end:])
    tail = [line.split("  ", 1)[1] for line in lines[end - 8 : end]]
    assert tail == [
        "attenuator  >  :SETATT=110",
        "attenuator  <  1",
        "attenuator  >  :ATT?",
        "attenuator  <  110.00",
        "analyzer  >  INP:ATT:AUTO OFF",
        "analyzer  >  INP:ATT 79",
        "analyzer  >  INP:ATT?",
        "analyzer  <  7.9E+01",
    ]
    assert "  gnb  >  set tx-power 46.0" in text


def test_validate_demo_ok():
    proc = fivegbench("validate", str(DEMO))
    assert proc.returncode == 0, proc.stderr


def test_validate_refuses_analyzer_overload(tmp_path):
    bench = tmp_path / "bench.yaml"
    text = (
        (ROOT / "instruments/benches/sim.yaml")
        .read_text()
        .replace("max_input_power: 30 dBm", "max_input_power: 5 dBm")
        .replace("profile: sim-gnb", f"profile: {ROOT / 'instruments/profiles/sim-gnb.yaml'}")
    )
    bench.write_text(text)
    proc = fivegbench("validate", str(DEMO), "--bench", str(bench))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    line_no = next(i for i, x in enumerate(DEMO.read_text().splitlines(), 1) if "46 dBm]" in x)
    assert f"demo.yaml:{line_no}:" in lines[0] and "max_input_power" in lines[0]


def ignore_sigint() -> None:  # what a non-interactive shell does to `cmd &`
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def interrupted_run(tmp_path: Path, signals: int) -> tuple[int, str, Path]:
    """Start the demo in the background, send ``signals`` SIGINTs 0.2 s apart once the first
    measurement is in the journal; return (exit code, stderr, run folder)."""
    results = tmp_path / "results"
    proc = subprocess.Popen(
        [sys.executable, "-m", "fivegbench", "run", str(DEMO), "--results", str(results)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=ignore_sigint,
    )
    try:
        deadline = time.monotonic() + 60
        journal = None
        while time.monotonic() < deadline:
            found = list(results.glob("*/journal.jsonl")) if results.exists() else []
            if found and found[0].read_text().count("\n") >= 1:
                journal = found[0]
                break
            time.sleep(0.05)
        assert journal is not None, "the run never finished a measurement"
        for _ in range(signals):
            os.kill(proc.pid, signal.SIGINT)
            time.sleep(0.2)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return proc.returncode, stderr, journal.parent


@pytest.mark.parametrize("signals", [1, 2], ids=["after-current", "at-once"])
def test_sigint_to_background_run_exits_3_with_rf_off(tmp_path, signals):
    code, stderr, run_dir = interrupted_run(tmp_path, signals)
    assert code == 3, stderr
    assert "  gnb  >  rf off" in (run_dir / "io.log").read_text()
    record = assert_valid_record(run_dir / "record.json")
    assert_valid_junit(run_dir / "junit.xml", record)
    assert_complete_report(run_dir)
    assert record["status"] == "aborted"
    assert record["safe_state"].startswith("confirmed: gNB RF off"), record["safe_state"]
    assert "ABORTED" in record["counts"]
    lines = (run_dir / "journal.jsonl").read_text().splitlines()
    assert 1 <= len(lines) < 8 and all(json.loads(line) for line in lines)  # no half-written line


def test_demo_record_and_junit_validate_against_their_schemas(demo_run):
    from lxml import etree

    _, run_dir = demo_run
    record = assert_valid_record(run_dir / "record.json")
    assert_valid_junit(run_dir / "junit.xml", record)
    suite = etree.parse(str(run_dir / "junit.xml")).getroot()
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("8", "1", "0")
    failed = suite.findall("testcase/failure")
    assert len(failed) == 1 and "46 dBm" in failed[0].getparent().get("name")
