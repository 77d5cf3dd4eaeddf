"""The plan file as pydantic models.

Quantities are written as text with units (``43 dBm``, ``3750 MHz``) and stored as floats in a
fixed unit per kind (Hz, dBm, dB, s; see :mod:`fivegbench.units`). Every model refuses unknown
keys. What a step may contain comes from its kind's declaration (:data:`fivegbench.kinds.KINDS`:
its parameters and their :class:`~fivegbench.params.ParamSpec`); a sweep may vary those
parameters and the cell settings in :data:`CELL_SWEEPABLE`.

Errors raised inside validators use :func:`~fivegbench.plan.yamlsafe.at` so they point at the
key that is wrong; :func:`~fivegbench.plan.yamlsafe.validate` turns them into PlanErrors.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, ValidationInfo, model_validator
from pydantic_core import PydanticCustomError

from fivegbench import kinds, units
from fivegbench.identity import POLICIES as IDENTITY_POLICIES
from fivegbench.nr.arfcn import arfcn_to_hz
from fivegbench.nr.carrier import CarrierError, check_carrier
from fivegbench.nr.requirements import BS_CATEGORIES, BS_CLASSES
from fivegbench.nr.test_models import TEST_MODELS
from fivegbench.params import (
    ARFCN,
    CENTER_FREQUENCY,
    CHANNEL_BANDWIDTH,
    RATED_POWER,
    REPEAT,
    SCS,
    TX_POWER,
    ParamSpec,
    Scalar,
    number,
    parse_quantity,
)
from fivegbench.plan.yamlsafe import PathElem, StrictModel, WrittenAs, at, describe, unknown_key

MAX_POINTS = 100_000
"""Most sweep points in one step, and most measurements (points x repeat) in a step and in a plan."""

ON_ERROR: tuple[str, ...] = ("stop", "continue", "skip-step")
"""After an ERROR: stop the run, continue with the next point, or skip the rest of that step."""


# --------------------------------------------------------------------------- parameters

CELL_SWEEPABLE: dict[str, ParamSpec] = {"tx_power": TX_POWER, "center_frequency": CENTER_FREQUENCY}
"""Cell settings a sweep may vary; every parameter of a step's kind may be swept too."""


def sweepable(name: str, measure: str) -> tuple[ParamSpec, Literal["cell", "params"]] | None:
    """How ``name`` is swept in a step of kind ``measure``: its spec and where a swept value goes
    (the cell configuration or the step's parameters); None when it cannot be swept."""
    if name in CELL_SWEEPABLE:
        return CELL_SWEEPABLE[name], "cell"
    spec = kinds.KINDS[measure].params.get(name)
    return (spec, "params") if spec is not None else None


STEP_KEYS: tuple[str, ...] = ("name", "measure", "test_model", "sweep", "repeat", "limits", "on_error")
"""Keys every step accepts, whatever its kind."""


def range_values(start: float, stop: float, step: float) -> list[float]:
    """Values of an inclusive range: start, start+step, ... up to stop (within 1e-9 step).

    Raises ValueError when step <= 0, start > stop or there would be more than MAX_POINTS values.
    """
    if not step > 0:
        raise ValueError("step must be greater than 0")
    if start > stop:
        raise ValueError("start is after stop (ranges count up)")
    span = (stop - start) / step
    if span >= MAX_POINTS:
        raise ValueError(f"range has more than {MAX_POINTS} points")
    count = math.floor(span + 1e-9) + 1
    values = [start + i * step for i in range(count)]
    if count > 1 and abs(values[-1] - stop) <= 1e-9 * step:
        values[-1] = stop
    return values


# --------------------------------------------------------------------------- field types


def _spec(spec: ParamSpec) -> BeforeValidator:
    return BeforeValidator(spec.parse)


