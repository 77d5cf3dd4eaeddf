"""A valid plan whose line numbers the broken-plan table relies on (see the numbers below)."""

from __future__ import annotations

from pathlib import Path

import pytest

# Line numbers matter: tests/plan/test_load.py edits single lines of this text and expects errors
# on them. Line 1 is "trial:", line 20 is "steps:".
BASE_PLAN = """\
trial: VHT gNodeB n78 acceptance, lab 3
operator: lab 3 night shift
dut:
  vendor: VHT
  model: gNodeB 8T8R
  serial: GNB-0042
  firmware: 2.3.1
  rated_output_power: 46 dBm
  bs_class: wide_area
  category: A
cell:
  band: n78
  center_frequency: 3750 MHz
  bandwidth: 100 MHz
  scs: 30 kHz
  tdd_pattern: DDDSU
  special_slot: "10:2:2"
  tx_power: 43 dBm
  test_model: NR-FR1-TM1.1
steps:
  - name: channel power vs TX power
    measure: rf.power
    span: 200 MHz
    sweep:
      tx_power: [37 dBm, 40 dBm, 43 dBm, 46 dBm]
    limits: 3gpp
  - name: ACLR vs attenuation
    measure: rf.aclr
    test_model: NR-FR1-TM1.2
    repeat: 2
    sweep:
      attenuation: {start: 0 dB, stop: 80 dB, step: 5 dB}
    limits:
      aclr: {min: 45 dB}
    on_error: continue
"""

CELL = """\
cell:
  band: n78
  center_frequency: 3750 MHz
  bandwidth: 100 MHz
  scs: 30 kHz
  tx_power: 43 dBm
"""


def _plan_with_steps(steps: str, cell: str = CELL) -> str:
    return "trial: t\ndut: {vendor: VHT, model: M}\n" + cell + steps


@pytest.fixture
def base_plan() -> str:
    return BASE_PLAN


@pytest.fixture
def plan_with_steps():
    """``plan_with_steps(steps, cell=CELL)``: a minimal valid header, then ``steps`` (YAML text)."""
    return _plan_with_steps


@pytest.fixture
def write(tmp_path: Path):
    """Write text to tmp_path/<name> and return the path."""

    def _write(text: str, name: str = "plan.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return _write
