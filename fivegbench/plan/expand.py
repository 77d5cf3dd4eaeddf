"""Expand a plan into the flat list of steps a run executes (pure: no I/O, no instruments).

Order: for each plan step, for each sweep point (sweep keys nest in the order written, the first
outermost; a ``zip`` group moves as one key), for each repeat.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace

from fivegbench import kinds
from fivegbench.params import Scalar
from fivegbench.plan.load import LoadedPlan
from fivegbench.plan.model import Cell, Limit, StepSpec
from fivegbench.plan.yamlsafe import path_str


@dataclass(frozen=True)
class CellConfig:
    """The cell as one step runs it. Frequencies in Hz, powers in dBm."""

    band: str
    center_frequency: float
    bandwidth: float
    scs: float
    tx_power: float
    tdd_pattern: str | None = None
    special_slot: tuple[int, int, int] | None = None
    arfcn: int | None = None
    """The plan's ARFCN; None when the plan gave a frequency or the step sweeps it."""

    @classmethod
    def from_cell(cls, cell: Cell) -> CellConfig:
        return cls(
            band=cell.band,
            center_frequency=cell.frequency,
            bandwidth=cell.bandwidth,
            scs=cell.scs,
            tx_power=cell.tx_power,
            tdd_pattern=cell.tdd_pattern,
            special_slot=cell.special_slot,
            arfcn=cell.arfcn,
        )


@dataclass(frozen=True)
class Step:
    """One measurement to make: a plan step at one sweep point and one repeat."""

    index: int
    """1-based across the whole plan."""
    name: str
    kind: str
    point: dict[str, str]
    """Swept parameter -> value as text with unit (``{"tx_power": "37 dBm"}``); empty without a sweep."""
    cell: CellConfig
    params: dict[str, Scalar]
    """Step parameters (span, rbw, points, attenuation, direction, ...): the plan's values, the
    kind's declared defaults, and the sweep point's values."""
    test_model: str | None
    limits: str | dict[str, Limit] | None
    repeat_index: int
    repeat_count: int
    on_error: str
    sources: dict[str, str]
    """Parameter -> key path its value came from (``steps[0].sweep.tx_power[3]``, ``cell.tx_power``)."""
    plan_step: int
    """0-based index of the plan step this came from."""


def _base_sources(i: int, spec: StepSpec, cell: Cell) -> dict[str, str]:
    sources = {
        "tx_power": "cell.tx_power",
        "center_frequency": "cell.arfcn" if cell.arfcn is not None else "cell.center_frequency",
    }
    if spec.test_model is not None:
        sources["test_model"] = path_str(("steps", i, "test_model"))
    elif cell.test_model is not None:
        sources["test_model"] = "cell.test_model"
    for name in spec.params:
        sources[name] = path_str(("steps", i, name))
    if spec.limits is not None:
        sources["limits"] = path_str(("steps", i, "limits"))
    return sources


def expand(loaded: LoadedPlan) -> list[Step]:
    """Every step of the plan, in run order. Pure; the plan is already validated."""
    plan = loaded.plan
    base_cell = CellConfig.from_cell(plan.cell)
    steps: list[Step] = []
    for i, spec in enumerate(plan.steps):
        base_sources = _base_sources(i, spec, plan.cell)
        test_model = spec.test_model if spec.test_model is not None else plan.cell.test_model
        # the kind's declared defaults, so that the record says what was used
        defaults = {
            n: p.default for n, p in kinds.KINDS[spec.measure].params.items() if p.default is not None
        }
        ranges = [range(group.size) for group in spec.sweep]
        for choice in itertools.product(*ranges):
            point: dict[str, str] = {}
            params: dict[str, Scalar] = {**defaults, **spec.params}
            cell_overrides: dict[str, Scalar | None] = {}
            sources = dict(base_sources)
            for group, j in zip(spec.sweep, choice, strict=True):
                for axis in group.axes:
                    point[axis.name] = axis.texts[j]
                    where = (*axis.where, j) if axis.indexed else axis.where
                    sources[axis.name] = path_str(("steps", i, *where))
                    if axis.target == "cell":
                        cell_overrides[axis.name] = axis.values[j]
                    else:
                        params[axis.name] = axis.values[j]
            cell = base_cell
            if cell_overrides:
                if "center_frequency" in cell_overrides:
                    cell_overrides["arfcn"] = None
                cell = replace(base_cell, **cell_overrides)  # type: ignore[arg-type]
            for r in range(1, spec.repeat + 1):
                steps.append(
                    Step(
                        index=len(steps) + 1,
                        name=spec.name,
                        kind=spec.measure,
                        point=dict(point),
                        cell=cell,
                        params=dict(params),
                        test_model=test_model,
                        limits=spec.limits,
                        repeat_index=r,
                        repeat_count=spec.repeat,
                        on_error=spec.on_error,
                        sources=dict(sources),
                        plan_step=i,
                    )
                )
    return steps
