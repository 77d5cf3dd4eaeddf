"""Frequency error against NR captures with a known carrier offset."""

from __future__ import annotations

import pytest

from fivegbench.reduce.freq_error import frequency_error, ppm
from tests.signals.nr_ofdm import nr_capture

CFOS = [3700.0, -3700.0, -4900.0, 1234.5, 0.0]


@pytest.mark.parametrize("cfo_hz", CFOS)
def test_cp_estimate_on_10ms(cfo_hz: float) -> None:
    """10 ms, 5 MHz at 15 kHz: per-RE error (8 % EVM, copied into the CP) plus 40 dB white noise."""
    cap = nr_capture(
        scs_hz=15e3,
        n_rb=25,
        fft_size=512,
        modulation="64QAM",
        duration_s=10e-3,
        evm_pct=8.0,
        snr_db=40.0,
        cfo_hz=cfo_hz,
        seed=int(abs(cfo_hz)),
    )
    r = frequency_error(cap.iq, cap.sample_rate_hz, 15e3, fft_size=512)
    assert abs(r.freq_error_hz - cfo_hz) <= 3.0
    assert r.method == "cp" and r.fft_size == 512
    assert r.timing_offset_samples == cap.first_cp_start
    assert r.n_symbols == cap.n_complete and 9.0e-3 < r.observation_s <= 10e-3


@pytest.mark.parametrize("cfo_hz", CFOS)
def test_data_refined_estimate_in_noise(cfo_hz: float) -> None:
    """26 dB in-band SNR: the CP estimate alone spreads by ~2 Hz rms here; the common-phase slope
    over the whole capture brings it to hundredths of a hertz."""
    cap = nr_capture(
        scs_hz=15e3,
        n_rb=25,
        fft_size=512,
        modulation="64QAM",
        duration_s=10e-3,
        snr_db=26.0,
        cfo_hz=cfo_hz,
        seed=100 + int(abs(cfo_hz)),
    )
    r = frequency_error(cap.iq, cap.sample_rate_hz, 15e3, n_rb=25, modulation="64QAM")
    assert r.method == "cp+data"
    assert abs(r.freq_error_hz - cfo_hz) <= 0.5
    assert abs(r.cp_freq_error_hz - cfo_hz) <= 10.0


def test_ppm_and_errors() -> None:
    assert ppm(175.0, 3.5e9) == pytest.approx(0.05)
    assert ppm(-187.5, 3.75e9) == pytest.approx(-0.05)
    with pytest.raises(ValueError):
        ppm(1.0, 0.0)
    cap = nr_capture(scs_hz=30e3, n_rb=11, fft_size=256, modulation="QPSK", duration_s=1e-3, seed=1)
    with pytest.raises(ValueError, match="both"):
        frequency_error(cap.iq, cap.sample_rate_hz, 30e3, n_rb=11)
    with pytest.raises(ValueError, match="does not match"):
        frequency_error(cap.iq, cap.sample_rate_hz, 30e3, fft_size=512)
