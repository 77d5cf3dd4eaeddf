"""The simulated swept trace is the spectrum of the synthesized frame through the PA.

The reference is computed here, independently of fivegbench.sim.spectrum and fivegbench.sim.psd:
the TS 38.141-1 TM1.1 frame (``synthesize``, the shared input) through a Rapp AM/AM written out
below, its exact spectrum from one tapered FFT per run of DL symbols, the PA noise floor and
the analyzer noise floor added analytically. The trace goes through fivegbench's own reducers, as
a plan's rf.power / rf.aclr / rf.obw steps do.

Model numbers written literally (the simulator's assumptions [U], see fivegbench.sim.spectrum):
PA saturation 53 dBm and Rapp p = 3 (set on the world here, so the test does not depend on the
defaults), PA noise floor -145 dBc/Hz, analyzer DANL -152 dBm/Hz at 0 dB attenuation.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import pytest
import scipy.fft as sfft
from scipy.signal.windows import tukey

from fivegbench.reduce.aclr import aclr
from fivegbench.reduce.obw import occupied_bandwidth
from fivegbench.reduce.power import channel_power_dbm
from fivegbench.sim.psd import pa_output_psd
from fivegbench.sim.spectrum import (
    ENBW_FACTOR,
    RfScene,
    SweepSettings,
    is_overloaded,
    swept_trace,
    total_input_power_dbm,
)
from fivegbench.sim.waveform import Frame, FrameSpec, synthesize
from fivegbench.sim.world import World

FC = 3.75e9
LOSS_DB = 40.0
SAT_DBM = 53.0
SMOOTHNESS = 3.0
PA_FLOOR_DBC_HZ = -145.0
DANL_DBM_HZ = -152.0
BW = 100e6
BW_CONFIG = 273 * 12 * 30e3  # 98.28 MHz
SPEC = FrameSpec("NR-FR1-TM1.1", BW, 30e3, "DDDSU", "10:2:2")  # what the world's gNB transmits
DRIVES_DBM = (43.0, 44.5, 46.0)  # nominal, near and in compression
ATTENUATION_DB = 10.0  # the lowest that does not overload at 46 dBm (~+5.8 dBm at the input)
ACLR_SPAN = 4 * BW + BW_CONFIG + 0.2 * BW  # rf.aclr's default span
CHANNELS = {"carrier": 0.0, "lower1": -BW, "upper1": BW, "lower2": -2 * BW, "upper2": 2 * BW}


@dataclass
class Reference:
    """The PA output over the DL symbols at the antenna connector, computed in this test."""

    freq_hz: np.ndarray  # bin centres, ascending, offsets from the carrier
    bin_power_mw: np.ndarray  # mean power in each bin, mW (PA noise floor included)
    total_mw: float

    def band_mw(self, centre: float, width: float = BW_CONFIG) -> float:
        inside = np.abs(self.freq_hz - centre) < width / 2
        return float(self.bin_power_mw[inside].sum())


def _reference(frame: Frame, tx_power_dbm: float) -> Reference:
    """Rapp y = x / (1 + (|x|/A)^(2p))^(1/(2p)) on the frame driven to ``tx_power_dbm`` (mW scale:
    the frame has mean power 1 over its DL symbols), one tapered FFT of each DL run."""
    dl = frame.dl_samples
    edges = np.flatnonzero(np.diff(dl.astype(np.int8))) + 1
    bounds = np.concatenate([[0], edges, [dl.size]])
    runs = [(a, b) for a, b in itertools.pairwise(bounds) if dl[a]]
    lengths = {b - a for a, b in runs}
    assert len(lengths) == 1, "DDDSU: every 2.5 ms period has the same DL run"
    n = lengths.pop()
    m = sfft.next_fast_len(n)  # zero padding past the window's zero end changes only the bin grid
    window = tukey(n, 0.1)  # flat over 90 %: every DL sample weighs alike, as in a gated sweep
    drive = math.sqrt(10 ** (tx_power_dbm / 10))
    a_sat = math.sqrt(10 ** (SAT_DBM / 10))
    acc = np.zeros(m)
    for a, b in runs:
        x = frame.samples[a:b].astype(np.complex128) * drive
        y = x / (1 + (np.abs(x) / a_sat) ** (2 * SMOOTHNESS)) ** (1 / (2 * SMOOTHNESS))
        acc += np.abs(sfft.fft(y * window, m)) ** 2
    per_bin = np.fft.fftshift(acc) / (len(runs) * m * np.sum(window**2))  # Parseval, windowed
    fs = frame.sample_rate_hz
    floor_mw_per_hz = 10 ** ((tx_power_dbm + PA_FLOOR_DBC_HZ) / 10)  # below the commanded power
    per_bin = per_bin + floor_mw_per_hz * fs / m
    freq = np.fft.fftshift(np.fft.fftfreq(m, 1 / fs))
    return Reference(freq, per_bin, float(per_bin.sum()))


@pytest.fixture(scope="module")
def references() -> dict[float, Reference]:
    frame = synthesize(SPEC)
    return {p: _reference(frame, p) for p in DRIVES_DBM}


def _scene(tx_power_dbm: float, ppm: float = 0.0) -> RfScene:
    world = World()
    world.gnb.rf_on = True
    world.gnb.tx_power_dbm = tx_power_dbm
    world.gnb.freq_error_ppm = ppm
    world.pa.saturation_dbm = SAT_DBM
    world.pa.smoothness = SMOOTHNESS
    world.path_loss_db = LOSS_DB
    scene = RfScene.from_world(world)
    assert scene.transmitter is not None and scene.transmitter.frame == SPEC
    return scene


def _sweep(span: float, rbw: float, sweep_time_s: float = 2.0) -> SweepSettings:
    """Points spaced RBW/2, as rf.* steps use; a sweep long enough for ~40 samples per point at
    100 kHz RBW, so the detector scatter stays under 0.01 dB over a channel."""
    points = math.ceil(span / (rbw / 2)) + 1 | 1
    return SweepSettings(FC - span / 2, FC + span / 2, points, rbw, 10 * rbw, ATTENUATION_DB, sweep_time_s)


def _analyzer_noise_mw(width: float = BW_CONFIG) -> float:
    return 10 ** ((DANL_DBM_HZ + ATTENUATION_DB) / 10) * width


@pytest.mark.parametrize("drive", DRIVES_DBM)
def test_aclr_and_power_of_the_trace_are_those_of_the_pa_output(
    references: dict[float, Reference], drive: float
) -> None:
    ref = references[drive]
    scene = _scene(drive)
    settings = _sweep(ACLR_SPAN, 100e3)
    trace = swept_trace(scene, settings, np.random.default_rng(1))
    got = aclr(settings.frequencies_hz, trace, 100e3, ENBW_FACTOR, FC, BW, BW_CONFIG)

    loss = 10 ** (-LOSS_DB / 10)
    assert scene.carrier_power_dbm == pytest.approx(10 * math.log10(ref.band_mw(0.0) * loss), abs=0.01)
    at_input = {name: ref.band_mw(offset) * loss + _analyzer_noise_mw() for name, offset in CHANNELS.items()}
    # what the two estimates of one spectrum differ by (Welch in the simulator, one FFT per run
    # here) and the detector scatter: < 0.04 dB on every channel
    assert got.carrier_dbm == pytest.approx(10 * math.log10(at_input["carrier"]), abs=0.01)
    for name in ("lower1", "upper1", "lower2", "upper2"):
        expected = 10 * math.log10(at_input["carrier"] / at_input[name])
        assert got.channel(name).aclr_db == pytest.approx(expected, abs=0.1), name


@pytest.mark.parametrize("drive", [37.0, 43.0])
def test_channel_power_is_the_commanded_power_after_path_loss(drive: float) -> None:
    settings = _sweep(2 * BW, 100e3)
    trace = swept_trace(_scene(drive), settings, np.random.default_rng(2))
    power = channel_power_dbm(settings.frequencies_hz, trace, 100e3, ENBW_FACTOR, FC, BW_CONFIG)
    assert power + LOSS_DB == pytest.approx(drive, abs=0.2)


def _obw_edges(ref: Reference) -> tuple[float, float]:
    """The 0.5 % and 99.5 % points of the reference's power within the sweeps' span (±BW)."""
    inside = np.abs(ref.freq_hz) < BW
    cumulative = np.cumsum(ref.bin_power_mw[inside])
    cumulative /= cumulative[-1]
    freq = ref.freq_hz[inside]
    return float(freq[np.searchsorted(cumulative, 0.005)]), float(freq[np.searchsorted(cumulative, 0.995)])


# OBW sweeps are long (~1800 RBW-samples per point): the edges then scatter by ~2 kHz, not ~20 kHz
OBW_SWEEP_S = 200.0


def test_obw_is_that_of_the_pa_output(references: dict[float, Reference]) -> None:
    settings = _sweep(2 * BW, 30e3, OBW_SWEEP_S)
    trace = swept_trace(_scene(43.0), settings, np.random.default_rng(3))
    got = occupied_bandwidth(settings.frequencies_hz, trace, 30e3, ENBW_FACTOR)
    lower, upper = _obw_edges(references[43.0])
    assert got.obw_hz < BW
    assert got.obw_hz == pytest.approx(upper - lower, abs=10e3)  # ~97.30 MHz
    # NR's subcarriers sit at -1638 .. +1637 SCS: the spectrum is centred SCS/2 below the carrier
    assert (got.lower_hz + got.upper_hz) / 2 - FC == pytest.approx((lower + upper) / 2, abs=10e3)


def test_the_carrier_frequency_error_shifts_the_spectrum(references: dict[float, Reference]) -> None:
    settings = _sweep(2 * BW, 30e3, OBW_SWEEP_S)
    trace = swept_trace(_scene(43.0, ppm=100.0), settings, np.random.default_rng(4))
    got = occupied_bandwidth(settings.frequencies_hz, trace, 30e3, ENBW_FACTOR)
    lower, upper = _obw_edges(references[43.0])
    shift = (got.lower_hz + got.upper_hz) / 2 - FC - (lower + upper) / 2
    assert shift == pytest.approx(375e3, abs=10e3)  # 100 ppm of 3.75 GHz


def test_overload_follows_the_total_input_power(references: dict[float, Reference]) -> None:
    scene = _scene(46.0)
    expected_dbm = 10 * math.log10(references[46.0].total_mw) - LOSS_DB
    assert total_input_power_dbm(scene) == pytest.approx(expected_dbm, abs=0.01)
    mixer_at_0 = math.floor(expected_dbm)  # the mixer sees more than 0 dBm with this attenuation
    assert is_overloaded(scene, mixer_at_0)
    assert not is_overloaded(scene, mixer_at_0 + 1.0)


def test_one_density_per_drive_level() -> None:
    """Repeated sweeps at one drive level reuse the density; the carrier frequency and its error
    only shift it."""
    a = _scene(43.0).transmitter
    b = _scene(43.0, ppm=0.05).transmitter
    c = _scene(44.5).transmitter
    assert a is not None and b is not None and c is not None
    assert pa_output_psd(a) is pa_output_psd(b)
    assert pa_output_psd(a) is not pa_output_psd(c)


@pytest.mark.parametrize(
    ("bandwidth", "scs", "tdd", "n_rb"),
    [(40e6, 30e3, "DDDSU", 106), (20e6, 15e3, "", 106), (10e6, 15e3, "", 52), (10e6, 15e3, "DDDSU", 52)],
)
def test_other_carriers(bandwidth: float, scs: float, tdd: str, n_rb: int) -> None:
    """n41 40 MHz TDD and 15 kHz FDD/TDD carriers: power, ACLR well inside the limit at 43 dBm."""
    world = World()
    world.gnb.rf_on = True
    world.gnb.tx_power_dbm = 43.0
    world.gnb.center_frequency_hz = 2.6e9
    world.gnb.bandwidth_hz, world.gnb.scs_hz, world.gnb.tdd_pattern = bandwidth, scs, tdd
    world.path_loss_db = LOSS_DB
    scene = RfScene.from_world(world)
    config = n_rb * 12 * scs
    span = 4 * bandwidth + config + 0.2 * bandwidth
    rbw = 30e3
    settings = SweepSettings(2.6e9 - span / 2, 2.6e9 + span / 2, 20001, rbw, 10 * rbw, ATTENUATION_DB, 2.0)
    trace = swept_trace(scene, settings, np.random.default_rng(5))
    got = aclr(settings.frequencies_hz, trace, rbw, ENBW_FACTOR, 2.6e9, bandwidth, config)
    assert got.carrier_dbm + LOSS_DB == pytest.approx(43.0, abs=0.2)
    assert min(ch.aclr_db for ch in got.adjacent) > 47.0
    obw = occupied_bandwidth(settings.frequencies_hz, trace, rbw, ENBW_FACTOR)
    assert obw.obw_hz == pytest.approx(0.99 * config, rel=0.01)


def test_rf_off_has_no_carrier() -> None:
    scene = RfScene(None, LOSS_DB)
    assert not scene.rf_on
    assert scene.carrier_power_dbm == -math.inf
    assert total_input_power_dbm(scene) == -math.inf
    with pytest.raises(ValueError, match="RF is off"):
        _ = scene.center_frequency_hz
