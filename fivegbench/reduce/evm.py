"""NR downlink EVM from a complex baseband capture, after TS 38.104 Annex B (FR1), simplified.

Capture model: one NR carrier, normal CP, sampled at FFT size x SCS, starting at an arbitrary
sample, with an unknown CFO (|CFO| < SCS / 2), gain and phase, and possibly noise. What is
measured is a :class:`~fivegbench.reduce.allocation.Layout` of the resource elements: PDSCH
allocations (PRB ranges x symbols, one modulation each, mixed modulations allowed), their DM-RS
(the equalizer's reference), and everything else (PDCCH, SSB, empty and UL symbols) excluded.
It comes from the caller (for a test model:
:func:`~fivegbench.reduce.allocation.allocations_for_test_model`), from the grid
(``allocation="auto"``: energy, then the constellation's modulus splits QPSK from QAM PRBs, finds
DM-RS whose odd REs carry data and PDCCH beside the PDSCH; the QAM order of each allocation from
decisions), or, by default, one allocation over every PRB and symbol with the given modulation.

Method (the shared OFDM steps are in :mod:`fivegbench.reduce.ofdm_sync`, the equalizer in
:mod:`fivegbench.reduce.evm_equaliser`):

1. Timing and the position in the 0.5 ms long/normal-CP pattern from the CP correlation; CFO from
   its phase over the whole capture.
2. For every complete symbol, the FFT window (N samples) starts at the two Annex B positions
   Delta_c -/+ W/2 around the centre Delta_c of the normal-length CP. W is
   :func:`fivegbench.nr.evm_window.evm_window` [V2]. One batch FFT per window position, each
   exact (the second is not derived from the first by a phase ramp: the CP samples the early
   window reads are not the tail samples the late one reads once a transmit filter or window has
   shaped the symbol edges, which is what the two positions are there to see). The late position
   is transformed on a helper thread (which checked the samples -- NaN, empty, clipped -- during
   step 1) while steps 3 and 4 run on the early one; both windows are copied in one pass, the copy
   and the early FFT split over the two threads by symbols.
3. Layout: given allocations are placed on the captured symbols by the reference's alignment
   (data-aided) or by the best agreement of their occupied PRBs with the energy (a pattern row
   consistent with the CP timing); symbols without energy are never measured.
4. Equalizer from up to 32 symbols spread over the capture, 32 DM-RS symbols and 8 of every
   allocation, estimated at the early window position and applied at both; the common phase per
   symbol and the amplitude of each allocation relative to its DM-RS are re-fitted at each
   position. Reference: the known symbols if given (data-aided), else hard decisions at the early
   position (decision-directed), one reference for both positions as Annex B has one ideal
   signal. The channel comes from DM-RS when every data PRB has some, else from every
   allocation's decisions.
5. EVM = sqrt(sum |Z - I|^2 / sum |I|^2) over the PDSCH REs (DM-RS excluded), per modulation, per
   slot (14 symbols) and over the capture, at both window positions (the symbols split over the
   cores); the larger is reported.

The frequency error is refined from the per-symbol common phase: freq_error = CP estimate + slope
of the common phase (over the capture) / 2 pi.

Decision-directed EVM is biased low once decision errors appear. It is trusted up to
:data:`DECISION_DIRECTED_LIMIT_PCT` (QPSK 20 %, 16QAM 12 %, 64QAM 6 %, 256QAM 3 %, where the tests
prove it within max(0.1 point, 3 %)); above, ``reliable`` is False.

Bad input raises ValueError with one line: a sample rate that is not N x SCS or cannot hold
12 N_RB subcarriers, a capture that is empty (no sample, or no power), holds NaN or infinite
samples, is clipped (many samples at the same full-scale value) or is shorter than one slot,
allocations that do not fit the carrier or carry no power, and a requested modulation that no
allocation carries. No result holds a NaN: a measurement that would is refused the same way.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from fivegbench.nr.evm_window import evm_window
from fivegbench.nr.modulation import normalise_name
from fivegbench.nr.numerology import SYMBOLS_PER_SLOT, mu_from_scs, symbols_per_half_subframe
from fivegbench.reduce.allocation import (
    DMRS,
    FIRST_ALLOCATION,
    OCCUPIED_BELOW_PEAK_DB,
    Allocation,
    Layout,
    align_pattern,
    allocation_layout,
    detect_layout,
    occupied_symbols,
    prb_states,
    refine_layout,
)
from fivegbench.reduce.evm_equaliser import (
    BLOCK_SYMBOLS,
    DECISION_DIRECTED_LIMIT_PCT,
    Group,
    Measurement,
    State,
    Sums,
    column_power,
    estimate,
    prepare,
)
from fivegbench.reduce.ofdm_sync import (
    DEMODULATE_SYMBOLS,
    MAX_THREADS,
    Demodulated,
    Demodulator,
    OfdmSync,
    SharedRows,
    fft_size_for,
    in_parallel,
    phase_slope_hz,
    scaled,
    synchronise,
    validated_iq,
)

__all__ = ["DECISION_DIRECTED_LIMIT_PCT", "MIN_CP_CORRELATION", "Allocation", "EvmResult", "evm"]

MIN_CP_CORRELATION = 0.5
"""Below this normalised CP correlation the timing is not trusted (``reliable`` False)."""

CLIPPED_FRACTION = 1e-3
"""A capture with more than this fraction of its I/Q values at its largest |I| or |Q| (and at least
8 of them) is clipped: an OFDM signal's peak is a single sample."""

