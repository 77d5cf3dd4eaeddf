"""The report's plots are built from the journal: axis from the sweep point, per-point limits."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from fivegbench.report.plots import collect, value_plot


def measurement(power: float, tx: float) -> dict:
    limit = {"value": "channel_power", "low": tx - 3, "high": tx + 3}
    return {
        "step": "power",
        "point": {"tx_power": f"{tx:g} dBm"},
        "values": {"channel_power": {"value": power, "unit": "dBm"}},
        "limits": [{"name": "output_power", "alternatives": [limit]}],
        "conditions": {},
    }


def test_series_follow_the_sweep_and_keep_each_points_limits():
    series = collect([measurement(36.9, 37), measurement(40.1, 40), {"step": "power", "values": {}}])["power"]
    assert (series.axis, series.axis_unit, series.x) == ("tx_power", "dBm", [37.0, 40.0])
    assert series.values["channel_power"] == [36.9, 40.1]
    assert series.low["channel_power"] == [34.0, 37.0] and series.high["channel_power"] == [40.0, 43.0]


def test_value_plot_is_a_png_and_single_points_get_none():
    series = collect([measurement(36.9, 37), measurement(40.1, 40)])["power"]
    assert base64.b64decode(value_plot(series)).startswith(b"\x89PNG")
    assert value_plot(collect([measurement(36.9, 37)])["power"]) is None
    assert np.isnan(collect([{**measurement(1, 2), "limits": []}])["power"].low["channel_power"][0])


def test_long_sweeps_are_decimated_to_bounded_memory():
    series = collect(measurement(float(i), float(i)) for i in range(10_000))["power"]
    assert len(series.x) < 1000 and series.x[0] == 0.0
    assert np.all(np.diff(series.x) == series.stride)  # evenly decimated, still in order


def test_a_long_trace_is_drawn_as_its_min_max_envelope():
    from fivegbench.report.plots import envelope

    x = np.arange(100_001, dtype=float)
    y = np.zeros_like(x)
    y[12_345], y[67_890] = 30.0, -90.0  # one spike and one null among 100 001 points
    ex, ey = envelope(x, y, columns=1000)
    assert ex.size == ey.size == 2000
    assert ey.max() == 30.0 and ey.min() == -90.0
    assert ex[np.argmax(ey)] == pytest.approx(12_345, abs=100)  # within its 100-point column
    assert ex[np.argmin(ey)] == pytest.approx(67_890, abs=100)
    short = np.arange(1500.0)
    assert envelope(short, short, columns=1000)[0] is short  # fewer than 2 points per column: as is
