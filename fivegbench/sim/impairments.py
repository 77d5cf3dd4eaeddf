"""Transmitter impairments applied to complex baseband samples: PA and phase noise.

Pure numpy/scipy, each a memoryless or linear operation on a sample array:

* :func:`rapp` - solid-state PA AM/AM (Rapp): y = x / (1 + (|x| / A_sat)^(2p))^(1/(2p)), unity
  small-signal gain, no AM/PM (nr-standards.md §5.2) [V2].
* :func:`phase_noise` - a PLL-locked oscillator's phase: a stationary first-order Gauss-Markov
  process (Lorentzian spectrum, flat up to the corner then -20 dB/decade) with a given rms. The
  shape and the default numbers of :mod:`fivegbench.sim.waveform` are model assumptions [U]; TR
  38.803's multi-pole models are not used.

Both work in float32 on the caller's arrays where they can: :func:`fivegbench.sim.waveform.capture`
drives ~12 M samples through the PA per 20 ms frame at 614.4 Msps.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from scipy.signal import lfilter

__all__ = ["phase_noise", "rapp"]


def rapp(
    x: npt.NDArray[np.complex64],
    saturation: float,
    smoothness: float,
    out: npt.NDArray[np.complex64] | None = None,
) -> npt.NDArray[np.complex64]:
    """Rapp AM/AM of samples ``x`` (any amplitude unit, any shape).

    Parameters
    ----------
    x : complex64 input samples.
    saturation : A_sat, the output amplitude the PA saturates at, same unit as ``x``.
    smoothness : Rapp p (2-3 for a solid-state PA).
    out : where to write the output (may be ``x`` itself); None for a new array.

    Returns
    -------
    complex64 array, the PA output, same unit.
    """
    u = np.abs(x)
    np.square(u, out=u)
    u *= np.float32(1.0 / saturation**2)  # |x|^2 / A_sat^2
    gain = _rapp_gain(u, smoothness)
    if out is None:
        return (x * gain).astype(np.complex64, copy=False)
    np.multiply(x, gain, out=out)
    return out


def _rapp_gain(u: npt.NDArray[np.float32], p: float) -> npt.NDArray[np.float32]:
    """(1 + u^p)^(-1/(2p)) for u = |x|^2 / A_sat^2, computed in place in ``u``.

    np.power with a float exponent costs ~10 ns a sample in float32: whole powers are
    multiplications, p = 2 takes two square roots, other roots exp(-log(.) / (2p)) (~6 ns).
    """
    if float(p).is_integer() and 1 <= p <= 4:
        base = u.copy() if p == 3 else u
        for _ in range(int(p).bit_length() - 1):  # u^2, u^4 by squaring
            np.square(u, out=u)
        if p == 3:
            u *= base
    else:
        np.power(u, np.float32(p), out=u)
    u += np.float32(1.0)
    if p == 2:
        np.sqrt(u, out=u)
        np.sqrt(u, out=u)
        np.reciprocal(u, out=u)
    else:
        np.log(u, out=u)
        u *= np.float32(-1.0 / (2.0 * p))
        np.exp(u, out=u)
    return u


def phase_noise(
    n: int, sample_rate_hz: float, rms_rad: float, corner_hz: float, rng: np.random.Generator
) -> npt.NDArray[np.float32]:
    """A stationary phase-noise sequence, rad: AR(1) phi[k] = a phi[k-1] + w[k], a = exp(-2 pi f_c / fs).

    Its variance is ``rms_rad``^2 at any sample rate; its spectrum is the Lorentzian of corner f_c
    folded into +-fs/2, which keeps its shape at rates far above the corner.

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
