"""traffic.latency: irtt round trips (and one-way delays where the clocks allow), unloaded or
under an iperf3 load, reduced to percentiles with order-statistic confidence intervals.

One irtt run per step, kept verbatim as ``captures/<index>-traffic.latency.irtt.json``. Values
(ms unless stated): ``rtt_p50``, ``rtt_p90``, ``rtt_p99``, ``rtt_min``, ``rtt_max``; ``rtt_p999``
only with at least 10,000 samples (fewer cannot place it); ``owd_up_p50`` and ``owd_down_p50``
when one-way delays are valid (client and server on one clock: the server fivegbench starts
itself); ``ipdv_p50``, the median of |IPDV| between consecutive round trips (RFC 3393 on the
RTT); ``loss`` (%) and ``samples`` (round trips received).

The percentiles' 95 % intervals come from order statistics, which assume independent samples.
Latency samples are autocorrelated, strongly so under load (a queue drains over many packets):
the intervals are then too narrow, and a verdict near the limit deserves more samples.

With ``load: {direction: dl, streams: 4}`` an iperf3 TCP flow fills the link in that direction
while irtt runs (it starts first and outlasts irtt by a second each side), so the figures are
latency under load; ``conditions.load`` names the load, ``"none"`` otherwise.
"""

from __future__ import annotations

import math
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from fivegbench.drivers.traffic.iperf3 import Iperf3Settings
from fivegbench.drivers.traffic.irtt import IrttResult, IrttSettings
from fivegbench.measure.base import MeasureContext, Outcome, role
from fivegbench.params import number
from fivegbench.record import Value
from fivegbench.reduce.stats import Interval, quantile_interval

#: Seconds the load runs before irtt starts (TCP fills the queue) and after it ends.
LOAD_MARGIN_S = 1
#: Samples needed before the 99.9th percentile is reported.
P999_MIN_SAMPLES = 10_000


def traffic_latency(ctx: MeasureContext, step: Any) -> Outcome:
    traffic = role(ctx, "traffic", step.kind)
    params = step.params
    duration = number(params["duration"])
    settings = IrttSettings(
        server=traffic.server,
        interval_s=number(params["interval"]),
        length=int(number(params["length"])),
        duration_s=duration,
    )
    load = params.get("load")
    if load:
        result = _under_load(traffic, settings, load)
        load_text = f"{load['direction']} TCP, {load['streams']} stream(s)"
    else:
        result = traffic.irtt(settings)
        load_text = "none"
    capture = _save(ctx, step, result)
    values: dict[str, Value] = {}
    intervals: dict[str, Interval] = {}
    rtt = result.rtt_ms[np.isfinite(result.rtt_ms)]
    quantiles = {"rtt_p50": 0.5, "rtt_p90": 0.9, "rtt_p99": 0.99}
    if rtt.size >= P999_MIN_SAMPLES:
        quantiles["rtt_p999"] = 0.999
    for name, p in quantiles.items():
        if rtt.size:
            intervals[name] = quantile_interval(rtt, p)
            values[name] = Value(intervals[name].estimate, "ms")
    if rtt.size:
        values["rtt_min"] = Value(float(rtt.min()), "ms")
        values["rtt_max"] = Value(float(rtt.max()), "ms")
    for name, delays in (("owd_up_p50", result.send_delay_ms), ("owd_down_p50", result.receive_delay_ms)):
        finite = delays[np.isfinite(delays)] if delays is not None else np.empty(0)
        if finite.size:
            values[name] = Value(float(np.median(finite)), "ms")
    ipdv = np.abs(result.ipdv_ms[np.isfinite(result.ipdv_ms)])
    if ipdv.size:
        values["ipdv_p50"] = Value(float(np.median(ipdv)), "ms")
    values["loss"] = Value(result.loss_percent, "%")
    values["samples"] = Value(float(result.samples), "")
    conditions = {
        "load": load_text,
        "interval_s": settings.interval_s,
        "length_bytes": settings.length,
        "duration_s": duration,
        "one_way_valid": result.send_delay_ms is not None,
        "packets_sent": result.packets_sent,
        "upstream_loss_percent": result.upstream_loss_percent,
        "downstream_loss_percent": result.downstream_loss_percent,
        "duplicate_percent": result.duplicate_percent,
        "late_packets_percent": result.late_packets_percent,
        "percentile_intervals": "order statistics, assuming independent samples (optimistic under load)",
    }
    invalid = None if rtt.size else "no round trip came back"
    return Outcome(values, conditions, invalid=invalid, capture=capture, intervals=intervals)


def _under_load(traffic: Any, settings: IrttSettings, load: dict[str, Any]) -> IrttResult:
    """irtt while an iperf3 TCP flow loads the link; the load's failure is the step's error."""
    load_settings = Iperf3Settings(
        server=traffic.server,
        direction=load["direction"],
        streams=int(load["streams"]),
        duration_s=math.ceil(settings.duration_s) + 2 * LOAD_MARGIN_S,
    )
    failure: list[BaseException] = []

    def run_load() -> None:
        try:
            traffic.iperf3(load_settings)
        except Exception as exc:  # reported by the measuring thread
            failure.append(exc)

    loader = threading.Thread(target=run_load, name="latency-load", daemon=True)
    loader.start()
    time.sleep(LOAD_MARGIN_S)
    try:
        result: IrttResult = traffic.irtt(settings)
    finally:
        loader.join(timeout=load_settings.duration_s + 30)
    if failure:
        raise failure[0]
    return result


def _save(ctx: MeasureContext, step: Any, result: IrttResult) -> str:
    """irtt's JSON, verbatim."""
    name = f"{step.index:04d}-{step.kind}.irtt.json"
    (ctx.captures_dir / name).write_text(result.text, encoding="utf-8")
    return str(Path("captures") / name)
