"""rf.power, rf.aclr, rf.obw and rf.sem: a swept RMS-detector spectrum, reduced to channel power,
ACLR, occupied bandwidth and the OBUE margin.

Powers measured at the analyzer input are referred to the gNB antenna connector by adding the
bench's RF path loss at the carrier frequency; the loss used is kept in the conditions.

With ``source: iq`` a step takes an I/Q capture instead and reduces its spectrum as ``fivegbench
analyze`` does (:func:`fivegbench.measure.rf_iq.rf_spectrum`).
"""

from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Any

import numpy as np

from fivegbench.drivers.analyzer.rs_fsw import Trace
from fivegbench.measure.base import MeasureContext, Measurement, Outcome, role
from fivegbench.measure.rf_iq import rf_spectrum
from fivegbench.nr.bandwidth import config_bandwidth_hz
from fivegbench.nr.masks import obue_mask
from fivegbench.record import Value
from fivegbench.reduce.aclr import aclr
from fivegbench.reduce.obw import occupied_bandwidth
from fivegbench.reduce.power import channel_power_dbm
from fivegbench.reduce.sem import spectrum_emission_mask

DEFAULT_RBW_HZ = 100e3
# Headroom of the reference level above the mean input power: an NR carrier's PAPR is ~10 dB.
REFERENCE_HEADROOM_DB = 10.0
MAX_POINTS = 100001


def _points_for(span_hz: float, rbw_hz: float) -> int:
    """An odd point count with spacing <= RBW/2, so the channel integral is well sampled."""
    points = math.ceil(span_hz / (rbw_hz / 2)) + 1
    points += 1 - points % 2
    return min(max(points, 101), MAX_POINTS)


def _acquire(
    ctx: MeasureContext, step: Any, default_span_hz: float, acp_spacing_hz: float | None = None
) -> tuple[Trace, float, dict[str, float]]:
    """The trace, the path loss and, with ``acp_spacing_hz``, the analyzer's own ACLR of the same
    sweep (an independent second method), by adjacent channel name."""
    analyzer = role(ctx, "analyzer", step.kind)
    cell = step.cell
    loss = ctx.bench.bench.rf_path.loss_db(cell.center_frequency)
    span = float(step.params.get("span", default_span_hz))
    rbw = float(step.params.get("rbw", DEFAULT_RBW_HZ))
    points = int(step.params.get("points", _points_for(span, rbw)))
    reference = cell.tx_power - loss + REFERENCE_HEADROOM_DB
    own: dict[str, float] = {}
    if acp_spacing_hz is not None:
        analyzer.setup_acp(config_bandwidth_hz(cell.bandwidth, cell.scs), acp_spacing_hz)
    trace = analyzer.acquire(cell.center_frequency, span, rbw, 10 * rbw, points, reference)
    if acp_spacing_hz is not None:
        own = dict(zip(("lower1", "upper1", "lower2", "upper2"), analyzer.instrument_aclr_db(), strict=True))
    return trace, loss, own


def _save(ctx: MeasureContext, step: Any, trace: Trace) -> str:
    """Keep the trace with its frequency axis, RBW and detector (numpy .npz, no pickle)."""
    name = f"{step.index:04d}-{step.kind}.npz"
    np.savez_compressed(
        ctx.captures_dir / name,
        freqs_hz=trace.freqs_hz,
        power_dbm=trace.power_dbm,
        rbw_hz=trace.rbw_hz,
        vbw_hz=trace.vbw_hz,
        enbw_factor=trace.enbw_factor,
        detector=trace.detector,
        sweep_time_s=trace.sweep_time_s,
        attenuation_db=trace.attenuation_db,
        reference_level_dbm=trace.reference_level_dbm,
    )
    return str(Path("captures") / name)


def _conditions(trace: Trace, loss: float, config_bw: float) -> dict[str, Any]:
    return {
        "path_loss_db": loss,
        "measurement_bandwidth_hz": config_bw,
        "rbw_hz": trace.rbw_hz,
        "vbw_hz": trace.vbw_hz,
        "detector": trace.detector,
        "span_hz": float(trace.freqs_hz[-1] - trace.freqs_hz[0]),
        "points": int(trace.freqs_hz.size),
        "sweep_time_s": trace.sweep_time_s,
        "attenuation_db": trace.attenuation_db,
        "reference_level_dbm": trace.reference_level_dbm,
        "enbw_factor": trace.enbw_factor,
    }


def _overload(trace: Trace) -> str | None:
    return f"analyzer overload during the sweep: {', '.join(trace.overload)}" if trace.overload else None


def _swept_or_iq(swept: Measurement) -> Measurement:
    """The swept measurement, or with ``source: iq`` the I/Q one."""

    @functools.wraps(swept)
    def measure(ctx: MeasureContext, step: Any) -> Outcome:
        if step.params.get("source") == "iq":
            return rf_spectrum(ctx, step)
        return swept(ctx, step)

    return measure


