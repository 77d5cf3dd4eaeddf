"""Synthetic run folders, shaped like a real ``fivegbench run`` of the simulated bench, for the
report's tests and benchmarks: any number of measurements in seconds, without an instrument.

``make_run(results, n)`` writes ``results/<run_id>/`` with ``record.json`` (the run record and
its ``measurements``), ``journal.jsonl`` (the same measurements, one a line), copies of
``testplans/demo.yaml`` and ``instruments/benches/sim.yaml`` as ``plan.yaml``/``bench.yaml``, a
short ``io.log`` and ``run.log``, and a few captures (swept traces ``.npz``, iperf3 and irtt
JSON) shared by the measurements of a step, so that plots have something to draw.

The measurements are split into one step per kind, in the order of ``kinds``, each a sweep of
consecutive points. Verdicts follow the measurement index (see :func:`verdict_of`): mostly
PASS, some FAIL, INCONCLUSIVE, ERROR and SKIPPED. Values, limits, checks and conditions copy the
shape of the sample runs (TS 38.141-1 limits with minimum requirement and test tolerance;
confidence intervals for the traffic kinds). Everything is seeded: the same arguments give the
same bytes.

``hostile=True`` plants :data:`HOSTILE` strings where a report must escape them: instrument
identities, the DUT firmware, the gNB's read-back version, the first step's name, the first
point value, an ERROR's text and an error-queue answer in ``io.log``.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
PLAN = ROOT / "testplans" / "demo.yaml"
BENCH = ROOT / "instruments" / "benches" / "sim.yaml"

KINDS = ("rf.power", "rf.aclr", "rf.sem", "rf.obw", "rf.evm", "traffic.throughput", "traffic.latency")

HOSTILE = ("<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "</style>", "{{7*7}}")
"""Strings a report must show as text: a script, an attribute break-out, the end of the
stylesheet and a template expression."""

STARTED = datetime(2026, 11, 30, 10, 0, 0, tzinfo=UTC)
PATH_LOSS_DB = 40.0
CENTRE_HZ = 3.75e9
CHANNEL_HZ = 100e6
OCCUPIED_HZ = 98.28e6  # 273 RB x 12 x 30 kHz: the ACLR measurement bandwidth
SEM_MASK = "OBUE Wide Area Category A, NR bands > 1 GHz (n78)"
PEAK_RATE_MBIT_S = 1736.0572319999999

Limit = dict[str, Any]


def verdict_of(index: int) -> str:
    """The verdict of measurement ``index`` (1-based): about 86 % PASS, 6 % FAIL, 3 %
    INCONCLUSIVE, 2 % ERROR, 2 % SKIPPED. A run of 30 has each at least once."""
    if index % 53 == 7:
        return "ERROR"
    if index % 61 == 11:
        return "SKIPPED"
    if index % 17 == 5:
        return "FAIL"
    if index % 29 == 3:
        return "INCONCLUSIVE"
    return "PASS"


# --- limits and checks ---------------------------------------------------------------------------


def _alternative(
    value: str,
    low: float | None,
    high: float | None,
    unit: str,
    minimum_requirement: float | None,
    test_tolerance: float | None,
    clause: str,
    note: str,
    unverified: bool = True,
) -> Limit:
    return {
        "value": value,
        "low": low,
        "high": high,
        "unit": unit,
        "minimum_requirement": minimum_requirement,
        "test_tolerance": test_tolerance,
        "tolerance_unverified": unverified and test_tolerance is not None,
        "clause": clause,
        "note": note,
    }


def _plan_limit(value: str, low: float | None, high: float | None, unit: str) -> Limit:
    return _alternative(value, low, high, unit, None, None, "plan", "explicit plan limit", False)


def _margin(alt: Limit, x: float) -> float:
    low = x - alt["low"] if alt["low"] is not None else math.inf
    high = alt["high"] - x if alt["high"] is not None else math.inf
    return min(low, high)


def _judged(
    values: dict[str, dict[str, Any]],
    requirements: Sequence[tuple[str, Sequence[Limit]]],
    straddling: dict[str, str] | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``limits`` and ``checks`` of a measurement: each requirement passes if one alternative
    does (the best margin decides); ``straddling`` names values whose confidence interval
    straddles their limit (undecided) with the note to give."""
    limits, checks = [], []
    for name, alternatives in requirements:
        limits.append({"name": name, "alternatives": list(alternatives)})
        measured = {alt["value"]: values[alt["value"]]["value"] for alt in alternatives}
        scored = sorted(((_margin(a, measured[a["value"]]), a) for a in alternatives), key=lambda s: s[0])
        margin, decided = scored[-1]
        passed: bool | None = margin >= 0
        note = ""
        if straddling and decided["value"] in straddling:
            passed, note = None, straddling[decided["value"]]
        checks.append(
            {
                "requirement": name,
                "passed": passed,
                "margin": margin,
                "decided_by": decided,
                "measured": measured,
                "note": note,
            }
        )
    return limits, checks


