"""The report's plots: what each figure draws (inspected before it is encoded), that every plot
is a PNG of print size, and that missing or odd data gives fewer plots, never an exception.

Every input is built here: hand-made measurement dicts and small captures in ``tmp_path``
(swept traces as ``.npz``, a tiny irtt JSON, the iperf3 JSON of ``tests/data/traffic``)."""

from __future__ import annotations

import base64
import io
import json
import math
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from matplotlib import image
from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from fivegbench.report.plots import envelope, point_figures, point_plots, sweep_figures, sweep_plots

DATA = Path(__file__).resolve().parents[1] / "data"
LOSS = 40.0
CONFIG = 98.28e6  # BW_Config of 100 MHz at 30 kHz: 273 RB x 12 x 30 kHz
RBW = 250e3
SEM_MASK = "OBUE Wide Area Category A, NR bands > 1 GHz (n78)"


# --------------------------------------------------------------------------- building inputs


def limit(value: str, low: float | None = None, high: float | None = None, unverified: bool = False) -> dict:
    return {"value": value, "low": low, "high": high, "unit": "", "tolerance_unverified": unverified}


def measurement(
    kind: str,
    values: dict[str, tuple[float, str]],
    conditions: dict[str, Any] | None = None,
    limits: dict[str, list[dict]] | None = None,
    point: dict[str, str] | None = None,
    index: int = 1,
    repeat: str = "1/1",
) -> dict[str, Any]:
    """A journal line of the shape the runner writes."""
    return {
        "step": f"{kind} step",
        "index": index,
        "kind": kind,
        "point": point or {},
        "values": {name: {"value": v, "unit": unit} for name, (v, unit) in values.items()},
        "limits": [{"name": name, "alternatives": alts} for name, alts in (limits or {}).items()],
        "verdict": "PASS" if values else "SKIPPED",
        "repeat": repeat,
        "checks": [],
        "conditions": conditions or {},
        "error": None,
        "flags": [],
    }


def save_trace(run_dir: Path, name: str, freqs: np.ndarray, power: np.ndarray, rbw: float = RBW) -> str:
    """A swept trace as the RF measurements store it (at the analyzer input)."""
    (run_dir / "captures").mkdir(exist_ok=True)
    np.savez(
        run_dir / "captures" / name,
        freqs_hz=freqs,
        power_dbm=power,
        rbw_hz=np.float64(rbw),
        enbw_factor=np.float64(1.0),
    )
    return f"captures/{name}"


def carrier_trace(span_hz: float = 520e6) -> tuple[np.ndarray, np.ndarray]:
    """A 3750 MHz carrier 10 dB above a -50 dBm floor (analyzer input, per RBW), with a 1 dB ramp
    so that every point differs; points 500 kHz apart (fewer than the envelope's threshold)."""
    freqs = np.linspace(3.75e9 - span_hz / 2, 3.75e9 + span_hz / 2, round(span_hz / 500e3) + 1)
    power = np.where(np.abs(freqs - 3.75e9) < CONFIG / 2, -10.0, -50.0) + np.linspace(0, 1, freqs.size)
    return freqs, power


def found(figure: Figure, gid: str) -> list[Any]:
    """The artists of the figure called ``gid``."""
    return [
        a for ax in figure.axes for a in ax.get_children() if isinstance(a, Artist) and a.get_gid() == gid
    ]


def one(figure: Figure, gid: str) -> Any:
    (artist,) = found(figure, gid)
    return artist


def x_extent(patch: Any) -> tuple[float, float]:
    """A shaded band's frequency range (its x in data coordinates)."""
    xs = patch.get_patch_transform().transform(patch.get_path().vertices)[:, 0]
    return float(xs.min()), float(xs.max())


def level(collection: Any) -> float:
    """The y of a collection of one horizontal segment."""
    (segment,) = collection.get_segments()
    assert segment[0][1] == segment[1][1]
    return float(segment[0][1])


def levels(collection: Any) -> dict[tuple[float, float], float]:
    """(x0, x1) -> y of each horizontal segment of a collection."""
    out = {}
    for (x0, y0), (x1, y1) in collection.get_segments():
        assert y0 == y1
        out[round(float(x0), 6), round(float(x1), 6)] = float(y0)
    return out


def key(figure: Figure) -> list[str]:
    """The labels of the figure's key, in order."""
    return [t.get_text() for t in figure.texts if t.get_gid() == "key"]


def only_figure(drawn: list[tuple[str, Figure]]) -> tuple[str, Figure]:
    assert len(drawn) == 1, [title for title, _ in drawn]
    return drawn[0]


def aclr_measurement(run_dir: Path, index: int = 1, tx: float | None = None, lower1: float = 46.0) -> dict:
    freqs, power = carrier_trace()
    capture = save_trace(run_dir, f"{index:04d}-rf.aclr.npz", freqs, power)
    aclr = {"lower1": lower1, "upper1": lower1 + 1.0, "lower2": 50.0, "upper2": 51.0}
    values = {"channel_power": (42.94, "dBm")}
    limits = {}
    for name, db in aclr.items():
        values[f"aclr_{name}"] = (db, "dB")
        values[f"adjacent_{name}_density"] = (42.94 - db - 19.92, "dBm/MHz")
        limits[f"aclr_{name}"] = [
            limit(f"aclr_{name}", low=44.2, unverified=True),
            limit(f"adjacent_{name}_density", high=-12.2, unverified=True),
        ]
    conditions = {"path_loss_db": LOSS, "measurement_bandwidth_hz": CONFIG, "capture": capture}
    point = {"tx_power": f"{tx:g} dBm"} if tx is not None else None
    return measurement("rf.aclr", values, conditions, limits, point, index)


