"""The runner's control flow with fake instruments: verdicts, journal, stop rules, safe state."""

from __future__ import annotations

import errno
import json
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import pytest

from fivegbench import runner, store
from fivegbench.bench import Instruments, load_bench
from fivegbench.errors import InstrumentError
from fivegbench.measure.base import Outcome
from fivegbench.plan.expand import expand
from fivegbench.plan.load import parse_plan
from fivegbench.record import Value
from fivegbench.runner import AbortNow, RunContext, StopControl, execute

ROOT = Path(__file__).resolve().parent.parent

PLAN = """
trial: runner test
dut: {vendor: X, model: Y, rated_output_power: 46 dBm, bs_class: wide_area, category: A}
cell: {band: n78, center_frequency: 3750 MHz, bandwidth: 100 MHz, scs: 30 kHz, tx_power: 30 dBm,
       test_model: NR-FR1-TM1.1}
steps:
  - name: power
    measure: rf.power
    sweep: {tx_power: [30 dBm, 33 dBm, 36 dBm]}
    limits: {channel_power: {min: 29 dBm, max: 40 dBm}}
    on_error: ON_ERROR
"""


@dataclass
class FakeStatus:
    rf_on: bool
    tx_power_dbm: float | None = None


@dataclass
class FakeGnb:
    calls: list[str] = field(default_factory=list)
    rf: bool = False
    refuses_rf_off: bool = False

    def configure_cell(self, band, **kwargs):
        self.calls.append(f"configure {band}")

    def set_test_model(self, name):
        self.calls.append(f"test model {name}")

    def set_tx_power(self, dbm):
        self.calls.append(f"tx {dbm:g}")

    def rf_on(self):
        self.rf = True
        self.calls.append("rf on")

    def resync(self):
        self.calls.append("resync")

    def rf_off(self, timeout=None):
        self.calls.append("rf off")
        if not self.refuses_rf_off:
            self.rf = False

    def cell_status(self):
        return FakeStatus(self.rf)


def make_context(tmp_path: Path, measure, on_error="stop", gnb: FakeGnb | None = None) -> RunContext:
    loaded = parse_plan(PLAN.replace("ON_ERROR", on_error), file="p.yaml")
    gnb = gnb or FakeGnb()

    @contextmanager
    def connector(bench, roles, iolog):
        yield Instruments({"gnb": gnb}, identities={"gnb": "fake gNB, serial GNB-0042"})  # the bench serial

    (tmp_path / "captures").mkdir()
    bench = load_bench(ROOT / "instruments/benches/sim.yaml")
    return RunContext(
        loaded, expand(loaded), bench, tmp_path, measurements={"rf.power": measure}, connector=connector
    )


def journal(tmp_path: Path) -> list[dict]:
    return [json.loads(line) for line in (tmp_path / "journal.jsonl").read_text().splitlines()]


def echo_power(ctx, step) -> Outcome:
    return Outcome(values={"channel_power": Value(step.cell.tx_power, "dBm")})


def test_all_pass_exit_0_and_gnb_configured_once(tmp_path):
    gnb = FakeGnb()
    record = execute(make_context(tmp_path, echo_power, gnb=gnb))
    assert record.exit_code == 0 and record.counts == {"PASS": 3}
    assert gnb.calls == [
        "configure n78",
        "test model NR-FR1-TM1.1",
        "tx 30",
        "rf on",
        "tx 33",
        "tx 36",
        "resync",
        "rf off",
    ]
    assert [line["verdict"] for line in journal(tmp_path)] == ["PASS"] * 3
    saved = json.loads((tmp_path / "record.json").read_text())
    assert len(saved["measurements"]) == 3 and saved["safe_state"].startswith("confirmed")


def test_fail_exit_1(tmp_path):
    def low(ctx, step):
        return Outcome(values={"channel_power": Value(20.0, "dBm")})

    record = execute(make_context(tmp_path, low))
    assert record.exit_code == 1 and record.counts == {"FAIL": 3}


def test_invalid_measurement_is_inconclusive_not_pass(tmp_path):
    def overloaded(ctx, step):
        return Outcome(values={"channel_power": Value(step.cell.tx_power, "dBm")}, invalid="overload")

    record = execute(make_context(tmp_path, overloaded))
    assert record.counts == {"INCONCLUSIVE": 3} and record.exit_code == 1


