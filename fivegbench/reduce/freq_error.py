"""NR carrier frequency error from a complex baseband capture (TS 38.104 §6.5.1).

The frequency error is the offset of the carrier from its nominal frequency (the capture centre),
measured minus nominal, in Hz. It is estimated from the phase of the cyclic-prefix correlation over
every CP of the capture (:mod:`fivegbench.reduce.ofdm_sync`); unambiguous for |error| < SCS / 2.

When the allocation (``n_rb``) and ``modulation`` are given and the capture holds a slot, the
estimate is refined over the whole capture from the data by the EVM receiver
(:func:`fivegbench.reduce.evm.evm`, decision-directed): after CP-based correction every symbol is
demodulated and equalised, and the slope of the per-symbol common phase against time is added. The
CP estimate's standard deviation is about SCS / (2 pi sqrt(K x SNR)) for K CP samples at
time-domain SNR; the data-aided slope uses all subcarriers and is far tighter on long captures.

TS 38.104 observes the error over 1 ms; this reducer uses the whole capture.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy.typing as npt

from fivegbench.nr.numerology import mu_from_scs
from fivegbench.reduce.evm import evm
from fivegbench.reduce.ofdm_sync import synchronise, validated_iq

__all__ = ["FreqErrorResult", "frequency_error", "ppm"]


@dataclass(frozen=True)
class FreqErrorResult:
    """Frequency error of one capture.

    Attributes
    ----------
    freq_error_hz : measured minus nominal carrier frequency, Hz.
    cp_freq_error_hz : the CP-correlation estimate alone, Hz.
    method : ``"cp"`` or ``"cp+data"`` (refined from the common-phase slope).
    timing_offset_samples : sample index at which the first complete symbol (its CP) starts.
    n_symbols : complete OFDM symbols used.
    observation_s : time from the first to the end of the last complete symbol, s.
    fft_size : N, samples.
    cp_correlation : normalised CP correlation at the chosen timing, 0..1.
    """

    freq_error_hz: float
    cp_freq_error_hz: float
    method: str
    timing_offset_samples: int
    n_symbols: int
    observation_s: float
    fft_size: int
    cp_correlation: float

    def values(self) -> dict[str, float]:
        """Named measured values: ``freq_error`` (Hz)."""
        return {"freq_error": self.freq_error_hz}


def frequency_error(
    iq: npt.ArrayLike,
    sample_rate_hz: float,
    scs_hz: float,
    fft_size: int | None = None,
    *,
    n_rb: int | None = None,
    modulation: str | None = None,
) -> FreqErrorResult:
    """Carrier frequency error of an NR capture from its cyclic prefix (optionally data-refined).

    Parameters
    ----------
    iq : array_like, complex, shape (n,)
        Baseband capture centred on the nominal carrier frequency, any start sample.
    sample_rate_hz : float
        FFT size x SCS, Hz.
    scs_hz : float
        Subcarrier spacing, Hz.
    fft_size : int, optional
        Check that sample_rate_hz / scs_hz equals it.
    n_rb, modulation : optional
        Give both (a fully allocated carrier of one modulation) to refine the estimate from the
        common phase of the demodulated symbols (when the capture holds a slot).

    Returns
    -------
    FreqErrorResult

    Raises ValueError for a sample rate that is not N x SCS, a capture without a complete symbol,
    or only one of ``n_rb`` / ``modulation``; with both, for what :func:`fivegbench.reduce.evm.evm`
    refuses (a clipped or empty capture, a carrier the sample rate cannot hold, subcarriers
    without power).
    """
    if (n_rb is None) != (modulation is None):
        raise ValueError("give both n_rb and modulation, or neither")
    x = validated_iq(iq)
    sync = synchronise(x, sample_rate_hz, scs_hz, fft_size, checked=True)
    freq = sync.cp_freq_error_hz
    method = "cp"
    slot = round(sample_rate_hz * 1e-3 / 2 ** mu_from_scs(scs_hz))
    if n_rb is not None and modulation is not None and x.size >= slot:
        freq = evm(x, sample_rate_hz, scs_hz, n_rb, modulation).freq_error_hz
        method = "cp+data"
    first = sync.useful_start[0] - sync.cp_samples[0]
    last = sync.useful_start[-1] + sync.fft_size
    return FreqErrorResult(
        freq_error_hz=freq,
        cp_freq_error_hz=sync.cp_freq_error_hz,
        method=method,
        timing_offset_samples=sync.timing_offset_samples,
        n_symbols=sync.n_symbols,
        observation_s=float(last - first) / sync.sample_rate_hz,
        fft_size=sync.fft_size,
        cp_correlation=sync.cp_correlation,
    )


def ppm(freq_error_hz: float, carrier_hz: float) -> float:
    """Frequency error in parts per million of the carrier frequency (TS 38.104 §6.5.1 limits are
    in ppm, e.g. +/-0.05 ppm Wide Area [V2])."""
    if not (math.isfinite(carrier_hz) and carrier_hz > 0):
        raise ValueError(f"carrier_hz must be a positive number, got {carrier_hz!r}")
    return freq_error_hz / carrier_hz * 1e6
