"""Bad EVM input: one clear line, exit 2 from ``fivegbench analyze``, and the same ValueError from
the reducer; never a NaN in a result.

(A capture shorter than one slot is covered in tests/test_analyze_cli.py.)"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from fivegbench.captures import write_capture
from fivegbench.cli import main
from fivegbench.reduce.evm import evm
from tests.signals.nr_ofdm import nr_capture

# 10 MHz at 15 kHz: 52 RB in a 1024 FFT at 15.36 MHz
CARRIER = ("--bandwidth", "10MHz", "--scs", "15kHz")
FS = 15.36e6


def signal(modulation: str = "16QAM") -> np.ndarray:
    cap = nr_capture(
        scs_hz=15e3, n_rb=52, fft_size=1024, modulation=modulation, duration_s=2e-3, evm_pct=2.0, seed=3
    )
    return cap.iq.astype(np.complex64)


def analyze_evm(tmp_path: Path, iq: np.ndarray, *args: str, fs: float = FS) -> tuple[int, str, str]:
    meta = write_capture(tmp_path / "cap", iq, fs, 1842.5e6, impedance_ohms=None)
    result = CliRunner().invoke(main, ["analyze", "evm", str(meta), *CARRIER, *args])
    return result.exit_code, result.stdout, result.stderr


def one_error_line(code: int, out: str, err: str) -> str:
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err
    return err


def clipped(iq: np.ndarray, fraction_of_peak: float) -> np.ndarray:
    rail = fraction_of_peak * float(np.max(np.abs(iq.view(np.float32))))
    return (np.clip(iq.real, -rail, rail) + 1j * np.clip(iq.imag, -rail, rail)).astype(np.complex64)


def test_a_good_capture_passes_through_the_same_path(tmp_path: Path) -> None:
    """The control: the path the bad captures take measures a good one (so the refusals below
    are about the input, not the harness)."""
    code, out, err = analyze_evm(tmp_path, signal(), "--modulation", "16qam", "--json")
    assert code == 0, err
    assert json.loads(out)["evm_rms_pct"] == pytest.approx(2.0, abs=0.1)


def test_a_sample_rate_that_cannot_hold_the_carrier(tmp_path: Path) -> None:
    # 20 MHz at 15 kHz is 106 RB: 1272 subcarriers do not fit the 1024 FFT of 15.36 MHz
    meta = write_capture(tmp_path / "cap", signal(), FS, 1842.5e6, impedance_ohms=None)
    result = CliRunner().invoke(
        main, ["analyze", "evm", str(meta), "--bandwidth", "20MHz", "--scs", "15kHz", "--modulation", "qpsk"]
    )
    err = one_error_line(result.exit_code, result.stdout, result.stderr)
    assert "cannot hold the carrier" in err and "19.08 MHz" in err


def test_a_sample_rate_that_is_not_a_multiple_of_the_scs(tmp_path: Path) -> None:
    err = one_error_line(*analyze_evm(tmp_path, signal(), "--modulation", "qpsk", fs=15.1e6))
    assert "not a whole multiple" in err


def test_a_clipped_capture(tmp_path: Path) -> None:
    err = one_error_line(*analyze_evm(tmp_path, clipped(signal(), 0.3), "--allocation", "auto"))
    assert "clipped" in err and "reference level" in err


def test_a_capture_clipped_on_a_few_peaks_only_is_measured(tmp_path: Path) -> None:
    """An OFDM peak is a single sample: clipping its top 0.01 % is not what the check refuses."""
    iq = signal()
    mags = np.abs(iq.view(np.float32))
    at = float(np.quantile(mags, 1 - 4e-5))  # ~6 of 61 440 values clipped
    code, out, err = analyze_evm(tmp_path, clipped(iq, at / mags.max()), "--modulation", "16qam", "--json")
    assert code == 0, err and math.isfinite(json.loads(out)["evm_rms_pct"])


@pytest.mark.parametrize("allocation", [(), ("--allocation", "auto")])
def test_an_all_zero_capture(tmp_path: Path, allocation: tuple[str, ...]) -> None:
    err = one_error_line(
        *analyze_evm(tmp_path, np.zeros(40_000, np.complex64), "--modulation", "qpsk", *allocation)
    )
    assert "carries no signal" in err


def test_a_zero_length_capture(tmp_path: Path) -> None:
    meta = write_capture(tmp_path / "cap", np.zeros(1, np.complex64), FS, 1842.5e6, impedance_ohms=None)
    meta.with_suffix(".sigmf-data").write_bytes(b"")  # a recording that holds no sample
    result = CliRunner().invoke(main, ["analyze", "evm", str(meta), *CARRIER, "--modulation", "qpsk"])
    err = one_error_line(result.exit_code, result.stdout, result.stderr)
    assert err.endswith("cap.sigmf-meta: the recording has no samples\n")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf, complex(0, np.nan)])
def test_non_finite_samples(tmp_path: Path, bad: complex) -> None:
    iq = signal()
    iq[12_345] = bad
    err = one_error_line(*analyze_evm(tmp_path, iq, "--modulation", "16qam"))
    assert "NaN or infinite" in err


def test_a_modulation_that_no_allocation_carries(tmp_path: Path) -> None:
    err = one_error_line(
        *analyze_evm(tmp_path, signal("16QAM"), "--modulation", "256qam", "--allocation", "auto")
    )
    assert "no allocation carries 256QAM (found: 16QAM)" in err


def test_the_reducer_raises_what_the_command_prints() -> None:
    iq = signal()
    for bad, match in [
        (np.zeros(0, np.complex64), "empty"),
        (np.zeros(40_000, np.complex64), "no signal"),
        (clipped(iq, 0.3), "clipped"),
        (np.where(np.arange(iq.size) == 7, np.nan, iq), "NaN or infinite"),
        (np.where(np.arange(iq.size) == 7, np.inf, iq), "NaN or infinite"),
        (iq[:10_000], "shorter than one slot"),
    ]:
        with pytest.raises(ValueError, match=match):
            evm(bad, FS, 15e3, 52, "16QAM")
    with pytest.raises(ValueError, match="no allocation carries 256QAM"):
        evm(iq, FS, 15e3, 52, "256QAM", allocation="auto")
    with pytest.raises(ValueError, match="cannot hold the carrier"):
        evm(iq, FS, 15e3, 106, "16QAM")
