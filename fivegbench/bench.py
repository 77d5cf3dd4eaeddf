"""Bench description: roles -> driver, resource, options, safety limits, serials, calibration,
and the RF path between the gNB antenna connector and the analyzer input.

Loading is checked like a plan (file:line errors, nothing touched). ``connect`` opens the
drivers; ``apply_safe_state`` turns the bench safe (gNB RF off, read back).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyvisa
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from fivegbench import units
from fivegbench.drivers.analyzer.keysight_x import KeysightX
from fivegbench.drivers.analyzer.rs_fsw import RsFsw
from fivegbench.drivers.analyzer.swept import SweptAnalyzer
from fivegbench.drivers.attenuator.scpi_attenuator import ScpiAttenuator
from fivegbench.drivers.gnb.console import GnbConsole
from fivegbench.drivers.gnb.profile import load_profile
from fivegbench.errors import BenchError, FivegbenchError, PlanError
from fivegbench.plan.yamlsafe import load_yaml, validate
from fivegbench.transport.base import IoLog
from fivegbench.transport.serial import SerialTransport
from fivegbench.transport.visa import VisaTransport

log = logging.getLogger(__name__)

SIM_BENCH = Path("instruments/benches/sim.yaml")


def default_bench() -> Path:
    """The simulated bench: ``instruments/benches/sim.yaml`` under the working directory, else
    the one beside this source tree (so ``fivegbench run`` works from any directory)."""
    if SIM_BENCH.is_file():
        return SIM_BENCH
    beside = Path(__file__).resolve().parent.parent / SIM_BENCH
    return beside if beside.is_file() else SIM_BENCH


# driver name -> the role it can fill
DRIVERS = {
    "rs_fsw": "analyzer",
    "keysight_x": "analyzer",
    "gnb_console": "gnb",
    "scpi_attenuator": "attenuator",
}
ANALYZERS: dict[str, type[SweptAnalyzer]] = {"rs_fsw": RsFsw, "keysight_x": KeysightX}


def _quantity(kind: str) -> Callable[[Any], float]:
    def parse(value: Any) -> float:
        try:
            return units.parse(value, kind)
        except units.UnitParseError as exc:
            raise ValueError(str(exc)) from None

    return parse


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InstrumentLimits(_Model):
    max_tx_power: float | None = None
    max_input_power: float | None = None
    max_attenuation: float | None = None

    _power = field_validator("max_tx_power", "max_input_power", mode="before")(_quantity("power"))
    _ratio = field_validator("max_attenuation", mode="before")(_quantity("ratio"))


class InstrumentConfig(_Model):
    driver: Literal["rs_fsw", "keysight_x", "gnb_console", "scpi_attenuator"]
    resource: str
    model: str | None = None
    serial: str | None = None
    calibration_due: date | None = None
    profile: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    limits: InstrumentLimits = Field(default_factory=InstrumentLimits)

    @model_validator(mode="after")
    def _gnb_needs_profile(self) -> InstrumentConfig:
        if self.driver == "gnb_console" and not self.profile:
            raise ValueError("a gnb_console instrument needs a 'profile' (a file in instruments/profiles)")
        return self

    def option_seconds(self, name: str, default: float) -> float:
        value = self.options.get(name)
        return default if value is None else units.parse(value, "time")


class LossPoint(_Model):
    frequency: float
    loss: float

    _frequency = field_validator("frequency", mode="before")(_quantity("frequency"))
    _loss = field_validator("loss", mode="before")(_quantity("ratio"))


class RfPath(_Model):
    loss: float | tuple[LossPoint, ...]
    components: tuple[str, ...] = ()

    @field_validator("loss", mode="before")
    @classmethod
    def _loss(cls, value: Any) -> Any:
        if isinstance(value, list):
            if len(value) < 1:
                raise ValueError("a loss table needs at least one {frequency, loss} point")
            return value
        return units.parse(value, "ratio") if isinstance(value, str) else _quantity("ratio")(value)

    def loss_db(self, frequency_hz: float) -> float:
        """Loss in dB at ``frequency_hz``; a table is interpolated linearly (held at its ends)."""
        if isinstance(self.loss, float):
            return self.loss
        points = sorted(self.loss, key=lambda p: p.frequency)
        return float(np.interp(frequency_hz, [p.frequency for p in points], [p.loss for p in points]))


class Bench(_Model):
    name: str
    simulated: bool = False
    instruments: dict[str, InstrumentConfig]
    rf_path: RfPath

    @model_validator(mode="after")
    def _roles_match_drivers(self) -> Bench:
        for role, config in self.instruments.items():
            if DRIVERS[config.driver] != role:
                fills = DRIVERS[config.driver]
                raise ValueError(
                    f"instrument '{role}' uses driver {config.driver}, which fills role '{fills}'"
                )
        return self


@dataclass(frozen=True)
class LoadedBench:
    bench: Bench
    file: str
    text: str

    def with_resources(self, resources: dict[str, str]) -> LoadedBench:
        """The same bench with some roles' resource strings replaced (simulated bench ports)."""
        instruments = {
            role: config.model_copy(update={"resource": resources.get(role, config.resource)})
            for role, config in self.bench.instruments.items()
        }
        return LoadedBench(self.bench.model_copy(update={"instruments": instruments}), self.file, self.text)

    def profiles_dir(self) -> Path:
        return Path(self.file).resolve().parent.parent / "profiles"


