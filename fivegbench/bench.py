"""Bench description: roles -> driver, resource, options, safety limits, serials, calibration,
and the RF path between the gNB antenna connector and the analyzer input.

Loading is checked like a plan (file:line errors, nothing touched). ``connect`` opens the
drivers, the gNB first; :mod:`fivegbench.safestate` turns the bench safe.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pyvisa
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from fivegbench import credentials, resources, units
from fivegbench.drivers.gnb.console import GnbConsole
from fivegbench.drivers.gnb.profile import load_profile
from fivegbench.drivers.registry import DRIVERS
from fivegbench.drivers.ue.profile import load_ue_profile
from fivegbench.errors import BenchError, InstrumentError, PlanError
from fivegbench.locks import Holder, lock_all, lock_dir
from fivegbench.plan.yamlsafe import at, load_yaml, path_str, validate, where
from fivegbench.safetext import control_character
from fivegbench.sim.faults import FaultSpec
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


#: How each profile kind a driver may need is loaded (a file in ``instruments/profiles``).
PROFILE_LOADERS: dict[str, Callable[..., Any]] = {"gnb": load_profile, "ue": load_ue_profile}

#: The order roles are opened in: the gNB first (a carrier found on is switched off before
#: anything else is touched), the analyzer last (it is configured once the RF is known).
ROLE_ORDER = ("gnb", "attenuator", "ue", "traffic", "analyzer")


def _quantity(kind: str) -> Callable[[Any], float]:
    def parse(value: Any) -> float:
        try:
            return units.parse(value, kind)
        except units.UnitParseError as exc:
            raise ValueError(str(exc)) from None

    return parse


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)  # for `schema`


class InstrumentLimits(_Model):
    max_tx_power: float | None = None
    """Highest TX power a plan may set on this gNB (checked before the run)."""
    max_input_power: float | None = None
    """Highest power this analyzer may receive (after the RF path loss)."""
    max_attenuation: float | None = None
    """This attenuator's maximum, used for the safe state."""

    _power = field_validator("max_tx_power", "max_input_power", mode="before")(_quantity("power"))
    _ratio = field_validator("max_attenuation", mode="before")(_quantity("ratio"))

    @field_validator("max_attenuation")
    @classmethod
    def _attenuation_range(cls, value: float | None) -> float | None:
        if value is not None and not 0 < value <= 200:
            raise ValueError(f"{value:g} dB is out of range (above 0 dB, at most 200 dB)")
        return value


class InstrumentConfig(_Model):
    driver: str
    """Driver of the instrument (see the DRIVER sections); it fills one role."""
    resource: str
    """VISA resource (TCPIP::host::port::SOCKET) or serial URL (socket://host:port, /dev/tty...)."""
    model: str | None = None
    """Model name, for the record."""
    serial: str | None = None
    """Serial number, compared with what the instrument reports."""
    calibration_due: date | None = None
    """Calibration due date (YYYY-MM-DD)."""
    profile: str | None = None
    """Profile name or file of a console or modem dialect (beside the bench, or instruments/profiles)."""
    options: dict[str, Any] = Field(default_factory=dict)
    """The driver's options (see its DRIVER section)."""
    limits: InstrumentLimits = Field(default_factory=InstrumentLimits)
    """Safety limits checked before anything is touched."""
    retries: int = Field(3, ge=0, le=10)
    """Reopenings of a lost link per measurement point (fivegbench.recovery)."""
    retry_backoff: float = 0.5
    """Wait before the first reopening, doubled for each next one (s)."""
    faults: tuple[FaultSpec, ...] = ()
    """Faults the simulator of this instrument injects (simulated benches only; sim/faults.py)."""

    @field_validator("retry_backoff", mode="before")
    @classmethod
    def _backoff(cls, value: Any) -> float:
        seconds = _quantity("time")(value)
        if not 0 <= seconds <= 60:
            raise ValueError(f"must be between 0 s and 60 s, not {value!r}")
        return seconds

    # The resource and the options (user, password) reach the instrument: no control character
    # at all, and the message says which character where, never the text (it may be a password).
    @field_validator("resource")
    @classmethod
    def _resource_sendable(cls, value: str) -> str:
        found = control_character(value)
        if found:
            raise ValueError(f"contains a control character ({found})")
        return value

    @field_validator("options")
    @classmethod
    def _options_sendable(cls, value: dict[str, Any]) -> dict[str, Any]:
        def check(item: Any, path: tuple[str | int, ...]) -> None:
            if isinstance(item, str):
                found = control_character(item)
                if found:
                    raise at(path, f"contains a control character ({found})")
            elif isinstance(item, dict):
                for key, sub in item.items():
                    check(key, path)
                    check(sub, (*path, key))
            elif isinstance(item, list | tuple):
                for index, sub in enumerate(item):
                    check(sub, (*path, index))

        check(value, ())
        return value

    @field_validator("driver")
    @classmethod
    def _known_driver(cls, value: str) -> str:
        if value not in DRIVERS:
            raise ValueError(f"unknown driver {value!r} (known: {', '.join(DRIVERS)})")
        return value

    @model_validator(mode="after")
    def _options_of_the_driver(self) -> InstrumentConfig:
        accepted = DRIVERS[self.driver].options
        for name, value in self.options.items():
            if name not in accepted:
                known = ", ".join(accepted) or "none"
                raise at(("options", name), f"unknown option for a {self.driver} instrument (known: {known})")
            try:
                accepted[name].parse(value)
            except ValueError as exc:
                raise at(("options", name), str(exc)) from None
        return self

    @model_validator(mode="after")
    def _profile_when_needed(self) -> InstrumentConfig:
        if DRIVERS[self.driver].profile is not None and not self.profile:
            raise ValueError(f"a {self.driver} instrument needs a 'profile' (a file in instruments/profiles)")
        return self

    def option_seconds(self, name: str, default: float) -> float:
        value = self.options.get(name)
        return default if value is None else units.parse(value, "time")


