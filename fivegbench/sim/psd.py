"""Power spectral density of the simulated gNB's PA output, computed from the synthesized frame.

:func:`pa_output_psd` drives the DL samples of :func:`fivegbench.sim.waveform.synthesize`'s frame
through the PA exactly as :func:`fivegbench.sim.waveform.capture` does
(:func:`~fivegbench.sim.waveform.pa_output`), estimates their density by Welch's method and adds
the PA noise floor (analytic, flat over the synthesis band, as ``capture`` adds it). It is the
density a gated analyzer sees while the gNB transmits: guard and UL symbols are left out.

Estimator
    Hann-windowed segments of ``2^k`` samples with bins of at most :data:`MAX_BIN_HZ`, 50 %
    overlap, each lying wholly inside one run of consecutive DL samples, so no segment straddles a
    TX on/off edge (whose splatter a gated measurement excludes). 9.375 kHz bins at the n78
    100 MHz rate (614.4 Msps, 65536 samples): the Hann ENBW (1.5 bins, 14 kHz) is under half the
    narrowest RBW a plan uses (30 kHz), so the estimator's own resolution widens a 30 kHz RBW by
    ~10 %, and it resolves the 845 kHz raised-cosine channel edge and single PRBs (360 kHz).
    Averaging ~280 segments of a 20 ms TDD frame leaves ~6 % scatter per bin, a fixed pattern
    per configuration (the frame is deterministic); a trace point or channel integrates many bins.

Not in the density [U]
    Phase noise (0.2 deg rms, 300 kHz corner): it spreads ~-49 dBc of the carrier within a few
    hundred kHz; its share in an adjacent channel is ~-73 dBc, under the PA floor's -65 dBc.
    The carrier frequency error is a shift of the axis, applied by the caller.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
import numpy.typing as npt
import scipy.fft as sfft

from fivegbench.sim.waveform import (
    IMPEDANCE_OHMS,
    Frame,
    Transmitter,
    pa_noise_density_v2_per_hz,
    pa_output,
    synthesize,
)

__all__ = ["MAX_BIN_HZ", "Psd", "pa_output_psd"]

MAX_BIN_HZ = 10e3
"""Widest Welch bin, Hz (see the module docstring)."""
_BATCH = 16  # segments transformed at once (bounds the working memory to ~8 MB at 614.4 Msps)


@dataclass(frozen=True, eq=False)
class Psd:
    """A density that is constant within each bin, at the PA output (antenna connector).

    Attributes
    ----------
    edges_hz : float64 (n + 1,), bin edges, Hz from the nominal carrier frequency.
    cumulative_mw : float64 (n + 1,), power below each edge, mW (0 at the first edge).
    """

    edges_hz: npt.NDArray[np.float64]
    cumulative_mw: npt.NDArray[np.float64]

    @property
    def total_mw(self) -> float:
        """Total power, mW."""
        return float(self.cumulative_mw[-1])

    def power_mw(self, lo_hz: npt.ArrayLike, hi_hz: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Power between ``lo_hz`` and ``hi_hz`` (offsets from the nominal carrier), mW."""
        return self.cumulative_below(hi_hz) - self.cumulative_below(lo_hz)

    def cumulative_below(self, f_hz: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Power below each frequency in ``f_hz`` (offsets from the nominal carrier), mW: exact
        for a density constant within each bin."""
        return np.interp(np.asarray(f_hz, dtype=np.float64), self.edges_hz, self.cumulative_mw)


def pa_output_psd(tx: Transmitter) -> Psd:
    """The density of ``tx``'s PA output over its DL symbols (cached per frame and drive)."""
    # what only shifts the density (carrier, its error) or is left out (phase noise) is zeroed,
    # so transmitters differing only there share one entry
    return _psd(replace(tx, carrier_frequency_hz=0.0, freq_error_ppm=0.0, phase_noise_rms_deg=0.0))


@lru_cache(maxsize=8)
def _psd(tx: Transmitter) -> Psd:
    """The cache behind :func:`pa_output_psd`."""
    frame = synthesize(tx.frame)
    fs = frame.sample_rate_hz
    runs = _dl_runs(frame)
    if not runs:
        raise ValueError(f"{tx.frame.test_model} with pattern {tx.frame.tdd_pattern} has no DL symbol")
    longest = max(hi - lo for lo, hi in runs)
    # 2^k samples with bins <= MAX_BIN_HZ, or as many as the longest DL run holds
    nperseg = 1 << min(math.ceil(math.log2(fs / MAX_BIN_HZ)), int(math.log2(longest)))
    window = np.hanning(nperseg + 1)[:-1].astype(np.float32)  # periodic Hann
    hop = nperseg // 2
    acc = np.zeros(nperseg)  # sum of |FFT|^2 over the segments
    count = 0
    for lo, hi in runs:
        n_seg = (hi - lo - nperseg) // hop + 1
        if n_seg < 1:
            continue
        first = lo + (hi - lo - nperseg - (n_seg - 1) * hop) // 2  # the segments centred in the run
        y = pa_output(tx, frame.samples[first : first + nperseg + (n_seg - 1) * hop])
        segments = np.lib.stride_tricks.as_strided(
            y, shape=(n_seg, nperseg), strides=(hop * y.itemsize, y.itemsize), writeable=False
        )
        for b in range(0, n_seg, _BATCH):
            spectra = sfft.fft(segments[b : b + _BATCH] * window, axis=1, workers=-1, overwrite_x=True)
            parts = spectra.view(np.float32)  # re, im interleaved
            acc += np.einsum("ij,ij->j", parts, parts).reshape(nperseg, 2).sum(axis=1)
            count += spectra.shape[0]
    bin_hz = fs / nperseg
    v2_per_hz = acc / (count * fs * float(np.sum(window.astype(np.float64) ** 2)))
    mw_per_hz = (np.fft.fftshift(v2_per_hz) + pa_noise_density_v2_per_hz(tx)) * 1e3 / IMPEDANCE_OHMS
    edges = np.asarray((np.arange(nperseg + 1) - nperseg // 2 - 0.5) * bin_hz, dtype=np.float64)
    cumulative = np.concatenate([[0.0], np.cumsum(mw_per_hz * bin_hz)])
    edges.setflags(write=False)
    cumulative.setflags(write=False)
    return Psd(edges, cumulative)


def _dl_runs(frame: Frame) -> list[tuple[int, int]]:
    """[start, stop) sample ranges of the runs of consecutive DL symbols of ``frame``."""
    dl = frame.grid.dl_symbols
    change = np.flatnonzero(np.diff(dl.astype(np.int8))) + 1
    bounds = np.concatenate([[0], change, [dl.size]])
    starts = np.append(frame.symbol_start, frame.samples.size)  # symbol k: starts[k] .. starts[k + 1]
    return [(int(starts[a]), int(starts[b])) for a, b in itertools.pairwise(bounds) if dl[a]]
