"""I/Q capture, overload, autolevel and read-back in both simulated analyzers, through their
drivers and through raw sockets. Expected levels are computed here from the world's numbers
(commanded power, path loss, PA saturation, DANL), never read from the simulator."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pytest
import pyvisa

from fivegbench.drivers.analyzer.iq import IqAcquisition
from fivegbench.drivers.analyzer.keysight_x import KeysightX
from fivegbench.drivers.analyzer.rs_fsw import RsFsw
from fivegbench.drivers.analyzer.swept import SweptAnalyzer
from fivegbench.drivers.analyzer.trace import Trace
from fivegbench.reduce.power import channel_power_dbm
from fivegbench.sim.analyzer import SimFsw
from fivegbench.sim.analyzer_keysight import SimN9030B
from fivegbench.sim.scpi import ScpiEngine, ScpiServer
from fivegbench.sim.world import World
from fivegbench.transport.visa import VisaTransport
from tests.sim.rawclient import Client, served

FC = 3.75e9
TX_DBM = 37.0
LOSS_DB = 40.0
SATURATION_DBM = 54.0  # the world's PA
FS = 122.88e6  # N x SCS of the 100 MHz / 30 kHz carrier
FRAME_S = 20e-3  # the TDD test model's period: a capture this long holds every frame sample once
#: DL share of the DDDSU (S = 10:2:2) frame in samples at N = 4096: a 0.5 ms slot is 61 440
#: samples (14 x 4096 + 13 x 288 + 352 CP); the S slot's 10 DL symbols are 10 x 4096 + 9 x 288 + 352.
DL_FRACTION = (3 * 61440 + 43904) / (5 * 61440)
BW_CONFIG_HZ = 273 * 12 * 30e3  # N_RB = 273 at 100 MHz / 30 kHz (TS 38.104 Table 5.3.2-1)
REFERENCE_DBM = TX_DBM - LOSS_DB + 10.0  # mean power plus the OFDM crest factor
#: The families' names of an ADC (IF) overload and of a first-mixer overload.
ADC_OVERLOAD = {"fsw": "IF overload", "n9030b": "over range"}
FAMILIES = {"fsw": (SimFsw, RsFsw), "n9030b": (SimN9030B, KeysightX)}


def rapp_compression_db(ibo_db: float, smoothness: float = 2.0) -> float:
    """Mean-power loss of a Rapp PA driven by a complex Gaussian signal at input back-off
    ``ibo_db``: E[u / (1 + (u b)^p)^(1/p)] with u ~ Exp(1), b = 10^(-IBO/10)."""
    u = np.linspace(0.0, 60.0, 600001)
    b = 10.0 ** (-ibo_db / 10.0)
    out = np.trapezoid(u / (1.0 + (u * b) ** smoothness) ** (1.0 / smoothness) * np.exp(-u), u)
    return -10.0 * math.log10(out)


EXPECTED_DBM = TX_DBM - LOSS_DB - rapp_compression_db(SATURATION_DBM - TX_DBM)


def transmitting_world() -> World:
    world = World()
    world.gnb.rf_on = True
    world.gnb.tx_power_dbm = TX_DBM
    world.pa.saturation_dbm = SATURATION_DBM
    world.path_loss_db = LOSS_DB
    return world


def mean_power_dbm(samples: np.ndarray) -> float:
    """Mean of |x|^2 / 50 ohm, dBm."""
    return 10.0 * math.log10(float(np.mean(np.abs(samples.astype(np.complex128)) ** 2)) / 50.0) + 30.0


@pytest.fixture(scope="module")
def rm() -> Iterator[pyvisa.ResourceManager]:
    manager = pyvisa.ResourceManager("@py")
    yield manager
    manager.close()


class Bench:
    """One simulated analyzer on a world, reached through its driver over VISA."""

    def __init__(self, family: str, world: World, rm: pyvisa.ResourceManager) -> None:
        engine, driver = FAMILIES[family]
        self.engine: ScpiEngine = engine(world, time_scale=0.0)
        self.server = ScpiServer(self.engine)
        self.server.start()
        self.transport = VisaTransport(self.server.resource, "analyzer", rm, timeout_s=60.0)
        self.transport.open()
        self.analyzer: SweptAnalyzer = driver(self.transport)
        self.analyzer.prepare()

    def close(self) -> None:
        self.transport.close()
        self.server.stop()


@pytest.fixture(params=sorted(FAMILIES))
def bench(request: pytest.FixtureRequest, rm: pyvisa.ResourceManager) -> Iterator[tuple[str, World, Bench]]:
    world = transmitting_world()
    b = Bench(request.param, world, rm)
    try:
        yield request.param, world, b
    finally:
        b.close()


@dataclass(frozen=True)
class Measured:
    iq: IqAcquisition
    trace: Trace
    iq_mode_after: str


@pytest.fixture(scope="module")
def measured(rm: pyvisa.ResourceManager) -> dict[str, Measured]:
    """Each dialect on its own copy of the same world: one frame-long capture, then a sweep."""
    results = {}
    for family in sorted(FAMILIES):
        b = Bench(family, transmitting_world(), rm)
        try:
            iq = b.analyzer.capture_iq(FC, FS, FRAME_S, REFERENCE_DBM)
            trace = b.analyzer.acquire(FC, 200e6, 100e3, 1e6, 100001, REFERENCE_DBM)
            mode = b.transport.query("TRAC:IQ?" if family == "fsw" else ":INST:SEL?")
            b.analyzer.check_errors("after")
        finally:
            b.close()
        results[family] = Measured(iq, trace, mode)
    return results


# -- the waveform at the analyzer input -----------------------------------------------------------


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_iq_power_over_dl_symbols_is_tx_power_minus_path_loss(
    measured: dict[str, Measured], family: str
) -> None:
    iq = measured[family].iq
    assert iq.samples.dtype == np.complex64 and iq.samples.size == 2457600
    assert (iq.sample_rate_hz, iq.center_hz, iq.reference_level_dbm) == (FS, FC, REFERENCE_DBM)
    assert iq.overload == ()
    dl_power = mean_power_dbm(iq.samples) - 10.0 * math.log10(DL_FRACTION)  # UL: analyzer noise only
    assert dl_power == pytest.approx(EXPECTED_DBM, abs=0.2)


def test_both_dialects_agree_within_0_1_db(measured: dict[str, Measured]) -> None:
    fsw, n9030b = measured["fsw"], measured["n9030b"]
    assert mean_power_dbm(fsw.iq.samples) == pytest.approx(mean_power_dbm(n9030b.iq.samples), abs=0.1)
    swept = {
        family: channel_power_dbm(
            m.trace.freqs_hz, m.trace.power_dbm, m.trace.rbw_hz, m.trace.enbw_factor, FC, BW_CONFIG_HZ
        )
        for family, m in measured.items()
    }
    assert swept["fsw"] == pytest.approx(swept["n9030b"], abs=0.1)
    assert swept["fsw"] == pytest.approx(EXPECTED_DBM, abs=0.05)


def test_capture_leaves_the_analyzer_in_swept_mode(measured: dict[str, Measured]) -> None:
    assert measured["fsw"].iq_mode_after == "0"
    assert measured["n9030b"].iq_mode_after == "SA"
    for m in measured.values():
        assert m.trace.freqs_hz.size == 100001 and m.trace.overload == ()


# -- overload and autolevel -----------------------------------------------------------------------


def test_reference_level_too_low_overloads_and_autolevel_recovers(bench: tuple[str, World, Bench]) -> None:
    family, _, b = bench
    analyzer = b.analyzer
    low = TX_DBM - LOSS_DB - 27.0  # the mean power 27 dB above the reference level
    clipped = analyzer.capture_iq(FC, FS, 1e-3, low)
    assert ADC_OVERLOAD[family] in clipped.overload
    # the ADC clips at a CW level 3 dB above the reference level (model assumption [U])
    peak_w = float(np.max(np.abs(clipped.samples.astype(np.complex128)) ** 2)) / 50.0
    assert 10.0 * math.log10(peak_w) + 30.0 == pytest.approx(low + 3.0, abs=1e-3)
    trace = analyzer.acquire(FC, 200e6, 100e3, 1e6, 2001, low)
    assert ADC_OVERLOAD[family] in trace.overload

    level = analyzer.autolevel()
    # the peak of a noise-like carrier: 8-13 dB above its mean in 1 ms at 200 MS/s
    assert TX_DBM - LOSS_DB + 8.0 <= level <= TX_DBM - LOSS_DB + 14.0
    assert level == float(level // 1)  # whole dB [U: the model's rounding]
    assert analyzer.capture_iq(FC, FS, 1e-3, level).overload == ()
    assert analyzer.acquire(FC, 200e6, 100e3, 1e6, 2001, level).overload == ()
    analyzer.check_errors("after")


def test_fsw_autolevel_measures_as_long_as_asked(rm: pyvisa.ResourceManager) -> None:
    # the TS 38.141-1 TDD pattern is off for 1.29 ms (2 UL slots + the S slot's 4 guard/UL
    # symbols): 1 ms may see no DL symbol at all; one 5 ms pattern period always sees some
    world = transmitting_world()
    world.gnb.tdd_pattern, world.gnb.special_slot = "DDDDDDDSUU", "6:4:4"
    b = Bench("fsw", world, rm)
    try:
        b.analyzer.center_frequency = FC
        for _ in range(3):  # three captures from three random frame positions
            assert b.analyzer.autolevel(5e-3) >= TX_DBM - LOSS_DB + 8.0
        assert b.transport.query("SENS:ADJ:CONF:DUR?;DUR:MODE?") == "5E-03;MAN"
        b.analyzer.check_errors("after")
    finally:
        b.close()


def test_fsw_autolevel_duration_preset_and_limits(fsw: Client) -> None:
    fsw.write("*RST")
    assert fsw.query("SENSe:ADJust:CONFigure:DURation?;DURation:MODE?") == "1E-03;AUTO"
    fsw.write("SENS:ADJ:CONF:DUR 0.0005")
    assert fsw.query("SYST:ERR?").startswith('-222,"')
    fsw.write("SENS:ADJ:CONF:DUR:MODE SOMETIMES")
    assert fsw.query("SYST:ERR?").startswith('-224,"')
    fsw.write("ADJ:CONF:DUR 20 ms;DUR:MODE MANual")
    assert fsw.query("ADJ:CONF:DUR?;DUR:MODE?") == "2E-02;MAN"


def test_rf_off_captures_the_analyzer_noise_alone(bench: tuple[str, World, Bench]) -> None:
    _, world, b = bench
    world.gnb.rf_on = False
    iq = b.analyzer.capture_iq(FC, FS, 1e-3, -20.0)
    # DANL -152 dBm/Hz at 0 dB attenuation (model assumption [U]) + attenuation, over the sample rate
    expected = -152.0 + iq.attenuation_db + 10.0 * math.log10(FS)
    assert mean_power_dbm(iq.samples) == pytest.approx(expected, abs=0.05)  # 122 880 samples: 0.012 dB rms
    assert iq.overload == ()


# -- read-back: an analyzer that rounds the RBW ---------------------------------------------------


@pytest.mark.parametrize(("family", "asked"), [("fsw", 110e3), ("n9030b", 104e3)])
def test_rounded_rbw_is_read_back_and_channel_power_stays_true(
    rm: pyvisa.ResourceManager, family: str, asked: float
) -> None:
    b = Bench(family, transmitting_world(), rm)
    try:
        trace = b.analyzer.acquire(FC, 200e6, asked, 1e6, 100001, REFERENCE_DBM)
    finally:
        b.close()
    assert trace.rbw_hz == 100e3  # FSW: 1-2-3-5 steps; X-series: ~10 % steps (100, 110 kHz)
    power = channel_power_dbm(
        trace.freqs_hz, trace.power_dbm, trace.rbw_hz, trace.enbw_factor, FC, BW_CONFIG_HZ
    )
    assert power == pytest.approx(EXPECTED_DBM, abs=0.05)  # asked RBW would be off by 10·log(asked/100k)


# -- FSW: TRAC:IQ over a raw socket ---------------------------------------------------------------


@pytest.fixture
def fsw() -> Iterator[Client]:
    yield from served(SimFsw(transmitting_world(), time_scale=0.0))


@pytest.fixture
def quiet_fsw() -> Iterator[Client]:
    """An FSW on a world whose gNB does not transmit: captures are the analyzer's noise (fast)."""
    yield from served(SimFsw(World(), time_scale=0.0))


