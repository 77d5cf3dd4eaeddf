"""ACLR and OBW of a 1,000,000-sample capture vs one FFT of the same length, in the same run.

    .venv/bin/python benchmarks/reduce.py

Target (issue #3): each at most 3x the time of one numpy FFT of 1,000,000 samples.
"""

from __future__ import annotations

import sys

import numpy as np
from timing import median_seconds

from fivegbench.nr.bandwidth import config_bandwidth_hz
from fivegbench.reduce.aclr import aclr
from fivegbench.reduce.obw import occupied_bandwidth
from fivegbench.reduce.spectrum import iq_spectrum

SAMPLES = 1_000_000
SAMPLE_RATE = 61.44e6
BANDWIDTH, SCS = 10e6, 15e3


def capture() -> np.ndarray:
    """Band-limited noise: a 10 MHz carrier at 61.44 Msps (adjacent channels in the span)."""
    rng = np.random.default_rng(3)
    spectrum = rng.normal(size=SAMPLES) + 1j * rng.normal(size=SAMPLES)
    freqs = np.fft.fftfreq(SAMPLES, 1 / SAMPLE_RATE)
    spectrum[np.abs(freqs) > config_bandwidth_hz(BANDWIDTH, SCS) / 2] *= 1e-3
    return np.fft.ifft(spectrum).astype(np.complex64)


def main() -> int:
    iq = capture()

    def run_aclr() -> object:
        s = iq_spectrum(iq, SAMPLE_RATE, 50.0)
        return aclr(
            s.freqs_hz,
            s.power_dbm,
            s.rbw_hz,
            s.enbw_factor,
            0.0,
            BANDWIDTH,
            config_bandwidth_hz(BANDWIDTH, SCS),
        )

    def run_obw() -> object:
        s = iq_spectrum(iq, SAMPLE_RATE, 50.0)
        return occupied_bandwidth(s.freqs_hz, s.power_dbm, s.rbw_hz, s.enbw_factor)

    fft = median_seconds(lambda: np.fft.fft(iq))
    rows = [
        ("ACLR, 1,000,000 samples", median_seconds(run_aclr)),
        ("OBW, 1,000,000 samples", median_seconds(run_obw)),
    ]
    print(f"{'figure':<28} {'ours (ms)':>10} {'FFT (ms)':>10} {'ratio':>7}  target")
    ok = True
    for name, seconds in rows:
        ratio = seconds / fft
        ok &= ratio <= 3.0
        verdict = "ok" if ratio <= 3 else "MISSED"
        print(f"{name:<28} {seconds * 1e3:>10.2f} {fft * 1e3:>10.2f} {ratio:>7.2f}  <= 3x  {verdict}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
