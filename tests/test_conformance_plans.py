"""The two TS 38.141-1 conformance plans end to end, on the simulated bench with each analyzer
family (R&S FSW, Keysight N9030B), served by ``fivegbench sim serve`` and reached as a lab bench so
that each analyzer's error queue can be read after the run: a command a real instrument would
reject (and the simulators reject as it would) cannot pass unnoticed.

One run per plan per family; the tests share them.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
import yaml

from tests.record_checks import assert_valid_junit, assert_valid_record
from tests.report.page import assert_complete_report
from tests.simserve import ROOT, SIM_PROFILE, sim_serve

PLANS = ("nr-fr1-conformance", "nr-n41-conformance")
FAMILIES = {"rs_fsw": "sim.yaml", "keysight_x": "sim-keysight.yaml"}
SERVED = ("analyzer", "gnb", "attenuator")
CARRIER_HZ = {"nr-fr1-conformance": 3750e6, "nr-n41-conformance": 2550e6}
#: The simulated gNB's reference oscillator is 0.01 ppm off (GnbState.freq_error_ppm, a model
#: assumption of the simulator).
SIM_FREQ_ERROR_PPM = 0.01


@dataclass(frozen=True)
class Run:
    code: int
    output: str
    seconds: float
    run_dir: Path
    lines: list[dict]
    errors_after: str
    """The analyzer's ``SYST:ERR?`` reply after the run."""


def scpi_query(resource: str, message: str) -> str:
    """One query over a raw SCPI socket (``TCPIP::host::port::SOCKET``)."""
    _, host, port, _ = resource.split("::")
    with socket.create_connection((host, int(port)), timeout=10) as link:
        link.sendall(message.encode() + b"\n")
        reply = b""
        while not reply.endswith(b"\n"):
            chunk = link.recv(4096)
            if not chunk:
                break
            reply += chunk
    return reply.decode().strip()


def lab_bench(folder: Path, family_bench: Path, resources: dict[str, str]) -> Path:
    """The family's simulated bench as a lab bench pointing at the running ``sim serve``."""
    bench = yaml.safe_load(family_bench.read_text())
    bench["simulated"] = False
    bench["instruments"] = {role: bench["instruments"][role] for role in SERVED}
    for role, resource in resources.items():
        bench["instruments"][role]["resource"] = resource
    gnb = bench["instruments"]["gnb"]
    gnb["profile"] = str(SIM_PROFILE)
    secret = folder / "gnb-password"
    secret.write_text(gnb["options"].pop("password") + "\n")
    gnb["options"]["password_file"] = str(secret)
    path = folder / "lab.yaml"
    path.write_text(yaml.safe_dump(bench, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], dict[str, Run]]:
    """``runs(family)``: both plans run on that family's served bench (once per module)."""

    @cache
    def run_family(family: str) -> dict[str, Run]:
        folder = tmp_path_factory.mktemp(family)
        served = yaml.safe_load((ROOT / "instruments/benches" / FAMILIES[family]).read_text())
        served["instruments"] = {role: served["instruments"][role] for role in SERVED}
        served_file = folder / "served.yaml"
        served_file.write_text(yaml.safe_dump(served, sort_keys=False))
        done = {}
        with sim_serve(served_file, SERVED) as resources:
            bench = lab_bench(folder, ROOT / "instruments/benches" / FAMILIES[family], resources)
            for plan in PLANS:
                results = folder / plan
                command = [
                    sys.executable,
                    "-m",
                    "fivegbench",
                    "run",
                    str(ROOT / "testplans" / f"{plan}.yaml"),
                ]
                command += ["--bench", str(bench), "--results", str(results)]
                start = time.monotonic()
                proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
                seconds = time.monotonic() - start
                (run_dir,) = [p for p in results.iterdir() if p.is_dir()]
                lines = [json.loads(line) for line in (run_dir / "journal.jsonl").read_text().splitlines()]
                errors = scpi_query(resources["analyzer"], "SYST:ERR?")
                done[plan] = Run(proc.returncode, proc.stdout + proc.stderr, seconds, run_dir, lines, errors)
        return done

    return run_family


def verdicts(run: Run) -> list[tuple[str, str, str]]:
    return [(line["step"], line["point"].get("tx_power", ""), line["verdict"]) for line in run.lines]