@pytest.fixture
def n9030b() -> Iterator[Client]:
    yield from served(SimN9030B(transmitting_world(), time_scale=0.0))


@pytest.mark.parametrize(
    ("asked", "answer"),
    [("110kHz", "1E+05"), ("150 kHz", "2E+05"), ("140kHz", "1E+05"), ("4MHz", "5E+06"), ("1.1", "1E+00")],
)
def test_fsw_rbw_is_rounded_to_its_1_2_3_5_steps(fsw: Client, asked: str, answer: str) -> None:
    fsw.write(f"BAND {asked}")
    assert fsw.query("BAND?;:BAND:AUTO?") == f"{answer};0"


def test_fsw_iq_settings_preset_and_limits(fsw: Client) -> None:
    fsw.write("*RST")
    assert fsw.query("TRAC:IQ?;:TRAC:IQ:SRAT?;RLEN?;DATA:FORM?") == "0;3.2E+07;1001;IQBL"
    fsw.write(
        "TRACe:IQ:STATe ON;:TRACe:IQ:SRATe 122.88 MHz;:TRAC:IQ:RLENgth 2457600;:TRAC:IQ:DATA:FORMat IQPair"
    )
    assert (
        fsw.query("TRAC:IQ:STAT?;:TRAC:IQ:SRAT?;RLEN?;BWID?;DATA:FORM?")
        == "1;1.2288E+08;2457600;9.8304E+07;IQP"
    )
    for command, code in (
        ("TRAC:IQ:SRAT 50", "-222"),
        ("TRAC:IQ:RLEN 1", "-222"),
        ("TRAC:IQ:RLEN 20000000", "-222"),  # beyond the simulator's memory budget [U]
        ("TRAC:IQ:DATA:FORM IQX", "-224"),
        ("FORM:BORD NORM", "-113"),  # the FSW has no byte-order command: REAL,32 is little-endian
        ("FORMat:BORDer SWAPped", "-113"),
    ):
        fsw.write(command)
        assert fsw.query("SYST:ERR?").startswith(f'{code},"'), command
    assert fsw.query("SYST:ERR?") == '0,"No error"'