def load_bench(path: Path) -> LoadedBench:
    """Read and validate a bench file; raises PlanError (file:line: key: message)."""
    data, positions = load_yaml(path)
    bench = validate(Bench, data, positions, str(path))
    return LoadedBench(bench, str(path), path.read_text(encoding="utf-8"))


@dataclass
class Instruments:
    """The connected drivers of one run and what they said about themselves."""

    analyzer: SweptAnalyzer | None = None
    gnb: GnbConsole | None = None
    attenuator: ScpiAttenuator | None = None
    identities: dict[str, str] = field(default_factory=dict)


@contextmanager
def connect(loaded: LoadedBench, roles: set[str], iolog: IoLog) -> Iterator[Instruments]:
    """Open the drivers for ``roles`` (and the attenuator, which is part of the bench's safe
    state), record their identities, and close them on exit."""
    bench = loaded.bench
    missing = sorted(roles - set(bench.instruments))
    if missing:
        raise BenchError(f"{loaded.file}: the plan needs role(s) {', '.join(missing)}, which the bench lacks")
    roles = roles | ({"attenuator"} & set(bench.instruments))
    instruments = Instruments()
    with ExitStack() as stack:
        visa_rm: pyvisa.ResourceManager | None = None

        def visa(role: str) -> VisaTransport:
            nonlocal visa_rm
            if visa_rm is None:  # one ResourceManager per run: closing one closes all sessions
                visa_rm = pyvisa.ResourceManager("@py")
                stack.callback(visa_rm.close)
            config = bench.instruments[role]
            transport = VisaTransport(
                config.resource, role, visa_rm, iolog, timeout_s=config.option_seconds("timeout", 10.0)
            )
            transport.open()
            stack.callback(transport.close)
            return transport

        if "analyzer" in roles:
            analyzer = ANALYZERS[bench.instruments["analyzer"].driver](visa("analyzer"))
            instruments.identities["analyzer"] = analyzer.idn()
            analyzer.prepare()
            instruments.analyzer = analyzer
        if "attenuator" in roles:
            limit = bench.instruments["attenuator"].limits.max_attenuation
            instruments.attenuator = ScpiAttenuator(visa("attenuator"), max_db=limit or 95.0)
            instruments.identities["attenuator"] = instruments.attenuator.idn()
        if "gnb" in roles:
            config = bench.instruments["gnb"]
            assert config.profile is not None  # checked by the model
            profile = load_profile(config.profile, search_dir=loaded.profiles_dir())
            serial = SerialTransport(config.resource, "gnb", iolog)
            serial.open()
            stack.callback(serial.close)
            gnb = GnbConsole(
                serial,
                profile,
                user=str(config.options.get("user", "")),
                password=str(config.options.get("password", "")),
                role="gnb",
                timeout=config.option_seconds("timeout", 10.0),
            )
            gnb.connect()
            instruments.gnb = gnb
            instruments.identities["gnb"] = gnb.idn()
        yield instruments


@dataclass(frozen=True)
class SafeState:
    """Whether the bench was confirmed safe at the end of a run, and what was done."""

    confirmed: bool
    detail: str


def apply_safe_state(instruments: Instruments) -> SafeState:
    """gNB RF off (read back), then attenuators to maximum (read back). Each step is attempted
    even if an earlier one fails."""
    done, problems = [], []
    if instruments.gnb is not None:
        try:
            instruments.gnb.resync()  # a stop may have cut a command short
            instruments.gnb.rf_off()
            if instruments.gnb.cell_status().rf_on:
                problems.append("gNB still reports RF on after 'rf off'")
            else:
                done.append("gNB RF off (read back)")
        except (FivegbenchError, OSError, TimeoutError) as exc:
            problems.append(f"could not turn gNB RF off: {exc}")
    if instruments.attenuator is not None:
        try:
            done.append(f"attenuator at maximum {instruments.attenuator.to_maximum():g} dB (read back)")
        except (FivegbenchError, OSError, TimeoutError) as exc:
            problems.append(f"could not set the attenuator to maximum: {exc}")
    if problems:
        return SafeState(False, "NOT CONFIRMED: " + "; ".join(problems))
    return SafeState(True, "confirmed: " + ("; ".join(done) or "nothing to make safe"))


def check_plan_safety(loaded_bench: LoadedBench, steps: list[Any], where: Any) -> None:
    """Refuse a plan whose TX power exceeds the gNB's limit or would overload the analyzer.

    ``where(step, param) -> PlanError`` builds the error at the plan line the value came from.
    """
    bench = loaded_bench.bench
    gnb = bench.instruments.get("gnb")
    analyzer = bench.instruments.get("analyzer")
    for step in steps:
        tx = step.cell.tx_power
        if gnb and gnb.limits.max_tx_power is not None and tx > gnb.limits.max_tx_power:
            raise where(
                step,
                "tx_power",
                f"{tx:g} dBm exceeds the bench's gnb max_tx_power {gnb.limits.max_tx_power:g} dBm",
            )
        if analyzer and analyzer.limits.max_input_power is not None:
            loss = bench.rf_path.loss_db(step.cell.center_frequency)
            if tx - loss > analyzer.limits.max_input_power:
                raise where(
                    step,
                    "tx_power",
                    f"{tx:g} dBm minus the {loss:g} dB RF path is {tx - loss:g} dBm at the analyzer, "
                    f"above its max_input_power {analyzer.limits.max_input_power:g} dBm",
                )


__all__ = [
    "Bench",
    "BenchError",
    "Instruments",
    "LoadedBench",
    "PlanError",
    "SafeState",
    "apply_safe_state",
    "check_plan_safety",
    "connect",
    "default_bench",
    "load_bench",
]