class LossPoint(_Model):
    frequency: float
    """Frequency of this point of the loss table."""
    loss: float
    """Loss at that frequency."""

    _frequency = field_validator("frequency", mode="before")(_quantity("frequency"))
    _loss = field_validator("loss", mode="before")(_quantity("ratio"))


class RfPath(_Model):
    loss: float | tuple[LossPoint, ...]
    """Loss from the gNB antenna connector to the analyzer input: one value or a table."""
    components: tuple[str, ...] = ()
    """Cables, couplers and attenuators on the path, for the record."""

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
    """Name of the bench, shown in the report."""
    simulated: bool = False
    """Start the simulated instruments (instruments/benches/sim.yaml)."""
    instruments: dict[str, InstrumentConfig]
    """Role (analyzer, gnb, attenuator, ue, traffic) -> instrument."""
    rf_path: RfPath
    """The path between the gNB and the analyzer."""

    @model_validator(mode="after")
    def _faults_only_simulated(self) -> Bench:
        for role, config in self.instruments.items():
            if config.faults and not self.simulated:
                raise at(
                    ("instruments", role, "faults"), "only simulators inject faults: set 'simulated: true'"
                )
        return self

    @model_validator(mode="after")
    def _roles_match_drivers(self) -> Bench:
        for role, config in self.instruments.items():
            fills = DRIVERS[config.driver].role
            if fills != role:
                raise ValueError(
                    f"instrument '{role}' uses driver {config.driver}, which fills role '{fills}'"
                )
        return self

    @model_validator(mode="after")
    def _resources_the_drivers_can_open(self) -> Bench:
        for role, config in self.instruments.items():
            try:
                resources.check(config.resource, DRIVERS[config.driver].link, simulated=self.simulated)
            except ValueError as exc:
                raise at(("instruments", role, "resource"), str(exc)) from None
        return self


