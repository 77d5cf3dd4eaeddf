"""NR CP-OFDM test captures with a known EVM and frequency error, written from TS 38.211 directly.

Deliberately independent of ``fivegbench.nr`` and ``fivegbench.reduce`` (nothing is imported from
them), so that a bug shared by the reducer and its test signal cannot hide.

TS 38.211 §5.3.1 (normal CP, k0 = 0, N_grid = N_RB): the baseband signal of symbol l is::

    s_l(t) = sum_{k=0}^{12 N_RB - 1} a_{k,l} exp(j 2 pi (k - 6 N_RB) df (t - N_CP,l Tc - t_start,l))

for t_start,l <= t < t_start,l + (N_u + N_CP,l) Tc, with N_u = 2048 kappa 2^-mu and
N_CP,l = 144 kappa 2^-mu (+ 16 kappa for l = 0 and l = 7 x 2^mu of each subframe), kappa = 64,
Tc = 1 / (480e3 x 4096) s. Sampled at fs = N x df, a Tc is N 2^mu / (2048 kappa) samples.

The stream starts at a subframe boundary (symbol l = 0), so reference row 0 is symbol 0 of a slot.
Scaling: s[n] = (1 / sqrt(N)) sum_k a_k exp(...), so that a unitary FFT of a window returns a_k and
white noise of variance sigma^2 per sample has variance sigma^2 per subcarrier.

Modulation symbols follow TS 38.211 §5.1.3-§5.1.6, written out per order below.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

KAPPA = 64
TC = Fraction(1, 480_000 * 4096)


def qam_symbols(bits: np.ndarray, modulation: str) -> np.ndarray:
    """TS 38.211 §5.1 symbols from bits of shape (n, m) (b(0) in column 0)."""
    s = 1 - 2 * bits.astype(np.float64)  # (1 - 2 b(i))
    if modulation == "QPSK":  # §5.1.3
        return (s[:, 0] + 1j * s[:, 1]) / math.sqrt(2)
    if modulation == "16QAM":  # §5.1.4
        i = s[:, 0] * (2 - s[:, 2])
        q = s[:, 1] * (2 - s[:, 3])
        return (i + 1j * q) / math.sqrt(10)
    if modulation == "64QAM":  # §5.1.5
        i = s[:, 0] * (4 - s[:, 2] * (2 - s[:, 4]))
        q = s[:, 1] * (4 - s[:, 3] * (2 - s[:, 5]))
        return (i + 1j * q) / math.sqrt(42)
    if modulation == "256QAM":  # §5.1.6
        i = s[:, 0] * (8 - s[:, 2] * (4 - s[:, 4] * (2 - s[:, 6])))
        q = s[:, 1] * (8 - s[:, 3] * (4 - s[:, 5] * (2 - s[:, 7])))
        return (i + 1j * q) / math.sqrt(170)
    raise ValueError(modulation)


BITS = {"QPSK": 2, "16QAM": 4, "64QAM": 6, "256QAM": 8}


def cp_samples(fft_size: int, scs_hz: float, l_in_subframe: int) -> int:
    """N_CP,l in samples at fs = fft_size x scs_hz (TS 38.211 §5.3.1, normal CP)."""
    mu = round(math.log2(scs_hz / 15e3))
    n_cp_tc = Fraction(144 * KAPPA, 2**mu)
    if l_in_subframe == 0 or l_in_subframe == 7 * 2**mu:
        n_cp_tc += 16 * KAPPA
    samples_per_tc = Fraction(fft_size * 2**mu, 2048 * KAPPA)
    n = n_cp_tc * samples_per_tc
    assert n.denominator == 1, f"CP of {n} samples is not whole"
    return int(n)


def symbol_direct(a: np.ndarray, n_rb: int, fft_size: int, n_cp: int) -> np.ndarray:
    """One symbol (CP + useful part) by the direct sum of §5.3.1, O(N K); for checking."""
    n = np.arange(n_cp + fft_size)
    m = np.arange(12 * n_rb) - 6 * n_rb
    return np.exp(2j * np.pi * np.outer(n - n_cp, m) / fft_size) @ a / math.sqrt(fft_size)


@dataclass(frozen=True)
class NrCapture:
    """A test capture and its truth.

    iq: the capture. reference: (n_generated, 12 N_RB) clean symbols of every generated symbol,
    row 0 = symbol 0 of a subframe (and of a slot). truth_evm_pct: injected RMS error over any set
    of whole captured symbols (exact for per-RE errors; the expectation for white noise).
    first_cp_start: sample index in ``iq`` of the first complete symbol's CP; first_row: its
    reference row; first_l_half: its index within the 0.5 ms half subframe. n_complete: complete
    symbols in the capture.
    """

    iq: np.ndarray
    sample_rate_hz: float
    scs_hz: float
    n_rb: int
    fft_size: int
    modulation: str
    reference: np.ndarray
    truth_evm_pct: float
    cfo_hz: float
    first_cp_start: int
    first_row: int
    first_l_half: int
    n_complete: int


def nr_capture(
    *,
    scs_hz: float,
    n_rb: int,
    fft_size: int,
    modulation: str,
    duration_s: float,
    evm_pct: float = 0.0,
    snr_db: float | None = None,
    cfo_hz: float = 0.0,
    start: int | None = None,
    gain: float = 0.7,
    phase_rad: float = 1.1,
    seed: int = 0,
    dtype: type = np.complex128,
) -> NrCapture:
    """Generate a fully allocated CP-OFDM capture (see the module docstring).

    evm_pct: RMS of error vectors added to each RE, scaled per symbol so that every symbol's
    error power is exactly (evm_pct / 100)^2 times its reference power. snr_db: white noise of
    in-band per-subcarrier SNR (relative to unit average symbol power times gain^2) added to the
    samples after the CP is formed. start: first captured sample of the generated stream (random
    within the first subframe if None). cfo_hz: frequency offset applied to the capture.
    """
    rng = np.random.default_rng(seed)
    mu = round(math.log2(scs_hz / 15e3))
    fs = fft_size * scs_hz
    per_subframe = 14 * 2**mu
    n_sc = 12 * n_rb
    n_capture = round(duration_s * fs)
    subframe_samples = round(1e-3 * fs)
    if start is None:
        start = int(rng.integers(0, subframe_samples))
    # symbols to cover the capture
    cps = []
    total = 0
    while total < start + n_capture:
        cp = cp_samples(fft_size, scs_hz, len(cps) % per_subframe)
        cps.append(cp)
        total += cp + fft_size
    n_sym = len(cps)
    m = BITS[modulation]
    a = qam_symbols(rng.integers(0, 2, size=(n_sym * n_sc, m)), modulation).reshape(n_sym, n_sc)
    tx = a.copy()
    if evm_pct:
        e = rng.standard_normal((n_sym, n_sc)) + 1j * rng.standard_normal((n_sym, n_sc))
        scale = (evm_pct / 100) * np.linalg.norm(a, axis=1) / np.linalg.norm(e, axis=1)
        tx += e * scale[:, None]
    grid = np.zeros((n_sym, fft_size), dtype=np.complex128)
    grid[:, (np.arange(n_sc) - 6 * n_rb) % fft_size] = tx
    useful = np.fft.ifft(grid, axis=1, norm="ortho")
    stream = np.concatenate(
        [np.concatenate([u[fft_size - cp :], u]) for u, cp in zip(useful, cps, strict=True)]
    )
    x = stream[start : start + n_capture]
    n = np.arange(n_capture)
    x = gain * np.exp(1j * (phase_rad + 2 * np.pi * cfo_hz * n / fs)) * x
    noise_var = 0.0
    if snr_db is not None:
        noise_var = gain**2 / 10 ** (snr_db / 10)
        x = x + math.sqrt(noise_var / 2) * (
            rng.standard_normal(n_capture) + 1j * rng.standard_normal(n_capture)
        )
    # truth over the complete symbols
    sym_start = np.concatenate([[0], np.cumsum(np.asarray(cps) + fft_size)[:-1]])
    sym_end = sym_start + np.asarray(cps) + fft_size
    complete = np.flatnonzero((sym_start >= start) & (sym_end <= start + n_capture))
    p_ref = float(np.mean(np.abs(a[complete]) ** 2))
    truth = 100 * math.sqrt((evm_pct / 100) ** 2 + noise_var / (gain**2 * p_ref))
    first = int(complete[0])
    return NrCapture(
        iq=x.astype(dtype),
        sample_rate_hz=fs,
        scs_hz=scs_hz,
        n_rb=n_rb,
        fft_size=fft_size,
        modulation=modulation,
        reference=a,
        truth_evm_pct=truth,
        cfo_hz=cfo_hz,
        first_cp_start=int(sym_start[first] - start),
        first_row=first,
        first_l_half=first % (7 * 2**mu),
        n_complete=int(complete.size),
    )
