"""RF is never left on: each hole found in review, reproduced end to end.

Every test runs ``fivegbench sim serve`` in its own process and drives it through a bench with
``simulated: false``, so the run takes exactly the path it takes in a lab. Afterwards the gNB's
RF state is asked of the simulated console itself, through a session of the test's own.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from fivegbench import runner
from fivegbench.bench import load_bench
from fivegbench.plan.expand import expand
from fivegbench.plan.load import parse_plan
from fivegbench.runner import execute
from fivegbench.sim.bench import simulated_bench
from fivegbench.transport.base import IoLog
from tests.sim.consoleclient import RawSession, rf_state
from tests.simserve import ROOT, SIM_BENCH, SIM_PROFILE, sim_serve, write_bench

PLAN = """
trial: RF safety
dut: {vendor: VHT, model: gNodeB 8T8R, serial: GNB-0042, firmware: 2.3.1}
cell: {band: n78, center_frequency: 3750 MHz, bandwidth: 100 MHz, scs: 30 kHz,
       tdd_pattern: DDDSU, special_slot: "10:2:2", tx_power: 37 dBm, test_model: NR-FR1-TM1.1}
steps:
  - name: channel power
    measure: rf.power
    sweep: {tx_power: [POWERS]}
    limits: {channel_power: {min: 30 dBm, max: 50 dBm}}
"""


def fivegbench(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fivegbench", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture
def sim() -> Iterator[dict[str, str]]:
    """``fivegbench sim serve`` in its own process; yields role -> resource string."""
    with sim_serve() as resources:
        yield resources


def write_plan(tmp_path: Path, powers: str = "37 dBm, 40 dBm") -> Path:
    plan = tmp_path / "plan.yaml"
    plan.write_text(PLAN.replace("POWERS", powers))
    return plan


def write_profile(tmp_path: Path, **changes: str) -> Path:
    """A copy of the simulated gNB's profile with some settings changed (``timeouts_long="2"``
    sets ``timeouts.long``)."""
    profile = yaml.safe_load(SIM_PROFILE.read_text())
    for key, value in changes.items():
        section, name = key.split("_", 1) if key.startswith(("timeouts_", "commands_")) else ("", key)
        (profile[section] if section else profile)[name] = value
    path = tmp_path / "profile.yaml"
    path.write_text(yaml.safe_dump(profile, sort_keys=False))
    return path


def only_run(results: Path) -> Path:
    (run_dir,) = [p for p in results.iterdir() if p.is_dir()]
    return run_dir


def record_of(run_dir: Path) -> dict:
    return json.loads((run_dir / "record.json").read_text())


def io_lines(run_dir: Path) -> list[str]:
    """io.log as ``role  >|<  text`` (timestamps dropped)."""
    return [line.split("  ", 1)[1] for line in (run_dir / "io.log").read_text().splitlines()]


def attenuation(resource: str) -> float:
    """The simulated Mini-Circuits attenuator's setting, asked over its own Telnet-style socket."""
    port = int(resource.split("::")[2])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b":ATT?\r\n")
        reply = b""
        while not reply.endswith(b"\r\n"):
            chunk = sock.recv(64)
            assert chunk, "the attenuator closed the connection"
            reply += chunk
    return float(reply)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def background_run(plan: Path, bench: Path, results: Path) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fivegbench",
            "run",
            str(plan),
            "--bench",
            str(bench),
            "--results",
            str(results),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def wait_for_measurements(results: Path, count: int = 1, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        journals = list(results.glob("*/journal.jsonl")) if results.exists() else []
        if journals and journals[0].read_text().count("\n") >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"no {count} measurement(s) in the journal within {timeout} s")


LONG_SWEEP = "37 dBm, 38 dBm, 39 dBm, 40 dBm, 41 dBm, 42 dBm, 43 dBm, 44 dBm"


def run_with_fault(
    tmp_path: Path, bench: Path, fault: Callable[[subprocess.Popen[str]], object], results: Path | None = None
) -> tuple[int, str, Path]:
    """Run a long sweep in the background; once the first measurement is in, ``fault(run)``.
    Returns (exit code, stdout and stderr, run folder)."""
    results = results or tmp_path / "results"
    with background_run(write_plan(tmp_path, LONG_SWEEP), bench, results) as run:
        wait_for_measurements(results)
        fault(run)
        stdout, stderr = run.communicate(timeout=120)
    return run.returncode, stdout + stderr, only_run(results)


