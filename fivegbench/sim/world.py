"""The one physical world behind every simulated instrument.

What the simulated gNB transmits (band, carrier, power, test model, RF on/off) is what the
simulated analyzer sees through the RF path. Instruments read and change it under ``lock``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field


@dataclass
class GnbState:
    """What the simulated gNB is configured to transmit."""

    band: str = "n78"
    center_frequency_hz: float = 3.75e9
    bandwidth_hz: float = 100e6
    scs_hz: float = 30e3
    tdd_pattern: str = "DDDSU"
    special_slot: str = "10:2:2"
    tx_power_dbm: float = 30.0
    test_model: str = "NR-FR1-TM1.1"
    rf_on: bool = False


@dataclass
class PowerAmplifier:
    """A solid-state PA (Rapp model, smoothness p = 2) at the antenna connector.

    ``saturation_dbm`` is the output power at which the Rapp curve saturates. Spectral regrowth
    (ACLR) is a function of the back-off from it, calibrated on the Rapp p = 2 table in
    nr-standards.md §5.2 (100 MHz NR, no DPD/CFR).
    """

    saturation_dbm: float = 54.0


@dataclass
class World:
    """Shared state of the simulated bench. ``path_loss_db`` is the physical loss between the
    gNB antenna connector and the analyzer input (cables, couplers, attenuators)."""

    gnb: GnbState = field(default_factory=GnbState)
    pa: PowerAmplifier = field(default_factory=PowerAmplifier)
    path_loss_db: float = 40.0
    attenuation_db: float = 0.0
    """Setting of the programmable attenuator in the UE/traffic path; the radio-link model reads it."""
    seed: int = 20261127
    lock: threading.RLock = field(default_factory=threading.RLock)