# --------------------------------------------------------------------------- spectra


def test_aclr_spectrum_is_at_the_connector_with_the_channel_and_adjacent_bands(tmp_path):
    m = aclr_measurement(tmp_path)
    title, figure = only_figure(point_figures(tmp_path, m))
    assert "adjacent measurement bands" in title and title.startswith("rf.aclr step")
    freqs, stored = carrier_trace()
    trace = one(figure, "trace")
    np.testing.assert_allclose(trace.get_xdata(), freqs / 1e6, rtol=0, atol=1e-9)
    np.testing.assert_allclose(trace.get_ydata(), stored + LOSS, rtol=0, atol=1e-12)
    # BW_Config-wide bands at the carrier and ±1, ±2 x the 100 MHz channel bandwidth (derived
    # from BW_Config: 98.28 MHz is 100 MHz at 30 kHz)
    expected = {
        "channel": (3700.86, 3799.14),
        "lower1": (3600.86, 3699.14),
        "upper1": (3800.86, 3899.14),
        "lower2": (3500.86, 3599.14),
        "upper2": (3900.86, 3999.14),
    }
    for gid, band in expected.items():
        assert x_extent(one(figure, gid)) == pytest.approx(band, abs=1e-6)
    measured, relative = levels(one(figure, "measured")), levels(one(figure, "relative limit"))
    absolute = levels(one(figure, "absolute limit"))
    assert (
        set(measured) == set(relative) == set(absolute) == {v for k, v in expected.items() if k != "channel"}
    )
    # mean level over a band, per 250 kHz RBW: band power - 10 log10(98.28 MHz / 250 kHz)
    per_rbw = 10 * math.log10(RBW / CONFIG)
    assert measured[expected["lower1"]] == pytest.approx(42.94 - 46.0 + per_rbw, abs=1e-9)
    assert measured[expected["upper1"]] == pytest.approx(42.94 - 47.0 + per_rbw, abs=1e-9)
    # the relative limit 44.2 dB sits the 1.8 dB margin above the measured lower1 level
    margin = relative[expected["lower1"]] - measured[expected["lower1"]]
    assert margin == pytest.approx(1.8, abs=1e-9)
    # -12.2 dBm/MHz is -12.2 + 10 log10(0.25) dBm in a 250 kHz RBW
    assert absolute[expected["upper2"]] == pytest.approx(-12.2 - 6.0206, abs=1e-4)
    # each adjacent channel's ACLR written over its band
    assert one(figure, "upper1 aclr").get_text() == "47.0 dB"
    assert one(figure, "upper1 aclr").get_position()[0] == pytest.approx(3850.0)
    assert "ACLR ≥ 44.2 dB [U]" in key(figure) and "≤ -12.2 dBm/MHz [U]" in key(figure)
    assert "channel power 42.94 dBm" in title and "40 dB path loss" in title


def test_power_spectrum_shows_the_measurement_band_and_the_mean_level_of_the_channel(tmp_path):
    freqs, stored = carrier_trace(200e6)
    conditions = {
        "path_loss_db": LOSS,
        "measurement_bandwidth_hz": CONFIG,
        "capture": save_trace(tmp_path, "0001-rf.power.npz", freqs, stored),
    }
    limits = {"output_power": [limit("channel_power", 40.0, 46.0, unverified=True)]}
    m = measurement("rf.power", {"channel_power": (42.94, "dBm")}, conditions, limits)
    _, figure = only_figure(point_figures(tmp_path, m))
    np.testing.assert_allclose(one(figure, "trace").get_ydata(), stored + LOSS, rtol=0, atol=1e-12)
    assert x_extent(one(figure, "channel")) == pytest.approx((3700.86, 3799.14), abs=1e-6)
    assert level(one(figure, "channel level")) == pytest.approx(
        42.94 + 10 * math.log10(RBW / CONFIG), abs=1e-9
    )
    notes = [t.get_text() for t in figure.axes[0].texts]
    assert any("test limit 40 to 46 dBm [U]" in note for note in notes)


