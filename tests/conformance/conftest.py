"""The connection to the ``--bench`` instruments, shared by the conformance tests, and the RF
interlock.

One connection for the session, opened as a run opens it (:func:`fivegbench.bench.connect`:
locks, the gNB first, RF found on is switched off) and always ended in the safe state, which must
be confirmed. The gNB's console link is wrapped in :class:`RfInterlock`, which refuses to send the
profile's ``rf on`` line unless a test holding the ``rf`` fixture opened it, and ``rf`` is only
given with ``--allow-rf``: no other path can switch RF on.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fivegbench.bench import Instruments, LoadedBench, connect
from fivegbench.safestate import apply_safe_state
from fivegbench.transport.base import IoLog
from tests.conformance.interlock import RfInterlock
from tests.conformance.option import BENCH_KEY
from tests.conformance.roles import declared_settings, driver_class


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    loaded: LoadedBench | None = metafunc.config.stash.get(BENCH_KEY, None)
    if loaded is None:  # no --bench: the tests are skipped (see the root conftest.py)
        return
    roles = {role: driver_class(loaded, role) for role in loaded.bench.instruments}
    if "setting" in metafunc.fixturenames:
        pairs = [(role, name) for role, cls in roles.items() for name in declared_settings(cls)]
        metafunc.parametrize("setting", pairs, ids=[f"{role}.{name}" for role, name in pairs])
    elif "role" in metafunc.fixturenames:
        applies = getattr(metafunc.function, "applies", lambda role, cls: True)
        metafunc.parametrize("role", [role for role, cls in roles.items() if applies(role, cls)])


@pytest.fixture
def role(lab_bench: LoadedBench) -> str:
    raise AssertionError("parametrized by pytest_generate_tests when --bench is given")


@pytest.fixture
def setting(lab_bench: LoadedBench) -> tuple[str, str]:
    raise AssertionError("parametrized by pytest_generate_tests when --bench is given")


@pytest.fixture(scope="session")
def instruments(lab_bench: LoadedBench, pytestconfig: pytest.Config) -> Iterator[Instruments]:
    """Every instrument of the bench, connected; the safe state applied and confirmed at the end."""
    io_path = pytestconfig.getoption("--bench-io-log")
    iolog = IoLog(Path(io_path) if io_path else None)
    try:
        with connect(lab_bench, set(lab_bench.bench.instruments), iolog) as connected:
            try:
                if connected.failure is not None:
                    raise connected.failure
                if "gnb" in connected:
                    gnb = connected["gnb"]
                    gnb.transport = RfInterlock(gnb.transport, gnb.profile.commands.rf_on)
                yield connected
            finally:
                state = apply_safe_state(connected)
                assert state.confirmed, f"the bench may be unsafe: {state.detail}"
    finally:
        iolog.close()


class Rf:
    """Switches the gNB's RF on for one test; the safe state ends it (confirmed)."""

    def __init__(self, gnb: Any) -> None:
        self.gnb = gnb

    def on(self) -> None:
        self.gnb.transport.rf_allowed = True
        try:
            self.gnb.rf_on()
        finally:
            self.gnb.transport.rf_allowed = False


@pytest.fixture
def rf(instruments: Instruments, pytestconfig: pytest.Config) -> Iterator[Rf]:
    """RF on for the test that asks, only with ``--allow-rf``; RF off and confirmed afterwards."""
    if not pytestconfig.getoption("--allow-rf"):
        pytest.skip("needs the gNB transmitting: pass --allow-rf")
    try:
        yield Rf(instruments["gnb"])
    finally:
        state = apply_safe_state(instruments)
        assert state.confirmed, f"the bench may be unsafe: {state.detail}"