@_swept_or_iq
def rf_power(ctx: MeasureContext, step: Any) -> Outcome:
    """Channel power over BW_Config = N_RB*12*SCS (TS 38.104 Table 5.3.2-1), at the connector."""
    cell = step.cell
    config_bw = config_bandwidth_hz(cell.bandwidth, cell.scs)
    trace, loss, _ = _acquire(ctx, step, default_span_hz=2 * cell.bandwidth)
    at_analyzer = channel_power_dbm(
        trace.freqs_hz, trace.power_dbm, trace.rbw_hz, trace.enbw_factor, cell.center_frequency, config_bw
    )
    return Outcome(
        values={"channel_power": Value(round(at_analyzer + loss, 3), "dBm")},
        conditions=_conditions(trace, loss, config_bw) | {"configured_power_dbm": cell.tx_power},
        invalid=_overload(trace),
        capture=_save(ctx, step, trace),
    )


@_swept_or_iq
def rf_aclr(ctx: MeasureContext, step: Any) -> Outcome:
    """NR ACLR, 1st and 2nd adjacent channels (offsets BW and 2*BW, square filter BW_Config)."""
    cell = step.cell
    config_bw = config_bandwidth_hz(cell.bandwidth, cell.scs)
    # wide enough for the 2nd adjacent channels' outer edges, plus a margin
    span = 4 * cell.bandwidth + config_bw + 0.2 * cell.bandwidth
    trace, loss, own = _acquire(ctx, step, default_span_hz=span, acp_spacing_hz=cell.bandwidth)
    result = aclr(
        trace.freqs_hz,
        trace.power_dbm,
        trace.rbw_hz,
        trace.enbw_factor,
        cell.center_frequency,
        cell.bandwidth,
        config_bw,
    )
    values = {"channel_power": Value(round(result.carrier_dbm + loss, 3), "dBm")}
    for channel in result.adjacent:
        values[f"aclr_{channel.name}"] = Value(round(channel.aclr_db, 3), "dB")
        values[f"adjacent_{channel.name}_density"] = Value(
            round(channel.density_dbm_per_mhz + loss, 3), "dBm/MHz"
        )
    for name, value in own.items():
        if math.isfinite(value):  # a channel the analyzer did not measure is left out, never NaN
            values[f"instrument_aclr_{name}"] = Value(round(value, 3), "dB")
    return Outcome(
        values=values,
        conditions=_conditions(trace, loss, config_bw),
        invalid=_overload(trace),
        capture=_save(ctx, step, trace),
    )


@_swept_or_iq
def rf_obw(ctx: MeasureContext, step: Any) -> Outcome:
    """Occupied bandwidth: the 99 % power bandwidth of the swept spectrum (TS 38.104 §6.6.2)."""
    cell = step.cell
    trace, loss, _ = _acquire(ctx, step, default_span_hz=2 * cell.bandwidth)
    result = occupied_bandwidth(trace.freqs_hz, trace.power_dbm, trace.rbw_hz, trace.enbw_factor)
    config_bw = config_bandwidth_hz(cell.bandwidth, cell.scs)
    return Outcome(
        values={"obw": Value(round(result.obw_hz), "Hz")},
        conditions=_conditions(trace, loss, config_bw)
        | {"obw_lower_hz": result.lower_hz, "obw_upper_hz": result.upper_hz},
        invalid=_overload(trace),
        capture=_save(ctx, step, trace),
    )


# Widest span an OBUE sweep asks for; a region wider than this is reported incomplete.
MAX_SEM_SPAN_HZ = 2e9


@_swept_or_iq
def rf_sem(ctx: MeasureContext, step: Any) -> Outcome:
    """Operating band unwanted emissions against the OBUE mask over its whole region."""
    cell = step.cell
    dut = ctx.dut
    mask = obue_mask(dut.category or "A", dut.bs_class, band=cell.band, frequency_hz=cell.center_frequency)
    lower, upper = mask.offset_max_hz(cell.center_frequency, cell.bandwidth)
    widest_filter = max(segment.measurement_bandwidth_hz for segment in mask.segments)
    span = min(cell.bandwidth + 2 * (max(lower, upper) + widest_filter), MAX_SEM_SPAN_HZ)
    trace, loss, _ = _acquire(ctx, step, default_span_hz=span)
    at_connector = trace.power_dbm + loss  # the mask applies at the antenna connector
    result = spectrum_emission_mask(
        trace.freqs_hz,
        at_connector,
        trace.rbw_hz,
        trace.enbw_factor,
        cell.center_frequency,
        cell.bandwidth,
        mask,
    )
    config_bw = config_bandwidth_hz(cell.bandwidth, cell.scs)
    invalid = _overload(trace) or (
        None if result.complete else "spectrum does not cover the whole OBUE region"
    )
    return Outcome(
        values={"sem_margin": Value(round(result.worst_margin_db, 3), "dB")},
        conditions=_conditions(trace, loss, config_bw)
        | {
            "mask": mask.name,
            "worst_offset_hz": result.worst_offset_hz,
            "worst_frequency_hz": result.worst_frequency_hz,
            "uncovered": list(map(str, result.uncovered)),
        },
        invalid=invalid,
        capture=_save(ctx, step, trace),
    )
