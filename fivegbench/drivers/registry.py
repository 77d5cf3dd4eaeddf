"""Every driver a bench may name, declared once: the role it fills, the link it talks over, how
it is built from the bench's configuration, how it is brought up, and the simulated personality
that answers it on the simulated bench.

``bench.py`` validates bench files and opens drivers from :data:`DRIVERS`; ``sim/bench.py``
starts the simulators it names. A new driver is one entry here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from fivegbench.drivers.analyzer.keysight_x import KeysightX
from fivegbench.drivers.analyzer.rs_fsw import RsFsw
from fivegbench.drivers.analyzer.swept import SweptAnalyzer
from fivegbench.drivers.attenuator.minicircuits import MiniCircuitsAttenuator
from fivegbench.drivers.attenuator.scpi_attenuator import ScpiAttenuator
from fivegbench.drivers.gnb.console import GnbConsole
from fivegbench.drivers.traffic.endpoints import TrafficEndpoints
from fivegbench.drivers.ue.modem import UeModem
from fivegbench.params import ParamSpec

Build = Callable[[Any, Any, Any], Any]
"""``build(transport, config, profile)``: the driver object (no I/O). ``config`` is the bench's
``InstrumentConfig`` for the role, ``profile`` the loaded profile when the driver needs one."""


@dataclass(frozen=True)
class DriverSpec:
    """One driver. ``simulator`` is ``"module:function"``, a function ``(world, config, console,
    faults, port=0) -> (resource, stop)`` that starts the simulated instrument as a real server
    (on ``port`` when not 0)."""

    role: str
    doc: str
    link: Literal["visa", "serial", "process"]
    """How the driver talks: a VISA session, a byte stream, or programs it runs (traffic tools),
    for which ``build`` gets the run's IoLog as its transport."""
    build: Build
    bring_up: Callable[[Any], str]
    """Make the opened driver ready for measurements; return its identity for the record."""
    simulator: str
    profile: Literal["gnb", "ue"] | None = None
    """Which kind of profile the driver needs (a CLI dialect in ``instruments/profiles``)."""
    termination: str = "\n"
    """Message terminator of a VISA link."""
    options: Mapping[str, ParamSpec] = field(default_factory=dict)
    """The ``options`` a bench may give this driver, and how each is written."""
    settings: type | None = None
    """The driver class whose declared ``Setting`` validators bound what a plan may ask of it."""


TIMEOUT = ParamSpec("time", 0.1, 600.0, doc="how long to wait for an answer")
CONSOLE_OPTIONS = {
    "timeout": TIMEOUT,
    "user": ParamSpec("text", doc="console login name"),
    "password": ParamSpec("text", doc="console password, written in the bench: simulated benches only"),
    "password_env": ParamSpec("text", doc="environment variable holding the console password"),
    "password_file": ParamSpec("text", doc="file holding the console password (outside any repository)"),
}


def _analyzer_up(analyzer: SweptAnalyzer) -> str:
    identity = analyzer.idn()
    analyzer.prepare()
    return identity


def _gnb_console(transport: Any, config: Any, profile: Any) -> GnbConsole:
    return GnbConsole(
        transport,
        profile,
        user=str(config.options.get("user", "")),
        password=str(config.options.get("password", "")),
        role="gnb",
        timeout=config.option_seconds("timeout", 10.0),
    )


def _modem_up(modem: UeModem) -> str:
    modem.open()
    return modem.identity()


DRIVERS: MappingProxyType[str, DriverSpec] = MappingProxyType(
    {
        "rs_fsw": DriverSpec(
            role="analyzer",
            doc="Rohde & Schwarz FSW/FSV signal and spectrum analyzer (SCPI)",
            link="visa",
            build=lambda transport, config, profile: RsFsw(transport),
            bring_up=_analyzer_up,
            simulator="fivegbench.sim.analyzer:serve",
            options={"timeout": TIMEOUT},
            settings=RsFsw,
        ),
        "keysight_x": DriverSpec(
            role="analyzer",
            doc="Keysight X-series signal analyzer (SCPI)",
            link="visa",
            build=lambda transport, config, profile: KeysightX(transport),
            bring_up=_analyzer_up,
            simulator="fivegbench.sim.analyzer_keysight:serve",
            options={"timeout": TIMEOUT},
            settings=KeysightX,
        ),
        "scpi_attenuator": DriverSpec(
            role="attenuator",
            doc="generic SCPI programmable step attenuator (ATT / ATT? / *OPC?)",
            link="visa",
            build=lambda transport, config, profile: ScpiAttenuator(
                transport, max_db=config.limits.max_attenuation or 95.0
            ),
            bring_up=lambda attenuator: attenuator.idn(),
            simulator="fivegbench.sim.attenuator:serve",
            options={"timeout": TIMEOUT},
        ),
        "minicircuits_attenuator": DriverSpec(
            role="attenuator",
            doc="Mini-Circuits RCDAT/RUDAT programmable attenuator over Telnet (:SETATT= / :ATT?)",
            link="visa",
            build=lambda transport, config, profile: MiniCircuitsAttenuator(
                transport, channel=config.options.get("channel"), max_db=config.limits.max_attenuation
            ),
            bring_up=lambda attenuator: attenuator.idn(),
            simulator="fivegbench.sim.attenuator_minicircuits:serve",
            termination="\r\n",
            options={
                "timeout": TIMEOUT,
                "channel": ParamSpec("int", 1, 8, doc="channel of a multi-channel unit"),
                "model": ParamSpec("text", doc="the model a simulated unit answers as"),
            },
        ),
        "at_modem": DriverSpec(
            role="ue",
            doc="a 5G modem (the UE) on a serial port speaking AT commands, per a profile",
            link="serial",
            build=lambda transport, config, profile: UeModem(
                transport,
                profile,
                role="ue",
                timeout=config.option_seconds("timeout", profile.timeouts.command),
            ),
            bring_up=_modem_up,
            simulator="fivegbench.sim.ue:serve",
            profile="ue",
            options={"timeout": TIMEOUT},
        ),
        "traffic_tools": DriverSpec(
            role="traffic",
            doc="iperf3 and irtt between the UE side and the core side (resource: local or netns:...)",
            link="process",
            build=lambda iolog, config, profile: TrafficEndpoints(config.resource, iolog),
            bring_up=lambda endpoints: endpoints.idn(),
            simulator="fivegbench.sim.traffic:serve",
        ),
        "gnb_console": DriverSpec(
            role="gnb",
            doc="a gNB's console CLI on a serial line or terminal server, per a profile",
            link="serial",
            build=_gnb_console,
            bring_up=lambda gnb: gnb.idn(),  # connect() logs in first and checks the RF state
            simulator="fivegbench.sim.gnb:serve",
            profile="gnb",
            options=CONSOLE_OPTIONS,
        ),
    }
)
"""Driver name (as written in a bench file) -> its declaration."""
