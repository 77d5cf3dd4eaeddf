"""Traffic performance: the link emulator against its model, with the real iperf3 and irtt.

    sudo .venv/bin/python benchmarks/traffic.py        (needs root: network namespaces, TUN)

Prints a table: figure, ours, baseline (the model), ratio, target, ok/FAIL. Exits 1 if a target
is missed, 2 if the emulator cannot run here. Targets (issue #7, Performance):
  iperf3 TCP through the emulator at 10, 100, 500, 1000, 1500 Mbit/s     measured/model within ±3 %
    (the model's rate is of IP packets; iperf3 counts TCP payload, so the baseline is the rate
    times the payload share of the emulator's packets: 1448/1500 below 20 Mbit/s, else ~0.999)
  CPU of the emulator's threads while carrying that traffic              < 1 core
  median added one-way delay (irtt) vs the model's 5 ms, each direction  within ±0.2 ms
The added delay is the median one-way delay with the model's delay minus the median with none,
so the bridge's own latency (shown as "base one-way delay", no target) is not counted twice.
Harness (a 17-point attenuation sweep, 5 s per point, through `fivegbench run`):
  the sweep's time                                                       <= 1.10 x 17 x 5 s
  the harness's own time between one iperf3 run and the next             < 200 ms (median)
"""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from fivegbench.sim.link import FAST_ABOVE_BPS, MTU, SLOW_MTU, LinkEmulator, LinkState, available, constant

Row = tuple[str, float, float, str, bool]
TCP_IP_HEADERS = 52
"""Bytes of IPv4 (20) + TCP (20) + timestamp option (12) headers in every segment: the model's
rate is of IP packets, iperf3 reports TCP payload."""


def tcp_payload_mbps(mbps: float) -> float:
    """What iperf3 can report through a link of ``mbps`` of IP packets: the payload share of the
    packets the emulator's sender uses at that rate (1500-byte packets below 20 Mbit/s)."""
    mtu = MTU if mbps * 1e6 > FAST_ABOVE_BPS else SLOW_MTU
    return mbps * (mtu - TCP_IP_HEADERS) / mtu


RATES_MBPS = (10, 100, 500, 1000, 1500)
DELAY_S = 0.005
RATE_TOLERANCE = 0.03
DELAY_TOLERANCE_S = 0.2e-3
TOOL_TIMEOUT_S = 60