def _values(**named: tuple[float, str]) -> dict[str, dict[str, Any]]:
    return {name: {"value": value, "unit": unit} for name, (value, unit) in named.items()}


def _points_in(span_hz: float) -> int:
    """Trace points at half the RBW's spacing, as the SEM reducer needs (no power between points)."""
    return round(span_hz / 50e3) + 1


def _spectrum_conditions(span_hz: float) -> dict[str, Any]:
    points = _points_in(span_hz)
    return {
        "path_loss_db": PATH_LOSS_DB,
        "measurement_bandwidth_hz": OCCUPIED_HZ,
        "rbw_hz": 100e3,
        "vbw_hz": 1e6,
        "detector": "RMS",
        "span_hz": span_hz,
        "points": points,
        "sweep_time_s": round(points * 12.5e-6, 4),
        "attenuation_db": 25.0,
        "reference_level_dbm": 13.0,
        "enbw_factor": 1.0644670194312262,
    }


# --- one generator per kind: (rng, verdict, swept level) -> values, limits, checks, conditions ----

Made = tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]


def _power(rng: np.random.Generator, verdict: str, tx: float) -> Made:
    power = tx - 3.6 - rng.uniform(0, 1) if verdict == "FAIL" else tx + rng.normal(0, 0.25)
    values = _values(channel_power=(round(power, 3), "dBm"))
    alt = _alternative(
        "channel_power",
        tx - 3.0,
        tx + 3.0,
        "dBm",
        2.0,
        1.0,
        "TS 38.104 §6.2.2; TS 38.141-1 Table 4.1.2.2-1 (6.2 BS output power)",
        f"reference {tx:g} dBm = configured output power; ±2 dB ± TT 1 dB; "
        "output_power_test_tolerance_3_to_4p2ghz = 1 dB UNVERIFIED [U]",
    )
    limits, checks = _judged(values, [("output_power", [alt])])
    conditions = {**_spectrum_conditions(200e6), "configured_power_dbm": tx}
    return values, limits, checks, conditions


def _aclr(rng: np.random.Generator, verdict: str, tx: float) -> Made:
    power = tx + rng.normal(0, 0.2)
    density = power - 10 * math.log10(OCCUPIED_HZ / 1e6)  # dBm/MHz in the channel
    base = 36.0 if verdict == "FAIL" else 46.3
    named: dict[str, tuple[float, str]] = {"channel_power": (round(power, 3), "dBm")}
    requirements = []
    for side in ("lower1", "upper1", "lower2", "upper2"):
        aclr = base + (3.5 if side.endswith("2") else 0.0) + rng.normal(0, 0.15)
        named[f"aclr_{side}"] = (round(aclr, 3), "dB")
        named[f"adjacent_{side}_density"] = (round(density - aclr, 3), "dBm/MHz")
        clause = "TS 38.141-1 Table 4.1.2.2-1 (6.7.3 ACLR)"
        requirements.append(
            (
                f"aclr_{side}",
                [
                    _alternative(
                        f"aclr_{side}",
                        44.2,
                        None,
                        "dB",
                        45.0,
                        0.8,
                        f"TS 38.104 §6.6.3.2 Table 6.6.3.2-1; {clause}",
                        "relative ACLR, band n78; aclr_test_tolerance = 0.8 dB UNVERIFIED [U]",
                    ),
                    _alternative(
                        f"adjacent_{side}_density",
                        None,
                        -12.2,
                        "dBm/MHz",
                        -13.0,
                        0.8,
                        f"TS 38.104 §6.6.3.2 Table 6.6.3.2-2; {clause}",
                        "absolute basic limit, wide_area category A",
                    ),
                ],
            )
        )
    for side in ("lower1", "upper1", "lower2", "upper2"):
        named[f"instrument_aclr_{side}"] = (round(named[f"aclr_{side}"][0] + rng.normal(0, 0.002), 3), "dB")
    values = _values(**named)
    limits, checks = _judged(values, requirements)
    conditions = {**_spectrum_conditions(500e6), "configured_power_dbm": tx}
    return values, limits, checks, conditions


