"""Occupied bandwidth, TS 38.104 §6.6.2 [V]: the width containing 99 % of the total power.

"The occupied bandwidth is the width of a frequency band such that, below the lower and above the
upper frequency limits, the mean powers emitted are each equal to a specified percentage β/2 of
the total mean transmitted power", β/2 = 0.5 %. The requirement is OBW ≤ the BS channel bandwidth
(:data:`fivegbench.nr.requirements.OCCUPIED_BANDWIDTH_MAX`).

Computation, for a swept trace or :func:`fivegbench.reduce.spectrum.iq_spectrum` output:

* each point i stands for the bin [f_i - df/2, f_i + df/2] holding P_i·df/ENBW (mW), the same
  bin model as :func:`fivegbench.reduce.power.channel_power_dbm`; the total is the sum over the
  whole trace (so the span should cover the emission, and a noise floor counts as emission);
* within a bin the power is taken as uniformly spread, so the cumulative power is piecewise linear
  in frequency and the limits are found by linear interpolation inside the bin where the
  cumulative crosses (1 - fraction)/2 of the total: the result moves smoothly with the signal
  rather than in whole bins;
* the lower limit accumulates from the low end of the trace and the upper limit from the high
  end, so each side is computed from its own tail (no cancellation against the carrier power).

For a flat rectangular band of width B the result is 0.99·B exactly whenever 0.5 % of B exceeds
one bin (the crossing then falls in a fully occupied bin).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from fivegbench.reduce.power import _to_dbm, _validated_trace

__all__ = ["ObwResult", "occupied_bandwidth"]


@dataclass(frozen=True)
class ObwResult:
    """Occupied bandwidth of a spectrum.

    Attributes
    ----------
    obw_hz : upper_hz - lower_hz, Hz.
    lower_hz, upper_hz : frequencies (in the trace's frequency axis) below/above which
        (1 - fraction)/2 of the total power lies, Hz.
    total_dbm : total power of the trace, dBm (dB re |x|² = 1 for a dBFS spectrum).
    fraction : the power fraction inside [lower_hz, upper_hz] (0.99 for TS 38.104).
    """

    obw_hz: float
    lower_hz: float
    upper_hz: float
    total_dbm: float
    fraction: float = 0.99

    @property
    def center_hz(self) -> float:
        """Midpoint of the occupied band, Hz."""
        return 0.5 * (self.lower_hz + self.upper_hz)

    def values(self) -> dict[str, float]:
        """Named measured values: ``occupied_bandwidth`` (Hz)."""
        return {"occupied_bandwidth": self.obw_hz}


def _crossing_from_low(edges: npt.NDArray[np.float64], p: npt.NDArray[np.float64], target: float) -> float:
    """Frequency where the piecewise-linear cumulative of ``p`` over ``edges`` reaches ``target``.

    ``edges`` has len(p) + 1 increasing values; bin i spans [edges[i], edges[i+1]]. ``target`` must
    be in (0, sum(p)).
    """
    cum = np.concatenate(([0.0], np.cumsum(p)))
    j = int(np.searchsorted(cum, target, side="left"))  # first edge with cum >= target; j >= 1
    j = min(max(j, 1), p.size)
    i = j - 1  # the bin where the crossing lies: cum[i] < target <= cum[i + 1], so p[i] > 0
    frac = (target - cum[i]) / p[i] if p[i] > 0 else 1.0
    frac = min(max(frac, 0.0), 1.0)
    return float(edges[i] + frac * (edges[i + 1] - edges[i]))


def occupied_bandwidth(
    freqs_hz: npt.ArrayLike,
    power_dbm: npt.ArrayLike,
    rbw_hz: float,
    enbw_factor: float,
    fraction: float = 0.99,
) -> ObwResult:
    """Occupied bandwidth: ``fraction`` of the total power inside, (1 - fraction)/2 beyond each edge.

    Parameters
    ----------
    freqs_hz : array_like, shape (n,)
        Trace point frequencies, Hz, strictly increasing and evenly spaced.
    power_dbm : array_like, shape (n,)
        Power per point in the RBW (dBm, or dB re |x|² = 1: the bandwidth does not depend on the
        scale). ``-inf`` is allowed.
    rbw_hz, enbw_factor : float
        As for :func:`fivegbench.reduce.power.channel_power_dbm`.
    fraction : float
        Power fraction inside the band, 0 < fraction < 1; 0.99 per TS 38.104 §6.6.2.

    Returns
    -------
    ObwResult

    Raises
    ------
    ValueError
        For a malformed trace (as ``channel_power_dbm``), a fraction outside (0, 1), or a trace
        without power.
    """
    if not (isinstance(fraction, int | float) and 0.0 < fraction < 1.0):
        raise ValueError(f"fraction must be strictly between 0 and 1, got {fraction!r}")
    f, p_mw, df = _validated_trace(freqs_hz, power_dbm, rbw_hz, enbw_factor)
    p = p_mw * (df / (enbw_factor * rbw_hz))  # mW per bin
    total = float(np.sum(p))
    if not (total > 0 and math.isfinite(total)):
        raise ValueError("the trace holds no power: the occupied bandwidth is undefined")
    tail = 0.5 * (1.0 - fraction) * total
    edges = np.concatenate((f - df / 2, [f[-1] + df / 2]))
    lower = _crossing_from_low(edges, p, tail)
    upper = -_crossing_from_low(-edges[::-1], p[::-1], tail)
    return ObwResult(
        obw_hz=upper - lower,
        lower_hz=lower,
        upper_hz=upper,
        total_dbm=_to_dbm(total),
        fraction=float(fraction),
    )