def test_obw_spectrum_marks_the_edges_on_a_plain_mhz_axis(tmp_path):
    freqs, stored = carrier_trace(200e6)
    conditions = {
        "path_loss_db": LOSS,
        "measurement_bandwidth_hz": CONFIG,
        "obw_lower_hz": 3701.3e6,
        "obw_upper_hz": 3798.6e6,
        "capture": save_trace(tmp_path, "0001-rf.obw.npz", freqs, stored),
    }
    m = measurement("rf.obw", {"obw": (97.3e6, "Hz")}, conditions, {"obw": [limit("obw", high=100e6)]})
    _, figure = only_figure(point_figures(tmp_path, m))
    assert one(figure, "obw lower").get_xdata()[0] == pytest.approx(3701.3)
    assert one(figure, "obw upper").get_xdata()[0] == pytest.approx(3798.6)
    assert x_extent(one(figure, "channel")) == pytest.approx((3700.0, 3800.0), abs=1e-6)
    FigureCanvasAgg(figure).draw()
    ax = figure.axes[0]
    for axis in (ax.xaxis, ax.yaxis):
        assert axis.get_major_formatter().get_offset() == ""  # no "+3.7e3", no "1e7"
    ticks = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert ticks and all(3600 <= float(t) <= 3900 for t in ticks)
    # at most five ticks an axis, none made outside the view (each costs time to make)
    for axis, (low, high) in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
        locations = axis.get_majorticklocs()
        assert 3 <= len(locations) <= 5 and all(low <= x <= high for x in locations)


def samples(figure: Figure) -> dict[str, Any]:
    """Label -> sample of the figure's key (samples and labels are added in the same order)."""
    return dict(zip(key(figure), figure.artists, strict=True))


def test_the_key_shows_a_sample_of_each_labelled_artist_in_its_style(tmp_path):
    _, figure = only_figure(point_figures(tmp_path, aclr_measurement(tmp_path)))
    key_of = samples(figure)
    # the channel and adjacent bands are told by the caption, not the key
    assert list(key_of) == ["measured mean", "ACLR ≥ 44.2 dB [U]", "≤ -12.2 dBm/MHz [U]"]
    for label, gid in (("ACLR ≥ 44.2 dB [U]", "relative limit"), ("≤ -12.2 dBm/MHz [U]", "absolute limit")):
        sample, artist = key_of[label], one(figure, gid)
        assert sample.get_linestyle() == artist.get_linestyle() != [(0, None)]  # dashed, dotted
        np.testing.assert_array_equal(sample.get_color(), artist.get_color())
    assert key_of["ACLR ≥ 44.2 dB [U]"].get_linestyle() != key_of["≤ -12.2 dBm/MHz [U]"].get_linestyle()
    # the key lies under the axes, each sample left of its label
    axes_bottom = figure.axes[0].get_position().y0
    for text, sample in key_of.items():
        label = next(t for t in figure.texts if t.get_text() == text)
        assert label.get_position()[1] < axes_bottom
        assert sample.get_window_extent().x1 < label.get_window_extent().x0
    # a line's sample keeps its colour, style and (hollow) marker
    measured = [aclr_measurement(tmp_path, i, tx) for i, tx in enumerate((37, 40), 1)]
    _, figure = only_figure(sweep_figures(tmp_path, "ACLR", "rf.aclr", measured))
    upper = next(ln for ln in figure.axes[0].lines if ln.get_gid() == "aclr_upper1")
    sample = samples(figure)["upper 1st"]
    style = ("get_color", "get_linestyle", "get_marker", "get_markerfacecolor", "get_markersize")
    assert [getattr(sample, get)() for get in style] == [getattr(upper, get)() for get in style]
    assert sample.get_markerfacecolor() == "none" and sample.get_marker() == "s"
    # a band's sample keeps its colour and transparency
    freqs, stored = carrier_trace(200e6)
    conditions = {
        "measurement_bandwidth_hz": CONFIG,
        "capture": save_trace(tmp_path, "0001-rf.power.npz", freqs, stored),
    }
    m = measurement("rf.power", {"channel_power": (42.94, "dBm")}, conditions)
    _, figure = only_figure(point_figures(tmp_path, m))
    assert samples(figure)["BW_Config 98.28 MHz"].get_facecolor() == one(figure, "channel").get_facecolor()


def sem_trace(tmp_path: Path) -> tuple[str, np.ndarray]:
    """3250-4250 MHz every 100 kHz (analyzer input): a -100 dBm floor, the carrier at -30 dBm and
    one -60 dBm point at 3697 MHz, 3 MHz below the lower channel edge (-20 dBm at the connector)."""
    freqs = np.linspace(3250e6, 4250e6, 10001)
    stored = np.where(np.abs(freqs - 3.75e9) < 49e6, -30.0, -100.0)
    stored[4470] = -60.0  # 3697 MHz
    return save_trace(tmp_path, "0001-rf.sem.npz", freqs, stored, rbw=100e3), stored


def sem_measurement(capture: str, worst_hz: float, mask: str = SEM_MASK) -> dict:
    conditions = {
        "path_loss_db": LOSS,
        "measurement_bandwidth_hz": CONFIG,
        "mask": mask,
        "worst_offset_hz": -3e6,
        "worst_frequency_hz": worst_hz,
        "capture": capture,
    }
    limits = {"obue": [limit("sem_margin", low=-1.5, unverified=True)]}
    return measurement("rf.sem", {"sem_margin": (8.87, "dB")}, conditions, limits)