def _sem(rng: np.random.Generator, verdict: str, tx: float) -> Made:
    margin = -2.5 - rng.uniform(0, 2) if verdict == "FAIL" else 7.3 + rng.normal(0, 0.5)
    values = _values(sem_margin=(round(margin, 3), "dB"))
    alt = _alternative(
        "sem_margin",
        -1.5,
        None,
        "dB",
        0.0,
        1.5,
        "TS 38.104 §6.6.4 Table 6.6.4.2.1-2; TS 38.141-1 Table 4.1.2.2-1 (6.7.4 OBUE)",
        f"{SEM_MASK}; obue_test_tolerance = 1.5 dB UNVERIFIED [U]",
    )
    limits, checks = _judged(values, [("operating_band_unwanted_emissions", [alt])])
    offset = float(rng.choice([-11.75e6, 11.75e6, -52.5e6, 52.5e6]))
    conditions = {
        **_spectrum_conditions(982e6),
        "configured_power_dbm": tx,
        "mask": SEM_MASK,
        "worst_offset_hz": offset,
        "worst_frequency_hz": CENTRE_HZ + offset + math.copysign(CHANNEL_HZ / 2, offset),
        "uncovered": [],
    }
    return values, limits, checks, conditions


def _obw(rng: np.random.Generator, verdict: str, tx: float) -> Made:
    obw = 100.9e6 + rng.uniform(0, 1e6) if verdict == "FAIL" else 97.3e6 + rng.normal(0, 0.1e6)
    values = _values(obw=(round(obw), "Hz"))
    alt = _alternative(
        "obw",
        None,
        CHANNEL_HZ,
        "Hz",
        CHANNEL_HZ,
        None,
        "TS 38.104 §6.6.2",
        "99 % bandwidth ≤ channel bandwidth",
        unverified=False,
    )
    limits, checks = _judged(values, [("occupied_bandwidth", [alt])])
    conditions = {
        **_spectrum_conditions(200e6),
        "configured_power_dbm": tx,
        "obw_lower_hz": CENTRE_HZ - obw / 2,
        "obw_upper_hz": CENTRE_HZ + obw / 2,
    }
    return values, limits, checks, conditions


def _evm(rng: np.random.Generator, verdict: str, tx: float) -> Made:
    rms = 5.1 + rng.uniform(0, 1) if verdict == "FAIL" else 0.88 + 0.1 * max(tx - 43, 0) + rng.normal(0, 0.02)
    slots = np.abs(rms * (1 + 0.04 * rng.standard_normal(20)))
    values = _values(
        evm_rms=(float(rms), "%"), evm_256qam=(float(rms), "%"), evm_worst_slot=(float(slots.max()), "%")
    )
    alt = _alternative(
        "evm_256qam",
        None,
        4.5,
        "%",
        3.5,
        1.0,
        "TS 38.104 §6.5.2 Table 6.5.2.2-1; TS 38.141-1 Table 4.1.2.2-1 (6.6.2 EVM)",
        "256QAM EVM ≤ 3.5 % + TT 1 %",
        unverified=False,
    )
    limits, checks = _judged(values, [("evm_256qam", [alt])])
    conditions = {
        "source": "iq",
        "path_loss_db": PATH_LOSS_DB,
        "sample_rate_hz": 122.88e6,
        "center_hz": CENTRE_HZ,
        "samples": 2457600,
        "duration_s": 0.02,
        "reference_level_dbm": 13.0,
        "attenuation_db": 25.0,
        "test_model": "NR-FR1-TM3.1a",
        "configured_power_dbm": tx,
        "evm_low_pct": float(rms) * 0.9999,
        "evm_high_pct": float(rms),
        "evm_per_slot_pct": [round(float(s), 4) for s in slots],
        "fft_size": 4096,
        "decision_directed": True,
        "reliable": True,
    }
    return values, limits, checks, conditions


def _interval(estimate: float, half: float, n: int, method: str) -> dict[str, Any]:
    return {
        "estimate": estimate,
        "low": estimate - half,
        "high": estimate + half,
        "n": n,
        "confidence": 0.95,
        "method": method,
    }


