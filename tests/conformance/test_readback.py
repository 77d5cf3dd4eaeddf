"""Settings that drivers expose as procedures rather than declared settings, each set to a safe
value, read back and restored: the attenuation, and the gNB's TX power and test model (RF off)."""

from __future__ import annotations

import math

import pytest

from fivegbench.drivers.gnb.console import GnbConsole
from tests.conformance.roles import for_roles
from tests.conformance.values import attenuation_and_maximum


@for_roles(lambda role, cls: hasattr(cls, "set_attenuation"))
def test_attenuation_reads_back(instruments, role):
    attenuator = instruments[role]
    original, maximum = attenuation_and_maximum(attenuator)
    target = 10 * math.ceil(original / 10) - 10 if original >= 10 else 10.0  # a whole 10 dB step
    assert 0 <= target <= maximum
    try:
        assert attenuator.set_attenuation(target) == pytest.approx(target, abs=0.125)
        read, _ = attenuation_and_maximum(attenuator)
    finally:
        attenuator.set_attenuation(original)
    assert read == pytest.approx(target, abs=0.125)  # half the finest (0.25 dB) step
    assert attenuation_and_maximum(attenuator)[0] == pytest.approx(original, abs=0.125)


@for_roles(lambda role, cls: issubclass(cls, GnbConsole))
def test_tx_power_reads_back(lab_bench, instruments, role):
    gnb = instruments[role]
    original = gnb.cell_status().tx_power_dbm
    assert original is not None, "the gNB profile reads no TX power (responses.cell: tx_power_dbm)"
    low, high = gnb.profile.limits.tx_power_dbm
    ceiling = min(high, lab_bench.bench.instruments[role].limits.max_tx_power or high)
    target = math.floor(original) - 1.0 if math.floor(original) - 1.0 >= low else math.ceil(low)
    assert low <= target <= ceiling and target != original
    try:
        gnb.set_tx_power(target)
        read = gnb.cell_status().tx_power_dbm
    finally:
        gnb.set_tx_power(original)
    assert read == pytest.approx(target, abs=0.05)  # consoles print a tenth of a dB
    assert gnb.cell_status().tx_power_dbm == pytest.approx(original, abs=0.05)


@for_roles(lambda role, cls: issubclass(cls, GnbConsole))
def test_test_model_reads_back(instruments, role):
    gnb = instruments[role]
    original = gnb.cell_status().test_model
    if original is None:
        pytest.skip("the gNB profile reads no test model (responses.cell has no test_model group)")
    target = next(name for name in gnb.profile.limits.test_models if name != original)
    try:
        gnb.set_test_model(target)
        read = gnb.cell_status().test_model
    finally:
        gnb.set_test_model(original)
    assert read == target
    assert gnb.cell_status().test_model == original