def test_fsw_iq_mode_blanks_the_traces_until_a_new_sweep(fsw: Client) -> None:
    fsw.write("*RST;INIT:CONT OFF;:FREQ:CENT 3.75GHz;SPAN 200MHz;:FORM REAL,32")
    assert fsw.query("INIT;*OPC?") == "1"
    assert len(fsw.query_block("TRAC:DATA? TRACE1")) == 4 * 1001
    fsw.write("TRAC:IQ:DATA:MEM?")  # I/Q mode is off: nothing to return
    assert fsw.query("SYST:ERR?").startswith('-221,"Settings conflict')
    fsw.write("TRAC:IQ ON;:TRAC:DATA? TRACE1;:CALC:MARK:MAX")
    assert fsw.query("SYST:ERR?").startswith('-230,"Data corrupt or stale')
    assert fsw.query("SYST:ERR?").startswith('-230,"Data corrupt or stale')
    fsw.write("TRAC:IQ:DATA:MEM?")  # no capture yet
    assert fsw.query("SYST:ERR?").startswith('-230,"Data corrupt or stale')
    fsw.write("TRAC:IQ OFF;:TRAC:DATA? TRACE1")  # still blank: the spectrum needs a new sweep
    assert fsw.query("SYST:ERR?").startswith('-230,"Data corrupt or stale')
    assert fsw.query("INIT;*OPC?") == "1"
    assert len(fsw.query_block("TRAC:DATA? TRACE1")) == 4 * 1001
    assert fsw.query("SYST:ERR?") == '0,"No error"'