def _throughput(rng: np.random.Generator, verdict: str, attenuation: float) -> Made:
    rsrp = -53.0 - attenuation
    sinr = min(29.5, 29.5 - (attenuation - 40) * 0.9) if attenuation > 40 else 29.5
    if verdict == "FAIL":
        mean = 40.0 + rng.uniform(0, 40)
    elif verdict == "INCONCLUSIVE":
        mean = 100.0 + rng.uniform(-2, 2)  # the interval straddles the 100 Mbit/s limit
    else:
        mean = PEAK_RATE_MBIT_S * min(0.999, max(0.1, (sinr + 5) / 34.6)) + rng.normal(0, 1)
    half = max(1.5, 0.02 * mean) if verdict == "INCONCLUSIVE" else 1.7
    values = _values(
        rsrp=(rsrp, "dBm"),
        sinr=(sinr, "dB"),
        throughput=(mean, "Mbit/s"),
        throughput_ci_low=(mean - half, "Mbit/s"),
        throughput_ci_high=(mean + half, "Mbit/s"),
        peak_rate=(PEAK_RATE_MBIT_S, "Mbit/s"),
        efficiency=(100 * mean / PEAK_RATE_MBIT_S, "%"),
        retransmits=(float(rng.integers(0, 3)), ""),
    )
    straddle = {
        "throughput": f"95% interval {mean - half:.4g} to {mean + half:.4g} Mbit/s straddles the limit ≥ 100"
    }
    limits, checks = _judged(
        values,
        [("throughput", [_plan_limit("throughput", 100.0, None, "Mbit/s")])],
        straddle if verdict == "INCONCLUSIVE" else None,
    )
    method = "mean of 25 intervals, AR(1) effective sample size 25.0 (lag-1 r=0.00), Student t"
    conditions = {
        "protocol": "tcp",
        "direction": "dl",
        "streams": 4,
        "duration_s": 5,
        "omit_s": 1,
        "attenuation_db": attenuation,
        "flows": {"dl": {"goodput_mbit_s": mean, "mean_rtt_ms": 31.4}},
        "host_cpu_percent": 8.7,
        "remote_cpu_percent": 15.5,
        "cpu_limited": False,
        "peak_rate_basis": "TS 38.306 §4.1.2, 4 layer(s), 256QAM, TDD share",
        "intervals": {"throughput": _interval(mean, half, 25, method)},
    }
    return values, limits, checks, conditions


def _latency(rng: np.random.Generator, verdict: str, length: float) -> Made:
    if verdict == "FAIL":
        p50 = 11.0 + rng.uniform(0, 2)
    elif verdict == "INCONCLUSIVE":
        p50 = 10.0 + rng.uniform(-0.04, 0.04)  # the interval straddles the 10 ms limit
    else:
        p50 = 6.06 + length * 1e-4 + rng.normal(0, 0.05)
    named = {
        "rtt_p50": p50,
        "rtt_p90": p50 * 1.25,
        "rtt_p99": p50 * 1.7,
        "rtt_min": p50 * 0.92,
        "rtt_max": p50 * 3.4,
    }
    values = _values(
        **{name: (round(v, 6), "ms") for name, v in named.items()},
        owd_up_p50=(round(p50 * 0.56, 6), "ms"),
        owd_down_p50=(round(p50 * 0.41, 6), "ms"),
        ipdv_p50=(0.45, "ms"),
        loss=(0.0, "%"),
        samples=(1995.0, ""),
    )
    requirements = [
        ("rtt_p50", [_plan_limit("rtt_p50", None, 10.0, "ms")]),
        ("rtt_p99", [_plan_limit("rtt_p99", None, 20.0, "ms")]),
    ]
    straddle = {"rtt_p50": f"95% interval {0.995 * p50:.4g} to {1.005 * p50:.4g} ms straddles the limit ≤ 10"}
    limits, checks = _judged(values, requirements, straddle if verdict == "INCONCLUSIVE" else None)
    method = "order statistics of 1995 samples (assumes independent samples)"
    conditions = {
        "load": "none",
        "interval_s": 0.01,
        "length_bytes": int(length),
        "duration_s": 20.0,
        "one_way_valid": True,
        "packets_sent": 1995,
        "upstream_loss_percent": 0.0,
        "downstream_loss_percent": 0.0,
        "intervals": {
            name: _interval(named[name], 0.005 * named[name], 1995, method)
            for name in ("rtt_p50", "rtt_p90", "rtt_p99")
        },
    }
    return values, limits, checks, conditions


