"""Bring the bench to what a step needs (the gNB's cell configuration, the attenuator's
setting), sending only what changed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fivegbench.drivers.attenuator.scpi_attenuator import ScpiAttenuator
from fivegbench.drivers.gnb.console import GnbConsole
from fivegbench.errors import BenchError, InstrumentError

#: A TX power read back further than this from the configured one is not what was set (the
#: console reports 0.1 dB steps; a PA settling is well inside 0.5 dB).
TX_POWER_TOLERANCE_DB = 0.5


@dataclass
class GnbSetup:
    """Remembers what was applied to the gNB in this run, so each step sends only the changes."""

    gnb: GnbConsole
    carrier: tuple[Any, ...] | None = None
    test_model: str | None = None
    tx_power: float | None = None
    rf_on: bool = False

    def forget(self) -> None:
        """After a reopened link: nothing is known, and RF may be on (switched off before the
        carrier is configured again)."""
        self.carrier = self.test_model = self.tx_power = None
        self.rf_on = True

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

    def check(self, when: str) -> None:
        """Read the gNB back ``when`` (``before``/``after``) measuring: another session (a second
        run, an operator, ``bench safe``) may have changed it since it was configured. A mismatch
        raises InstrumentError, so the measurement is an ERROR, never a FAIL of the device; what
        was applied is forgotten, so the next step configures everything again."""
        status = self.gnb.cell_status()
        found = None
        if status.rf_on != self.rf_on:
            found = f"gNB RF found {'on' if status.rf_on else 'off'} {when} measuring: configured " + (
                "on" if self.rf_on else "off"
            )
        elif (
            status.tx_power_dbm is not None
            and self.tx_power is not None
            and abs(status.tx_power_dbm - self.tx_power) > TX_POWER_TOLERANCE_DB
        ):
            found = (
                f"gNB TX power found {status.tx_power_dbm:g} dBm {when} measuring: "
                f"configured {self.tx_power:g} dBm"
            )
        if found is not None:
            self.forget()
            raise InstrumentError(self.gnb.role, self.gnb.profile.commands.show_cell, None, found)


@dataclass
class AttenuatorSetup:
    """Sets the programmable attenuator when a step asks for an ``attenuation`` (and it changed)."""

    attenuator: ScpiAttenuator | None
    attenuation: float | None = None

    def forget(self) -> None:
        """After a reopened link: the setting is unknown (set again at the next step)."""
        self.attenuation = None

    def apply(self, params: dict[str, Any]) -> None:
        wanted = params.get("attenuation")
        if wanted is None or wanted == self.attenuation:
            return
        if self.attenuator is None:
            raise BenchError("the step sets an attenuation, but the bench has no attenuator role")
        self.attenuator.set_attenuation(float(wanted))
        self.attenuation = float(wanted)