def test_sem_spectrum_draws_the_mask_and_marks_the_worst_point(tmp_path):
    capture, _ = sem_trace(tmp_path)
    title, figure = only_figure(point_figures(tmp_path, sem_measurement(capture, 3697e6)))
    assert SEM_MASK in title
    (ax,) = figure.axes
    assert 1000 <= one(figure, "trace").get_xdata().size <= 1200  # 5800 points in view, as 600 strokes
    # in view: the OBUE range of n78 (3300-3800 MHz) and 40 MHz (Δf_OBUE) beyond it, the range the
    # mask judges, with little more (the trace spans 3250-4250 MHz)
    low, high = ax.get_xlim()
    assert 3260 - 0.1 * 580 <= low <= 3261 and 3839 <= high <= 3840 + 0.1 * 580
    # the worst point on the power in its 100 kHz measurement bandwidth: the -20 dBm spur alone
    worst = found(figure, "worst point")
    assert worst and all(w.get_xdata()[0] == pytest.approx(3697.0) for w in worst)
    assert worst[0].get_ydata()[0] == pytest.approx(-20.0, abs=1e-3)
    # TS 38.104 Table 6.6.4.2.1-2 (Category A): -7 dBm at f_offset 0.05 MHz falling 7/5 dB per
    # MHz; -13 dBm from 10.5 MHz; the test tolerance 1.5 dB above
    ends = {tuple(np.round(segment, 6).ravel()) for segment in one(figure, "limit").get_segments()}
    assert (3695.0, -13.93, 3699.95, -7.0) in ends  # lower side, first segment (f_offset 5 to 0.05 MHz)
    assert any(values[1] == values[3] == -13.0 for values in ends)
    tolerance = {
        tuple(np.round(seg[:, 1], 6)) for seg in one(figure, "limit + test tolerance").get_segments()
    }
    assert (-12.43, -5.5) in tolerance
    # the worst point's frequency, its offset from the channel edge and its margin, in the corner
    # and in the caption
    assert [t.get_text() for t in ax.texts] == ["worst point 3697.000 MHz (edge -3.000 MHz): margin 8.87 dB"]
    assert "worst point 3697.000 MHz, -3.000 MHz from the channel edge, margin to the mask 8.87 dB" in title


def test_sem_worst_point_the_reducer_does_not_find_is_a_line_at_its_recorded_frequency(tmp_path):
    capture, _ = sem_trace(tmp_path)
    _, figure = only_figure(point_figures(tmp_path, sem_measurement(capture, 3600e6)))
    assert all(list(w.get_xdata()) == [3600.0, 3600.0] for w in found(figure, "worst point"))
    _, figure = only_figure(point_figures(tmp_path, sem_measurement(capture, 3697e6, "no such mask")))
    assert not found(figure, "limit")  # an unknown mask: the trace and the worst point only
    assert found(figure, "worst point") and found(figure, "trace")


# --------------------------------------------------------------------------- other point plots


def test_evm_per_slot_with_the_worst_slot_and_the_limit(tmp_path):
    slots = [0.9, 0.8, 1.2, 0.85]
    conditions = {
        "path_loss_db": LOSS,
        "evm_per_slot_pct": slots,
        "capture": "captures/0001-rf.evm.sigmf-meta",
    }
    limits = {"evm_64qam": [limit("evm_64qam", high=9.0)]}
    values = {"evm_rms": (0.95, "%"), "evm_64qam": (0.95, "%"), "evm_worst_slot": (1.2, "%")}
    _, figure = only_figure(point_figures(tmp_path, measurement("rf.evm", values, conditions, limits)))

    def bars(gid: str) -> np.ndarray:
        """(centre, height) of each bar."""
        paths = one(figure, gid).get_paths()
        return np.array(
            [(np.ptp(p.vertices[:, 0]) / 2 + p.vertices[:, 0].min(), p.vertices[:, 1].max()) for p in paths]
        )

    np.testing.assert_allclose(bars("slots"), [(0, 0.9), (1, 0.8), (2, 1.2), (3, 0.85)], rtol=0, atol=1e-12)
    np.testing.assert_allclose(bars("worst slot"), [(2, 1.2)], rtol=0, atol=1e-12)
    assert "worst slot 2: 1.20 %" in key(figure)
    assert one(figure, "limit").get_ydata()[0] == 9.0
    del conditions["evm_per_slot_pct"]  # an EVM the reducer could not split into slots
    assert point_figures(tmp_path, measurement("rf.evm", values, conditions, limits)) == []


def irtt_json(rtt_ms: list[float], lost: int) -> str:
    """An ``irtt client -o -`` output with the fields the parser reads; durations in ns."""
    trips = [
        {"seqno": i, "lost": "false", "delay": {"rtt": int(r * 1e6)}, "ipdv": {}}
        for i, r in enumerate(rtt_ms)
    ]
    trips += [{"seqno": len(trips) + i, "lost": "true", "delay": {}, "ipdv": {}} for i in range(lost)]
    stats = dict.fromkeys(
        ("packet_loss_percent", "upstream_loss_percent", "downstream_loss_percent", "duplicate_percent"), 0.0
    )
    stats |= {"packets_sent": len(trips), "packets_received": len(rtt_ms), "late_packets_percent": 0.0}
    return json.dumps({"stats": stats, "round_trips": trips})


