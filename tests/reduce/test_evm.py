"""EVM against NR captures whose EVM is known by construction (tests/signals/nr_ofdm.py)."""

from __future__ import annotations

import math
import zlib

import numpy as np
import pytest

from fivegbench.reduce.evm import DECISION_DIRECTED_LIMIT_PCT, EvmResult, evm
from tests.signals.nr_ofdm import NrCapture, cp_samples, nr_capture, symbol_direct

# (SCS, N_RB, FFT size): 10 MHz at 15 kHz, 20 MHz at 30 kHz
CARRIERS = {"15k": (15e3, 52, 1024), "30k": (30e3, 51, 1024)}
LEVELS = ("low", "mid", "limit")  # 0.5 %, half the decision-directed limit, the limit


def tolerance(truth_pct: float) -> float:
    return max(0.1, 0.03 * truth_pct)


def capture(
    carrier: str, modulation: str, evm_pct: float, cfo_hz: float, seed: int, **kw: object
) -> NrCapture:
    scs, n_rb, n = CARRIERS[carrier]
    return nr_capture(
        scs_hz=scs,
        n_rb=n_rb,
        fft_size=n,
        modulation=modulation,
        duration_s=2e-3,
        evm_pct=evm_pct,
        cfo_hz=cfo_hz,
        seed=seed,
        **kw,  # type: ignore[arg-type]
    )


def measure(cap: NrCapture, data_aided: bool) -> EvmResult:
    return evm(
        cap.iq,
        cap.sample_rate_hz,
        cap.scs_hz,
        cap.n_rb,
        cap.modulation,
        cap.reference if data_aided else None,
    )


def check_sync(cap: NrCapture, r: EvmResult) -> None:
    assert r.timing_offset_samples == cap.first_cp_start
    assert r.first_symbol_in_half_subframe == cap.first_l_half
    assert r.n_symbols == cap.n_complete


def test_generator_matches_the_direct_formula() -> None:
    """The generator's IFFT path equals the TS 38.211 §5.3.1 sum, CP included, for l = 0 and 1."""
    cap = nr_capture(
        scs_hz=30e3,
        n_rb=5,
        fft_size=256,
        modulation="16QAM",
        duration_s=0.1e-3,
        start=0,
        gain=1.0,
        phase_rad=0.0,
    )
    cp0, cp1 = cp_samples(256, 30e3, 0), cp_samples(256, 30e3, 1)
    assert (cp0, cp1) == (22, 18)
    s0 = symbol_direct(cap.reference[0], 5, 256, cp0)
    s1 = symbol_direct(cap.reference[1], 5, 256, cp1)
    assert np.allclose(cap.iq[: s0.size + s1.size], np.concatenate([s0, s1]), atol=1e-12)


@pytest.mark.parametrize("carrier", list(CARRIERS))
@pytest.mark.parametrize("modulation", list(DECISION_DIRECTED_LIMIT_PCT))
@pytest.mark.parametrize("level", LEVELS)
def test_evm_matches_injected_error(carrier: str, modulation: str, level: str) -> None:
    limit = DECISION_DIRECTED_LIMIT_PCT[modulation]
    truth = {"low": 0.5, "mid": limit / 2, "limit": limit}[level]
    seed = zlib.crc32(f"{carrier}{modulation}{level}".encode())
    cfo = 3700.0 if seed % 2 else -3700.0
    cap = capture(carrier, modulation, truth, cfo, seed)
    assert cap.truth_evm_pct == pytest.approx(truth, rel=1e-12)
    for data_aided in (True, False):
        r = measure(cap, data_aided)
        assert abs(r.evm_rms_pct - truth) <= tolerance(truth), (data_aided, r.evm_rms_pct)
        for slot in r.evm_per_slot_pct:
            assert abs(slot - truth) <= max(0.1, 0.05 * truth)
        assert r.evm_rms_pct == max(r.evm_low_pct, r.evm_high_pct)
        assert r.decision_directed is not data_aided
        assert abs(r.freq_error_hz - cfo) < 3.0
        check_sync(cap, r)
        if data_aided:
            assert r.reliable and r.reference_offset_symbols == cap.first_row
        elif level != "limit":
            assert r.reliable


@pytest.mark.parametrize("snr_db", [14.0, 20.0, 26.0, 32.0, 40.0])
def test_evm_follows_one_over_sqrt_snr(snr_db: float) -> None:
    """White noise after the CP: EVM = 1 / sqrt(SNR) (in-band, per subcarrier)."""
    cap = nr_capture(
        scs_hz=30e3,
        n_rb=24,
        fft_size=512,
        modulation="QPSK",
        duration_s=2e-3,
        snr_db=snr_db,
        cfo_hz=-2900.0,
        seed=int(snr_db),
    )
    expected = 100.0 / math.sqrt(10 ** (snr_db / 10))
    assert cap.truth_evm_pct == pytest.approx(expected, rel=0.02)
    for data_aided in (True, False):
        r = measure(cap, data_aided)
        assert abs(r.evm_rms_pct - cap.truth_evm_pct) <= tolerance(cap.truth_evm_pct)


@pytest.mark.parametrize(
    ("modulation", "truth"), [("QPSK", 30.0), ("16QAM", 16.0), ("64QAM", 8.5), ("256QAM", 4.5)]
)
def test_decision_directed_beyond_range_is_flagged(modulation: str, truth: float) -> None:
    cap = capture("30k", modulation, truth, 1500.0, seed=7)
    dd = measure(cap, data_aided=False)
    assert dd.decision_directed and not dd.reliable
    assert dd.evm_rms_pct > DECISION_DIRECTED_LIMIT_PCT[modulation]
    da = measure(cap, data_aided=True)  # the data-aided figure stays exact
    assert da.reliable and abs(da.evm_rms_pct - truth) <= tolerance(truth)


