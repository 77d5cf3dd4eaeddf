"""Traffic end to end on the simulated bench: real iperf3 through the emulated radio link, the
attenuator driving the radio model, namespaces removed afterwards (also after a SIGINT)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fivegbench.sim.link import available, list_namespaces
from fivegbench.sim.radio import link_state

ROOT = Path(__file__).resolve().parent.parent
SHORT = ROOT / "tests/data/plans/throughput-vs-pathloss.yaml"
LATENCY = ROOT / "tests/data/plans/latency.yaml"

pytestmark = pytest.mark.skipif(available() is not None, reason=f"link emulator: {available()}")


def namespaces_of(pid: int) -> list[str]:
    return [ns for ns in list_namespaces() if ns.endswith(f"-{pid}")]


@pytest.fixture(scope="module")
def short_run(plan_run):
    run = plan_run(SHORT)  # the same run tests/test_plans.py checks
    return run.process, run.output, run.run_dir, run.lines


def test_the_short_plan_measures_every_point(short_run):
    proc, output, _, lines = short_run
    assert proc.returncode in (0, 1), output
    assert len(lines) == 6 and all(line["verdict"] != "ERROR" for line in lines)


@pytest.mark.parametrize("step", ["DL TCP throughput vs attenuation", "UL TCP throughput vs attenuation"])
def test_throughput_falls_with_attenuation_and_never_exceeds_the_peak(short_run, step):
    _, _, _, lines = short_run
    points = [line for line in lines if line["step"] == step]
    throughput = [line["values"]["throughput"]["value"] for line in points]
    peaks = [line["values"]["peak_rate"]["value"] for line in points]
    # never a significant rise: two points on the same plateau (the UL at 0 and 20 dB) may differ
    # by TCP's own scatter, so a later point may be higher only within both intervals' overlap
    low = [line["values"]["throughput_ci_low"]["value"] for line in points]
    high = [line["values"]["throughput_ci_high"]["value"] for line in points]
    for i in range(1, len(points)):
        assert throughput[i] <= 1.03 * throughput[i - 1] or low[i] <= high[i - 1], (throughput, low, high)
    assert throughput[-1] < 0.8 * throughput[0]
    assert all(t <= p for t, p in zip(throughput, peaks, strict=True))


@pytest.mark.parametrize("direction", ["dl", "ul"])
def test_the_measured_goodput_is_the_capacity_the_world_imposes(short_run, direction):
    # the radio model is the simulated world's truth here: the chain attenuator -> model ->
    # emulator -> kernel TCP -> iperf3 -> reducer must give it back
    _, _, _, lines = short_run
    for line in lines:
        if line["conditions"]["direction"] != direction:
            continue
        attenuation = float(line["point"]["attenuation"].removesuffix(" dB"))
        link = link_state(43.0, attenuation, 100e6, 30e3, "DDDSU", "10:2:2")
        capacity = (link.dl_rate_bps if direction == "dl" else link.ul_rate_bps) / 1e6
        # 2 s of TCP, slow start included, on a 2-core machine also running the emulator: 15 %
        assert line["values"]["throughput"]["value"] == pytest.approx(capacity, rel=0.15), attenuation


def test_each_run_is_kept_verbatim_and_judged_with_its_interval(short_run):
    _, _, run_dir, lines = short_run
    for line in lines:
        capture = run_dir / line["conditions"]["capture"]
        assert json.loads(capture.read_text())["start"]["test_start"]["protocol"] == "TCP"
        interval = line["conditions"]["intervals"]["throughput"]
        assert interval["low"] <= line["values"]["throughput"]["value"] <= interval["high"]


def test_the_run_left_no_namespace_behind(short_run):
    proc, _, _, _ = short_run
    assert namespaces_of(proc.pid) == []


def test_a_sigint_leaves_no_namespace_behind(tmp_path):
    results = tmp_path / "results"
    proc = subprocess.Popen(
        [sys.executable, "-m", "fivegbench", "run", str(SHORT), "--results", str(results)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not namespaces_of(proc.pid):
            time.sleep(0.05)
        assert namespaces_of(proc.pid), "the run never built its emulated link"
        os.kill(proc.pid, signal.SIGINT)
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 3, stderr
    assert namespaces_of(proc.pid) == []


@pytest.fixture(scope="module")
def latency_lines(plan_run):
    run = plan_run(LATENCY)
    assert run.returncode in (0, 1), run.output
    return run.lines


def test_latency_under_load_is_the_queue_users_feel(latency_lines):
    idle = [line for line in latency_lines if line["conditions"]["load"] == "none"]
    loaded = [line for line in latency_lines if line["conditions"]["load"] == "dl TCP, 4 stream(s)"]
    assert len(idle) == len(loaded) == 2
    for quiet, busy in zip(idle, loaded, strict=True):
        # the downlink queue fills: the downlink one-way delay grows, the uplink's does not
        assert busy["values"]["owd_down_p50"]["value"] > quiet["values"]["owd_down_p50"]["value"] + 5.0
        up_quiet, up_busy = quiet["values"]["owd_up_p50"]["value"], busy["values"]["owd_up_p50"]["value"]
        assert up_busy == pytest.approx(up_quiet, abs=1.0)


def test_idle_rtt_is_the_modelled_air_interface_delay(latency_lines):
    # one-way delays of the radio model (TDD wait, processing, HARQ, core) at 0 dB, both ways
    link = link_state(43.0, 0.0, 100e6, 30e3, "DDDSU", "10:2:2")
    modelled_ms = (link.dl_delay_s + link.ul_delay_s) * 1e3
    for line in latency_lines:
        if line["conditions"]["load"] == "none":
            # the emulator itself adds ~0.25 ms per direction (measured in benchmarks/traffic.py)
            assert line["values"]["rtt_p50"]["value"] == pytest.approx(modelled_ms, abs=1.0)
            assert line["conditions"]["one_way_valid"] is True


def test_the_ue_readings_go_beside_each_point_and_follow_the_attenuator(short_run):
    _, _, _, lines = short_run
    dl = [line for line in lines if line["conditions"]["direction"] == "dl"]
    attenuation = [float(line["point"]["attenuation"].removesuffix(" dB")) for line in dl]
    rsrp = [line["values"]["rsrp"]["value"] for line in dl]
    # CESQ reports RSRP in 1 dB steps (TS 38.133): each dB of attenuation is a dB of RSRP
    for a, r in zip(attenuation[1:], rsrp[1:], strict=True):
        assert r - rsrp[0] == pytest.approx(-(a - attenuation[0]), abs=1.0)
    assert all("+C5GREG: 0,1" in line["conditions"]["ue_registration"] for line in dl)
