"""The simulated programmable attenuator through a real socket and pyvisa-py, and its driver."""

from __future__ import annotations

import time

import pytest

from fivegbench.drivers.attenuator.scpi_attenuator import ScpiAttenuator
from fivegbench.errors import InstrumentError
from fivegbench.sim.attenuator import SETTLE_S, SimAttenuator, snap_to_step
from fivegbench.sim.scpi import ScpiServer
from fivegbench.sim.world import World
from fivegbench.transport.visa import VisaTransport


@pytest.fixture
def server(world):
    with ScpiServer(SimAttenuator(world, serial="T7")) as srv:
        yield srv


@pytest.fixture
def link(rm, server):
    transport = VisaTransport(server.resource, "attenuator", rm, timeout_s=5)
    transport.open()
    yield transport
    transport.close()


def attenuation(world: World) -> float:
    with world.lock:
        return world.attenuation_db


def test_idn(link):
    assert link.query("*IDN?") == "fivegbench,SIM-ATT-95,T7,1.0"


def test_initial_setting_is_the_worlds(link, world):
    assert float(link.query("ATT?")) == 0.0 == attenuation(world)


def test_set_and_read_back_long_and_short_forms(link, world):
    link.write("INPut:ATTenuation 30 dB")
    assert link.query("*OPC?") == "1"
    assert link.query("ATT?") == "3E+01"
    assert attenuation(world) == 30.0
    link.write("att 12.5")
    assert link.query("*OPC?;:INP:ATT?") == "1;1.25E+01"
    assert attenuation(world) == 12.5
    assert link.query("SYST:ERR?") == '0,"No error"'


@pytest.mark.parametrize(
    ("sent", "expected"), [("10.1", 10.0), ("10.125", 10.25), ("10.2", 10.25), ("94.9", 95.0), ("0.1", 0.0)]
)
def test_rounds_to_the_nearest_quarter_db(link, world, sent, expected):
    link.write(f"ATT {sent}")
    assert link.query("*OPC?") == "1"
    assert float(link.query("ATT?")) == expected
    assert attenuation(world) == expected


@pytest.mark.parametrize("value", ["100", "-5", "95.01"])
def test_out_of_range_is_222_and_changes_nothing(link, world, value):
    link.write("ATT 20")
    link.write(f"ATT {value}")
    assert link.query("*OPC?") == "1"
    error = link.query("SYST:ERR?")
    assert error.startswith('-222,"Data out of range')
    assert link.query("SYST:ERR?") == '0,"No error"'
    assert float(link.query("ATT?")) == 20.0 == attenuation(world)


def test_range_ends(link):
    assert link.query("ATT? MAX") == "9.5E+01"
    assert link.query("ATTenuation? minimum") == "0E+00"
    link.write("ATT MAX")
    assert link.query("*OPC?;ATT?") == "1;9.5E+01"


def test_setting_reaches_the_world_after_the_relays_settle(link, world):
    start = time.monotonic()
    link.write("ATT 40")
    assert link.query("ATT?") == "4E+01"  # programmed at once
    assert attenuation(world) == 0.0  # relays still settling
    assert link.query("*OPC?") == "1"
    assert time.monotonic() - start >= SETTLE_S * 0.9
    assert attenuation(world) == 40.0


def test_rst_presets_maximum_attenuation(link, world):
    link.write("ATT 3")
    assert link.query("*OPC?") == "1"
    link.write("*RST")
    assert link.query("*OPC?;ATT?") == "1;9.5E+01"
    assert attenuation(world) == 95.0


def test_driver_end_to_end(link, world):
    att = ScpiAttenuator(link)
    assert att.idn().startswith("fivegbench,SIM-ATT-95,")
    assert att.set_attenuation(17.3) == 17.25
    assert attenuation(world) == 17.25
    att.attenuation = 8
    assert att.attenuation == 8.0
    assert att.to_maximum() == 95.0
    assert attenuation(world) == 95.0
    att.check_errors("end to end")


def test_driver_reports_queued_errors(link):
    link.write("ATT 200")
    with pytest.raises(InstrumentError, match=r"error -222"):
        ScpiAttenuator(link).check_errors("set attenuation")


def test_smaller_unit_range(rm, world):
    with ScpiServer(SimAttenuator(world, max_db=31.75, step_db=0.5)) as srv:
        link = VisaTransport(srv.resource, "attenuator", rm, timeout_s=5)
        link.open()
        try:
            att = ScpiAttenuator(link, max_db=31.75)
            assert att.to_maximum() == 31.75
            assert att.set_attenuation(10.1) == 10.0
        finally:
            link.close()


def test_snap_to_step():
    assert snap_to_step(0.125, 0.25) == 0.25
    assert snap_to_step(12.3, 0.25) == 12.25
    assert snap_to_step(0.0, 0.25) == 0.0


def test_bad_range_is_rejected(world):
    with pytest.raises(ValueError, match="step_db"):
        SimAttenuator(world, step_db=0.0)
