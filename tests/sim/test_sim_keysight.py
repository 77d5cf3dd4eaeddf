"""The simulated Keysight N9030B through real sockets, and the KeysightX driver against it."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import pytest
import pyvisa

from fivegbench.drivers.analyzer.keysight_x import KeysightX
from fivegbench.nr.bandwidth import config_bandwidth_hz
from fivegbench.reduce.power import channel_power_dbm
from fivegbench.sim.analyzer_keysight import LOG_AVERAGE_OFFSET_DB, SCALAR_AVERAGE_OFFSET_DB, SimN9030B
from fivegbench.sim.scpi import ScpiServer, definite_block
from fivegbench.sim.world import World
from fivegbench.transport.visa import VisaTransport
from tests.sim.rawclient import Client

FC = 3.75e9
#: ENBW / RBW of a Gaussian RBW filter (RBW = its -3 dB width), written out here, not imported.
GAUSSIAN_ENBW_FACTOR = math.sqrt(math.pi / (4 * math.log(2)))


@pytest.fixture
def world(analyzer_world: World) -> World:
    return analyzer_world


@pytest.fixture
def server(world: World) -> Iterator[ScpiServer]:
    srv = ScpiServer(SimN9030B(world, serial="MY12345678"))
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def client(server: ScpiServer) -> Iterator[Client]:
    c = Client(server.port)
    yield c
    c.close()


def setup_sweep(
    client: Client,
    points: int = 2001,
    detector: str = "AVER",
    average: str = "RMS",
    sweep_time_s: float | None = None,
) -> None:
    """*RST, 200 MHz around FC at 100 kHz RBW, little-endian REAL,32 (auto sweep time if None)."""
    sweep_time = ":SENS:SWE:TIME:AUTO ON" if sweep_time_s is None else f":SENS:SWE:TIME {sweep_time_s}"
    client.write(
        f"*RST;*CLS;:SENS:FREQ:CENT {FC};SPAN 200MHz;:SENS:BAND:RES 100kHz;:SENS:SWE:POIN {points};"
        f":SENS:DET:TRAC {detector};:SENS:AVER:TYPE {average};{sweep_time};:FORM REAL,32;:FORM:BORD SWAP"
    )


def sweep(client: Client) -> np.ndarray:
    """:INIT:IMM;*OPC? then trace 1 (dBm), little-endian REAL,32 as set by setup_sweep."""
    assert client.query(":INIT:IMM;*OPC?") == "1"
    return np.frombuffer(client.query_block(":TRAC:DATA? TRACE1"), dtype="<f4").astype(float)


# -- identity, preset, header tree -------------------------------------------------------------


def test_idn_preset_and_signed_errors(client: Client) -> None:
    assert client.query("*IDN?") == "Keysight Technologies,N9030B,MY12345678,A.33.03"
    assert client.query(":INIT:CONT?") == "1"  # power-on: continuous
    client.write(":FREQ:CENT 1GHz;:SWE:POIN 2001;:FORM REAL,64;:FORM:BORD SWAP;:DET:TRAC AVER;*RST")
    answers = client.query(
        ":FREQ:CENT?;SPAN?;STAR?;STOP?;:BAND?;BAND:AUTO?;:SWE:POIN?;:DISP:WIND:TRAC:Y:SCAL:RLEV?;"
        ":POW:ATT?;ATT:AUTO?;:DET:TRAC?;:AVER:TYPE?;:INIT:CONT?;:FORM?;:FORM:BORD?"
    ).split(";")
    assert answers == [
        "1.3255E+10", "2.649E+10", "1E+07", "2.65E+10", "3E+06", "1", "1001", "0E+00",
        "1E+01", "1", "NORM", "LOG", "0", "ASC,8", "NORM",
    ]  # fmt: skip
    assert client.query("SYST:ERR?") == '+0,"No error"'


def test_long_and_short_headers_with_optional_sense_root(client: Client) -> None:
    client.write(
        ":SENSe:FREQuency:CENTer 3.75 GHz;SPAN 100 MHz;:BWIDth:RESolution 30 kHz;"
        ":sense:bandwidth:video 10kHz;:POWer:RF:ATTenuation 12 dB;:sens:pow:att:auto?"
    )
    assert client.read_line() == "0"
    assert client.query(":FREQ:CENT?;:SENS:FREQ:SPAN?;:SENSE:BAND?;:BWID:RES?;:BAND:VID?") == (
        "3.75E+09;1E+08;3E+04;3E+04;1E+04"
    )
    assert (
        client.query(":SENS:POW:ATT?;:POW:RF:ATT?;:SENS:BAND:RES:AUTO?;:BWID:VID:AUTO?")
        == "1.2E+01;1.2E+01;0;0"
    )
    client.write(":POW:ATT 5;:DISPlay:WINDow1:TRACe:Y:SCALe:RLEVel -20 dBm;:SENSe:DETector:TRACe3 POSitive")
    assert client.query(":POW:ATT?;:DISP:WIND:TRAC:Y:RLEV?;:DET:TRAC3?;:DET:TRAC?") == "6E+00;-2E+01;POS;NORM"
    client.write(":POW:ATT:AUTO ON;:DISP:WIND:TRAC:Y:RLEV 21")
    assert client.query(":POW:ATT?") == "3.6E+01"  # coupled 35 dB, rounded up to the 2 dB step
    client.write(":SWE:TIME 20ms;:SENSe:SWEep:POINts 1;:AVERage:TYPE SCALar;:FORMat:TRACe:DATA REAL,64")
    assert (
        client.query(":SWE:TIME?;TIME:AUTO?;:SWE:POIN?;:AVER:TYPE?;:FORM:DATA?") == "2E-02;0;1;SCAL;REAL,64"
    )
    client.write(":FREQ:STAR 3.7GHz;STOP 3.8GHz;:INIT:CONTinuous OFF;:INITiate:IMMediate")
    assert client.query("*OPC?;:FREQ:CENT?;SPAN?;:INIT:CONT?") == "1;3.75E+09;1E+08;0"
    assert client.query(":SYST:ERR?") == '+0,"No error"'


@pytest.mark.parametrize(
    ("message", "code"),
    [
        (":FREQU:CENT 1GHz", "-113"),
        (":DET RMS", "-113"),
        (":INP:ATT 10", "-113"),
        (":SENS:DET:TRAC RMS", "-224"),
        (":SENS:DET:TRAC7 AVER", "-114"),
        (":DISP:WIND2:TRAC:Y:RLEV 0", "-114"),
        (":AVER:TYPE POWer", "-224"),
        (":SWE:POIN 0", "-222"),
        (":SWE:POIN 100002", "-222"),
        (":BAND 10MHz", "-222"),
        (":POW:ATT 72", "-222"),
        (":FORM REAL,16", "-224"),
        (":FORM:BORD LITTLE", "-224"),
        (":TRAC? TRACE9", "-224"),
        (":INIT?", "-100"),
    ],
)
def test_errors_are_keysight_formatted(client: Client, message: str, code: str) -> None:
    client.write(message)
    reply = client.query(":SYST:ERR?")
    assert reply.startswith(f'{code},"'), reply
    assert client.query(":SYSTem:ERRor:NEXT?") == '+0,"No error"'


def test_no_trace_before_first_sweep_after_rst(client: Client) -> None:
    client.write("*RST;:TRAC? TRACE1")
    assert client.query("SYST:ERR?").startswith('-230,"Data corrupt or stale')


# -- binary transfer and byte order ---------------------------------------------------------------


def test_byte_orders_and_formats_decode_the_same_values(client: Client) -> None:
    setup_sweep(client, points=1001)
    client.write(":FORM:BORD NORM")
    assert client.query(":INIT:IMM;*OPC?") == "1"
    big_raw = client.query_block(":TRAC:DATA? TRACE1")
    big = np.frombuffer(big_raw, dtype=">f4")
    client.write(":FORM:BORD SWAP")
    little_raw = client.query_block(":TRACe? TRACE1")
    little = np.frombuffer(little_raw, dtype="<f4")
    np.testing.assert_array_equal(big, little)
    assert big_raw != little_raw and big_raw[:4] == little_raw[:4][::-1]
    assert not np.allclose(np.frombuffer(big_raw, dtype="<f4"), little)  # the wrong order is garbage
    client.write(":FORM REAL,64")
    wide = np.frombuffer(client.query_block(":TRAC:DATA? TRACE1"), dtype="<f8")
    client.write(":FORM:BORD NORM")
    wide_big = np.frombuffer(client.query_block(":TRAC:DATA? TRACE1"), dtype=">f8")
    client.write(":FORM ASCii")
    text = np.array(client.query(":TRAC:DATA? TRACE1").split(","), dtype=float)
    np.testing.assert_array_equal(wide, little.astype(np.float64))
    np.testing.assert_array_equal(wide_big, wide)
    np.testing.assert_allclose(text, little, rtol=1e-6)
    assert little.size == 1001 and np.ptp(little) > 20.0  # a carrier above a noise floor


@pytest.mark.parametrize(
    ("order", "dtype"), [("NORM", ">f4"), ("SWAP", "<f4"), ("NORM", ">f8"), ("SWAP", "<f8")]
)
def test_trace_write_round_trip(client: Client, order: str, dtype: str) -> None:
    bits = np.dtype(dtype).itemsize * 8
    client.write(f"*RST;:SWE:POIN 5001;:FORM REAL,{bits};:FORM:BORD {order}")
    values = np.random.default_rng(3).normal(-80.0, 15.0, 5001).astype(np.float32)
    payload = values.astype(dtype).tobytes()
    client.write(b":TRAC:DATA TRACE1," + definite_block(payload))
    assert client.query_block(":TRAC:DATA? TRACE1") == payload
    assert client.query("SYST:ERR?") == '+0,"No error"'


def test_pyvisa_binary_query_big_endian_preset(server: ScpiServer) -> None:
    rm = pyvisa.ResourceManager("@py")
    try:
        inst = rm.open_resource(server.resource, read_termination="\n", write_termination="\n", timeout=5000)
        try:
            assert inst.query("*IDN?").startswith("Keysight Technologies,N9030B")
            inst.write("*RST;:FREQ:CENT 3.75GHz;SPAN 200MHz;:BAND 1MHz;:FORM REAL,32")
            assert inst.query(":INIT:IMM;*OPC?") == "1"
            values = inst.query_binary_values(
                ":TRAC:DATA? TRACE1", datatype="f", is_big_endian=True, container=np.array
            )
            assert values.size == 1001 and -200.0 < values.min() < values.max() < 30.0
            assert inst.query("SYST:ERR?") == '+0,"No error"'
        finally:
            inst.close()
    finally:
        rm.close()


# -- detector / average type ----------------------------------------------------------------------


def test_rms_needs_average_detector_and_power_averaging(client: Client, world: World) -> None:
    """Channel power is right only with AVER + RMS; LOG and SCALar averaging read low by their
    noise biases, the NORMal (modelled as peak) detector reads high. A 200 ms sweep gives the
    peak detector 5 samples per point."""
    bw = config_bandwidth_hz(100e6, 30e3)
    f = np.linspace(FC - 100e6, FC + 100e6, 4001)
    measured = {}
    for detector, average in (("AVER", "RMS"), ("AVER", "LOG"), ("AVER", "SCAL"), ("NORM", "RMS")):
        setup_sweep(client, points=4001, detector=detector, average=average, sweep_time_s=0.2)
        y = sweep(client)
        measured[detector, average] = channel_power_dbm(f, y, 100e3, GAUSSIAN_ENBW_FACTOR, FC, bw)
    assert measured["AVER", "RMS"] == pytest.approx(-3.0, abs=0.15)
    rms = measured["AVER", "RMS"]
    assert measured["AVER", "LOG"] - rms == pytest.approx(-LOG_AVERAGE_OFFSET_DB, abs=0.15)
    assert measured["AVER", "SCAL"] - rms == pytest.approx(-SCALAR_AVERAGE_OFFSET_DB, abs=0.15)
    assert measured["NORM", "RMS"] > rms + 2.5
    assert abs(LOG_AVERAGE_OFFSET_DB - 2.507) < 1e-3  # 10·γ/ln 10
    assert abs(SCALAR_AVERAGE_OFFSET_DB - 1.049) < 1e-3  # -10·log10(π/4)


def test_one_point_sweep_is_the_whole_span(client: Client) -> None:
    setup_sweep(client, points=1)
    (level,) = sweep(client)
    # one 200 MHz RMS bucket: the carrier's flat PSD (-3 dBm over BW_Config) seen through the
    # 100 kHz RBW, averaged over a bucket of which the carrier fills BW_Config / 200 MHz
    bw = config_bandwidth_hz(100e6, 30e3)
    in_rbw = -3.0 - 10 * math.log10(bw / (GAUSSIAN_ENBW_FACTOR * 100e3))
    assert level == pytest.approx(in_rbw + 10 * math.log10(bw / 200e6), abs=0.3)


def test_overload_in_questionable_integrity(client: Client, world: World) -> None:
    world.gnb.tx_power_dbm = 46.0  # ~+6 dBm at the analyzer input
    setup_sweep(client, points=1001)
    client.write(":POW:ATT 0;:DISP:WIND:TRAC:Y:RLEV 20")  # the ADC has room, the first mixer not
    sweep(client)
    assert client.query(":STAT:QUES:INT:COND?") == "16"  # bit 4 Input Overload; bit 0 is Signal Summary
    client.write(":POW:ATT 10")
    sweep(client)
    assert client.query(":STATus:QUEStionable:INTegrity:CONDition?") == "0"
    assert client.query(":STAT:QUES:INT:EVEN?;EVEN?") == "16;0"  # latched, then cleared by the read
    client.write(":DISP:WIND:TRAC:Y:RLEV -10")  # the mean power 16 dB above the reference level
    sweep(client)
    assert client.query(":STAT:QUES:INT:COND?") == "32"  # bit 5 Over Range: the ADC full scale
    assert client.query(":STAT:QUES:POW:COND?;:STAT:QUES:POW?;:SYST:ERR?") == '0;0;+0,"No error"'


@pytest.mark.parametrize(
    ("asked", "answer"),
    [
        ("104kHz", "1E+05"),
        ("105kHz", "1.1E+05"),
        ("110 kHz", "1.1E+05"),
        ("3.5MHz", "4E+06"),
        ("7MHz", "8E+06"),
    ],
)
def test_rbw_is_rounded_to_the_x_series_steps(client: Client, asked: str, answer: str) -> None:
    client.write(f":SENS:BAND:RES {asked}")
    assert client.query(":SENS:BAND:RES?;:BAND:AUTO?") == f"{answer};0"


# -- the driver end to end ------------------------------------------------------------------------


def test_driver_acquire_channel_power(server: ScpiServer, world: World) -> None:
    """37 dBm, 40 dB path loss, 100 MHz/30 kHz n78: channel power over BW_Config is -3 dBm ± 0.1 dB."""
    rm = pyvisa.ResourceManager("@py")
    transport = VisaTransport(server.resource, "analyzer", rm)
    try:
        transport.open()
        analyzer = KeysightX(transport)
        assert analyzer.idn() == "Keysight Technologies,N9030B,MY12345678,A.33.03"
        analyzer.prepare()
        trace = analyzer.acquire(FC, 200e6, 100e3, 1e6, 10001, 10.0)
        assert analyzer.detector == "AVER" and analyzer.average_type == "RMS"
        assert analyzer.continuous is False and analyzer.sweep_points == 10001
    finally:
        transport.close()
        rm.close()
    bw = config_bandwidth_hz(100e6, 30e3)
    power = channel_power_dbm(trace.freqs_hz, trace.power_dbm, trace.rbw_hz, trace.enbw_factor, FC, bw)
    assert power == pytest.approx(-3.0, abs=0.1)
    assert trace.overload == () and trace.attenuation_db == 20.0  # ref +10 dBm -> 20 dB coupled
    assert trace.sweep_time_s == pytest.approx(2.5 * 200e6 / (100e3 * 100e3))
