"""Integrated channel power of a swept-spectrum-analyzer trace.

A swept analyzer with an RMS detector displays, at each trace point f_i, the power that passes its
RBW filter centred on f_i (dBm "in the RBW"). Integrating the displayed power density over a
channel therefore divides by the noise-equivalent bandwidth of that filter, not by the RBW::

    P_ch = sum_i w_i * P_i[mW] * df / ENBW,      ENBW = enbw_factor * RBW

with ``df`` the point spacing and ``w_i`` in [0, 1] the fraction of point i's bin
[f_i - df/2, f_i + df/2] that lies inside the channel, so that the result does not jump when the
channel edges move relative to the trace points.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

__all__ = ["channel_power_dbm", "channel_power_mw"]

# Allowed deviation of each step from the mean spacing, relative to the spacing. Analyzers report
# frequency lists computed from start/stop and often rounded to 1 Hz; a 0.1 % unevenness changes
# the integral by far less than the analyzer's own uncertainty.
_SPACING_RTOL = 1e-3


def _validated_trace(
    freqs_hz: npt.ArrayLike, trace_dbm: npt.ArrayLike, rbw_hz: float, enbw_factor: float
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], float]:
    """Check a trace and return (freqs Hz, power per point mW, point spacing Hz).

    Raises ValueError for mismatched/short/non-finite inputs, uneven or non-increasing spacing,
    and for an undersampled trace (spacing wider than the RBW).
    """
    f = np.asarray(freqs_hz, dtype=np.float64)
    p = np.asarray(trace_dbm, dtype=np.float64)
    if f.ndim != 1 or p.ndim != 1:
        raise ValueError("freqs_hz and trace_dbm must be one-dimensional arrays")
    if f.shape != p.shape:
        raise ValueError(f"freqs_hz has {f.size} points but trace_dbm has {p.size}")
    if f.size < 2:
        raise ValueError(f"a trace needs at least 2 points, got {f.size}")
    if not np.all(np.isfinite(f)):
        raise ValueError("freqs_hz contains NaN or infinite values")
    if np.any(np.isnan(p)) or np.any(p == np.inf):
        raise ValueError("trace_dbm contains NaN or +inf values")
    if not (math.isfinite(rbw_hz) and rbw_hz > 0):
        raise ValueError(f"rbw_hz must be a positive number, got {rbw_hz!r}")
    if not (math.isfinite(enbw_factor) and enbw_factor > 0):
        raise ValueError(f"enbw_factor must be a positive number, got {enbw_factor!r}")
    steps = np.diff(f)
    df = float(f[-1] - f[0]) / (f.size - 1)
    if df <= 0 or np.any(steps <= 0):
        raise ValueError("freqs_hz must be strictly increasing")
    tol = _SPACING_RTOL * df
    worst = float(np.max(np.abs(steps - df)))
    if worst > tol:
        raise ValueError(
            f"freqs_hz is not evenly spaced: steps deviate by up to {worst:.6g} Hz from the mean "
            f"spacing {df:.6g} Hz"
        )
    if df > rbw_hz * (1 + 1e-9):
        raise ValueError(
            f"trace is undersampled: point spacing {df:.6g} Hz exceeds the RBW {rbw_hz:.6g} Hz, "
            "so the integral misses power between points; use more points or a wider RBW"
        )
    with np.errstate(under="ignore"):
        p_mw = np.power(10.0, p / 10.0)
    return f, p_mw, df


def _bin_weights(
    f: npt.NDArray[np.float64], df: float, lo_hz: float, hi_hz: float
) -> npt.NDArray[np.float64]:
    """Fraction (0..1) of each point's bin [f - df/2, f + df/2] inside [lo_hz, hi_hz]."""
    overlap = np.minimum(f + df / 2, hi_hz) - np.maximum(f - df / 2, lo_hz)
    return np.clip(overlap / df, 0.0, 1.0)


def _integrate_mw(
    f: npt.NDArray[np.float64],
    p_mw: npt.NDArray[np.float64],
    df: float,
    enbw_hz: float,
    center_hz: float,
    bandwidth_hz: float,
    what: str = "channel",
) -> float:
    """Integrated power in mW over [center - bw/2, center + bw/2] of a validated trace."""
    if not (math.isfinite(center_hz) and math.isfinite(bandwidth_hz) and bandwidth_hz > 0):
        raise ValueError(
            f"{what}: need a finite centre and a positive bandwidth, got {center_hz!r}, {bandwidth_hz!r}"
        )
    lo, hi = center_hz - bandwidth_hz / 2, center_hz + bandwidth_hz / 2
    slack = 1e-6 * df  # float rounding of computed edges
    if lo < f[0] - slack or hi > f[-1] + slack:
        raise ValueError(
            f"{what} [{lo / 1e6:.6f}, {hi / 1e6:.6f}] MHz is not fully inside the trace span "
            f"[{f[0] / 1e6:.6f}, {f[-1] / 1e6:.6f}] MHz"
        )
    w = _bin_weights(f, df, lo, hi)
    return float(np.sum(w * p_mw)) * df / enbw_hz


def _to_dbm(p_mw: float) -> float:
    return 10.0 * math.log10(p_mw) if p_mw > 0 else -math.inf


def channel_power_mw(
    freqs_hz: npt.ArrayLike,
    trace_dbm: npt.ArrayLike,
    rbw_hz: float,
    enbw_factor: float,
    center_hz: float,
    bandwidth_hz: float,
) -> float:
    """Integrated power in mW over a channel; see :func:`channel_power_dbm` (same arguments)."""
    f, p_mw, df = _validated_trace(freqs_hz, trace_dbm, rbw_hz, enbw_factor)
    return _integrate_mw(f, p_mw, df, enbw_factor * rbw_hz, center_hz, bandwidth_hz)


def channel_power_dbm(
    freqs_hz: npt.ArrayLike,
    trace_dbm: npt.ArrayLike,
    rbw_hz: float,
    enbw_factor: float,
    center_hz: float,
    bandwidth_hz: float,
) -> float:
    """Integrated power over [center_hz - bandwidth_hz/2, center_hz + bandwidth_hz/2].

    Parameters
    ----------
    freqs_hz : array_like, shape (n,)
        Trace point frequencies in Hz, strictly increasing and evenly spaced (spacing df).
    trace_dbm : array_like, shape (n,)
        Displayed power at each point in dBm in the RBW (RMS detector). ``-inf`` is allowed.
    rbw_hz : float
        Resolution bandwidth (3 dB bandwidth of the RBW filter) in Hz.
    enbw_factor : float
        Noise-equivalent bandwidth of the RBW filter divided by the RBW (dimensionless);
        1.0645 for a Gaussian filter. Supplied by the caller (it depends on the analyzer).
    center_hz : float
        Channel centre frequency in Hz.
    bandwidth_hz : float
        Integration bandwidth in Hz (square filter), e.g. BW_Config for NR.

    Returns
    -------
    float
        Channel power in dBm: ``10 log10(sum_i w_i P_i[mW] df / (enbw_factor rbw_hz))``, where
        w_i is the fraction of point i's bin [f_i - df/2, f_i + df/2] inside the channel.
        ``-inf`` if the trace holds no power in the channel.

    Raises
    ------
    ValueError
        If the channel is not fully inside [freqs_hz[0], freqs_hz[-1]], if the spacing is
        uneven or not increasing, if df > rbw_hz (undersampled trace), or for malformed input.
    """
    return _to_dbm(channel_power_mw(freqs_hz, trace_dbm, rbw_hz, enbw_factor, center_hz, bandwidth_hz))
