"""Every injected fault against a short sweep on the simulated bench, end to end.

``fivegbench sim serve`` runs in its own process (as in tests/test_rf_safety.py, whose helpers
are reused) and the run drives it through a bench with ``simulated: false``. Each fault is armed
before the run through the serve process's control socket (``fivegbench sim fault ... --at``),
or from the serve bench's ``faults:``, to fire at a chosen message of the sweep: no timing.

Each scenario asserts the exit code and verdicts, the safe state in record.json and the gNB's
RF state as its own console reports it, the journal holding every measurement completed before
the fault, and stderr free of tracebacks.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.sim.consoleclient import rf_state
from tests.simserve import sim_serve
from tests.test_rf_safety import (
    SIM_BENCH,
    SIM_PROFILE,
    fivegbench,
    io_lines,
    only_run,
    record_of,
    write_bench,
    write_plan,
    write_profile,
)

POWERS = "37 dBm, 40 dBm, 43 dBm"


@dataclass
class Sim:
    resources: dict[str, str]
    control: Path

    def fault(self, role: str, mode: str, *options: str) -> None:
        done = fivegbench("sim", "fault", role, mode, *options, "--control", str(self.control), timeout=30)
        assert done.returncode == 0, done.stderr


def serve(tmp_path: Path, faults: dict[str, list[dict]] | None = None) -> Iterator[Sim]:
    """``fivegbench sim serve`` with a control socket, optionally from a bench with faults."""
    control = tmp_path / "control.sock"
    path = None
    if faults:
        bench = yaml.safe_load(SIM_BENCH.read_text())
        for role, specs in faults.items():
            bench["instruments"][role]["faults"] = specs
        path = tmp_path / "sim-faults.yaml"
        path.write_text(yaml.safe_dump(bench, sort_keys=False))
    with sim_serve(path, options=["--control", str(control)]) as resources:
        for _ in range(200):  # the control socket is made right after the resources are printed
            if control.exists():
                break
            time.sleep(0.05)
        yield Sim(resources, control)


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[Sim]:
    yield from serve(tmp_path)


@pytest.fixture(scope="module")
def serving(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sim]:
    """One ``sim serve`` for the scenarios whose faults end with the run (a drop, a short reboot,
    a slow reply): starting a server per scenario would cost a third of the suite."""
    yield from serve(tmp_path_factory.mktemp("serving"))


@pytest.fixture
def shared_sim(serving: Sim) -> Iterator[Sim]:
    """The shared server, with every fault disarmed afterwards (what the next scenario finds)."""
    yield serving
    for role in serving.resources:
        with socket.socket(socket.AF_UNIX) as control:
            control.settimeout(10)
            control.connect(str(serving.control))
            control.sendall(json.dumps({"role": role, "clear": True}).encode() + b"\n")
            assert json.loads(control.makefile().readline())["ok"]


def run(
    tmp_path: Path, sim: Sim, profile: Path = SIM_PROFILE, retries: int = 3
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """The three-point sweep on the lab view of the running simulators: short timeouts and
    backoff, so a fault that is not recovered fails within seconds."""
    bench_path = write_bench(tmp_path, sim.resources, profile, timeout="2 s")
    bench = yaml.safe_load(bench_path.read_text())
    for config in bench["instruments"].values():
        config["retry_backoff"] = "0.2 s"
        config["retries"] = retries
    bench["instruments"]["analyzer"]["options"]["timeout"] = "2 s"
    bench_path.write_text(yaml.safe_dump(bench, sort_keys=False))
    results = tmp_path / "results"
    done = fivegbench(
        "run", str(write_plan(tmp_path, POWERS)), "--bench", str(bench_path), "--results", str(results)
    )
    return done, only_run(results)


def journal(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "journal.jsonl").read_text().splitlines()]


def verdicts(run_dir: Path) -> list[str]:
    return [m["verdict"] for m in journal(run_dir)]


def check_safe(done: subprocess.CompletedProcess[str], run_dir: Path, sim: Sim) -> None:
    assert "Traceback" not in done.stderr, done.stderr
    assert record_of(run_dir)["safe_state"].startswith("confirmed"), record_of(run_dir)["safe_state"]
    assert rf_state(sim.resources["gnb"]) == "OFF"


def reopened(run_dir: Path, role: str) -> int:
    return io_lines(run_dir).count(f"{role}  !  reopening the link")


# -- transient faults: recovered, every measurement valid --------------------------------------
RECOVERED = [
    ("analyzer", "drop", ["--at", "TRAC:DATA?", "--count", "2"]),
    ("analyzer", "reboot", ["--at", "TRAC:DATA?", "--count", "2", "--for", "0.5"]),
    ("analyzer", "truncate", ["--at", "TRAC:DATA?", "--count", "2"]),
    ("gnb", "drop", ["--at", "set tx-power", "--count", "2"]),
    ("gnb", "reboot", ["--at", "set tx-power", "--count", "2", "--for", "0.5"]),
]


@pytest.mark.parametrize(("role", "mode", "options"), RECOVERED, ids=[f"{r}-{m}" for r, m, _ in RECOVERED])
def test_transient_fault_is_recovered_with_valid_measurements(tmp_path, shared_sim, role, mode, options):
    sim = shared_sim
    sim.fault(role, mode, *options)
    done, run_dir = run(tmp_path, sim)
    assert done.returncode == 0, done.stderr
    assert verdicts(run_dir) == ["PASS", "PASS", "PASS"]
    powers = [m["values"]["channel_power"]["value"] for m in journal(run_dir)]
    assert [round(p) for p in powers] == [37, 40, 43]  # the recovered point measured its own power
    assert reopened(run_dir, role) >= 1
    check_safe(done, run_dir, sim)


def test_fault_from_the_serve_bench_file_is_recovered(tmp_path):
    for sim in serve(tmp_path, {"analyzer": [{"mode": "drop", "at": "TRAC:DATA?", "count": 2}]}):
        done, run_dir = run(tmp_path, sim)
        assert done.returncode == 0, done.stderr
        assert verdicts(run_dir) == ["PASS", "PASS", "PASS"]
        assert reopened(run_dir, "analyzer") == 1
        check_safe(done, run_dir, sim)


# -- faults that do not break the link: the run carries on ------------------------------------
HARMLESS = [
    ("analyzer", "slow", ["--delay", "0.05"]),
    ("gnb", "garbage", ["--at", "show cell", "--count", "2"]),
    ("gnb", "alarm", ["--text", "PA temperature high"]),
    ("attenuator", "drop", ["--at", "SETATT"]),
]


@pytest.mark.parametrize(("role", "mode", "options"), HARMLESS, ids=[f"{r}-{m}" for r, m, _ in HARMLESS])
def test_fault_that_keeps_the_link_leaves_the_run_passing(tmp_path, shared_sim, role, mode, options):
    sim = shared_sim
    sim.fault(role, mode, *options)
    done, run_dir = run(tmp_path, sim)
    assert done.returncode == 0, done.stderr
    assert verdicts(run_dir) == ["PASS", "PASS", "PASS"]
    check_safe(done, run_dir, sim)


# -- lasting faults: ERROR naming role, command and cause; on_error stop; RF off ---------------
LASTING = [
    ("analyzer", "hang", ["--at", "TRAC:DATA?", "--count", "2"], "analyzer: TRAC:DATA? TRACE1: "),
    (
        "analyzer",
        "corrupt",
        ["--at", "TRAC:DATA?", "--count", "2"],
        "analyzer: TRAC:DATA? TRACE1: malformed block header",
    ),
    (
        "analyzer",
        "error",
        ["--at", "INIT;*OPC?", "--count", "2", "--code", "-240", "--text", "Hardware error;LO unlocked"],
        "analyzer: sweep: Hardware error;LO unlocked (error -240)",
    ),
]


@pytest.mark.parametrize(
    ("role", "mode", "options", "error"), LASTING, ids=[f"{r}-{m}" for r, m, _, _ in LASTING]
)
def test_lasting_fault_is_an_error_and_the_bench_is_made_safe(tmp_path, sim, role, mode, options, error):
    sim.fault(role, mode, *options)
    done, run_dir = run(tmp_path, sim, retries=1)  # one reopening is enough to show it does not help
    assert done.returncode == 3, done.stderr
    measured = journal(run_dir)
    assert [m["verdict"] for m in measured] == ["PASS", "ERROR"]  # on_error: stop (the default)
    assert measured[1]["error"].split(": ", 1)[1].startswith(error), measured[1]["error"]
    assert record_of(run_dir)["counts"] == {"PASS": 1, "ERROR": 1, "SKIPPED": 1}
    check_safe(done, run_dir, sim)


def test_hung_gnb_console_is_reported_unsafe_not_hidden(tmp_path, sim):
    sim.fault("gnb", "hang", "--at", "set tx-power", "--count", "2")
    quick = write_profile(tmp_path, timeouts_long=2, timeouts_login=2, timeouts_command=2, timeouts_quiet=1)
    done, run_dir = run(tmp_path, sim, quick, retries=1)  # each retry waits out the console's timeout
    assert done.returncode == 4, done.stderr
    assert verdicts(run_dir) == ["PASS", "ERROR"]
    assert journal(run_dir)[1]["error"].startswith("ConnectionLost: gnb: set tx-power 40")
    assert record_of(run_dir)["safe_state"].startswith("NOT CONFIRMED")
    assert "Traceback" not in done.stderr
    # the run could not switch RF off, and said so (exit 4): the console, answering again, agrees
    fivegbench("sim", "fault", "gnb", "--clear", "--control", str(sim.control))
    assert rf_state(sim.resources["gnb"]) == "ON"


def test_fault_command_without_a_server_is_one_line(tmp_path):
    done = fivegbench("sim", "fault", "analyzer", "drop", "--control", str(tmp_path / "none.sock"))
    assert done.returncode == 3
    assert (
        done.stderr.startswith("error: no fivegbench sim serve answers on ") and done.stderr.count("\n") == 1
    )


def test_fault_command_names_what_an_instrument_cannot_do(tmp_path, sim):
    done = fivegbench("sim", "fault", "attenuator", "corrupt", "--control", str(sim.control))
    assert done.returncode == 2
    assert done.stderr == (
        "error: attenuator: this instrument cannot 'corrupt' (it can: drop, hang, reboot, slow)\n"
    )