CONSTELLATION_SYMBOLS = 4
"""Symbols whose equalised REs :attr:`EvmResult.constellation` samples."""
CONSTELLATION_POINTS = 2000
"""Most points in :attr:`EvmResult.constellation` (a diagram shows no more)."""

_SUBSET_ROWS = 32
_SUBSET_DMRS_ROWS = 32
_SUBSET_GROUP_ROWS = 8


@dataclass(frozen=True)
class EvmResult:
    """EVM of one NR carrier capture.

    Attributes
    ----------
    evm_rms_pct : RMS EVM over all measured PDSCH REs of the complete symbols (of ``modulation``
        when one was asked for), %, the larger of the two window positions.
    evm_by_modulation_pct : RMS EVM per modulation over its allocations, %, the larger of the two
        window positions.
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
    modulation : the measured modulations, canonical names joined by ``","``.
    decision_directed : True if no reference was given (reference = hard decisions).
    reliable : False if decision-directed and a modulation's EVM exceeds its
        :data:`DECISION_DIRECTED_LIMIT_PCT`, or if the CP correlation is below
        :data:`MIN_CP_CORRELATION`.
    n_symbols : number of OFDM symbols with measured REs.
    reference_offset_symbols : row of ``reference`` matched to the first captured symbol (None if
        decision-directed).
    cp_correlation : normalised CP correlation at the chosen timing, 0..1.
    allocations : the allocations measured, modulation filled in (detected or given); for a
        detected layout the symbols are captured symbol indices (0 = first complete symbol).
    used_symbols : captured symbols with measured PDSCH REs.
    constellation : equalised measured REs of the first :data:`CONSTELLATION_SYMBOLS` used symbols
        at the low window position, each modulation scaled to unit mean power, at most
        :data:`CONSTELLATION_POINTS` (evenly thinned): what a constellation diagram shows.
    """

    evm_rms_pct: float
    evm_by_modulation_pct: dict[str, float]
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
    allocations: tuple[Allocation, ...] = ()
    used_symbols: tuple[int, ...] = ()
    constellation: tuple[complex, ...] = ()

    def values(self) -> dict[str, float]:
        """Named measured values: ``evm`` and ``evm_max_slot`` (%), ``freq_error`` (Hz)."""
        out = {"evm": self.evm_rms_pct, "freq_error": self.freq_error_hz}
        if self.evm_per_slot_pct:
            out["evm_max_slot"] = max(self.evm_per_slot_pct)
        return out


