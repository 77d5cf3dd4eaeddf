"""NR downlink EVM from a complex baseband capture, after TS 38.104 Annex B (FR1), simplified.

Capture model: one NR carrier fully allocated with one modulation (an NR-FR1-TM1.1/3.1/3.1a-like
PDSCH; DM-RS, PDCCH and SSB are not told apart), normal CP, sampled at FFT size x SCS, starting at
an arbitrary sample, with an unknown CFO (|CFO| < SCS / 2), gain and phase, and possibly noise.

Method (the shared steps are in :mod:`fivegbench.reduce.ofdm_sync`):

1. Timing and the position in the 0.5 ms long/normal-CP pattern from the CP correlation; CFO from
   its phase over the whole capture.
2. For every complete symbol, the FFT window (N samples) starts at the two Annex B positions
   Delta_c -/+ W/2 around the centre Delta_c of the normal-length CP (the same delay before the
   useful part in every symbol; a long CP's 16 kappa extra samples lie before it and are not used).
   W is :func:`fivegbench.nr.evm_window.evm_window` [V2]. CFO removed, one batch FFT, the 12 N_RB
   occupied subcarriers kept, the early-start phase ramp undone.
3. Zero-forcing equalizer per subcarrier: received / reference averaged over the capture,
   19-point moving average across subcarriers (shrinking at the edges), with the common phase
   of each symbol removed. Reference: the known symbols if given (data-aided), else hard
   decisions (decision-directed). The equalizer (channel and per-symbol phases) is estimated at
   the low window position and applied unchanged at the high one: once the window-start phase
   ramp is undone both positions see the same channel, and the least-squares channel fitted at
   one position can only give an equal or larger error at the other, so the reported maximum is
   if anything conservative (deviation from Annex B, which re-estimates per position; it halves
   the equalizer cost).
4. EVM = sqrt(sum |Z - I|^2 / sum |I|^2) per slot (14 symbols) and over all REs of the capture, at
   both window positions; the larger overall RMS is reported, and per slot the larger of the two.

The frequency error is refined from the per-symbol common phase: freq_error = CP estimate + slope
of the common phase (over the capture) / 2 pi.

Decision-directed EVM is biased low once decision errors appear. It is trusted up to
:data:`DECISION_DIRECTED_LIMIT_PCT` (QPSK 20 %, 16QAM 12 %, 64QAM 6 %, 256QAM 3 %, where the tests
prove it within max(0.1 point, 3 %)); above, ``reliable`` is False.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from fivegbench.nr.evm_window import evm_window
from fivegbench.nr.modulation import normalise_name
from fivegbench.nr.numerology import SYMBOLS_PER_SLOT
from fivegbench.reduce.ofdm_sync import (
    Equalised,
    demodulate,
    equalise,
    fft_size_for,
    phase_slope_hz,
    require_full_allocation,
    synchronise,
    validated_iq,
)

__all__ = ["DECISION_DIRECTED_LIMIT_PCT", "MIN_CP_CORRELATION", "EvmResult", "evm"]

DECISION_DIRECTED_LIMIT_PCT: dict[str, float] = {"QPSK": 20.0, "16QAM": 12.0, "64QAM": 6.0, "256QAM": 3.0}
"""Largest EVM (%) at which the decision-directed estimate is proven accurate (see module docstring)."""

MIN_CP_CORRELATION = 0.5
"""Below this normalised CP correlation the timing is not trusted (``reliable`` False)."""


@dataclass(frozen=True)
class EvmResult:
    """EVM of one NR carrier capture.

    Attributes
    ----------
    evm_rms_pct : RMS EVM over all REs of the complete symbols, %, the larger of the two window
        positions.
    evm_per_slot_pct : EVM of every complete slot (14 symbols) in the capture, %, each the larger of
        the two window positions; empty if no slot is complete.
    evm_low_pct, evm_high_pct : RMS EVM at the window positions Delta_c - W/2 and Delta_c + W/2, %.
    freq_error_hz : carrier frequency error (measured minus nominal 0), Hz, CP estimate refined
        by the common-phase slope.
    cp_freq_error_hz : the CP-correlation estimate alone, Hz.
    timing_offset_samples : sample index at which the first complete symbol (its CP) starts.
    first_symbol_in_half_subframe : index of that symbol within its 0.5 ms half subframe (0 =
        long CP).
    window_samples : EVM window W, samples.
    fft_size : N, samples.
    modulation : canonical modulation name.
    decision_directed : True if no reference was given (reference = hard decisions).
    reliable : False if decision-directed and ``evm_rms_pct`` exceeds the modulation's
        :data:`DECISION_DIRECTED_LIMIT_PCT`, or if the CP correlation is below
        :data:`MIN_CP_CORRELATION`.
    n_symbols : number of OFDM symbols measured.
    reference_offset_symbols : row of ``reference`` matched to the first measured symbol (None if
        decision-directed).
    cp_correlation : normalised CP correlation at the chosen timing, 0..1.
    """

    evm_rms_pct: float
    evm_per_slot_pct: tuple[float, ...]
    evm_low_pct: float
    evm_high_pct: float
    freq_error_hz: float
    cp_freq_error_hz: float
    timing_offset_samples: int
    first_symbol_in_half_subframe: int
    window_samples: int
    fft_size: int
    modulation: str
    decision_directed: bool
    reliable: bool
    n_symbols: int
    reference_offset_symbols: int | None
    cp_correlation: float

    def values(self) -> dict[str, float]:
        """Named measured values: ``evm`` and ``evm_max_slot`` (%), ``freq_error`` (Hz)."""
        out = {"evm": self.evm_rms_pct, "freq_error": self.freq_error_hz}
        if self.evm_per_slot_pct:
            out["evm_max_slot"] = max(self.evm_per_slot_pct)
        return out


def _align_reference(
    y: npt.NDArray[np.complex64], reference: npt.NDArray[np.complexfloating]
) -> tuple[npt.NDArray[np.int64], int]:
    """Row of the (cyclic) reference matching each captured symbol, and the first one's index:
    the offset maximising the correlation magnitude of the first (up to 4) symbols over (up to)
    256 subcarriers -- ample: the right row correlates ~16x above a random one."""
    probe = min(4, y.shape[0])
    k = min(256, y.shape[1])
    c = np.vecdot(reference[None, :, :k], y[:probe, None, :k].astype(reference.dtype))  # (probe, n_ref)
    score = np.zeros(reference.shape[0])
    for i in range(probe):
        score += np.abs(np.roll(c[i], -i))
    offset = int(np.argmax(score))
    rows = (offset + np.arange(y.shape[0], dtype=np.int64)) % reference.shape[0]
    return rows, offset


def evm(
    iq: npt.ArrayLike,
    sample_rate_hz: float,
    scs_hz: float,
    n_rb: int,
    modulation: str,
    reference: npt.ArrayLike | None = None,
    *,
    bandwidth_hz: float | None = None,
    window_samples: int | None = None,
) -> EvmResult:
    """EVM of a fully allocated single-modulation NR carrier (TS 38.104 Annex B, simplified).

    Parameters
    ----------
    iq : array_like, complex, shape (n,)
        Baseband capture centred on the carrier (any start sample), at ``sample_rate_hz``.
    sample_rate_hz : float
        FFT size x SCS, Hz (e.g. 122.88e6 for a 4096 FFT at 30 kHz).
    scs_hz : float
        Subcarrier spacing, Hz.
    n_rb : int
        Resource blocks; all 12 N_RB subcarriers carry ``modulation``.
    modulation : str
        ``"QPSK"``, ``"16QAM"``, ``"64QAM"`` or ``"256QAM"``.
    reference : array_like, complex, shape (n_ref, 12 N_RB), optional
        Transmitted symbols of consecutive OFDM symbols, row 0 being symbol 0 of a slot; treated
        as cyclic (a test-model frame repeats). The row matching the first captured symbol is found
        by correlation. Absent: decision-directed.
    bandwidth_hz : float, optional
        Channel bandwidth, Hz; only used to pick W for 25 MHz channels.
    window_samples : int, optional
        Override of the EVM window W, samples (0 .. normal CP).

    Returns
    -------
    EvmResult

    Raises
    ------
    ValueError
        For an unsupported modulation, a sample rate that is not N x SCS, 12 N_RB > N, no Annex B
        window for N, a reference of the wrong width, or a capture without two complete symbols.
    """
    key = normalise_name(modulation)
    if key not in DECISION_DIRECTED_LIMIT_PCT:
        raise ValueError(f"EVM supports {', '.join(DECISION_DIRECTED_LIMIT_PCT)}, got {modulation!r}")
    if int(n_rb) != n_rb or n_rb < 1:
        raise ValueError(f"n_rb must be a positive integer, got {n_rb!r}")
    n_rb = int(n_rb)
    x = validated_iq(iq)
    n = fft_size_for(sample_rate_hz, scs_hz)
    n_sc = 12 * n_rb
    if n_sc > n:
        raise ValueError(f"{n_rb} RB ({n_sc} subcarriers) do not fit an FFT of {n}")
    ref_all: npt.NDArray[np.complexfloating] | None = None
    if reference is not None:
        ref_all = np.asarray(reference)
        if ref_all.ndim != 2 or ref_all.shape[1] != n_sc or ref_all.shape[0] < 1:
            raise ValueError(f"reference must have shape (n_symbols, {n_sc}), got {ref_all.shape}")
        if not np.iscomplexobj(ref_all):
            ref_all = ref_all.astype(np.complex128)
    sync = synchronise(x, sample_rate_hz, scs_hz, n, checked=True)
    if sync.n_symbols < 2:
        raise ValueError("the capture must hold at least two complete OFDM symbols")
    w = evm_window(n, scs_hz, bandwidth_hz) if window_samples is None else int(window_samples)
    if not 0 <= w <= sync.cp_normal:
        raise ValueError(f"window_samples must be within the CP (0..{sync.cp_normal}), got {w}")
    advances = ((sync.cp_normal + w + 1) // 2, (sync.cp_normal - w) // 2)  # low, high position

    ref_rows = None
    ref_offset = None
    slot_shift = 0
    results: list[Equalised] = []
    y = np.empty((sync.n_symbols, n_sc), dtype=np.complex64)  # reused for both positions
    for advance in advances:
        demodulate(x, sync, n_rb, advance, sync.cp_freq_error_hz, out=y)
        if not results:
            require_full_allocation(y)
        if ref_all is not None and ref_rows is None:
            ref_rows, ref_offset = _align_reference(y, ref_all)
            slot_shift = (ref_offset - int(sync.seq[0])) % SYMBOLS_PER_SLOT
        # the high position reuses the low position's equalizer (see the module docstring)
        results.append(
            equalise(y, key, ref_all, ref_rows, start=results[0] if results else None, update=False)
        )
    del y

    slot_id = (sync.seq + slot_shift) // SYMBOLS_PER_SLOT
    ids, counts = np.unique(slot_id, return_counts=True)
    complete = ids[counts == SYMBOLS_PER_SLOT]
    if complete.size == 0:  # no whole slot captured (short, or straddling two): the partial ones
        complete = ids
    rms = []
    per_slot = []
    for r in results:
        rms.append(100.0 * math.sqrt(float(r.error_power.sum()) / float(r.ref_power.sum())))
        err = np.bincount(slot_id - slot_id[0], weights=r.error_power)
        pw = np.bincount(slot_id - slot_id[0], weights=r.ref_power)
        sel = complete - slot_id[0]
        per_slot.append(100.0 * np.sqrt(err[sel] / pw[sel]))
    worst_slots = np.maximum(per_slot[0], per_slot[1])
    evm_pct = max(rms)
    freq = sync.cp_freq_error_hz + phase_slope_hz(
        results[0].common_phase, sync.useful_start, sync.sample_rate_hz
    )
    decision_directed = ref_all is None
    reliable = (
        math.isfinite(evm_pct)
        and sync.cp_correlation >= MIN_CP_CORRELATION
        and not (decision_directed and evm_pct > DECISION_DIRECTED_LIMIT_PCT[key])
    )
    return EvmResult(
        evm_rms_pct=evm_pct,
        evm_per_slot_pct=tuple(float(v) for v in worst_slots),
        evm_low_pct=rms[0],
        evm_high_pct=rms[1],
        freq_error_hz=freq,
        cp_freq_error_hz=sync.cp_freq_error_hz,
        timing_offset_samples=sync.timing_offset_samples,
        first_symbol_in_half_subframe=int(sync.l_half[0]),
        window_samples=w,
        fft_size=n,
        modulation=key,
        decision_directed=decision_directed,
        reliable=reliable,
        n_symbols=sync.n_symbols,
        reference_offset_symbols=ref_offset,
        cp_correlation=sync.cp_correlation,
    )
