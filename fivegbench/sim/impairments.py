"""Transmitter impairments applied to complex baseband samples: PA, phase noise, frequency offset.

Pure numpy/scipy, each a memoryless or linear operation on a sample array:

* :func:`rapp` - solid-state PA AM/AM (Rapp): y = x / (1 + (|x| / A_sat)^(2p))^(1/(2p)), unity
  small-signal gain, no AM/PM (nr-standards.md §5.2) [V2].
* :func:`phase_noise` - a PLL-locked oscillator's phase: a stationary first-order Gauss-Markov
  process (Lorentzian spectrum, flat up to the corner then -20 dB/decade) with a given rms. The
  shape and the default numbers of :mod:`fivegbench.sim.waveform` are model assumptions [U]; TR
  38.803's multi-pole models are not used.
* :func:`mix` - a frequency shift (carrier frequency error minus the analyzer's tuning offset).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from scipy.signal import lfilter

__all__ = ["mix", "phase_noise", "rapp"]


def rapp(x: npt.NDArray[np.complex64], saturation: float, smoothness: float) -> npt.NDArray[np.complex64]:
    """Rapp AM/AM of samples ``x`` (any amplitude unit).

    Parameters
    ----------
    x : complex input samples.
    saturation : A_sat, the output amplitude the PA saturates at, same unit as ``x``.
    smoothness : Rapp p (2-3 for a solid-state PA).

    Returns
    -------
    complex64 array, the PA output, same unit.
    """
    u = (x.real * x.real + x.imag * x.imag) * np.float32(1.0 / saturation**2)  # |x|^2 / A_sat^2
    np.power(u, np.float32(smoothness), out=u)
    u += np.float32(1.0)
    np.power(u, np.float32(-1.0 / (2.0 * smoothness)), out=u)
    return (x * u).astype(np.complex64, copy=False)


def phase_noise(
    n: int, sample_rate_hz: float, rms_rad: float, corner_hz: float, rng: np.random.Generator
) -> npt.NDArray[np.float32]:
    """A stationary phase-noise sequence, rad: AR(1) phi[k] = a phi[k-1] + w[k], a = exp(-2 pi f_c / fs).

    Parameters
    ----------
    n : number of samples.
    sample_rate_hz : sample rate, Hz.
    rms_rad : rms phase, rad (the integrated phase noise).
    corner_hz : corner frequency f_c of the Lorentzian spectrum, Hz (the PLL loop bandwidth).
    rng : random generator.
    """
    if rms_rad <= 0 or n == 0:
        return np.zeros(n, dtype=np.float32)
    a = math.exp(-2.0 * math.pi * corner_hz / sample_rate_hz)
    w = rng.standard_normal(n, dtype=np.float32) * np.float32(rms_rad * math.sqrt(1.0 - a * a))
    start = rng.standard_normal() * rms_rad  # from the stationary distribution: no settling
    phi, _ = lfilter([1.0], [1.0, -a], w, zi=[a * start])
    return phi.astype(np.float32, copy=False)


def mix(
    x: npt.NDArray[np.complex64], shift_hz: float, sample_rate_hz: float, t0_s: float = 0.0
) -> npt.NDArray[np.complex64]:
    """``x`` times exp(j 2 pi shift (t0 + k / fs)), k = 0 .. n - 1."""
    if shift_hz == 0.0:
        return x
    k = np.arange(x.size, dtype=np.float64)
    phase = 2.0 * math.pi * shift_hz * (t0_s + k / sample_rate_hz)
    return (x * np.exp(1j * phase).astype(np.complex64)).astype(np.complex64, copy=False)
