"""The bench's safe state with fake drivers: what is attempted, retried, and never retried."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from fivegbench import safestate
from fivegbench.bench import Instruments
from fivegbench.drivers.analyzer.rs_fsw import RsFsw
from fivegbench.drivers.gnb.console import LoginRefused
from fivegbench.errors import InstrumentError
from fivegbench.safestate import apply_safe_state

BROKEN_PIPE = InstrumentError("gnb", "<io>", None, "write to socket://x failed: [Errno 32] Broken pipe")


@dataclass
class Status:
    rf_on: bool


@dataclass
class FlakyGnb:
    """A gNB console whose calls fail as scripted: ``failures[name]`` exceptions are raised, in
    order, by the next calls of ``name``; then the call succeeds."""

    failures: dict[str, list[BaseException]] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    rf: bool = True
    timeout: float = 10.0

    def _call(self, name: str) -> None:
        self.calls.append(name)
        pending = self.failures.get(name)
        if pending:
            raise pending.pop(0)

    def resync(self) -> None:
        self._call("resync")

    def reopen(self) -> None:
        self._call("reopen")

    def rf_off(self, timeout: float | None = None) -> None:
        self._call(f"rf off ({timeout:g} s)" if timeout is not None else "rf off")
        self.rf = False

    def cell_status(self) -> Status:
        self._call("show cell")
        return Status(self.rf)


@dataclass
class FakeAttenuator:
    def to_maximum(self) -> float:
        return 95.0


@pytest.fixture(autouse=True)
def no_pause(monkeypatch):
    monkeypatch.setattr(safestate, "REOPEN_PAUSE_S", 0.0)


def test_a_healthy_console():
    gnb = FlakyGnb()
    state = apply_safe_state(Instruments({"gnb": gnb, "attenuator": FakeAttenuator()}))
    assert state.confirmed and state.detail == (
        "confirmed: gNB RF off (read back); attenuator at maximum 95 dB (read back)"
    )
    assert gnb.calls == ["resync", "rf off", "show cell"]


def test_a_reset_console_is_reopened():
    gnb = FlakyGnb(failures={"resync": [BROKEN_PIPE], "rf off (10 s)": [BROKEN_PIPE]})
    state = apply_safe_state(Instruments({"gnb": gnb}))
    assert state.confirmed and "on a reopened console (attempt 2)" in state.detail
    assert gnb.calls == ["resync", "rf off (10 s)", "reopen", "rf off", "show cell"]
    assert not gnb.rf


def test_a_hung_console_still_gets_rf_off_sent_before_it_is_reopened():
    hung = InstrumentError("gnb", "<resync>", None, "no prompt")
    gnb = FlakyGnb(
        failures={"resync": [hung], "rf off (10 s)": [InstrumentError("gnb", "rf off", None, "no prompt")]}
    )
    state = apply_safe_state(Instruments({"gnb": gnb}))
    assert state.confirmed
    assert gnb.calls[:3] == ["resync", "rf off (10 s)", "reopen"]


def test_reopening_is_bounded():
    failures = {"resync": [BROKEN_PIPE], "rf off (10 s)": [BROKEN_PIPE], "reopen": [BROKEN_PIPE] * 3}
    gnb = FlakyGnb(failures=failures)
    state = apply_safe_state(Instruments({"gnb": gnb, "attenuator": FakeAttenuator()}))
    assert not state.confirmed and state.unsafe == ("gnb",)
    assert gnb.calls.count("reopen") == 3
    assert "even reopening the console 3 times" in state.detail
    assert "attenuator at maximum 95 dB" in state.detail  # the other role was still made safe


def test_a_refused_login_is_not_retried():
    refused = LoginRefused("gnb", "<login>", None, "login as 'admin' refused")
    gnb = FlakyGnb(failures={"resync": [BROKEN_PIPE], "rf off (10 s)": [BROKEN_PIPE], "reopen": [refused]})
    state = apply_safe_state(Instruments({"gnb": gnb}))
    assert not state.confirmed and "login as 'admin' refused" in state.detail
    assert gnb.calls.count("reopen") == 1


def test_rf_still_on_after_rf_off_is_not_confirmed():
    class Stubborn(FlakyGnb):
        def rf_off(self, timeout: float | None = None) -> None:
            self.calls.append("rf off")

    state = apply_safe_state(Instruments({"gnb": Stubborn()}))
    assert not state.confirmed and state.detail == "NOT CONFIRMED: gNB still reports RF on after 'rf off'"


def test_a_crash_in_one_role_neither_skips_the_other_nor_passes_for_confirmed():
    gnb = FlakyGnb(failures={"show cell": [ZeroDivisionError("division by zero")]})
    state = apply_safe_state(Instruments({"gnb": gnb, "attenuator": FakeAttenuator()}))
    assert not state.confirmed and state.unsafe == ("gnb",)
    assert "gnb: safe state crashed: ZeroDivisionError" in state.detail
    assert "attenuator at maximum 95 dB" in state.detail


def test_unreached_roles_are_not_confirmed():
    state = apply_safe_state(Instruments({"attenuator": FakeAttenuator()}), {"gnb": "cannot open socket://x"})
    assert not state.confirmed and state.unsafe == ("gnb",)
    assert state.detail.startswith("NOT CONFIRMED: gnb not reached: cannot open socket://x")


class LostAnalyzer:
    """An R&S FSW driver whose link is gone: every exchange fails."""

    attenuation = RsFsw.attenuation  # the declared setting, with its 0..79 dB validator

    class transport:
        @staticmethod
        def write(message):
            raise InstrumentError("analyzer", message, None, "write failed: [Errno 32] Broken pipe")

        query = write

    attenuation_auto = RsFsw.attenuation_auto


def test_an_analyzer_that_cannot_be_attenuated_is_said_but_does_not_make_the_bench_unsafe():
    state = apply_safe_state(Instruments({"gnb": FlakyGnb(), "analyzer": LostAnalyzer()}))
    assert state.confirmed, state.detail  # RF is off: the analyzer's input is a protection, not safety
    assert state.detail == (
        "confirmed: gNB RF off (read back); analyzer input attenuation NOT set to maximum "
        "(analyzer: INP:ATT:AUTO OFF: write failed: [Errno 32] Broken pipe)"
    )
