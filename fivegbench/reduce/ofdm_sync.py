"""Shared OFDM internals of the EVM and frequency-error reducers: CP synchronisation, batch FFT
demodulation and a per-subcarrier zero-forcing equalizer with per-symbol common-phase removal.

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

Demodulation (:func:`demodulate`)
    For every complete symbol an N-sample window starting ``advance`` samples before the useful
    part is copied (fused with the CFO ramp), the CFO is removed (a per-sample ramp times a
    per-symbol phase), one batch FFT (unitary scaling) is computed, the 12 N_RB occupied bins are
    kept and the cyclic-shift phase ramp exp(+j 2 pi m advance / N) of the early window start is
    undone (m = k - 6 N_RB).

Equalizer (:func:`equalise`)
    Channel H_k = sum_t Y e^{-j phi_t} conj(I) / sum_t |I|^2 (the complex ratio received /
    reference, averaged over the capture with weights |I|^2 -- the least-squares ratio; an
    unweighted mean of ratios would let the low-power inner QAM points dominate the noise), then a
    19-point moving average across subcarriers whose window shrinks symmetrically at the band
    edges (TS 38.104 Annex B.4 uses 19 points across DM-RS subcarriers). Z = Y e^{-j phi_t} / H.
    phi_t is the common phase of symbol t against the reference; removing it takes out the phase
    drift of a residual CFO (and the common part of phase noise, which FR1 Annex B does not remove:
    documented deviation; it removes one real degree of freedom per symbol, < 0.2 % relative
    EVM bias for 300 or more subcarriers). Without a reference the reference is the hard decision
    of Z (decision-directed), started from a blind estimate (power for |H|, fourth-power phase
    averaged over time and smoothed across subcarriers, unwrapped) and iterated.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.fft

from fivegbench.nr.modulation import hard_decision
from fivegbench.nr.numerology import (
    cp_lengths,
    half_subframe_samples,
    mu_from_scs,
    symbol_layout,
    symbols_per_half_subframe,
)

__all__ = [
    "EQUALIZER_SMOOTHING",
    "Equalised",
    "OfdmSync",
    "demodulate",
    "equalise",
    "fft_size_for",
    "phase_slope_hz",
    "smooth",
    "synchronise",
    "validated_iq",
]

EQUALIZER_SMOOTHING = 19
"""Moving-average length across subcarriers of the equalizer (TS 38.104 Annex B.4) [V]."""

# The timing search folds at least this many half subframes / samples of the capture.
_TIMING_PERIODS = 4
_TIMING_SAMPLES = 1 << 18
# Symbols processed per block by demodulate/equalise: small reused buffers instead of capture-sized
# temporaries (fresh large arrays cost more in page faults than the arithmetic on them).
_CHUNK_SYMBOLS = 64
# Decision-directed start: blind estimate and iterations on up to this many symbols.
_SUBSET_SYMBOLS = 48
_SUBSET_ITERATIONS = 2
_TINY = np.finfo(np.float64).tiny


def validated_iq(iq: npt.ArrayLike) -> npt.NDArray[np.complexfloating]:
    """The capture as a 1-D complex array (complex64 kept as is, anything else as complex128)."""
    x = np.asarray(iq)
    if x.ndim != 1:
        raise ValueError(f"iq must be one-dimensional, got shape {x.shape}")
    if x.dtype != np.complex64:
        x = x.astype(np.complex128, copy=False)
    # a NaN or infinity anywhere makes the sum non-finite; the full check only runs then
    if not np.isfinite(x.sum()) and not np.all(np.isfinite(x)):
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


@functools.cache
def _cp_mask_spectrum(fft_size: int, scs_hz: float) -> npt.NDArray[np.complex128]:
    """FFT of the 0/1 mask of the CP samples of one half subframe (long CP first)."""
    layout = symbol_layout(fft_size, scs_hz, n_symbols=symbols_per_half_subframe(mu_from_scs(scs_hz)))
    mask = np.zeros(half_subframe_samples(fft_size, scs_hz), dtype=np.float64)
    for start, cp in zip(layout.cp_start, layout.cp_samples, strict=True):
        mask[start : start + cp] = 1.0
    spectrum = scipy.fft.fft(mask)
    spectrum.setflags(write=False)
    return spectrum


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
    c = head * np.conj(tail)
    e = 0.5 * (head.real**2 + head.imag**2 + tail.real**2 + tail.imag**2)
    pad = (-n_prod) % period
    corr = (
        np.concatenate([c, np.zeros(pad, dtype=c.dtype)]).reshape(-1, period).sum(axis=0, dtype=np.complex128)
    )
    energy = (
        np.concatenate([e, np.zeros(pad, dtype=e.dtype)]).reshape(-1, period).sum(axis=0, dtype=np.float64)
    )
    del c, e

    mask_f = _cp_mask_spectrum(n, scs_hz)
    gamma = scipy.fft.ifft(scipy.fft.fft(corr) * np.conj(mask_f))
    phi = scipy.fft.irfft(scipy.fft.rfft(energy) * np.conj(mask_f[: period // 2 + 1]), n=period)
    # only offsets whose mask covers a fair share of the capture compete (short captures)
    usable = phi >= 0.5 * phi.max()
    score = np.where(usable, np.abs(gamma) / np.where(usable, phi, 1.0), -1.0)
    tau = int(np.argmax(score))

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

    # CFO over every CP sample of every complete symbol
    offsets = np.arange(int(cps.max()))
    idx = (cp_start[:, None] + offsets[None, :])[offsets[None, :] < cps[:, None]]
    gamma_all = np.sum(x[idx] * np.conj(x[idx + n]), dtype=np.complex128)
    cfo = -float(np.angle(gamma_all)) * scs_hz / (2.0 * math.pi)
    return OfdmSync(
        fft_size=n,
        scs_hz=float(scs_hz),
        sample_rate_hz=float(sample_rate_hz),
        cp_normal=normal,
        useful_start=(cp_start + cps).astype(np.int64),
        cp_samples=cps.astype(np.int64),
        l_half=l_kept.astype(np.int64),
        seq=seq.astype(np.int64),
        cp_freq_error_hz=cfo,
        cp_correlation=float(score[tau]),
    )


def subcarrier_offsets(n_rb: int) -> npt.NDArray[np.int64]:
    """Signed frequency index m = k - 6 N_RB of subcarriers k = 0 .. 12 N_RB - 1 (TS 38.211 §5.3.1)."""
    return np.arange(12 * n_rb, dtype=np.int64) - 6 * n_rb


def _chunks(total: int, size: int = _CHUNK_SYMBOLS) -> list[slice]:
    return [slice(a, min(total, a + size)) for a in range(0, total, size)]


def demodulate(
    iq: npt.NDArray[np.complexfloating],
    sync: OfdmSync,
    n_rb: int,
    advance: int,
    freq_hz: float,
    out: npt.NDArray[np.complex64] | None = None,
) -> npt.NDArray[np.complex64]:
    """Occupied subcarriers of every complete symbol, shape (n_symbols, 12 N_RB), complex64.

    Parameters
    ----------
    iq : the capture (as returned by :func:`validated_iq`).
    sync : its synchronisation.
    n_rb : resource blocks; 12 N_RB must not exceed the FFT size.
    advance : the FFT window starts this many samples before each useful part (0 .. normal CP).
    freq_hz : frequency offset removed before the FFT, Hz.
    out : optional complex64 array of the result's shape to write into.
    """
    n = sync.fft_size
    n_sc = 12 * n_rb
    half = 6 * n_rb
    if n_sc > n:
        raise ValueError(f"{n_rb} RB do not fit an FFT of {n}")
    if not 0 <= advance <= sync.cp_normal:
        raise ValueError(f"advance must be within the CP (0..{sync.cp_normal}), got {advance}")
    shape = (sync.n_symbols, n_sc)
    if out is None:
        out = np.empty(shape, dtype=np.complex64)
    elif out.shape != shape or out.dtype != np.complex64:
        raise ValueError(f"out must be a complex64 array of shape {shape}")
    starts = sync.useful_start - advance
    w = 2.0 * math.pi * freq_hz / sync.sample_rate_hz
    time_ramp = np.exp(-1j * w * np.arange(n)).astype(np.complex64)
    symbol_phase = np.exp(-1j * w * starts.astype(np.float64)).astype(np.complex64)
    m = subcarrier_offsets(n_rb)
    # undo the early window start; 1 / sqrt(N) makes the FFT unitary
    shift_ramp = (np.exp(2j * math.pi * m * advance / n) / math.sqrt(n)).astype(np.complex64)
    win_buf = np.empty((min(_CHUNK_SYMBOLS, sync.n_symbols), n), dtype=np.complex64)
    for c in _chunks(sync.n_symbols):
        win = win_buf[: c.stop - c.start]
        # one row copy per symbol, fused with the CFO ramp (3x faster than fancy indexing a
        # sliding-window view; the per-symbol loop is a few hundred iterations)
        for row, s0 in zip(win, starts[c].tolist(), strict=True):
            np.multiply(iq[s0 : s0 + n], time_ramp, out=row)
        spec = scipy.fft.fft(win, axis=1, overwrite_x=True)
        dst = out[c]
        np.multiply(spec[:, n - half :], shift_ramp[:half], out=dst[:, :half])
        np.multiply(spec[:, : n_sc - half], shift_ramp[half:], out=dst[:, half:])
        dst *= symbol_phase[c, None]
    return out


def require_full_allocation(y: npt.NDArray[np.complexfloating], empty_fraction: float = 1e-3) -> None:
    """Raise ValueError when some occupied subcarriers carry (almost) no power over the capture.

    The EVM and the data-aided frequency refinement model a full single-modulation allocation;
    on a partly allocated carrier the empty subcarriers would divide by zero in the equalizer.
    """
    probe = y[:28]  # two slots of random data tell an empty subcarrier from a used one
    power = np.mean(probe.real**2 + probe.imag**2, axis=0, dtype=np.float64)
    empty = int(np.count_nonzero(power < empty_fraction * float(np.median(power))))
    if empty or not np.all(np.isfinite(power)):
        raise ValueError(
            f"{empty} of {power.size} subcarriers carry no power: the capture is not a full "
            "single-modulation allocation, which EVM and the data-aided frequency error need"
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


@dataclass(frozen=True)
class Equalised:
    """Equalizer output of one window position.

    Attributes
    ----------
    error_power : float array (T,): sum over subcarriers of |Z - I|^2 per symbol.
    ref_power : float array (T,): sum over subcarriers of |I|^2 per symbol.
    common_phase : float array (T,): removed common phase per symbol, rad (unwrapped).
    channel : complex array (K,): smoothed channel estimate H_k.
    """

    error_power: npt.NDArray[np.float64]
    ref_power: npt.NDArray[np.float64]
    common_phase: npt.NDArray[np.float64]
    channel: npt.NDArray[np.complex128]


def _sq_sum(a: npt.NDArray[np.complexfloating], axis: int) -> npt.NDArray[np.float64]:
    """sum |a|^2 along ``axis`` (0 or 1) of a 2-D complex array, without a complex temporary.

    Accumulated in the array's own precision (einsum's SIMD partial sums keep float32 within about
    1e-6 relative over the few thousand terms of a symbol; casting inside einsum is 5x slower)."""
    a = np.ascontiguousarray(a)
    f: npt.NDArray[Any] = a.view(np.float32 if a.dtype == np.complex64 else np.float64)  # (T, 2K) re/im
    if axis == 1:
        return np.einsum("tk,tk->t", f, f).astype(np.float64)
    return np.einsum("tk,tk->k", f, f).astype(np.float64).reshape(-1, 2).sum(axis=1)


class _Reference:
    """Reference symbols for rows of the capture: known (data-aided) or decided (decision-directed)."""

    def __init__(
        self,
        modulation: str,
        reference: npt.NDArray[np.complexfloating] | None,
        rows: npt.NDArray[np.int64] | None,
    ) -> None:
        self.modulation = modulation
        self.reference = reference
        self.rows = rows

    def get(
        self, c: slice, z: npt.NDArray[np.complex64], buf: npt.NDArray[np.complex64]
    ) -> npt.NDArray[np.complexfloating]:
        if self.reference is None:
            return hard_decision(z, self.modulation, out=buf)
        assert self.rows is not None
        np.copyto(buf, self.reference[self.rows[c]], casting="same_kind")
        return buf


def _weighted_rows(
    phase: npt.NDArray[np.float64], p: npt.NDArray[np.complexfloating]
) -> npt.NDArray[np.complex128]:
    """sum_t exp(-j phase_t) p[t, :]; rotates ``p`` in place. (No BLAS matvec: its threads thrash
    on a loaded host.)"""
    p *= np.exp(-1j * phase).astype(p.dtype)[:, None]
    return p.sum(axis=0, dtype=np.complex128)


def _iterate_subset(
    y: npt.NDArray[np.complex64], ref: _Reference, rows: npt.NDArray[np.int64], iterations: int
) -> tuple[npt.NDArray[np.complex128], npt.NDArray[np.float64]]:
    """Channel and common phase from a subset of symbols, from a blind start (decision-directed)
    or from the known reference; returns (H, phase of the subset rows)."""
    ys = y[rows]
    if ref.reference is None:
        sq = ys * ys
        sq *= sq
        fourth = sq.sum(axis=0, dtype=np.complex128)
        del sq
        theta = np.unwrap(np.angle(-smooth(fourth, shrink=False))) / 4.0
        mag = np.sqrt(smooth(_sq_sum(ys, 0) / ys.shape[0], shrink=False).real)
        h = mag * np.exp(1j * theta)
        phase = np.zeros(rows.size)
    else:
        assert ref.rows is not None
        d = ref.reference[ref.rows[rows]].astype(np.complex64)
        p = ys * np.conj(d)
        phase = np.angle(p.sum(axis=1, dtype=np.complex128))
        h = smooth(_weighted_rows(phase, p) / np.maximum(_sq_sum(d, 0), _TINY))
    buf = np.empty_like(ys)
    for _ in range(iterations):
        inv_h = (1.0 / h).astype(np.complex64)
        z = ys * inv_h
        z *= np.exp(-1j * phase).astype(np.complex64)[:, None]
        if ref.reference is None:
            d = hard_decision(z, ref.modulation, out=buf)
        p = ys * np.conj(d)
        phase = np.angle(np.vecdot(np.conj(inv_h), p))
        h = smooth(_weighted_rows(phase, p) / np.maximum(_sq_sum(d, 0), _TINY))
    return h, np.unwrap(phase)


def equalise(
    y: npt.NDArray[np.complex64],
    modulation: str,
    reference: npt.NDArray[np.complexfloating] | None = None,
    rows: npt.NDArray[np.int64] | None = None,
    start: Equalised | None = None,
    update: bool = True,
) -> Equalised:
    """Zero-forcing equalizer with common-phase removal (see the module docstring).

    Parameters
    ----------
    y : (T, K) demodulated symbols.
    modulation : canonical modulation name (for the decisions).
    reference, rows : data-aided reference: symbol t is ``reference[rows[t]]``; None: decision-directed.
    start : a previous result (the other EVM window position) to start from instead of the
        subset iterations.
    update : with ``start``: False applies its channel and phases unchanged (step 3 only).

    Steps: (1) channel and common phase from up to 48 symbols spread over the capture, iterated
    (blind start if decision-directed), the phase interpolated to all symbols; (2) one pass over
    all symbols: decisions, common phase per symbol, channel = smoothed LS ratio averaged over
    the whole capture; (3) one pass: equalise with that channel and those phases (the phases were
    estimated against the same decisions, so the channel is LS-consistent with them), decide
    again (decision-directed), error and reference power per symbol.
    """
    t_count, k_count = y.shape
    ref = _Reference(modulation, reference, rows)
    if reference is not None and (rows is None or rows.size != t_count):
        raise ValueError("rows must give the reference row of every symbol")
    if start is None:
        subset = np.unique(
            np.linspace(0, t_count - 1, min(t_count, _SUBSET_SYMBOLS)).round().astype(np.int64)
        )
        h, phase_s = _iterate_subset(y, ref, subset, _SUBSET_ITERATIONS)
        phase = np.interp(np.arange(t_count), subset, phase_s)
    else:
        h, phase = start.channel, start.common_phase.copy()
        if not update:
            return _final_pass(y, ref, h, phase)

    chunk = min(_CHUNK_SYMBOLS, t_count)
    zbuf = np.empty((chunk, k_count), dtype=np.complex64)
    dbuf = np.empty((chunk, k_count), dtype=np.complex64)
    cbuf = np.empty((chunk, k_count), dtype=np.complex64)
    num = np.zeros(k_count, dtype=np.complex128)
    den = np.zeros(k_count, dtype=np.float64)
    inv_h = (1.0 / h).astype(np.complex64)
    conj_inv_h = np.conj(inv_h)
    for c in _chunks(t_count):
        rows_n = c.stop - c.start
        z = np.multiply(y[c], inv_h, out=zbuf[:rows_n])
        z *= np.exp(-1j * phase[c]).astype(np.complex64)[:, None]
        d = ref.get(c, z, dbuf[:rows_n])
        p = np.multiply(y[c], np.conjugate(d, out=cbuf[:rows_n], casting="same_kind"), out=zbuf[:rows_n])
        phase[c] = np.angle(np.vecdot(conj_inv_h, p))
        num += _weighted_rows(phase[c], p)
        den += _sq_sum(d, 0)
    h = smooth(num / np.maximum(den, _TINY))
    return _final_pass(y, ref, h, phase)


def _final_pass(
    y: npt.NDArray[np.complex64],
    ref: _Reference,
    h: npt.NDArray[np.complex128],
    phase: npt.NDArray[np.float64],
) -> Equalised:
    """Equalise every symbol with ``h`` and ``phase``; per-symbol error and reference power."""
    t_count, k_count = y.shape
    chunk = min(_CHUNK_SYMBOLS, t_count)
    zbuf = np.empty((chunk, k_count), dtype=np.complex64)
    dbuf = np.empty((chunk, k_count), dtype=np.complex64)
    inv_h = (1.0 / h).astype(np.complex64)

    err = np.empty(t_count)
    pw = np.empty(t_count)
    for c in _chunks(t_count):
        rows_n = c.stop - c.start
        z = np.multiply(y[c], inv_h, out=zbuf[:rows_n])
        z *= np.exp(-1j * phase[c]).astype(np.complex64)[:, None]
        d = ref.get(c, z, dbuf[:rows_n])
        diff = np.subtract(z, d, out=z, casting="same_kind")
        err[c] = _sq_sum(diff, 1)
        pw[c] = _sq_sum(d, 1)
    return Equalised(error_power=err, ref_power=pw, common_phase=np.unwrap(phase), channel=h)


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