def console_fault(resource: str, fault: str) -> Callable[[subprocess.Popen[str]], None]:
    """A fault injected by an operator typing ``debug fault <fault>`` on a console of their own."""

    def inject(run: subprocess.Popen[str]) -> None:
        with RawSession(resource).login() as operator:
            assert operator.run(f"debug fault {fault}") in ("reset 1 session(s)", "hung 1 session(s)")

    return inject


# --------------------------------------------------------------------------- 1. line endings


def test_a_line_ending_in_the_password_never_reaches_the_console(sim, tmp_path):
    bench = write_bench(tmp_path, sim, password="admin\r\nrf on")
    results = tmp_path / "results"
    proc = fivegbench("run", str(write_plan(tmp_path)), "--bench", str(bench), "--results", str(results))
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and "instruments.gnb.options.password" in proc.stderr
    assert "rf on" not in proc.stderr  # the secret is not echoed
    assert not results.exists()
    assert rf_state(sim["gnb"]) == "OFF"


def test_a_line_ending_in_a_test_model_mapping_never_reaches_the_console(sim, tmp_path):
    profile = yaml.safe_load(SIM_PROFILE.read_text())
    profile["limits"]["test_models"]["NR-FR1-TM1.1"] = "NR-FR1-TM1.1\r\nrf on"
    path = tmp_path / "profile.yaml"
    path.write_text(yaml.safe_dump(profile))
    bench = write_bench(tmp_path, sim, profile=path)
    results = tmp_path / "results"
    proc = fivegbench("run", str(write_plan(tmp_path)), "--bench", str(bench), "--results", str(results))
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and "profile.yaml:" in proc.stderr and "test_models" in proc.stderr
    assert not results.exists()
    assert rf_state(sim["gnb"]) == "OFF"


# --------------------------------------------------------------------------- 2. connect failures


def test_a_failure_after_the_gnb_login_still_applies_the_safe_state(sim, tmp_path):
    profile = write_profile(tmp_path, commands_show_version="show versio")
    bench = write_bench(tmp_path, sim, profile=profile)
    results = tmp_path / "results"
    proc = fivegbench("run", str(write_plan(tmp_path)), "--bench", str(bench), "--results", str(results))
    assert proc.returncode == 3, proc.stderr
    assert "Traceback" not in proc.stderr
    run_dir = only_run(results)
    record = record_of(run_dir)
    assert "show versio" in record["status"]
    # the gNB is opened first; the attenuator was never opened, so this run did not change it
    assert record["safe_state"] == "confirmed: gNB RF off (read back)"
    lines = io_lines(run_dir)
    failed = lines.index("gnb  >  show versio")
    assert lines[failed:].index("gnb  >  rf off") < lines[failed:].index("gnb  >  show cell")
    assert lines[-2:] == ["gnb  <  RF: OFF", "gnb  <  gnb-cli> "]
    assert rf_state(sim["gnb"]) == "OFF"


def test_an_analyzer_that_cannot_be_reached_after_the_gnb_was_opened(sim, tmp_path):
    resources = dict(sim, analyzer=f"TCPIP::127.0.0.1::{closed_port()}::SOCKET")
    results = tmp_path / "results"
    bench = write_bench(tmp_path, resources)
    proc = fivegbench("run", str(write_plan(tmp_path)), "--bench", str(bench), "--results", str(results))
    assert proc.returncode == 3, proc.stderr
    record = record_of(only_run(results))
    # pyvisa-py connects lazily: the refusal shows at the first write
    assert record["status"].startswith("error: analyzer: ") and "Connection refused" in record["status"]
    assert record["safe_state"].startswith("confirmed: gNB RF off (read back)")
    assert record["counts"] == {"SKIPPED": 2}
    assert rf_state(sim["gnb"]) == "OFF"


def test_nothing_opened_is_said_as_such(tmp_path):
    port = closed_port()
    resources = {
        "gnb": f"socket://127.0.0.1:{port}",
        "analyzer": f"TCPIP::127.0.0.1::{port}::SOCKET",
        "attenuator": f"TCPIP::127.0.0.1::{port}::SOCKET",
    }
    results = tmp_path / "results"
    bench = write_bench(tmp_path, resources)
    proc = fivegbench("run", str(write_plan(tmp_path)), "--bench", str(bench), "--results", str(results))
    assert proc.returncode == 3, proc.stderr
    record = record_of(only_run(results))
    assert record["status"].startswith("error: gnb: <io>: cannot open socket://")
    assert record["safe_state"].startswith("not applied: no instrument connection was opened")


# --------------------------------------------------------------------------- 3. known start state