@contextmanager
def served(netns: str, argv: list[str], ready: str) -> Iterator[None]:
    """``argv`` running in ``netns`` (output to a file, polled until it shows ``ready``);
    killed when the block ends."""
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(["ip", "netns", "exec", netns, *argv], stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 5
            while True:
                out.seek(0)
                if ready.encode() in out.read():
                    break
                if proc.poll() is not None or time.monotonic() > deadline:
                    out.seek(0)
                    raise RuntimeError(f"{argv[0]} server did not start: {out.read()!r}")
                time.sleep(0.01)
            yield
        finally:
            proc.kill()
            proc.wait(5)


def run_json(netns: str, argv: list[str]) -> dict:
    done = subprocess.run(
        ["ip", "netns", "exec", netns, *argv], capture_output=True, text=True, timeout=TOOL_TIMEOUT_S
    )
    if done.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed: {done.stderr.strip() or done.stdout[-500:]}")
    return json.loads(done.stdout)


def tcp_rate(mbps: float, reverse: bool) -> tuple[float, float]:
    """Measured Mbit/s (receiver side, slow start omitted) of iperf3 TCP through a link of
    ``mbps``, and the emulator's CPU (cores) during the run."""
    seconds, omit = ("10", "2") if mbps < 50 else ("5", "1")  # a 60 kB packet is 48 ms at 10 Mbit/s
    with (
        LinkEmulator(constant(LinkState(mbps * 1e6))) as em,
        served(em.core_netns, ["iperf3", "-s", "--forceflush"], "Server listening"),
    ):
        cpu0, wall0 = em.cpu_seconds(), time.monotonic()
        argv = ["iperf3", "-c", em.core_address, "-J", "-t", seconds, "-O", omit]
        result = run_json(em.ue_netns, argv + (["-R"] if reverse else []))
        cores = (em.cpu_seconds() - cpu0) / (time.monotonic() - wall0)
    return result["end"]["sum_received"]["bits_per_second"] / 1e6, cores


def one_way_delays(delay_s: float) -> tuple[float, float]:
    """Median (uplink, downlink) one-way delays in s, irtt at 100 Hz for 3 s (both namespaces
    share the host clock, so irtt's one-way delays are valid)."""
    with (
        LinkEmulator(constant(LinkState(100e6, delay_s))) as em,
        served(em.core_netns, ["irtt", "server", "-b", em.core_address], "ListenerStart"),
    ):
        argv = ["irtt", "client", "-Q", "-o", "-", "-i", "10ms", "-d", "3s", em.core_address]
        stats = run_json(em.ue_netns, argv)["stats"]
    return stats["send_delay"]["median"] / 1e9, stats["receive_delay"]["median"] / 1e9


def emulator_figures() -> list[Row]:
    rows: list[Row] = []
    cpu = []
    runs = [(mbps, False) for mbps in RATES_MBPS] + [(RATES_MBPS[-1], True)]
    for mbps, reverse in runs:
        measured, cores = tcp_rate(mbps, reverse)
        cpu.append((cores, mbps, reverse))
        expected = tcp_payload_mbps(mbps)
        ok = abs(measured / expected - 1) <= RATE_TOLERANCE
        name = f"TCP {'downlink' if reverse else 'uplink'} {mbps} Mbit/s (payload, Mbit/s)"
        rows.append((name, measured, expected, "±3 % of model", ok))
    cores, mbps, reverse = max(cpu)
    rows.append(
        (
            f"emulator CPU at {mbps} Mbit/s {'DL' if reverse else 'UL'} (cores)",
            cores,
            float("nan"),
            "< 1 core",
            cores < 1,
        )
    )

    base_up, base_down = one_way_delays(0.0)
    up, down = one_way_delays(DELAY_S)
    rows.append(("base one-way delay, 0 ms model (ms)", (base_up + base_down) / 2e-3, 0.0, "(info)", True))
    for name, added in (("uplink", up - base_up), ("downlink", down - base_down)):
        ok = abs(added - DELAY_S) <= DELAY_TOLERANCE_S
        rows.append((f"median added delay {name} (ms)", added * 1e3, DELAY_S * 1e3, "±0.2 ms of model", ok))
    return rows


SWEEP_PLAN = """
trial: harness timing
dut: {vendor: V, model: M}
cell: {band: n78, center_frequency: 3750 MHz, bandwidth: 100 MHz, scs: 30 kHz,
       tdd_pattern: DDDSU, special_slot: "10:2:2", tx_power: 43 dBm}
steps:
  - name: sweep
    measure: traffic.throughput
    direction: dl
    duration: 5 s
    omit: 0 s
    sweep: {attenuation: {start: 0 dB, stop: 40 dB, step: 2.5 dB}}
"""


def harness_figures() -> list[Row]:
    """A 17-point, 5 s-per-point attenuation sweep through `fivegbench run` on the simulated
    bench: its wall time against 17 x 5 s plus set-up, and the harness's own time per step (from
    one iperf3 exit to the next iperf3 start, read from io.log)."""
    root = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory() as tmp:
        plan = Path(tmp) / "sweep.yaml"
        plan.write_text(SWEEP_PLAN)
        started = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-m", "fivegbench", "run", str(plan), "--results", tmp],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=600,
        )
        wall = time.monotonic() - started
        (run_dir,) = [p for p in Path(tmp).iterdir() if p.is_dir()]
        lines = (run_dir / "io.log").read_text().splitlines()
    if proc.returncode not in (0, 1):
        raise SystemExit(f"the sweep failed (exit {proc.returncode}): {proc.stderr[-500:]}")

    def stamp(line: str) -> float:
        return datetime.strptime(line.split("  ", 1)[0], "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()

    starts: list[float] = []
    ends: list[float] = []  # the exit of each iperf3 test (not of the version queries at connect)
    for line in lines:
        if re.search(r"  traffic  >  .*iperf3 --json", line):
            starts.append(stamp(line))
        elif re.search(r"  traffic  <  exit ", line) and len(ends) < len(starts):
            ends.append(stamp(line))
    gaps = [b - a for a, b in zip(ends, starts[1:], strict=False)]
    tool_s = [b - a for a, b in zip(starts, ends, strict=False)]
    first, last = starts[0], ends[-1]
    setup = wall - (last - first)
    budget = 17 * 5.0
    return [
        (
            "17-point sweep, 5 s each: sweep time (s)",
            last - first,
            budget,
            "<= 1.10 x 17 x 5 s",
            last - first <= 1.1 * budget,
        ),
        ("  set-up and wrap-up around it (s)", setup, float("nan"), "(info)", True),
        (
            "harness time between tool runs, median (ms)",
            1e3 * statistics.median(gaps),
            200.0,
            "< 200 ms",
            statistics.median(gaps) < 0.2,
        ),
        (
            "iperf3's own time beyond -t, median (ms)",
            1e3 * (statistics.median(tool_s) - 5.0),
            float("nan"),
            "(info)",
            True,
        ),
    ]


def main() -> int:
    why = available()
    if why is not None:
        print(why)
        return 2
    rows = emulator_figures() + harness_figures()
    print(f"{'figure':<42} {'ours':>10} {'baseline':>10} {'ratio':>7}  target")
    for name, ours, base, target, ok in rows:
        ratio = ours / base if base == base and base else float("nan")
        print(f"{name:<42} {ours:>10.3f} {base:>10.3f} {ratio:>7.3f}  {target}  {'ok' if ok else 'FAIL'}")
    return 0 if all(row[-1] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
