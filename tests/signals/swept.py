"""Swept-analyzer traces built analytically: rectangular PSDs convolved exactly (erf) with a
Gaussian RBW filter, plus a known noise density and optional RMS-detector fluctuation. The truth
of every trace is the construction's parameters."""

from __future__ import annotations

import math

import numpy as np
from scipy.special import erf

SIGMA_PER_RBW = 1.0 / (2.0 * math.sqrt(2.0 * math.log(2.0)))
ENBW_FACTOR = math.sqrt(2.0 * math.pi) * SIGMA_PER_RBW  # exact ENBW/RBW of the Gaussian: 1.0645


def grid(center_hz: float, span_hz: float, step_hz: float, shift: float = 0.0) -> np.ndarray:
    """Evenly spaced points covering center +- span/2, shifted by ``shift`` x step."""
    n = round(span_hz / step_hz)
    return center_hz - span_hz / 2 + (np.arange(n + 1) + shift) * step_hz


def synth_trace(
    freqs_hz: np.ndarray,
    rbw_hz: float,
    rects: list[tuple[float, float, float]],
    noise_dbm_per_hz: float | None = None,
    gamma_k: float | None = None,
    seed: int = 0,
) -> np.ndarray:
    """Displayed dBm per point. ``rects`` = [(centre Hz, width Hz, total power dBm)]."""
    sigma = rbw_hz * SIGMA_PER_RBW
    enbw = ENBW_FACTOR * rbw_hz
    p = np.zeros_like(freqs_hz)
    for c, width, p_dbm in rects:
        density = 10 ** (p_dbm / 10) / width  # mW/Hz
        a, b = c - width / 2, c + width / 2
        s2 = sigma * math.sqrt(2.0)
        p += density * enbw * 0.5 * (erf((freqs_hz - a) / s2) - erf((freqs_hz - b) / s2))
    if noise_dbm_per_hz is not None:
        p += 10 ** (noise_dbm_per_hz / 10) * enbw
    if gamma_k is not None:
        rng = np.random.default_rng(seed)
        p *= rng.gamma(gamma_k, 1.0 / gamma_k, size=p.shape)
    with np.errstate(divide="ignore"):
        return 10 * np.log10(p)