@dataclass(frozen=True)
class LoadedBench:
    bench: Bench
    file: str
    text: str
    #: role -> the gNB console profile of every ``gnb_console`` instrument, loaded and checked
    #: by :func:`load_bench` (so a bad profile is refused before anything is touched).
    profiles: dict[str, Any] = field(default_factory=dict)
    #: role -> the console password from its password_env / password_file (or the simulated
    #: bench's own), resolved by :func:`load_bench`; never written anywhere.
    credentials: dict[str, str] = field(default_factory=dict, repr=False)
    #: where each key is in the file (for errors found after loading, at the key's line)
    positions: Any = field(default=None, repr=False, compare=False)

    def error(self, key: tuple[str | int, ...], message: str) -> PlanError:
        """A ``file:line:col: key: message`` error at ``key`` of the bench file."""
        line, column = where(self.positions or {}, key)
        return PlanError(self.file, line, column, path_str(key), message)

    def with_resources(self, resources: dict[str, str]) -> LoadedBench:
        """The same bench with some roles' resource strings replaced (simulated bench ports)."""
        instruments = {
            role: config.model_copy(update={"resource": resources.get(role, config.resource)})
            for role, config in self.bench.instruments.items()
        }
        return dataclasses.replace(self, bench=self.bench.model_copy(update={"instruments": instruments}))

    def profiles_dirs(self) -> tuple[Path, ...]:
        """Where a profile named in the bench is looked for, first found wins: relative to the
        bench file (``profiles/`` in its folder, then beside its folder, as
        ``instruments/benches`` and ``instruments/profiles``), then ``instruments/profiles`` of
        the working directory, then the profiles shipped with fivegbench (a bench copied
        anywhere still finds ``sim-gnb``)."""
        folder = Path(self.file).resolve().parent
        shipped = Path(__file__).resolve().parent.parent / "instruments" / "profiles"
        here = Path.cwd() / "instruments" / "profiles"
        candidates = (folder / "profiles", folder.parent / "profiles", here, shipped)
        return tuple(dict.fromkeys(candidates))  # in order, each once


def load_bench(path: Path) -> LoadedBench:
    """Read and validate a bench file and the profiles (CLI dialects) it names.

    Raises PlanError (file:line: key: message) for the bench file, or for a profile file naming
    that file; a profile that does not exist is reported at the bench's ``profile`` line.
    """
    data, positions = load_yaml(path)
    bench = validate(Bench, data, positions, str(path))
    loaded = LoadedBench(bench, str(path), path.read_text(encoding="utf-8"), positions=positions)
    profiles: dict[str, Any] = {}
    secrets: dict[str, str] = {}
    for role, config in bench.instruments.items():
        try:
            secret = credentials.password(config.options, Path(path).parent, simulated=bench.simulated)
        except credentials.CredentialError as exc:
            raise loaded.error(("instruments", role, "options", exc.key), str(exc)) from None
        if secret is not None:
            secrets[role] = secret
        kind = DRIVERS[config.driver].profile
        if kind is None or config.profile is None:
            continue
        try:
            profiles[role] = PROFILE_LOADERS[kind](config.profile, search_dirs=loaded.profiles_dirs())
        except BenchError as exc:  # no such profile: point at the line that names it
            raise loaded.error(("instruments", role, "profile"), str(exc)) from None
    return dataclasses.replace(loaded, profiles=profiles, credentials=secrets)


class Instruments(Mapping[str, Any]):
    """The drivers of one run (role -> driver) and what they said about themselves.

    Each driver is stored as soon as its link is open, before it is asked anything, so the safe
    state reaches every instrument that was opened even when connecting stopped part-way.
    """

    def __init__(
        self,
        drivers: Mapping[str, Any] | None = None,
        *,
        identities: Mapping[str, str] | None = None,
        failure: BaseException | None = None,
    ) -> None:
        self._drivers: dict[str, Any] = dict(drivers or {})
        self.identities: dict[str, str] = dict(identities or {})
        self.start_state: str | None = None
        """The gNB's RF state as found at connect, and what was done about it."""
        self.failure = failure
        """Why connecting stopped part-way (None when every driver connected)."""

    def __getitem__(self, role: str) -> Any:
        return self._drivers[role]

    def __iter__(self) -> Iterator[str]:
        return iter(self._drivers)

    def __len__(self) -> int:
        return len(self._drivers)

    def add(self, role: str, driver: Any) -> None:
        self._drivers[role] = driver

    @property
    def opened(self) -> bool:
        return bool(self._drivers)