def _text(value: object) -> object:
    # Serial numbers and firmware versions are often written bare (42, 2.3); keep them as text.
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise ValueError(f"expected text, got {describe(value)}")
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def _choice(what: str, options: tuple[str, ...]) -> BeforeValidator:
    def check(value: object) -> object:
        if not isinstance(value, str) or value not in options:
            shown = repr(value) if isinstance(value, str) else describe(value)
            raise ValueError(f"{shown} is not {what} (expected one of: {', '.join(options)})")
        return value

    check.choices = options  # type: ignore[attr-defined]  # shown by fivegbench.schema
    return BeforeValidator(check)


def _band(value: object) -> object:
    if not isinstance(value, str) or not re.fullmatch(r"n\d+", value):
        shown = repr(value) if isinstance(value, str) else describe(value)
        raise ValueError(f"{shown} is not an NR band (write it like n78)")
    return value


def _tdd_pattern(value: object) -> object:
    if not isinstance(value, str) or not re.fullmatch(r"[DSU]{1,20}", value):
        shown = repr(value) if isinstance(value, str) else describe(value)
        raise ValueError(f"{shown} is not a TDD pattern (1 to 20 of the letters D, S, U, e.g. DDDSU)")
    return value


def _special_slot(value: object) -> tuple[int, int, int]:
    text = value if isinstance(value, str) else None
    m = re.fullmatch(r"\s*(\d+)\s*:\s*(\d+)\s*:\s*(\d+)\s*", text or "")
    if m is None:
        shown = repr(value) if isinstance(value, str) else describe(value)
        raise ValueError(f'{shown} is not a special slot (write D:G:U symbols, e.g. "10:2:2")')
    d, g, u = (int(x) for x in m.groups())
    if d + g + u != 14:
        raise ValueError(f"special slot {d}:{g}:{u} has {d + g + u} symbols; D + G + U must be 14")
    return d, g, u


def _at_least_one_step(value: list[Any]) -> list[Any]:
    if not value:
        raise ValueError("a plan needs at least one step")
    return value


Text = Annotated[str, BeforeValidator(_text)]
Power = Annotated[float, _spec(TX_POWER)]
TestModel = Annotated[str, _choice("a test model", TEST_MODELS)]


# --------------------------------------------------------------------------- limits


class Bound(BaseModel):
    """One side of a limit: the text as written, its value and the unit the value is in."""

    model_config = {"frozen": True}
    text: str
    value: float
    unit: str


class Limit(BaseModel):
    """An explicit limit on one measured value; at least one side is given."""

    model_config = {"frozen": True}
    min: Bound | None = None
    max: Bound | None = None


_BOUND_KINDS = ("power", "ratio", "frequency", "time")


def parse_bound(value: object) -> Bound:
    """A limit value with any known unit. Raises ValueError."""
    if isinstance(value, bool) or not isinstance(value, str):
        if isinstance(value, int | float) and not isinstance(value, bool):
            raise ValueError(f"{value!r} has no unit; write it with one, e.g. '{value} dB'")
        raise ValueError(f"expected a quantity with a unit, got {describe(value)}")
    candidates: tuple[str, ...]
    if re.search(r"bit|bps|B/s", value):
        candidates = ("rate",)
    elif "%" in value:
        candidates = ("percent",)
    elif "ppm" in value:
        candidates = ("ppm",)
    elif "/" in value:
        candidates = ("psd", *_BOUND_KINDS)
    else:
        candidates = _BOUND_KINDS
    for kind in candidates:
        try:
            return Bound(text=value, value=parse_quantity(value, kind), unit=units.KINDS[kind][0])
        except units.UnitParseError:
            continue
    raise ValueError(f"{value!r} is not a quantity with a known unit")