Maker = Callable[[np.random.Generator, str, float], Made]


@dataclass(frozen=True)
class _Kind:
    """How a kind's step is named and swept, and its generator."""

    step: str
    param: str
    levels: Sequence[float]
    unit: str
    make: Maker

    def level_text(self, level: float) -> str:
        return f"{level:g} {self.unit}".strip()


_TX = [37.0 + i for i in range(10)]
KIND_SHAPES: dict[str, _Kind] = {
    "rf.power": _Kind("BS output power vs TX power", "tx_power", _TX, "dBm", _power),
    "rf.aclr": _Kind("ACLR vs TX power", "tx_power", _TX, "dBm", _aclr),
    "rf.sem": _Kind("operating band unwanted emissions vs TX power", "tx_power", _TX, "dBm", _sem),
    "rf.obw": _Kind("occupied bandwidth vs TX power", "tx_power", _TX, "dBm", _obw),
    "rf.evm": _Kind("EVM 256QAM vs TX power", "tx_power", _TX, "dBm", _evm),
    "traffic.throughput": _Kind(
        "DL TCP throughput vs attenuation", "attenuation", [5.0 * i for i in range(13)], "dB", _throughput
    ),
    "traffic.latency": _Kind("RTT on an idle link", "length", [64.0, 512.0, 1400.0], "", _latency),
}
SPECTRUM_KINDS = {"rf.power": 200e6, "rf.aclr": 500e6, "rf.sem": 982e6, "rf.obw": 200e6}
"""Swept kinds and the span of their trace."""
DURATION_S = {"rf.evm": 2.3, "traffic.throughput": 6.2, "traffic.latency": 20.3}


# --- captures ------------------------------------------------------------------------------------


def _trace(rng: np.random.Generator, span_hz: float, aclr_db: float) -> dict[str, Any]:
    """A swept spectrum at the analyzer input (43 dBm at the antenna, path loss removed): the
    channel, first and second adjacent leakage ``aclr_db`` and 3.5 dB more down, the noise floor."""
    points = _points_in(span_hz)
    freqs = CENTRE_HZ + np.linspace(-span_hz / 2, span_hz / 2, points)
    offset = np.abs(freqs - CENTRE_HZ)
    in_rbw = 43.0 - PATH_LOSS_DB - 10 * math.log10(OCCUPIED_HZ / 100e3)
    level = np.full(points, -95.0)
    level = np.where(offset < 2.5 * CHANNEL_HZ, in_rbw - aclr_db - 3.5, level)
    level = np.where(offset < 1.5 * CHANNEL_HZ, in_rbw - aclr_db, level)
    level = np.where(offset < OCCUPIED_HZ / 2, in_rbw, level)
    power = np.maximum(level, -95.0) + rng.normal(0, 0.4, points)
    return {
        "freqs_hz": freqs,
        "power_dbm": power,
        "rbw_hz": np.float64(100e3),
        "vbw_hz": np.float64(1e6),
        "enbw_factor": np.float64(1.0644670194312262),
        "detector": np.str_("RMS"),
        "sweep_time_s": np.float64(points * 12.5e-6),
        "attenuation_db": np.float64(25.0),
        "reference_level_dbm": np.float64(13.0),
    }


def _iperf3_json(rng: np.random.Generator, mean_mbit_s: float) -> str:
    """A DL TCP ``iperf3 --json`` client output, trimmed to what the parser reads."""
    rates = mean_mbit_s * 1e6 * (1 + 0.01 * rng.standard_normal(25))
    intervals = [
        {"sum": {"start": 0.2 * i, "end": 0.2 * (i + 1), "seconds": 0.2, "bits_per_second": float(r)}}
        for i, r in enumerate(rates)
    ]
    for interval in intervals:
        interval["sum"].update(sender=False, omitted=False)
    return json.dumps(
        {
            "start": {"test_start": {"protocol": "TCP", "num_streams": 4, "duration": 5, "reverse": 1}},
            "intervals": intervals,
            "end": {
                "sum_sent": {"seconds": 5.0, "bits_per_second": float(rates.mean()), "retransmits": 0},
                "sum_received": {"seconds": 5.0, "bits_per_second": float(rates.mean())},
                "cpu_utilization_percent": {"host_total": 8.7, "remote_total": 15.5},
            },
        }
    )


