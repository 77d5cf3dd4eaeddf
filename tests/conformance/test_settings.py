"""Each declared setting (a ``Setting`` of the driver) is set to a safe value from its
validator's domain and read back, with nothing in the error queue; then every declared setting
of the instrument is put back as it was found."""

from __future__ import annotations

from tests.conformance.roles import declared_settings
from tests.conformance.values import restore, safe_value, same, snapshot


def test_setting_reads_back_and_is_restored(instruments, setting):
    role, name = setting
    driver = instruments[role]
    declared = getattr(type(driver), name)
    before = snapshot(driver, declared_settings(type(driver)))
    target = safe_value(declared, before[name])
    try:
        setattr(driver, name, target)
        read = getattr(driver, name)
        driver.check_errors(f"set {name}")
    finally:
        left = restore(driver, before)
    assert same(read, target), f"{role}.{name}: set {target!r}, read back {read!r}"
    assert not left, f"{role}: not restored: {left} (was {before})"
    driver.check_errors("restore")