def parse_limits(value: object) -> object:
    """``limits:``: a preset name, or a mapping ``value name -> {min, max}``."""
    if isinstance(value, str):
        if value not in kinds.LIMIT_PRESETS:
            raise ValueError(f"unknown limits preset '{value}' (known: {', '.join(kinds.LIMIT_PRESETS)})")
        return value
    if not isinstance(value, dict) or not value:
        raise ValueError(
            f"expected a preset name ({', '.join(kinds.LIMIT_PRESETS)}) or a mapping of value -> "
            f"{{min, max}}, got {describe(value)}"
        )
    out: dict[str, Limit] = {}
    for name, entry in value.items():
        if not isinstance(entry, dict):
            raise at(name, f"expected a mapping with min and/or max, got {describe(entry)}")
        for key in entry:
            if key not in ("min", "max"):
                raise at((name, key), unknown_key(key, ("min", "max")))
        if entry.get("min") is None and entry.get("max") is None:
            raise at(name, f"limit '{name}' needs min or max")
        bounds: dict[str, Bound] = {}
        for key in ("min", "max"):
            if entry.get(key) is not None:
                try:
                    bounds[key] = parse_bound(entry[key])
                except ValueError as exc:
                    raise at((name, key), str(exc)) from None
        low, high = bounds.get("min"), bounds.get("max")
        if low is not None and high is not None:
            if low.unit != high.unit:
                raise at((name, "max"), f"min {low.text!r} and max {high.text!r} are different kinds")
            if low.value > high.value:
                raise at((name, "max"), f"max {high.text!r} is below min {low.text!r}")
        out[name] = Limit(min=low, max=high)
    return out


# --------------------------------------------------------------------------- sweeps


class SweepAxis(BaseModel):
    """One swept parameter: its values (in the spec's unit) and their text.

    ``where`` is the key path of the values relative to the step (``("sweep", "tx_power")``);
    when ``indexed`` each value has its own list item (``...tx_power[3]``).
    """

    model_config = {"frozen": True}
    name: str
    values: tuple[Scalar, ...]
    texts: tuple[str, ...]
    where: tuple[PathElem, ...]
    indexed: bool
    target: Literal["cell", "params"] = "params"


class SweepGroup(BaseModel):
    """Axes that move together (a ``zip``), or a single axis. Groups form a nested product."""

    model_config = {"frozen": True}
    axes: tuple[SweepAxis, ...]

    @property
    def size(self) -> int:
        return len(self.axes[0].values)


def _sweep_axis(
    name: str, raw: object, rel: tuple[PathElem, ...], spec: ParamSpec, target: Literal["cell", "params"]
) -> SweepAxis:
    where = ("sweep", *rel)
    values: list[Scalar]
    if isinstance(raw, list):
        if not raw:
            raise at(where, "empty sweep")
        values = []
        for i, item in enumerate(raw):
            try:
                values.append(spec.parse(item))
            except ValueError as exc:
                raise at((*where, i), str(exc)) from None
        indexed = True
    elif isinstance(raw, dict) and not spec.numeric:
        raise at(where, f"'{name}' is one of {', '.join(spec.choices)}: sweep it as a list, not a range")
    elif isinstance(raw, dict):
        for key in raw:
            if key not in ("start", "stop", "step"):
                raise at((*where, key), unknown_key(key, ("start", "stop", "step")))
        parsed: dict[str, float] = {}
        for key in ("start", "stop", "step"):
            if key not in raw:
                raise at((*where, key), f"missing required key '{key}'")
            try:
                kind_spec = ParamSpec(spec.step_kind) if key == "step" else spec
                parsed[key] = number(kind_spec.parse_raw(raw[key]))
            except ValueError as exc:
                raise at((*where, key), str(exc)) from None
        start, stop, step = parsed["start"], parsed["stop"], parsed["step"]
        if not step > 0:
            raise at((*where, "step"), "step must be greater than 0")
        if start > stop:
            raise at((*where, "start"), f"start {raw['start']} is after stop {raw['stop']} (ranges count up)")
        try:
            values = list(range_values(start, stop, step))
        except ValueError as exc:
            raise at(where, str(exc)) from None
        for key, value in (("start", values[0]), ("stop", values[-1])):
            try:
                spec.check(value)
            except ValueError as exc:
                raise at((*where, key), str(exc)) from None
        indexed = False
    else:
        try:
            values = [spec.parse(raw)]
        except ValueError as exc:
            raise at(where, str(exc)) from None
        indexed = False
    texts = tuple(spec.text(v) for v in values)
    return SweepAxis(
        name=name, values=tuple(values), texts=texts, where=where, indexed=indexed, target=target
    )


