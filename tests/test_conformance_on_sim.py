"""The hardware conformance tests (``tests/conformance``), run as a lab runs them (``pytest
--bench <file>``) against ``fivegbench sim serve`` in a process of its own, so they cannot rot;
and the RF interlock that keeps them from switching RF on without ``--allow-rf``."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from fivegbench.drivers.gnb.console import GnbConsole
from fivegbench.drivers.gnb.profile import load_profile
from fivegbench.sim.analyzer import SimFsw
from fivegbench.sim.scpi import ScpiServer
from fivegbench.sim.world import World
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


def scpi_errors(resource: str) -> list[str]:
    """Drain an instrument's error queue over a raw socket (``TCPIP::host::port::SOCKET``)."""
    host, port = resource.split("::")[1:3]
    entries: list[str] = []
    with socket.create_connection((host, int(port)), timeout=10) as link:
        reader = link.makefile("rb")
        while len(entries) < 20:
            link.sendall(b"SYST:ERR?\n")
            entry = reader.readline().decode().strip()
            if entry.split(",")[0] in ("0", "+0"):
                return entries
            entries.append(entry)
    return entries


def test_the_conformance_tests_pass_on_the_simulated_bench(lab_bench_file, tmp_path):
    suite, sent, output = run_conformance(lab_bench_file, tmp_path, "--allow-rf")
    assert outcomes(suite) == (EXPECTED_TESTS, {}, 0), output
    # every command the run sent was one the analyzer accepts: nothing left in its queue (the
    # simulators answer -113 to what the real instruments reject, e.g. FORM:BORD on an FSW)
    instruments = yaml.safe_load(lab_bench_file.read_text())["instruments"]
    assert scpi_errors(instruments["analyzer"]["resource"]) == []
    assert sent.count("gnb  >  rf on") == 2  # once by each of the 2 RF tests, by no other test
    assert rf_state(yaml.safe_load(lab_bench_file.read_text())["instruments"]["gnb"]["resource"]) == "OFF"


KEYSIGHT_BENCH = ROOT / "instruments/benches/sim-keysight.yaml"


def test_a_conformance_run_on_the_keysight_bench_leaves_the_n9030b_queue_empty(tmp_path):
    """The same for the N9030B personality (its bench: analyzer, gNB, SCPI attenuator)."""
    keysight = yaml.safe_load(KEYSIGHT_BENCH.read_text())
    with sim_serve(KEYSIGHT_BENCH, ("analyzer", "gnb", "attenuator")) as resources:
        bench = write_bench(tmp_path, resources)
        lab = yaml.safe_load(bench.read_text())
        for role in ("analyzer", "attenuator"):  # the Keysight bench's instruments, served above
            lab["instruments"][role] = keysight["instruments"][role] | {"resource": resources[role]}
        for role in ("ue", "traffic"):
            lab["instruments"].pop(role, None)
        bench.write_text(yaml.safe_dump(lab, sort_keys=False))
        suite, _, output = run_conformance(bench, tmp_path, "--allow-rf")
        tests, skipped, failed = outcomes(suite)
        assert (skipped, failed) == ({}, 0), output
        assert tests == 28, output  # the N9030B declares 12 settings (average type)
        assert scpi_errors(resources["analyzer"]) == []


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


def test_the_queue_check_sees_what_a_real_fsw_rejects():
    """The check above can fail: FORM:BORD, which an FSW does not have, stays in the queue."""
    server = ScpiServer(SimFsw(World()))
    server.start()
    try:
        host, port = server.resource.split("::")[1:3]
        with socket.create_connection((host, int(port)), timeout=10) as link:
            link.sendall(b"FORM REAL,32;:FORM:BORD NORM\n")
        assert scpi_errors(server.resource) == ['-113,"Undefined header;FORM:BORD"']
    finally:
        server.stop()
