"""Bring the bench to what a step needs (the gNB's cell configuration, the attenuator's
setting), sending only what changed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fivegbench.drivers.attenuator.scpi_attenuator import ScpiAttenuator
from fivegbench.drivers.gnb.console import GnbConsole
from fivegbench.errors import BenchError


@dataclass
class GnbSetup:
    """Remembers what was applied to the gNB in this run, so each step sends only the changes."""

    gnb: GnbConsole
    carrier: tuple[Any, ...] | None = None
    test_model: str | None = None
    tx_power: float | None = None
    rf_on: bool = False

    def apply(self, cell: Any, test_model: str | None) -> None:
        carrier = (
            cell.band,
            cell.center_frequency,
            cell.bandwidth,
            cell.scs,
            cell.tdd_pattern,
            cell.special_slot,
        )
        if carrier != self.carrier:
            if self.rf_on:  # carrier parameters change only with RF off
                self.gnb.rf_off()
                self.rf_on = False
            self.gnb.configure_cell(
                band=cell.band,
                center_frequency_hz=cell.center_frequency,
                bandwidth_hz=cell.bandwidth,
                scs_hz=cell.scs,
                tdd_pattern=cell.tdd_pattern,
                special_slot=":".join(map(str, cell.special_slot)) if cell.special_slot else None,
            )
            self.carrier = carrier
        if test_model is not None and test_model != self.test_model:
            self.gnb.set_test_model(test_model)
            self.test_model = test_model
        if cell.tx_power != self.tx_power:
            self.gnb.set_tx_power(cell.tx_power)
            self.tx_power = cell.tx_power
        if not self.rf_on:
            self.gnb.rf_on()
            self.rf_on = True


@dataclass
class AttenuatorSetup:
    """Sets the programmable attenuator when a step asks for an ``attenuation`` (and it changed)."""

    attenuator: ScpiAttenuator | None
    attenuation: float | None = None

    def apply(self, params: dict[str, Any]) -> None:
        wanted = params.get("attenuation")
        if wanted is None or wanted == self.attenuation:
            return
        if self.attenuator is None:
            raise BenchError("the step sets an attenuation, but the bench has no attenuator role")
        self.attenuator.set_attenuation(float(wanted))
        self.attenuation = float(wanted)
