"""The resource grid of an NR-FR1 test model: what every resource element of the frame carries.

Pure numpy. The channels and their positions are those of :mod:`fivegbench.nr.test_models` (which
also lists what is simplified: no SSB, CSI-RS or PT-RS; random payload). RE values are on the scale
where a 0 dB resource element has unit mean power; subcarrier k = 0 .. 12 N_RB - 1 counts from the
lowest subcarrier of CRB 0 (N_start_grid = 0), so the DM-RS sequence index is k / 2 (PDSCH, type 1)
and (k - 1) / 4 (PDCCH) (TS 38.211 §7.4.1.1.2, §7.4.1.3.2) [U].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from fivegbench.nr.modulation import bits_per_symbol, constellation
from fivegbench.nr.numerology import mu_from_scs, slots_per_frame
from fivegbench.nr.sequence import dmrs_c_init, dmrs_qpsk
from fivegbench.nr.tdd import SYMBOLS_PER_SLOT, TddPattern
from fivegbench.nr.test_models import (
    CELL_ID,
    PDCCH_PRBS,
    PDCCH_SYMBOLS,
    TestModel,
    dmrs_symbols,
    pdsch_allocations,
)

__all__ = ["EMPTY", "PDCCH", "PDCCH_DMRS", "PDSCH", "PDSCH_DMRS", "ResourceGrid", "build_grid"]

EMPTY, PDSCH, PDSCH_DMRS, PDCCH, PDCCH_DMRS = 0, 1, 2, 3, 4
"""Codes of :attr:`ResourceGrid.kind`."""

_PDCCH_DMRS_SUBCARRIERS = (1, 5, 9)  # in every REG, TS 38.211 §7.4.1.3.2


@dataclass(frozen=True)
class ResourceGrid:
    """Every resource element of a frame (all arrays read-only, shape (n_symbols, 12 N_RB)).

    Attributes
    ----------
    values : complex64 RE values (0 dB RE = unit mean power), the known transmitted symbols.
    kind : int8, EMPTY, PDSCH, PDSCH_DMRS, PDCCH or PDCCH_DMRS.
    rnti : int8, the PDSCH RNTI of PDSCH and PDSCH DM-RS REs, else -1.
    bits : int8, bits per symbol of the RE's modulation (2, 4, 6, 8), 0 where empty.
    power_db : float32, RE power offset of the channel, dB (0 where empty).
    dl_symbols : bool (n_symbols,): the symbol is downlink (TDD guard and UL symbols are False).
    n_rb : carrier size N_RB.
    """

    values: npt.NDArray[np.complex64]
    kind: npt.NDArray[np.int8]
    rnti: npt.NDArray[np.int8]
    bits: npt.NDArray[np.int8]
    power_db: npt.NDArray[np.float32]
    dl_symbols: npt.NDArray[np.bool_]
    n_rb: int


def build_grid(
    m: TestModel, n_rb: int, scs_hz: float, pattern: TddPattern, n_slots: int, seed: int
) -> ResourceGrid:
    """The resource grid of test model ``m`` over ``n_slots`` slots from slot 0 of a frame.

    Parameters
    ----------
    m : the test model.
    n_rb : carrier size N_RB.
    scs_hz : subcarrier spacing, Hz (slot numbering within the frame).
    pattern : TDD slot pattern (FDD: all slots downlink).
    n_slots : number of slots.
    seed : seed of the random PDSCH/PDCCH payload.
    """
    n_sc = 12 * n_rb
    per_frame = slots_per_frame(mu_from_scs(scs_hz))
    shape = (n_slots * SYMBOLS_PER_SLOT, n_sc)
    kind = np.zeros(shape, dtype=np.int8)
    rnti = np.full(shape, -1, dtype=np.int8)
    bits = np.zeros(shape, dtype=np.int8)
    power_db = np.zeros(shape, dtype=np.float32)
    directions = pattern.symbol_directions(n_slots)
    dl = directions.reshape(-1) == 0
    pdsch_dmrs_at: list[tuple[int, int]] = []  # (slot, symbol in slot)
    pdcch_dmrs_at: list[tuple[int, int]] = []
    even = np.zeros(n_sc, dtype=bool)
    even[0::2] = True
    for slot in range(n_slots):
        ld = pattern.dl_symbols(slot)
        if ld == 0:
            continue
        base = slot * SYMBOLS_PER_SLOT
        dmrs = dmrs_symbols(ld)
        for a in pdsch_allocations(m, n_rb, slot % per_frame):
            cols = (12 * np.asarray(a.prbs)[:, None] + np.arange(12)).reshape(-1)
            for sym in range(a.first_symbol, ld):
                row = base + sym
                if sym in dmrs:
                    is_rs = even[cols]
                    kind[row, cols] = np.where(is_rs, PDSCH_DMRS, PDSCH)
                else:
                    kind[row, cols] = PDSCH
                rnti[row, cols] = a.rnti
                bits[row, cols] = bits_per_symbol(a.modulation)
                power_db[row, cols] = a.power_db
            pdsch_dmrs_at.extend((slot, s) for s in dmrs if s >= a.first_symbol)
        cols = (12 * np.asarray(PDCCH_PRBS)[:, None] + np.arange(12)).reshape(-1)
        rs = np.isin(cols % 12, _PDCCH_DMRS_SUBCARRIERS)
        for sym in PDCCH_SYMBOLS[: min(len(PDCCH_SYMBOLS), ld)]:
            kind[base + sym, cols] = np.where(rs, PDCCH_DMRS, PDCCH)
            bits[base + sym, cols] = 2
            power_db[base + sym, cols] = 0.0
            pdcch_dmrs_at.append((slot, sym))

    values = np.zeros(shape, dtype=np.complex64)
    rng = np.random.default_rng(seed)
    data = (kind == PDSCH) | (kind == PDCCH)
    for name in ("QPSK", "16QAM", "64QAM", "256QAM"):
        sel = data & (bits == bits_per_symbol(name))
        count = int(sel.sum())
        if count:
            points = constellation(name).astype(np.complex64)
            values[sel] = points[rng.integers(0, points.size, count)]
    _fill_dmrs(values, kind, pdsch_dmrs_at, PDSCH_DMRS, n_sc // 2, lambda k: k // 2, per_frame)
    _fill_dmrs(
        values, kind, pdcch_dmrs_at, PDCCH_DMRS, 3 * len(PDCCH_PRBS), lambda k: (k - 1) // 4, per_frame
    )
    values *= (10 ** (power_db / 20)).astype(np.float32)
    for arr in (values, kind, rnti, bits, power_db, dl):
        arr.setflags(write=False)
    return ResourceGrid(values, kind, rnti, bits, power_db, dl, n_rb)


def _fill_dmrs(values, kind, where, code, length, index, per_frame) -> None:
    """Write the DM-RS sequence of each (slot, symbol) in ``where`` into the REs of kind ``code``;
    the sequence follows the slot number within its frame."""
    if not where:
        return
    pairs = sorted(set(where))
    slots = np.array([p[0] for p in pairs])
    syms = np.array([p[1] for p in pairs])
    seqs = dmrs_qpsk(dmrs_c_init(slots % per_frame, syms, CELL_ID), length)
    for (slot, sym), seq in zip(pairs, seqs, strict=True):
        row = slot * SYMBOLS_PER_SLOT + sym
        k = np.flatnonzero(kind[row] == code)
        values[row, k] = seq[index(k)]