def test_latency_cdf_of_the_round_trips_with_percentiles_and_limit(tmp_path):
    (tmp_path / "captures").mkdir()
    rtt = [float(k) for k in range(100, 0, -1)]  # 100 ... 1 ms, out of order, and 2 lost
    (tmp_path / "captures" / "0001-traffic.latency.irtt.json").write_text(irtt_json(rtt, lost=2))
    conditions = {"capture": "captures/0001-traffic.latency.irtt.json"}
    values = {"rtt_p50": (50.5, "ms"), "rtt_p90": (90.1, "ms"), "rtt_p99": (99.01, "ms")}
    limits = {"rtt_p99": [limit("rtt_p99", high=20.0)]}
    m = measurement("traffic.latency", values, conditions, limits)
    _, figure = only_figure(point_figures(tmp_path, m))
    cdf = one(figure, "cdf")
    np.testing.assert_array_equal(cdf.get_xdata(), np.arange(1.0, 101.0))
    np.testing.assert_allclose(cdf.get_ydata(), np.arange(1, 101) / 100, rtol=0, atol=1e-15)
    assert one(figure, "rtt_p99").get_xdata()[0] == 99.01
    assert one(figure, "rtt_p99 limit").get_xdata()[0] == 20.0
    # up to 1.25 x the largest of p99 (99.01 of the RTTs) and the marks, at most the slowest RTT
    assert figure.axes[0].get_xlim() == pytest.approx((0.0, 100.0 * 1.02))


def test_capacity_search_marks_each_trial_passed_or_not(tmp_path):
    trials = [
        {"offered_mbit_s": 1000.0, "goodput_mbit_s": 700.0, "loss_percent": 30.0, "passed": False},
        {"offered_mbit_s": 500.0, "goodput_mbit_s": 500.0, "loss_percent": 0.0, "passed": True},
        {"offered_mbit_s": 750.0, "goodput_mbit_s": 749.0, "loss_percent": 0.1, "passed": True},
        {"offered_mbit_s": 875.0, "goodput_mbit_s": 760.0, "loss_percent": 13.0, "passed": False},
    ]
    conditions = {"trials": trials, "loss_threshold_percent": 1.0}
    m = measurement("traffic.capacity", {"capacity": (750.0, "Mbit/s"), "trials": (4.0, "")}, conditions)
    title, figure = only_figure(point_figures(tmp_path, m))
    assert "loss threshold 1 %" in title
    assert list(one(figure, "passed").get_data()[0]) == [2, 3]
    assert list(one(figure, "passed").get_data()[1]) == [500.0, 750.0]
    assert list(one(figure, "failed").get_data()[0]) == [1, 4]
    assert list(one(figure, "failed").get_data()[1]) == [1000.0, 875.0]


def test_throughput_over_the_run_from_the_iperf3_json(tmp_path):
    (tmp_path / "captures").mkdir()
    shutil.copyfile(
        DATA / "traffic" / "iperf3_tcp_dl_reverse.json", tmp_path / "captures" / "0001.iperf3.json"
    )
    conditions = {"direction": "dl", "capture": "captures/0001.iperf3.json"}
    values = {"throughput": (6398.5, "Mbit/s"), "peak_rate": (7000.0, "Mbit/s")}
    limits = {"throughput": [limit("throughput", low=100.0)]}
    _, figure = only_figure(
        point_figures(tmp_path, measurement("traffic.throughput", values, conditions, limits))
    )
    series = one(figure, "dl goodput")
    # the server's four 0.5 s intervals of the recorded run, in Mbit/s
    np.testing.assert_allclose(series.get_ydata(), [6231.6266, 6317.4559, 6566.2473, 6477.3338], atol=1e-4)
    assert series.get_xdata()[-1] == pytest.approx(2.0, abs=1e-3)


# --------------------------------------------------------------------------- sweeps


