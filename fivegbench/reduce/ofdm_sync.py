"""Shared OFDM internals of the EVM and frequency-error reducers: CP synchronisation, batch FFT
demodulation, and the moving average and phase-slope helpers of the equalizer.

Capture model (TS 38.211 §5.3.1, normal CP): sample rate fs = N x SCS with N the FFT size; in every
OFDM symbol, subcarrier k = 0 .. 12 N_RB - 1 sits at (k - 6 N_RB) x SCS from the capture centre (no
DC gap, k0 = 0), and its phase is referenced to the start of the symbol's useful part. The long CP
(16 kappa T_c more) is on the first symbol of every 0.5 ms half subframe. The capture may start at
any sample.

Synchronisation (:func:`synchronise`)
    c[n] = x[n] conj(x[n + N]) is |s[n]|^2 exp(-j 2 pi eps / SCS) on every CP sample (eps the
    carrier frequency offset) and zero-mean elsewhere. c[n] and e[n] = (|x[n]|^2 + |x[n+N]|^2) / 2
    are folded modulo the half-subframe period P (coherent sum over the first max(4 half
    subframes, 2^18 samples) of the capture) and circularly correlated with a 0/1 mask of the
    CP samples of one half subframe (the long CP included). The timing tau maximises
    |Gamma(tau)| / Phi(tau) (Gamma, Phi the masked sums of c and e), the normalised CP
    correlation: 1 on a perfect match, and strictly lower when the mask's long CP sits on a
    normal-CP symbol (the long CP's extra samples then do not repeat). This fixes both the
    symbol timing and where the capture starts in the 0.5 ms pattern. The CFO follows from the
    phase of Gamma: eps = -angle(Gamma) x SCS / (2 pi), unambiguous for |eps| < SCS / 2, taken
    over every CP sample of every complete symbol of the whole capture.

Demodulation (:class:`Demodulator`)
    For every complete symbol an N-sample window starting ``advance`` samples before the useful
    part is copied (the windows of both EVM positions in one pass over the capture), fused with
    one multiplication by a ramp that removes the CFO within the window, shifts the spectrum by
    N / 2 bins (so that the occupied bins come out contiguous: the grid is a view of the FFT
    output, not a copy) and scales by 1 / sqrt(N) (a unitary FFT). One batch FFT (``scipy.fft``,
    complex64, in place) per position follows. Two phase factors are left to the reader of the
    grid, who folds them into multiplications it does anyway (the equalizer's 1 / H and common
    phase): per subcarrier, the ramp exp(+j 2 pi m advance / N) of the early window start
    (m = k - 6 N_RB); per symbol, the CFO phase accumulated up to its window start.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.fft
from numpy.lib.stride_tricks import as_strided

from fivegbench.nr.numerology import (
    cp_lengths,
    half_subframe_samples,
    mu_from_scs,
    symbol_layout,
    symbols_per_half_subframe,
)

__all__ = [
    "DEMODULATE_SYMBOLS",
    "EQUALIZER_SMOOTHING",
    "MAX_THREADS",
    "Demodulated",
    "Demodulator",
    "OfdmSync",
    "SharedRows",
    "fft_size_for",
    "in_parallel",
    "phase_slope_hz",
    "scaled",
    "smooth",
    "synchronise",
    "validated_iq",
]

EQUALIZER_SMOOTHING = 19
"""Moving-average length across subcarriers of the equalizer (TS 38.104 Annex B.4) [V]."""

MAX_THREADS = 2
"""Threads of the EVM reduction (its work splits by symbols, or runs beside the caller's): more
than two gain little against the memory traffic, which these passes are bound by."""

# The timing search folds at least this many half subframes / samples of the capture.
_TIMING_PERIODS = 4
_TIMING_SAMPLES = 1 << 18
# Coarse timing search: samples per block.
_COARSE = 8

DEMODULATE_SYMBOLS = 32
"""Symbols to give :meth:`Demodulator.demodulate` at a time: the FFT's input (1 MB at 4096 points)
is still in the cache, which makes the two ~25 % faster than a whole position at a time."""


def validated_iq(iq: npt.ArrayLike, check_finite: bool = True) -> npt.NDArray[np.complexfloating]:
    """The capture as a 1-D complex array (complex64 kept as is, anything else as complex128).

    ``check_finite`` False leaves the NaN/infinity check to the caller (who scans the samples
    anyway)."""
    x = np.asarray(iq)
    if x.ndim != 1:
        raise ValueError(f"iq must be one-dimensional, got shape {x.shape}")
    if x.dtype != np.complex64:
        x = x.astype(np.complex128, copy=False)
    # a NaN or infinity anywhere makes the sum non-finite; the full check only runs then
    if check_finite and not np.isfinite(x.sum()) and not np.all(np.isfinite(x)):
        raise ValueError("iq contains NaN or infinite samples")
    return x


def fft_size_for(sample_rate_hz: float, scs_hz: float, fft_size: int | None = None) -> int:
    """FFT size N = fs / SCS; checks that fs is an integer multiple of the SCS (and equals
    ``fft_size`` x SCS when ``fft_size`` is given) and that N gives whole-sample CPs."""
    if not (math.isfinite(sample_rate_hz) and sample_rate_hz > 0):
        raise ValueError(f"sample_rate_hz must be a positive number, got {sample_rate_hz!r}")
    mu_from_scs(scs_hz)
    n = round(sample_rate_hz / scs_hz)
    if abs(n * scs_hz - sample_rate_hz) > 1e-6 * sample_rate_hz:
        raise ValueError(
            f"sample rate {sample_rate_hz:g} Hz is not a whole multiple of the {scs_hz:g} Hz SCS "
            "(the capture must be at FFT size x SCS)"
        )
    if fft_size is not None and int(fft_size) != n:
        raise ValueError(f"fft_size {fft_size} does not match sample rate / SCS = {n}")
    cp_lengths(n, scs_hz)  # raises if N does not give whole-sample CPs
    return n


@dataclass(frozen=True)
class OfdmSync:
    """Symbol timing and CP-based CFO of a capture.

    Attributes
    ----------
    fft_size : N, samples.
    scs_hz : subcarrier spacing, Hz.
    sample_rate_hz : N x SCS, Hz.
    cp_normal : normal CP length, samples.
    useful_start : int array (n,): sample index of the useful part of every complete symbol
        (CP and useful part inside the capture), increasing.
    cp_samples : int array (n,): CP length of each of those symbols, samples.
    l_half : int array (n,): symbol index within its 0.5 ms half subframe (0 = long CP).
    seq : int array (n,): symbol count from the first symbol of the half subframe holding the first
        complete symbol (so seq[0] = l_half[0]); consecutive symbols differ by 1.
    cp_freq_error_hz : CFO from the CP correlation over the whole capture, Hz (signed).
    cp_correlation : |Gamma| / Phi at the chosen timing, 0..1 (about SNR / (1 + SNR) for OFDM,
        near 0 for a signal without this CP structure).
    """

    fft_size: int
    scs_hz: float
    sample_rate_hz: float
    cp_normal: int
    useful_start: npt.NDArray[np.int64]
    cp_samples: npt.NDArray[np.int64]
    l_half: npt.NDArray[np.int64]
    seq: npt.NDArray[np.int64]
    cp_freq_error_hz: float
    cp_correlation: float

    @property
    def n_symbols(self) -> int:
        """Number of complete symbols."""
        return int(self.useful_start.size)

    @property
    def timing_offset_samples(self) -> int:
        """Sample index where the first complete symbol (its CP) starts."""
        return int(self.useful_start[0] - self.cp_samples[0]) if self.n_symbols else -1


def _fold(v: npt.NDArray[Any], period: int) -> npt.NDArray[Any]:
    """sum_q v[q P + p] for p = 0 .. P - 1 (the last, partial period included)."""
    whole = v.size // period * period
    out = v[:whole].reshape(-1, period).sum(axis=0)
    out[: v.size - whole] += v[whole:]
    return out


def _cp_masked(
    v: npt.NDArray[Any], cp_start: npt.NDArray[np.int64], cp_samples: npt.NDArray[np.int64]
) -> npt.NDArray[Any]:
    """out[tau] = sum_i sum_{j < cp_i} v[(tau + start_i + j) mod P] for the periodic v (period P =
    its length): the sum over the CP samples of one half subframe placed at every offset, from a
    cumulative sum (one moving sum per CP length, one shifted add per symbol)."""
    period = v.size
    span = period + int(cp_start.max()) + 1
    cs = np.concatenate([np.zeros(1, dtype=v.dtype), np.cumsum(np.concatenate([v, v]))])
    moving = {cp: cs[cp : cp + span] - cs[:span] for cp in np.unique(cp_samples).tolist()}
    out = np.zeros(period, dtype=v.dtype)
    for start, cp in zip(cp_start.tolist(), cp_samples.tolist(), strict=True):
        out += moving[cp][start : start + period]
    return out


def _cumulative(v: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Cumulative sum (leading 0) of the periodic v over two periods. Single precision is ample:
    a CP's window sum keeps ~1e-7 x 2P / CP relative, ~3e-5 at P = 61 440."""
    out = np.zeros(2 * v.size + 1, dtype=v.dtype)
    np.cumsum(np.concatenate([v, v]), out=out[1:])
    return out


def _cp_masked_at(
    cumulative: npt.NDArray[Any],
    cp_start: npt.NDArray[np.int64],
    cp_samples: npt.NDArray[np.int64],
    taus: npt.NDArray[np.int64],
) -> npt.NDArray[Any]:
    """:func:`_cp_masked` at the offsets ``taus`` (0 .. P - 1) only, from :func:`_cumulative`."""
    first = taus[..., None] + cp_start
    return (cumulative[first + cp_samples] - cumulative[first]).sum(axis=-1)


def _timing(
    corr: npt.NDArray[Any],
    energy: npt.NDArray[Any],
    cp_start: npt.NDArray[np.int64],
    cp_samples: npt.NDArray[np.int64],
) -> tuple[int, float]:
    """The offset tau maximising the normalised CP correlation |Gamma| / Phi, and that maximum.

    Coarse to fine: the masked sums on blocks of :data:`_COARSE` samples (CP positions and lengths
    rounded to blocks) find the best block; the exact sums at every offset within a block of it
    find the sample (the score falls by ~1/CP per sample off the timing); the exact sums at that
    sample shifted by whole normal symbols either way, and within the long CP's extra samples of
    the best three, decide which symbol has the long CP (those aliases differ only by its extra
    samples). Only offsets whose mask covers a fair share of the capture compete (short
    captures)."""
    period = corr.size
    block = _COARSE if period % _COARSE == 0 else 1
    cs_corr, cs_energy = _cumulative(corr), _cumulative(energy)
    # block sums from the cumulative sums (their rounding, ~1e-3 of a block, cannot move the coarse
    # choice by more than the block either way that the exact search covers)
    cb, eb = (np.diff(cs[: period + 1 : block]) for cs in (cs_corr, cs_energy))
    starts = np.round(cp_start / block).astype(np.int64)
    lengths = np.maximum(np.round(cp_samples / block).astype(np.int64), 1)
    coarse = _cp_masked(cb, starts, lengths)
    phi = _cp_masked(eb, starts, lengths)
    floor = 0.5 * float(phi.max())  # the block sums cover the same samples as the exact ones

    def score(taus: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        g = _cp_masked_at(cs_corr, cp_start, cp_samples, taus)
        e = _cp_masked_at(cs_energy, cp_start, cp_samples, taus)
        return np.where(e >= floor, np.abs(g) / np.where(e > 0, e, 1.0), -1.0)

    best_block = int(np.argmax(np.where(phi >= floor, np.abs(coarse) / np.where(phi > 0, phi, 1.0), -1.0)))
    taus = (best_block * block + np.arange(-block, block + 1)) % period
    tau = int(taus[np.argmax(score(taus))])
    symbol = int(cp_start[2] - cp_start[1]) if cp_start.size > 2 else period
    n, extra = cp_start.size, int(cp_samples.max() - cp_samples.min())
    aliases = (tau + symbol * np.arange(1 - n, n)) % period  # whole symbols do not wrap P exactly
    best_aliases = aliases[np.argsort(score(aliases))[-3:]]
    near = (best_aliases[:, None] + np.arange(-extra, extra + 1)[None, :]).ravel() % period
    scores = score(near)
    best = int(np.argmax(scores))
    return int(near[best]), float(scores[best])


def synchronise(
    iq: npt.ArrayLike,
    sample_rate_hz: float,
    scs_hz: float,
    fft_size: int | None = None,
    *,
    checked: bool = False,
) -> OfdmSync:
    """Symbol timing and fractional CFO from the cyclic prefix (see the module docstring).

    The timing search folds the first max(4 half subframes, 2^18 samples) of the capture (plenty
    for the long-CP decision, see the module docstring); the CFO is then taken over every CP of
    every complete symbol in the whole capture.

    Parameters
    ----------
    iq : complex baseband capture, 1-D, at ``sample_rate_hz``.
    sample_rate_hz : must be N x ``scs_hz``.
    scs_hz : subcarrier spacing, Hz.
    fft_size : optional check of N.
    checked : ``iq`` is already the output of :func:`validated_iq` (skips the second check).

    Raises ValueError if the capture does not hold at least one complete symbol.
    """
    x = np.asarray(iq) if checked else validated_iq(iq)
    n = fft_size_for(sample_rate_hz, scs_hz, fft_size)
    mu = mu_from_scs(scs_hz)
    normal, _ = cp_lengths(n, scs_hz)
    period = half_subframe_samples(n, scs_hz)
    per_half = symbols_per_half_subframe(mu)
    layout = symbol_layout(n, scs_hz, n_symbols=per_half)
    n_prod = min(x.size - n, max(_TIMING_PERIODS * period, _TIMING_SAMPLES))
    if n_prod < int(layout.cp_samples.max()):
        raise ValueError(f"capture of {x.size} samples is shorter than one OFDM symbol ({n + normal})")

    head, tail = x[:n_prod], x[n : n + n_prod]
    corr = _fold(head * tail.conj(), period)
    power = np.square(head.view(x.real.dtype))
    power += np.square(tail.view(x.real.dtype))  # |x[n]|^2 + |x[n + N]|^2 as (re, im) pairs
    folded = _fold(power, 2 * period)
    energy = 0.5 * (folded[0::2] + folded[1::2])

    tau, score = _timing(corr, energy, layout.cp_start, layout.cp_samples)

    n_half = (x.size - tau) // period + 2
    q = np.arange(-1, n_half - 1, dtype=np.int64)
    cp_start = (tau + q[:, None] * period + layout.cp_start[None, :]).ravel()
    cps = np.broadcast_to(layout.cp_samples, (q.size, per_half)).ravel()
    l_half = np.broadcast_to(np.arange(per_half, dtype=np.int64), (q.size, per_half)).ravel()
    seq_all = (q[:, None] * per_half + np.arange(per_half)[None, :]).ravel()
    keep = (cp_start >= 0) & (cp_start + cps + n <= x.size)
    if not np.any(keep):
        raise ValueError(f"capture of {x.size} samples holds no complete OFDM symbol")
    cp_start, cps, l_kept, seq = cp_start[keep], cps[keep], l_half[keep], seq_all[keep]
    seq = seq - (seq[0] - l_kept[0])
    useful = cp_start + cps

    # CFO over every CP sample of every complete symbol: the normal-length part of each CP, then
    # the extra samples of the long ones
    idx = (useful - normal)[:, None] + np.arange(normal)
    gamma_all = complex(np.vecdot(x[idx + n].ravel(), x[idx].ravel()))
    long_rows = cps > normal
    if long_rows.any():
        idx = cp_start[long_rows, None] + np.arange(int(cps.max()) - normal)
        gamma_all += complex(np.vecdot(x[idx + n].ravel(), x[idx].ravel()))
    cfo = -math.atan2(gamma_all.imag, gamma_all.real) * scs_hz / (2.0 * math.pi)
    return OfdmSync(
        fft_size=n,
        scs_hz=float(scs_hz),
        sample_rate_hz=float(sample_rate_hz),
        cp_normal=normal,
        useful_start=useful.astype(np.int64),
        cp_samples=cps.astype(np.int64),
        l_half=l_kept.astype(np.int64),
        seq=seq.astype(np.int64),
        cp_freq_error_hz=cfo,
        cp_correlation=score,
    )


def subcarrier_offsets(n_rb: int) -> npt.NDArray[np.int64]:
    """Signed frequency index m = k - 6 N_RB of subcarriers k = 0 .. 12 N_RB - 1 (TS 38.211 §5.3.1)."""
    return np.arange(12 * n_rb, dtype=np.int64) - 6 * n_rb


@dataclass(frozen=True)
class Demodulated:
    """The occupied subcarriers of every complete symbol at one FFT window position.

    The unitary FFT of symbol t's window, CFO removed and window shift undone, at subcarrier k is
    ``raw[t, k] * subcarrier_phase[k] * symbol_phase[t]`` (see the module docstring).

    Attributes
    ----------
    raw : complex64 (n_symbols, 12 N_RB), a view into the FFT output (rows N apart).
    subcarrier_phase : complex64 (12 N_RB,): exp(+j 2 pi m advance / N).
    symbol_phase : complex64 (n_symbols,): exp(-j 2 pi CFO t0 / fs), t0 the window's first sample.
    """

    raw: npt.NDArray[np.complex64]
    subcarrier_phase: npt.NDArray[np.complex64]
    symbol_phase: npt.NDArray[np.complex64]

    def corrected(self, rows: npt.NDArray[np.int64] | None = None) -> npt.NDArray[np.complex64]:
        """A new array of the corrected grid, of every symbol or of ``rows``."""
        if rows is None:
            return scaled(self.raw, self.subcarrier_phase, self.symbol_phase)
        return scaled(self.raw[rows], self.subcarrier_phase, self.symbol_phase[rows])


def scaled(
    a: npt.NDArray[np.complex64],
    per_column: npt.NDArray[np.complex64],
    per_row: npt.NDArray[np.complex64],
    out: npt.NDArray[np.complex64] | None = None,
    work: npt.NDArray[np.complex64] | None = None,
) -> npt.NDArray[np.complex64]:
    """``a[t, k] * per_column[k] * per_row[t]`` (into ``out``; ``work`` an optional buffer of a's
    shape). The outer product first: numpy multiplies by a broadcast column ~3x slower than by a
    full array."""
    factor = np.multiply(per_row[:, None], per_column, out=work)
    return np.multiply(a, factor, out=out)


class SharedRows:
    """Blocks of ``size`` of ``n_rows`` rows, each handed to whichever thread asks next (see
    :meth:`run`): threads that start late or run slower still finish together."""

    def __init__(self, n_rows: int, size: int) -> None:
        self._next, self._n_rows, self._size = 0, n_rows, size
        self._lock = threading.Lock()

    def _take(self) -> slice | None:
        with self._lock:
            start = self._next
            self._next = min(self._n_rows, start + self._size)
        return slice(start, self._next) if start < self._n_rows else None

    def run(self, work: Callable[[slice], None]) -> None:
        """Run ``work`` on blocks until none is left."""
        while (rows := self._take()) is not None:
            work(rows)


def in_parallel(work: Callable[[slice], None], n_rows: int, size: int, pool: Executor) -> None:
    """Run ``work`` on :class:`SharedRows` blocks of ``size`` rows in the calling thread and, if
    this process may use more than one core, in up to :data:`MAX_THREADS` - 1 of ``pool``'s (numpy
    and scipy.fft release the GIL)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    rows = SharedRows(n_rows, size)
    helpers = [pool.submit(rows.run, work) for _ in range(min(MAX_THREADS, cores) - 1)]
    try:
        rows.run(work)
    finally:
        for done in helpers:
            done.result()


class Demodulator:
    """The occupied subcarriers of every complete symbol at several FFT window positions (see the
    module docstring): :meth:`demodulate` windows and transforms one position's symbols, by blocks
    of symbols, so threads can share a position (:class:`SharedRows`).

    Parameters
    ----------
    iq : the capture (as returned by :func:`validated_iq`).
    sync : its synchronisation.
    n_rb : resource blocks; 12 N_RB must not exceed the FFT size.
    advances : per position, the window starts this many samples before each useful part
        (0 .. normal CP).
    freq_hz : frequency offset removed before the FFT, Hz.
    """

    def __init__(
        self,
        iq: npt.NDArray[np.complexfloating],
        sync: OfdmSync,
        n_rb: int,
        advances: Sequence[int],
        freq_hz: float,
    ) -> None:
        n = sync.fft_size
        if 12 * n_rb > n:
            raise ValueError(f"{n_rb} RB do not fit an FFT of {n}")
        for advance in advances:
            if not 0 <= advance <= sync.cp_normal:
                raise ValueError(f"advance must be within the CP (0..{sync.cp_normal}), got {advance}")
        self.iq, self.n_rb, self.advances, self.fft_size = iq, n_rb, tuple(advances), n
        self.buffers = [np.empty((sync.n_symbols, n), dtype=np.complex64) for _ in self.advances]
        self.useful_start = sync.useful_start
        w = 2.0 * math.pi * freq_hz / sync.sample_rate_hz
        self.w = w
        k = np.arange(n)
        # CFO within the window, (-1)^k to centre the occupied bins, 1 / sqrt(N) for a unitary FFT
        self.time_ramp = (np.exp(-1j * (w * k)) * np.where(k % 2, -1.0, 1.0) / math.sqrt(n)).astype(
            np.complex64
        )
        # symbols equally spaced (all but the first of each half subframe): one strided view each run
        spacing = np.diff(sync.useful_start)
        self.runs = np.split(np.arange(sync.n_symbols), np.flatnonzero(spacing[:-1] != spacing[1:]) + 1)

    def demodulate(self, position: int, rows: slice) -> None:
        """Window (CFO ramp applied) and transform position ``position``'s symbols ``rows`` (a few:
        the FFT then reads its input from the cache, see :data:`DEMODULATE_SYMBOLS`)."""
        self._fill(position, rows)
        scipy.fft.fft(self.buffers[position][rows], axis=1, overwrite_x=True)  # contiguous complex64

    def _fill(self, position: int, rows: slice) -> None:
        iq, n, item = self.iq, self.fft_size, self.iq.itemsize
        buffer, advance = self.buffers[position], self.advances[position]
        for run in self.runs:
            a, b = max(int(run[0]), rows.start), min(int(run[-1]) + 1, rows.stop)
            if a >= b:
                continue
            step = int(self.useful_start[a + 1] - self.useful_start[a]) if b - a > 1 else n
            start = int(self.useful_start[a]) - advance
            windows = as_strided(iq[start:], shape=(b - a, n), strides=(step * item, item))
            np.multiply(windows, self.time_ramp, out=buffer[a:b])

    def grid(self, position: int) -> Demodulated:
        """Position ``position``'s grid (once its windows are filled and transformed)."""
        n, n_sc, advance = self.fft_size, 12 * self.n_rb, self.advances[position]
        lo = n // 2 - n_sc // 2
        m = subcarrier_offsets(self.n_rb)
        starts = (self.useful_start - advance).astype(np.float64)
        return Demodulated(
            raw=self.buffers[position][:, lo : lo + n_sc],
            subcarrier_phase=np.exp(2j * math.pi * m * advance / n).astype(np.complex64),
            symbol_phase=np.exp(-1j * self.w * starts).astype(np.complex64),
        )


def smooth(
    v: npt.NDArray[np.complexfloating], length: int = EQUALIZER_SMOOTHING, shrink: bool = True
) -> npt.NDArray[np.complex128]:
    """Moving average of ``length`` (odd) points.

    ``shrink`` True: centred, the window shrinking symmetrically at the edges (1 point at the first
    and last element, 3 at the second, ...), as TS 38.104 Annex B.4. False: every window has
    ``length`` points, moved inwards at the edges (used for the blind start of the decision-directed
    equalizer, where a 1-point edge estimate is too noisy to seed decisions).
    """
    half = length // 2
    n = v.size
    k = np.arange(n)
    cs = np.concatenate([[0.0], np.cumsum(v.astype(np.complex128))])
    if shrink or n < length:
        h = np.minimum(half, np.minimum(k, n - 1 - k))
        return (cs[k + h + 1] - cs[k - h]) / (2 * h + 1)
    lo = np.clip(k - half, 0, n - length)
    return (cs[lo + length] - cs[lo]) / length


def phase_slope_hz(
    common_phase: npt.NDArray[np.float64], useful_start: npt.NDArray[np.int64], sample_rate_hz: float
) -> float:
    """Frequency (Hz) of the least-squares line through the per-symbol common phase against the
    time of each symbol's useful part; 0 for fewer than 2 symbols."""
    if common_phase.size < 2:
        return 0.0
    t = useful_start.astype(np.float64) / sample_rate_hz
    t = t - t.mean()
    p = common_phase - common_phase.mean()
    return float(np.dot(t, p) / np.dot(t, t) / (2.0 * math.pi))
