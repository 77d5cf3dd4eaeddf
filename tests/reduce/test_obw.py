"""Occupied bandwidth against spectra whose 99 % band is known analytically.

* flat band of width B: OBW = 0.99·B, limits 0.005·B inside each edge;
* triangle PSD S(f) = 1 - |f - c|/W: the tail beyond c + x holds (W - x)²/(2W) of the total W,
  = 0.5 % at x = 0.9·W, so OBW = 1.8·W;
* asymmetric two-level spectrum: density 1 on [a, b], density d on [b, c] with d·(c - b) < 0.5 %
  of the total: lower = a + 0.005·T, upper = b - (0.005·T - d·(c - b)), T = (b - a) + d·(c - b).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import erf

from fivegbench.reduce.obw import ObwResult, occupied_bandwidth
from fivegbench.reduce.spectrum import iq_spectrum
from tests.reduce.test_spectrum import FS, rect, synth_iq, tone_freqs

DF = 30e3
ENBW = 1.0


def grid(lo: float, hi: float, step: float = DF) -> npt.NDArray[np.float64]:
    return np.asarray(lo + step * np.arange(round((hi - lo) / step) + 1), dtype=np.float64)


def brick_trace(
    f: npt.NDArray[np.float64], bands: list[tuple[float, float, float]], rbw: float = DF, enbw: float = ENBW
) -> npt.NDArray[np.float64]:
    """Trace (dBm in the RBW) whose bin i holds exactly ∫ S over [f_i - df/2, f_i + df/2].

    ``bands`` = [(lo, hi, density mW/Hz)]. Bin power -> trace value: P_i = bin power·ENBW/df.
    """
    df = float(f[1] - f[0])
    p = np.zeros_like(f)
    for lo, hi, dens in bands:
        overlap = np.clip(np.minimum(f + df / 2, hi) - np.maximum(f - df / 2, lo), 0.0, None)
        p += dens * overlap
    with np.errstate(divide="ignore"):
        return 10 * np.log10(p * enbw * rbw / df)


def triangle_trace(f: npt.NDArray[np.float64], c: float, w: float) -> npt.NDArray[np.float64]:
    """Bin-integrated triangle PSD 1 - |f - c|/w (mW/Hz), exact antiderivative per bin."""
    df = float(f[1] - f[0])

    def cdf(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        u = np.clip((x - c) / w, -1.0, 1.0)
        return w * np.where(u < 0, (1 + u) ** 2 / 2, 1 - (1 - u) ** 2 / 2)

    p = cdf(f + df / 2) - cdf(f - df / 2)
    with np.errstate(divide="ignore"):
        return 10 * np.log10(p * ENBW * DF / df)


# --- swept traces -----------------------------------------------------------------------------------


def test_flat_band_exact() -> None:
    f = grid(3.49e9, 3.61e9)
    res = occupied_bandwidth(f, brick_trace(f, [(3.5e9, 3.6e9, 1e-9)]), DF, ENBW)
    assert isinstance(res, ObwResult)
    assert res.obw_hz == pytest.approx(0.99 * 100e6, abs=1e-3)
    assert res.lower_hz == pytest.approx(3.5e9 + 0.5e6, abs=1e-3)
    assert res.upper_hz == pytest.approx(3.6e9 - 0.5e6, abs=1e-3)
    assert res.total_dbm == pytest.approx(10 * math.log10(1e-9 * 100e6), abs=1e-9)
    assert res.center_hz == pytest.approx(3.55e9, abs=1e-3)
    assert res.values() == {"occupied_bandwidth": res.obw_hz}


@settings(max_examples=60, deadline=None)
@given(
    lo=st.floats(-40e6, 20e6),
    width=st.floats(200 * DF, 50e6),
    level_dbm_per_hz=st.floats(-150.0, -20.0),
    shift=st.floats(0.0, 1.0),
    fraction=st.sampled_from([0.99, 0.95, 0.9]),
)
def test_flat_band_property(
    lo: float, width: float, level_dbm_per_hz: float, shift: float, fraction: float
) -> None:
    """Flat band anywhere on any grid offset: exact once the tail (0.5 % of B) exceeds one bin."""
    hi = lo + width
    f = grid(-50e6 + shift * DF, 75e6 + shift * DF)
    res = occupied_bandwidth(f, brick_trace(f, [(lo, hi, 10 ** (level_dbm_per_hz / 10))]), DF, ENBW, fraction)
    tail = (1 - fraction) / 2 * width
    assert res.lower_hz == pytest.approx(lo + tail, abs=1e-6 * width)
    assert res.upper_hz == pytest.approx(hi - tail, abs=1e-6 * width)
    assert res.obw_hz == pytest.approx(fraction * width, rel=1e-6)


def test_triangle() -> None:
    c, w = 1.0e6, 8e6
    f = grid(-10e6, 12e6)
    res = occupied_bandwidth(f, triangle_trace(f, c, w), DF, ENBW)
    assert res.obw_hz == pytest.approx(1.8 * w, rel=5e-3)
    assert res.obw_hz == pytest.approx(1.8 * w, rel=1e-4)  # in fact much better than required
    assert res.center_hz == pytest.approx(c, abs=1e-3 * w)


def test_asymmetric_two_level() -> None:
    a, b, c, d = -3e6, 2e6, 4e6, 0.01  # density 1 on [a, b], 0.01 on [b, c]
    total = (b - a) + d * (c - b)
    lower = a + 0.005 * total
    upper = b - (0.005 * total - d * (c - b))
    assert d * (c - b) < 0.005 * total  # the upper limit lies inside the main block
    f = grid(-6e6, 6e6)
    res = occupied_bandwidth(f, brick_trace(f, [(a, b, 1e-9), (b, c, d * 1e-9)]), DF, ENBW)
    assert res.lower_hz == pytest.approx(lower, abs=1.0)
    assert res.upper_hz == pytest.approx(upper, abs=1.0)
    assert res.obw_hz == pytest.approx(upper - lower, rel=5e-3)


def test_gaussian_rbw_trace() -> None:
    """What an analyzer shows: a 20 MHz flat carrier seen through a Gaussian 30 kHz RBW."""
    rbw, step = 30e3, 20e3
    sigma = rbw / (2 * math.sqrt(2 * math.log(2)))
    enbw = math.sqrt(2 * math.pi) * sigma / rbw
    b = 19.08e6
    f = grid(2.55e9 - 15e6, 2.55e9 + 15e6, step)
    s2 = sigma * math.sqrt(2)
    p = 1e-6 * enbw * rbw * 0.5 * (erf((f - 2.55e9 + b / 2) / s2) - erf((f - 2.55e9 - b / 2) / s2))
    p += 1e-13 * enbw * rbw  # -130 dBm/Hz floor: 0.16 ppm of the carrier power over the span
    res = occupied_bandwidth(f, 10 * np.log10(p), rbw, enbw)
    assert res.obw_hz == pytest.approx(0.99 * b, rel=5e-3)
    assert res.center_hz == pytest.approx(2.55e9, abs=1e3)


def test_level_invariance_and_minus_inf() -> None:
    f = grid(-10e6, 10e6)
    trace = brick_trace(f, [(-4e6, 5e6, 1e-9)])
    assert np.isneginf(trace).any()  # zero-power points are allowed
    r1 = occupied_bandwidth(f, trace, DF, ENBW)
    r2 = occupied_bandwidth(f, trace + 37.5, DF, ENBW)
    assert r2.obw_hz == pytest.approx(r1.obw_hz, rel=1e-12)
    assert r2.total_dbm == pytest.approx(r1.total_dbm + 37.5, abs=1e-9)


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.5, 1.5, math.nan])
def test_rejects_bad_fraction(fraction: float) -> None:
    f = grid(-1e6, 1e6)
    with pytest.raises(ValueError, match="fraction"):
        occupied_bandwidth(f, np.zeros_like(f), DF, ENBW, fraction)


def test_rejects_empty_trace() -> None:
    f = grid(-1e6, 1e6)
    with pytest.raises(ValueError, match="no power"):
        occupied_bandwidth(f, np.full_like(f, -np.inf), DF, ENBW)


# --- I/Q --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("lo", "hi"), [(-4.68e6, 4.68e6), (-9.54e6, 9.54e6), (3e6, 8e6), (-28e6, -20e6)])
def test_iq_flat_band(lo: float, hi: float) -> None:
    iq, _ = synth_iq([(rect(tone_freqs(), lo, hi), 20.0)], seed=3)
    s = iq_spectrum(iq, FS)
    res = occupied_bandwidth(*s.as_trace())
    assert res.obw_hz == pytest.approx(0.99 * (hi - lo), rel=5e-3)
    assert res.center_hz == pytest.approx((lo + hi) / 2, abs=2.5e-3 * (hi - lo))


def test_iq_triangle_and_dbfs_path() -> None:
    f = tone_freqs()
    c, w = -2e6, 7e6
    shape = np.clip(1 - np.abs(f - c) / w, 0.0, None)
    iq, _ = synth_iq([(shape, 5.0)], seed=4, gaussian=True)
    s_abs, s_rel = iq_spectrum(iq, FS), iq_spectrum(iq, FS, impedance_ohms=None)
    r_abs, r_rel = occupied_bandwidth(*s_abs.as_trace()), occupied_bandwidth(*s_rel.as_trace())
    assert r_abs.obw_hz == pytest.approx(1.8 * w, rel=5e-3)
    assert r_rel.obw_hz == pytest.approx(r_abs.obw_hz, rel=1e-9)
    assert r_rel.lower_hz == pytest.approx(r_abs.lower_hz, abs=1e-3)
    assert r_abs.total_dbm == pytest.approx(10 * math.log10(5e3), abs=0.05)


@settings(max_examples=20, deadline=None, derandomize=True)
@given(centre=st.floats(-18e6, 18e6), width=st.floats(3e6, 20e6), seed=st.integers(0, 2**16))
def test_iq_flat_band_property(centre: float, width: float, seed: int) -> None:
    lo, hi = centre - width / 2, centre + width / 2
    iq, _ = synth_iq([(rect(tone_freqs(), lo, hi), 1.0)], seed=seed)
    res = occupied_bandwidth(*iq_spectrum(iq, FS).as_trace())
    assert res.obw_hz == pytest.approx(0.99 * width, rel=5e-3)
