"""NR numerology and OFDM symbol timing, TS 38.211 §4.2, §4.3 and §5.3.1 (normal cyclic prefix).

Source status [V]: the formulas below are those of TS 38.211 §4.1 (T_c, kappa), §4.2 (Delta f =
2^mu x 15 kHz, Table 4.2-1) and §5.3.1 (N_u = 2048 kappa 2^-mu; N_CP = 144 kappa 2^-mu + 16 kappa for
l = 0 and l = 7 x 2^mu, else 144 kappa 2^-mu, normal CP), all in units of T_c.

Sampled at ``fs = N x SCS`` (N the FFT size), one T_c unit is ``N / (2048 kappa 2^-mu)`` samples, so

* useful part N_u = N samples;
* normal CP = 144 N / 2048 = 9 N / 128 samples (288 at N = 4096);
* the long CP adds 16 kappa T_c = N x 2^mu / 128 samples (64 at N = 4096, 30 kHz).

The long CP is on symbol l = 0 and l = 7 x 2^mu of every subframe, i.e. on the first symbol of every
0.5 ms half subframe; every half subframe is exactly 0.5 ms long (7.5 x 2^mu x N samples). Extended CP
(60 kHz only) is not covered.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = [
    "KAPPA",
    "SYMBOLS_PER_SLOT",
    "TC_S",
    "SymbolLayout",
    "cp_lengths",
    "fft_size",
    "half_subframe_samples",
    "mu_from_scs",
    "sample_rate_hz",
    "slots_per_frame",
    "slots_per_subframe",
    "symbol_layout",
    "symbols_per_half_subframe",
    "symbols_per_subframe",
]

TC_S = 1.0 / (480e3 * 4096)
"""Basic time unit T_c = 1 / (Delta f_max N_f), s (TS 38.211 §4.1) [V]."""

KAPPA = 64
"""kappa = T_s / T_c (TS 38.211 §4.1) [V]."""

SYMBOLS_PER_SLOT = 14
"""OFDM symbols per slot with normal CP (TS 38.211 Table 4.3.2-1) [V]."""

FFT_OCCUPANCY = 0.85
"""Maximum occupied fraction 12 N_RB / N of the FFT chosen by :func:`fft_size` (implementation rule)."""


def mu_from_scs(scs_hz: float) -> int:
    """Numerology mu for a subcarrier spacing Delta f = 2^mu x 15 kHz (TS 38.211 Table 4.2-1) [V].

    Parameters
    ----------
    scs_hz : subcarrier spacing in Hz: 15e3, 30e3, 60e3, 120e3, 240e3, 480e3 or 960e3.

    Raises ValueError for any other spacing.
    """
    if not (math.isfinite(scs_hz) and scs_hz > 0):
        raise ValueError(f"scs_hz must be a positive number, got {scs_hz!r}")
    ratio = scs_hz / 15e3
    mu = round(math.log2(ratio))
    if not 0 <= mu <= 6 or abs(ratio - 2**mu) > 1e-9:
        raise ValueError(f"{scs_hz:g} Hz is not an NR subcarrier spacing (2^mu x 15 kHz, mu = 0..6)")
    return mu


def slots_per_subframe(mu: int) -> int:
    """Slots per 1 ms subframe, 2^mu (TS 38.211 Table 4.3.2-1) [V]."""
    return 2**mu


def slots_per_frame(mu: int) -> int:
    """Slots per 10 ms frame, 10 x 2^mu (TS 38.211 Table 4.3.2-1) [V]."""
    return 10 * 2**mu


def symbols_per_subframe(mu: int) -> int:
    """OFDM symbols per 1 ms subframe, 14 x 2^mu (normal CP) [V]."""
    return SYMBOLS_PER_SLOT * 2**mu


def symbols_per_half_subframe(mu: int) -> int:
    """OFDM symbols per 0.5 ms half subframe, 7 x 2^mu; the first one has the long CP [V]."""
    return 7 * 2**mu


def fft_size(n_rb: int, occupancy: float = FFT_OCCUPANCY) -> int:
    """FFT size for a carrier of N_RB resource blocks: the smallest power of two N (at least 128) with
    12 N_RB / N <= ``occupancy``.

    The rule is an implementation choice, not a 3GPP requirement. With the default 0.85 it gives the
    usual sizes: 25 RB (5 MHz, 15 kHz) -> 512, 52 -> 1024, 106 -> 2048, 51 RB (20 MHz, 30 kHz) -> 1024,
    273 RB (100 MHz, 30 kHz) -> 4096. Sample rate = N x SCS (:func:`sample_rate_hz`).

    Parameters
    ----------
    n_rb : number of resource blocks (>= 1).
    occupancy : largest allowed fraction of the FFT bins carrying subcarriers, in (0, 1].
    """
    if int(n_rb) != n_rb or n_rb < 1:
        raise ValueError(f"n_rb must be a positive integer, got {n_rb!r}")
    if not 0 < occupancy <= 1:
        raise ValueError(f"occupancy must be in (0, 1], got {occupancy!r}")
    n = 128
    while 12 * n_rb > occupancy * n:
        n *= 2
    return n


def sample_rate_hz(fft_size: int, scs_hz: float) -> float:
    """Sample rate N x SCS in Hz at which one useful OFDM symbol is exactly ``fft_size`` samples."""
    return fft_size * scs_hz


def cp_lengths(fft_size: int, scs_hz: float) -> tuple[int, int]:
    """Normal and long cyclic prefix in samples at ``fs = fft_size x scs_hz`` (TS 38.211 §5.3.1) [V].

    Returns
    -------
    (normal, long) : 144 kappa 2^-mu T_c and 144 kappa 2^-mu T_c + 16 kappa T_c, in samples, i.e.
        9 N / 128 and 9 N / 128 + N 2^mu / 128.

    Raises ValueError if either is not a whole number of samples (N not a multiple of 128 / 2^mu for
    the long part or of 128 for the normal part).
    """
    mu = mu_from_scs(scs_hz)
    if int(fft_size) != fft_size or fft_size < 1:
        raise ValueError(f"fft_size must be a positive integer, got {fft_size!r}")
    n_u_tc = 2048 * KAPPA // 2**mu  # useful length in T_c, = fft_size samples
    normal_num = 144 * KAPPA // 2**mu * fft_size
    extra_num = 16 * KAPPA * fft_size
    if normal_num % n_u_tc or extra_num % n_u_tc:
        raise ValueError(
            f"FFT size {fft_size} at {scs_hz / 1e3:g} kHz does not give whole-sample cyclic prefixes"
        )
    normal = normal_num // n_u_tc
    return normal, normal + extra_num // n_u_tc


def half_subframe_samples(fft_size: int, scs_hz: float) -> int:
    """Samples in 0.5 ms at ``fs = fft_size x scs_hz`` (= 7 x 2^mu symbols, one with the long CP)."""
    mu = mu_from_scs(scs_hz)
    normal, long_ = cp_lengths(fft_size, scs_hz)
    return symbols_per_half_subframe(mu) * (fft_size + normal) + (long_ - normal)


@dataclass(frozen=True)
class SymbolLayout:
    """Sample positions of consecutive OFDM symbols (normal CP) at ``fs = fft_size x SCS``.

    Attributes
    ----------
    fft_size : useful symbol length N, samples.
    scs_hz : subcarrier spacing, Hz.
    l_in_subframe : int array (n,): symbol index l within its subframe, 0 .. 14 x 2^mu - 1.
    cp_samples : int array (n,): cyclic prefix length of each symbol, samples.
    cp_start : int array (n,): first sample of each symbol (start of its CP), from the first symbol.
    useful_start : int array (n,): first sample of each symbol's useful part (cp_start + cp_samples).
    total_samples : samples spanned by the n symbols.
    """

    fft_size: int
    scs_hz: float
    l_in_subframe: npt.NDArray[np.int64]
    cp_samples: npt.NDArray[np.int64]
    cp_start: npt.NDArray[np.int64]
    useful_start: npt.NDArray[np.int64]
    total_samples: int

    @property
    def n_symbols(self) -> int:
        """Number of symbols in the layout."""
        return int(self.l_in_subframe.size)


def symbol_layout(
    fft_size: int,
    scs_hz: float,
    n_symbols: int | None = None,
    duration_s: float | None = None,
    first_symbol: int = 0,
) -> SymbolLayout:
    """CP lengths and start samples of consecutive OFDM symbols (TS 38.211 §5.3.1, normal CP).

    Parameters
    ----------
    fft_size : FFT size N; the sample rate is N x ``scs_hz``.
    scs_hz : subcarrier spacing in Hz.
    n_symbols : number of symbols; give this or ``duration_s``.
    duration_s : lay out every symbol that fits entirely in this many seconds.
    first_symbol : index l (within the subframe, 0 .. 14 x 2^mu - 1) of the first symbol; sample 0
        is the start of its CP.

    Returns
    -------
    SymbolLayout
        Per-symbol l, CP length, CP start and useful-part start (samples).
    """
    mu = mu_from_scs(scs_hz)
    normal, long_ = cp_lengths(fft_size, scs_hz)
    per_sf = symbols_per_subframe(mu)
    if int(first_symbol) != first_symbol or not 0 <= first_symbol < per_sf:
        raise ValueError(f"first_symbol must be in 0..{per_sf - 1}, got {first_symbol!r}")
    if (n_symbols is None) == (duration_s is None):
        raise ValueError("give exactly one of n_symbols and duration_s")
    if n_symbols is None:
        assert duration_s is not None
        if not (math.isfinite(duration_s) and duration_s >= 0):
            raise ValueError(f"duration_s must be a non-negative number, got {duration_s!r}")
        budget = math.floor(duration_s * fft_size * scs_hz + 1e-6)
        # upper bound on the count, then trim to what fits
        count = budget // (fft_size + normal) + 1
    else:
        if int(n_symbols) != n_symbols or n_symbols < 0:
            raise ValueError(f"n_symbols must be a non-negative integer, got {n_symbols!r}")
        count = int(n_symbols)
    l_sf = (first_symbol + np.arange(count, dtype=np.int64)) % per_sf
    half = symbols_per_half_subframe(mu)
    cp = np.where(l_sf % half == 0, long_, normal).astype(np.int64)
    ends = np.cumsum(cp + fft_size)
    if n_symbols is None:
        keep = int(np.searchsorted(ends, budget, side="right"))
        l_sf, cp, ends = l_sf[:keep], cp[:keep], ends[:keep]
    cp_start = ends - (cp + fft_size)
    return SymbolLayout(
        fft_size=int(fft_size),
        scs_hz=float(scs_hz),
        l_in_subframe=l_sf,
        cp_samples=cp,
        cp_start=cp_start,
        useful_start=cp_start + cp,
        total_samples=int(ends[-1]) if ends.size else 0,
    )