class Opener:
    """Opens the drivers of a bench one role at a time, into ``into``; every link it opens is
    closed by ``stack``."""

    def __init__(self, loaded: LoadedBench, iolog: IoLog, stack: ExitStack, into: Instruments) -> None:
        self.loaded = loaded
        self.iolog = iolog
        self.stack = stack
        self.instruments = into
        self._visa_rm: pyvisa.ResourceManager | None = None

    def open(self, role: str) -> Any:
        """Open the role's link and build its driver (not brought up: nothing asked yet)."""
        config = self.loaded.bench.instruments[role]
        spec = DRIVERS[config.driver]
        profile = self.loaded.profiles.get(role)
        if role in self.loaded.credentials:  # only the driver being built sees the password
            options = {**config.options, "password": self.loaded.credentials[role]}
            config = config.model_copy(update={"options": options})
        transport: Any
        if spec.link == "visa":
            transport = self._visa(role, spec.termination)
        elif spec.link == "process":
            transport = self.iolog
        else:
            line_ending = profile.line_ending if profile is not None else "\r\n"
            transport = SerialTransport(config.resource, role, self.iolog, line_ending=line_ending)
            transport.open()
            self.stack.callback(transport.close)
        driver = spec.build(transport, config, profile)
        if spec.link == "process":  # what it started (local servers) ends with the run
            self.stack.callback(driver.close)
        self.instruments.add(role, driver)
        return driver

    def _visa(self, role: str, termination: str) -> VisaTransport:
        if self._visa_rm is None:  # one ResourceManager per run: closing one closes all sessions
            self._visa_rm = pyvisa.ResourceManager("@py")
            self.stack.callback(self._visa_rm.close)
        config = self.loaded.bench.instruments[role]
        transport = VisaTransport(
            config.resource,
            role,
            self._visa_rm,
            self.iolog,
            timeout_s=config.option_seconds("timeout", 10.0),
            read_termination=termination,
            write_termination=termination,
        )
        transport.open()
        self.stack.callback(transport.close)
        return transport


@contextmanager
def connect(
    loaded: LoadedBench, roles: set[str], iolog: IoLog, holder: Holder | None = None
) -> Iterator[Instruments]:
    """Open the drivers for ``roles`` (and the attenuator, which is part of the bench's safe
    state), record their identities, and close them all on exit.

    First, before anything is opened, every instrument's lock is taken for ``holder`` (this
    process by default) and held until the end: BenchBusy, naming the other run, if one holds it.

    Roles open in :data:`ROLE_ORDER`. The gNB logs in first and has its RF state read: a carrier
    found on is switched off (and read back) before anything else is configured. When opening
    stops part-way, what was opened is still yielded, with ``failure`` saying why: the caller
    applies the safe state to it, then raises the failure.
    """
    bench = loaded.bench
    missing = sorted(roles - set(bench.instruments))
    if missing:
        raise BenchError(f"{loaded.file}: the plan needs role(s) {', '.join(missing)}, which the bench lacks")
    roles = roles | ({"attenuator"} & set(bench.instruments))
    ordered = sorted(roles, key=lambda r: ROLE_ORDER.index(r) if r in ROLE_ORDER else len(ROLE_ORDER))
    instruments = Instruments()
    linked = [(role, bench.instruments[role].resource) for role in ordered if _has_lock(bench, role)]
    with lock_all(linked, holder or Holder.this_process(), lock_dir()), ExitStack() as stack:
        opener = Opener(loaded, iolog, stack, instruments)
        try:
            for role in ordered:
                driver = opener.open(role)
                if role == "gnb":
                    driver.connect()
                    instruments.start_state = start_with_rf_off(driver)
                instruments.identities[role] = DRIVERS[bench.instruments[role].driver].bring_up(driver)
        except BaseException as exc:  # a second Ctrl-C too: the caller raises it after the safe state
            instruments.failure = exc
        yield instruments


def _has_lock(bench: Bench, role: str) -> bool:
    """Instruments on a VISA or serial link are locked; a process link (local traffic tools,
    per-run namespaces) is no shared instrument."""
    return DRIVERS[bench.instruments[role].driver].link != "process"


def start_with_rf_off(gnb: GnbConsole) -> str:
    """Read the gNB's RF state at connect. A carrier left on (a killed run, a colleague) is
    switched off and read back before anything is configured. Returns what was found and done."""
    if not gnb.cell_status().rf_on:
        return "gNB RF off at connect (read back)"
    log.warning("gnb: found transmitting (RF on) at connect: switching RF off before anything else")
    gnb.rf_off()
    if gnb.cell_status().rf_on:
        raise InstrumentError(gnb.role, gnb.profile.commands.rf_off, None, "still reports RF on after rf off")
    return (
        "gNB found transmitting (RF on) at connect; RF switched off and read back before configuring anything"
    )


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
    "Opener",
    "PlanError",
    "check_plan_safety",
    "connect",
    "default_bench",
    "load_bench",
]
