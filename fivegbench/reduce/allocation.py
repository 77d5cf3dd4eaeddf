"""Which resource elements of a demodulated NR downlink grid an EVM measurement uses.

A PDSCH allocation (:class:`Allocation`) is a set of PRBs over a set of symbols of the slot, with
one modulation, and DM-RS symbols inside it (TS 38.211 §7.4.1.1, configuration type 1: DM-RS on
the even subcarriers of each PRB, CDM group 0). It is either given -- for a test model by
:func:`allocations_for_test_model` -- or found from the grid (:func:`detect_layout`, then
:func:`refine_layout`).

A :class:`Layout` labels every resource element of the captured symbols: 0 not measured (PDCCH,
SSB, empty, UL), 1 DM-RS (the equalizer's reference), 2 + i PDSCH of allocation i.

Energy detection (:func:`detect_layout`), per captured symbol t and PRB r, from the mean power of
its 12 resource elements against a threshold :data:`OCCUPIED_BELOW_PEAK_DB` below the strongest
PRB-symbol of the capture:

* *full*: at least 10 of 12 REs above the threshold; *comb*: 5 or 6 even REs above it and the
  odd ones below it on average (a DM-RS PRB without data in CDM group 1); anything else (e.g.
  the half PRBs at the edges of an SSB, which is not PRB-aligned) is not used. The threshold is
  raised to :data:`ABOVE_NOISE_DB` above the noise floor of the capture's empty symbols.
* Every distinct PRB set of DM-RS (comb) PRBs seeds an allocation; it spans the longest run of
  consecutive symbols around its DM-RS symbols in which those PRBs are all full or all comb. A
  PDCCH symbol (a CORESET narrower than the PDSCH) or an empty symbol ends the run, so PDCCH,
  SSB and empty symbols are excluded.
* Without any DM-RS PRB, every distinct set of full PRBs is one allocation over the symbols that
  have exactly that set.

Constellation statistics (:func:`refine_layout`) then split what energy cannot: the test models
send DM-RS whose odd REs carry data, a PDCCH at the PDSCH's power beside it, and (TM3.2, TM3.3)
QPSK PRBs beside the target PRBs. They use the modulus only (no channel phase needed): the power
of each RE relative to the mean of its PRB in that symbol, and the fraction of REs more than
:data:`OFF_CIRCLE` off 1. QPSK is constant-modulus (~4 % off at 18.5 % EVM, under 10 % in 1 of
10^4 sets of 192 REs); 16QAM and denser have ~45 % off (over 29 % in all but 1 of 10^4). A set
of REs with fewer than :data:`QPSK_OFF_FRACTION` off is QPSK-like.

* Each PRB is QPSK or QAM over all its cells in the allocation.
* A symbol is DM-RS (odd REs carrying data) when, over the QAM PRBs, its even REs are QPSK-like
  and its odd ones are not; it must have :data:`MIN_DMRS_RES` even REs.
* A slot position (symbol index modulo 14) of a PRB, pooled over the captured slots, takes its own
  class when it has :data:`MIN_ISLAND_RES` REs: a PDCCH beside the PDSCH in the first symbols of
  every slot becomes a QPSK allocation of its own (PDCCH cannot be told from a QPSK PDSCH: both
  are reported as QPSK).
* PRBs of one class with the same symbols form one allocation; QPSK ones carry their modulation,
  QAM ones get theirs from decisions (:func:`fivegbench.reduce.evm_equaliser.detect_modulations`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from fivegbench.nr.modulation import normalise_name
from fivegbench.nr.numerology import SYMBOLS_PER_SLOT, mu_from_scs, slots_per_frame
from fivegbench.nr.tdd import parse_pattern
from fivegbench.nr.test_models import dmrs_symbols, model, pdsch_allocations

__all__ = [
    "DMRS",
    "FIRST_ALLOCATION",
    "OCCUPIED_BELOW_PEAK_DB",
    "Allocation",
    "AllocationPattern",
    "Layout",
    "allocation_layout",
    "allocations_for_test_model",
    "detect_layout",
    "prb_ranges",
    "prb_states",
    "refine_layout",
]

OCCUPIED_BELOW_PEAK_DB = 20.0
"""A PRB-symbol is occupied when its mean RE power is within this many dB of the capture's
strongest PRB-symbol (heuristic: boosted/de-boosted test-model PRBs span 9 dB; noise and PA
leakage of a working transmitter sit 30 dB or more below)."""

OFF_CIRCLE = 0.5
"""A resource element is off the unit circle when its power differs from its PRB's mean power in
that symbol by more than this fraction (QPSK at 18.5 % EVM: ~4 % of its REs; 16QAM to 256QAM:
~45 %)."""
QPSK_OFF_FRACTION = 0.2
"""A set of REs is QPSK-like (constant modulus) when fewer than this fraction is off the circle."""
MIN_ISLAND_RES = 96
"""REs a slot position of a PRB needs (pooled over slots) before it may differ from its PRB."""
MIN_DMRS_RES = 24
"""Even REs a symbol needs before its even/odd moduli may mark it as DM-RS."""

ABOVE_NOISE_DB = 6.0
"""A PRB-symbol is occupied only this far above the noise floor (noise alone exceeds 4x its mean
power over 12 REs with probability ~1e-8)."""

DMRS = 1
"""Layout code of a DM-RS resource element."""
FIRST_ALLOCATION = 2
"""Layout code of the PDSCH REs of allocation 0 (allocation i: FIRST_ALLOCATION + i)."""


def prb_ranges(prbs: Iterable[int]) -> tuple[range, ...]:
    """Sorted PRB indices as contiguous ranges (``[0, 1, 2, 5]`` -> ``(range(0, 3), range(5, 6))``)."""
    p = np.unique(np.fromiter(prbs, dtype=np.int64))
    if p.size == 0:
        return ()
    breaks = np.flatnonzero(np.diff(p) > 1)
    starts = np.r_[p[0], p[breaks + 1]]
    stops = np.r_[p[breaks], p[-1]] + 1
    return tuple(range(int(a), int(b)) for a, b in zip(starts, stops, strict=True))


@dataclass(frozen=True)
class Allocation:
    """One PDSCH allocation of a slot.

    Attributes
    ----------
    prbs : PRB ranges (a ``range`` or a sequence of them), indices 0 .. N_RB - 1 of the carrier.
    symbols : symbols of the slot (0 .. 13) carrying the PDSCH, DM-RS symbols included; for a
        detected allocation, the captured symbols (0 = first complete symbol of the capture).
    modulation : ``"QPSK"``, ``"16QAM"``, ``"64QAM"``, ``"256QAM"``; None: detect from the data.
    dmrs_symbols : the DM-RS symbols among ``symbols`` (type 1, CDM group 0: even subcarriers).
    dmrs_cdm_groups_without_data : 1: the odd subcarriers of DM-RS symbols carry PDSCH data; 2:
        they are empty (TS 38.214 §5.1.6.2).
    slots : slots of the pattern (0 .. ``frame_slots`` - 1 of :func:`allocation_layout`) that carry
        the allocation, for TDD patterns; None: every slot.
    """

    prbs: tuple[range, ...]  # a single range is accepted too (normalised below)
    symbols: tuple[int, ...]
    modulation: str | None
    dmrs_symbols: tuple[int, ...] = ()
    dmrs_cdm_groups_without_data: int = 1
    slots: tuple[int, ...] | None = field(default=None)

    def __post_init__(self) -> None:
        prbs = (self.prbs,) if isinstance(self.prbs, range) else tuple(self.prbs)
        if not prbs or not all(isinstance(r, range) and r.step == 1 and len(r) > 0 for r in prbs):
            raise ValueError(f"prbs must be non-empty ranges of step 1, got {self.prbs!r}")
        object.__setattr__(self, "prbs", prbs)
        object.__setattr__(self, "symbols", tuple(int(s) for s in self.symbols))
        object.__setattr__(self, "dmrs_symbols", tuple(int(s) for s in self.dmrs_symbols))
        if not set(self.dmrs_symbols) <= set(self.symbols):
            raise ValueError("dmrs_symbols must be among the allocation's symbols")
        if self.dmrs_cdm_groups_without_data not in (1, 2):
            raise ValueError("dmrs_cdm_groups_without_data must be 1 or 2")
        if self.modulation is not None:
            object.__setattr__(self, "modulation", normalise_name(self.modulation))
        if self.slots is not None:
            object.__setattr__(self, "slots", tuple(int(s) for s in self.slots))

    @property
    def prb_list(self) -> npt.NDArray[np.int64]:
        return np.concatenate([np.arange(r.start, r.stop) for r in self.prbs]).astype(np.int64)

    def describe(self) -> dict[str, object]:
        """JSON-ready: PRB ranges as [first, last] pairs (inclusive), symbols, DM-RS symbols, modulation."""
        return {
            "prbs": [[r.start, r.stop - 1] for r in self.prbs],
            "n_prb": int(sum(len(r) for r in self.prbs)),
            "symbols": list(self.symbols),
            "dmrs_symbols": list(self.dmrs_symbols),
            "modulation": self.modulation,
        }


@dataclass(frozen=True)
class AllocationPattern:
    """The PDSCH allocations of a repeating slot pattern, as :func:`fivegbench.reduce.evm.evm` takes
    them (``allocation=pattern.allocations, frame_slots=pattern.frame_slots``).

    Attributes
    ----------
    allocations : the allocations; their ``slots`` count from 0 to ``frame_slots`` - 1.
    frame_slots : slots after which the pattern repeats.
    """

    allocations: tuple[Allocation, ...]
    frame_slots: int


def allocations_for_test_model(
    name: str,
    n_rb: int,
    scs_hz: float,
    tdd_pattern: str | None = None,
    special_slot: str | None = None,
    *,
    rntis: Iterable[int] | None = None,
) -> AllocationPattern:
    """The PDSCH allocations EVM measures in test model ``name`` (TS 38.141-1 §4.9.2), from the
    test-model declarations of :mod:`fivegbench.nr.test_models` and the cell's TDD pattern.

    Every PDSCH of the model's EVM RNTIs (``TestModel.evm_rntis``, or ``rntis``) in every slot with
    downlink symbols: its PRBs, its symbols from its first one to the last DL symbol of the slot,
    its DM-RS symbols (:func:`fivegbench.nr.test_models.dmrs_symbols`; DM-RS on the even
    subcarriers, PDSCH on the odd ones). The pattern period is the shortest whole number of slots
    after which the allocations repeat within the model's duration (the TDD period for TM3.x; the
    whole model for TM2/TM2a, whose PRB moves with the slot number).

    Parameters
    ----------
    name : test model, e.g. ``"NR-FR1-TM3.1a"``.
    n_rb : carrier size N_RB.
    scs_hz : subcarrier spacing, Hz.
    tdd_pattern, special_slot : the cell's slot pattern (``"DDDSU"``) and special-slot split
        (``"10:2:2"``); None for FDD.
    rntis : the RNTIs to measure instead of the model's EVM RNTIs.

    Raises ValueError for an unknown model, a bad pattern, or RNTIs the model does not send.
    """
    m = model(name)
    pattern = parse_pattern(tdd_pattern, special_slot)
    mu = mu_from_scs(scs_hz)
    per_frame = slots_per_frame(mu)
    n_slots = round(m.duration_s(pattern.is_tdd) / (1e-3 / 2**mu))
    wanted = set(m.evm_rntis if rntis is None else rntis)
    per_slot: list[tuple[tuple[tuple[range, ...], tuple[int, ...], str, tuple[int, ...]], ...]] = []
    for slot in range(n_slots):
        ld = pattern.dl_symbols(slot)
        dmrs = dmrs_symbols(ld)
        per_slot.append(
            tuple(
                (prb_ranges(a.prbs), tuple(range(a.first_symbol, ld)), a.modulation,
                 tuple(s for s in dmrs if s >= a.first_symbol))
                for a in pdsch_allocations(m, n_rb, slot % per_frame)
                if a.rnti in wanted and a.first_symbol < ld
            )
        )  # fmt: skip
    if not any(per_slot):
        raise ValueError(f"{m.name} sends no PDSCH with RNTI {sorted(wanted)} in this pattern")
    period = next(
        p
        for p in range(1, n_slots + 1)
        if n_slots % p == 0 and all(per_slot[s] == per_slot[s % p] for s in range(n_slots))
    )
    slots_of: dict[tuple[tuple[range, ...], tuple[int, ...], str, tuple[int, ...]], list[int]] = {}
    for slot in range(period):
        for entry in per_slot[slot]:
            slots_of.setdefault(entry, []).append(slot)
    allocations = tuple(
        Allocation(prbs, symbols, modulation, dmrs, 1, None if len(slots) == period else tuple(slots))
        for (prbs, symbols, modulation, dmrs), slots in slots_of.items()
    )
    return AllocationPattern(allocations, period)


@dataclass(frozen=True)
class Layout:
    """Resource-element labels of the captured symbols.

    Attributes
    ----------
    codes : int8 array (T, 12 N_RB): 0 not measured, 1 DM-RS, 2 + i PDSCH of ``allocations[i]``.
    allocations : the allocations (for a detected layout, symbols are capture symbol indices).
    first_row : pattern row (symbol of the pattern) of the first captured symbol; 0 if detected.
    """

    codes: npt.NDArray[np.int8]
    allocations: tuple[Allocation, ...]
    first_row: int = 0

    @property
    def has_dmrs(self) -> bool:
        return bool(np.any(self.codes == DMRS))


def _pattern(allocations: Sequence[Allocation], n_rb: int, frame_slots: int) -> npt.NDArray[np.int8]:
    """Layout codes of one pattern period, shape (14 frame_slots, 12 N_RB)."""
    codes = np.zeros((SYMBOLS_PER_SLOT * frame_slots, 12 * n_rb), dtype=np.int8)
    for i, a in enumerate(allocations):
        prbs = a.prb_list
        if prbs.min() < 0 or prbs.max() >= n_rb:
            raise ValueError(f"allocation PRBs {a.describe()['prbs']} exceed the carrier's {n_rb} PRB")
        if min(a.symbols, default=0) < 0 or max(a.symbols, default=0) >= SYMBOLS_PER_SLOT:
            raise ValueError(f"allocation symbols must be 0..13, got {a.symbols}")
        sc = (prbs[:, None] * 12 + np.arange(12)[None, :]).ravel()
        even, odd = sc[sc % 2 == 0], sc[sc % 2 == 1]
        slots = range(frame_slots) if a.slots is None else a.slots
        for s in slots:
            if not 0 <= s < frame_slots:
                raise ValueError(f"allocation slot {s} is outside the {frame_slots}-slot pattern")
            for sym in a.symbols:
                row = s * SYMBOLS_PER_SLOT + sym
                if sym in a.dmrs_symbols:
                    codes[row, even] = DMRS
                    if a.dmrs_cdm_groups_without_data == 1:
                        codes[row, odd] = FIRST_ALLOCATION + i
                else:
                    codes[row, sc] = FIRST_ALLOCATION + i
    return codes


def prb_states(y: npt.NDArray[np.complexfloating]) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """(full, comb) booleans per (symbol, PRB) of the grid ``y`` (T, 12 N_RB), see the module docstring.

    The threshold is :data:`OCCUPIED_BELOW_PEAK_DB` below the strongest PRB-symbol, raised to
    :data:`ABOVE_NOISE_DB` above the noise floor (the median PRB power of the symbols 20 dB below
    the strongest symbol) when the capture has such symbols: noise of a high-EVM signal reaches
    into its TDD gaps, and a chance 12-RE average of it must not pass for a PRB."""
    t, k = y.shape
    f = np.ascontiguousarray(y, dtype=np.complex64).view(np.float32)
    sq = np.square(f).reshape(t, k // 12, 6, 2, 2)
    pw = sq[..., 0] + sq[..., 1]  # (T, PRB, 6 RE pairs, even/odd RE)
    p, q = pw[..., 0], pw[..., 1]
    even = p.sum(axis=2)
    odd = q.sum(axis=2)
    cell = (even + odd) / 12.0
    peak = float(cell.max())
    if not np.isfinite(peak) or peak <= 0:
        return np.zeros((t, k // 12), bool), np.zeros((t, k // 12), bool)
    level = peak * 10 ** (-OCCUPIED_BELOW_PEAK_DB / 10)
    per_symbol = cell.sum(axis=1)
    quiet = per_symbol < per_symbol.max() * 10 ** (-OCCUPIED_BELOW_PEAK_DB / 10)
    if quiet.any():
        level = max(level, float(np.median(cell[quiet])) * 10 ** (ABOVE_NOISE_DB / 10))
    # per RE against a lower threshold (QAM inner points sit 7-10 dB below the mean power)
    re_level = level * 0.1
    n_even = np.count_nonzero(p > re_level, axis=2)
    n_odd = np.count_nonzero(q > re_level, axis=2)
    full = (cell > level) & (n_even + n_odd >= 10)
    comb = (even > 6 * level) & (n_even >= 5) & (odd < 6 * level)
    return full, comb


def occupied_symbols(states: tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]) -> npt.NDArray[np.bool_]:
    """True for captured symbols with at least one full or comb PRB (``states`` from :func:`prb_states`)."""
    full, comb = states
    return np.asarray((full | comb).any(axis=1))


def allocation_layout(
    allocations: Sequence[Allocation],
    n_rb: int,
    n_symbols: int,
    first_row: int,
    frame_slots: int = 1,
    occupied: npt.NDArray[np.bool_] | None = None,
) -> Layout:
    """Layout of known allocations: captured symbol t is row (first_row + t) of the pattern
    (repeating every ``frame_slots`` slots); rows of captured symbols that ``occupied`` marks empty
    are not measured."""
    if not allocations:
        raise ValueError("no allocation given")
    pattern = _pattern(allocations, n_rb, frame_slots)
    rows = (first_row + np.arange(n_symbols)) % pattern.shape[0]
    codes = pattern[rows]
    if occupied is not None:
        codes[~occupied] = 0
    return Layout(codes=codes, allocations=tuple(allocations), first_row=int(first_row))


def align_pattern(
    allocations: Sequence[Allocation],
    n_rb: int,
    states: tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]],
    candidates: npt.NDArray[np.int64],
    frame_slots: int = 1,
) -> int:
    """The pattern row of the first captured symbol, among ``candidates``, whose occupied PRBs agree
    best with the energy (``states`` from :func:`prb_states`; first candidate on a tie)."""
    if candidates.size == 1:
        return int(candidates[0])
    pattern = _pattern(allocations, n_rb, frame_slots)
    used = (pattern.reshape(pattern.shape[0], n_rb, 12) != 0).any(axis=2)
    full, comb = states
    occ = full | comb
    rows = (candidates[:, None] + np.arange(occ.shape[0])[None, :]) % pattern.shape[0]
    score = (used[rows] == occ[None, :, :]).sum(axis=(1, 2))
    return int(candidates[int(np.argmax(score))])


def detect_layout(y: npt.NDArray[np.complexfloating]) -> Layout:
    """Allocations found from the energy of the demodulated grid ``y`` (T, 12 N_RB), modulation
    left None (see the module docstring). Raises ValueError when nothing is occupied."""
    full, comb = prb_states(y)
    t_count, n_rb = full.shape
    codes = np.zeros((t_count, 12 * n_rb), dtype=np.int8)
    allocations: list[Allocation] = []
    seeds = [t for t in range(t_count) if comb[t].any()]
    done: set[int] = set()
    if seeds:
        sets: dict[tuple[int, ...], list[int]] = {}
        for t in seeds:
            sets.setdefault(tuple(np.flatnonzero(comb[t]).tolist()), []).append(t)
        for prbs, dmrs in sets.items():
            p = np.asarray(prbs)
            member: npt.NDArray[np.bool_] = np.asarray(full[:, p].all(axis=1) | comb[:, p].all(axis=1))
            symbols: set[int] = set()
            for t in dmrs:
                lo = hi = t
                while lo > 0 and member[lo - 1]:
                    lo -= 1
                while hi < t_count - 1 and member[hi + 1]:
                    hi += 1
                symbols.update(range(lo, hi + 1))
            symbols -= done
            if not symbols:
                continue
            done |= symbols
            i = len(allocations)
            dmrs_in = sorted(s for s in symbols if comb[s, p].all())
            allocations.append(Allocation(prb_ranges(prbs), tuple(sorted(symbols)), None, tuple(dmrs_in), 2))
            sc = (p[:, None] * 12 + np.arange(12)[None, :]).ravel()
            for s in symbols:
                if s in dmrs_in:
                    codes[s, sc[sc % 2 == 0]] = DMRS
                else:
                    codes[s, sc] = FIRST_ALLOCATION + i
    else:
        sets = {}
        for t in range(t_count):
            key = tuple(np.flatnonzero(full[t]).tolist())
            if key:
                sets.setdefault(key, []).append(t)
        for prbs, symbols_list in sets.items():
            p = np.asarray(prbs)
            i = len(allocations)
            allocations.append(Allocation(prb_ranges(prbs), tuple(symbols_list), None))
            sc = (p[:, None] * 12 + np.arange(12)[None, :]).ravel()
            codes[np.ix_(np.asarray(symbols_list), sc)] = FIRST_ALLOCATION + i
    if not allocations:
        raise ValueError("no occupied resource blocks found: the capture carries no PDSCH")
    return Layout(codes=codes, allocations=tuple(allocations))


def _off_circle(y: npt.NDArray[np.complexfloating]) -> npt.NDArray[np.int64]:
    """Per (symbol, PRB, even/odd RE) the count of REs whose power is off the unit circle: more
    than :data:`OFF_CIRCLE` away from the mean power of their PRB in that symbol, shape (T, R, 2)."""
    t, k = y.shape
    g = np.ascontiguousarray(y, dtype=np.complex64).view(np.float32).reshape(t, k // 12, 12, 2)
    p = np.einsum("trkc,trkc->trk", g, g)
    mean = p.mean(axis=2, keepdims=True)
    p /= np.where(mean > 0, mean, 1.0)
    p -= 1.0
    off = np.abs(p) > OFF_CIRCLE
    return off.reshape(t, k // 12, 6, 2).sum(axis=2)


def _qpsk_like(off: npt.NDArray[np.int64] | int, count: npt.NDArray[np.int64] | int) -> npt.NDArray[np.bool_]:
    return np.asarray(off) < QPSK_OFF_FRACTION * np.asarray(count)


def refine_layout(y: npt.NDArray[np.complexfloating], layout: Layout) -> Layout:
    """Split the energy-detected allocations of ``layout`` by the modulus of their constellation
    (see the module docstring): QPSK PRBs from QAM PRBs, DM-RS symbols whose odd REs carry data
    (found on the QAM PRBs), and QPSK islands at a slot position of a PRB (e.g. a PDCCH at the
    PDSCH's power). ``y`` (T, 12 N_RB) only needs the right powers. QPSK allocations come back
    with their modulation set, QAM ones with None (their order is told by decisions)."""
    off = _off_circle(y)
    t_count, n_rb = off.shape[:2]
    cells = layout.codes.reshape(t_count, n_rb, 12)
    pos = np.arange(t_count) % SYMBOLS_PER_SLOT
    out: list[Allocation] = []
    for i, a in enumerate(layout.allocations):
        data = (cells == FIRST_ALLOCATION + i).all(axis=2)  # (T, R) cells wholly of this allocation
        if not data.any():
            continue
        # 1. the class of each PRB over all its cells
        qpsk_prb = _qpsk_like((off * data[:, :, None]).sum(axis=(0, 2)), 12 * data.sum(axis=0))
        # 2. DM-RS whose odd REs carry data: even REs on the circle, odd ones off it (QAM PRBs)
        dmrs = np.zeros(t_count, dtype=bool)
        cdm = a.dmrs_cdm_groups_without_data
        if not a.dmrs_symbols:
            qam_cells = data & ~qpsk_prb[None, :]
            n_half = 6 * qam_cells.sum(axis=1)
            even = (off[:, :, 0] * qam_cells).sum(axis=1)
            odd = (off[:, :, 1] * qam_cells).sum(axis=1)
            dmrs = (n_half >= MIN_DMRS_RES) & _qpsk_like(even, n_half) & ~_qpsk_like(odd, n_half)
            cdm = 1
        # 3. islands: a slot position of a PRB, pooled over the slots (DM-RS REs left out)
        counted = off.sum(axis=2) - np.where(dmrs[:, None], off[:, :, 0], 0)
        n_re = np.where(dmrs, 6, 12)[:, None] * data
        qpsk = np.broadcast_to(qpsk_prb, (t_count, n_rb)).copy()
        for p in range(SYMBOLS_PER_SLOT):
            rows = pos == p
            n_pos = n_re[rows].sum(axis=0)
            decided = n_pos >= MIN_ISLAND_RES
            pooled = _qpsk_like((counted[rows] * data[rows]).sum(axis=0), n_pos)
            qpsk[np.ix_(rows, decided)] = pooled[decided]
        for is_qpsk in (False, True):
            members = data & (qpsk if is_qpsk else ~qpsk)
            by_symbols: dict[tuple[int, ...], list[int]] = {}
            for r in np.flatnonzero(members.any(axis=0)).tolist():
                by_symbols.setdefault(tuple(np.flatnonzero(members[:, r]).tolist()), []).append(r)
            for symbols, prbs in by_symbols.items():
                found = set() if is_qpsk else set(np.flatnonzero(dmrs).tolist()) & set(symbols)
                own = set(a.dmrs_symbols) | found
                out.append(
                    Allocation(
                        prb_ranges(prbs),
                        tuple(sorted(set(symbols) | own)),
                        "QPSK" if is_qpsk else None,
                        tuple(sorted(own)),
                        cdm,
                    )
                )
    if not out:
        raise ValueError("no occupied resource blocks found: the capture carries no PDSCH")
    return Layout(codes=_captured_codes(out, layout.codes.shape), allocations=tuple(out))


def _captured_codes(allocations: Sequence[Allocation], shape: tuple[int, ...]) -> npt.NDArray[np.int8]:
    """Layout codes of allocations whose symbols are captured symbol indices."""
    codes = np.zeros(shape, dtype=np.int8)
    for i, a in enumerate(allocations):
        sc = (a.prb_list[:, None] * 12 + np.arange(12)[None, :]).ravel()
        even, odd = sc[sc % 2 == 0], sc[sc % 2 == 1]
        for s in a.symbols:
            if s in a.dmrs_symbols:
                codes[s, even] = DMRS
                if a.dmrs_cdm_groups_without_data == 1:
                    codes[s, odd] = FIRST_ALLOCATION + i
            else:
                codes[s, sc] = FIRST_ALLOCATION + i
    return codes
