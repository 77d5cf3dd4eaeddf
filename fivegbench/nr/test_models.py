"""NR FR1 base-station test models, TS 38.141-1 §4.9.2: one declaration per model.

Source status: the model list and what each one is used for are [V2] (nr-standards.md §1.1). The
parameters below follow MATLAB's parameterisation of TS 38.141-1 v16.7.0 (``hNRReferenceWaveform
Generator.m``, ``getRMConfigs`` / ``getTestModelPDSCHParameters``, repo Slawekbt/ACLR) [V2]: check
the ETSI PDF before citing a number in a trial report. The sub-clause numbers 4.9.2.2.x are [U].

Common to every model (TS 38.141-1 §4.9.2.1/4.9.2.2) [V2]:

* 1 radio frame (10 ms) for FDD, 2 frames (20 ms) for TDD; normal CP; one layer, one antenna port.
* PDCCH: CORESET of 2 symbols (0, 1); one PDCCH of 1 CCE (aggregation level 1, 6 REGs, REG bundle
  2, non-interleaved), i.e. PRBs 0-2 in symbols 0-1, QPSK, 0 dB, with its DM-RS on subcarriers 1, 5
  and 9 of every REG (TS 38.211 §7.4.1.3.2); coding off (random QPSK payload).
* PDSCH: mapping type A, every DL symbol outside the PDCCH; the "target" PDSCH on PRBs 3..N_RB-1
  (symbols 0-13) and a PDSCH with RNTI 2 on PRBs 0-2 from symbol 2 (time-multiplexed with the PDCCH).
  Coding off: random payload.
* PDSCH DM-RS: configuration type 1, single symbol, l0 = 2, ``dmrs-AdditionalPosition`` = pos1
  (symbols 2 and 11 in a full slot; :func:`dmrs_symbols`), one CDM group without data (DM-RS on the
  even subcarriers, PDSCH on the odd ones, DM-RS at the PDSCH's RE power: TS 38.214 Table 4.1-1).
* TDD: the UL-DL pattern of Table 4.9.2.2-1 (:data:`TDD_CONFIGS`); the special slot carries the
  DL channels in its DL symbols.

Simplifications of fivegbench (said here and in the record): no SSB, no CSI-RS, no PT-RS; the PDSCH
and PDCCH payload is seeded random bits, not the PN23 sequence with scrambling of §4.9.2.3; the DM-RS
scrambling uses N_ID = N_cell_ID = 1 and n_SCID = 0 [U]. A special slot with fewer than three DL
symbols carries its PDSCH without DM-RS [U: a real scheduler would not use it].
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = [
    "CELL_ID",
    "FRAME_S_FDD",
    "FRAME_S_TDD",
    "MODELS",
    "PDCCH_PRBS",
    "PDCCH_SYMBOLS",
    "TDD_CONFIGS",
    "TEST_MODELS",
    "PdschAllocation",
    "TestModel",
    "dmrs_symbols",
    "model",
    "pdsch_allocations",
]

FRAME_S_FDD = 10e-3
"""Duration of an FDD test model: one radio frame, s (TS 38.141-1 §4.9.2.1) [V2]."""
FRAME_S_TDD = 20e-3
"""Duration of a TDD test model: two radio frames, s (TS 38.141-1 §4.9.2.1) [V2]."""

CELL_ID = 1
"""N_cell_ID of the (lowest) carrier; early versions used 0, which gives a high PAPR [V2]."""

PDCCH_SYMBOLS = (0, 1)
"""OFDM symbols of the CORESET in every DL slot [V2]."""
PDCCH_PRBS = (0, 1, 2)
"""PRBs of the one 1-CCE PDCCH (6 REGs over 2 symbols) [V2]."""
LOW_PDSCH_RNTI = 2
"""RNTI of the PDSCH on PRBs 0-2 beside the PDCCH (from TS 38.141-1 v15.2.0) [V2]."""
LOW_PDSCH_FIRST_SYMBOL = 2

TDD_CONFIGS: dict[int, tuple[str, str]] = {
    15_000: ("DDDSU", "10:2:2"),
    30_000: ("DDDDDDDSUU", "6:4:4"),
}
"""SCS (Hz) -> (slot pattern, special slot D:G:U) of TS 38.141-1 Table 4.9.2.2-1 [V2]. 60 kHz
(two special slots, 12:4:0 and 0:6:8) does not fit a one-split pattern and is left out."""


@dataclass(frozen=True)
class TestModel:
    """One NR-FR1 test model.

    Attributes
    ----------
    name : e.g. ``"NR-FR1-TM3.1"``.
    clause : where TS 38.141-1 defines it.
    target_modulation : modulation of the target PDSCH (the one EVM is measured on).
    target_share : fraction of the PDSCH PRBs in the target allocation: 1.0 = all of them; below 1,
        that share of PRBs, in whole PRGs, is the target and the rest balances the power. ``None``
        marks the single-PRB models (TM2, TM2a).
    target_power_db : RE power of the target PRBs relative to 0 dB, dB.
    balance_modulation : modulation of the power-balancing PRBs (None when there are none).
    evm_rntis : RNTIs of the PDSCH on which EVM is evaluated.
    used_for : the 38.141-1 test cases that use it.
    """

    __test__ = False  # not a pytest class despite the name

    name: str
    clause: str
    target_modulation: str
    target_share: float | None
    target_power_db: float
    balance_modulation: str | None
    evm_rntis: tuple[int, ...]
    used_for: str

    def duration_s(self, tdd: bool) -> float:
        """Length of the model, s: 10 ms FDD, 20 ms TDD."""
        return FRAME_S_TDD if tdd else FRAME_S_FDD


MODELS: tuple[TestModel, ...] = (
    TestModel("NR-FR1-TM1.1", "TS 38.141-1 §4.9.2.2.1", "QPSK", 1.0, 0.0, None, (0,),
              "output power, OBW, ACLR, OBUE, spurious, TX intermodulation, TAE"),
    TestModel("NR-FR1-TM1.2", "TS 38.141-1 §4.9.2.2.2", "QPSK", 0.4, 3.0, "QPSK", (2,),
              "ACLR and OBUE with boosted PRBs"),
    TestModel("NR-FR1-TM2", "TS 38.141-1 §4.9.2.2.3", "64QAM", None, 0.0, None, (2,),
              "total power dynamic range (lower end), frequency error and 64QAM EVM at minimum power"),
    TestModel("NR-FR1-TM2a", "TS 38.141-1 §4.9.2.2.4", "256QAM", None, 0.0, None, (2,),
              "as TM2 for 256QAM"),
    TestModel("NR-FR1-TM3.1", "TS 38.141-1 §4.9.2.2.5", "64QAM", 1.0, 0.0, None, (0, 2),
              "output power dynamics (upper end), frequency error, 64QAM EVM at maximum power"),
    TestModel("NR-FR1-TM3.1a", "TS 38.141-1 §4.9.2.2.6", "256QAM", 1.0, 0.0, None, (0, 2),
              "frequency error, 256QAM EVM"),
    TestModel("NR-FR1-TM3.2", "TS 38.141-1 §4.9.2.2.7", "16QAM", 0.6, -3.0, "QPSK", (1,),
              "frequency error, 16QAM EVM"),
    TestModel("NR-FR1-TM3.3", "TS 38.141-1 §4.9.2.2.8", "QPSK", 0.5, -6.0, "QPSK", (1,),
              "frequency error, QPSK EVM"),
)  # fmt: skip
"""Every FR1 test model, in the order of TS 38.141-1 §4.9.2.2."""

TEST_MODELS: tuple[str, ...] = tuple(m.name for m in MODELS)
"""The test-model names plans and consoles use."""


def model(name: str) -> TestModel:
    """The declaration of test model ``name`` (case-insensitive).

    Raises ValueError naming the known models for any other name.
    """
    for m in MODELS:
        if m.name.upper() == str(name).strip().upper():
            return m
    raise ValueError(f"unknown test model {name!r} (known: {', '.join(TEST_MODELS)})")


@dataclass(frozen=True)
class PdschAllocation:
    """One PDSCH of a test model in one kind of slot.

    Attributes
    ----------
    rnti : its RNTI (which EVM result it belongs to).
    modulation : ``"QPSK"``, ``"16QAM"``, ``"64QAM"`` or ``"256QAM"``.
    prbs : the PRBs it occupies.
    first_symbol : first OFDM symbol in the slot (it runs to the last DL symbol).
    power_db : RE power relative to 0 dB (a fully allocated 0 dB carrier is the rated power), dB.
    """

    rnti: int
    modulation: str
    prbs: tuple[int, ...]
    first_symbol: int
    power_db: float


def _rbg_size(n_prb: int) -> int:
    """RBG (PRG) size P, TS 38.214 Table 5.1.2.2.1-1, configuration 1 [V2]."""
    for limit, size in ((36, 2), (72, 4), (144, 8)):
        if n_prb <= limit:
            return size
    return 16


def _boosted_prbs(share: float, first: int, n_rb: int) -> tuple[int, ...]:
    """PRBs of the target allocation of a boosted/de-boosted model [V2: MATLAB rule, v16.7.0].

    Whole PRGs of size P every second PRG from the second one, plus the last whole PRG; the first
    PRG is never a target.
    """
    n = n_rb - first
    p = _rbg_size(n)
    n_max = (n + first % p - p) // p
    n_prg = min(math.floor(share * n / p), (n_max - n_max % 2) // 2 + 1)
    last = (n + first % p) // p - 1
    prgs = [1 + 2 * i for i in range(max(n_prg - 1, 0))] + [last]
    base = p * (first // p)
    prbs = sorted({base + p * g + k for g in prgs for k in range(p)})
    return tuple(b for b in prbs if first <= b < n_rb)


def pdsch_allocations(m: TestModel, n_rb: int, slot_in_frame: int = 0) -> tuple[PdschAllocation, ...]:
    """The PDSCHs of test model ``m`` on a carrier of ``n_rb`` PRBs in slot ``slot_in_frame``.

    The single-PRB models (TM2, TM2a) move their PRB with the slot number: PRB 0 in slots 3n,
    PRB floor(N_RB / 2) in slots 3n + 1, PRB N_RB - 1 in slots 3n + 2 [V2]. The others are the same
    in every slot. The balancing PRBs of TM1.2/3.2/3.3 get the power that keeps the total equal to
    the all-0 dB carrier: 10 log10((N - 10^(B/10) n_t) / (N - n_t)) over the N = N_RB - 3 PDSCH PRBs
    with n_t target PRBs at B dB [V2].

    Parameters
    ----------
    m : the test model.
    n_rb : carrier size N_RB (TS 38.104 Table 5.3.2-1), at least 6.
    slot_in_frame : slot number within its 10 ms frame.
    """
    if n_rb < 6:
        raise ValueError(f"a test model needs at least 6 PRBs, got {n_rb}")
    low = tuple(PDCCH_PRBS)
    rest = tuple(range(len(low), n_rb))
    if m.target_share is None:
        prb = (0, n_rb // 2, n_rb - 1)[slot_in_frame % 3]
        return (PdschAllocation(LOW_PDSCH_RNTI, m.target_modulation, (prb,), LOW_PDSCH_FIRST_SYMBOL, 0.0),)
    if m.target_share >= 1.0:
        return (
            PdschAllocation(0, m.target_modulation, rest, 0, 0.0),
            PdschAllocation(LOW_PDSCH_RNTI, m.target_modulation, low, LOW_PDSCH_FIRST_SYMBOL, 0.0),
        )
    assert m.balance_modulation is not None
    target = _boosted_prbs(m.target_share, len(low), n_rb)
    balance = tuple(b for b in rest if b not in set(target))
    n, n_t = len(rest), len(target)
    balance_db = 10 * math.log10((n - 10 ** (m.target_power_db / 10) * n_t) / (n - n_t))
    boosted = m.target_power_db >= 0  # the target's RNTI is 0 when boosted, 1 when de-boosted
    return (
        PdschAllocation(0 if boosted else 1, m.target_modulation, target, 0, m.target_power_db),
        PdschAllocation(1 if boosted else 0, m.balance_modulation, balance, 0, balance_db),
        PdschAllocation(LOW_PDSCH_RNTI, "QPSK", low, LOW_PDSCH_FIRST_SYMBOL, 0.0),
    )


def dmrs_symbols(n_dl_symbols: int) -> tuple[int, ...]:
    """PDSCH DM-RS symbols of a mapping-type-A PDSCH, l0 = 2, dmrs-AdditionalPosition = pos1
    (TS 38.211 Table 7.4.1.1.2-3) [U: from memory, not in nr-standards.md].

    Parameters
    ----------
    n_dl_symbols : l_d, symbols from the start of the slot to the end of the PDSCH (1..14).

    Returns
    -------
    The symbol indices: (2,) for l_d 3-7, (2, 7) for 8-9, (2, 9) for 10-12, (2, 11) for 13-14;
    () below 3.
    """
    if n_dl_symbols < 3:
        return ()
    if n_dl_symbols <= 7:
        return (2,)
    if n_dl_symbols <= 9:
        return (2, 7)
    if n_dl_symbols <= 12:
        return (2, 9)
    return (2, 11)
