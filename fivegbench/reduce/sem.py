"""Spectrum emission mask (operating band unwanted emissions), TS 38.104 §6.6.4.

For every mask segment and each side of the channel, a square measurement filter of the segment's
measurement bandwidth (MBW) slides across the segment's offsets: filter centre f_offset from the
channel edge, in steps of min(point spacing, MBW/2), from the segment start while f_offset < stop
(clipped to the side's f_offsetmax, :meth:`fivegbench.nr.masks.Mask.offset_max_hz`). At each
position the power inside the filter is the integral of :func:`fivegbench.reduce.power.channel_power_dbm`
(Σ w_i·P_i·df / (enbw_factor·rbw), w_i the fraction of point i's bin inside the filter; evaluated
through the piecewise-linear cumulative power, which is the same sum), compared with the limit
at that f_offset:

    margin = limit - measured   (dB; positive = inside the mask)

The minimum requirement is the mask itself (``worst_margin_db``); the test requirement adds the
mask's test tolerance (``worst_test_margin_db`` = worst margin + TT) and ``passed`` judges the
test requirement: every evaluated position has measured ≤ limit + TT.

Coverage: a filter position is evaluated only if the filter lies inside the trace span
[freqs[0], freqs[-1]]. Segments (or parts of them) the span does not reach are listed in
``SemResult.uncovered`` and ``complete`` is False: ``passed`` then says only that no *evaluated*
position failed, and a conformance verdict must also require ``complete``.

Units: the trace must be in dBm (a swept trace, or :func:`fivegbench.reduce.spectrum.iq_spectrum`
with an impedance); the mask limits are absolute. For an I/Q spectrum add the RF centre frequency
to ``freqs_hz`` and pass the RF ``center_hz`` when the mask is tied to a band.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from fivegbench.nr.masks import Mask, MaskSegment
from fivegbench.reduce.power import _validated_trace

__all__ = ["SegmentResult", "SemResult", "spectrum_emission_mask"]

# Relative slack for float rounding of computed filter edges against the span (as power.py).
_EDGE_SLACK = 1e-6


@dataclass(frozen=True)
class SegmentResult:
    """One mask segment on one side of the carrier.

    Attributes
    ----------
    side : ``"lower"`` or ``"upper"``.
    index : index of the segment in ``Mask.segments``.
    offset_start_hz, offset_stop_hz : the f_offset range [start, stop) to evaluate after clipping
        to f_offsetmax, Hz (unsigned); stop may be ``inf`` for an open-ended mask without a region.
    measurement_bandwidth_hz : filter width, Hz.
    coverage : ``"full"``, ``"partial"``, ``"none"`` (the span does not reach it) or ``"empty"``
        (the segment lies beyond f_offsetmax on this side: nothing to evaluate).
    n_evaluated : number of filter positions evaluated.
    worst_margin_db : min over positions of limit - measured, dB (nan if none evaluated).
    worst_offset_hz : signed f_offset of the worst position (negative below the carrier), Hz.
    worst_frequency_hz : filter centre of the worst position in the trace's frequency axis, Hz.
    worst_power_dbm, worst_limit_dbm : measured power and limit there, dBm in the MBW.
    offsets_hz, power_dbm, limit_dbm : every evaluated position (signed offsets), for plots.
    """

    side: str
    index: int
    offset_start_hz: float
    offset_stop_hz: float
    measurement_bandwidth_hz: float
    coverage: str
    n_evaluated: int
    worst_margin_db: float
    worst_offset_hz: float
    worst_frequency_hz: float
    worst_power_dbm: float
    worst_limit_dbm: float
    offsets_hz: npt.NDArray[np.float64] = field(repr=False, compare=False)
    power_dbm: npt.NDArray[np.float64] = field(repr=False, compare=False)
    limit_dbm: npt.NDArray[np.float64] = field(repr=False, compare=False)


@dataclass(frozen=True)
class SemResult:
    """Spectrum emission mask result.

    Attributes
    ----------
    worst_margin_db : min over all evaluated positions of limit - measured (minimum requirement).
    worst_offset_hz : signed f_offset of that position from its channel edge (negative below).
    worst_frequency_hz : its filter centre in the trace's frequency axis.
    test_tolerance_db : the mask's test tolerance; ``tolerance_unverified`` if it is [U].
    worst_test_margin_db : worst_margin_db + test_tolerance_db (test requirement).
    passed : every evaluated position within limit + test tolerance.
    complete : every segment on both sides was fully evaluated.
    mask_unverified : the mask holds [U] numbers.
    lower, upper : per-segment details below / above the carrier.
    uncovered : human-readable list of segments not (fully) covered by the span.
    """

    worst_margin_db: float
    worst_offset_hz: float
    worst_frequency_hz: float
    test_tolerance_db: float
    tolerance_unverified: bool
    worst_test_margin_db: float
    passed: bool
    complete: bool
    mask_unverified: bool
    lower: tuple[SegmentResult, ...]
    upper: tuple[SegmentResult, ...]
    uncovered: tuple[str, ...]

    def values(self) -> dict[str, float]:
        """Named measured values: ``sem_worst_margin`` (dB, vs the minimum requirement)."""
        return {"sem_worst_margin": self.worst_margin_db}


def _window_power_mw(
    edges: npt.NDArray[np.float64],
    cum: npt.NDArray[np.float64],
    lo: npt.NDArray[np.float64],
    hi: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    """Σ w_i P_i for windows [lo, hi], from the cumulative over bin edges (piecewise linear)."""
    return np.maximum(np.interp(hi, edges, cum) - np.interp(lo, edges, cum), 0.0)


def _grid(start: float, stop: float, step: float, reach: float) -> npt.NDArray[np.float64]:
    """Offsets start + k·step (k = 0, 1, ...) that are < stop and <= reach."""
    hi = min(stop - 1e-9 * step, reach + 1e-9 * step)
    if not hi >= start:
        return np.empty(0)
    n = math.floor((hi - start) / step) + 1
    return start + step * np.arange(n, dtype=np.float64)


def _side(
    side: str,
    edges: npt.NDArray[np.float64],
    cum: npt.NDArray[np.float64],
    span: tuple[float, float],
    scale: float,
    channel_edge: float,
    offset_max: float,
    mask: Mask,
    df: float,
) -> list[SegmentResult]:
    """Evaluate all segments on one side; the axis is mirrored for the lower side (sign -1)."""
    sign = -1.0 if side == "lower" else 1.0
    out = []
    for idx, seg in enumerate(mask.segments):
        out.append(_segment(side, sign, idx, seg, edges, cum, span, scale, channel_edge, offset_max, df))
    return out


def _segment(
    side: str,
    sign: float,
    idx: int,
    seg: MaskSegment,
    edges: npt.NDArray[np.float64],
    cum: npt.NDArray[np.float64],
    span: tuple[float, float],
    scale: float,
    channel_edge: float,
    offset_max: float,
    df: float,
) -> SegmentResult:
    mbw = seg.measurement_bandwidth_hz
    start, stop = seg.offset_start_hz, min(seg.offset_stop_hz, offset_max)
    step = min(df, mbw / 2)
    # In the (possibly mirrored) axis u = sign * f, offsets grow away from the carrier and the
    # filter centre is at u = channel_edge + offset; the span is [span[0], span[1]] in u.
    slack = _EDGE_SLACK * df
    lo_ok = span[0] - slack - (channel_edge - mbw / 2)  # smallest offset whose filter fits
    reach = span[1] + slack - (channel_edge + mbw / 2)  # largest offset whose filter fits
    nan = math.nan
    empty = np.empty(0)
    if stop <= start:
        return SegmentResult(
            side, idx, start, stop, mbw, "empty", 0, nan, nan, nan, nan, nan, empty, empty, empty
        )
    offsets = _grid(start, stop, step, reach)
    offsets = offsets[offsets >= lo_ok]
    if offsets.size == 0:
        coverage = "none"
    elif math.isinf(stop):
        coverage = "partial"  # open-ended (no OBUE region): a finite span never covers it
    else:
        coverage = "full" if offsets.size == _grid(start, stop, step, math.inf).size else "partial"
    if offsets.size == 0:
        return SegmentResult(
            side, idx, start, stop, mbw, coverage, 0, nan, nan, nan, nan, nan, empty, empty, empty
        )
    centre_u = channel_edge + offsets
    p_mw = _window_power_mw(edges, cum, centre_u - mbw / 2, centre_u + mbw / 2) * scale
    with np.errstate(divide="ignore"):
        power = 10.0 * np.log10(p_mw)
    limit = seg.limit_dbm(offsets)
    margin = limit - power
    k = int(np.argmin(margin))
    return SegmentResult(
        side=side,
        index=idx,
        offset_start_hz=start,
        offset_stop_hz=stop,
        measurement_bandwidth_hz=mbw,
        coverage=coverage,
        n_evaluated=int(offsets.size),
        worst_margin_db=float(margin[k]),
        worst_offset_hz=float(sign * offsets[k]),
        worst_frequency_hz=float(sign * centre_u[k]),
        worst_power_dbm=float(power[k]),
        worst_limit_dbm=float(limit[k]),
        offsets_hz=sign * offsets,
        power_dbm=power,
        limit_dbm=limit,
    )


def spectrum_emission_mask(
    freqs_hz: npt.ArrayLike,
    power_dbm: npt.ArrayLike,
    rbw_hz: float,
    enbw_factor: float,
    center_hz: float,
    channel_bandwidth_hz: float,
    mask: Mask,
) -> SemResult:
    """Check a spectrum against an emission mask on both sides of one carrier.

    Parameters
    ----------
    freqs_hz, power_dbm, rbw_hz, enbw_factor
        The trace, as for :func:`fivegbench.reduce.power.channel_power_dbm` (dBm per point).
    center_hz : float
        Carrier centre in the trace's frequency axis, Hz (RF when the mask is tied to a band).
    channel_bandwidth_hz : float
        BS channel bandwidth BW_Channel, Hz; the channel edges are center ± BW_Channel/2.
    mask : Mask
        E.g. :func:`fivegbench.nr.masks.obue_mask`.

    Returns
    -------
    SemResult

    Raises
    ------
    ValueError
        For a malformed trace, a non-positive bandwidth, a channel outside the mask's OBUE region,
        or if the span covers no position of any segment (nothing to judge).
    """
    if not (math.isfinite(channel_bandwidth_hz) and channel_bandwidth_hz > 0):
        raise ValueError(f"channel_bandwidth_hz must be a positive number, got {channel_bandwidth_hz!r}")
    if not math.isfinite(center_hz):
        raise ValueError(f"center_hz must be finite, got {center_hz!r}")
    f, p_mw, df = _validated_trace(freqs_hz, power_dbm, rbw_hz, enbw_factor)
    scale = df / (enbw_factor * rbw_hz)
    max_lower, max_upper = mask.offset_max_hz(center_hz, channel_bandwidth_hz)
    half = channel_bandwidth_hz / 2
    # Each side works on an axis u that increases away from the carrier (u = f above, u = -f
    # below) with a nondecreasing cumulative that starts at that side's far end of the trace:
    # minus the power beyond u. Window powers are differences of it, so the carrier's power never
    # enters the (possibly tiny) emission values through rounding.
    edges = np.concatenate((f - df / 2, [f[-1] + df / 2]))
    above = np.concatenate((np.cumsum(p_mw[::-1])[::-1], [0.0]))  # above[j] = Σ_{i >= j} p_i
    below = np.concatenate(([0.0], np.cumsum(p_mw)))  # below[j] = Σ_{i < j} p_i
    upper = _side(
        "upper", edges, -above, (float(f[0]), float(f[-1])), scale, center_hz + half, max_upper, mask, df
    )
    lower = _side(
        "lower",
        -edges[::-1],
        -below[::-1],
        (float(-f[-1]), float(-f[0])),
        scale,
        -(center_hz - half),
        max_lower,
        mask,
        df,
    )
    all_segments = [*lower, *upper]
    evaluated = [s for s in all_segments if s.n_evaluated > 0]
    if not evaluated:
        raise ValueError("the spectrum covers no position of any mask segment: nothing to judge")
    worst = min(evaluated, key=lambda s: s.worst_margin_db)
    tt = mask.test_tolerance.value
    uncovered = tuple(
        f"{s.side} segment {s.index} (f_offset {s.offset_start_hz / 1e6:g}-{s.offset_stop_hz / 1e6:g} MHz, "
        f"MBW {s.measurement_bandwidth_hz / 1e3:g} kHz): {s.coverage}"
        + (f", evaluated up to {abs(float(s.offsets_hz[-1])) / 1e6:g} MHz" if s.n_evaluated else "")
        for s in all_segments
        if s.coverage in ("partial", "none")
    )
    return SemResult(
        worst_margin_db=worst.worst_margin_db,
        worst_offset_hz=worst.worst_offset_hz,
        worst_frequency_hz=worst.worst_frequency_hz,
        test_tolerance_db=tt,
        tolerance_unverified=mask.test_tolerance.unverified,
        worst_test_margin_db=worst.worst_margin_db + tt,
        passed=all(s.worst_margin_db + tt >= 0 for s in evaluated),
        complete=not uncovered,
        mask_unverified=mask.unverified,
        lower=tuple(lower),
        upper=tuple(upper),
        uncovered=uncovered,
    )
