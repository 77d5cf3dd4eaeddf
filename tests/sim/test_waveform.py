"""The synthesized NR downlink, checked by construction with independent numpy in the test.

Expected values are written literally (TS 38.211 numerology, the PA calibration table of
nr-standards.md §5.2) or computed here; nothing is read back from fivegbench.sim.waveform.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import welch

from fivegbench.sim.nr_grid import PDSCH
from fivegbench.sim.waveform import FrameSpec, Transmitter, capture, synthesize

SAT_DBM = 54.0  # PA saturation: IBO = 54 dBm - commanded power
CARRIER_HZ = 3.75e9
TDD40 = FrameSpec("NR-FR1-TM1.1", 40e6, 30e3, "DDDSU", "10:2:2")
TM31A40 = FrameSpec("NR-FR1-TM3.1a", 40e6, 30e3, "DDDSU", "10:2:2")
TM11_100 = FrameSpec("NR-FR1-TM1.1", 100e6, 30e3)

# nr-standards.md §5.2, Rapp p = 2, 100 MHz: IBO dB -> (ACLR 1st adjacent dB, EVM %)
CALIBRATION = {
    4: (27.0, 9.15),
    6: (31.3, 5.62),
    8: (36.5, 3.11),
    10: (42.6, 1.59),
    12: (49.6, 0.84),
    14: (57.0, 0.57),
}

FS_100 = 614.4e6  # 5 x 4096 x 30 kHz
FS_40 = 61.44e6  # 2048 x 30 kHz: the FFT rate of a 106-PRB carrier


def _tx(spec: FrameSpec, power_dbm: float, ppm: float = 0.0) -> Transmitter:
    return Transmitter(spec, power_dbm, SAT_DBM, CARRIER_HZ, freq_error_ppm=ppm)


def _band_power(freq: np.ndarray, psd: np.ndarray, centre: float, width: float) -> float:
    sel = (freq > centre - width / 2) & (freq < centre + width / 2)
    return float(psd[sel].sum())


def _aclr_db(x: np.ndarray, fs: float) -> list[float]:
    """ACLR of a 100 MHz, 273-PRB carrier: BW_Config 98.28 MHz squares at +-100 and +-200 MHz."""
    freq, psd = welch(x, fs=fs, nperseg=8192, return_onesided=False, window="hann")
    main = _band_power(freq, psd, 0.0, 98.28e6)
    return [
        10 * np.log10(main / _band_power(freq, psd, off, 98.28e6)) for off in (-100e6, 100e6, -200e6, 200e6)
    ]


def _cp(symbol: int) -> int:
    """CP of a 30 kHz symbol at N = 2048: 144 samples, 176 on the first of every 0.5 ms (14 symbols)."""
    return 176 if symbol % 14 == 0 else 144


def test_mean_dl_power_is_the_commanded_power_after_path_loss() -> None:
    fs = 5 * FS_40
    x = capture(_tx(TDD40, 30.0), 0.0, fs, round(10e-3 * fs), seed=1, start_s=0.0, path_loss_db=40.0)
    # DDDSU at 30 kHz: slots 0-2 of every 2.5 ms (768000 samples) are full DL slots of 0.5 ms
    full_dl = np.arange(x.size) % 768_000 < 460_800
    power_dbm = 10 * np.log10(np.mean(np.abs(x[full_dl]) ** 2) / 50.0) + 30
    assert power_dbm == pytest.approx(30.0 - 40.0, abs=0.05)


def test_tdd_uplink_symbols_carry_no_energy() -> None:
    fs = 5 * FS_40
    x = capture(_tx(TDD40, 43.0), 0.0, fs, round(20e-3 * fs), seed=2, start_s=0.0)
    phase = np.arange(x.size) % 768_000  # 2.5 ms periods of DDDSU
    # slot 4, 2.0-2.5 ms, but its last 1 us (307 samples): the analyzer's zero-phase anti-alias
    # response starts ringing that long before the PA switches on for the next slot 0
    ul_slot = (phase >= 614_400) & (phase < 768_000 - 307)
    dl_slot = phase < 460_800
    assert np.max(np.abs(x[ul_slot])) == 0.0
    assert np.mean(np.abs(x[dl_slot]) ** 2) > 0.0
    # special slot 10:2:2: its last 4 symbols (guard + UL) are empty in the grid too
    grid = synthesize(TDD40).grid
    special = slice(3 * 14 + 10, 3 * 14 + 14)
    assert not np.any(grid.values[special])
    assert np.all(np.abs(grid.values[3 * 14 : 3 * 14 + 10]).sum(axis=1) > 0)


def test_a_tdd_test_model_lasts_20_ms_and_fdd_10_ms() -> None:
    assert synthesize(TDD40).samples.size == round(20e-3 * 5 * FS_40)
    assert synthesize(FrameSpec("NR-FR1-TM1.1", 40e6, 30e3)).samples.size == round(10e-3 * 5 * FS_40)


def test_the_frame_is_cached_per_configuration() -> None:
    assert synthesize(TDD40) is synthesize(FrameSpec("NR-FR1-TM1.1", 40e6, 30e3, "DDDSU", "10:2:2"))


def test_obw_of_tm11_100_mhz_is_99_percent_of_bw_config() -> None:
    x = capture(_tx(TM11_100, 37.0), 0.0, FS_100, round(1e-3 * FS_100), seed=3, start_s=0.0)
    spectrum = np.abs(np.fft.fftshift(np.fft.fft(x))) ** 2
    freq = np.fft.fftshift(np.fft.fftfreq(x.size, 1 / FS_100))
    cum = np.cumsum(spectrum) / spectrum.sum()
    obw = freq[np.searchsorted(cum, 0.995)] - freq[np.searchsorted(cum, 0.005)]
    assert obw < 100e6
    assert obw == pytest.approx(0.99 * 273 * 12 * 30e3, abs=0.3e6)  # a flat 98.28 MHz carrier


def test_aclr_at_low_drive_is_above_55_db() -> None:
    x = capture(_tx(TM11_100, 37.0), 0.0, FS_100, round(1e-3 * FS_100), seed=4, start_s=0.0)
    assert min(_aclr_db(x, FS_100)) >= 55.0


@pytest.mark.parametrize("ibo", sorted(CALIBRATION))
def test_aclr_follows_the_pa_calibration_table(ibo: int) -> None:
    x = capture(_tx(TM11_100, SAT_DBM - ibo), 0.0, FS_100, round(1e-3 * FS_100), seed=5, start_s=0.0)
    lower, upper = _aclr_db(x, FS_100)[:2]
    assert lower == pytest.approx(CALIBRATION[ibo][0], abs=1.0)
    assert upper == pytest.approx(CALIBRATION[ibo][0], abs=1.0)


def test_aclr_fails_at_46_dbm_and_passes_at_43_dbm() -> None:
    at46 = capture(_tx(TM11_100, 46.0), 0.0, FS_100, round(1e-3 * FS_100), seed=6, start_s=0.0)
    at43 = capture(_tx(TM11_100, 43.0), 0.0, FS_100, round(1e-3 * FS_100), seed=6, start_s=0.0)
    assert max(_aclr_db(at46, FS_100)[:2]) < 45.0
    assert min(_aclr_db(at43, FS_100)[:2]) > 45.0


def _evm_percent(x: np.ndarray, spec: FrameSpec, n_symbols: int) -> float:
    """Data-aided EVM over the PDSCH REs of the first symbols: FFT (N = 2048) at the CP centre, one
    complex gain for the capture, RMS error over RMS reference."""
    grid = synthesize(spec).grid
    n, n_sc = 2048, grid.values.shape[1]
    bins = (np.arange(n_sc) - n_sc // 2) % n
    got, ref, pos = [], [], 0
    for s in range(n_symbols):
        cp = _cp(s)
        early = cp // 2
        y = np.fft.fft(x[pos + cp - early : pos + cp - early + n])
        y *= np.exp(2j * np.pi * np.arange(n) * early / n)  # undo the early window's phase ramp
        sel = grid.kind[s] == PDSCH
        got.append(y[bins][sel])
        ref.append(grid.values[s][sel])
        pos += cp + n
    y, r = np.concatenate(got), np.concatenate(ref)
    gain = np.vdot(r, y) / np.vdot(r, r)
    return float(100 * np.sqrt(np.sum(np.abs(y - gain * r) ** 2) / np.sum(np.abs(gain * r) ** 2)))


@pytest.mark.parametrize("ibo", sorted(CALIBRATION))
def test_evm_follows_the_pa_calibration_table(ibo: int) -> None:
    x = capture(_tx(TM31A40, SAT_DBM - ibo), 0.0, FS_40, round(1e-3 * FS_40), seed=7, start_s=0.0)
    assert _evm_percent(x, TM31A40, 28) == pytest.approx(CALIBRATION[ibo][1], rel=0.10)


@pytest.mark.parametrize("ppm", [0.05, -0.02])
def test_frequency_error_is_recovered_from_the_cyclic_prefix(ppm: float) -> None:
    x = capture(_tx(TM31A40, 37.0, ppm), 0.0, FS_40, round(5e-3 * FS_40), seed=8, start_s=0.0)
    acc, pos = 0j, 0
    for s in range(140):  # 5 ms = 10 slots; guard/UL symbols are zero and add nothing
        cp = _cp(s)
        acc += np.vdot(x[pos + 2048 : pos + 2048 + cp], x[pos : pos + cp])
        pos += cp + 2048
    found_hz = -np.angle(acc) * 30e3 / (2 * np.pi)  # CP vs its copy N samples later: -2 pi f N / fs
    assert found_hz == pytest.approx(ppm * 1e-6 * 3.75e9, abs=3.0)


def test_an_iq_capture_sees_the_pa_output_through_a_flat_anti_alias_response() -> None:
    """The analyzer's response [U: the simulator's assumption]: flat over +-0.4 fs, a raised cosine
    to zero at +-fs/2, nothing aliased. Reference: the same PA output captured at the synthesis
    rate (flat there to +-245 MHz) times that response, in 2 MHz bands; at 8 dB back-off the
    regrowth beyond the carrier is strong enough that aliasing or ripple would show."""
    tx = _tx(TM11_100, SAT_DBM - 8)
    fs = 122.88e6
    full = capture(tx, 0.0, FS_100, 5 * 122_880, seed=1, start_s=0.0)
    seen = capture(tx, 0.0, fs, 122_880, seed=1, start_s=0.0)
    f_full, p_full = welch(full, fs=FS_100, nperseg=20480, return_onesided=False)  # 30 kHz bins
    f_seen, p_seen = welch(seen, fs=fs, nperseg=4096, return_onesided=False)
    x = np.clip((np.abs(f_seen) - 0.4 * fs) / (0.1 * fs), 0.0, 1.0)
    response = (0.5 * (1 + np.cos(np.pi * x))) ** 2
    for centre in np.arange(-57e6, 58e6, 2e6):  # up to -10 dB down the roll-off
        band_seen = np.abs(f_seen - centre) < 1e6
        band_full = np.abs(f_full - centre) < 1e6
        expected = np.sum(p_full[band_full] * response[band_seen])
        assert 10 * np.log10(p_seen[band_seen].sum() / expected) == pytest.approx(0.0, abs=0.08), centre


def test_phase_noise_is_a_0_2_degree_lorentzian_with_a_300_khz_corner() -> None:
    """The transmitter's phase noise [U: 0.2 deg rms, 300 kHz corner] as the analyzer sees it: the
    phase of the capture against the same capture without phase noise (noise floors off), over the
    first three (DL) slots of each 2.5 ms period; its density 1 / (A + B f^2) up to 1.2 MHz gives
    the corner sqrt(A / B)."""
    quiet = {"noise_floor_dbc_hz": -np.inf}
    n = round(20e-3 * FS_40)
    clean = capture(
        Transmitter(TDD40, 37.0, SAT_DBM, CARRIER_HZ, phase_noise_rms_deg=0.0, **quiet),
        0.0,
        FS_40,
        n,
        seed=10,
        start_s=0.0,
    )
    noisy = capture(
        Transmitter(TDD40, 37.0, SAT_DBM, CARRIER_HZ, **quiet), 0.0, FS_40, n, seed=10, start_s=0.0
    )
    runs = np.array(
        [np.angle(noisy[s : s + 92_160] * np.conj(clean[s : s + 92_160])) for s in range(0, n, 153_600)]
    )
    assert np.degrees(np.sqrt(np.mean(runs**2))) == pytest.approx(0.2, rel=0.02)
    freq, psd = welch(runs, fs=FS_40, nperseg=4096, axis=-1)
    fit = (freq > 0) & (freq <= 1.2e6)
    b, a = np.polyfit(freq[fit] ** 2, 1 / psd.mean(axis=0)[fit], 1)
    assert np.sqrt(a / b) == pytest.approx(300e3, rel=0.08)


def test_an_analyzer_tuned_off_the_carrier_sees_it_shifted() -> None:
    x = capture(_tx(TDD40, 37.0), 10e6, FS_40, round(1e-3 * FS_40), seed=9, start_s=0.0)
    freq, psd = welch(x, fs=FS_40, nperseg=2048, return_onesided=False)
    # the 38.16 MHz carrier now spans -29.08 .. +9.08 MHz: +15 MHz is outside, -15 MHz inside
    inside = psd[np.argmin(np.abs(freq + 15e6))]
    outside = psd[np.argmin(np.abs(freq - 15e6))]
    assert 10 * np.log10(inside / outside) > 40.0


def test_bad_configurations_are_refused() -> None:
    with pytest.raises(ValueError, match="NR-FR1-TM9"):
        synthesize(FrameSpec("NR-FR1-TM9", 40e6, 30e3))
    with pytest.raises(ValueError, match="whole multiple"):
        synthesize(FrameSpec("NR-FR1-TM1.1", 40e6, 30e3, sample_rate_hz=100e6))
    with pytest.raises(ValueError, match="special slot"):
        synthesize(FrameSpec("NR-FR1-TM1.1", 40e6, 30e3, "DDDSU", None))