def _irtt_json(rng: np.random.Generator, p50_ms: float, trips: int = 400) -> str:
    """An ``irtt client -o -`` output, trimmed to what the parser reads."""
    rtt_ns = (p50_ms * 1e6 * np.exp(0.2 * rng.standard_normal(trips))).astype(int)
    stats = {
        "packets_sent": trips,
        "packets_received": trips,
        "packet_loss_percent": 0.0,
        "upstream_loss_percent": 0.0,
        "downstream_loss_percent": 0.0,
        "duplicate_percent": 0.0,
        "late_packets_percent": 0.0,
    }
    round_trips = [
        {
            "seqno": i,
            "lost": "false",
            "delay": {"rtt": int(r), "send": int(r * 0.56), "receive": int(r * 0.41)},
            "ipdv": {},
        }
        for i, r in enumerate(rtt_ns)
    ]
    return json.dumps({"stats": stats, "round_trips": round_trips})


def _capture(
    run_dir: Path, rng: np.random.Generator, m: dict[str, Any], written: dict[tuple[str, bool], str]
) -> str | None:
    """The capture of measurement ``m``: one file per step for its passing points and one for the
    rest, written by the first point that uses it (named after it, as the runner names them)."""
    kind, passing = m["kind"], m["verdict"] == "PASS"
    key = (m["step"], passing)
    if key in written:
        return written[key]
    stem = f"captures/{m['index']:04d}-{kind}"
    if kind in SPECTRUM_KINDS:
        relative = f"{stem}.npz"
        np.savez(run_dir / relative, **_trace(rng, SPECTRUM_KINDS[kind], 46.3 if passing else 36.0))
    elif kind == "traffic.throughput":
        relative = f"{stem}.iperf3.json"
        (run_dir / relative).write_text(_iperf3_json(rng, m["values"]["throughput"]["value"]))
    elif kind == "traffic.latency":
        relative = f"{stem}.irtt.json"
        (run_dir / relative).write_text(_irtt_json(rng, m["values"]["rtt_p50"]["value"]))
    else:
        return None
    written[key] = relative
    return relative


# --- the run -------------------------------------------------------------------------------------


