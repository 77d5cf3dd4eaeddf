"""rf.power and rf.aclr through the real driver, pyvisa-py and the simulated analyzer.

The truth is known by construction: the simulated gNB transmits the commanded power through a
40 dB path, so the power referred back to the antenna connector must equal the commanded power
(the PA is far from compression at these levels) and ACLR must follow the calibrated PA table.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import pytest
import pyvisa

from fivegbench.bench import Instruments, load_bench
from fivegbench.drivers.analyzer.rs_fsw import RsFsw
from fivegbench.measure.base import MeasureContext
from fivegbench.measure.rf import rf_aclr, rf_power
from fivegbench.plan.expand import expand
from fivegbench.plan.load import load_plan
from fivegbench.sim.analyzer import SimFsw
from fivegbench.sim.scpi import ScpiServer
from fivegbench.sim.world import World
from fivegbench.transport.visa import VisaTransport

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bench_and_world():
    world = World()
    world.path_loss_db = 40.0
    world.gnb.rf_on = True
    rm = pyvisa.ResourceManager("@py")
    with ScpiServer(SimFsw(world, serial="M1")) as server:
        transport = VisaTransport(server.resource, "analyzer", rm)
        transport.open()
        analyzer = RsFsw(transport)
        analyzer.prepare()
        yield analyzer, world
        transport.close()
    rm.close()


@pytest.fixture(scope="module")
def demo_steps():
    return expand(load_plan(ROOT / "testplans/demo.yaml"))


def context(analyzer: RsFsw, tmp_path: Path) -> MeasureContext:
    bench = load_bench(ROOT / "instruments/benches/sim.yaml")
    return MeasureContext(Instruments({"analyzer": analyzer}), bench, tmp_path)


@pytest.mark.parametrize("tx_power", [30.0, 35.0, 40.0])
def test_channel_power_at_connector_equals_commanded(bench_and_world, demo_steps, tmp_path, tx_power):
    analyzer, world = bench_and_world
    world.gnb.tx_power_dbm = tx_power
    step = demo_steps[0]
    step = replace(step, cell=replace(step.cell, tx_power=tx_power))
    outcome = rf_power(context(analyzer, tmp_path), step)
    assert outcome.values["channel_power"].value == pytest.approx(tx_power, abs=0.1)
    assert outcome.conditions["path_loss_db"] == 40.0
    assert outcome.invalid is None
    assert (tmp_path / Path(outcome.capture).name).is_file()


def test_aclr_follows_pa_compression(bench_and_world, demo_steps, tmp_path):
    analyzer, world = bench_and_world
    step = demo_steps[-1]  # rf.aclr at 46 dBm: 7 dB back-off from the 53 dBm saturation (p = 3)
    world.gnb.tx_power_dbm = 46.0
    outcome = rf_aclr(context(analyzer, tmp_path), step)
    values = {name: v.value for name, v in outcome.values.items()}
    # 36.3 dB from the PA alone (tests/sim/test_spectrum_waveform.py derives it from the frame);
    # the analyzer's noise floor at 30 dB attenuation takes ~0.3 dB of it
    assert values["aclr_lower1"] == pytest.approx(36.0, abs=0.5)
    assert values["aclr_upper1"] == pytest.approx(36.0, abs=0.5)
    assert values["aclr_lower2"] > values["aclr_lower1"] + 5
    # density at the connector: carrier density minus ACLR
    density = values["channel_power"] - 10 * math.log10(98.28) - values["aclr_lower1"]
    assert values["adjacent_lower1_density"] == pytest.approx(density, abs=0.05)
    # the analyzer's own ACLR of the same sweep, an independent second method, beside ours
    for name in ("lower1", "upper1", "lower2", "upper2"):
        assert outcome.values[f"instrument_aclr_{name}"].unit == "dB"
        assert values[f"instrument_aclr_{name}"] == pytest.approx(values[f"aclr_{name}"], abs=0.3)


def test_overload_makes_the_outcome_invalid(bench_and_world, demo_steps, tmp_path):
    analyzer, world = bench_and_world
    world.gnb.tx_power_dbm = 40.0
    step = demo_steps[0]
    # a plan claiming 20 dBm leaves the analyzer's reference level (and attenuation) 20 dB too low
    step = replace(step, cell=replace(step.cell, tx_power=20.0))
    outcome = rf_power(context(analyzer, tmp_path), step)
    # 20 dB too low a reference level: the mean signal is above the ADC's full scale (IF overload)
    assert outcome.invalid == "analyzer overload during the sweep: IF overload"