def test_aclr_sweep_tells_lower_from_upper_and_draws_the_limits(tmp_path):
    measured = [aclr_measurement(tmp_path, i, tx, 52.0 - 2 * i) for i, tx in enumerate((37, 40, 43, 46), 1)]
    skipped = measurement("rf.aclr", {}, point={"tx_power": "49 dBm"}, index=5)
    title, figure = only_figure(sweep_figures(tmp_path, "ACLR vs TX power", "rf.aclr", [*measured, skipped]))
    assert title.startswith("ACLR vs TX power: ACLR") and "tx_power (dBm)" in title
    aclr_axes = figure.axes[0]
    lower, upper = (
        next(ln for ln in aclr_axes.lines if ln.get_gid() == g) for g in ("aclr_lower1", "aclr_upper1")
    )
    assert list(lower.get_xdata()) == [37, 40, 43, 46]  # the SKIPPED point has no value to draw
    assert list(lower.get_ydata()) == [50.0, 48.0, 46.0, 44.0]
    assert list(upper.get_ydata()) == [51.0, 49.0, 47.0, 45.0]
    assert lower.get_color() != upper.get_color()
    assert lower.get_marker() != upper.get_marker()
    assert lower.get_linestyle() != upper.get_linestyle()
    assert upper.get_markerfacecolor() == "none"  # hollow: visible around an equal lower value
    (relative,) = [ln for ln in aclr_axes.lines if ln.get_gid() == "low limit"]
    assert relative.get_ydata()[0] == 44.2
    # the absolute alternative as the ACLR it allows: the channel power 42.94 dBm spread over the
    # 98.28 MHz band is 42.94 - 19.92 dBm/MHz, -12.2 dBm/MHz is reached 35.22 dB below it
    absolute = one(figure, "absolute")
    np.testing.assert_allclose(absolute.get_ydata(), [35.22] * 4, rtol=0, atol=1e-9)
    assert absolute.get_linestyle() == ":" and absolute.get_color() == relative.get_color()
    for label in (
        "lower 1st",
        "upper 1st",
        "test limit ≥ 44.2 dB [U]",
        "absolute limit ≤ -12.2 dBm/MHz as ACLR [U]",
    ):
        assert label in key(figure)
    assert [ax.get_ylabel() for ax in figure.axes] == ["ACLR (dB)"]
    # channels whose densities disagree (unequal bands) get one line each, in their colours
    for m in measured[:2]:
        m["values"]["adjacent_lower2_density"]["value"] += 1.0
    _, figure = only_figure(sweep_figures(tmp_path, "ACLR vs TX power", "rf.aclr", measured))
    lines = {line.get_color(): line.get_ydata() for line in found(figure, "absolute")}
    assert len(lines) == 4
    lower2 = next(ln for ln in figure.axes[0].lines if ln.get_gid() == "aclr_lower2").get_color()
    np.testing.assert_allclose(lines[lower2], [36.22, 36.22, 35.22, 35.22], rtol=0, atol=1e-9)
    assert "absolute limit ≤ -12.2 dBm/MHz as ACLR, per channel [U]" in key(figure)


def throughput(index: int, attenuation: float, mbit_s: float, rsrp: float | None = None) -> dict:
    values = {
        "throughput": (mbit_s, "Mbit/s"),
        "throughput_ci_low": (mbit_s - 5.0, "Mbit/s"),
        "throughput_ci_high": (mbit_s + 10.0, "Mbit/s"),
        "peak_rate": (1736.0, "Mbit/s"),
    }
    if rsrp is not None:
        values["rsrp"] = (rsrp, "dBm")
    limits = {"throughput": [limit("throughput", low=100.0)]}
    return measurement(
        "traffic.throughput", values, limits=limits, point={"attenuation": f"{attenuation:g} dB"}, index=index
    )


def test_throughput_sweep_with_confidence_bars_peak_and_limit_and_a_figure_against_rsrp(tmp_path):
    measured = [
        throughput(1, 0, 1700.0, -53.0),
        throughput(2, 30, 1200.0, -83.0),
        throughput(3, 60, 300.0, -113.0),
    ]
    (title, figure), (rsrp_title, rsrp_figure) = sweep_figures(tmp_path, "DL", "traffic.throughput", measured)
    assert "vs attenuation (dB)" in title and "vs RSRP" in rsrp_title
    (by_attenuation,), (by_rsrp,) = figure.axes, rsrp_figure.axes
    lines = {ax: {ln.get_gid(): ln for ln in ax.lines} for ax in (by_attenuation, by_rsrp)}
    assert list(lines[by_attenuation]["throughput"].get_xdata()) == [0, 30, 60]
    assert list(lines[by_rsrp]["throughput"].get_xdata()) == [-113.0, -83.0, -53.0]  # sorted by RSRP
    assert list(lines[by_rsrp]["throughput"].get_ydata()) == [300.0, 1200.0, 1700.0]
    assert set(lines[by_attenuation]["peak_rate"].get_ydata()) == {1736.0}
    assert set(lines[by_attenuation]["low limit"].get_ydata()) == {100.0}
    (bars,) = by_attenuation.collections  # the 95 % interval of each point
    assert [tuple(seg[:, 1]) for seg in bars.get_segments()] == [
        (1695.0, 1710.0),
        (1195.0, 1210.0),
        (295.0, 310.0),
    ]
    assert by_rsrp.get_xlabel() == "RSRP reported by the UE (dBm)"
    assert set(lines[by_rsrp]["low limit"].get_ydata()) == {100.0}
    # no RSRP, no second figure
    only_figure(
        sweep_figures(tmp_path, "DL", "traffic.throughput", [throughput(1, 0, 1.0), throughput(2, 5, 2.0)])
    )


def test_throughput_sweep_takes_the_last_repeat_of_each_point(tmp_path):
    repeats = [
        throughput(1, 0, 900.0),
        throughput(2, 0, 1000.0),
        throughput(3, 10, 800.0),
        throughput(4, 10, 700.0),
    ]
    _, figure = only_figure(sweep_figures(tmp_path, "DL", "traffic.throughput", repeats))
    assert list(one(figure, "throughput").get_ydata()) == [1000.0, 700.0]  # each carries its point's mean


def test_output_power_sweep_shades_the_limit_band_around_each_point(tmp_path):
    measured = [
        measurement(
            "rf.power",
            {"channel_power": (tx - 0.1, "dBm")},
            {"configured_power_dbm": tx},
            {"output_power": [limit("channel_power", tx - 3, tx + 3)]},
            {"tx_power": f"{tx:g} dBm"},
            index,
        )
        for index, tx in enumerate((37.0, 40.0, 43.0), 1)
    ]
    _, figure = only_figure(sweep_figures(tmp_path, "power", "rf.power", measured))
    ax = figure.axes[0]
    (band,) = ax.collections
    ys = band.get_paths()[0].vertices[:, 1]
    assert ys.min() == 34.0 and ys.max() == 46.0
    assert list(one(figure, "channel_power").get_ydata()) == [36.9, 39.9, 42.9]
    assert ax.get_xlabel() == "tx_power (dBm)"