def test_decision_directed_just_inside_the_range_is_reliable() -> None:
    cap = capture("15k", "64QAM", 5.5, -4100.0, seed=3)
    r = measure(cap, data_aided=False)
    assert r.reliable and abs(r.evm_rms_pct - 5.5) <= tolerance(5.5)


@pytest.mark.parametrize("start", [0, 1, 17, 560, 4000, 4380, 7000, 7679, 7681])
def test_timing_and_long_cp_position_at_any_start(start: int) -> None:
    """5 MHz at 15 kHz (512 FFT): the long CP is only 4 samples longer, the hardest case."""
    cap = nr_capture(
        scs_hz=15e3,
        n_rb=25,
        fft_size=512,
        modulation="256QAM",
        duration_s=2e-3,
        evm_pct=1.0,
        cfo_hz=4900.0,
        start=start,
        seed=start,
    )
    for data_aided in (True, False):
        r = measure(cap, data_aided)
        check_sync(cap, r)
        assert abs(r.evm_rms_pct - 1.0) <= tolerance(1.0)


def test_narrowest_30k_carrier_and_complex64_input() -> None:
    cap = nr_capture(
        scs_hz=30e3,
        n_rb=11,
        fft_size=256,
        modulation="16QAM",
        duration_s=2e-3,
        evm_pct=4.0,
        cfo_hz=-4999.0,
        seed=11,
        dtype=np.complex64,
    )
    r = measure(cap, data_aided=False)
    check_sync(cap, r)
    assert r.window_samples == 8 and r.fft_size == 256
    assert abs(r.evm_rms_pct - 4.0) <= tolerance(4.0)
    assert len(r.evm_per_slot_pct) >= 2  # 2 ms at 30 kHz: at least 2 complete slots
    values = r.values()
    assert set(values) == {"evm", "freq_error", "evm_max_slot"}


def test_window_length_and_slots_follow_annex_b() -> None:
    cap = capture("15k", "QPSK", 2.0, 0.0, seed=5, start=0)
    r = measure(cap, data_aided=True)
    assert r.window_samples == 28  # 1024 FFT at 15 kHz (TS 38.104 Table B.5.2-1)
    assert r.timing_offset_samples == 0 and r.reference_offset_symbols == 0
    assert len(r.evm_per_slot_pct) == 2  # 2 ms from a slot boundary at 15 kHz


def test_input_errors() -> None:
    cap = capture("30k", "QPSK", 1.0, 0.0, seed=1)
    fs = cap.sample_rate_hz
    with pytest.raises(ValueError, match="EVM supports"):
        evm(cap.iq, fs, 30e3, 51, "BPSK")
    with pytest.raises(ValueError, match="whole multiple"):
        evm(cap.iq, fs * 1.001, 30e3, 51, "QPSK")
    with pytest.raises(ValueError, match="do not fit"):
        evm(cap.iq, fs, 30e3, 90, "QPSK")
    with pytest.raises(ValueError, match="reference must have shape"):
        evm(cap.iq, fs, 30e3, 51, "QPSK", cap.reference[:, :10])
    with pytest.raises(ValueError, match="shorter than one slot"):
        evm(cap.iq[:1500], fs, 30e3, 51, "QPSK")
    with pytest.raises(ValueError, match="NaN"):
        evm(np.full(5000, np.nan, dtype=complex), fs, 30e3, 51, "QPSK")
    with pytest.raises(ValueError, match="one-dimensional"):
        evm(cap.iq.reshape(2, -1), fs, 30e3, 51, "QPSK")


def test_a_capture_without_a_whole_slot_still_reports_per_slot_evm() -> None:
    cap = nr_capture(
        scs_hz=15e3,
        n_rb=25,
        fft_size=512,
        modulation="QPSK",
        duration_s=1e-3,
        evm_pct=3.0,
        start=2000,
        seed=4,
    )
    r = evm(cap.iq, cap.sample_rate_hz, 15e3, 25, "QPSK")
    assert r.evm_per_slot_pct and all(abs(v - 3.0) <= 0.5 for v in r.evm_per_slot_pct)


@pytest.mark.parametrize(("modulation", "levels"), [("QPSK", 2), ("64QAM", 8)])
def test_the_constellation_sits_on_the_ideal_points_with_the_injected_error(
    modulation: str, levels: int
) -> None:
    cap = capture("30k", modulation, 2.0, 1234.0, seed=5)
    points = np.asarray(measure(cap, data_aided=False).constellation)
    # 4 symbols x 612 subcarriers, thinned to at most 2000
    assert 1000 <= points.size <= 2000
    # the ideal square QAM written here: odd levels -(L-1)..(L-1) on each axis, unit mean power
    axis = np.arange(-(levels - 1), levels, 2, dtype=float)
    ideal = (axis[:, None] + 1j * axis[None, :]).ravel() / math.sqrt(2 * np.mean(axis**2))
    nearest = ideal[np.argmin(np.abs(points[:, None] - ideal[None, :]), axis=1)]
    rms_pct = 100 * math.sqrt(float(np.mean(np.abs(points - nearest) ** 2)))
    assert rms_pct == pytest.approx(2.0, abs=0.25)  # 2 % injected; ~2400 REs of 4 symbols
    assert float(np.mean(np.abs(points) ** 2)) == pytest.approx(1.0, abs=0.01)  # scaled before thinning