EXPECTED = [
    ("BS output power", "", "PASS"),
    ("ACLR", "", "PASS"),
    ("occupied bandwidth", "", "PASS"),
    ("operating band unwanted emissions", "", "PASS"),
    ("EVM 256QAM", "", "PASS"),
    ("EVM 64QAM", "", "PASS"),
    ("frequency error", "", "PASS"),
    ("ACLR vs TX power", "37 dBm", "PASS"),
    ("ACLR vs TX power", "40 dBm", "PASS"),
    ("ACLR vs TX power", "43 dBm", "PASS"),
    ("ACLR vs TX power", "46 dBm", "FAIL"),  # the PA overdriven 3 dB beyond its rated 43 dBm
]


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("plan", PLANS)
def test_verdicts_pass_at_rated_power_and_fail_overdriven(runs, family, plan):
    run = runs(family)[plan]
    assert run.code == 1, run.output  # the overdriven point fails, by design
    assert verdicts(run) == EXPECTED, run.output
    overdriven = run.lines[-1]
    failed = {check["requirement"] for check in overdriven["checks"] if check["passed"] is False}
    assert failed and failed <= {"aclr_lower1", "aclr_upper1", "aclr_lower2", "aclr_upper2"}
    assert run.seconds < 300  # the budget on 2 cores


@pytest.mark.parametrize("family", FAMILIES)
def test_every_analyzer_error_queue_is_empty_after_a_whole_run(runs, family):
    for plan, run in runs(family).items():
        record = json.loads((run.run_dir / "record.json").read_text())
        assert record["simulated"] is False and record["simulation"] == []  # served as a lab bench
        code = run.errors_after.partition(",")[0]
        assert int(code) == 0, f"{family} after {plan}: {run.errors_after}"


def test_both_analyzer_families_give_the_same_verdicts_and_values(runs):
    for plan in PLANS:
        fsw, keysight = runs("rs_fsw")[plan], runs("keysight_x")[plan]
        assert verdicts(fsw) == verdicts(keysight)
        for a, b in zip(fsw.lines, keysight.lines, strict=True):
            for name in ("channel_power", "evm_rms", "freq_error"):
                if name in a["values"]:
                    # two independent sweeps and captures: each point scatters by ~0.1 dB / 0.05 %
                    # / 0.01 Hz around the world's value
                    tolerance = {"channel_power": 0.3, "evm_rms": 0.15, "freq_error": 0.5}[name]
                    assert b["values"][name]["value"] == pytest.approx(
                        a["values"][name]["value"], abs=tolerance
                    )


@pytest.mark.parametrize("plan", PLANS)
def test_the_iq_measurements_follow_the_simulated_world(runs, plan):
    values = {
        line["step"]: {k: v["value"] for k, v in line["values"].items()}
        for line in runs("rs_fsw")[plan].lines
    }
    assert values["BS output power"]["channel_power"] == pytest.approx(43.0, abs=0.5)
    # 3.5 / 8 % minimum requirements: at rated power the PA leaves a wide margin
    assert 0.2 < values["EVM 256QAM"]["evm_256qam"] < 3.5
    assert 0.2 < values["EVM 64QAM"]["evm_64qam"] < 8.0
    injected_hz = SIM_FREQ_ERROR_PPM * 1e-6 * CARRIER_HZ[plan]  # 37.5 Hz at n78, 25.5 Hz at n41
    assert values["frequency error"]["freq_error"] == pytest.approx(injected_hz, abs=3.0)
    assert values["frequency error"]["freq_error_ppm"] == pytest.approx(SIM_FREQ_ERROR_PPM, abs=1e-3)


@pytest.mark.parametrize(
    ("step", "analysis", "printed", "recorded"),
    [
        ("EVM 256QAM", "evm", "evm_rms_pct", "evm_rms"),
        ("EVM 64QAM", "evm", "evm_rms_pct", "evm_rms"),
        ("frequency error", "freq-error", "freq_error_hz", "freq_error"),
    ],
)
def test_analyze_on_a_saved_capture_reproduces_the_journal_value(runs, step, analysis, printed, recorded):
    run = runs("rs_fsw")["nr-fr1-conformance"]
    (line,) = [line for line in run.lines if line["step"] == step]
    capture = run.run_dir / line["conditions"]["capture"]
    assert capture.suffix == ".sigmf-meta" and capture.with_suffix(".sigmf-data").stat().st_size <= 20_000_000
    command = [sys.executable, "-m", "fivegbench", "analyze", analysis, str(capture)]
    command += ["--bandwidth", "100MHz", "--scs", "30kHz", "--json"]
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)[printed] == line["values"][recorded]["value"]  # exactly


@pytest.mark.parametrize("family", FAMILIES)
def test_every_run_writes_a_valid_record_junit_and_complete_report(runs, family):
    for run in runs(family).values():
        record = assert_valid_record(run.run_dir / "record.json")
        assert_valid_junit(run.run_dir / "junit.xml", record)
        assert_complete_report(run.run_dir)