def test_latency_sweep_draws_each_percentile_with_its_interval_and_limit(tmp_path):
    def latency(index: int, length: str, p99: float) -> dict:
        values = {"rtt_p50": (6.0, "ms"), "rtt_p90": (8.0, "ms"), "rtt_p99": (p99, "ms")}
        conditions = {"intervals": {"rtt_p99": {"low": p99 - 2, "high": p99 + 4}}}
        limits = {"rtt_p99": [limit("rtt_p99", high=20.0)]}
        return measurement("traffic.latency", values, conditions, limits, {"length": length}, index)

    _, figure = only_figure(
        sweep_figures(tmp_path, "RTT", "traffic.latency", [latency(1, "64", 19.0), latency(2, "1400", 23.0)])
    )
    ax = figure.axes[0]
    assert list(one(figure, "rtt_p99").get_ydata()) == [19.0, 23.0]
    assert ax.get_xlabel() == "length"
    assert one(figure, "high limit").get_ydata()[0] == 20.0
    intervals = [
        tuple(seg[:, 1]) for c in ax.collections for seg in c.get_segments() if seg[0, 1] != seg[1, 1]
    ]
    assert (17.0, 23.0) in intervals and (21.0, 27.0) in intervals


def test_sweep_axis_falls_back_to_categories_and_repeats(tmp_path):
    def evm(index: int, point: dict[str, str] | None, repeat: str) -> dict:
        values = {"evm_rms": (1.0 + index, "%")}
        return measurement("rf.evm", values, {}, {"evm": [limit("evm_rms", high=4.5)]}, point, index, repeat)

    _, figure = only_figure(
        sweep_figures(
            tmp_path, "EVM", "rf.evm", [evm(1, {"model": "TM3.1"}, "1/1"), evm(2, {"model": "TM3.1a"}, "1/1")]
        )
    )
    ax = figure.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["TM3.1", "TM3.1a"]
    assert one(figure, "high limit").get_ydata()[0] == 4.5
    _, figure = only_figure(
        sweep_figures(tmp_path, "EVM", "rf.evm", [evm(i, None, f"{i}/3") for i in (1, 2, 3)])
    )
    assert figure.axes[0].get_xlabel() == "repeat"
    assert list(one(figure, "evm_rms").get_xdata()) == [1.0, 2.0, 3.0]


def test_one_measured_point_has_no_sweep_plot_and_unknown_kinds_get_their_values(tmp_path):
    single = [aclr_measurement(tmp_path), measurement("rf.aclr", {}, index=2)]
    assert sweep_plots(tmp_path, "ACLR", "rf.aclr", single) == []
    values = [
        measurement("cell.attach", {"attach_time": (t, "s"), "rrc": (2.0, "")}, index=i)
        for i, t in ((1, 0.4), (2, 0.5))
    ]
    drawn = sweep_figures(tmp_path, "attach", "cell.attach", values)
    # one figure per unit
    assert [title for title, _ in drawn] == [
        "attach: attach_time vs measurement with their limits",
        "attach: rrc vs measurement with their limits",
    ]
    assert [ax.get_ylabel() for _, figure in drawn for ax in figure.axes] == ["value (s)", "value"]


# --------------------------------------------------------------------------- encoding and odd data


def test_plots_are_small_pngs_of_print_width(tmp_path):
    measured = [aclr_measurement(tmp_path, i, tx) for i, tx in enumerate((37, 40), 1)]
    plots = sweep_plots(tmp_path, "ACLR vs TX power", "rf.aclr", measured) + point_plots(
        tmp_path, measured[0]
    )
    assert [p.title.split(":")[0] for p in plots] == ["ACLR vs TX power", "rf.aclr step, tx_power 37 dBm"]
    for plot in plots:
        png = base64.b64decode(plot.png, validate=True)
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) < 120_000
        height, width = image.imread(io.BytesIO(png)).shape[:2]
        assert width == 770  # 7 in at 110 dpi: the text width of an A4 page
        assert 300 <= height <= 700