def parse_sweep(raw: object, measure: str, step_params: dict[str, Any]) -> tuple[SweepGroup, ...]:
    """``sweep:`` of a step of kind ``measure`` into groups; errors point below ``sweep``."""
    if not isinstance(raw, dict):
        raise at("sweep", f"expected a mapping of parameter -> values, got {describe(raw)}")
    if not raw:
        raise at("sweep", "empty sweep")
    seen: set[str] = set()

    def axis(name: str, value: object, rel: tuple[PathElem, ...]) -> SweepAxis:
        entry = sweepable(name, measure)
        if entry is None:
            known = ", ".join([*CELL_SWEEPABLE, *kinds.KINDS[measure].params])
            raise at(("sweep", *rel), f"'{name}' cannot be swept in {measure} (sweepable: {known})")
        if name in step_params:
            raise at(("sweep", *rel), f"'{name}' is both set on the step and swept; keep one")
        if name in seen:
            raise at(("sweep", *rel), f"'{name}' is swept twice")
        seen.add(name)
        return _sweep_axis(name, value, rel, *entry)

    groups: list[SweepGroup] = []
    for key, value in raw.items():
        if key != "zip":
            groups.append(SweepGroup(axes=(axis(key, value, (key,)),)))
            continue
        if not isinstance(value, dict) or not value:
            raise at(("sweep", "zip"), f"expected a mapping of parameter -> values, got {describe(value)}")
        axes = tuple(axis(name, member, ("zip", name)) for name, member in value.items())
        if len({len(a.values) for a in axes}) > 1:
            sizes = ", ".join(f"{a.name} has {len(a.values)}" for a in axes)
            raise at(("sweep", "zip"), f"zip members have different lengths: {sizes}")
        groups.append(SweepGroup(axes=axes))
    total = math.prod(g.size for g in groups)
    if total > MAX_POINTS:
        raise at("sweep", f"sweep expands to {total} points (at most {MAX_POINTS})")
    return tuple(groups)


# --------------------------------------------------------------------------- models


class Dut(StrictModel):
    """The device under test."""

    vendor: Text
    """Manufacturer of the gNB."""
    model: Text
    """Model name of the gNB."""
    serial: Text | None = None
    """Serial number, compared with what the gNB reports."""
    firmware: Text | None = None
    """Software version, compared with what the gNB reports."""
    rated_output_power: Annotated[float, _spec(RATED_POWER)] | None = None
    """Declared rated output power per carrier (the 3gpp rf.power limits need it)."""
    bs_class: Annotated[str, _choice("a BS class", BS_CLASSES)] | None = None
    """BS class of TS 38.104 (the 3gpp rf.aclr and rf.sem limits need it)."""
    category: Annotated[str, _choice("a BS category", BS_CATEGORIES)] = "A"
    """Category A or B of the unwanted-emission limits (TS 38.104 §6.6)."""


