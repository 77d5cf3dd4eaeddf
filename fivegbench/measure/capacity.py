"""traffic.capacity: an RFC 2544-style search for the highest UDP rate the link carries with
loss at or below a threshold.

RFC 2544 §26.1 defines throughput as the fastest rate at which nothing is lost, and prescribes no
search algorithm; a binary search is common practice. Over a radio link zero loss is rarely
meaningful, so the plan states a loss threshold: any threshold above 0 % deviates from RFC 2544's
definition, and the record says so. Intermediate trials may be short; RFC 2544 asks for 60 s
trials, so a plan that wants its figure should confirm it with a long ``traffic.throughput``
UDP step at the found rate.

The search: a first trial at ``max_rate`` (default: the TS 38.306 peak for the direction); if it
passes, that is the capacity. Otherwise bisect between the highest passing and the lowest failing
rate (starting from 0) until they are within ``resolution``; the capacity is the highest passing
rate (0 when nothing passed). Each trial's iperf3 JSON is kept verbatim, numbered.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fivegbench.drivers.traffic.iperf3 import Iperf3Settings
from fivegbench.measure.base import MeasureContext, Outcome, role
from fivegbench.measure.traffic import MBIT, peak_rate_mbps_for
from fivegbench.params import number
from fivegbench.record import Value

#: At most this many trials, whatever the resolution asks (log2(peak / resolution) is far less).
MAX_TRIALS = 30


def traffic_capacity(ctx: MeasureContext, step: Any) -> Outcome:
    traffic = role(ctx, "traffic", step.kind)
    params = step.params
    direction = str(params["direction"])
    threshold = number(params["loss_threshold"])
    resolution = number(params["resolution"])
    peak = peak_rate_mbps_for(step, direction, params) * MBIT
    ceiling = number(params["max_rate"]) if params.get("max_rate") is not None else peak
    trials: list[dict[str, Any]] = []

    def trial(rate_bps: float) -> bool:
        settings = Iperf3Settings(
            server=traffic.server,
            protocol="udp",
            direction=direction,  # type: ignore[arg-type]
            duration_s=round(number(params["trial_duration"])),
            rate_bps=rate_bps,
            length=int(number(params["length"])),
            window_bytes=int(number(params["window"])),
        )
        result = traffic.iperf3(settings)
        (flow,) = result.flows
        loss = flow.loss_percent if flow.loss_percent is not None else float("nan")
        name = f"{step.index:04d}-{step.kind}.trial{len(trials) + 1:02d}.iperf3.json"
        (ctx.captures_dir / name).write_text(result.text, encoding="utf-8")
        passed = loss <= threshold
        trials.append(
            {
                "offered_mbit_s": rate_bps / MBIT,
                "goodput_mbit_s": flow.goodput_bps / MBIT,
                "loss_percent": loss,
                "passed": passed,
                "capture": str(Path("captures") / name),
            }
        )
        return passed

    passing, failing = 0.0, ceiling
    if trial(ceiling):
        passing = ceiling
    else:
        while failing - passing > resolution and len(trials) < MAX_TRIALS:
            middle = (passing + failing) / 2
            if trial(middle):
                passing = middle
            else:
                failing = middle
    deviation = (
        "zero-loss throughput as RFC 2544 defines it"
        if threshold == 0
        else f"loss threshold {threshold:g} %: deviates from RFC 2544's zero-loss definition"
    )
    conditions = {
        "direction": direction,
        "loss_threshold_percent": threshold,
        "resolution_mbit_s": resolution / MBIT,
        "max_rate_mbit_s": ceiling / MBIT,
        "trial_duration_s": round(number(params["trial_duration"])),
        "datagram_bytes": int(number(params["length"])),
        "rfc2544": deviation,
        "trials": trials,
    }
    values = {"capacity": Value(passing / MBIT, "Mbit/s"), "trials": Value(float(len(trials)), "")}
    capture = trials[0]["capture"] if trials else None
    return Outcome(values, conditions, capture=capture)