def test_a_run_first_turns_off_a_carrier_left_on(sim, tmp_path):
    with RawSession(sim["gnb"]).login() as operator:
        assert operator.run("rf on") == "RF transmission ON"
    assert rf_state(sim["gnb"]) == "ON"
    results = tmp_path / "results"
    bench = write_bench(tmp_path, sim)
    proc = fivegbench("run", str(write_plan(tmp_path)), "--bench", str(bench), "--results", str(results))
    assert proc.returncode == 0, proc.stderr + proc.stdout
    run_dir = only_run(results)
    record = record_of(run_dir)
    assert record["start_state"].startswith("gNB found transmitting (RF on) at connect; RF switched off")
    lines = io_lines(run_dir)
    sent = [line for line in lines if line.startswith("gnb  >  ")]
    # after the login: read the state, switch off, read back, and only then anything else
    first = sent.index("gnb  >  show cell")
    assert sent[first : first + 4] == [
        "gnb  >  show cell",
        "gnb  >  rf off",
        "gnb  >  show cell",
        "gnb  >  show version",
    ]
    assert lines.index("gnb  <  RF: ON") < lines.index("gnb  >  rf off") < lines.index("gnb  >  set band n78")
    assert rf_state(sim["gnb"]) == "OFF"


# --------------------------------------------------------------------------- 5. reset / hung console


def without_retries(bench: Path) -> Path:
    """The bench with the gNB's link never reopened mid-run (tests/faults covers the recovery):
    the fault then stops the run and only the safe state reopens the console."""
    data = yaml.safe_load(bench.read_text())
    data["instruments"]["gnb"]["retries"] = 0
    bench.write_text(yaml.safe_dump(data, sort_keys=False))
    return bench


def test_a_reset_console_is_reopened_for_the_safe_state(sim, tmp_path):
    code, output, run_dir = run_with_fault(
        tmp_path, without_retries(write_bench(tmp_path, sim)), console_fault(sim["gnb"], "reset")
    )
    assert code == 3, output
    assert "Traceback" not in output
    record = record_of(run_dir)
    assert record["status"] == "stopped on error"
    assert record["safe_state"].startswith("confirmed: gNB RF off (read back, on a reopened console")
    assert rf_state(sim["gnb"]) == "OFF"


def test_a_hung_console_gets_rf_off_on_a_new_session(sim, tmp_path):
    profile = write_profile(tmp_path, timeouts_long=2, timeouts_command=2)
    bench = without_retries(write_bench(tmp_path, sim, profile=profile, timeout="2 s"))
    code, output, run_dir = run_with_fault(tmp_path, bench, console_fault(sim["gnb"], "hang"))
    assert code == 3, output
    record = record_of(run_dir)
    assert record["safe_state"].startswith("confirmed: gNB RF off (read back, on a reopened console")
    sent = [line for line in io_lines(run_dir) if line.startswith("gnb  >  ")]
    assert sent.count("gnb  >  rf off") == 2  # once into the hung session, once on the new one
    assert rf_state(sim["gnb"]) == "OFF"


def test_closing_the_terminal_stops_the_run_with_rf_off(sim, tmp_path):
    # SIGHUP's default action ends the process at once, with RF on and no record
    code, output, run_dir = run_with_fault(
        tmp_path, write_bench(tmp_path, sim), lambda run: run.send_signal(signal.SIGHUP)
    )
    assert code == 3, output
    record = record_of(run_dir)
    assert record["status"] == "aborted" and record["safe_state"].startswith(
        "confirmed: gNB RF off (read back)"
    )
    assert rf_state(sim["gnb"]) == "OFF"


# --------------------------------------------------------------------------- 4. full disk


def _mount_tmpfs(path: Path, size: str) -> bool:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    path.mkdir()
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)]).returncode == 0


def test_a_full_disk_stops_the_run_with_rf_off_and_no_traceback(sim, tmp_path):
    disk = tmp_path / "disk"
    if not _mount_tmpfs(disk, "4m"):
        pytest.skip("needs root to mount a small tmpfs (the in-process test covers the logic)")

    def fill(run: subprocess.Popen[str]) -> None:
        with open(disk / "filler", "wb") as filler, contextlib.suppress(OSError):
            while True:
                filler.write(b"\0" * 65536)
                filler.flush()

    try:
        code, output, run_dir = run_with_fault(tmp_path, write_bench(tmp_path, sim), fill, disk / "results")
        assert code == 3, output
        assert "Traceback" not in output and "No space left on device" in output
        # record.json may not fit on the disk: the safe state is said on the terminal too
        assert "safe state confirmed: gNB RF off (read back); attenuator at maximum 110 dB" in output
        assert rf_state(sim["gnb"]) == "OFF"
        assert attenuation(sim["attenuator"]) == 110.0
        # what could be written is whole: the journal holds no torn line
        lines = (run_dir / "journal.jsonl").read_text().splitlines()
        assert lines and all(json.loads(line) for line in lines)
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


