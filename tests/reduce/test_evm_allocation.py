"""EVM over partial PDSCH allocations: TM3.1/TM3.1a-like TDD frames with PDCCH and DM-RS
(tests/signals/nr_frame.py), and the NR-FR1 test-model frames the simulated gNB sends
(fivegbench.sim.waveform), given the allocation (the test model's) or finding it (auto)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fivegbench.nr.test_models import model
from fivegbench.reduce.allocation import allocation_layout, allocations_for_test_model
from fivegbench.reduce.evm import Allocation, evm
from fivegbench.sim.nr_grid import PDSCH, PDSCH_DMRS
from fivegbench.sim.waveform import Frame, FrameSpec, Transmitter, capture, synthesize
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


# --- synthesized NR-FR1 test-model frames (fivegbench.sim.waveform) -------------------------------

PATTERN = ("DDDSU", "10:2:2")
DL_KINDS = (PDSCH, PDSCH_DMRS)


def model_frame(name: str, bandwidth_hz: float, sample_rate_hz: float) -> Frame:
    """A test-model frame at N x SCS (no resampling), without the DAC noise: its own EVM is the
    floor of the transmit filter and the float32 samples (~0.07 %)."""
    return synthesize(FrameSpec(name, bandwidth_hz, 30e3, *PATTERN, sample_rate_hz, inband_noise_dbc=-300.0))


def noisy(
    frame: Frame, truth_pct: float, re_power: float, start: int, cfo_hz: float, seed: int, n: int
) -> np.ndarray:
    """``n`` samples of the frame from ``start``, plus white noise whose power per resource element
    (a unitary FFT of N samples: the per-sample variance) is (truth / 100)^2 times ``re_power``
    times N / 12 N_RB (the frame's scale: a unit RE is N / 12 N_RB after that FFT); then a gain,
    phase and carrier offset."""
    n_sc = 12 * frame.grid.n_rb
    variance = (truth_pct / 100) ** 2 * re_power * frame.fft_size / n_sc
    rng = np.random.default_rng(seed)
    x = frame.samples[(start + np.arange(n)) % frame.samples.size].astype(np.complex128)
    x += (rng.standard_normal(n) + 1j * rng.standard_normal(n)) * math.sqrt(variance / 2)
    t = np.arange(n) / frame.sample_rate_hz
    return (0.4 * np.exp(1j * (0.3 + 2 * np.pi * cfo_hz * t)) * x).astype(np.complex64)


def mean_power(frame: Frame, select: np.ndarray) -> float:
    return float(np.mean(np.abs(frame.grid.values[select].astype(np.complex128)) ** 2))


def evm_res(frame: Frame, name: str) -> np.ndarray:
    """The REs TS 38.141-1 evaluates EVM on: PDSCH of the model's EVM RNTIs (DM-RS excluded)."""
    return (frame.grid.kind == PDSCH) & np.isin(frame.grid.rnti, model(name).evm_rntis)


def captured_rows(frame: Frame, start: int, n: int) -> np.ndarray:
    """Frame rows of the symbols wholly inside samples start .. start + n - 1 (no wrap)."""
    end = frame.symbol_start + frame.cp_samples + frame.fft_size * frame.oversampling
    return np.flatnonzero((frame.symbol_start >= start) & (end <= start + n))


@pytest.mark.parametrize("name", ["NR-FR1-TM3.1a", "NR-FR1-TM3.2", "NR-FR1-TM3.1", "NR-FR1-TM2"])
def test_test_model_allocations_are_the_synthesized_grid(name: str) -> None:
    """The allocations EVM is told for a test model label exactly the frame's EVM-RNTI PDSCH REs
    (data) and their DM-RS, in every slot of the 20 ms model."""
    frame = model_frame(name, 20e6, 30.72e6)
    g = frame.grid
    pattern = allocations_for_test_model(name, g.n_rb, 30e3, *PATTERN)
    layout = allocation_layout(pattern.allocations, g.n_rb, g.kind.shape[0], 0, pattern.frame_slots)
    target = np.isin(g.rnti, model(name).evm_rntis)
    assert np.array_equal(layout.codes == 1, (g.kind == PDSCH_DMRS) & target)
    assert np.array_equal(layout.codes >= 2, (g.kind == PDSCH) & target)
    assert pattern.frame_slots == (20 if name == "NR-FR1-TM2" else 5)


@pytest.mark.parametrize(("name", "modulation"), [("NR-FR1-TM3.1", "64QAM"), ("NR-FR1-TM3.1a", "256QAM")])
@pytest.mark.parametrize("level", ["low", "mid", "limit"])
def test_test_model_frame_evm_by_construction(name: str, modulation: str, level: str) -> None:
    """TM3.1 / TM3.1a, 20 MHz DDDSU: DM-RS with data on its odd REs, PDCCH beside the PDSCH at the
    same power, TDD gaps. Known noise per RE; the allocation given by the test model (data-aided and
    decision-directed) and found (auto)."""
    truth = {"low": 0.5, "mid": LIMITS[modulation] / 2, "limit": LIMITS[modulation]}[level]
    frame = model_frame(name, 20e6, 30.72e6)
    g = frame.grid
    start, cfo = 12345 + 1000 * len(level), -1700.0
    x = noisy(frame, truth, mean_power(frame, evm_res(frame, name)), start, cfo, seed=len(level), n=307200)
    pattern = allocations_for_test_model(name, g.n_rb, 30e3, *PATTERN)
    fs = frame.sample_rate_hz
    known = {"allocation": pattern.allocations, "frame_slots": pattern.frame_slots}
    runs = {
        "data-aided": evm(x, fs, 30e3, g.n_rb, modulation, g.values, **known),  # type: ignore[arg-type]
        "known": evm(x, fs, 30e3, g.n_rb, modulation, **known),  # type: ignore[arg-type]
        "auto": evm(x, fs, 30e3, g.n_rb, modulation, allocation="auto"),
    }
    for how, r in runs.items():
        assert abs(r.evm_rms_pct - truth) <= tolerance(truth), (how, r.evm_rms_pct)
        assert r.modulation == modulation and abs(r.freq_error_hz - cfo) < 3.0
        assert math.isfinite(r.evm_low_pct) and math.isfinite(r.evm_high_pct)
    # auto: the QAM allocations cover every PRB, and their DM-RS symbols are the frame's
    auto = runs["auto"]
    qam = [a for a in auto.allocations if a.modulation == modulation]
    assert sorted({p for a in qam for p in a.prb_list.tolist()}) == list(range(g.n_rb))
    rows = captured_rows(frame, start, x.size)
    dmrs = {t for t, row in enumerate(rows) if (g.kind[row] == PDSCH_DMRS).any()}
    assert {s for a in qam for s in a.dmrs_symbols} == dmrs


def test_test_model_tm3_1a_at_100_mhz_with_the_known_allocation() -> None:
    """The measurement layer's path: 100 MHz TM3.1a, the allocation from the test model, 1 % EVM."""
    name = "NR-FR1-TM3.1a"
    frame = model_frame(name, 100e6, 122.88e6)
    x = noisy(frame, 1.0, mean_power(frame, evm_res(frame, name)), 777, 2500.0, seed=3, n=1_228_800)
    pattern = allocations_for_test_model(name, 273, 30e3, *PATTERN)
    r = evm(x, frame.sample_rate_hz, 30e3, 273, "256QAM", allocation=pattern.allocations, frame_slots=5)
    assert abs(r.evm_rms_pct - 1.0) <= 0.03 * 1.0 and r.reliable
    assert abs(r.freq_error_hz - 2500.0) < 3.0
    # 10 ms of DDDSU: 6 full DL slots and 2 special ones (8 + 4 of their DL symbols) at most
    assert len(r.evm_per_slot_pct) >= 15


def test_tm3_2_auto_splits_its_16qam_target_from_the_qpsk_prbs() -> None:
    """TM3.2 (TS 38.141-1 §4.9.2.2): 16QAM target PRGs de-boosted 3 dB, QPSK PRBs around them, one
    DM-RS pattern. Through the simulated transmitter with its PA noise floor set for a known EVM
    (linear PA, no phase noise): auto splits the target from the QPSK PRBs and measures each."""
    spec = FrameSpec("NR-FR1-TM3.2", 100e6, 30e3, *PATTERN, sample_rate_hz=122.88e6)
    frame = synthesize(spec)
    g = frame.grid
    target = (g.kind == PDSCH) & (g.rnti == 1)
    target_prbs = set((np.flatnonzero(target.any(axis=0)) // 12).tolist())
    other_prbs = ~np.isin(np.arange(12 * g.n_rb) // 12, sorted(target_prbs))
    qpsk = (g.bits == 2) & (g.kind != 0) & other_prbs[None, :]  # PDSCH, DM-RS and PDCCH beside it
    # noise per RE relative to a 0 dB RE: the PA's white floor N0 (dBc/Hz of the carrier) gives
    # N0 x SCS x 12 N_RB (the frame's scale: mean power 1 for 0 dB REs); the frame's own in-band
    # DAC noise, FrameSpec's -50 dBc [U: model assumption], 1e-5
    per_re = (3.0 / 100) ** 2 * mean_power(frame, target)  # 3 % on the target from the PA alone
    tx = Transmitter(
        spec,
        tx_power_dbm=20.0,
        pa_saturation_dbm=60.0,  # 40 dB back-off: the Rapp PA is linear
        carrier_frequency_hz=3.5e9,
        freq_error_ppm=0.05,
        phase_noise_rms_deg=0.0,
        noise_floor_dbc_hz=10 * math.log10(per_re / (30e3 * 12 * g.n_rb)),
    )
    x = capture(tx, 0.0, 122.88e6, 1_228_800, seed=5, start_s=1.234e-3)
    r = evm(x, 122.88e6, 30e3, g.n_rb, allocation="auto")

    def expected(res: np.ndarray) -> float:
        return 100 * math.sqrt((per_re + 1e-5) / mean_power(frame, res))

    assert r.evm_by_modulation_pct.keys() == {"QPSK", "16QAM"}
    for modulation, res in (("16QAM", target), ("QPSK", qpsk)):
        truth = expected(res)
        assert abs(r.evm_by_modulation_pct[modulation] - truth) <= tolerance(truth), modulation
    assert {p for a in r.allocations if a.modulation == "16QAM" for p in a.prb_list.tolist()} == target_prbs
    qpsk_prbs = {p for a in r.allocations if a.modulation == "QPSK" for p in a.prb_list.tolist()}
    assert qpsk_prbs == set(range(g.n_rb)) - target_prbs
    assert abs(r.freq_error_hz - 0.05e-6 * 3.5e9) < 3.0