def _align_reference(
    grid: Demodulated, reference: npt.NDArray[np.complexfloating]
) -> tuple[npt.NDArray[np.int64], int]:
    """Row of the (cyclic) reference matching each captured symbol, and the first one's index:
    the offset maximising the correlation magnitude of the first (up to 4) occupied symbols over
    (up to) 256 subcarriers -- ample: the right row correlates ~16x above a random one."""
    t_count = grid.raw.shape[0]
    k = min(256, grid.raw.shape[1])
    power = np.abs(grid.raw[:, :k]) ** 2
    occupied = np.flatnonzero(power.sum(axis=1) > 1e-3 * power.sum(axis=1).max())[:4]
    probe = grid.corrected(occupied)[:, :k]
    c = np.vecdot(reference[None, :, :k], probe[:, None, :].astype(reference.dtype))  # (probe, n_ref)
    score = np.zeros(reference.shape[0])
    for i, t in enumerate(occupied.tolist()):
        score += np.abs(np.roll(c[i], -t))
    offset = int(np.argmax(score))
    rows = (offset + np.arange(t_count, dtype=np.int64)) % reference.shape[0]
    return rows, offset


def _rows_of(
    reference: npt.NDArray[np.complexfloating], rows: npt.NDArray[np.int64]
) -> npt.NDArray[np.complex64]:
    """``reference[rows]`` as complex64, cast on the copy of each run of consecutive rows (no
    complex128 temporary)."""
    out = np.empty((rows.size, reference.shape[1]), dtype=np.complex64)
    breaks = np.flatnonzero(np.diff(rows) != 1) + 1
    for part in np.split(np.arange(rows.size), breaks):
        np.copyto(
            out[part[0] : part[-1] + 1], reference[rows[part[0]] : rows[part[-1]] + 1], casting="same_kind"
        )
    return out


