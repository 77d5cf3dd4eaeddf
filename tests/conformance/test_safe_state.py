"""The safe state of each safety role is applied and confirmed, and what it claims is read back
here on its own: the gNB not transmitting, the attenuator at its own maximum, the analyzer's
input attenuation at the largest its driver declares (its own query, not the driver's). With
``--allow-rf``, RF is switched on and read back, and the safe state switches it off."""

from __future__ import annotations

from fivegbench.bench import Instruments
from fivegbench.safestate import SAFETY_ROLES, apply_safe_state
from tests.conformance.roles import for_roles
from tests.conformance.values import attenuation_and_maximum


@for_roles(lambda role, cls: role in SAFETY_ROLES)
def test_the_safe_state_is_applied_and_confirmed(instruments, role):
    driver = instruments[role]
    state = apply_safe_state(Instruments({role: driver}))
    assert state.confirmed, state.detail
    if role == "gnb":
        assert driver.cell_status().rf_on is False
    elif role == "analyzer":
        setting = type(driver).attenuation
        maximum = setting.validator.domain[1]
        assert float(driver.transport.query(setting.get_command)) == maximum
        assert "analyzer input attenuation at maximum" in state.detail
    else:
        setting, maximum = attenuation_and_maximum(driver)
        assert abs(setting - maximum) <= 0.125, (setting, maximum)  # half the finest 0.25 dB step


@for_roles(lambda role, cls: role == "gnb")
def test_rf_on_and_off_read_back(instruments, role, rf):
    gnb = instruments[role]
    rf.on()
    assert gnb.cell_status().rf_on is True
    gnb.rf_off()
    assert gnb.cell_status().rf_on is False


@for_roles(lambda role, cls: role == "gnb")
def test_the_safe_state_switches_a_transmitting_gnb_off(instruments, role, rf):
    rf.on()
    assert instruments[role].cell_status().rf_on is True
    state = apply_safe_state(instruments)
    assert state.confirmed, state.detail
    assert instruments[role].cell_status().rf_on is False