def test_fsw_iq_data_formats_hold_the_same_samples(quiet_fsw: Client) -> None:
    fsw = quiet_fsw
    n = 600000  # more than one 512k block of the COMPatible format
    fsw.write(f"*RST;INIT:CONT OFF;:FREQ:CENT 3.75GHz;:FORM REAL,32;:TRAC:IQ ON;:TRAC:IQ:SRAT 20MHz;RLEN {n}")
    assert fsw.query("INIT;*OPC?") == "1"
    fsw.write("TRAC:IQ:DATA:FORM IQP")
    pairs = np.frombuffer(fsw.query_block("TRAC:IQ:DATA:MEM?"), dtype="<f4")
    assert pairs.size == 2 * n and b"\n" in pairs.tobytes()  # noisy floats hold 0x0A bytes
    i, q = pairs[0::2], pairs[1::2]
    fsw.write("TRAC:IQ:DATA:FORM IQBL")
    np.testing.assert_array_equal(
        np.frombuffer(fsw.query_block("TRAC:IQ:DATA:MEM?"), dtype="<f4"), np.r_[i, q]
    )
    fsw.write("TRAC:IQ:DATA:FORM COMP")
    k = 512 * 1024
    expected = np.r_[i[:k], q[:k], i[k:], q[k:]]
    np.testing.assert_array_equal(np.frombuffer(fsw.query_block("TRAC:IQ:DATA:MEM?"), dtype="<f4"), expected)
    fsw.write("TRAC:IQ:DATA:FORM IQP")
    part = np.frombuffer(fsw.query_block("TRAC:IQ:DATA:MEM? 10,5"), dtype="<f4")
    np.testing.assert_array_equal(part, pairs[20:30])
    fsw.write(f"TRAC:IQ:DATA:MEM? {n - 2},5;:TRAC:IQ:DATA:MEM? 3")
    assert fsw.query("SYST:ERR?").startswith('-222,"Data out of range')
    assert fsw.query("SYST:ERR?").startswith('-109,"Missing parameter')