@pytest.mark.parametrize(
    "odd",
    [
        {},
        {"kind": "rf.aclr"},
        {"kind": "rf.aclr", "conditions": None, "values": None},
        {"kind": "rf.aclr", "conditions": {"capture": "captures/gone.npz"}, "values": {}},
        {"kind": "rf.aclr", "conditions": {"capture": "../outside.npz"}, "values": {}},
        {"kind": "rf.sem", "conditions": {"capture": "captures/corrupt.npz"}, "values": {}},
        {"kind": "traffic.latency", "conditions": {"capture": "captures/corrupt.irtt.json"}, "values": {}},
        {
            "kind": "traffic.throughput",
            "conditions": {"capture": "captures/corrupt.iperf3.json", "direction": "dl"},
        },
        {"kind": "traffic.capacity", "conditions": {"trials": [None, "x"]}},
        {"kind": "rf.evm", "conditions": {"evm_per_slot_pct": [math.nan, "x"]}},
    ],
)
def test_missing_or_odd_data_gives_no_plot_and_no_exception(tmp_path, odd):
    (tmp_path / "captures").mkdir()
    for name in ("corrupt.npz", "corrupt.irtt.json", "corrupt.iperf3.json"):
        (tmp_path / "captures" / name).write_bytes(b"\x00not what it claims")
    (tmp_path / "outside.npz").write_bytes(b"")
    assert point_plots(tmp_path, odd) == []
    assert sweep_plots(tmp_path, "odd", str(odd.get("kind")), [odd, odd]) == []


def test_nan_and_malformed_values_and_limits_are_left_out(tmp_path):
    measured = [aclr_measurement(tmp_path, i, tx) for i, tx in enumerate((37, 40, 43), 1)]
    measured[1]["values"]["aclr_lower1"]["value"] = math.nan
    measured[1]["values"]["aclr_upper1"]["value"] = "high"
    measured[2]["limits"].append(
        {"name": "broken", "alternatives": [None, {"value": "aclr_lower1", "low": "x"}]}
    )
    measured[2]["point"] = None
    _, figure = only_figure(sweep_figures(tmp_path, "ACLR", "rf.aclr", measured))
    assert np.isnan(one(figure, "aclr_lower1").get_ydata()[1])
    assert len(point_plots(tmp_path, measured[1])) == 1  # its spectrum is still drawn


def test_a_long_trace_is_drawn_as_its_min_max_envelope_with_every_point_in_a_column():
    x = np.arange(100_003, dtype=float)
    y = np.zeros_like(x)
    y[12_345], y[67_890], y[-1] = 30.0, -90.0, 45.0  # a spike, a null, and a spike at the very end
    ex, ey = envelope(x, y, columns=1000)
    assert ex.size == ey.size == 2000
    assert ey.max() == 45.0 and ey.min() == -90.0  # the last point is not dropped
    assert ex[np.flatnonzero(ey == 30.0)[0]] == pytest.approx(12_345, abs=101)  # within its column
    assert ex[np.argmin(ey)] == pytest.approx(67_890, abs=101)
    assert ex[-1] == pytest.approx(100_002, abs=101)
    short = np.arange(1999.0)
    assert envelope(short, short, columns=1000)[0] is short  # fewer than 2 points per column: as is


def test_every_kind_of_a_synthetic_run_is_plotted_with_labelled_axes(tmp_path):
    from tests.report.fake_run import KINDS, make_run

    run_dir = make_run(tmp_path, 28)
    measurements = [json.loads(line) for line in (run_dir / "journal.jsonl").read_text().splitlines()]
    drawn: dict[str, list[tuple[str, Figure]]] = {}
    for kind in KINDS:
        step = [m for m in measurements if m["kind"] == kind]
        measured = next(m for m in step if m["values"])
        drawn[kind] = sweep_figures(run_dir, step[0]["step"], kind, step) + point_figures(run_dir, measured)
    # a sweep plot and a point plot each, and throughput against RSRP too
    assert {kind: len(figures) for kind, figures in drawn.items()} == dict.fromkeys(KINDS, 2) | {
        "traffic.throughput": 3
    }
    for title, figure in (d for figures in drawn.values() for d in figures):
        for ax in figure.axes:
            if ax.get_visible():
                assert ax.get_xlabel() and ax.get_ylabel(), title


def test_an_evm_point_with_its_capture_gets_the_constellation_of_the_capture(tmp_path):
    from fivegbench.captures import write_capture
    from tests.signals.nr_ofdm import nr_capture

    cap = nr_capture(
        scs_hz=30e3, n_rb=51, fft_size=1024, modulation="QPSK", duration_s=2e-3, evm_pct=5.0, seed=3
    )
    (tmp_path / "captures").mkdir()
    write_capture(
        tmp_path / "captures" / "0001-rf.evm",
        cap.iq,
        cap.sample_rate_hz,
        3.75e9,
        metadata={"bandwidth_hz": 20e6, "scs_hz": 30e3},
    )
    conditions = {
        "path_loss_db": LOSS,
        "evm_per_slot_pct": [5.0],
        "capture": "captures/0001-rf.evm.sigmf-meta",
    }
    values = {"evm_rms": (5.0, "%"), "evm_qpsk": (5.0, "%")}
    drawn = point_figures(tmp_path, measurement("rf.evm", values, conditions, {}))
    assert len(drawn) == 2 and "constellation of" in drawn[1][0]
    (measured,) = [line for line in drawn[1][1].axes[0].get_lines() if line.get_label() == "measured RE"]
    points = measured.get_xdata() + 1j * measured.get_ydata()
    # QPSK at unit power sits at (+-1 +-1j)/sqrt(2); 5 % of error around each
    distance = np.abs(np.abs(points.real) - 1 / math.sqrt(2)) + np.abs(np.abs(points.imag) - 1 / math.sqrt(2))
    assert points.size >= 1000 and float(np.median(distance)) < 0.1
