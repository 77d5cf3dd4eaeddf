"""Shared fixtures of the simulated-analyzer tests."""

from __future__ import annotations

import pytest
import pyvisa

from fivegbench.sim.world import World


@pytest.fixture
def analyzer_world() -> World:
    """A gNB transmitting 37 dBm through a 40 dB path: -3 dBm at the analyzer input."""
    w = World()
    w.gnb.rf_on = True
    w.gnb.tx_power_dbm = 37.0
    w.path_loss_db = 40.0
    return w


@pytest.fixture
def world() -> World:
    """A fresh world (modules that need a transmitting gNB override it)."""
    return World()


@pytest.fixture(scope="module")
def rm():
    """A pyvisa-py ResourceManager: one per process in real use, one per module here."""
    manager = pyvisa.ResourceManager("@py")
    yield manager
    manager.close()
