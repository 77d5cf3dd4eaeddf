"""`fivegbench analyze` end to end: SigMF files in, one JSON object out, exit codes."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fivegbench.captures import write_capture

ROOT = Path(__file__).resolve().parent.parent
SLOT = ROOT.parent / "shared/data/srsran-nr-slot/ue_dl_nr_pci500_rb52_rnti0x100_s15.36e6.sigmf-meta"
needs_slot = pytest.mark.skipif(not SLOT.exists(), reason="../shared/data is not beside this checkout")


def analyze(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fivegbench", "analyze", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def band_limited(power_w: float, width_hz: float, fs: float, n: int, seed: int = 5) -> np.ndarray:
    """Complex noise with an exactly rectangular spectrum of the given width and total power
    (volts across 50 ohm: mean |x|^2 / 50 = power_w)."""
    rng = np.random.default_rng(seed)
    spectrum = rng.normal(size=n) + 1j * rng.normal(size=n)
    spectrum[np.abs(np.fft.fftfreq(n, 1 / fs)) > width_hz / 2] = 0
    x = np.fft.ifft(spectrum)
    return x * math.sqrt(power_w * 50.0 / np.mean(np.abs(x) ** 2))


def _slot_spectrum() -> tuple[np.ndarray, np.ndarray]:
    """The srsRAN slot's periodogram (one FFT of all 15 360 samples, 1 kHz bins): frequency
    offsets from the centre (Hz) and power per bin, |x|^2 units (Parseval: sums to mean |x|^2)."""
    iq = np.fromfile(SLOT.with_suffix(".sigmf-data"), dtype="<c8").astype(np.complex128)
    power = np.abs(np.fft.fftshift(np.fft.fft(iq))) ** 2 / iq.size**2
    return np.fft.fftshift(np.fft.fftfreq(iq.size, 1 / 15.36e6)), power


@needs_slot
def test_real_srsran_slot_power_is_the_in_channel_energy():
    # BW_Config of 52 PRB at 15 kHz is 9.36 MHz; the slot holds (almost) nothing outside it
    freqs, power = _slot_spectrum()
    expected = 10 * math.log10(power[np.abs(freqs) <= 4.68e6].sum())
    proc = analyze("power", str(SLOT), "--bandwidth", "10MHz", "--scs", "15kHz", "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["absolute"] is False and result["power_unit"] == "dBFS"
    assert result["channel_power_dbm"] == pytest.approx(expected, abs=0.05)


@needs_slot
def test_real_srsran_slot_obw_is_its_99_percent_band():
    freqs, power = _slot_spectrum()
    cumulative = np.cumsum(power) / power.sum()
    lower = freqs[np.searchsorted(cumulative, 0.005)]
    upper = freqs[np.searchsorted(cumulative, 0.995)]
    proc = analyze("obw", str(SLOT), "--bandwidth", "10MHz", "--scs", "15kHz", "--json")
    result = json.loads(proc.stdout)
    # the reducer's resolution is 7.5 kHz: each edge within one of its bins of the 1 kHz truth
    assert result["lower_hz"] == pytest.approx(lower, abs=7.5e3)
    assert result["upper_hz"] == pytest.approx(upper, abs=7.5e3)
    assert result["obw_hz"] == pytest.approx(upper - lower, abs=15e3)


@needs_slot
def test_real_srsran_slot_aclr_says_its_span_misses_the_adjacent_channels():
    proc = analyze("aclr", str(SLOT), "--bandwidth", "10MHz", "--scs", "15kHz", "--json")
    assert proc.returncode == 0
    result = json.loads(proc.stdout)
    assert result["aclr_db"] == {} and result["not_covered"] == ["lower1", "upper1", "lower2", "upper2"]
    assert proc.stderr.count("\n") == 1 and "does not reach the adjacent channels" in proc.stderr


@needs_slot
def test_real_srsran_slot_has_no_frequency_error():
    # srsRAN's own decoder test (ue_dl_nr_file_test) decodes this slot with no CFO correction,
    # so it carries none; the CP estimate's scatter on a clean 1 ms slot is far below 1 Hz
    proc = analyze("freq-error", str(SLOT), "--bandwidth", "10MHz", "--scs", "15kHz", "--json")
    result = json.loads(proc.stdout)
    assert abs(result["freq_error_hz"]) < 1.0 and result["observation_s"] == pytest.approx(1e-3)


def test_absolute_power_of_a_known_signal(tmp_path):
    fs, width = 30.72e6, 18.36e6  # 20 MHz at 30 kHz: BW_Config = 51*12*30 kHz = 18.36 MHz
    iq = band_limited(power_w=0.02, width_hz=width * 0.999, fs=fs, n=1 << 16)  # 13.01 dBm
    meta = write_capture(tmp_path / "cap", iq, fs, 3.75e9)
    proc = analyze("power", str(meta), "--bandwidth", "20MHz", "--scs", "30kHz", "--json")
    result = json.loads(proc.stdout)
    assert result["absolute"] is True
    assert result["channel_power_dbm"] == pytest.approx(10 * math.log10(20.0), abs=0.05)


# ±30.72 MHz does not reach the n78 mask's far end: inside the mask is undecided, above it fails
@pytest.mark.parametrize(("above_mask_db", "passes"), [(-1.0, None), (1.0, False)])
def test_sem_spur_just_inside_and_just_outside(tmp_path, above_mask_db, passes):
    fs, n = 61.44e6, 1 << 17
    carrier = band_limited(power_w=10.0, width_hz=18.0e6, fs=fs, n=n)  # 40 dBm, 20 MHz channel
    t = np.arange(n) / fs
    # a tone 7.5 MHz beyond the channel edge, against the -14 dBm / 100 kHz segment
    spur_w = 10 ** ((-14.0 + above_mask_db - 30) / 10)
    spur = np.sqrt(spur_w * 50) * np.exp(2j * np.pi * 17.5e6 * t)
    meta = write_capture(tmp_path / "cap", carrier + spur, fs, 3.75e9)
    proc = analyze("sem", str(meta), "--bandwidth", "20MHz", "--scs", "30kHz", "--band", "n78", "--json")
    result = json.loads(proc.stdout)
    assert result["pass"] is passes and proc.returncode == 1
    # 3GPP f_offset: from the channel edge (10 MHz from centre) to the filter centre
    assert result["worst_offset_hz"] == pytest.approx(7.5e6, abs=100e3)
    assert result["worst_frequency_hz"] == pytest.approx(3.75e9 + 17.5e6, abs=100e3)
    assert result["worst_margin_db"] == pytest.approx(-above_mask_db, abs=0.3)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["power", "CAP", "--bandwidth", "10 MHz", "--scs", "45 kHz"], "not in TS 38.104"),
        (["power", "CAP", "--bandwidth", "ten", "--scs", "15kHz"], "is not a frequency"),
        (["evm", "CAP", "--bandwidth", "10MHz", "--scs", "15kHz"], "needs --modulation"),
        (["power", "missing.sigmf-meta", "--bandwidth", "10MHz", "--scs", "15kHz"], "no such SigMF"),
    ],
)
def test_bad_input_is_one_line_exit_2(tmp_path, args, words):
    meta = write_capture(tmp_path / "cap", band_limited(1.0, 8e6, 15.36e6, 1 << 14), 15.36e6, 1842.5e6)
    proc = analyze(*[str(meta) if a == "CAP" else a for a in args])
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and words in proc.stderr and "Traceback" not in proc.stderr
    assert proc.stdout == ""


def test_evm_and_frequency_error_of_a_constructed_capture(tmp_path):
    from tests.signals.nr_ofdm import nr_capture

    signal = nr_capture(
        scs_hz=15e3,
        n_rb=25,
        fft_size=512,
        modulation="16QAM",
        duration_s=2e-3,
        evm_pct=4.0,
        cfo_hz=-2345.0,
        seed=9,
    )
    meta = write_capture(tmp_path / "cap", signal.iq, signal.sample_rate_hz, 2.14e9, impedance_ohms=None)
    args = ["--bandwidth", "5MHz", "--scs", "15kHz", "--json"]
    evm = json.loads(analyze("evm", str(meta), *args, "--modulation", "16qam").stdout)
    assert evm["evm_rms_pct"] == pytest.approx(4.0, abs=max(0.1, 0.03 * 4.0))
    assert evm["reliable"] is True and evm["decision_directed"] is True
    assert evm["freq_error_hz"] == pytest.approx(-2345.0, abs=3.0)
    freq = json.loads(analyze("freq-error", str(meta), *args).stdout)
    assert freq["modulation"] == "16qam" and freq["modulation_detected"] is True  # found from the data
    assert freq["freq_error_hz"] == pytest.approx(-2345.0, abs=3.0)
    assert freq["freq_error_ppm"] == pytest.approx(-2345.0 / 2.14e9 * 1e6, rel=1e-3)


def test_sem_outside_the_encoded_bands_uses_the_open_region_mask(tmp_path):
    fs, n = 61.44e6, 1 << 16
    meta = write_capture(tmp_path / "cap", band_limited(10.0, 18e6, fs, n), fs, 2.0e9)  # n70: no table
    proc = analyze("sem", str(meta), "--bandwidth", "20MHz", "--scs", "30kHz", "--json")
    result = json.loads(proc.stdout)
    # an open region never ends, so no span covers the mask: the pass stays undecided
    assert proc.returncode == 1 and result["pass"] is None and result["complete"] is False
    assert result["mask_generic"] is True and "region open" in result["mask"]


SLOTS = SLOT.parent
# What each srsRAN slot carries (its test's configuration, nr-standards.md §6.2: the C-RNTI PDSCH
# test runs with -N 48; SIB1 sits on 7 PRBs below the SSB): PRBs as [first, last], PDSCH symbols
# (PDCCH on symbol 0 excluded; the SIB1 slot's symbol 1 is empty), DM-RS type A at 2, 7 and 11.
SRSRAN_ALLOCATIONS = {
    "ue_dl_nr_pci500_rb52_rnti0x100_s15.36e6": ([[1, 48]], list(range(1, 14)), "16qam"),
    "ue_dl_nr_pci500_rb52_si_coreset0_idx6_s15.36e6": ([[1, 7]], list(range(2, 14)), "qpsk"),
}


@needs_slot
@pytest.mark.parametrize("stem", list(SRSRAN_ALLOCATIONS))
def test_real_srsran_slot_evm_finds_its_allocation(stem):
    prbs, symbols, modulation = SRSRAN_ALLOCATIONS[stem]
    meta = SLOTS / f"{stem}.sigmf-meta"
    carrier = ("--bandwidth", "10MHz", "--scs", "15kHz")
    proc = analyze("evm", str(meta), *carrier, "--allocation", "auto", "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    # a generated (noise-free) waveform in float32: EVM at the float precision floor, well under 1 %
    assert math.isfinite(result["evm_rms_pct"]) and 0.0 <= result["evm_rms_pct"] < 1.0
    assert result["reliable"] is True and result["modulation"] == modulation
    [allocation] = result["allocation"]
    assert allocation["prbs"] == prbs and allocation["symbols"] == symbols
    assert allocation["dmrs_symbols"] == [2, 7, 11] and allocation["modulation"] == modulation
    assert result["symbols_used"] == [s for s in symbols if s not in (2, 7, 11)]


def test_evm_bad_input_is_one_line_exit_2(tmp_path):
    short = write_capture(tmp_path / "short", band_limited(1.0, 8e6, 15.36e6, 4000), 15.36e6, 1842.5e6)
    proc = analyze("evm", str(short), "--bandwidth", "10MHz", "--scs", "15kHz", "--allocation", "auto")
    assert proc.returncode == 2 and "shorter than one slot" in proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


def test_the_carrier_comes_from_the_capture_when_a_run_recorded_it(tmp_path):
    fs, width = 30.72e6, 18.36e6
    iq = band_limited(power_w=0.02, width_hz=width * 0.999, fs=fs, n=1 << 16)  # 13.01 dBm
    recorded = write_capture(
        tmp_path / "run", iq, fs, 3.75e9, metadata={"bandwidth_hz": 20e6, "scs_hz": 30e3}
    )
    proc = analyze("power", str(recorded), "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert (result["bandwidth_hz"], result["scs_hz"], result["n_rb"]) == (20e6, 30e3, 51)
    assert result["channel_power_dbm"] == pytest.approx(10 * math.log10(20.0), abs=0.05)
    bare = write_capture(tmp_path / "other", iq, fs, 3.75e9)
    proc = analyze("power", str(bare), "--json")
    assert proc.returncode == 2 and proc.stdout == ""
    missing = "--bandwidth is needed (the capture records no fivegbench:bandwidth_hz)"
    assert proc.stderr == f"error: {bare}: {missing}\n"