def test_fsw_iq_data_query_captures_and_answers(fsw: Client) -> None:
    fsw.write("*RST;INIT:CONT OFF;:FREQ:CENT 3.75GHz;:FORM REAL,32;:TRAC:IQ ON;:TRAC:IQ:SRAT 10MHz;RLEN 1000")
    first = fsw.query_block("TRAC:IQ:DATA?")
    second = fsw.query_block("TRAC:IQ:DATA?")
    assert len(first) == len(second) == 8000 and first != second  # each a new capture
    assert fsw.query_block("TRAC:IQ:DATA:MEM?") == second  # the last capture, in the same format
    assert fsw.query("SYST:ERR?") == '0,"No error"'


# -- N9030B: Basic mode over a raw socket ---------------------------------------------------------


def basic_capture(client: Client, rate: str = "10MHz", time: str = "100us") -> None:
    assert client.query(":INST:SEL BASIC;*OPC?") == "1"
    client.write(f":CONF:WAV;:FREQ:CENT 3.75GHz;:WAV:SRAT {rate};:WAV:SWE:TIME {time};:INIT:CONT OFF")
    assert client.query(":INIT:WAV;*OPC?") == "1"


def test_n9030b_waveform_byte_order_norm_is_big_endian(n9030b: Client) -> None:
    basic_capture(n9030b)
    n9030b.write(":FORM REAL,32;:FORM:BORD NORM")
    big = n9030b.query_block(":FETC:WAV0?")
    n9030b.write(":FORM:BORD SWAP")
    little = n9030b.query_block(":FETC:WAV0?")
    assert len(big) == len(little) == 8 * 1000  # 100 us at 10 MS/s, I and Q
    np.testing.assert_array_equal(np.frombuffer(big, dtype=">f4"), np.frombuffer(little, dtype="<f4"))
    assert big[:4] == little[:4][::-1]
    n9030b.write(":FORM REAL,64;:FORM:BORD NORM")
    wide = np.frombuffer(n9030b.query_block(":FETC:WAV0?"), dtype=">f8")
    np.testing.assert_array_equal(wide, np.frombuffer(little, dtype="<f4"))
    n9030b.write(":FORM ASCii")
    text = np.array(n9030b.query(":FETC:WAV0?").split(","), dtype=float)
    np.testing.assert_allclose(text, wide, rtol=1e-7)
    assert n9030b.query(":SYST:ERR?") == '+0,"No error"'


