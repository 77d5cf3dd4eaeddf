"""The hardware conformance tests (``tests/conformance``), run as a lab runs them (``pytest
--bench <file>``) against ``fivegbench sim serve`` in a process of its own, so they cannot rot;
and the RF interlock that keeps them from switching RF on without ``--allow-rf``."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from fivegbench.drivers.gnb.console import GnbConsole
from fivegbench.drivers.gnb.profile import load_profile
from fivegbench.transport.scripted import ScriptedTransport
from tests.conformance.interlock import RfInterlock, RfNotAllowed
from tests.sim.consoleclient import rf_state
from tests.simserve import ROOT, SIM_BENCH, sim_serve, write_bench

#: The simulated bench without its traffic path (the link emulator needs root and namespaces; the
#: lab bench below uses the traffic tools on this host, ``local``, as the simulated bench does).
SERVED_ROLES = ("analyzer", "gnb", "attenuator", "ue")
#: What the simulated bench (R&S FSW, gNB console, Mini-Circuits, AT modem, local traffic tools)
#: must run: identity 5, the FSW's 11 declared settings, attenuation, TX power and test model,
#: one trace, the error report of FSW, gNB and UE 3, safe state 3 (gNB, attenuator, analyzer), RF on 2.
#: The traffic role (iperf3 and irtt on this host) is on the bench only where both are installed.
TRAFFIC_TOOLS = shutil.which("iperf3") is not None and shutil.which("irtt") is not None
EXPECTED_TESTS = 28 if TRAFFIC_TOOLS else 27
RF_MODULE = "tests/conformance/test_safe_state.py"
RF_TESTS = {
    "test_rf_on_and_off_read_back[gnb]",
    "test_the_safe_state_switches_a_transmitting_gnb_off[gnb]",
}


@pytest.fixture(scope="module")
def lab_bench_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A bench file with ``simulated: false`` pointing at a running ``fivegbench sim serve``."""
    folder = tmp_path_factory.mktemp("conformance")
    served = yaml.safe_load(SIM_BENCH.read_text())
    del served["instruments"]["traffic"]
    served_file = folder / "served.yaml"
    served_file.write_text(yaml.safe_dump(served, sort_keys=False))
    with sim_serve(served_file, SERVED_ROLES) as resources:
        bench = write_bench(folder, resources)
        if not TRAFFIC_TOOLS:
            lab = yaml.safe_load(bench.read_text())
            del lab["instruments"]["traffic"]
            bench.write_text(yaml.safe_dump(lab, sort_keys=False))
        yield bench


def run_conformance(
    bench: Path, folder: Path, *options: str, tests: str = "tests/conformance"
) -> tuple[ET.Element, list[str], str]:
    """``pytest tests/conformance --bench <bench>`` in a subprocess: (its junit test suite, the
    lines of its instrument io.log, its output)."""
    junit, io_log = folder / "junit.xml", folder / "io.log"
    command = [sys.executable, "-m", "pytest", tests, "--bench", str(bench), *options]
    command += ["-q", "-p", "no:cacheprovider", "--junitxml", str(junit), "--bench-io-log", str(io_log)]
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=240)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    (suite,) = ET.parse(junit).getroot().iter("testsuite")
    sent = [line.split("  ", 1)[1] for line in io_log.read_text().splitlines()]
    return suite, sent, output


def outcomes(suite: ET.Element) -> tuple[int, dict[str, str], int]:
    """(tests run, skipped test -> the reason given, failures and errors)."""
    skipped = {
        case.get("name", ""): skip.get("message", "")
        for case in suite.iter("testcase")
        if (skip := case.find("skipped")) is not None
    }
    failed = int(suite.get("failures", "0")) + int(suite.get("errors", "0"))
    return int(suite.get("tests", "0")), skipped, failed


def test_the_conformance_tests_pass_on_the_simulated_bench(lab_bench_file, tmp_path):
    suite, sent, output = run_conformance(lab_bench_file, tmp_path, "--allow-rf")
    assert outcomes(suite) == (EXPECTED_TESTS, {}, 0), output
    assert sent.count("gnb  >  rf on") == 2  # once by each of the 2 RF tests, by no other test
    assert rf_state(yaml.safe_load(lab_bench_file.read_text())["instruments"]["gnb"]["resource"]) == "OFF"


def test_without_allow_rf_the_rf_tests_skip_and_rf_is_never_switched_on(lab_bench_file, tmp_path):
    # The module of the RF tests only (the run above shows no other test sends rf on, even allowed)
    suite, sent, output = run_conformance(lab_bench_file, tmp_path, tests=RF_MODULE)
    skipped = {name: "needs the gNB transmitting: pass --allow-rf" for name in RF_TESTS}
    assert outcomes(suite) == (5, skipped, 0), output  # the 3 safe-state tests run, the 2 RF tests skip
    assert not [line for line in sent if line.startswith("gnb  >  rf on")]
    assert rf_state(yaml.safe_load(lab_bench_file.read_text())["instruments"]["gnb"]["resource"]) == "OFF"


def test_without_bench_the_conformance_tests_are_one_skip():
    command = [sys.executable, "-m", "pytest", "tests/conformance", "-q", "-rs", "-p", "no:cacheprovider"]
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    skips = [line for line in proc.stdout.splitlines() if line.startswith("SKIPPED")]
    assert len(skips) == 1, proc.stdout
    assert re.fullmatch(
        r"SKIPPED \[1\] conftest\.py:\d+: hardware tests: no --bench given "
        r"\(pytest --bench instruments/benches/<lab>\.yaml\)",
        skips[0],
    ), skips


# --------------------------------------------------------------------------- the RF interlock

PROFILE = load_profile("sim-gnb", search_dirs=[ROOT / "instruments" / "profiles"])


def test_the_interlock_refuses_rf_on_with_nothing_sent():
    with ScriptedTransport([]) as transport:
        gnb = GnbConsole(RfInterlock(transport, "rf on"), PROFILE, user="admin", password="admin")
        with pytest.raises(RfNotAllowed):
            gnb.rf_on()
        with pytest.raises(RfNotAllowed):  # however it is typed
            gnb.transport.send_line("  RF   On ")
    assert transport.sent == []


def test_the_interlock_once_allowed_passes_rf_on_and_everything_else():
    script = [
        ("rf off", "rf off\nRF transmission OFF\ngnb-cli> "),
        ("rf on", "rf on\nRF transmission ON\ngnb-cli> "),
    ]
    with ScriptedTransport(script) as transport:
        interlock = RfInterlock(transport, "rf on")
        gnb = GnbConsole(interlock, PROFILE, user="admin", password="admin")
        gnb.rf_off()
        interlock.rf_allowed = True
        gnb.rf_on()
    assert transport.sent == ["rf off", "rf on"]
