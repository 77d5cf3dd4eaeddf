"""What every swept-spectrum-analyzer driver returns: a :class:`Trace`, which carries the ENBW
factor of the family's RBW filter (each driver's ``ENBW_FACTOR``), and the Gaussian filter's factor.

Shared by :mod:`fivegbench.drivers.analyzer.rs_fsw` and :mod:`fivegbench.drivers.analyzer.keysight_x`
(both re-export ``Trace``, so ``from ...rs_fsw import Trace`` keeps working).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# A Gaussian RBW filter (RBW = its -3 dB width) has ENBW = RBW * sqrt(pi / (4 ln 2)) ~= 1.0645 * RBW.
GAUSSIAN_ENBW_FACTOR = math.sqrt(math.pi / (4 * math.log(2)))


@dataclass(frozen=True)
class Trace:
    """One swept trace: power per point in dBm (RMS detector), with its frequency axis and the
    settings it was taken with, all read back from the instrument. ``enbw_factor`` is ENBW / RBW
    of the analyzer's RBW filter (channel power = Σ P_i·Δf / (enbw_factor·rbw_hz))."""

    freqs_hz: np.ndarray
    power_dbm: np.ndarray
    rbw_hz: float
    vbw_hz: float
    detector: str
    sweep_time_s: float
    attenuation_db: float
    reference_level_dbm: float
    overload: tuple[str, ...]  # the overload conditions the analyzer reported; empty: none
    enbw_factor: float