class Cell(StrictModel):
    """Cell configuration. After validation ``center_frequency`` is set even when ``arfcn`` is given."""

    band: Annotated[str, BeforeValidator(_band)]
    """NR operating band, e.g. n78 (TS 38.104 Table 5.2-1); the carrier must fit in it."""
    center_frequency: Annotated[float, _spec(CENTER_FREQUENCY)] | None = None
    """Carrier centre, on the band's channel raster (or give arfcn)."""
    arfcn: Annotated[int, _spec(ARFCN)] | None = None
    """NR-ARFCN of the carrier centre (instead of center_frequency)."""
    bandwidth: Annotated[float, _spec(CHANNEL_BANDWIDTH)]
    """Channel bandwidth (TS 38.104 Table 5.3.2-1), e.g. 100 MHz."""
    scs: Annotated[float, _spec(SCS)]
    """Subcarrier spacing, e.g. 30 kHz; allowed for the bandwidth in Table 5.3.2-1."""
    tdd_pattern: Annotated[str, BeforeValidator(_tdd_pattern)] | None = None
    """Slot pattern of a TDD band, e.g. DDDSU (none for an FDD band)."""
    special_slot: (
        Annotated[tuple[int, int, int], BeforeValidator(_special_slot), WrittenAs("text")] | None
    ) = None
    """Special slot symbols D:G:U adding up to 14, e.g. "10:2:2"."""
    tx_power: Power
    """TX power the gNB is configured to, at the antenna connector."""
    test_model: TestModel | None = None
    """NR-FR1 test model the gNB transmits (TS 38.141-1 §4.9.2), unless a step sets one."""

    @model_validator(mode="after")
    def _check(self) -> Cell:
        if self.center_frequency is not None and self.arfcn is not None:
            raise at("arfcn", "give either center_frequency or arfcn, not both")
        if self.arfcn is not None:
            frequency = arfcn_to_hz(self.arfcn)
            try:
                CENTER_FREQUENCY.check(frequency)
            except ValueError as exc:
                raise at("arfcn", f"ARFCN {self.arfcn} is {exc}") from None
            object.__setattr__(self, "center_frequency", frequency)
        if self.center_frequency is None:
            raise at("center_frequency", "missing required key 'center_frequency' (or 'arfcn')")
        self.check_carrier(self.center_frequency)
        return self

    def check_carrier(self, center_hz: float) -> None:
        """The whole carrier against TS 38.104 (:func:`fivegbench.nr.carrier.check_carrier`),
        at ``center_hz`` (the cell's own or a swept one); raises at the cell key to change."""
        try:
            check_carrier(self.band, center_hz, self.bandwidth, self.scs, self.tdd_pattern, self.special_slot)
        except CarrierError as exc:
            field = "arfcn" if exc.field == "center_frequency" and self.arfcn is not None else exc.field
            raise at(field, str(exc)) from None

    @property
    def frequency(self) -> float:
        """Centre frequency in Hz (from ``center_frequency`` or ``arfcn``)."""
        if self.center_frequency is None:  # pragma: no cover - validation sets it
            raise ValueError("cell has no centre frequency")
        return self.center_frequency


