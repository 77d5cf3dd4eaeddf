"""expand(): order, sweep kinds, repeats, overrides and sources; show's table."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from fivegbench.plan import expand, load_plan, parse_plan
from fivegbench.plan.model import MAX_POINTS, range_values
from fivegbench.plan.show import steps_table


def _steps(plan_with_steps, steps: str, cell: str | None = None):
    text = plan_with_steps(steps) if cell is None else plan_with_steps(steps, cell)
    return expand(parse_plan(text, "x.yaml"))


def test_base_plan(base_plan: str, write) -> None:
    steps = expand(load_plan(write(base_plan)))
    assert len(steps) == 4 + 17 * 2
    assert [s.index for s in steps] == list(range(1, len(steps) + 1))
    first = steps[0]
    assert first.name == "channel power vs TX power"
    assert first.kind == "rf.power"
    assert first.point == {"tx_power": "37 dBm"}
    assert first.cell.tx_power == 37.0
    assert first.cell.center_frequency == 3.75e9
    assert first.cell.bandwidth == 100e6
    assert first.params == {"span": 200e6, "rbw": 100e3}  # rbw: the kind's declared default
    assert first.test_model == "NR-FR1-TM1.1"
    assert first.limits == "3gpp"
    assert (first.repeat_index, first.repeat_count, first.on_error) == (1, 1, "stop")
    assert first.sources == {
        "tx_power": "steps[0].sweep.tx_power[0]",
        "center_frequency": "cell.center_frequency",
        "test_model": "cell.test_model",
        "span": "steps[0].span",
        "limits": "steps[0].limits",
    }
    assert steps[3].sources["tx_power"] == "steps[0].sweep.tx_power[3]"
    assert [s.cell.tx_power for s in steps[:4]] == [37.0, 40.0, 43.0, 46.0]

    aclr = steps[4:]
    assert {s.kind for s in aclr} == {"rf.aclr"}
    assert {s.test_model for s in aclr} == {"NR-FR1-TM1.2"}
    assert {s.cell.tx_power for s in aclr} == {43.0}  # not swept: the cell's value
    assert aclr[0].sources["tx_power"] == "cell.tx_power"
    assert aclr[0].sources["attenuation"] == "steps[1].sweep.attenuation"
    assert aclr[0].sources["test_model"] == "steps[1].test_model"
    assert aclr[0].on_error == "continue"


def test_range_inclusive_with_units(base_plan: str, write) -> None:
    steps = expand(load_plan(write(base_plan)))[4:]
    # 0..80 dB step 5 -> 17 points, each repeated twice (repeat innermost)
    values = [s.params["attenuation"] for s in steps]
    assert values[::2] == [float(v) for v in range(0, 81, 5)]
    assert [s.point["attenuation"] for s in steps[:4]] == ["0 dB", "0 dB", "5 dB", "5 dB"]
    assert steps[-1].point == {"attenuation": "80 dB"}
    assert [(s.repeat_index, s.repeat_count) for s in steps[:4]] == [(1, 2), (2, 2), (1, 2), (2, 2)]


def test_nested_product_order(plan_with_steps) -> None:
    steps = _steps(
        plan_with_steps,
        "steps:\n  - name: a\n    measure: rf.power\n"
        "    sweep:\n      tx_power: [30 dBm, 40 dBm]\n      attenuation: [0 dB, 10 dB, 20 dB]\n",
    )
    assert [(s.point["tx_power"], s.point["attenuation"]) for s in steps] == [
        ("30 dBm", "0 dB"),
        ("30 dBm", "10 dB"),
        ("30 dBm", "20 dB"),
        ("40 dBm", "0 dB"),
        ("40 dBm", "10 dB"),
        ("40 dBm", "20 dB"),
    ]
    assert steps[4].sources["attenuation"] == "steps[0].sweep.attenuation[1]"
    assert steps[4].sources["tx_power"] == "steps[0].sweep.tx_power[1]"
    assert steps[4].cell.tx_power == 40.0 and steps[4].params["attenuation"] == 10.0


def test_zip_takes_part_in_product(plan_with_steps) -> None:
    steps = _steps(
        plan_with_steps,
        "steps:\n  - name: a\n    measure: rf.aclr\n    sweep:\n"
        "      zip:\n        tx_power: [30 dBm, 35 dBm, 40 dBm]\n"
        "        attenuation: {start: 0 dB, stop: 20 dB, step: 10 dB}\n"
        "      rbw: [10 kHz, 1 MHz]\n",
    )
    assert [(s.cell.tx_power, s.params["attenuation"], s.params["rbw"]) for s in steps] == [
        (30.0, 0.0, 10e3),
        (30.0, 0.0, 1e6),
        (35.0, 10.0, 10e3),
        (35.0, 10.0, 1e6),
        (40.0, 20.0, 10e3),
        (40.0, 20.0, 1e6),
    ]
    assert steps[2].point == {"tx_power": "35 dBm", "attenuation": "10 dB", "rbw": "10 kHz"}
    assert steps[2].sources["tx_power"] == "steps[0].sweep.zip.tx_power[1]"
    assert steps[2].sources["attenuation"] == "steps[0].sweep.zip.attenuation"
    assert steps[2].sources["rbw"] == "steps[0].sweep.rbw[0]"


def test_no_sweep_and_repeat(plan_with_steps) -> None:
    steps = _steps(
        plan_with_steps,
        "steps:\n  - {name: a, measure: rf.power, repeat: 3, points: 1001}\n"
        "  - {name: b, measure: rf.aclr}\n",
    )
    assert [(s.index, s.name, s.repeat_index, s.repeat_count) for s in steps] == [
        (1, "a", 1, 3),
        (2, "a", 2, 3),
        (3, "a", 3, 3),
        (4, "b", 1, 1),
    ]
    assert steps[0].point == {}
    assert steps[0].params == {"points": 1001, "rbw": 100e3}
    assert steps[0].sources["points"] == "steps[0].points"
    assert steps[0].limits is None and steps[0].test_model is None


def test_single_value_and_frequency_sweep(plan_with_steps) -> None:
    cell = "cell: {band: n78, arfcn: 650000, bandwidth: 100 MHz, scs: 30 kHz, tx_power: 43 dBm}\n"
    steps = _steps(
        plan_with_steps,
        "steps:\n  - name: a\n    measure: rf.power\n"
        # on the n78 30 kHz channel raster, and a 100 MHz channel inside 3300-3800 MHz
        "    sweep: {tx_power: 40 dBm, center_frequency: [3.6 GHz, 3750 MHz, 3450000 kHz]}\n",
        cell,
    )
    assert [s.cell.center_frequency for s in steps] == [3.6e9, 3.75e9, 3.45e9]
    assert [s.point["center_frequency"] for s in steps] == ["3.6 GHz", "3.75 GHz", "3.45 GHz"]
    assert {s.cell.arfcn for s in steps} == {None}  # a swept frequency replaces the ARFCN
    assert {s.cell.tx_power for s in steps} == {40.0}
    assert steps[0].sources["tx_power"] == "steps[0].sweep.tx_power"
    assert steps[2].sources["center_frequency"] == "steps[0].sweep.center_frequency[2]"


def test_power_range_steps_in_db(plan_with_steps) -> None:
    steps = _steps(
        plan_with_steps,
        "steps:\n  - name: a\n    measure: rf.power\n"
        "    sweep: {tx_power: {start: 30 dBm, stop: 31 dBm, step: 0.1 dB}}\n",
    )
    assert len(steps) == 11
    assert steps[-1].cell.tx_power == 31.0
    assert steps[3].point == {"tx_power": "30.3 dBm"}


def test_expand_is_pure(base_plan: str, write) -> None:
    loaded = load_plan(write(base_plan))
    assert expand(loaded) == expand(loaded)


def test_show_table(base_plan: str, write) -> None:
    steps = expand(load_plan(write(base_plan)))
    table = steps_table(steps, rows_per_step=None)
    assert table.row_count == len(steps)
    assert [c.header for c in table.columns] == ["step", "name", "kind", "parameters", "limits"]
    console = Console(width=200, record=True, color_system=None)
    console.print(table)
    out = console.export_text()
    assert "tx_power=37 dBm" in out
    assert "attenuation=80 dB, repeat 2/2" in out
    assert "aclr ≥ 45 dB" in out


@settings(max_examples=200, deadline=None)
@given(
    start=st.integers(-200, 200),
    count=st.integers(0, 2000),
    step=st.integers(1, 40),
    scale=st.sampled_from([1.0, 0.5, 0.1, 0.25, 1e6, 30e3]),
)
def test_range_point_count(start: int, count: int, step: int, scale: float) -> None:
    lo, hi, inc = start * scale, (start + count * step) * scale, step * scale
    values = range_values(lo, hi, inc)
    assert len(values) == math.floor(round((hi - lo) / inc, 6)) + 1 == count + 1
    assert values[0] == lo and values[-1] == hi
    assert all(b > a for a, b in itertools.pairwise(values))


@settings(max_examples=100, deadline=None)
@given(start=st.floats(-100, 100), length=st.floats(0, 100), step=st.floats(0.01, 50))
def test_range_never_passes_stop(start: float, length: float, step: float) -> None:
    stop = start + length
    values = range_values(start, stop, step)
    assert values[0] == start
    assert values[-1] <= stop + 1e-9 * step
    assert stop - values[-1] < step
    assert len(values) <= MAX_POINTS


@pytest.mark.parametrize(("start", "stop", "step"), [(0, 1, 0), (0, 1, -1), (2, 1, 1), (0, 1e6, 1e-3)])
def test_range_refuses(start: float, stop: float, step: float) -> None:
    with pytest.raises(ValueError):
        range_values(start, stop, step)