def test_error_stops_and_skips_the_rest(tmp_path):
    def broken(ctx, step):
        raise InstrumentError("analyzer", "TRAC:DATA? TRACE1", -230, "Data corrupt or stale")

    record = execute(make_context(tmp_path, broken))
    assert record.exit_code == 3 and record.status == "stopped on error"
    assert record.counts == {"ERROR": 1, "SKIPPED": 2}
    lines = journal(tmp_path)
    assert len(lines) == 1 and "Data corrupt or stale" in lines[0]["error"]
    saved = json.loads((tmp_path / "record.json").read_text())
    assert [m["verdict"] for m in saved["measurements"]] == ["ERROR", "SKIPPED", "SKIPPED"]


def test_error_with_continue_runs_the_rest(tmp_path):
    def second_breaks(ctx, step):
        if step.index == 2:
            raise InstrumentError("analyzer", "INIT;*OPC?", None, "timeout")
        return echo_power(ctx, step)

    record = execute(make_context(tmp_path, second_breaks, on_error="continue"))
    assert record.counts == {"PASS": 2, "ERROR": 1} and record.exit_code == 3


def test_journal_line_is_on_disk_before_the_next_measurement(tmp_path):
    seen = []

    def check_journal(ctx, step):
        path = tmp_path / "journal.jsonl"
        seen.append(len(path.read_text().splitlines()) if path.exists() else 0)
        return echo_power(ctx, step)

    execute(make_context(tmp_path, check_journal))
    assert seen == [0, 1, 2]


def test_first_signal_stops_after_current_measurement(tmp_path):
    ctx = make_context(tmp_path, echo_power)

    def interrupted(mctx, step):
        if step.index == 1:
            ctx.stop.on_signal()
        return echo_power(mctx, step)

    ctx.measurements = {"rf.power": interrupted}
    record = execute(ctx)
    assert record.status == "aborted" and record.exit_code == 3
    assert record.counts == {"PASS": 1, "ABORTED": 2}


def test_second_signal_stops_now_and_still_turns_rf_off(tmp_path):
    gnb = FakeGnb()
    ctx = make_context(tmp_path, echo_power, gnb=gnb)

    def interrupted_twice(mctx, step):
        ctx.stop.on_signal()
        ctx.stop.on_signal()  # raises AbortNow mid-measurement
        raise AssertionError("not reached")

    ctx.measurements = {"rf.power": interrupted_twice}
    record = execute(ctx)
    assert record.status == "aborted" and record.exit_code == 3
    assert record.counts == {"ABORTED": 3}
    assert gnb.calls[-1] == "rf off" and not gnb.rf


def test_signals_during_safe_state_are_ignored():
    stop = StopControl()
    stop.shield()
    stop.on_signal()
    stop.on_signal()  # would raise AbortNow without the shield
    assert stop.requested


def test_unconfirmed_safe_state_exit_4(tmp_path):
    record = execute(make_context(tmp_path, echo_power, gnb=FakeGnb(refuses_rf_off=True)))
    assert record.exit_code == 4
    assert "RF on" in record.safe_state


class FailingAttenuator:
    def to_maximum(self) -> float:
        raise InstrumentError("attenuator", "ATT", None, "read back 30 dB, set 95 dB")


def test_attenuator_not_at_maximum_exit_4_but_rf_still_off(tmp_path):
    gnb = FakeGnb()
    ctx = make_context(tmp_path, echo_power, gnb=gnb)

    @contextmanager
    def connector(bench, roles, iolog):
        yield Instruments({"gnb": gnb, "attenuator": FailingAttenuator()})

    ctx.connector = connector
    record = execute(ctx)
    assert record.exit_code == 4 and "attenuator" in record.safe_state
    assert gnb.calls[-1] == "rf off" and not gnb.rf


def test_abort_now_is_not_an_exception():
    # `except Exception` in a measurement must not swallow the second Ctrl-C
    assert not issubclass(AbortNow, Exception)
    with pytest.raises(AbortNow):
        stop = StopControl()
        stop.on_signal()
        stop.on_signal()


def test_second_signal_during_a_journal_write_waits_for_the_line(tmp_path):
    ctx = make_context(tmp_path, echo_power)
    with pytest.raises(AbortNow), ctx.stop.critical():
        ctx.stop.on_signal()
        ctx.stop.on_signal()  # deferred: the section finishes first
        finished = True
    assert finished


@dataclass
class FakeAttenuator:
    settings: list[float] = field(default_factory=list)

    def set_attenuation(self, db: float) -> float:
        self.settings.append(db)
        return db

    def to_maximum(self) -> float:
        self.settings.append(95.0)
        return 95.0


