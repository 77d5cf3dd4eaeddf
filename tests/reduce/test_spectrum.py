"""iq_spectrum: Welch trace of an I/Q capture, checked with signals of power known by construction.

Signals are built in the frequency domain over the whole capture (``synth_iq``): each component
has exact |X_k|² on capture-FFT tones (random phases, or complex Gaussian rescaled), so by
Parseval its power in the capture is exactly what was asked for, and the power in any band is
the sum of |X_k|² over the tones in it (``true_power_w``) -- numbers of the construction, never
of the reducer.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fivegbench.reduce.power import channel_power_dbm
from fivegbench.reduce.spectrum import DEFAULT_NFFT, IqSpectrum, iq_spectrum, trace_from_iq

FS = 61.44e6  # samples/s
N = 61_440  # 1 ms
R = 50.0  # ohm


def tone_freqs(n: int = N, fs: float = FS) -> npt.NDArray[np.float64]:
    """Frequencies of the capture-FFT tones (unshifted order, as np.fft.fft)."""
    return np.asarray(np.fft.fftfreq(n, 1.0 / fs), dtype=np.float64)


def rect(freqs: npt.NDArray[np.float64], lo: float, hi: float) -> npt.NDArray[np.float64]:
    """|X_k|² weights of a flat band: the tones in [lo, hi)."""
    return ((freqs >= lo) & (freqs < hi)).astype(np.float64)


def synth_iq(
    parts: Sequence[tuple[npt.NDArray[np.float64], float]],
    seed: int = 0,
    gaussian: bool = False,
    n: int = N,
    impedance: float = R,
) -> tuple[npt.NDArray[np.complex128], npt.NDArray[np.complex128]]:
    """Sum of components [(|X_k|² shape, power W)]; returns (iq volts, X) with x = ifft(X).

    Each component's coefficients are rescaled so that Σ|X_k|²/n² / R is exactly its power;
    components must occupy disjoint tones for their powers to add exactly.
    """
    rng = np.random.default_rng(seed)
    x_f = np.zeros(n, dtype=np.complex128)
    for weights, power_w in parts:
        if gaussian:
            c = (rng.standard_normal(n) + 1j * rng.standard_normal(n)) * np.sqrt(weights)
        else:
            c = np.exp(2j * np.pi * rng.random(n)) * np.sqrt(weights)
        c *= math.sqrt(n * n * power_w * impedance / float(np.sum(np.abs(c) ** 2)))
        x_f += c
    return np.fft.ifft(x_f), x_f


def true_power_w(
    x_f: npt.NDArray[np.complex128], lo: float, hi: float, fs: float = FS, impedance: float = R
) -> float:
    """Power (W) of the constructed signal on the tones in [lo, hi)."""
    n = x_f.size
    return float(np.sum(np.abs(x_f[rect(tone_freqs(n, fs), lo, hi) > 0]) ** 2)) / n / n / impedance


def dbm(watts: float) -> float:
    return 10.0 * math.log10(watts * 1e3)


# --- shape of the result ----------------------------------------------------------------------------


def test_trace_geometry_and_defaults() -> None:
    iq, _ = synth_iq([(rect(tone_freqs(), -1e6, 1e6), 1e-3)])
    s = iq_spectrum(iq, FS)
    assert isinstance(s, IqSpectrum)
    assert s.nfft == DEFAULT_NFFT == 2048
    assert s.rbw_hz == FS / 2048
    assert s.enbw_factor == pytest.approx(1.5, abs=1e-12)  # periodic Hann
    assert s.window == "hann"
    assert s.absolute
    assert s.freqs_hz.shape == s.power_dbm.shape == (2048,)
    assert s.freqs_hz[0] == -FS / 2 and s.freqs_hz[-1] == FS / 2 - FS / 2048
    assert np.allclose(np.diff(s.freqs_hz), FS / 2048)
    assert s.n_segments == (N - 2048) // 512 + 1  # 75 % overlap
    assert s.as_trace() == (s.freqs_hz, s.power_dbm, s.rbw_hz, s.enbw_factor)
    assert trace_from_iq is iq_spectrum


def test_resolution_selection() -> None:
    iq, _ = synth_iq([(rect(tone_freqs(), -1e6, 1e6), 1e-3)])
    assert iq_spectrum(iq, FS, resolution_hz=10e3).nfft == 8192  # 7.5 kHz <= 10 kHz < 15 kHz
    assert iq_spectrum(iq, FS, resolution_hz=30e3).nfft == 2048
    assert iq_spectrum(iq, FS, resolution_hz=1e9).nfft == 16
    assert iq_spectrum(iq[:1000], FS).nfft == 512  # short capture: largest power of two inside it
    with pytest.raises(ValueError, match="needs an FFT of 65536"):
        iq_spectrum(iq, FS, resolution_hz=1e3)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"iq": np.ones((4, 32), complex)}, "one-dimensional"),
        ({"iq": np.ones(8, complex)}, "at least 16"),
        ({"iq": np.r_[np.ones(31), np.nan]}, "NaN"),
        ({"sample_rate_hz": 0.0}, "sample_rate_hz"),
        ({"impedance_ohms": -50.0}, "impedance_ohms"),
        ({"resolution_hz": 0.0}, "resolution_hz"),
        ({"iq": np.array(["a"] * 32)}, "numeric"),
    ],
)
def test_rejects_bad_input(kwargs: dict[str, object], match: str) -> None:
    args: dict[str, object] = {"iq": np.ones(64, complex), "sample_rate_hz": FS}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        iq_spectrum(**args)  # type: ignore[arg-type]


# --- exact cases ------------------------------------------------------------------------------------


@pytest.mark.parametrize("f_tone", [0.0, 1.234567e6, -17.3e6, 29.9e6])
def test_tone_power(f_tone: float) -> None:
    """A complex tone of amplitude A carries |A|²/R W; |x| is constant so even Welch is exact."""
    amp = 0.7  # V -> 0.49/50 W = 9.9123 dBm
    t = np.arange(N) / FS
    iq = amp * np.exp(2j * np.pi * f_tone * t)
    s = iq_spectrum(iq, FS)
    truth = dbm(amp**2 / R)
    f0 = min(max(f_tone, s.freqs_hz[0] + 300e3), s.freqs_hz[-1] - 300e3)
    assert channel_power_dbm(*s.as_trace(), f0, 600e3) == pytest.approx(truth, abs=2e-3)
    # over every bin (Parseval): Σ P_k / ENBW = Σ w²|x|² / Σ w² = |A|² exactly
    p_mw = 10 ** (s.power_dbm / 10)
    # Parseval: exact up to the complex64 arithmetic of the FFTs (~1e-7 relative)
    assert 10 * math.log10(np.sum(p_mw) / s.enbw_factor) == pytest.approx(truth, abs=1e-5)


def test_dc_component_is_kept() -> None:
    """No detrending: a DC offset is a signal at the capture centre and must be measured."""
    iq = np.full(N, 0.1 + 0.2j)
    s = iq_spectrum(iq, FS)
    assert channel_power_dbm(*s.as_trace(), 0.0, 300e3) == pytest.approx(dbm(0.05 / R), abs=1e-6)


def test_dbfs_path_is_the_same_spectrum_shifted() -> None:
    iq, _ = synth_iq([(rect(tone_freqs(), -3e6, 2e6), 2.0)])
    s_abs = iq_spectrum(iq, FS, impedance_ohms=R)
    s_rel = iq_spectrum(iq, FS, impedance_ohms=None)
    assert s_abs.absolute and not s_rel.absolute
    # dBm = dB(|x|²) - 10 log10(R) + 30
    assert np.allclose(s_abs.power_dbm - s_rel.power_dbm, 30 - 10 * math.log10(R), atol=1e-9)
    s_100 = iq_spectrum(iq, FS, impedance_ohms=100.0)
    assert np.allclose(s_abs.power_dbm - s_100.power_dbm, 10 * math.log10(2.0), atol=1e-9)


# --- band-limited signals of known power ------------------------------------------------------------


@pytest.mark.parametrize(
    ("lo", "hi", "gaussian", "seed"),
    [
        (-4.68e6, 4.68e6, False, 1),
        (-4.68e6, 4.68e6, True, 2),
        (-9.54e6, 9.54e6, False, 3),  # 20 MHz / 15 kHz: 19.08 MHz
        (2.1e6, 7.3e6, True, 4),  # off-centre
        (-25e6, -20.5e6, False, 5),  # near the capture edge
    ],
)
def test_band_power_from_iq(lo: float, hi: float, gaussian: bool, seed: int) -> None:
    p_w = 20.0  # 43 dBm
    iq, _ = synth_iq([(rect(tone_freqs(), lo, hi), p_w)], seed=seed, gaussian=gaussian)
    s = iq_spectrum(iq, FS)
    # integrated exactly over the occupied band, and over a band 1 MHz wider
    assert channel_power_dbm(*s.as_trace(), (lo + hi) / 2, hi - lo) == pytest.approx(dbm(p_w), abs=0.05)
    assert channel_power_dbm(*s.as_trace(), (lo + hi) / 2, hi - lo + 1e6) == pytest.approx(dbm(p_w), abs=0.02)


def test_ofdm_like_comb_power() -> None:
    """624 subcarriers at 15 kHz (52 RB), one capture tone in 15 occupied."""
    f = tone_freqs()
    k = np.round(f / 15e3)
    comb = ((np.abs(f - k * 15e3) < 1.0) & (np.abs(k) <= 312) & (k != 0)).astype(np.float64)
    assert int(comb.sum()) == 624
    iq, _ = synth_iq([(comb, 5.0)], seed=7)
    s = iq_spectrum(iq, FS)
    assert channel_power_dbm(*s.as_trace(), 0.0, 9.36e6) == pytest.approx(dbm(5.0), abs=0.05)


@settings(max_examples=25, deadline=None, derandomize=True)
@given(
    centre=st.floats(-20e6, 20e6),
    width=st.floats(3e6, 18e6),
    p_dbm=st.floats(-60.0, 50.0),
    seed=st.integers(0, 2**16),
)
def test_band_power_property(centre: float, width: float, p_dbm: float, seed: int) -> None:
    """Any NR-like width (>= 3 MHz) anywhere in the span, any level: within 0.05 dB.

    Narrower random signals are not held to 0.05 dB: Welch weights the first and last 3/4 segment
    of the capture less than the rest, and for a signal of bandwidth B those 2 x 25 µs hold only
    ~2 x 25 µs x B independent samples, so their power fluctuates more (about 0.02 dB rms at
    500 kHz). The window integrates 0.3 MHz beyond each edge so the kernel spread does not count.
    """
    lo, hi = centre - width / 2, centre + width / 2
    weights = rect(tone_freqs(), lo, hi)
    truth_w = 10 ** (p_dbm / 10) / 1e3
    iq, x_f = synth_iq([(weights, truth_w)], seed=seed)
    assert true_power_w(x_f, lo, hi) == pytest.approx(truth_w, rel=1e-9)  # the construction
    s = iq_spectrum(iq, FS)
    assert channel_power_dbm(*s.as_trace(), centre, width + 0.6e6) == pytest.approx(p_dbm, abs=0.05)
