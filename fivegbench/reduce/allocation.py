"""Which resource elements of a demodulated NR downlink grid an EVM measurement uses.

A PDSCH allocation (:class:`Allocation`) is a set of PRBs over a set of symbols of the slot, with
one modulation, and DM-RS symbols inside it (TS 38.211 §7.4.1.1, configuration type 1: DM-RS on
the even subcarriers of each PRB, CDM group 0). It is either given (the test model is known) or
found from the energy of the grid (:func:`detect_layout`).

A :class:`Layout` labels every resource element of the captured symbols: 0 not measured (PDCCH,
SSB, empty, UL), 1 DM-RS (the equalizer's reference), 2 + i PDSCH of allocation i.

Energy detection (no allocation given), per captured symbol t and PRB r, from the mean power of
its 12 resource elements against a threshold :data:`OCCUPIED_BELOW_PEAK_DB` below the strongest
PRB-symbol of the capture:

* *full*: at least 10 of 12 REs above the threshold; *comb*: 5 or 6 even REs and no odd one (a
  DM-RS PRB without data in CDM group 1); anything else (e.g. the half PRBs at the edges of an
  SSB, which is not PRB-aligned) is not used.
* Every distinct PRB set of DM-RS (comb) PRBs seeds an allocation; it spans the longest run of
  consecutive symbols around its DM-RS symbols in which those PRBs are all full or all comb. A
  PDCCH symbol (a CORESET narrower than the PDSCH) or an empty symbol ends the run, so PDCCH,
  SSB and empty symbols are excluded.
* Without any DM-RS PRB, every distinct set of full PRBs is one allocation over the symbols that
  have exactly that set (the channel is then estimated from the data; PDCCH cannot be told apart
  from PDSCH there).

DM-RS whose other CDM group carries data looks like data to the energy; give the allocation for
such signals.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from fivegbench.nr.modulation import normalise_name
from fivegbench.nr.numerology import SYMBOLS_PER_SLOT

__all__ = [
    "OCCUPIED_BELOW_PEAK_DB",
    "Allocation",
    "Layout",
    "allocation_layout",
    "detect_layout",
    "prb_ranges",
    "prb_states",
]

OCCUPIED_BELOW_PEAK_DB = 20.0
"""A PRB-symbol is occupied when its mean RE power is within this many dB of the capture's
strongest PRB-symbol (heuristic: boosted/de-boosted test-model PRBs span 9 dB; noise and PA
leakage of a working transmitter sit 30 dB or more below)."""

DMRS = 1
"""Layout code of a DM-RS resource element."""
_FIRST_ALLOCATION = 2


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
                        codes[row, odd] = _FIRST_ALLOCATION + i
                else:
                    codes[row, sc] = _FIRST_ALLOCATION + i
    return codes


def prb_states(y: npt.NDArray[np.complexfloating]) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """(full, comb) booleans per (symbol, PRB) of the grid ``y`` (T, 12 N_RB), see the module docstring."""
    t, k = y.shape
    # (T, PRB, 6 RE pairs, even/odd RE, re/im)
    g = np.ascontiguousarray(y, dtype=np.complex64).view(np.float32).reshape(t, k // 12, 6, 2, 2)
    p = np.einsum("tpjc,tpjc->tpj", g[..., 0, :], g[..., 0, :])  # even REs' power
    q = np.einsum("tpjc,tpjc->tpj", g[..., 1, :], g[..., 1, :])  # odd REs' power
    even = p.sum(axis=2)
    odd = q.sum(axis=2)
    peak = float((even + odd).max()) / 12.0
    if not np.isfinite(peak) or peak <= 0:
        return np.zeros((t, k // 12), bool), np.zeros((t, k // 12), bool)
    level = peak * 10 ** (-OCCUPIED_BELOW_PEAK_DB / 10)
    # per RE against a lower threshold (QAM inner points sit 7-10 dB below the mean power)
    re_level = level * 0.1
    n_even = np.count_nonzero(p > re_level, axis=2)
    n_odd = np.count_nonzero(q > re_level, axis=2)
    full = ((even + odd) > 12 * level) & (n_even + n_odd >= 10)
    comb = (even > 6 * level) & (n_even >= 5) & (n_odd == 0)
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
                    codes[s, sc] = _FIRST_ALLOCATION + i
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
            codes[np.ix_(np.asarray(symbols_list), sc)] = _FIRST_ALLOCATION + i
    if not allocations:
        raise ValueError("no occupied resource blocks found: the capture carries no PDSCH")
    return Layout(codes=codes, allocations=tuple(allocations))