# --------------------------------------------------------------------------- 6. bench safe


def test_bench_safe_after_a_kill_9(sim, tmp_path):
    bench = write_bench(tmp_path, sim)
    results = tmp_path / "results"
    with background_run(write_plan(tmp_path, "37 dBm, 38 dBm, 39 dBm, 40 dBm"), bench, results) as run:
        wait_for_measurements(results)
        run.kill()  # SIGKILL: no safe state, no record
        run.wait(10)
    assert rf_state(sim["gnb"]) == "ON"
    proc = fivegbench("bench", "safe", "--bench", str(bench))
    assert proc.returncode == 0, proc.stderr
    assert "confirmed: gNB RF off (read back); attenuator at maximum 110 dB (read back)" in proc.stdout
    assert rf_state(sim["gnb"]) == "OFF"
    assert attenuation(sim["attenuator"]) == 110.0


def test_bench_safe_names_the_instrument_that_may_still_transmit(sim, tmp_path):
    resources = dict(sim, gnb=f"socket://127.0.0.1:{closed_port()}")
    proc = fivegbench("bench", "safe", "--bench", str(write_bench(tmp_path, resources)))
    assert proc.returncode == 4, proc.stderr
    assert f"UNSAFE: gnb ({resources['gnb']}) may still transmit" in proc.stderr
    assert "attenuator at maximum 110 dB (read back)" in proc.stderr  # the rest was still made safe
    assert "Traceback" not in proc.stderr
    assert attenuation(sim["attenuator"]) == 110.0


def test_bench_safe_on_the_simulated_bench():
    proc = fivegbench("bench", "safe")
    assert proc.returncode == 0, proc.stderr
    assert "confirmed: gNB RF off (read back)" in proc.stdout


class DiskFillsAt:
    """io.log's file: whole lines are written until one contains ``trigger``; from then on every
    write fails as on a full disk."""

    def __init__(self, path: Path, trigger: str) -> None:
        self.file = open(path, "a", encoding="utf-8")  # noqa: SIM115
        self.trigger = trigger
        self.full = False

    def write(self, text: str) -> None:
        self.full = self.full or self.trigger in text
        if self.full:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.file.write(text)

    def flush(self) -> None:
        self.file.flush()

    def close(self) -> None:
        self.file.close()


def test_an_io_log_that_cannot_be_written_never_stands_before_a_safety_command(tmp_path, monkeypatch):
    def iolog_on_a_disk_that_fills(path: Path) -> IoLog:
        iolog = IoLog(None)
        iolog.path, iolog._file = path, DiskFillsAt(path, "set tx-power 40.0")  # the file only
        return iolog

    monkeypatch.setattr(runner, "IoLog", iolog_on_a_disk_that_fills)
    plan = parse_plan(PLAN.replace("POWERS", "37 dBm, 40 dBm, 43 dBm"), file="plan.yaml")
    (tmp_path / "captures").mkdir()
    with simulated_bench(load_bench(SIM_BENCH)) as running:
        record = execute(runner.RunContext(plan, expand(plan), running.bench, tmp_path))
        rf_on = running.world.gnb.rf_on
        attenuator_db = attenuation(running.resources["attenuator"])
    assert record.exit_code == 3
    assert record.status == "error: cannot write io.log: No space left on device"
    assert record.safe_state == (
        "confirmed: gNB RF off (read back); attenuator at maximum 110 dB (read back); "
        "analyzer input attenuation at maximum 79 dB (read back)"
    )
    assert not rf_on and attenuator_db == 110.0
    # the command whose log line failed was still sent: the 40 dBm point was measured, then the run stopped
    lines = [json.loads(line) for line in (tmp_path / "journal.jsonl").read_text().splitlines()]
    assert [line["point"]["tx_power"] for line in lines] == ["37 dBm", "40 dBm"]
    assert lines[1]["values"]["channel_power"]["value"] == pytest.approx(40.0, abs=0.3)
    assert record.counts == {"PASS": 2, "SKIPPED": 1}
    assert "set tx-power 40.0" not in (tmp_path / "io.log").read_text()
