"""I/Q capture -> an equivalent swept-analyzer trace, so the trace reducers apply unchanged.

:func:`iq_spectrum` (alias :func:`trace_from_iq`) turns complex baseband samples into
``(freqs_hz, power_dbm, rbw_hz, enbw_factor)``: exactly the inputs of
:func:`fivegbench.reduce.power.channel_power_dbm`, :func:`fivegbench.reduce.aclr.aclr`,
:func:`fivegbench.reduce.obw.occupied_bandwidth` and :func:`fivegbench.reduce.sem.spectrum_emission_mask`.

Estimator (Welch's method, as :func:`scipy.signal.welch` computes it, done in complex64 blocks)
---------------------------------------------
* window: periodic Hann of N = ``nfft`` samples (w_n = sin²(πn/N)); hop N/4 (75 % overlap, so the
  sum of the squared shifted windows is flat and every sample of the capture, except the first and
  last 3N/4, weighs the same in the average); no detrending (a DC component of the signal is a
  real signal at the capture centre and must be kept); two-sided (``return_onesided=False``),
  fftshifted so that frequencies increase from -fs/2 to fs/2 - fs/N; the trailing samples that do
  not fill a whole segment are not used.
* ``scaling="spectrum"``: for segment s, P_s[k] = |Σ_n w_n x_{s,n} e^{-j2πkn/N}|² / (Σ_n w_n)², and
  P[k] is the mean over segments. A complex tone A·e^{j2πf_k t} on bin k gives P[k] = |A|²: P[k] is
  the power that passes the "RBW filter" |W(f)|²/(Σw)² centred on bin k, exactly what a swept
  analyzer with an RMS detector shows at that point.

Why the trace reducers then return the true power
-------------------------------------------------
Take the RBW of the trace as the bin spacing Δf = fs/N and ``enbw_factor`` as the window's
noise-equivalent bandwidth in bins, ENBW = N·Σw²/(Σw)² (1.5 for Hann, computed from the actual
window). For a signal with two-sided power density S(f) (|x|² units per Hz), E[P[k]] =
∫ S(f)·|W(f - f_k)|² df / (Σw)², W the window's DTFT; for S flat over the kernel this is
S·fs·Σw²/(Σw)² = S·Δf·ENBW (Parseval). Hence

    Σ_k P[k]·Δf / (enbw_factor·rbw_hz) = Σ_k P[k] / ENBW ≈ ∫ S(f) df,

the power in the band, which is the integral ``channel_power_dbm`` evaluates (with fractional edge
bins). Over all bins, Parseval makes it exact per segment: Σ_k P_s[k] / ENBW = Σ_n w_n²|x_{s,n}|² /
Σ_n w_n², a window-weighted mean of |x|² over the segment. The only approximation in a band is the
spread of the window kernel across the band edges (a fraction of a bin at each edge).

Time weighting: the first and last 3N/4 samples weigh less in the Welch mean, so on a capture whose
power varies in time (one slot: PDCCH symbol, PDSCH, empty symbols) the total would follow the
middle of the capture (+0.1 dB on the srsRAN slot). The spectrum is therefore rescaled by one factor
so that Σ_k P[k] / ENBW equals the mean of |x|² over every sample of the capture: the total power is
time-uniform, the spectral shape (ratios, bandwidths) is Welch's.

Accuracy (tests/reduce/test_spectrum.py, test_iq_power_aclr.py; 1 ms at 61.44 Msps, 30 kHz bins):
a flat band integrated exactly over its width reads about 0.3 bin x 2 edges / width low
(-0.009 dB for 9.36 MHz); the band's share of the total carries Welch's statistical error
(≈0.006 dB rms at 9.36 MHz, growing as 1/sqrt(bandwidth)); a tone is exact.

Units: x in volts across ``impedance_ohms`` R -> instantaneous power |x|²/R watts and ``power_dbm``
= 10·log10(P[k]/R / 1 mW). With ``impedance_ohms=None`` the capture has no absolute scale and
``power_dbm`` is 10·log10(P[k]) in dB re |x|² = 1 ("dBFS"), ``absolute`` is False; ratios (ACLR)
and bandwidths (OBW) are the same either way.

Resolution: the FFT length N is a power of two. Default: N = 2048 (bin spacing fs/2048), or the
largest power of two not longer than the capture if the capture is shorter. With ``resolution_hz``:
the smallest power of two with fs/N ≤ resolution_hz; ValueError if the capture is shorter than
that N.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.fft
from numpy.lib.stride_tricks import sliding_window_view
from scipy.signal import get_window

__all__ = ["DEFAULT_NFFT", "WINDOW", "IqSpectrum", "iq_spectrum", "trace_from_iq"]

WINDOW = "hann"
"""The analysis window (periodic Hann, ENBW 1.5 bins, highest sidelobe -31.5 dB, -18 dB/octave)."""

DEFAULT_NFFT = 2048
"""Default FFT length: bin spacing fs/2048 (30 kHz at 61.44 Msps)."""

_MIN_NFFT = 16
_BLOCK_SEGMENTS = 256  # segments per FFT batch: bounds memory to 256·nfft complex64 values


@dataclass(frozen=True)
class IqSpectrum:
    """Welch power spectrum of an I/Q capture, shaped as a swept-analyzer trace.

    Attributes
    ----------
    freqs_hz : offsets from the capture centre, Hz, increasing (-fs/2 .. fs/2 - fs/N).
    power_dbm : power per bin "in the RBW" (dBm if ``absolute``, else dB re |x|² = 1).
    rbw_hz : the bin spacing fs/N, Hz; pass it as the trace's ``rbw_hz``.
    enbw_factor : noise-equivalent bandwidth of the window in bins, N·Σw²/(Σw)² (1.5 for Hann).
    absolute : True if ``power_dbm`` is in dBm (the capture had an impedance), False for dBFS.
    nfft : FFT length N.
    n_segments : number of (75 % overlapping) segments averaged.
    sample_rate_hz : capture sample rate, Hz.
    window : window name (``"hann"``).
    """

    freqs_hz: npt.NDArray[np.float64]
    power_dbm: npt.NDArray[np.float64]
    rbw_hz: float
    enbw_factor: float
    absolute: bool
    nfft: int
    n_segments: int
    sample_rate_hz: float
    window: str = WINDOW

    def as_trace(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], float, float]:
        """``(freqs_hz, power_dbm, rbw_hz, enbw_factor)``: the first four trace-reducer arguments."""
        return self.freqs_hz, self.power_dbm, self.rbw_hz, self.enbw_factor


def _nfft(n_samples: int, sample_rate_hz: float, resolution_hz: float | None) -> int:
    longest = 1 << (n_samples.bit_length() - 1)  # largest power of two <= n_samples
    if resolution_hz is None:
        return min(DEFAULT_NFFT, longest)
    if not (math.isfinite(resolution_hz) and resolution_hz > 0):
        raise ValueError(f"resolution_hz must be a positive number, got {resolution_hz!r}")
    wanted = max(_MIN_NFFT, 1 << max(0, math.ceil(math.log2(sample_rate_hz / resolution_hz))))
    while sample_rate_hz / wanted > resolution_hz:  # guard against log2 rounding
        wanted *= 2
    if wanted > n_samples:
        raise ValueError(
            f"a resolution of {resolution_hz:g} Hz at {sample_rate_hz:g} samples/s needs an FFT of "
            f"{wanted} samples but the capture has only {n_samples}"
        )
    return wanted


def iq_spectrum(
    iq: npt.ArrayLike,
    sample_rate_hz: float,
    impedance_ohms: float | None = 50.0,
    resolution_hz: float | None = None,
) -> IqSpectrum:
    """Welch power spectrum of complex baseband samples as a swept-analyzer trace.

    Parameters
    ----------
    iq : array_like, shape (n,)
        Complex baseband samples (volts if ``impedance_ohms`` is given). Real input is accepted
        and treated as complex with zero imaginary part.
    sample_rate_hz : float
        Sample rate, Hz; the trace spans [-fs/2, fs/2).
    impedance_ohms : float or None
        R such that |x|²/R is the instantaneous power in watts; None for a capture without an
        absolute scale (the result is then in dB re |x|² = 1 and ``absolute`` is False).
    resolution_hz : float or None
        Wanted bin spacing (upper bound), Hz; None for fs/2048 (see the module docstring).

    Returns
    -------
    IqSpectrum
        Feed ``freqs_hz``, ``power_dbm``, ``rbw_hz``, ``enbw_factor`` to the trace reducers with
        frequencies relative to the capture centre (add the centre frequency for RF values).

    Raises
    ------
    ValueError
        For a non-1-D, too short (< 16 samples) or non-finite capture, a non-positive sample rate,
        impedance or resolution, or a resolution the capture is too short for.
    """
    x = np.asarray(iq)
    if x.ndim != 1:
        raise ValueError(f"iq must be one-dimensional, got shape {x.shape}")
    if not (np.issubdtype(x.dtype, np.number) or x.dtype == np.bool_):
        raise ValueError(f"iq must be numeric, got dtype {x.dtype}")
    x = x.astype(np.complex128)
    if x.size < _MIN_NFFT:
        raise ValueError(f"iq has {x.size} samples; at least {_MIN_NFFT} are needed")
    if not np.all(np.isfinite(x)):
        raise ValueError("iq contains NaN or infinite samples")
    if not (math.isfinite(sample_rate_hz) and sample_rate_hz > 0):
        raise ValueError(f"sample_rate_hz must be a positive number, got {sample_rate_hz!r}")
    if impedance_ohms is not None and not (math.isfinite(impedance_ohms) and impedance_ohms > 0):
        raise ValueError(f"impedance_ohms must be a positive number or None, got {impedance_ohms!r}")

    nfft = _nfft(x.size, float(sample_rate_hz), resolution_hz)
    window = get_window(WINDOW, nfft, fftbins=True)
    enbw = float(nfft * np.sum(window**2) / np.sum(window) ** 2)
    hop = nfft // 4
    pxx = _welch_spectrum(x, window, hop)
    # Welch weighs the first and last 3N/4 samples less; on a bursty capture (a slot whose PDCCH
    # symbol is weaker than its PDSCH) that shifts the total by ~0.1 dB. Rescale so that the
    # trace's total power is the capture's time-uniform mean power (Parseval), keeping its shape.
    welch_total = float(np.sum(pxx)) / enbw
    if welch_total > 0:
        pxx = pxx * (float(np.mean(x.real**2 + x.imag**2)) / welch_total)
    freqs = np.fft.fftshift(np.fft.fftfreq(nfft, 1.0 / float(sample_rate_hz)))
    if impedance_ohms is not None:
        pxx = pxx / impedance_ohms * 1e3  # V² -> W -> mW
    with np.errstate(divide="ignore"):
        power = 10.0 * np.log10(pxx)
    return IqSpectrum(
        freqs_hz=freqs,
        power_dbm=power,
        rbw_hz=float(sample_rate_hz) / nfft,
        enbw_factor=enbw,
        absolute=impedance_ohms is not None,
        nfft=nfft,
        n_segments=(x.size - nfft) // hop + 1,
        sample_rate_hz=float(sample_rate_hz),
    )


def _welch_spectrum(
    x: npt.NDArray[np.complexfloating], window: npt.NDArray[np.float64], hop: int
) -> npt.NDArray[np.float64]:
    """Mean over segments of |FFT(w·x_s)|²/(Σw)², fftshifted: what scipy.signal.welch gives
    with ``scaling="spectrum"``, ``detrend=False``, two-sided, but computed in complex64 with
    scipy.fft in blocks of segments (2-3x faster, memory bounded by the block)."""
    nfft = window.size
    frames = sliding_window_view(x.astype(np.complex64, copy=False), nfft)[::hop]
    w = window.astype(np.float32)
    total = np.zeros(nfft, dtype=np.float64)
    for start in range(0, frames.shape[0], _BLOCK_SEGMENTS):
        spectra = scipy.fft.fft(frames[start : start + _BLOCK_SEGMENTS] * w, axis=1)
        total += np.sum(spectra.real**2 + spectra.imag**2, axis=0, dtype=np.float64)
    return np.fft.fftshift(total / frames.shape[0] / float(np.sum(window)) ** 2)


trace_from_iq = iq_spectrum
"""Alias of :func:`iq_spectrum` (the name says what it is for: a trace for the trace reducers)."""
