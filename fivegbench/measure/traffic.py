"""traffic.throughput: iperf3 between the UE side and the core side, judged statistically.

Each expanded step is one iperf3 run (one sweep point, one repeat), kept verbatim as
``captures/<index>-traffic.throughput.iperf3.json``. Its values:

* ``throughput`` (Mbit/s): the receiver's goodput; with repeats, the mean over the repeats of
  this sweep point measured so far, so the point's last repeat carries the mean of all of them;
* ``throughput_ci_low`` / ``throughput_ci_high``: its 95 % confidence interval, over the
  repeats (Student t) from the second repeat on, else over this run's one-second intervals with
  their autocorrelation accounted for (:func:`~fivegbench.reduce.stats.series_mean_interval`);
  the record's ``conditions.intervals`` says which;
* ``peak_rate`` (Mbit/s): the TS 38.306 §4.1.2 peak for the cell's bandwidth, SCS and TDD
  pattern with ``layers`` and 256QAM in that direction; ``efficiency`` (%) = throughput / peak;
* ``retransmits`` (TCP, segments) or ``loss`` (UDP, %);
* ``rsrp`` (dBm) and ``sinr`` (dB) read from the UE before the run, when the bench has one.

A bidirectional run reports the sum of both directions (and each direction in the conditions).
A result whose host CPU was above 90 % is kept but flagged ``cpu_limited``: the host, not the
radio, may have limited it, so it is INCONCLUSIVE.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from fivegbench.drivers.traffic.iperf3 import Iperf3Result, Iperf3Settings
from fivegbench.measure.base import MeasureContext, Outcome, role
from fivegbench.nr.datarate import peak_rate_mbps, tdd_fractions
from fivegbench.params import number
from fivegbench.record import Value
from fivegbench.reduce.stats import Interval, mean_interval, series_mean_interval

MBIT = 1e6
#: iperf3's reporting interval: fine enough that a short run gives a usable series for its
#: confidence interval (iperf3's minimum is 0.1 s).
REPORT_INTERVAL_S = 0.2


def traffic_throughput(ctx: MeasureContext, step: Any) -> Outcome:
    traffic = role(ctx, "traffic", step.kind)
    params = step.params
    values: dict[str, Value] = {}
    conditions: dict[str, Any] = {}
    ue = ctx.instruments.get("ue")
    if ue is not None:
        conditions["ue_registration"] = ue.require_registered()  # ERROR, in the modem's words
        reading = ue.reading()
        for name, attr, unit in (("rsrp", "rsrp_dbm", "dBm"), ("sinr", "sinr_db", "dB")):
            if getattr(reading, attr) is not None:
                values[name] = Value(float(getattr(reading, attr)), unit)
    protocol, direction = str(params["protocol"]), str(params["direction"])
    streams = int(params["streams"])
    rate = params.get("rate")
    settings = Iperf3Settings(
        server=traffic.server,
        protocol=protocol,  # type: ignore[arg-type]
        direction=direction,  # type: ignore[arg-type]
        duration_s=round(float(params["duration"])),
        omit_s=round(float(params["omit"])),
        streams=streams,
        rate_bps=None if rate is None else float(rate) / streams,  # iperf3's -b is per stream
        length=None if params.get("length") is None else int(params["length"]),
        interval_s=REPORT_INTERVAL_S,
        window_bytes=None if params.get("window") is None else int(number(params["window"])),
    )
    result = traffic.iperf3(settings)
    capture = _save(ctx, step, result)
    goodput = sum(flow.goodput_bps for flow in result.flows) / MBIT
    series = _series(result)
    history = ctx.history.setdefault((step.plan_step, tuple(step.point.items())), [])
    history.append(goodput)
    interval = mean_interval(history) if len(history) >= 2 else series_mean_interval(series)
    values["throughput"] = Value(interval.estimate, "Mbit/s")
    values["throughput_ci_low"] = Value(interval.low, "Mbit/s")
    values["throughput_ci_high"] = Value(interval.high, "Mbit/s")
    peak = peak_rate_mbps_for(step, direction, params)
    values["peak_rate"] = Value(peak, "Mbit/s")
    values["efficiency"] = Value(100.0 * interval.estimate / peak, "%")
    if protocol == "tcp":
        values["retransmits"] = Value(float(sum(f.retransmits or 0 for f in result.flows)), "")
    else:
        lost = [f.loss_percent for f in result.flows if f.loss_percent is not None]
        values["loss"] = Value(max(lost) if lost else float("nan"), "%")
    conditions |= {
        "protocol": protocol,
        "direction": direction,
        "streams": streams,
        "duration_s": settings.duration_s,
        "omit_s": settings.omit_s,
        "repeats_combined": len(history),
        "flows": {
            f.direction: {"goodput_mbit_s": f.goodput_bps / MBIT, "mean_rtt_ms": f.mean_rtt_ms}
            for f in result.flows
        },
        "host_cpu_percent": result.host_cpu_percent,
        "remote_cpu_percent": result.remote_cpu_percent,
        "cpu_limited": result.cpu_limited,
        "peak_rate_basis": f"TS 38.306 §4.1.2, {_layers(direction, params)} layer(s), 256QAM, TDD share",
    }
    invalid = (
        "host CPU above 90 %: the host, not the radio, may have limited it" if result.cpu_limited else None
    )
    intervals: dict[str, Interval] = {"throughput": interval}
    return Outcome(values, conditions, invalid=invalid, capture=capture, intervals=intervals)


def _series(result: Iperf3Result) -> np.ndarray:
    """Goodput per full reporting interval, Mbit/s (both directions summed, interval by
    interval); a short last interval is dropped, as it would weigh as much as a full one."""
    flows = []
    for flow in result.flows:
        if flow.intervals_s.size:
            flows.append(flow.intervals_bps[flow.intervals_s >= 0.9 * np.median(flow.intervals_s)])
    length = min((len(f) for f in flows), default=0)
    return np.sum([f[:length] for f in flows], axis=0) / MBIT if length else np.empty(0)


def _layers(direction: str, params: dict[str, Any]) -> str:
    return {"dl": str(params["layers_dl"]), "ul": str(params["layers_ul"])}.get(
        direction, f"{params['layers_dl']} DL + {params['layers_ul']} UL"
    )


def peak_rate_mbps_for(step: Any, direction: str, params: dict[str, Any]) -> float:
    """TS 38.306 §4.1.2 peak of the step's carrier in ``direction`` (both for ``bidir``), Mbit/s:
    ``layers_dl``/``layers_ul`` layers, 256QAM, times the TDD share of that direction."""
    cell = step.cell
    special = ":".join(map(str, cell.special_slot)) if cell.special_slot else None
    share = tdd_fractions(cell.tdd_pattern, special)
    total = 0.0
    for link, fraction in (("dl", share.dl), ("ul", share.ul)):
        if direction in (link, "bidir"):
            layers = int(params[f"layers_{link}"])
            total += peak_rate_mbps(cell.bandwidth, cell.scs, layers, "256qam", link) * fraction
    return total


def _save(ctx: MeasureContext, step: Any, result: Iperf3Result) -> str:
    """iperf3's JSON, verbatim."""
    name = f"{step.index:04d}-{step.kind}.iperf3.json"
    (ctx.captures_dir / name).write_text(result.text, encoding="utf-8")
    return str(Path("captures") / name)
