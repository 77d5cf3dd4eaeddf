"""Frozen records of a run: one per measurement, one for the run. JSON-ready, never pickled."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Value:
    """A measured value with its unit."""

    value: float
    unit: str


@dataclass(frozen=True)
class MeasurementRecord:
    """One finished (or skipped/aborted) measurement: exactly what the journal line holds."""

    step: str
    index: int
    kind: str
    point: dict[str, str]
    values: dict[str, Value]
    limits: list[dict[str, Any]]
    verdict: str
    time: str
    repeat: str = "1/1"
    checks: list[dict[str, Any]] = field(default_factory=list)
    conditions: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    flags: list[str] = field(default_factory=list)
    """What a reviewer must know about how it was taken (an instrument past its calibration)."""
    duration_s: float | None = None
    """How long it took, configuring included (None: not run)."""

    def to_dict(self) -> dict[str, Any]:
        # By hand, not dataclasses.asdict: asdict deep-copies every nested dict, and this runs
        # once per measurement of sweeps with tens of thousands of points.
        return {
            "step": self.step,
            "index": self.index,
            "kind": self.kind,
            "point": self.point,
            # JSON has no NaN: a value that could not be measured is null
            "values": {
                name: {"value": v.value if math.isfinite(v.value) else None, "unit": v.unit}
                for name, v in self.values.items()
            },
            "limits": self.limits,
            "verdict": self.verdict,
            "time": self.time,
            "repeat": self.repeat,
            "checks": self.checks,
            "conditions": self.conditions,
            "error": self.error,
            "flags": self.flags,
            "duration_s": self.duration_s,
        }


@dataclass(frozen=True)
class RunRecord:
    """Everything an auditor asks about a run. Its measurements are streamed from the journal
    (plus the steps that never ran) when ``record.json`` is written, never held in memory."""

    run_id: str
    trial: str
    plan_file: str
    plan_sha256: str
    bench_file: str
    bench_name: str
    simulated: bool
    operator: str
    host: str
    software: str
    started: str
    finished: str
    exit_code: int
    status: str
    dut: dict[str, Any]
    cell: dict[str, Any]
    instruments: dict[str, dict[str, Any]]
    rf_path: dict[str, Any]
    start_state: str | None
    """The gNB's RF state found at connect, and what was done about it (None: gNB not used)."""
    safe_state: str
    counts: dict[str, int]
    resumed: list[dict[str, Any]] = field(default_factory=list)
    """Each ``--resume`` of this run: when, and how many measurements the journal held then."""
    flags: list[str] = field(default_factory=list)
    """What a reviewer must know about the run as a whole: expired calibrations allowed,
    identity mismatches recorded under ``identity: warn``."""
    simulation: list[str] = field(default_factory=list)
    """On the simulated bench: what the simulation simplifies and assumes (``sim.CAVEATS``)."""
    report_id: str = ""
    """Unique ID of the run's report (kept when the report is regenerated or the run resumed)."""
    local_timezone: str = ""
    """The controller's UTC offset and zone name when the run started (e.g. ``+0700 ICT``)."""
    environment: dict[str, str] = field(default_factory=dict)
    """Environmental conditions: the plan's ``environment`` with ``--env`` overrides."""
    command_line: list[str] = field(default_factory=list)
    """The command that ran (or last resumed) the run."""
    overrides: dict[str, str] = field(default_factory=dict)
    """What the command line set over the plan and bench (operator, environment, calibration)."""
    versions: dict[str, str] = field(default_factory=dict)
    """Python, fivegbench (and its git commit when run from a checkout) and key libraries."""
    gnb_readback: dict[str, Any] | None = None
    """The gNB's software and cell configuration as read back from its console at the end of the
    run, with ``differences`` from the plan (None: no gNB, or it could not be read)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