def test_n9030b_read_waveform_captures_anew(n9030b: Client) -> None:
    basic_capture(n9030b)
    n9030b.write(":FORM REAL,32;:FORM:BORD SWAP")
    fetched = n9030b.query_block(":FETC:WAV0?")
    read = n9030b.query_block(":READ:WAV0?")
    assert len(read) == len(fetched) and read != fetched
    assert n9030b.query_block(":FETC:WAV0?") == read


def test_n9030b_modes_refuse_each_others_commands(n9030b: Client) -> None:
    n9030b.write(":FETC:WAV0?;:WAV:SRAT?;:POW:RANG -10")  # SA mode
    for _ in range(3):
        assert n9030b.query(":SYST:ERR?").startswith('-113,"Undefined header')
    assert n9030b.query(":INST:SEL BASIC;*OPC?;:INST:SEL?") == "1;BASIC"
    n9030b.write(":FREQ:SPAN 1MHz;:TRAC:DATA? TRACE1;:CALC:MARK1:MAX;:CONF:ACP;:BAND 1MHz;:FETC:WAV1?")
    for code in ("-113", "-113", "-113", "-113", "-113", "-114"):
        assert n9030b.query(":SYST:ERR?").startswith(f'{code},"')
    n9030b.write(":INST:SEL NR5G")  # not installed
    assert n9030b.query(":SYST:ERR?").startswith('-224,"')
    # shared between the modes: centre, attenuation, range = SA reference level [U]
    n9030b.write(":FREQ:CENT 2GHz;:POW:RANG -12;:POW:ATT 6")
    assert (
        n9030b.query(":INST:SEL SA;*OPC?;:FREQ:CENT?;:DISP:WIND:TRAC:Y:RLEV?;:POW:ATT?")
        == "1;2E+09;-1.2E+01;6E+00"
    )
    assert n9030b.query(":SYST:ERR?") == '+0,"No error"'


def test_n9030b_waveform_rate_bandwidth_and_length(n9030b: Client) -> None:
    n9030b.write(":INST:SEL BASIC;:CONF:WAV")
    assert n9030b.query(":WAV:SRAT?;DIF:BAND?;:WAV:SWE:TIME?") == "1.25E+07;1E+07;2E-03"  # defaults [U]
    n9030b.write(":WAV:DIF:BAND 100MHz")
    assert n9030b.query(":WAV:SRAT?") == "1.25E+08"  # 1.25 x the IF bandwidth [U]
    n9030b.write(":WAV:SRAT 300MHz;:WAV:SWE:TIME 4;:INIT:WAV")  # 1.2 G samples: more than it holds
    assert n9030b.query(":SYST:ERR?").startswith('-221,"Settings conflict')
    n9030b.write(":WAV:SRAT 400MHz")
    assert n9030b.query(":SYST:ERR?").startswith('-222,"Data out of range')
