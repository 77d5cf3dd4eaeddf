"""EVM over partial PDSCH allocations: TM3.1/TM3.1a-like TDD frames with PDCCH and DM-RS
(tests/signals/nr_frame.py), given the allocation or finding it from the energy."""

from __future__ import annotations

import numpy as np
import pytest

from fivegbench.reduce.evm import Allocation, evm
from tests.signals.nr_frame import Alloc, nr_frame

LIMITS = {"QPSK": 18.5, "16QAM": 13.5, "64QAM": 9.0, "256QAM": 4.5}  # TS 38.104 Table 6.5.2.2-1 + TT


def tolerance(truth: float) -> float:
    return max(0.1, 0.03 * truth)


def known(modulation: str) -> list[Allocation]:
    """DDDSU at 30 kHz: PDSCH symbols 2-13 (DM-RS 2, 11) in D slots, 2-5 in the special slot."""
    return [
        Allocation(range(0, 51), range(2, 14), modulation, (2, 11), 2, slots=(0, 1, 2)),
        Allocation(range(0, 51), range(2, 6), modulation, (2,), 2, slots=(3,)),
    ]


@pytest.mark.parametrize("modulation", ["64QAM", "256QAM", "QPSK", "16QAM"])  # TM3.1, TM3.1a, ...
@pytest.mark.parametrize("level", ["low", "mid", "limit"])
def test_tm3_like_frame_evm_matches_injected(modulation: str, level: str) -> None:
    truth = {"low": 0.5, "mid": LIMITS[modulation] / 2, "limit": LIMITS[modulation]}[level]
    frame = nr_frame(
        scs_hz=30e3,
        n_rb=51,
        fft_size=1024,
        allocations=(Alloc(range(0, 51), modulation, 0.0, truth),),
        cfo_hz=-2100.0,
        start=1234,
        seed=len(modulation) * 7 + len(level),
    )
    fs = frame.sample_rate_hz
    runs = {
        "data-aided": evm(
            frame.iq, fs, 30e3, 51, reference=frame.reference, allocation=known(modulation), frame_slots=5
        ),
        "known": evm(frame.iq, fs, 30e3, 51, allocation=known(modulation), frame_slots=5),
        "auto": evm(frame.iq, fs, 30e3, 51, allocation="auto"),
    }
    for name, r in runs.items():
        assert abs(r.evm_rms_pct - truth) <= tolerance(truth), (name, r.evm_rms_pct)
        assert r.evm_by_modulation_pct.keys() == {modulation}
        assert abs(r.freq_error_hz + 2100.0) < 3.0
    auto = runs["auto"]
    assert all(a.modulation == modulation for a in auto.allocations)
    assert [[r.start, r.stop] for a in auto.allocations for r in a.prbs] == [[0, 51]] * len(auto.allocations)


def test_auto_finds_pdsch_and_excludes_pdcch_and_gaps() -> None:
    frame = nr_frame(
        scs_hz=30e3, n_rb=51, fft_size=1024, allocations=(Alloc(range(0, 51), "256QAM", 0.0, 1.0),), seed=5
    )
    r = evm(frame.iq, frame.sample_rate_hz, 30e3, 51, allocation="auto")
    # frame starts at slot 0 symbol 0: DL slots 0-2, special slot 3 (DL symbols 0-5), UL slot 4
    expected = []
    for slot in range(20):
        kind = "DDDSU"[slot % 5]
        data = {"D": [3, 4, 5, 6, 7, 8, 9, 10, 12, 13], "S": [3, 4, 5], "U": []}[kind]
        expected += [slot * 14 + s for s in data]
    expected = [s for s in expected if s < r.n_symbols + 200]
    assert (
        list(r.used_symbols) == expected[: len(r.used_symbols)] and len(r.used_symbols) == len(expected) - 0
    )
    assert abs(r.evm_rms_pct - 1.0) <= tolerance(1.0)


def test_mixed_modulations_with_boosted_prbs() -> None:
    """TM3.2-like: 16QAM de-boosted by 3 dB on PRBs 0-29, QPSK boosted by 3 dB on PRBs 30-50."""
    allocs = (Alloc(range(0, 30), "16QAM", -3.0, 6.0), Alloc(range(30, 51), "QPSK", 3.0, 6.0))
    frame = nr_frame(scs_hz=30e3, n_rb=51, fft_size=1024, allocations=allocs, cfo_hz=700.0, start=99, seed=2)
    given = [
        Allocation(range(0, 30), range(2, 14), "16QAM", (2, 11), 2, slots=(0, 1, 2)),
        Allocation(range(30, 51), range(2, 14), "QPSK", (2, 11), 2, slots=(0, 1, 2)),
        Allocation(range(0, 30), range(2, 6), "16QAM", (2,), 2, slots=(3,)),
        Allocation(range(30, 51), range(2, 6), "QPSK", (2,), 2, slots=(3,)),
    ]
    fs = frame.sample_rate_hz
    r = evm(frame.iq, fs, 30e3, 51, reference=frame.reference, allocation=given, frame_slots=5)
    assert r.evm_by_modulation_pct.keys() == {"16QAM", "QPSK"}
    for v in r.evm_by_modulation_pct.values():
        assert abs(v - 6.0) <= tolerance(6.0)
    only = evm(frame.iq, fs, 30e3, 51, "QPSK", reference=frame.reference, allocation=given, frame_slots=5)
    assert abs(only.evm_rms_pct - 6.0) <= tolerance(6.0) and only.modulation == "QPSK"
    with pytest.raises(ValueError, match="no allocation carries 256QAM"):
        evm(frame.iq, fs, 30e3, 51, "256QAM", allocation=given, frame_slots=5)


def test_bad_input_is_one_clear_error() -> None:
    frame = nr_frame(
        scs_hz=30e3, n_rb=51, fft_size=1024, allocations=(Alloc(range(0, 51), "64QAM", 0.0, 2.0),), n_slots=5
    )
    fs = frame.sample_rate_hz
    with pytest.raises(ValueError, match="shorter than one slot"):
        evm(frame.iq[:10000], fs, 30e3, 51, allocation="auto")
    with pytest.raises(ValueError, match="no signal"):
        evm(np.zeros(40000, np.complex64), fs, 30e3, 51, allocation="auto")
    clipped = np.clip(frame.iq.real, -0.02, 0.02) + 1j * np.clip(frame.iq.imag, -0.02, 0.02)
    with pytest.raises(ValueError, match="clipped"):
        evm(clipped, fs, 30e3, 51, allocation="auto")
    with pytest.raises(ValueError, match="cannot hold the carrier"):
        evm(frame.iq, fs / 2, 30e3, 51, allocation="auto")
