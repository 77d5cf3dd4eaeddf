"""Each instrument says who it is, the same twice, with a serial number (the bench's, when the
bench names one)."""

from __future__ import annotations

import re
from typing import Any

from fivegbench.drivers.attenuator.minicircuits import MiniCircuitsAttenuator
from fivegbench.drivers.gnb.console import GnbConsole
from fivegbench.drivers.traffic.endpoints import TrafficEndpoints
from fivegbench.drivers.ue.modem import UeModem


def serial_of(driver: Any, identity: str) -> str:
    """The serial number in an identity, as each family writes it."""
    if isinstance(driver, GnbConsole):
        return driver.version_info().get("serial", "")
    if isinstance(driver, MiniCircuitsAttenuator):  # Mini-Circuits,<model>,SN <serial>
        match = re.search(r",SN (\S+)$", identity)
        return match.group(1) if match else ""
    if isinstance(driver, UeModem):  # AT+CGSN: the 15-digit IMEI (TS 23.003 §6.2.1)
        imeis = [field for field in identity.split(", ") if re.fullmatch(r"\d{15}", field)]
        return imeis[0] if len(imeis) == 1 else ""
    fields = identity.split(",")  # IEEE 488.2 *IDN?: maker,model,serial,firmware
    if len(fields) != 4:
        return ""
    return fields[2].strip().rsplit("/", 1)[-1]  # R&S writes <order number>/<serial>


def test_identity_answers_with_a_serial(lab_bench, instruments, role):
    driver = instruments[role]
    at_connect = instruments.identities[role]
    assert at_connect.strip(), f"{role} gave an empty identity"
    assert driver.idn() == at_connect  # asked again: the same instrument, the same answer
    if isinstance(driver, TrafficEndpoints):  # programs, not an instrument: their versions
        assert re.search(r"^iperf 3\.\d+", at_connect), at_connect
        assert re.search(r"; irtt version: \d+\.\d+", at_connect), at_connect
        return
    serial = serial_of(driver, at_connect)
    assert serial, f"no serial number in {role}'s identity {at_connect!r}"
    declared = lab_bench.bench.instruments[role].serial
    if declared is not None:
        assert serial == declared, f"{role} is serial {serial}, the bench says {declared}"