def _utc(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _points(shape: _Kind, count: int) -> list[dict[str, str]]:
    """``count`` distinct sweep points: the kind's levels, then again on further carriers."""
    points = []
    for i in range(count):
        carrier, level = divmod(i, len(shape.levels))
        point = {shape.param: shape.level_text(shape.levels[level])}
        if count > len(shape.levels):
            point["arfcn"] = str(650000 - 20 * carrier)
        points.append(point)
    return points


def _measurements(
    run_dir: Path, rng: np.random.Generator, n: int, kinds: Sequence[str], hostile: bool
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    written: dict[tuple[str, bool], str] = {}
    clock = STARTED + timedelta(seconds=1.2)
    sizes = [n // len(kinds) + (1 if k < n % len(kinds) else 0) for k in range(len(kinds))]
    for number, (kind, size) in enumerate(zip(kinds, sizes, strict=True)):
        shape = KIND_SHAPES[kind]
        step = shape.step + (f" {HOSTILE[0]}" if hostile and number == 0 else "")
        for position, point in enumerate(_points(shape, size)):
            index = len(out) + 1
            verdict = verdict_of(index)
            level = shape.levels[position % len(shape.levels)]
            if hostile and index == 1:
                point = {**point, shape.param: HOSTILE[1]}
            m: dict[str, Any] = {
                "step": step,
                "index": index,
                "kind": kind,
                "point": point,
                "values": {},
                "limits": [],
                "verdict": verdict,
                "time": "",
                "repeat": "1/1",
                "checks": [],
                "conditions": {},
                "error": None,
                "flags": [],
                "duration_s": None,
            }
            if verdict == "SKIPPED":
                m["error"] = "not run: an earlier point of this step failed"
            elif verdict == "ERROR":
                answer = HOSTILE[0] if hostile else "-222,Data out of range"
                m["error"] = f'InstrumentError: analyzer: :READ? failed: SYST:ERR? answered "{answer}"'
                m["duration_s"] = 10.004
            else:
                values, limits, checks, conditions = shape.make(rng, verdict, level)
                m.update(values=values, limits=limits, checks=checks, conditions=conditions)
                if verdict == "INCONCLUSIVE" and kind.startswith("rf."):
                    m["conditions"]["invalid"] = "analyzer overload (IF OVLD) during the sweep"
                capture = _capture(run_dir, rng, m, written)
                if capture is not None:
                    m["conditions"]["capture"] = capture
                m["duration_s"] = round(DURATION_S.get(kind, 0.3) * (1 + 0.05 * rng.random()), 3)
            clock += timedelta(seconds=m["duration_s"] or 0.001)
            m["time"] = _utc(clock)
            out.append(m)
    return out


def _instruments(hostile: bool) -> dict[str, dict[str, Any]]:
    analyzer_idn = "Rohde&Schwarz,FSW-26,1331.5003K26/101234,5.30"
    gnb_idn = "VHT gNodeB 8T8R (simulated), serial GNB-0042, software 2.3.1"
    if hostile:
        analyzer_idn = f"Rohde&Schwarz,FSW-26 {HOSTILE[0]},1331.5003K26/101234{HOSTILE[2]},5.30{HOSTILE[3]}"
        gnb_idn = f"VHT gNodeB 8T8R {HOSTILE[1]}, serial GNB-0042, software 2.3.1{HOSTILE[0]}"
    return {
        "analyzer": {
            "driver": "rs_fsw",
            "resource": "TCPIP::127.0.0.1::42981::SOCKET",
            "model": "R&S FSW-26 (simulated)",
            "serial": "101234",
            "calibration_due": "2027-06-30",
            "identity": analyzer_idn,
        },
        "gnb": {
            "driver": "gnb_console",
            "resource": "socket://127.0.0.1:34641",
            "model": "VHT gNodeB 8T8R (simulated)",
            "serial": "GNB-0042",
            "calibration_due": None,
            "identity": gnb_idn,
        },
        "attenuator": {
            "driver": "minicircuits_attenuator",
            "resource": "TCPIP::127.0.0.1::34773::SOCKET",
            "model": "Mini-Circuits RCDAT-6000-110 (simulated)",
            "serial": "11912070001",
            "calibration_due": "2027-06-30",
            "identity": "Mini-Circuits,RCDAT-6000-110,SN 11912070001",
        },
        "traffic": {
            "driver": "traffic_tools",
            "resource": "local",
            "model": "iperf3 + irtt over an emulated NR link (simulated)",
            "serial": None,
            "calibration_due": None,
            "identity": None,
        },
    }


def _exit_code(counts: Counter[str]) -> int:
    if counts["ERROR"] or counts["ABORTED"]:
        return 3
    return 1 if counts["FAIL"] or counts["INCONCLUSIVE"] else 0


def _record(run_id: str, plan_sha256: str, measurements: list[dict[str, Any]], hostile: bool) -> dict:
    counts = Counter(m["verdict"] for m in measurements)
    firmware = f"2.3.1{HOSTILE[3]}{HOSTILE[2]}{HOSTILE[0]}" if hostile else "2.3.1"
    finished = measurements[-1]["time"] if measurements else _utc(STARTED + timedelta(seconds=2))
    return {
        "run_id": run_id,
        "trial": "VHT gNodeB n78 acceptance (synthetic run)",
        "plan_file": "testplans/demo.yaml",
        "plan_sha256": plan_sha256,
        "bench_file": "instruments/benches/sim.yaml",
        "bench_name": "simulated bench",
        "simulated": True,
        "operator": "lab 3",
        "host": "vm",
        "software": "fivegbench 0.1.0",
        "started": _utc(STARTED),
        "finished": finished,
        "exit_code": _exit_code(counts),
        "status": "completed",
        "dut": {
            "vendor": "VHT",
            "model": "gNodeB 8T8R",
            "serial": "GNB-0042",
            "firmware": firmware,
            "rated_output_power": 46.0,
            "bs_class": "wide_area",
            "category": "A",
        },
        "cell": {
            "band": "n78",
            "center_frequency": CENTRE_HZ,
            "arfcn": 650000,
            "bandwidth": CHANNEL_HZ,
            "scs": 30000.0,
            "tdd_pattern": "DDDSU",
            "special_slot": [10, 2, 2],
            "tx_power": 43.0,
            "test_model": "NR-FR1-TM1.1",
        },
        "instruments": _instruments(hostile),
        "rf_path": {
            "loss": PATH_LOSS_DB,
            "components": ["30 dB power attenuator 100 W", "10 dB directional coupler port", "1 m SMA cable"],
        },
        "start_state": "gNB RF off at connect (read back)",
        "safe_state": "confirmed: gNB RF off (read back); attenuator at maximum 110 dB (read back)",
        "counts": {verdict: counts[verdict] for verdict in sorted(counts)},
        "resumed": [],
        "flags": [],
        "simulation": [
            "every RF reading comes from one synthesized NR-FR1 test-model frame (sim/waveform.py)",
            "PA: Rapp AM/AM (p = 3, 53 dBm saturation), no AM/PM, DPD or CFR [U: model assumption]",
        ],
        "report_id": f"FGB-{run_id}-5EED0001",
        "local_timezone": "+0100 CET",
        "environment": {"temperature": "23 °C", "relative humidity": "45 %"},
        "command_line": ["fivegbench", "run", "testplans/demo.yaml", "--env", "temperature=23 °C"],
        "overrides": {"environment.temperature": "23 °C"},
        "versions": {"python": "3.11.7 (CPython)", "fivegbench": "0.1.0", "numpy": "2.4.6"},
        "gnb_readback": {
            "version": {"model": "VHT gNodeB 8T8R (simulated)", "serial": "GNB-0042", "software": firmware},
            "cell": {"band": "n78", "arfcn": 650000, "tx_power_dbm": 46.0, "rf_on": False},
            "differences": [],
        },
        "measurements": measurements,
    }


def _io_log(hostile: bool) -> str:
    answer = f'-113,"Undefined header {HOSTILE[0]}"' if hostile else '-222,"Data out of range"'
    lines = [
        ("2026-11-30T10:00:00.100000Z", "analyzer", ">", "*IDN?"),
        ("2026-11-30T10:00:00.101000Z", "analyzer", "<", "Rohde&Schwarz,FSW-26,1331.5003K26/101234,5.30"),
        ("2026-11-30T10:00:00.200000Z", "analyzer", ">", "SYST:ERR?"),
        ("2026-11-30T10:00:00.201000Z", "analyzer", "<", '0,"No error"'),
        ("2026-11-30T10:00:05.200000Z", "analyzer", ">", "SYST:ERR?"),
        ("2026-11-30T10:00:05.201000Z", "analyzer", "<", answer),
    ]
    return "".join(f"{t}  {role}  {way}  {text}\n" for t, role, way, text in lines)


def make_run(dir: Path, n: int, kinds: Sequence[str] = KINDS, hostile: bool = False, seed: int = 0) -> Path:
    """Write a synthetic run of ``n`` measurements into a new folder under ``dir``.

    Parameters
    ----------
    dir
        The results folder (created if missing); the run folder is made inside it.
    n
        How many measurements (split over one step per kind).
    kinds
        The measurement kinds, in step order: any of :data:`KINDS`.
    hostile
        Plant :data:`HOSTILE` strings where a report must escape them.
    seed
        For the values' scatter.

    Returns
    -------
    Path
        The run folder (``record.json``, ``journal.jsonl``, ``plan.yaml``, ``bench.yaml``,
        ``io.log``, ``run.log``, ``captures/``). No ``report.html``: that is the test's job.
    """
    unknown = [kind for kind in kinds if kind not in KIND_SHAPES]
    if unknown or not kinds or n < 0:
        raise ValueError(
            f"make_run: n must be >= 0 and kinds a non-empty subset of {KINDS}, got {n}, {kinds}"
        )
    run_id = f"20261130T100000Z-synthetic-{n}{'-hostile' if hostile else ''}"
    run_dir = Path(dir) / run_id
    (run_dir / "captures").mkdir(parents=True)
    shutil.copyfile(PLAN, run_dir / "plan.yaml")
    shutil.copyfile(BENCH, run_dir / "bench.yaml")
    rng = np.random.default_rng(seed)
    measurements = _measurements(run_dir, rng, n, kinds, hostile)
    plan_sha256 = hashlib.sha256((run_dir / "plan.yaml").read_bytes()).hexdigest()
    record = _record(run_id, plan_sha256, measurements, hostile)
    (run_dir / "record.json").write_text(json.dumps(record, indent=2, ensure_ascii=False), encoding="utf-8")
    with open(run_dir / "journal.jsonl", "w", encoding="utf-8") as journal:
        for m in measurements:
            journal.write(json.dumps(m, separators=(",", ":"), ensure_ascii=False) + "\n")
    (run_dir / "io.log").write_text(_io_log(hostile), encoding="utf-8")
    (run_dir / "run.log").write_text(
        "2026-11-30 10:00:00,000 INFO fivegbench.runner: synthetic run (tests/report/fake_run.py)\n",
        encoding="utf-8",
    )
    return run_dir
