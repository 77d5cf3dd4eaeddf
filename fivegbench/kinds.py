"""Every measurement kind, declared once: its step parameters, the bench roles it drives, the
values it reports (name -> unit), the function that measures it, and the limit presets it has.

The plan model (which parameters a step accepts and how they are written), ``show``, preflight
(which values explicit limits may name), the runner (roles, measure function) and the presets
(which builder, with which arguments from the plan) are all derived from :data:`KINDS`. A new
kind is one entry here.

Measure functions are named by import path and imported when a run needs them, so that reading
a plan never imports instrument code.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from fivegbench import presets, units
from fivegbench.nr import test_models
from fivegbench.nr.bandwidth import n_rb
from fivegbench.params import ATTENUATION, ParamSpec, choice
from fivegbench.verdict import Requirement, explicit_requirements


@dataclass(frozen=True)
class Preset:
    """A named limit set for one kind: the builder and how its arguments come from the plan.

    ``arguments(step, dut)`` (the expanded step: its ``cell``, ``params`` and ``test_model``; the
    plan's DUT) raises ValueError when the plan lacks a declaration it needs.
    """

    builder: Callable[..., list[Requirement]]
    arguments: Callable[[Any, Any], dict[str, Any]]


@dataclass(frozen=True)
class Kind:
    """One measurement kind. ``measure`` is ``"module:function"``."""

    name: str
    doc: str
    params: Mapping[str, ParamSpec]
    roles: frozenset[str]
    values: Mapping[str, str]
    measure: str
    presets: Mapping[str, Preset] = field(default_factory=dict)
    optional_roles: frozenset[str] = frozenset()
    """Roles used when the bench has them (a UE whose readings go beside the throughput)."""
    test_models: tuple[str, ...] = ()
    """The test models the measurement is defined with (a step must set one of them); empty: any."""
    deviation: str = ""
    """Where the method departs from the standard it is judged against (the report says so)."""

    def measure_function(self) -> Callable[..., Any]:
        module, _, function = self.measure.partition(":")
        return getattr(importlib.import_module(module), function)


def _declared(dut: Any, attr: str, kind: str) -> Any:
    """A DUT declaration a 3gpp preset needs; ValueError (shown at the plan line) when absent."""
    value = getattr(dut, attr, None)
    if value is None:
        raise ValueError(f"the 3gpp limits for {kind} need dut.{attr}")
    return value


def _category(dut: Any) -> str:
    return getattr(dut, "category", None) or "A"


def _rf_power_arguments(step: Any, dut: Any) -> dict[str, Any]:
    return {
        "rated_output_power_dbm": float(_declared(dut, "rated_output_power", "rf.power")),
        "configured_power_dbm": float(step.cell.tx_power),
        "frequency_hz": float(step.cell.center_frequency),
    }


def _rf_aclr_arguments(step: Any, dut: Any) -> dict[str, Any]:
    return {
        "bs_class": _declared(dut, "bs_class", "rf.aclr"),
        "category": _category(dut),
        "band": step.cell.band,
        "frequency_hz": float(step.cell.center_frequency),
    }


def _rf_obw_arguments(step: Any, dut: Any) -> dict[str, Any]:
    return {"channel_bandwidth_hz": float(step.cell.bandwidth)}


def _rf_sem_arguments(step: Any, dut: Any) -> dict[str, Any]:
    return {
        "category": _category(dut),
        "bs_class": _declared(dut, "bs_class", "rf.sem"),
        "band": step.cell.band,
    }


EVM_MODULATIONS = ("QPSK", "16QAM", "64QAM", "256QAM")
"""The PDSCH modulations of the FR1 test models, each with its own EVM value and limit."""


def evm_modulations(test_model: str, bandwidth_hz: float, scs_hz: float) -> tuple[str, ...]:
    """The PDSCH modulations TS 38.141-1 evaluates EVM on for ``test_model`` (those of its EVM
    RNTIs), in the order of :data:`EVM_MODULATIONS`."""
    model = test_models.model(test_model)
    allocations = test_models.pdsch_allocations(model, n_rb(bandwidth_hz, scs_hz))
    found = {a.modulation for a in allocations if a.rnti in model.evm_rntis}
    return tuple(m for m in EVM_MODULATIONS if m in found)


def _rf_evm_arguments(step: Any, dut: Any) -> dict[str, Any]:
    if step.test_model is None:
        raise ValueError("the 3gpp limits for rf.evm need a test model (test_model on the step or the cell)")
    return {"modulations": evm_modulations(step.test_model, step.cell.bandwidth, step.cell.scs)}


def _rf_freq_error_arguments(step: Any, dut: Any) -> dict[str, Any]:
    return {
        "bs_class": _declared(dut, "bs_class", "rf.freq_error"),
        "frequency_hz": float(step.cell.center_frequency),
    }


_ANALYZER = {
    "span": ParamSpec(
        "frequency", 0.0, 100e9, doc="analyzer span (default: the measurement's own)", sets="analyzer.span"
    ),
    "rbw": ParamSpec("frequency", 1.0, 100e6, default=100e3, doc="resolution bandwidth", sets="analyzer.rbw"),
    "points": ParamSpec(
        "int", 101, 100001, doc="trace points (default: spacing <= RBW/2)", sets="analyzer.sweep_points"
    ),
    "attenuation": ATTENUATION,
}
# An I/Q capture (fivegbench.measure.rf_iq): its defaults depend on the cell, so they are None here.
AUTOLEVEL = ParamSpec("bool", default=True, doc="let the analyzer set its reference level before capturing")
_IQ = {
    "duration": ParamSpec(
        "time", 62.5e-6, 1.0, doc="I/Q capture length (default: one test-model period, 10 ms FDD, 20 ms TDD)"
    ),
    "sample_rate": ParamSpec(
        "frequency",
        1e6,
        2e9,
        doc="I/Q sample rate, FFT size x SCS (default: the least that holds the carrier)",
    ),
    "autolevel": AUTOLEVEL,
    "attenuation": ATTENUATION,
}
SWEPT_ONLY = ("span", "rbw", "points")
"""Parameters of a swept acquisition: refused with ``source: iq``."""
IQ_ONLY = ("duration", "sample_rate", "autolevel")
"""Parameters of an I/Q acquisition: refused with ``source: swept``."""
_SPECTRUM = _ANALYZER | {
    "source": choice("swept", "iq", doc="swept (default), or iq: an I/Q capture, reduced as analyze does"),
    "duration": _IQ["duration"],
    "sample_rate": replace(
        _IQ["sample_rate"], doc="I/Q sample rate (default: wide enough for the measurement)"
    ),
    "autolevel": replace(AUTOLEVEL, default=None, doc="with source: iq (default true)"),
}
_RF_ROLES = frozenset({"analyzer", "gnb"})
_ADJACENT = ("lower1", "upper1", "lower2", "upper2")
_EVM_TEST_MODELS = ("NR-FR1-TM3.1", "NR-FR1-TM3.1a", "NR-FR1-TM3.2", "NR-FR1-TM3.3")

_DECLARED = (
    Kind(
        name="rf.power",
        doc="channel power at the antenna connector (TS 38.141-1 §6.2)",
        params=_SPECTRUM,
        roles=_RF_ROLES,
        values={"channel_power": "dBm"},
        measure="fivegbench.measure.rf:rf_power",
        presets={"3gpp": Preset(presets.rf_power_3gpp, _rf_power_arguments)},
    ),
    Kind(
        name="rf.aclr",
        doc="adjacent channel leakage ratio, relative and absolute (TS 38.141-1 §6.7.3)",
        params=_SPECTRUM,
        roles=_RF_ROLES,
        values={"channel_power": "dBm"}
        | {f"aclr_{name}": "dB" for name in _ADJACENT}
        | {f"adjacent_{name}_density": "dBm/MHz" for name in _ADJACENT}
        | {f"instrument_aclr_{name}": "dB" for name in _ADJACENT},  # the analyzer's own, beside ours
        measure="fivegbench.measure.rf:rf_aclr",
        presets={"3gpp": Preset(presets.rf_aclr_3gpp, _rf_aclr_arguments)},
    ),
    Kind(
        name="rf.obw",
        doc="99 % occupied bandwidth (TS 38.141-1 §6.7.2)",
        params=_SPECTRUM,
        roles=_RF_ROLES,
        values={"obw": "Hz"},
        measure="fivegbench.measure.rf:rf_obw",
        presets={"3gpp": Preset(presets.rf_obw_3gpp, _rf_obw_arguments)},
    ),
    Kind(
        name="rf.sem",
        doc="operating band unwanted emissions (TS 38.141-1 §6.7.4)",
        params=_SPECTRUM,
        roles=_RF_ROLES,
        values={"sem_margin": "dB"},
        measure="fivegbench.measure.rf:rf_sem",
        presets={"3gpp": Preset(presets.rf_sem_3gpp, _rf_sem_arguments)},
    ),
    Kind(
        name="rf.evm",
        doc="error vector magnitude per PDSCH modulation, TM3.x, from an I/Q capture (TS 38.141-1 §6.6.2)",
        params=_IQ,
        roles=_RF_ROLES,
        values={"evm_rms": "%"}
        | {f"evm_{m.lower()}": "%" for m in EVM_MODULATIONS}
        | {"evm_worst_slot": "%"},
        measure="fivegbench.measure.rf_iq:rf_evm",
        presets={"3gpp": Preset(presets.rf_evm_3gpp, _rf_evm_arguments)},
        test_models=_EVM_TEST_MODELS,
    ),
    Kind(
        name="rf.freq_error",
        doc="carrier frequency error, from an I/Q capture (TS 38.141-1 §6.6.1)",
        params=_IQ,
        roles=_RF_ROLES,
        values={"freq_error": "Hz", "freq_error_ppm": "ppm"},
        measure="fivegbench.measure.rf_iq:rf_freq_error",
        presets={"3gpp": Preset(presets.rf_freq_error_3gpp, _rf_freq_error_arguments)},
        test_models=("NR-FR1-TM2", "NR-FR1-TM2a", *_EVM_TEST_MODELS),
    ),
)

_TRAFFIC = {
    "direction": choice("dl", "ul", "bidir", default="dl", doc="dl: the UE receives (iperf3 --reverse)"),
    "protocol": choice("tcp", "udp", default="tcp"),
    "duration": ParamSpec("time", 1.0, 3600.0, default=10.0, multiple_of=1.0, doc="measured time, whole s"),
    "omit": ParamSpec("time", 0.0, 60.0, default=1.0, multiple_of=1.0, doc="warm-up not counted, whole s"),
    "streams": ParamSpec("int", 1, 128, default=1, doc="parallel streams"),
    "rate": ParamSpec("rate", 1e3, 100e9, doc="offered rate, all streams together (UDP: required)"),
    "length": ParamSpec("int", 16, 1048576, doc="bytes per write (UDP: datagram payload, at most 65507)"),
    "window": ParamSpec("int", 4096, 268435456, doc="socket buffer, bytes (iperf3 -w)"),
    "layers_dl": ParamSpec("int", 1, 8, default=4, doc="MIMO layers of the peak rate, DL"),
    "layers_ul": ParamSpec("int", 1, 4, default=1, doc="MIMO layers of the peak rate, UL"),
    "attenuation": ATTENUATION,
}


_TRAFFIC_KINDS = (
    Kind(
        name="traffic.throughput",
        doc="iperf3 goodput between the UE side and the core side, with its confidence interval",
        params=_TRAFFIC,
        roles=frozenset({"gnb", "traffic"}),  # the gNB puts the cell on air
        optional_roles=frozenset({"ue"}),
        values={
            "throughput": "Mbit/s",
            "throughput_ci_low": "Mbit/s",
            "throughput_ci_high": "Mbit/s",
            "peak_rate": "Mbit/s",
            "efficiency": "%",
            "retransmits": "",
            "loss": "%",
            "rsrp": "dBm",
            "sinr": "dB",
        },
        measure="fivegbench.measure.traffic:traffic_throughput",
        presets={
            "itu-m2410-indicative": Preset(
                presets.traffic_throughput_itu, lambda step, dut: {"direction": step.params["direction"]}
            )
        },
    ),
    Kind(
        name="traffic.latency",
        doc="irtt round-trip and one-way delay percentiles, unloaded or under an iperf3 load",
        params={
            "interval": ParamSpec("time", 0.001, 1.0, default=0.01, doc="time between probes"),
            "length": ParamSpec("int", 0, 65507, default=0, doc="probe size, bytes (0: irtt's smallest)"),
            "duration": ParamSpec("time", 0.1, 3600.0, default=10.0, doc="time spent probing"),
            "load": ParamSpec(
                "mapping",
                fields=(
                    ("direction", choice("dl", "ul", "bidir")),
                    ("streams", ParamSpec("int", 1, 128, default=1)),
                ),
                doc="an iperf3 TCP flow during the probes, e.g. {direction: dl, streams: 4}",
            ),
            "attenuation": ATTENUATION,
        },
        roles=frozenset({"gnb", "traffic"}),
        optional_roles=frozenset({"ue"}),
        values={
            "rtt_p50": "ms",
            "rtt_p90": "ms",
            "rtt_p99": "ms",
            "rtt_p999": "ms",
            "rtt_min": "ms",
            "rtt_max": "ms",
            "owd_up_p50": "ms",
            "owd_down_p50": "ms",
            "ipdv_p50": "ms",
            "loss": "%",
            "samples": "",
        },
        measure="fivegbench.measure.latency:traffic_latency",
        deviation=(
            "ITU-R M.2410 user-plane latency is one way; it is judged here from the round trip "
            "(RTT/2, assuming equal delays both ways), over the IP path, not at the radio layers"
        ),
        presets={"itu-m2410-indicative": Preset(presets.traffic_latency_itu, lambda step, dut: {})},
    ),
    Kind(
        name="traffic.capacity",
        doc="RFC 2544-style binary search for the highest UDP rate with loss at or below a threshold",
        params={
            "direction": choice("dl", "ul", default="dl"),
            "loss_threshold": ParamSpec("percent", 0.0, 100.0, default=0.0, doc="0 %: RFC 2544's zero loss"),
            "resolution": ParamSpec(
                "rate", 1e3, 10e9, default=1e6, doc="stop when the bracket is this narrow"
            ),
            "trial_duration": ParamSpec(
                "time", 1.0, 600.0, default=5.0, multiple_of=1.0, doc="per trial, whole s"
            ),
            "max_rate": ParamSpec("rate", 1e3, 100e9, doc="first trial (default: the TS 38.306 peak)"),
            "length": ParamSpec("int", 16, 65507, default=1400, doc="datagram payload, bytes"),
            "window": ParamSpec(
                "int",
                4096,
                268435456,
                default=8388608,
                doc="socket buffer, bytes (a UDP receiver needs room)",
            ),
            "layers_dl": _TRAFFIC["layers_dl"],
            "layers_ul": _TRAFFIC["layers_ul"],
            "attenuation": ATTENUATION,
        },
        roles=frozenset({"gnb", "traffic"}),
        optional_roles=frozenset({"ue"}),
        values={"capacity": "Mbit/s", "trials": ""},
        measure="fivegbench.measure.capacity:traffic_capacity",
        deviation=(
            "RFC 2544 throughput is the highest rate with zero loss; with a loss_threshold above 0 % "
            "this is a loss-tolerant capacity instead, searched with UDP trials of iperf3"
        ),
    ),
)

KINDS: Mapping[str, Kind] = MappingProxyType({kind.name: kind for kind in (*_DECLARED, *_TRAFFIC_KINDS)})
"""Measurement kind name -> its declaration."""

LIMIT_PRESETS: tuple[str, ...] = tuple(sorted({name for kind in _DECLARED for name in kind.presets}))
"""Every preset name some kind has (a step may write ``limits: <name>``)."""


def _in_unit(bound: Any, unit: str) -> float | None:
    return None if bound is None else units.convert(float(bound.value), bound.unit, unit)


def requirements_for(step: Any, dut: Any) -> list[Requirement]:
    """The requirements of one expanded plan step.

    ``step.limits`` is None (no limits: :func:`~fivegbench.verdict.judge` then gives
    INCONCLUSIVE), a preset name (built from the step and the plan's ``dut`` by the kind's
    :class:`Preset`), or a mapping value name -> limit with ``min``/``max`` bounds that carry
    ``.value`` and ``.unit`` (the plan model's parsed limits).

    Raises ValueError if the kind has no such preset or the dut lacks a needed declaration.
    """
    limits = step.limits
    if limits is None:
        return []
    if isinstance(limits, str):
        kind = KINDS[step.kind]
        preset = kind.presets.get(limits)
        if preset is None:
            raise ValueError(f"limits preset {limits!r} has no limits for {step.kind!r}")
        return preset.builder(**preset.arguments(step, dut))
    declared = KINDS[step.kind].values
    table: dict[str, dict[str, object]] = {}
    for name, limit in limits.items():
        low, high = getattr(limit, "min", None), getattr(limit, "max", None)
        # bounds are parsed into their kind's unit (bit/s, s); values may be reported in another
        # unit of that kind (Mbit/s, ms): judge in the value's unit
        unit = declared.get(name) or next((b.unit for b in (low, high) if b is not None), "")
        table[name] = {"min": _in_unit(low, unit), "max": _in_unit(high, unit), "unit": unit}
    return explicit_requirements(table)
