"""What a simulated analyzer's own marker and adjacent-channel-power functions compute from the
trace it shows: pure numpy, shared by the FSW and N9030B personalities (their commands differ,
the arithmetic does not).

The instrument's ACP is the integration-bandwidth method of a swept analyzer: the linear sum of
the trace points whose frequency lies inside the channel, times point spacing / ENBW. It is
deliberately cruder than :mod:`fivegbench.reduce.power` (whole points, no fractional edge bins),
so a test comparing the two compares two methods, not one function with itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from fivegbench.sim.spectrum import enbw_hz


@dataclass
class AcpSetup:
    """Channel setup of an ACP measurement: the TX channel and the offset channels
    (offset k: centre at ±spacings_hz[k], width bandwidths_hz[k]; the first ``pairs`` are used)."""

    tx_bandwidth_hz: float
    spacings_hz: list[float]
    bandwidths_hz: list[float]
    pairs: int
    enabled: list[bool] = field(default_factory=list)  # per offset; empty: the first ``pairs``

    def active(self) -> list[int]:
        """Indexes of the offsets measured."""
        if self.enabled:
            return [k for k, on in enumerate(self.enabled) if on]
        return list(range(self.pairs))


def peak_index(trace_dbm: np.ndarray) -> int:
    """The point a peak search puts the marker on: the highest level (the first if tied)."""
    return int(np.argmax(trace_dbm))


def nearest_index(freqs_hz: np.ndarray, frequency_hz: float) -> int:
    """The trace point nearest ``frequency_hz`` (a marker sits on trace points)."""
    return int(np.argmin(np.abs(freqs_hz - frequency_hz)))


def band_power_dbm(
    freqs_hz: np.ndarray, trace_dbm: np.ndarray, rbw_hz: float, lo_hz: float, hi_hz: float
) -> float:
    """Power (dBm) of the trace points in [lo, hi]: Σ P_i · Δf / ENBW. NaN when the trace does
    not reach both edges (the channel is not fully on screen)."""
    if lo_hz < freqs_hz[0] or hi_hz > freqs_hz[-1] or freqs_hz.size < 2:
        return math.nan
    inside = (freqs_hz >= lo_hz) & (freqs_hz <= hi_hz)
    spacing = (freqs_hz[-1] - freqs_hz[0]) / (freqs_hz.size - 1)
    total_mw = (
        float(np.sum(10.0 ** (trace_dbm[inside].astype(np.float64) / 10.0))) * spacing / enbw_hz(rbw_hz)
    )
    return 10.0 * math.log10(total_mw) if total_mw > 0 else -math.inf


def acp_powers_dbm(
    freqs_hz: np.ndarray, trace_dbm: np.ndarray, rbw_hz: float, center_hz: float, setup: AcpSetup
) -> tuple[float, list[tuple[float, float]]]:
    """(TX channel power, [(lower, upper) power of each active offset]) in dBm."""
    half = setup.tx_bandwidth_hz / 2.0
    tx = band_power_dbm(freqs_hz, trace_dbm, rbw_hz, center_hz - half, center_hz + half)
    offsets = []
    for k in setup.active():
        spacing, width = setup.spacings_hz[k], setup.bandwidths_hz[k] / 2.0
        lower = band_power_dbm(
            freqs_hz, trace_dbm, rbw_hz, center_hz - spacing - width, center_hz - spacing + width
        )
        upper = band_power_dbm(
            freqs_hz, trace_dbm, rbw_hz, center_hz + spacing - width, center_hz + spacing + width
        )
        offsets.append((lower, upper))
    return tx, offsets
