"""Input that used to hang or exhaust memory: a FIFO as plan or bench, a plan of many large sweeps,
`show` of a 100,000-point step. Each is refused (or shown) in seconds, with one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from fivegbench.errors import PlanError
from fivegbench.plan.load import load_plan

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "testplans" / "demo.yaml"
HEAD = """trial: bounds
dut: {vendor: VHT, model: gNodeB 8T8R, serial: GNB-0042, firmware: 2.3.1}
cell: {band: n78, center_frequency: 3750 MHz, bandwidth: 100 MHz, scs: 30 kHz, tdd_pattern: DDDSU,
       special_slot: "10:2:2", tx_power: 43 dBm}
steps:
"""


def fivegbench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fivegbench", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def rbw_step(name: str, points: int) -> str:
    """A step sweeping rbw over ``points`` values 1 kHz apart."""
    sweep = f"rbw: {{start: 1 kHz, stop: {points} kHz, step: 1 kHz}}"
    return f"  - name: {name}\n    measure: rf.power\n    sweep:\n      {sweep}\n"


@pytest.mark.parametrize("which", ["plan", "bench"])
def test_a_fifo_is_refused_at_once(tmp_path, which):
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)  # nobody writes: opening it for reading would wait forever
    args = ["validate", str(fifo)] if which == "plan" else ["validate", str(DEMO), "--bench", str(fifo)]
    proc = fivegbench(*args)
    assert proc.returncode == 2
    assert proc.stderr == f"{fifo}: not a regular file (a FIFO, device or folder cannot be read as YAML)\n"


def test_a_plan_is_refused_at_the_step_that_takes_it_over_100000_measurements(tmp_path):
    plan = tmp_path / "big.yaml"
    plan.write_text(
        HEAD + rbw_step("a", 60_000) + rbw_step("b", 30_000) + rbw_step("c", 20_000) + rbw_step("d", 99_000)
    )
    with pytest.raises(PlanError) as info:
        load_plan(plan)
    line = (HEAD + rbw_step("a", 60_000) + rbw_step("b", 30_000)).count("\n") + 3  # c's sweep
    assert str(info.value) == (
        f"{plan}:{line}:5: steps[2].sweep: the plan reaches 110000 measurements with this step "
        "(at most 100000 in a plan: split it into several plans)"
    )


def test_repeats_count_towards_the_plan_total(tmp_path):
    plan = tmp_path / "big.yaml"
    plan.write_text(
        HEAD
        + rbw_step("a", 50_000)
        + "  - name: b\n    measure: rf.power\n    repeat: 1000\n"
        + rbw_step("c", 49_001)
    )
    with pytest.raises(PlanError, match=r"steps\[2\]\.sweep: the plan reaches 100001 measurements"):
        load_plan(plan)


def test_show_elides_the_middle_of_a_large_step_and_all_shows_every_row(tmp_path):
    plan = tmp_path / "big.yaml"
    plan.write_text(HEAD + rbw_step("big", 20_000) + "  - name: small\n    measure: rf.power\n")
    proc = fivegbench("show", str(plan))
    assert proc.returncode == 0, proc.stderr
    assert "… 19988 more (--all shows every row)" in proc.stdout
    assert "rbw=1 kHz" in proc.stdout and "rbw=20 MHz" in proc.stdout and "rbw=5 MHz" not in proc.stdout
    assert "│ 20001 │ small" in proc.stdout and proc.stdout.endswith("20001 steps\n")
    every = fivegbench("show", "--all", str(plan)).stdout.splitlines()
    assert len(every) == 20_002 and every[-1] == "20001 steps"
    assert every[4999] == "5000\tbig\trf.power\trbw=5 MHz\t-"


@pytest.mark.parametrize(
    ("bench", "key", "value", "accepted"),
    [
        ("sim.yaml", "span", "95 GHz", "rs_fsw: 0 Hz to 90 GHz"),  # FSW family: FREQ:SPAN up to 90 GHz
        ("sim-keysight.yaml", "rbw", "9 MHz", "keysight_x: 1 Hz to 8 MHz"),  # X-series swept RBW
    ],
)
def test_a_setting_beyond_the_bench_analyzer_is_refused_by_validate(tmp_path, bench, key, value, accepted):
    measure = "    measure: rf.power\n"
    text = DEMO.read_text().replace(measure, f"{measure}    {key}: {value}\n", 1)
    plan = tmp_path / "plan.yaml"
    plan.write_text(text)
    line = text.splitlines().index(f"    {key}: {value}") + 1
    proc = fivegbench("validate", str(plan), "--bench", str(ROOT / "instruments/benches" / bench))
    assert proc.returncode == 2
    expected = f"{plan}:{line}:5: steps[0].{key}: {value} is beyond the bench analyzer ({accepted})\n"
    assert proc.stderr == expected