def test_attenuation_is_set_when_it_changes_then_maximum_at_the_end(tmp_path):
    ctx = make_context(tmp_path, echo_power)
    text = PLAN.replace("ON_ERROR", "stop").replace(
        "sweep: {tx_power: [30 dBm, 33 dBm, 36 dBm]}", "sweep: {attenuation: [10 dB, 10 dB, 20 dB]}"
    )
    loaded = parse_plan(text, file="p.yaml")
    attenuator, gnb = FakeAttenuator(), FakeGnb()

    @contextmanager
    def connector(bench, roles, iolog):
        yield Instruments({"gnb": gnb, "attenuator": attenuator})

    ctx.loaded_plan, ctx.steps, ctx.connector = loaded, expand(loaded), connector
    record = execute(ctx)
    assert record.exit_code == 0
    assert attenuator.settings == [10.0, 20.0, 95.0]


# -- faults of the harness itself -------------------------------------------------------------------
def test_a_connection_that_stops_part_way_still_gets_the_safe_state(tmp_path):
    gnb = FakeGnb(rf=True)
    ctx = make_context(tmp_path, echo_power, gnb=gnb)

    @contextmanager
    def connector(bench, roles, iolog):
        failure = InstrumentError("gnb", "show version", None, "no version in reply 'rf on'")
        yield Instruments({"gnb": gnb}, failure=failure)

    ctx.connector = connector
    record = execute(ctx)
    assert record.exit_code == 3 and record.status == "error: gnb: show version: no version in reply 'rf on'"
    assert record.safe_state == "confirmed: gNB RF off (read back)"
    assert gnb.calls == ["resync", "rf off"] and not gnb.rf
    assert record.counts == {"SKIPPED": 3}


def test_nothing_opened_means_no_safe_state_and_says_so(tmp_path):
    ctx = make_context(tmp_path, echo_power)

    @contextmanager
    def connector(bench, roles, iolog):
        yield Instruments(failure=InstrumentError("gnb", "<io>", None, "cannot open socket://x"))

    ctx.connector = connector
    record = execute(ctx)
    assert record.exit_code == 3
    assert record.safe_state.startswith("not applied: no instrument connection was opened")


def test_an_unexpected_exception_is_an_error_with_its_traceback_in_the_log(tmp_path, caplog):
    ctx = make_context(tmp_path, echo_power)

    @contextmanager
    def connector(bench, roles, iolog):
        raise KeyError("analyzer")
        yield  # pragma: no cover

    ctx.connector = connector
    record = execute(ctx)
    assert record.exit_code == 3
    assert record.status == "error: internal error: KeyError: 'analyzer' (traceback in run.log)"
    assert any(r.exc_info and r.exc_info[0] is KeyError for r in caplog.records)


def test_a_crash_in_the_safe_state_is_never_confirmed(tmp_path):
    class CrashingGnb(FakeGnb):
        def cell_status(self):
            raise AttributeError("'NoneType' object has no attribute 'group'")

    record = execute(make_context(tmp_path, echo_power, gnb=CrashingGnb()))
    assert record.exit_code == 4
    assert record.safe_state.startswith("NOT CONFIRMED: gnb: safe state crashed: AttributeError")


def test_a_report_that_cannot_be_rendered_is_exit_3_and_said_in_the_record(tmp_path, monkeypatch):
    def broken_report(*args, **kwargs):
        raise UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed")

    monkeypatch.setattr(runner, "write_report", broken_report)
    record = execute(make_context(tmp_path, echo_power))
    assert record.exit_code == 3 and record.status.startswith(
        "error: writing report.html failed: UnicodeEncodeError"
    )
    saved = json.loads((tmp_path / "record.json").read_text())
    assert saved["exit_code"] == 3 and saved["status"] == record.status
    assert not (tmp_path / "report.html").exists()