def _check_signal(x: npt.NDArray[np.complexfloating]) -> None:
    """NaN or infinite, empty and clipped captures (see :data:`CLIPPED_FRACTION`; an ADC clips I
    and Q). One pass over the samples (a sum: NaN and infinity propagate); the rest on every 16th
    block of 4096 I/Q values unless that shows signs of an empty or clipped capture: a rail held
    by CLIPPED_FRACTION of the values puts ~125 of them there per million samples."""
    f: npt.NDArray[Any] = x.view(np.float32 if x.dtype == np.complex64 else np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        if not math.isfinite(float(f.sum())):
            raise ValueError("iq contains NaN or infinite samples")
    limit = max(8, int(CLIPPED_FRACTION * x.size))
    blocks = f[: f.size // 4096 * 4096].reshape(-1, 4096)[::16]
    if blocks.shape[0] >= 4 and _at_rail(blocks)[0] * 16 < limit / 2 and blocks.any():
        return
    at_rail, peak = _at_rail(f)
    if peak == 0.0:
        raise ValueError("the capture carries no signal (every sample is zero)")
    if at_rail > limit:
        raise ValueError(
            f"the capture is clipped: {at_rail} I/Q values sit at its full-scale value "
            "(reduce the drive or raise the reference level)"
        )


def _at_rail(f: npt.NDArray[Any]) -> tuple[int, float]:
    """(values at the largest |I| or |Q|, that largest value)."""
    hi, lo = float(f.max()), float(f.min())
    peak = max(hi, -lo)
    rail = peak * (1 - 1e-6)
    count = int(np.count_nonzero(f >= rail)) if hi >= rail else 0
    if -lo >= rail:
        count += int(np.count_nonzero(f <= -rail))
    return (0 if peak == 0.0 else count), peak


@dataclass(frozen=True)
class _Estimated:
    """What steps 1-4 find: the timing, W, the grids at the low and high window positions, the
    layout, its equalizer groups and each one's allocation index (-1 DM-RS), the equalizer state,
    the known symbols of every captured symbol (data-aided) and the reference's first row."""

    sync: OfdmSync
    window: int
    grids: tuple[Demodulated, Demodulated]
    layout: Layout
    groups: list[Group]
    index: list[int]
    state: State
    known: npt.NDArray[np.complex64] | None
    reference_offset: int | None


def _estimated(
    x: npt.NDArray[np.complexfloating],
    sample_rate_hz: float,
    scs_hz: float,
    n: int,
    n_rb: int,
    key: str | None,
    ref_all: npt.NDArray[np.complexfloating] | None,
    allocation: Sequence[Allocation] | Literal["auto"] | None,
    frame_slots: int,
    bandwidth_hz: float | None,
    window_samples: int | None,
    pool: Executor,
    checks: list[Future[None]],
) -> _Estimated:
    """Steps 1-4 of the module docstring. The helper thread (``pool``) checks the samples (appended
    to ``checks``) during the synchronisation, demodulates half the symbols of the low position,
    then the high position while the caller estimates on the low one."""
    checks.append(pool.submit(_check_signal, x))
    sync = synchronise(x, sample_rate_hz, scs_hz, n, checked=True)
    if sync.n_symbols < 2:
        raise ValueError("the capture must hold at least two complete OFDM symbols")
    w = evm_window(n, scs_hz, bandwidth_hz) if window_samples is None else int(window_samples)
    if not 0 <= w <= sync.cp_normal:
        raise ValueError(f"window_samples must be within the CP (0..{sync.cp_normal}), got {w}")
    advances = ((sync.cp_normal + w + 1) // 2, (sync.cp_normal - w) // 2)  # low, high position
    t_count = sync.n_symbols
    demodulator = Demodulator(x, sync, n_rb, advances, sync.cp_freq_error_hz)

    in_parallel(partial(demodulator.demodulate, 0), t_count, DEMODULATE_SYMBOLS, pool)
    low = demodulator.grid(0)
    high = SharedRows(t_count, DEMODULATE_SYMBOLS)
    high_position = partial(demodulator.demodulate, 1)
    transformed = pool.submit(high.run, high_position)
    known: Future[npt.NDArray[np.complex64]] | None = None
    try:
        ref_rows = ref_offset = None
        if ref_all is not None:
            ref_rows, ref_offset = _align_reference(low, ref_all)
        if allocation is None:
            layout, groups, index = _full_carrier(low.raw, sync, n_rb, key)
        else:
            layout = _layout(low.raw, sync, n_rb, allocation, frame_slots, ref_offset)
            groups, index = _groups(layout)
        _check_power(low.raw, groups)
        rows = _subset(groups, t_count)
        known_rows = None
        if ref_all is not None and ref_rows is not None:
            known = pool.submit(_rows_of, ref_all, ref_rows)  # every symbol's, on the helper thread
            known_rows = _rows_of(ref_all, ref_rows[rows])
        state, groups = estimate(low.corrected(rows), groups, known_rows, rows, t_count)
        high.run(high_position)  # the blocks the helper has not started
    finally:
        transformed.result()
    return _Estimated(
        sync=sync,
        window=w,
        grids=(low, demodulator.grid(1)),
        layout=layout,
        groups=groups,
        index=index,
        state=state,
        known=None if known is None else known.result(),
        reference_offset=ref_offset,
    )


def _groups(layout: Layout) -> tuple[list[Group], list[int]]:
    """Equalizer groups (DM-RS first when present) and the allocation index of each (-1 DM-RS);
    allocations without any RE in the capture are left out."""
    codes = layout.codes
    groups: list[Group] = []
    index: list[int] = []
    if layout.has_dmrs:
        groups.append(Group(codes == DMRS, "QPSK", dmrs=True))
        index.append(-1)
    for i, a in enumerate(layout.allocations):
        mask = codes == FIRST_ALLOCATION + i
        if not mask.any():
            continue
        groups.append(Group(None if mask.all() else mask, a.modulation))
        index.append(i)
    return groups, index


def _check_power(y: npt.NDArray[np.complex64], groups: list[Group]) -> None:
    """Allocated subcarriers must carry power (a layout that does not match the capture would
    divide by an empty channel)."""
    for g in groups:
        if g.mask is None:
            p = column_power(y[:28]) / 28
        else:
            used = g.mask.any(axis=0)
            p = ((np.abs(y) ** 2) * g.mask).sum(axis=0)[used] / g.mask.sum(axis=0)[used]
        empty = int(np.count_nonzero(p < 1e-3 * float(np.median(p))))
        if empty:
            raise ValueError(
                f"{empty} of {p.size} allocated subcarriers carry no power: the allocation does not "
                "match the capture (give the right one, or let it be found: allocation 'auto')"
            )


def _subset(groups: list[Group], t_count: int) -> npt.NDArray[np.int64]:
    """Up to 48 measured rows spread over the capture, plus up to 32 DM-RS rows and up to 8 rows of
    every allocation (so that each one's modulation can be detected)."""

    def spread(idx: npt.NDArray[np.int64], k: int) -> npt.NDArray[np.int64]:
        return idx[np.unique(np.linspace(0, idx.size - 1, min(idx.size, k)).round().astype(np.int64))]

    every = np.arange(t_count, dtype=np.int64)
    rows = [every if g.mask is None else np.flatnonzero(g.mask.any(axis=1)) for g in groups]
    used = np.unique(np.concatenate(rows))
    picked = [spread(used, _SUBSET_ROWS)]
    dmrs = [r for r, g in zip(rows, groups, strict=True) if g.dmrs]
    if dmrs:
        picked.append(spread(np.unique(np.concatenate(dmrs)), _SUBSET_DMRS_ROWS))
    picked += [
        spread(r, _SUBSET_GROUP_ROWS) for r, g in zip(rows, groups, strict=True) if not g.dmrs and r.size
    ]
    return np.unique(np.concatenate(picked))


def _rms(sums: Sums, sel: list[int]) -> float:
    err = float(sums.error[sel].sum())
    ref = float(sums.reference[sel].sum())
    return 100.0 * math.sqrt(err / ref) if ref > 0 else math.nan


def evm(
    iq: npt.ArrayLike,
    sample_rate_hz: float,
    scs_hz: float,
    n_rb: int,
    modulation: str | None = None,
    reference: npt.ArrayLike | None = None,
    *,
    allocation: Sequence[Allocation] | Literal["auto"] | None = None,
    frame_slots: int = 1,
    bandwidth_hz: float | None = None,
    window_samples: int | None = None,
) -> EvmResult:
    """EVM of an NR downlink carrier over its PDSCH allocations (TS 38.104 Annex B, simplified).

    Parameters
    ----------
    iq : array_like, complex, shape (n,)
        Baseband capture centred on the carrier (any start sample), at ``sample_rate_hz``.
    sample_rate_hz : float
        FFT size x SCS, Hz (e.g. 122.88e6 for a 4096 FFT at 30 kHz).
    scs_hz : float
        Subcarrier spacing, Hz.
    n_rb : int
        Resource blocks of the carrier (12 N_RB subcarriers).
    modulation : str, optional
        ``"QPSK"``, ``"16QAM"``, ``"64QAM"`` or ``"256QAM"``. Without ``allocation``: every PRB of
        every symbol carries it. With ``allocation``: only the allocations of this modulation are
        measured (ValueError if none carries it).
    reference : array_like, complex, shape (n_ref, 12 N_RB), optional
        Transmitted symbols (DM-RS included, zero where nothing is sent) of consecutive OFDM
        symbols, row 0 being symbol 0 of a slot; cyclic (a test-model frame repeats). The row
        matching the first captured symbol is found by correlation. Absent: decision-directed.
    allocation : sequence of Allocation, or ``"auto"``, optional
        The PDSCH allocations of the slot pattern (the test model), or ``"auto"`` to find them
        from the energy of the grid and detect their modulations.
    frame_slots : int
        Slots after which the allocation pattern repeats (for allocations with ``slots``).
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
        One line, for the bad input listed in the module docstring, an unsupported modulation, no
        Annex B window for N, or a reference of the wrong width.
    """
    key = None if modulation is None else normalise_name(modulation)
    if key is not None and key not in DECISION_DIRECTED_LIMIT_PCT:
        raise ValueError(f"EVM supports {', '.join(DECISION_DIRECTED_LIMIT_PCT)}, got {modulation!r}")
    if allocation is None and key is None:
        raise ValueError("EVM needs a modulation, the allocations, or allocation 'auto'")
    if int(n_rb) != n_rb or n_rb < 1:
        raise ValueError(f"n_rb must be a positive integer, got {n_rb!r}")
    n_rb = int(n_rb)
    x = validated_iq(iq, check_finite=False)
    if x.size == 0:
        raise ValueError("the capture is empty (0 samples)")
    n = fft_size_for(sample_rate_hz, scs_hz)
    n_sc = 12 * n_rb
    if n_sc > n:
        raise ValueError(
            f"{n_rb} RB ({n_sc} subcarriers) do not fit an FFT of {n}: a sample rate of "
            f"{sample_rate_hz / 1e6:g} MHz cannot hold the carrier (at least {n_sc * scs_hz / 1e6:g} MHz)"
        )
    slot = round(sample_rate_hz * 1e-3 / 2 ** mu_from_scs(scs_hz))
    if x.size < slot:
        _check_signal(x)  # a NaN or empty capture says so first
        raise ValueError(f"the capture of {x.size} samples is shorter than one slot ({slot} samples)")
    ref_all: npt.NDArray[np.complexfloating] | None = None
    if reference is not None:
        ref_all = np.asarray(reference)
        if ref_all.ndim != 2 or ref_all.shape[1] != n_sc or ref_all.shape[0] < 1:
            raise ValueError(f"reference must have shape (n_symbols, {n_sc}), got {ref_all.shape}")
        if not np.iscomplexobj(ref_all):
            ref_all = ref_all.astype(np.complex128)
    # one helper thread for the whole reduction (the caller's is the other): see ofdm_sync.MAX_THREADS
    with ThreadPoolExecutor(MAX_THREADS - 1) as pool:
        checks: list[Future[None]] = []
        try:
            with np.errstate(all="ignore"):  # a non-finite capture is refused by the checks
                est = _estimated(
                    x, sample_rate_hz, scs_hz, n, n_rb, key, ref_all, allocation, frame_slots, bandwidth_hz,
                    window_samples, pool, checks,
                )  # fmt: skip
        except Exception:
            # the signal's own error (NaN, empty, clipped) is the one to say
            if not checks:
                _check_signal(x)
            for check in checks:
                check.result()
            raise
        checks[0].result()
        sync, layout, groups, index = est.sync, est.layout, est.groups, est.index
        t_count = sync.n_symbols
        allocations = tuple(
            replace(layout.allocations[i], modulation=g.modulation)
            for g, i in zip(groups, index, strict=True)
            if i >= 0
        )
        data = [j for j, g in enumerate(groups) if not g.dmrs]
        found = sorted({str(groups[j].modulation) for j in data}, key=list(DECISION_DIRECTED_LIMIT_PCT).index)
        if key is not None and key not in found:
            raise ValueError(f"no allocation carries {key} (found: {', '.join(found)})")
        measured = [j for j in data if key is None or groups[j].modulation == key]
        measurement = Measurement(prepare(groups, (t_count, n_sc), est.known), est.state, est.grids)
        in_parallel(measurement.add, t_count, BLOCK_SYMBOLS, pool)
    positions = measurement.results()

    rms = [_rms(p, measured) for p in positions]
    by_mod = {
        m: max(_rms(p, [j for j in measured if groups[j].modulation == m]) for p in positions)
        for m in found
        if key is None or m == key
    }
    rows_used = np.flatnonzero(positions[0].reference[measured].sum(axis=0) > 0)
    slot_shift = (layout.first_row - int(sync.seq[0])) % SYMBOLS_PER_SLOT
    slot_id = (sync.seq + slot_shift) // SYMBOLS_PER_SLOT
    ids, counts = np.unique(slot_id, return_counts=True)
    complete = ids[counts == SYMBOLS_PER_SLOT]
    if complete.size == 0:  # no whole slot captured (short, or straddling two): the partial ones
        complete = ids
    per_slot = []
    for p in positions:
        err = np.bincount(slot_id - slot_id[0], weights=p.error[measured].sum(axis=0))
        pw = np.bincount(slot_id - slot_id[0], weights=p.reference[measured].sum(axis=0))
        sel = complete - slot_id[0]
        sel = sel[pw[sel] > 0]
        per_slot.append(100.0 * np.sqrt(err[sel] / pw[sel]))
    worst_slots = np.maximum(per_slot[0], per_slot[1])
    evm_pct = max(rms)
    freq = sync.cp_freq_error_hz + phase_slope_hz(
        positions[0].theta[rows_used], sync.useful_start[rows_used], sync.sample_rate_hz
    )
    figures = (evm_pct, *rms, *by_mod.values(), *worst_slots.tolist(), freq)
    if rows_used.size == 0 or not all(math.isfinite(v) for v in figures):
        raise ValueError("no measurable resource element: the allocation carries no power in this capture")
    decision_directed = ref_all is None
    reliable = sync.cp_correlation >= MIN_CP_CORRELATION and not (
        decision_directed and any(v > DECISION_DIRECTED_LIMIT_PCT[m] for m, v in by_mod.items())
    )
    return EvmResult(
        evm_rms_pct=evm_pct,
        evm_by_modulation_pct=by_mod,
        evm_per_slot_pct=tuple(float(v) for v in worst_slots),
        evm_low_pct=rms[0],
        evm_high_pct=rms[1],
        freq_error_hz=freq,
        cp_freq_error_hz=sync.cp_freq_error_hz,
        timing_offset_samples=sync.timing_offset_samples,
        first_symbol_in_half_subframe=int(sync.l_half[0]),
        window_samples=est.window,
        fft_size=n,
        modulation=",".join(by_mod),
        decision_directed=decision_directed,
        reliable=reliable,
        n_symbols=int(rows_used.size),
        reference_offset_symbols=est.reference_offset,
        cp_correlation=sync.cp_correlation,
        allocations=allocations,
        used_symbols=tuple(int(t) for t in rows_used),
        constellation=_constellation(est.grids[0], est.state, groups, measured, rows_used),
    )


def _constellation(
    grid: Demodulated, state: State, groups: list[Group], measured: list[int], rows: npt.NDArray[np.int64]
) -> tuple[complex, ...]:
    """The equalised REs of the measured groups on the first :data:`CONSTELLATION_SYMBOLS` of
    ``rows``, each group at unit mean power, thinned to :data:`CONSTELLATION_POINTS`."""
    rows = rows[:CONSTELLATION_SYMBOLS]
    z = scaled(
        grid.raw[rows],
        (grid.subcarrier_phase / state.channel).astype(np.complex64),
        (grid.symbol_phase[rows] * np.exp(-1j * state.theta[rows])).astype(np.complex64),
    )
    parts = []
    for g in measured:
        mask = groups[g].mask
        points = (z if mask is None else z[mask[rows]]).ravel()
        power = float(np.mean(np.abs(points) ** 2)) if points.size else 0.0
        if power > 0:
            parts.append(points / np.float32(math.sqrt(power)))
    if not parts:
        return ()
    every = np.concatenate(parts)
    step = max(1, math.ceil(every.size / CONSTELLATION_POINTS))
    return tuple(complex(v) for v in every[::step])


def _full_carrier(
    y: npt.NDArray[np.complex64], sync: OfdmSync, n_rb: int, key: str | None
) -> tuple[Layout, list[Group], list[int]]:
    """Layout, groups and allocation index of one allocation over every PRB of every symbol that
    carries power (a symbol is empty 20 dB below the strongest; every 16th subcarrier tells)."""
    probe = y[:, ::16]
    power = np.vecdot(probe, probe).real
    occupied = power > float(power.max()) * 10 ** (-OCCUPIED_BELOW_PEAK_DB / 10)
    full = Allocation((range(n_rb),), tuple(range(SYMBOLS_PER_SLOT)), key)
    first = int(sync.l_half[0])
    if occupied.all():  # the common case, without a capture-sized array of codes
        codes = np.broadcast_to(np.int8(FIRST_ALLOCATION), y.shape)
        return Layout(codes=codes, allocations=(full,), first_row=first), [Group(None, key)], [0]
    layout = allocation_layout([full], n_rb, y.shape[0], first, 1, occupied)
    return layout, *_groups(layout)


def _layout(
    y: npt.NDArray[np.complex64],
    sync: OfdmSync,
    n_rb: int,
    allocation: Sequence[Allocation] | Literal["auto"],
    frame_slots: int,
    ref_offset: int | None,
) -> Layout:
    """The layout of the captured symbols for given allocations or "auto" (see step 3 of the
    module docstring)."""
    states = prb_states(y)
    if isinstance(allocation, str):
        if allocation != "auto":
            raise ValueError(f"allocation must be a list of Allocation or 'auto', got {allocation!r}")
        return refine_layout(y, detect_layout(y))
    allocations = list(allocation)
    period = SYMBOLS_PER_SLOT * frame_slots
    if ref_offset is not None:
        first_row = ref_offset % period
    else:
        per_half = symbols_per_half_subframe(mu_from_scs(sync.scs_hz))
        candidates = np.arange(int(sync.l_half[0]), period, per_half, dtype=np.int64)
        first_row = align_pattern(allocations, n_rb, states, candidates, frame_slots)
    return allocation_layout(allocations, n_rb, y.shape[0], first_row, frame_slots, occupied_symbols(states))
