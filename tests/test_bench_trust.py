"""Trust on a real bench (issue 8): bench locks, the gNB read back before measuring, resume after
``kill -9``, a journal that cannot be written, bad ``--results`` and Ctrl-C at start-up.

As in test_rf_safety.py, runs drive ``fivegbench sim serve`` in its own process through a bench
with ``simulated: false``, exactly the path of a lab.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from fivegbench import locks
from tests.sim.consoleclient import RawSession, rf_state
from tests.test_rf_safety import (
    LONG_SWEEP,
    PLAN,
    ROOT,
    background_run,
    fivegbench,
    only_run,
    record_of,
    sim,  # noqa: F401 (a fixture)
    wait_for_measurements,
    write_bench,
    write_plan,
)


def write_long_plan(tmp_path: Path) -> Path:
    """A sweep long enough (1000 points, minutes) never to end before the test has done its part
    (each test then stops it by switching RF off)."""
    plan = tmp_path / "long.yaml"
    plan.write_text(PLAN.replace("POWERS", "37 dBm, 38 dBm") + "    repeat: 500\n")
    return plan


def journal_of(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "journal.jsonl").read_text().splitlines()]


# --------------------------------------------------------------------------- locks (unit)

HOLD = """
import sys
from pathlib import Path
from fivegbench import locks
with locks.lock_resource("gnb", sys.argv[1], locks.Holder.this_process("held.yaml"), Path(sys.argv[2])):
    print("held", flush=True)
    sys.stdin.read()
