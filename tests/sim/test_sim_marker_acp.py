"""Markers and the instruments' own ACLR in both simulated personalities: on traces whose answer
is known by construction (uploaded with ``TRAC:DATA``), and on a real sweep against fivegbench's
own ACLR reducer (a second, independent method)."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import pytest
import pyvisa

from fivegbench.drivers.analyzer.keysight_x import KeysightX
from fivegbench.drivers.analyzer.rs_fsw import RsFsw
from fivegbench.nr.bandwidth import config_bandwidth_hz
from fivegbench.reduce.aclr import aclr
from fivegbench.sim.analyzer import SimFsw
from fivegbench.sim.analyzer_keysight import SimN9030B
from fivegbench.sim.scpi import ScpiServer
from fivegbench.sim.world import World
from fivegbench.transport.visa import VisaTransport
from tests.sim.rawclient import Client, served

FC = 3.75e9
SPAN = 500e6
POINTS = 5001  # 100 kHz apart
RBW = 100e3
#: ENBW of a Gaussian RBW filter (RBW = its -3 dB width), written out here, not imported.
ENBW = RBW * math.sqrt(math.pi / (4 * math.log(2)))
FSW_SETUP = f"*RST;*CLS;INIT:CONT OFF;:FREQ:CENT {FC};SPAN {SPAN};:BAND {RBW};:SWE:POIN {POINTS}"
N9030B_SETUP = f"*RST;*CLS;:INIT:CONT OFF;:FREQ:CENT {FC};SPAN {SPAN};:BAND {RBW};:SWE:POIN {POINTS}"


@pytest.fixture
def world(analyzer_world: World) -> World:
    return analyzer_world


@pytest.fixture
def fsw(world: World) -> Iterator[Client]:
    yield from served(SimFsw(world, time_scale=0.0))


@pytest.fixture
def n9030b(world: World) -> Iterator[Client]:
    yield from served(SimN9030B(world, time_scale=0.0))


def upload(client: Client, setup: str, levels: np.ndarray) -> None:
    client.write(setup)
    client.write("FORM ASC;:TRAC:DATA TRACE1," + ",".join(f"{v:g}" for v in levels))
    assert client.query("SYST:ERR?") in ('0,"No error"', '+0,"No error"')


def carrier_trace(inside_dbm: float, outside_dbm: float, adjacent_dbm: float) -> np.ndarray:
    """A flat carrier 98.28 MHz wide on a flat floor, with the upper 1st adjacent channel raised."""
    offsets = np.linspace(-SPAN / 2, SPAN / 2, POINTS)
    levels = np.full(POINTS, outside_dbm)
    levels[np.abs(offsets) <= 49.14e6] = inside_dbm
    levels[np.abs(offsets - 100e6) <= 49.14e6] = adjacent_dbm
    return levels


# -- markers --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("personality", "setup", "peak", "x", "y"), [
    ("fsw", FSW_SETUP, "CALC1:MARK1:MAX:PEAK", "CALC1:MARK1:X?", "CALC1:MARK1:Y?"),
    ("fsw", FSW_SETUP, "CALC:MARK2:MAX", "CALC:MARK2:X?", "CALCulate1:MARKer2:Y?"),
    ("n9030b", N9030B_SETUP, ":CALC:MARK1:MAX", ":CALC:MARK1:X?", ":CALC:MARK1:Y?"),
    ("n9030b", N9030B_SETUP, ":CALCulate:MARKer12:MAXimum", ":CALC:MARK12:X?", ":CALC:MARK12:Y?"),
])  # fmt: skip
def test_marker_peak_search_finds_the_highest_point(request, personality, setup, peak, x, y):
    client = request.getfixturevalue(personality)
    levels = np.full(POINTS, -70.0)
    levels[3210] = -12.5  # 3.75 GHz - 250 MHz + 3210 x 100 kHz
    upload(client, setup, levels)
    client.write(peak)
    assert float(client.query(x)) == pytest.approx(3.821e9, abs=1.0)
    assert float(client.query(y)) == -12.5


@pytest.mark.parametrize(("personality", "prefix"), [("fsw", "CALC1:MARK3"), ("n9030b", ":CALC:MARK3")])
def test_marker_set_x_reads_the_level_there_and_an_off_marker_is_an_error(request, personality, prefix):
    client = request.getfixturevalue(personality)
    levels = np.linspace(-80.0, -30.0, POINTS)
    upload(client, FSW_SETUP if personality == "fsw" else N9030B_SETUP, levels)
    client.write(f"{prefix}:Y?")  # marker 3 is off after *RST: no reply, an error
    assert client.query("SYST:ERR?").split(",")[0] == "-221"
    client.write(f"{prefix}:X 3.6GHz")
    assert client.query(f"{prefix}:STAT?") == "1"
    assert float(client.query(f"{prefix}:Y?")) == pytest.approx(
        levels[1000], abs=1e-4
    )  # 3.6 GHz is point 1000
    client.write(f"{prefix}:STAT OFF")
    client.write(f"{prefix}:X?")
    assert client.query("SYST:ERR?").split(",")[0] == "-221"


@pytest.mark.parametrize("command", ["CALC2:MARK1:MAX", "CALC:MARK17:MAX", "CALC:MARK:MAX:PEAK 1"])
def test_fsw_marker_commands_it_rejects(fsw: Client, command: str) -> None:
    fsw.write(FSW_SETUP)
    fsw.write(command)
    code = fsw.query("SYST:ERR?").split(",")[0]
    assert (
        code
        == {"CALC2:MARK1:MAX": "-114", "CALC:MARK17:MAX": "-114", "CALC:MARK:MAX:PEAK 1": "-108"}[command]
    )


# -- the FSW's ACLR -------------------------------------------------------------------------------

FSW_ACP = (
    "CALC:MARK:FUNC:POW:SEL ACP;:POW:ACH:TXCH:COUN 1;:POW:ACH:ACP 2;:POW:ACH:BAND 98.28MHz;"
    ":POW:ACH:BAND:ACH 98.28MHz;:POW:ACH:BAND:ALT1 98.28MHz;:POW:ACH:SPAC 100MHz;:POW:ACH:SPAC:ALT1 200MHz"
)


def test_fsw_acp_on_a_known_trace(fsw: Client) -> None:
    upload(fsw, FSW_SETUP, carrier_trace(-20.0, -60.0, -50.0))
    fsw.write(FSW_ACP)
    assert fsw.query("SYST:ERR?") == '0,"No error"'
    tx, lower1, upper1, lower2, upper2 = (
        float(v) for v in fsw.query("CALC:MARK:FUNC:POW:RES? ACP").split(",")
    )
    inside = 983  # points within ±49.14 MHz at 100 kHz spacing
    assert tx == pytest.approx(10 * math.log10(inside * 10 ** (-20 / 10) * 100e3 / ENBW), abs=0.01)
    assert (lower1, upper1, lower2, upper2) == pytest.approx((-40.0, -30.0, -40.0, -40.0), abs=0.01)
    fsw.write("POW:ACH:MODE ABS")
    absolute = [float(v) for v in fsw.query("CALC1:MARK1:FUNC:POW1:RES? ACP").split(",")]
    assert absolute == pytest.approx([tx, tx - 40, tx - 30, tx - 40, tx - 40], abs=0.01)
    fsw.write("CALC:MARK:FUNC:POW:RES? CPOW")  # channel power is not the function selected
    assert fsw.query("SYST:ERR?").startswith('-221,"Settings conflict')
    fsw.write("CALC:MARK:FUNC:POW:SEL CPOW")
    assert float(fsw.query("CALC:MARK:FUNC:POW:RES? CPOW")) == pytest.approx(tx, abs=1e-6)
    assert fsw.query("SYST:ERR?") == '0,"No error"'


def test_fsw_adjacent_spacing_rescales_the_alternates(fsw: Client) -> None:
    fsw.write("*RST;:POW:ACH:SPAC:ALT1 300kHz;:POW:ACH:SPAC 100kHz")
    assert fsw.query("POW:ACH:SPAC?;SPAC:ALT1?") == "1E+05;1.5E+06"  # 20 kHz -> 100 kHz: x5


def test_fsw_acp_result_without_the_function_is_a_settings_conflict(fsw: Client) -> None:
    upload(fsw, FSW_SETUP, carrier_trace(-20.0, -60.0, -60.0))
    fsw.write("CALC:MARK:FUNC:POW:RES? ACP")
    assert fsw.query("SYST:ERR?").startswith('-221,"Settings conflict')


def test_fsw_acp_channel_off_screen_is_scpi_nan(fsw: Client) -> None:
    upload(fsw, FSW_SETUP.replace(f"SPAN {SPAN}", "SPAN 300000000"), np.full(POINTS, -60.0))
    fsw.write(FSW_ACP)
    values = fsw.query("CALC:MARK:FUNC:POW:RES? ACP").split(",")
    assert values[3:] == ["9.91E+37", "9.91E+37"]  # ±200 MHz is off a 300 MHz span


# -- the N9030B's ACP -----------------------------------------------------------------------------

N9030B_ACP = (
    ":CONF:ACP;:ACP:CARR:LIST:BAND 98.28MHz;:ACP:OFFS:LIST 100MHz,200MHz,0,0,0,0;"
    ":ACP:OFFS:LIST:BAND 98.28MHz,98.28MHz,98.28MHz,98.28MHz,98.28MHz,98.28MHz;"
    ":ACP:OFFS:LIST:STAT 1,1,0,0,0,0"
)


def test_n9030b_acp_on_a_known_trace(n9030b: Client) -> None:
    upload(n9030b, N9030B_SETUP, carrier_trace(-20.0, -60.0, -50.0))
    n9030b.write(N9030B_ACP)
    values = [float(v) for v in n9030b.query(":FETC:ACP?").split(",")]
    assert len(values) == 28
    tx = 10 * math.log10(983 * 10 ** (-20 / 10) * 100e3 / ENBW)
    assert values[:4] == pytest.approx([0.0, tx, 0.0, tx], abs=0.01)
    expected_ab = [-40.0, tx - 40, -30.0, tx - 30, -40.0, tx - 40, -40.0, tx - 40]
    assert values[4:12] == pytest.approx(expected_ab, abs=0.01)
    assert values[12:] == [9.91e37] * 16  # offsets C-F are off
    assert n9030b.query(":SYST:ERR?") == '+0,"No error"'


def test_n9030b_fetch_acp_outside_the_acp_measurement_is_a_settings_conflict(n9030b: Client) -> None:
    upload(n9030b, N9030B_SETUP, carrier_trace(-20.0, -60.0, -60.0))
    n9030b.write(":FETC:ACP?")
    assert n9030b.query(":SYST:ERR?").startswith('-221,"Settings conflict')
    n9030b.write(":CONF:ACP;:CONF:SAN;:FETC:ACP?")
    assert n9030b.query(":SYST:ERR?").startswith('-221,"Settings conflict')


def test_n9030b_acp_lists_read_back(n9030b: Client) -> None:
    n9030b.write(N9030B_ACP)
    assert n9030b.query(":ACP:OFFS:LIST?").split(",")[:3] == ["1E+08", "2E+08", "0E+00"]
    assert n9030b.query(":ACP:OFFS:LIST:STAT?") == "1,1,0,0,0,0"
    n9030b.write(":ACP:OFFS2:LIST 1MHz")
    assert n9030b.query(":SYST:ERR?").startswith("-114")


# -- the instrument's own ACLR beside fivegbench's, on a real sweep --------------------------------


@pytest.mark.parametrize(("engine", "driver"), [(SimFsw, RsFsw), (SimN9030B, KeysightX)])
def test_instrument_aclr_agrees_with_the_reducer_within_0_3_db(world: World, engine, driver) -> None:
    world.gnb.tx_power_dbm = 44.0  # near compression: ACLR ~ 40 dB, well above the noise floor
    server = ScpiServer(engine(world, time_scale=0.0))
    server.start()
    rm = pyvisa.ResourceManager("@py")
    transport = VisaTransport(server.resource, "analyzer", rm)
    try:
        transport.open()
        analyzer = driver(transport)
        analyzer.prepare()
        bw = config_bandwidth_hz(100e6, 30e3)
        analyzer.setup_acp(bw, 100e6)
        trace = analyzer.acquire(FC, 500e6, 100e3, 1e6, 10001, 10.0)
        own = analyzer.instrument_aclr_db()
        analyzer.check_errors("after")
    finally:
        transport.close()
        rm.close()
        server.stop()
    ours = aclr(trace.freqs_hz, trace.power_dbm, trace.rbw_hz, trace.enbw_factor, FC, 100e6, bw)
    reduced = [ours.channel(name).aclr_db for name in ("lower1", "upper1", "lower2", "upper2")]
    assert 30.0 < reduced[0] < 60.0  # a real leakage figure, not a noise floor
    assert own == pytest.approx(reduced, abs=0.3)


# -- markers and ACP outside the swept spectrum ---------------------------------------------------


def test_fsw_iq_mode_switches_the_power_function_off_and_blanks_the_markers(fsw: Client) -> None:
    upload(fsw, FSW_SETUP, carrier_trace(-20.0, -60.0, -50.0))
    fsw.write(FSW_ACP)
    fsw.write("CALC:MARK1:MAX;:TRAC:IQ ON;:CALC:MARK1:Y?;:CALC:MARK:FUNC:POW:RES? ACP")
    assert fsw.query("SYST:ERR?").startswith('-230,"Data corrupt or stale')  # the trace is blank
    assert fsw.query("SYST:ERR?").startswith('-221,"Settings conflict')  # the function is off
    assert fsw.query("CALC:MARK:FUNC:POW?") == "0"


def test_n9030b_markers_and_acp_are_spectrum_analyzer_mode_commands(n9030b: Client) -> None:
    upload(n9030b, N9030B_SETUP, carrier_trace(-20.0, -60.0, -50.0))
    assert n9030b.query(":INST:SEL BASIC;*OPC?") == "1"
    n9030b.write(":CALC:MARK1:MAX;:CONF:ACP;:FETC:ACP?;:ACP:OFFS:LIST:STAT?")
    for _ in range(4):
        assert n9030b.query(":SYST:ERR?").startswith('-113,"Undefined header')
    assert n9030b.query(":SYST:ERR?") == '+0,"No error"'
