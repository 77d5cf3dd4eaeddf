"""The program's entry point: exit codes of crashes and interrupts, and signal messages."""

from __future__ import annotations

import logging
import os
import signal
import sys

import pytest

from fivegbench import cli
from fivegbench.runner import StopControl


@pytest.fixture(autouse=True)
def restore_logging_and_signals():
    """``main`` adds a stderr handler to the root logger; handlers installed here are undone."""
    handlers = logging.getLogger().handlers[:]
    signals = {signum: signal.getsignal(signum) for signum in cli.STOP_SIGNALS}
    yield
    logging.getLogger().handlers[:] = handlers
    for signum, handler in signals.items():
        signal.signal(signum, handler)


def run_entry(monkeypatch, *args: str) -> int:
    monkeypatch.setattr(sys, "argv", ["fivegbench", *args])
    with pytest.raises(SystemExit) as info:
        cli.entry()
    return int(info.value.code or 0)


def test_a_crash_is_one_line_and_exit_3_never_1(monkeypatch, capsys):
    def broken(path):
        raise RuntimeError("boom")

    monkeypatch.setattr("fivegbench.plan.load.load_plan", broken)  # cli imports it when run
    assert run_entry(monkeypatch, "validate", "plan.yaml") == 3
    assert capsys.readouterr().err == "error: internal error: RuntimeError: boom (--debug shows where)\n"


def test_debug_shows_the_traceback(monkeypatch):
    def broken(path):
        raise RuntimeError("boom")

    monkeypatch.setattr("fivegbench.plan.load.load_plan", broken)  # cli imports it when run
    monkeypatch.setattr(sys, "argv", ["fivegbench", "--debug", "validate", "plan.yaml"])
    with pytest.raises(RuntimeError, match="boom"):
        cli.entry()


def test_an_interrupt_outside_a_run_is_exit_3(monkeypatch, capsys):
    def interrupted(path):
        raise KeyboardInterrupt

    monkeypatch.setattr("fivegbench.plan.load.load_plan", interrupted)
    assert run_entry(monkeypatch, "validate", "plan.yaml") == 3
    assert capsys.readouterr().err == "\ninterrupted\n"


def test_usage_errors_stay_exit_2_and_help_exit_0(monkeypatch, capsys):
    assert run_entry(monkeypatch, "run") == 2
    assert "Missing argument 'PLAN'" in capsys.readouterr().err
    assert run_entry(monkeypatch, "bench", "safe", "--help") == 0
    assert "Apply the bench's safe state" in capsys.readouterr().out


@pytest.mark.parametrize("signum", cli.STOP_SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_each_stop_signal_asks_the_run_to_stop(signum, capsys):
    stop = StopControl()
    cli._install_signal_handlers(stop)
    os.kill(os.getpid(), signum)
    assert stop.requested and stop.signals == 1
    assert "stopping after the current measurement" in capsys.readouterr().err


def test_signals_during_the_safe_state_say_it_cannot_be_interrupted(capsys):
    stop = StopControl()
    cli._install_signal_handlers(stop)
    stop.shield()
    os.kill(os.getpid(), signal.SIGINT)
    os.kill(os.getpid(), signal.SIGINT)
    err = capsys.readouterr().err
    assert err.count("cannot be interrupted") == 2 and "stopping now" not in err


def test_signals_after_stop_now_never_say_stopping_now_again(capsys):
    from fivegbench.runner import AbortNow

    stop = StopControl()
    cli._install_signal_handlers(stop)
    os.kill(os.getpid(), signal.SIGINT)
    with pytest.raises(AbortNow):
        os.kill(os.getpid(), signal.SIGINT)
    os.kill(os.getpid(), signal.SIGINT)  # before the runner has shielded the safe state
    err = capsys.readouterr().err
    assert err.count("stopping now") == 1
    assert err.endswith("\nalready stopping: the safe state follows and cannot be interrupted\n")