"""


def hold_in_child(resource: str, directory: Path) -> subprocess.Popen[str]:
    child = subprocess.Popen(
        [sys.executable, "-c", HOLD, resource, str(directory)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stdout.readline() == "held\n"
    return child


def test_resource_spellings_of_one_instrument_are_one_lock():
    assert locks.normalise("TCPIP0::127.0.0.1::5025::SOCKET") == "tcpip::127.0.0.1::5025::socket"
    assert locks.normalise(" tcpip::127.0.0.1::5025::socket") == "tcpip::127.0.0.1::5025::socket"
    assert locks.normalise("TCPIP::10.0.0.7::inst0::INSTR") == "tcpip::10.0.0.7::instr"
    assert locks.normalise("TCPIP::127.0.0.1::5026::SOCKET") != locks.normalise(
        "TCPIP::127.0.0.1::5025::SOCKET"
    )


def test_a_held_lock_names_its_holder_and_a_killed_holders_lock_is_taken_over(tmp_path):
    child = hold_in_child("TCPIP0::127.0.0.1::5025::SOCKET", tmp_path)
    try:
        with (
            pytest.raises(locks.BenchBusy) as busy,
            locks.lock_resource(
                "analyzer", "tcpip::127.0.0.1::5025::socket", locks.Holder.this_process(), tmp_path
            ),
        ):
            pass
        assert f"pid {child.pid} on " in str(busy.value) and "plan held.yaml" in str(busy.value)
        assert f"pid {child.pid}" in (locks.who_holds("TCPIP::127.0.0.1::5025::SOCKET", tmp_path) or "")
    finally:
        child.kill()  # SIGKILL: the child cannot release anything itself
        child.communicate()
    assert locks.who_holds("TCPIP::127.0.0.1::5025::SOCKET", tmp_path) is None
    me = locks.Holder(os.getpid(), "mine.yaml", "2026-11-30T00:00:00Z", "here")
    with locks.lock_resource("analyzer", "TCPIP::127.0.0.1::5025::SOCKET", me, tmp_path):
        (lock_file,) = tmp_path.glob("*.lock")
        assert json.loads(lock_file.read_text()) == {
            "pid": os.getpid(),
            "plan": "mine.yaml",
            "started": "2026-11-30T00:00:00Z",
            "host": "here",
        }


# --------------------------------------------------------------------------- locks (end to end)


def test_a_second_run_on_the_same_bench_fails_at_once_naming_the_first(sim, tmp_path):  # noqa: F811
    bench = write_bench(tmp_path, sim)
    first_results, second_results = tmp_path / "first", tmp_path / "second"
    with background_run(write_long_plan(tmp_path), bench, first_results) as first:
        wait_for_measurements(first_results)
        second = fivegbench(
            "run", str(write_plan(tmp_path)), "--bench", str(bench), "--results", str(second_results)
        )
        # an emergency command is never blocked: it names the run and proceeds
        safe = fivegbench("bench", "safe", "--bench", str(bench))
        first.communicate(timeout=120)
    assert second.returncode == 3, second.stderr
    assert f"is in use by another run: pid {first.pid} on " in second.stdout
    assert "Traceback" not in second.stderr
    record = record_of(only_run(second_results))
    assert record["safe_state"].startswith("not applied: no instrument connection was opened")
    assert not (only_run(second_results) / "io.log").read_text()  # it sent nothing at all
    assert safe.returncode == 0, safe.stderr
    assert f"is in use by a run (pid {first.pid} on " in safe.stderr
    # the safe state switched RF off under the first run: ERROR, never a FAIL of the device
    verdicts = [line["verdict"] for line in journal_of(only_run(first_results))]
    assert "FAIL" not in verdicts
    assert rf_state(sim["gnb"]) == "OFF"


def test_rf_switched_off_by_another_session_mid_sweep_is_an_error_not_a_fail(sim, tmp_path):  # noqa: F811
    results = tmp_path / "results"
    with background_run(write_long_plan(tmp_path), write_bench(tmp_path, sim), results) as run:
        wait_for_measurements(results)
        with RawSession(sim["gnb"]).login() as operator:
            assert operator.run("rf off") == "RF transmission OFF"
        out, err = run.communicate(timeout=120)
    assert run.returncode == 3, out + err
    lines = journal_of(only_run(results))
    assert [line["verdict"] for line in lines] == ["PASS"] * (len(lines) - 1) + ["ERROR"]
    assert lines[-1]["error"] in (
        "InstrumentError: gnb: show cell: gNB RF found off before measuring: configured on",
        "InstrumentError: gnb: show cell: gNB RF found off after measuring: configured on",
    )
    assert record_of(only_run(results))["status"] == "stopped on error"
    assert rf_state(sim["gnb"]) == "OFF"


# --------------------------------------------------------------------------- resume


def measured(run_dir: Path) -> list[tuple[int, str, str, str]]:
    return sorted(
        (m["index"], m["point"]["tx_power"], m["repeat"], m["verdict"]) for m in journal_of(run_dir)
    )


def test_kill_9_then_bench_safe_then_resume_gives_the_whole_run(sim, tmp_path):  # noqa: F811
    bench = write_bench(tmp_path, sim)
    plan = write_plan(tmp_path, LONG_SWEEP)
    results = tmp_path / "results"
    with background_run(plan, bench, results) as run:
        wait_for_measurements(results, 2)
        run.kill()
        run.wait(10)
    run_dir = only_run(results)
    with open(run_dir / "journal.jsonl", "a") as journal:  # as a crash mid-write would leave it
        journal.write('{"step":"channel power","index":')
    before = len(journal_of_whole_lines(run_dir))
    assert 2 <= before < 8
    assert record_of(run_dir)["status"] == "running"
    assert fivegbench("bench", "safe", "--bench", str(bench)).returncode == 0
    assert rf_state(sim["gnb"]) == "OFF"

    resumed = fivegbench("run", "--resume", str(run_dir))
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    record = record_of(run_dir)
    assert record["status"] == "completed" and record["counts"] == {"PASS": 8}
    assert [r["completed_before"] for r in record["resumed"]] == [before]
    assert len(record["measurements"]) == 8
    expected = [(i + 1, f"{37 + i} dBm", "1/1", "PASS") for i in range(8)]
    assert measured(run_dir) == expected
    uninterrupted = fivegbench("run", str(plan), "--bench", str(bench), "--results", str(tmp_path / "again"))
    assert uninterrupted.returncode == 0, uninterrupted.stderr
    assert measured(only_run(tmp_path / "again")) == expected
    assert (run_dir / "report.html").is_file()
    assert rf_state(sim["gnb"]) == "OFF"


def journal_of_whole_lines(run_dir: Path) -> list[str]:
    return [line for line in (run_dir / "journal.jsonl").read_text().split("\n")[:-1]]


def stopped_run(sim_resources: dict[str, str], tmp_path: Path) -> Path:
    results = tmp_path / "results"
    with background_run(
        write_plan(tmp_path, LONG_SWEEP), write_bench(tmp_path, sim_resources), results
    ) as run:
        wait_for_measurements(results)
        run.kill()
        run.wait(10)
    return only_run(results)


def test_resume_refuses_a_changed_plan_copy(sim, tmp_path):  # noqa: F811
    run_dir = stopped_run(sim, tmp_path)
    (run_dir / "plan.yaml").write_text(
        (run_dir / "plan.yaml").read_text().replace("max: 50 dBm", "max: 60 dBm")
    )
    journal = (run_dir / "journal.jsonl").read_text()
    proc = fivegbench("run", "--resume", str(run_dir))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert (
        proc.stderr.count("\n") == 1
        and "SHA-256" in proc.stderr
        and "not the plan this run started with" in proc.stderr
    )
    assert (run_dir / "journal.jsonl").read_text() == journal


def test_resume_refuses_other_instruments(sim, tmp_path):  # noqa: F811
    run_dir = stopped_run(sim, tmp_path)
    record = record_of(run_dir)
    record["instruments"]["analyzer"]["identity"] = "Rohde&Schwarz,FSW-26,999999/026,5.00"
    (run_dir / "record.json").write_text(json.dumps(record))
    journal = (run_dir / "journal.jsonl").read_text()
    assert fivegbench("bench", "safe", "--bench", str(run_dir / "bench.yaml")).returncode == 0
    proc = fivegbench("run", "--resume", str(run_dir))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.count("\n") == 1
    assert (
        "the run measured with 'Rohde&Schwarz,FSW-26,999999/026,5.00': not the same instrument" in proc.stderr
    )
    assert "Traceback" not in proc.stderr
    assert (run_dir / "journal.jsonl").read_text() == journal
    assert record_of(run_dir) == record  # the refused resume wrote nothing
    assert rf_state(sim["gnb"]) == "OFF"


def test_resume_of_a_folder_that_is_no_run_is_one_line(tmp_path):
    proc = fivegbench("run", "--resume", str(tmp_path))
    assert proc.returncode == 2
    assert proc.stderr == f"error: {tmp_path}: no plan copy (plan.yaml): not a fivegbench run folder\n"


# --------------------------------------------------------------------------- journal write fails


@pytest.mark.skipif(shutil.which("prlimit") is None, reason="needs prlimit (util-linux)")
def test_a_journal_that_hits_the_file_size_limit_is_exit_3_with_a_record(sim, tmp_path):  # noqa: F811
    results = tmp_path / "results"
    command = [sys.executable, "-m", "fivegbench", "run", str(write_plan(tmp_path, LONG_SWEEP))]
    command += ["--bench", str(write_bench(tmp_path, sim)), "--results", str(results)]
    proc = subprocess.run(
        ["prlimit", "--fsize=40000", *command], cwd=ROOT, capture_output=True, text=True, timeout=180
    )
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    run_dir = only_run(results)
    text = (run_dir / "journal.jsonl").read_text()
    assert text.endswith("\n") and all(json.loads(line) for line in text.splitlines())
    record = record_of(run_dir)
    assert record["exit_code"] == 3 and record["status"].startswith("error: ")
    assert "File too large" in record["status"]
    assert record["safe_state"].startswith("confirmed: gNB RF off (read back)")
    assert rf_state(sim["gnb"]) == "OFF"


# --------------------------------------------------------------------------- --results


def results_refused(tmp_path: Path, results: Path) -> str:
    plan = write_plan(tmp_path)
    before = sorted(tmp_path.rglob("*"))
    proc = fivegbench("run", str(plan), "--results", str(results))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert sorted(tmp_path.rglob("*")) == before  # nothing created
    return proc.stderr


def test_results_that_is_a_file(tmp_path):
    (tmp_path / "taken").write_text("")
    err = results_refused(tmp_path, tmp_path / "taken" / "results")
    taken = tmp_path / "taken"
    assert err == f"error: --results {taken / 'results'}: {taken} is a file, not a folder\n"


def test_results_under_proc(tmp_path):
    err = results_refused(tmp_path, Path("/proc/fivegbench-results"))
    assert err == (
        "error: --results /proc/fivegbench-results: "
        "/proc is a kernel pseudo-filesystem, not a folder for results\n"
    )


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into a read-only folder")
def test_results_not_writable(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    try:
        err = results_refused(tmp_path, locked / "results")
    finally:
        locked.chmod(0o755)
    assert err == f"error: --results {locked / 'results'}: {locked} is not writable\n"


# --------------------------------------------------------------------------- Ctrl-C at start-up

#: Sends SIGINT to itself while the command line is being imported (when ``click`` is first
#: imported), then runs the program as the console script does.
INTERRUPT_DURING_IMPORTS = textwrap.dedent(
    """
    import importlib.abc, os, signal, sys

    class Interrupt(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "click":
                sys.meta_path.remove(self)
                os.kill(os.getpid(), signal.SIGINT)
            return None

    sys.meta_path.insert(0, Interrupt())
    sys.argv = ["fivegbench", "--help"]
    from fivegbench.__main__ import main
    main()
    """
)


def test_ctrl_c_while_the_command_line_imports_is_one_line():
    proc = subprocess.run(
        [sys.executable, "-c", INTERRUPT_DURING_IMPORTS], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 3
    assert proc.stderr == "\ninterrupted\n"


# The interpreter's own first milliseconds (before fivegbench's code runs) cannot be covered.
@pytest.mark.parametrize("delay", [0.3, 0.6, 1.0])
def test_ctrl_c_at_any_moment_of_start_up_never_prints_a_traceback(delay, tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "fivegbench", "validate", str(write_plan(tmp_path))],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        proc.wait(delay)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert err.strip() in ("interrupted", "")
    # 3 when interrupted, 0 when it had finished; -2 (death by SIGINT) when the signal lands in the
    # interpreter's own shutdown, after fivegbench's code has ended (seen under load in CI)
    assert proc.returncode in ((3, -signal.SIGINT) if err.strip() else (0, -signal.SIGINT))
