"""Channel power against synthetic swept-analyzer traces whose true power is known by construction.

A trace is built analytically: rectangular PSDs of known total power convolved exactly (erf) with
a Gaussian RBW power response (3 dB width = RBW, sigma = RBW / (2 sqrt(2 ln 2))), plus a flat noise
density N (per point N * ENBW), optionally times Gamma(k, 1/k) fluctuations (mean 1).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fivegbench.reduce.power import channel_power_dbm, channel_power_mw
from tests.signals.swept import ENBW_FACTOR, grid, synth_trace

FC = 3.5e9


def db_sum(*dbm: float) -> float:
    return 10 * math.log10(sum(10 ** (x / 10) for x in dbm))


@pytest.mark.parametrize(
    ("bw", "rbw", "step"),
    [(18.36e6, 100e3, 50e3), (98.28e6, 300e3, 250e3), (9.36e6, 30e3, 30e3), (4.5e6, 10e3, 3e3)],
)
def test_rect_fills_channel_noise_free(bw: float, rbw: float, step: float) -> None:
    f = grid(FC, 2 * bw, step)
    trace = synth_trace(f, rbw, [(FC, bw, 40.0)])
    assert channel_power_dbm(f, trace, rbw, ENBW_FACTOR, FC, bw) == pytest.approx(40.0, abs=0.05)


def test_narrow_rect_inside_wider_channel_is_all_captured() -> None:
    f = grid(FC, 40e6, 20e3)
    trace = synth_trace(f, 30e3, [(FC + 2e6, 5e6, -10.0)])
    assert channel_power_dbm(f, trace, 30e3, ENBW_FACTOR, FC, 20e6) == pytest.approx(-10.0, abs=0.01)


def test_rect_plus_noise() -> None:
    bw, n = 18.36e6, -140.0
    f = grid(FC, 40e6, 50e3)
    trace = synth_trace(f, 100e3, [(FC, bw, -60.0)], noise_dbm_per_hz=n)
    truth = db_sum(-60.0, n + 10 * math.log10(bw))  # signal 0 dB above the noise in the channel
    assert channel_power_dbm(f, trace, 100e3, ENBW_FACTOR, FC, bw) == pytest.approx(truth, abs=0.05)


@pytest.mark.parametrize("seed", range(5))
def test_rect_with_gamma_fluctuations(seed: int) -> None:
    bw = 18.36e6
    f = grid(FC, 40e6, 20e3)
    trace = synth_trace(f, 30e3, [(FC, bw, 30.0)], noise_dbm_per_hz=-150.0, gamma_k=20.0, seed=seed)
    truth = db_sum(30.0, -150.0 + 10 * math.log10(bw))
    assert channel_power_dbm(f, trace, 30e3, ENBW_FACTOR, FC, bw) == pytest.approx(truth, abs=0.1)


def test_flat_noise_is_exact() -> None:
    f = grid(FC, 10e6, 10e3)
    trace = synth_trace(f, 30e3, [], noise_dbm_per_hz=-100.0)
    got = channel_power_dbm(f, trace, 30e3, ENBW_FACTOR, FC, 5e6)
    assert got == pytest.approx(-100.0 + 10 * math.log10(5e6), abs=1e-9)


def test_point_alignment_does_not_move_the_result() -> None:
    bw, rbw, step = 18.36e6, 100e3, 80e3  # channel edges fall at varying fractions of a bin
    results = []
    for shift in (0.0, 0.13, 0.25, 0.5, 0.77, 0.99):
        f = grid(FC, 30e6, step, shift)
        trace = synth_trace(f, rbw, [(FC, bw, 20.0)], noise_dbm_per_hz=-120.0)
        results.append(channel_power_dbm(f, trace, rbw, ENBW_FACTOR, FC, bw))
    truth = db_sum(20.0, -120.0 + 10 * math.log10(bw))
    assert max(results) - min(results) < 0.005
    assert all(r == pytest.approx(truth, abs=0.05) for r in results)


def test_partial_bin_weighting() -> None:
    # Flat 0 dBm per point, step 1 kHz, ENBW 1 kHz: every fully covered bin contributes 1 mW.
    f = np.arange(11) * 1e3
    trace = np.zeros(11)
    # [2250, 5750] Hz covers bins 3, 4, 5 fully and half of bins 2 and 6 -> 3.5 mW.
    got = channel_power_mw(f, trace, 1e3, 1.0, 4000.0, 3500.0)
    assert got == pytest.approx(3.5, rel=1e-12)


def test_enbw_factor_scales_power() -> None:
    f = grid(FC, 10e6, 10e3)
    trace = synth_trace(f, 30e3, [], noise_dbm_per_hz=-100.0)
    a = channel_power_dbm(f, trace, 30e3, 1.0, FC, 5e6)
    b = channel_power_dbm(f, trace, 30e3, 2.0, FC, 5e6)
    assert a - b == pytest.approx(10 * math.log10(2.0), abs=1e-12)


def test_no_power_gives_minus_inf() -> None:
    f = grid(FC, 10e6, 10e3)
    assert channel_power_dbm(f, np.full(f.size, -np.inf), 30e3, ENBW_FACTOR, FC, 5e6) == -math.inf


def test_list_inputs_accepted() -> None:
    f = [0.0, 1e3, 2e3, 3e3, 4e3]
    assert channel_power_dbm(f, [0.0] * 5, 1e3, 1.0, 2e3, 2e3) == pytest.approx(10 * math.log10(2.0))


def test_channel_exactly_at_span_edges_is_allowed() -> None:
    f = grid(FC, 10e6, 10e3)
    trace = np.zeros(f.size)
    got = channel_power_mw(f, trace, 10e3, 1.0, FC, 10e6)
    assert got == pytest.approx(1000.0, rel=1e-9)  # 10 MHz / 10 kHz bins of 1 mW


# --- errors ----------------------------------------------------------------------------------------


def test_uneven_spacing_rejected() -> None:
    f = grid(FC, 10e6, 10e3)
    f[500] += 2e3
    with pytest.raises(ValueError, match="not evenly spaced"):
        channel_power_dbm(f, np.zeros(f.size), 30e3, ENBW_FACTOR, FC, 5e6)


def test_rounded_frequencies_accepted() -> None:
    # start/stop lists rounded to 1 Hz by the instrument: 3333.33 Hz steps of 3333 or 3334 Hz.
    f = np.round(np.linspace(FC - 5e6, FC + 5e6, 3001))
    got = channel_power_dbm(f, np.zeros(f.size), 10e3, 1.0, FC, 5e6)
    assert got == pytest.approx(10 * math.log10(5e6 / 10e3), abs=1e-3)


def test_decreasing_frequencies_rejected() -> None:
    f = grid(FC, 10e6, 10e3)[::-1]
    with pytest.raises(ValueError, match="increasing"):
        channel_power_dbm(f, np.zeros(f.size), 30e3, ENBW_FACTOR, FC, 5e6)


@pytest.mark.parametrize("center", [FC - 3e6, FC + 3e6])
def test_channel_outside_span_rejected(center: float) -> None:
    f = grid(FC, 10e6, 10e3)
    with pytest.raises(ValueError, match="not fully inside the trace span"):
        channel_power_dbm(f, np.zeros(f.size), 30e3, ENBW_FACTOR, center, 5e6)


def test_span_too_small_rejected() -> None:
    f = grid(FC, 10e6, 10e3)
    with pytest.raises(ValueError, match="not fully inside the trace span"):
        channel_power_dbm(f, np.zeros(f.size), 30e3, ENBW_FACTOR, FC, 18.36e6)


def test_undersampled_rejected() -> None:
    f = grid(FC, 40e6, 100e3)
    with pytest.raises(ValueError, match="undersampled"):
        channel_power_dbm(f, np.zeros(f.size), 30e3, ENBW_FACTOR, FC, 18.36e6)


def test_spacing_equal_to_rbw_allowed() -> None:
    f = grid(FC, 40e6, 30e3)
    trace = synth_trace(f, 30e3, [(FC, 18.36e6, 0.0)])
    assert channel_power_dbm(f, trace, 30e3, ENBW_FACTOR, FC, 18.36e6) == pytest.approx(0.0, abs=0.05)


@pytest.mark.parametrize(
    ("freqs", "trace", "rbw", "enbw", "bw", "match"),
    [
        ([0.0, 1.0, 2.0], [0.0, 0.0], 1.0, 1.0, 1.0, "points"),
        ([0.0], [0.0], 1.0, 1.0, 1.0, "at least 2"),
        ([0.0, 1.0, 2.0], [0.0, np.nan, 0.0], 1.0, 1.0, 1.0, "NaN"),
        ([0.0, 1.0, 2.0], [0.0, 0.0, 0.0], 0.0, 1.0, 1.0, "rbw_hz"),
        ([0.0, 1.0, 2.0], [0.0, 0.0, 0.0], 1.0, -1.0, 1.0, "enbw_factor"),
        ([0.0, 1.0, 2.0], [0.0, 0.0, 0.0], 1.0, 1.0, 0.0, "positive bandwidth"),
        ([0.0, 1.0, 1.0], [0.0, 0.0, 0.0], 1.0, 1.0, 1.0, "increasing"),
    ],
)
def test_malformed_input_rejected(
    freqs: list[float], trace: list[float], rbw: float, enbw: float, bw: float, match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        channel_power_dbm(freqs, trace, rbw, enbw, 1.0, bw)


# --- property --------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    density_dbm_per_hz=st.floats(-170, -30),
    step_hz=st.floats(1e3, 100e3),
    rbw_over_step=st.floats(1.0, 10.0),
    bw_over_step=st.floats(0.3, 400.0),
    position=st.floats(0.0, 1.0),
    enbw_factor=st.floats(0.9, 1.2),
)
def test_flat_noise_equals_density_times_bandwidth(
    density_dbm_per_hz: float,
    step_hz: float,
    rbw_over_step: float,
    bw_over_step: float,
    position: float,
    enbw_factor: float,
) -> None:
    rbw = step_hz * rbw_over_step
    bw = step_hz * bw_over_step
    f = 1e9 + np.arange(500) * step_hz
    trace = np.full(f.size, density_dbm_per_hz + 10 * math.log10(enbw_factor * rbw))
    lo_min, lo_max = f[0], f[-1] - bw
    center = lo_min + position * (lo_max - lo_min) + bw / 2
    got = channel_power_dbm(f, trace, rbw, enbw_factor, center, bw)
    assert got == pytest.approx(density_dbm_per_hz + 10 * math.log10(bw), abs=1e-6)
