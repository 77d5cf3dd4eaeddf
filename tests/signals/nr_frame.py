"""NR-FR1-TM3.x-like downlink frames with PDCCH, PDSCH DM-RS and TDD gaps, whose EVM per
modulation is known by construction. Written from TS 38.211 directly; nothing is imported from
``fivegbench`` (the numerology and QAM mapping come from tests/signals/nr_ofdm.py).

Slot content (every DL slot; the special slot carries symbols 0-5 only, UL slots nothing):

* PDCCH: symbols 0-1 on PRBs 0-5 (a 6-PRB CORESET), QPSK at +2 dB.
* PDSCH: symbols 2-13, in one or two allocations (PRB ranges, modulation, power), DM-RS type 1
  on symbols 2 and 11 (``dmrs_symbols``): QPSK on the even subcarriers; the odd ones carry PDSCH
  (``cdm_groups_without_data`` 1) or nothing (2, the DM-RS then 3 dB above the PDSCH, TS 38.214
  Table 4.1-1).

Error: additive complex Gaussian per RE, scaled per (symbol, allocation) so that its power is
exactly (evm_pct / 100)^2 times the ideal symbols' power there (the same on DM-RS and PDCCH), so
the EVM over any set of whole symbols is exactly the injected value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tests.signals.nr_ofdm import BITS, cp_samples, qam_symbols

PDCCH_PRBS = range(0, 6)
PDCCH_SYMBOLS = (0, 1)
PDSCH_SYMBOLS = tuple(range(2, 14))
SPECIAL_DL_SYMBOLS = 6  # special slot 6:4:4 (DL:guard:UL)


@dataclass(frozen=True)
class Alloc:
    prbs: range
    modulation: str
    power_db: float = 0.0
    evm_pct: float = 0.0


@dataclass(frozen=True)
class NrFrame:
    iq: np.ndarray
    sample_rate_hz: float
    scs_hz: float
    n_rb: int
    fft_size: int
    reference: np.ndarray  # (n_symbols, 12 N_RB) ideal grid, row 0 = symbol 0 of slot 0
    pattern: str
    allocations: tuple[Alloc, ...]
    dmrs_symbols: tuple[int, ...]
    cdm_groups_without_data: int


def nr_frame(
    *,
    scs_hz: float,
    n_rb: int,
    fft_size: int,
    allocations: tuple[Alloc, ...],
    pattern: str = "DDDSU",
    n_slots: int = 20,
    dmrs_symbols: tuple[int, ...] = (2, 11),
    cdm_groups_without_data: int = 2,
    cfo_hz: float = 0.0,
    start: int = 0,
    gain: float = 0.6,
    phase_rad: float = -0.7,
    seed: int = 0,
) -> NrFrame:
    """Generate ``n_slots`` slots following ``pattern`` (D, S, U per slot, repeated), starting
    ``start`` samples into the stream (a few samples of the last slot are lost at the end)."""
    rng = np.random.default_rng(seed)
    mu = round(math.log2(scs_hz / 15e3))
    n_sc = 12 * n_rb
    n_sym = 14 * n_slots
    ideal = np.zeros((n_sym, n_sc), dtype=np.complex128)
    err = np.zeros_like(ideal)

    def fill(rows: int, cols: np.ndarray, modulation: str, amp: float, evm: float) -> None:
        m = BITS[modulation]
        a = amp * qam_symbols(rng.integers(0, 2, size=(cols.size, m)), modulation)
        e = rng.standard_normal(cols.size) + 1j * rng.standard_normal(cols.size)
        e *= (evm / 100) * np.linalg.norm(a) / np.linalg.norm(e)
        ideal[rows, cols] = a
        err[rows, cols] = e

    dmrs_boost = math.sqrt(2.0) if cdm_groups_without_data == 2 else 1.0
    for slot in range(n_slots):
        kind = pattern[slot % len(pattern)]
        if kind == "U":
            continue
        last = SPECIAL_DL_SYMBOLS if kind == "S" else 14
        for sym in range(last):
            row = slot * 14 + sym
            if sym in PDCCH_SYMBOLS:
                cols = np.arange(PDCCH_PRBS.start * 12, PDCCH_PRBS.stop * 12)
                fill(row, cols, "QPSK", 10 ** (2 / 20), allocations[0].evm_pct)
                continue
            for a in allocations:
                cols = np.arange(a.prbs.start * 12, a.prbs.stop * 12)
                amp = 10 ** (a.power_db / 20)
                if sym in dmrs_symbols:
                    fill(row, cols[0::2], "QPSK", amp * dmrs_boost, a.evm_pct)
                    if cdm_groups_without_data == 1:
                        fill(row, cols[1::2], a.modulation, amp, a.evm_pct)
                else:
                    fill(row, cols, a.modulation, amp, a.evm_pct)
    tx = ideal + err
    cps = [cp_samples(fft_size, scs_hz, r % (14 * 2**mu)) for r in range(n_sym)]
    grid = np.zeros((n_sym, fft_size), dtype=np.complex128)
    grid[:, (np.arange(n_sc) - 6 * n_rb) % fft_size] = tx
    useful = np.fft.ifft(grid, axis=1, norm="ortho")
    stream = np.concatenate(
        [np.concatenate([u[fft_size - cp :], u]) for u, cp in zip(useful, cps, strict=True)]
    )
    x = stream[start:]
    fs = fft_size * scs_hz
    n = np.arange(x.size)
    x = gain * np.exp(1j * (phase_rad + 2 * np.pi * cfo_hz * n / fs)) * x
    return NrFrame(
        iq=x.astype(np.complex64),
        sample_rate_hz=fs,
        scs_hz=scs_hz,
        n_rb=n_rb,
        fft_size=fft_size,
        reference=ideal,
        pattern=pattern,
        allocations=allocations,
        dmrs_symbols=dmrs_symbols,
        cdm_groups_without_data=cdm_groups_without_data,
    )