class StepSpec(StrictModel):
    """One step as written. ``params`` holds the kind's parameters (from keys such as ``span``)."""

    name: Text
    """Step name, unique in the plan."""
    measure: str
    """Measurement kind (see the KIND sections); its parameters are keys of the step."""
    test_model: TestModel | None = None
    """Test model for this step (default: cell.test_model)."""
    params: dict[str, Scalar] = Field(default_factory=dict)
    sweep: Annotated[tuple[SweepGroup, ...], WrittenAs("mapping")] = ()
    """Parameter -> list, {start, stop, step} range, or zip: {...}; parameters nest."""
    repeat: Annotated[int, _spec(REPEAT)] = 1
    """Measurements at each sweep point."""
    limits: Annotated[str | dict[str, Limit] | None, BeforeValidator(parse_limits)] = None
    """A preset name (3gpp, ...) or value -> {min, max} with units; none: INCONCLUSIVE."""
    on_error: Annotated[str, _choice("an on_error value", ON_ERROR)] = "stop"
    """After an ERROR: stop the run, continue with the next point, or skip the rest of the step."""

    @model_validator(mode="before")
    @classmethod
    def _plan_not_full(cls, data: Any, info: ValidationInfo) -> Any:
        # once a step took the plan over the limit, the later steps are not built (that error
        # is the one reported; building them could take minutes and gigabytes)
        if info.context is not None and info.context.get("measurements", 0) > MAX_POINTS:
            raise at((), "not read: the plan already exceeds its measurement limit")
        return data

    @classmethod
    def file_keys(cls, data: dict[str, Any]) -> list[str]:
        measure = data.get("measure")
        extra = (
            list(kinds.KINDS[measure].params) if isinstance(measure, str) and measure in kinds.KINDS else []
        )
        return [*STEP_KEYS, *extra]

    @classmethod
    def prepare(cls, data: dict[str, Any]) -> dict[str, Any]:
        measure = data.get("measure")
        if measure is None:
            raise at("measure", "missing required key 'measure'")
        if not isinstance(measure, str) or measure not in kinds.KINDS:
            shown = repr(measure) if isinstance(measure, str) else describe(measure)
            raise at("measure", f"unknown measurement kind {shown} (known: {', '.join(kinds.KINDS)})")
        specs = kinds.KINDS[measure].params
        known = cls.file_keys(data)
        out: dict[str, Any] = {}
        params: dict[str, Scalar] = {}
        for key, value in data.items():
            if key in STEP_KEYS:
                out[key] = value
            elif key in specs:
                try:
                    params[key] = specs[key].parse(value)
                except ValueError as exc:
                    raise at(key, str(exc)) from None
            else:
                raise at(key, unknown_key(key, known))
        out["params"] = params
        if "sweep" in data:
            out["sweep"] = parse_sweep(data["sweep"], measure, params)
        return out

    @model_validator(mode="after")
    def _check_size(self, info: ValidationInfo) -> StepSpec:
        total = self.points * self.repeat
        if total > MAX_POINTS:
            raise at("repeat", f"step expands to {total} measurements (at most {MAX_POINTS})")
        # the plan's running total, counted as each step is validated, so that a plan of many
        # large steps is refused at the step that crosses the limit, before the rest is built
        if info.context is not None:
            so_far = info.context["measurements"] = info.context.get("measurements", 0) + total
            if so_far > MAX_POINTS:
                raise at(
                    "sweep" if self.sweep else "repeat",
                    f"the plan reaches {so_far} measurements with this step (at most {MAX_POINTS} "
                    "in a plan: split it into several plans)",
                )
        return self

    @property
    def points(self) -> int:
        """Number of sweep points (1 without a sweep)."""
        return math.prod(g.size for g in self.sweep)


class Plan(StrictModel):
    """A test plan: trial metadata, the DUT, the cell configuration and the steps."""

    trial: Text
    """Name of the trial, shown in the report."""
    operator: Text | None = None
    """Who runs it."""
    environment: dict[Text, Text] = Field(default_factory=dict)
    """Environmental conditions of the test, as the report states them (e.g. ``temperature: 23
    °C``, ``humidity: 45 %``); ``fivegbench run --env KEY=VALUE`` adds or overrides."""
    dut: Dut
    """The device under test."""
    identity: Annotated[str, _choice("an identity policy", IDENTITY_POLICIES)] = "enforce"
    """``enforce``: an instrument or DUT that is not who the bench and plan say stops the run
    before RF is on; ``warn``: it is recorded and flagged."""
    cell: Cell
    """The carrier the gNB is configured to."""
    steps: Annotated[list[StepSpec], AfterValidator(_at_least_one_step)]
    """Measurements in run order."""

    @model_validator(mode="after")
    def _unique_names(self, info: ValidationInfo) -> Plan:
        positions = (info.context or {}).get("positions", {})
        first: dict[str, int] = {}
        for i, step in enumerate(self.steps):
            if step.name in first:
                j = first[step.name]
                line = positions.get(("steps", j, "name"), (None, None))[0]
                where = f"line {line}" if line is not None else f"steps[{j}]"
                raise at(("steps", i, "name"), f"duplicate step name '{step.name}' (first at {where})")
            first[step.name] = i
        return self

    @model_validator(mode="after")
    def _swept_carriers(self) -> Plan:
        # a swept centre frequency must be a carrier the band allows, like the cell's own
        for i, step in enumerate(self.steps):
            for axis in (a for g in step.sweep for a in g.axes if a.name == "center_frequency"):
                for j, value in enumerate(axis.values):
                    try:
                        self.cell.check_carrier(number(value))
                    except PydanticCustomError as exc:
                        where = (*axis.where, j) if axis.indexed else axis.where
                        message = (exc.context or {}).get("message", str(exc))
                        raise at(("steps", i, *where), message) from None
        return self