class TornWrites:
    """journal.jsonl's file: the second line is written half, then the disk is full."""

    def __init__(self, file) -> None:
        self.file = file
        self.lines = 0

    def write(self, text: str) -> None:
        self.lines += 1
        if self.lines == 2:
            self.file.write(text[: len(text) // 2])
            self.file.flush()
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.file.write(text)

    def __getattr__(self, name: str):
        return getattr(self.file, name)


def test_a_journal_that_cannot_be_written_stops_the_run_without_a_torn_line(tmp_path, monkeypatch):
    class FillingJournal(store.Journal):
        def __init__(self, path):
            super().__init__(path)
            self._file = TornWrites(self._file)

    monkeypatch.setattr(runner, "Journal", FillingJournal)
    gnb = FakeGnb()
    record = execute(make_context(tmp_path, echo_power, gnb=gnb))
    assert record.exit_code == 3
    assert record.status == f"error: cannot write {tmp_path / 'journal.jsonl'}: No space left on device"
    assert gnb.calls[-1] == "rf off" and not gnb.rf
    text = (tmp_path / "journal.jsonl").read_text()
    assert text.endswith("\n") and [json.loads(line)["verdict"] for line in text.splitlines()] == ["PASS"]
    assert record.counts == {"PASS": 1, "SKIPPED": 2}


def test_skip_step_skips_the_rest_of_that_step_only(tmp_path):
    text = (
        PLAN.replace("ON_ERROR", "skip-step")
        + """
  - name: second
    measure: rf.power
    limits: {channel_power: {min: 29 dBm, max: 40 dBm}}
"""
    )
    loaded = parse_plan(text, file="p.yaml")
    ctx = make_context(tmp_path, echo_power)

    def first_point_breaks(mctx, step):
        if step.index == 1:
            raise InstrumentError("traffic", "iperf3", None, "unable to connect to server")
        return echo_power(mctx, step)

    ctx.loaded_plan, ctx.steps = loaded, expand(loaded)
    ctx.measurements = {"rf.power": first_point_breaks}
    record = execute(ctx)
    assert [line["verdict"] for line in journal(tmp_path)] == ["ERROR", "SKIPPED", "SKIPPED", "PASS"]
    assert record.status == "completed" and record.exit_code == 3
    assert "an earlier point of this step failed" in journal(tmp_path)[1]["error"]


def test_a_gnb_found_changed_before_measuring_is_an_error_never_a_fail(tmp_path):
    class DriftingGnb(FakeGnb):
        """Right after the run sets 33 dBm, another session sets 35 dBm."""

        role = "gnb"
        profile = SimpleNamespace(commands=SimpleNamespace(show_cell="show cell"))
        tx: float | None = None

        def set_tx_power(self, dbm):
            super().set_tx_power(dbm)
            self.tx = 35.0 if dbm == 33.0 else dbm

        def cell_status(self):
            return FakeStatus(self.rf, self.tx)

    gnb = DriftingGnb()
    record = execute(make_context(tmp_path, echo_power, on_error="continue", gnb=gnb))
    lines = journal(tmp_path)
    assert [line["verdict"] for line in lines] == ["PASS", "ERROR", "PASS"]
    assert lines[1]["error"] == (
        "InstrumentError: gnb: show cell: gNB TX power found 35 dBm before measuring: configured 33 dBm"
    )
    assert record.exit_code == 3
    # what was applied is forgotten: the third point configures the gNB again, from RF off
    assert gnb.calls.count("configure n78") == 2
    start = gnb.calls.index("tx 33")
    assert gnb.calls[start : start + 6] == [
        "tx 33",
        "rf off",
        "configure n78",
        "test model NR-FR1-TM1.1",
        "tx 36",
        "rf on",
    ]


def test_the_record_carries_the_command_lines_operator_environment_and_provenance(tmp_path):
    ctx = make_context(tmp_path, echo_power)
    ctx.operator, ctx.environment = "Nguyen Van A", {"temperature": "23 °C"}
    ctx.command_line = ["fivegbench", "run", "p.yaml", "--env", "temperature=23 °C"]
    record = execute(ctx)
    saved = json.loads((tmp_path / "record.json").read_text())
    assert saved["operator"] == record.operator == "Nguyen Van A"
    assert saved["environment"] == {"temperature": "23 °C"}
    assert saved["overrides"] == {"environment temperature": "23 °C", "operator": "Nguyen Van A"}
    assert saved["command_line"] == ctx.command_line
    assert saved["report_id"].startswith(f"FGB-{tmp_path.name}-")
    assert saved["versions"]["fivegbench"] and saved["local_timezone"]
    assert all(m["duration_s"] is not None and m["duration_s"] >= 0 for m in saved["measurements"])


def test_a_bad_env_option_is_one_line_and_touches_nothing(tmp_path):
    import subprocess
    import sys

    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "fivegbench",
            "run",
            "testplans/demo.yaml",
            "--results",
            str(tmp_path),
            "--env",
            "23C",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "'23C' is not KEY=VALUE" in done.stderr
    assert list(tmp_path.iterdir()) == []
