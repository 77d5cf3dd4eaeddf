"""I/O and runner performance, measured as ratios against baselines in the same run.

    .venv/bin/python benchmarks/io.py        (or: make bench)

Prints a table: figure, ours, baseline, ratio, target. Exits 1 if a target is missed.
Targets (issue #2):
  *IDN? through the driver vs bare pyvisa inst.query on the same server     ratio <= 1.5
  three writes + *OPC? through the driver (the Nagle pattern)                median <= 0.5 ms
  100,001-point REAL,32 trace through the driver vs a raw socket             >= 30 % of raw throughput
  runner overhead per step, no-op measurement, 10,000-point sweep            < 1 ms per point, memory flat
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyvisa
from timing import Row, paired_medians, report

from fivegbench.bench import Instruments, load_bench
from fivegbench.drivers.analyzer.rs_fsw import RsFsw
from fivegbench.measure.base import Outcome
from fivegbench.plan.expand import expand
from fivegbench.plan.load import parse_plan
from fivegbench.record import Value
from fivegbench.runner import RunContext, execute
from fivegbench.transport.base import IoLog
from fivegbench.transport.visa import VisaTransport

ROOT = Path(__file__).resolve().parent.parent
TRACE_POINTS = 100001


def raw_block_query(sock: socket.socket, command: bytes) -> bytes:
    sock.sendall(command + b"\n")
    buffer = bytearray()
    while len(buffer) < 2:
        buffer += sock.recv(65536)
    digits = int(buffer[1:2], 16)
    while len(buffer) < 2 + digits:
        buffer += sock.recv(65536)
    length = int(buffer[2 : 2 + digits])
    total = 2 + digits + length + 1
    while len(buffer) < total:
        buffer += sock.recv(1 << 20)
    return bytes(buffer[2 + digits : total - 1])


@contextmanager
def served_analyzer() -> Iterator[tuple[str, int]]:
    """``fivegbench sim serve`` in its own process, as an instrument is its own machine (and so
    the simulator does not share our GIL). Yields the analyzer's resource string and port."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "fivegbench", "sim", "serve"], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        role, resource = line.split()
        if role != "analyzer":
            raise RuntimeError(f"unexpected first line from sim serve: {line!r}")
        yield resource, int(resource.split("::")[2])
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(10)


def io_figures(tmp: Path) -> list[Row]:
    rows = []
    rm = pyvisa.ResourceManager("@py")
    iolog = IoLog(tmp / "io.log")
    with served_analyzer() as (resource, port):
        transport = VisaTransport(resource, "analyzer", rm, iolog)
        transport.open()
        fsw = RsFsw(transport)
        bare = rm.open_resource(resource, read_termination="\n", write_termination="\n")
        bare_socket = rm.visalib.sessions[bare.session].interface
        bare_socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        for _ in range(50):  # warm up both paths
            fsw.idn()
            bare.query("*IDN?")
        ours, base = paired_medians(fsw.idn, lambda: bare.query("*IDN?"), 2000)
        rows.append(
            ("*IDN? driver vs bare pyvisa (ms)", ours * 1e3, base * 1e3, "ratio <= 1.5", ours / base <= 1.5)
        )

        def three_writes_and_opc(target: Any) -> Callable[[], object]:
            def run() -> object:
                target.write("FREQ:CENT 3.75 GHz")
                target.write("FREQ:SPAN 200 MHz")
                target.write("BAND 100 kHz")
                return target.query("*OPC?")

            return run

        opc, opc_bare = paired_medians(three_writes_and_opc(transport), three_writes_and_opc(bare), 500)
        rows.append(("3 writes + *OPC? median (ms)", opc * 1e3, opc_bare * 1e3, "<= 0.5 ms", opc <= 0.5e-3))

        fsw.prepare()
        fsw.center_frequency = 3.75e9
        fsw.span = 500e6
        fsw.sweep_points = TRACE_POINTS
        fsw.rbw = 1e6
        fsw.single_sweep(fsw.sweep_time)
        nbytes = TRACE_POINTS * 4
        with socket.create_connection(("127.0.0.1", port)) as raw:
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            payload = raw_block_query(raw, b"TRAC:DATA? TRACE1")
            if len(payload) != nbytes or b"\n" not in payload:  # random floats contain LF bytes
                raise RuntimeError("unexpected trace payload")
            ours, base = paired_medians(fsw.trace_dbm, lambda: raw_block_query(raw, b"TRAC:DATA? TRACE1"), 60)
        ours_mbs, base_mbs = nbytes / ours / 1e6, nbytes / base / 1e6
        rows.append(
            (
                "100,001-pt REAL,32 trace (MB/s)",
                ours_mbs,
                base_mbs,
                ">= 30 % of raw",
                ours_mbs >= 0.3 * base_mbs,
            )
        )
        bare.close()
        transport.close()
    iolog.close()
    rm.close()
    return rows


NOOP_PLAN = """
trial: runner overhead benchmark
dut: {{vendor: X, model: Y, serial: Z, firmware: "1", rated_output_power: 46 dBm,
      bs_class: wide_area, category: A}}
cell: {{band: n78, center_frequency: 3750 MHz, bandwidth: 100 MHz, scs: 30 kHz, tx_power: 30 dBm}}
steps:
  - name: no-op
    measure: rf.power
    sweep: {{rbw: {{start: 1 kHz, stop: {points} kHz, step: 1 kHz}}}}
    limits: {{channel_power: {{min: -10 dBm, max: 10 dBm}}}}
"""


def noop(ctx: object, step: object) -> Outcome:
    return Outcome(values={"channel_power": Value(0.0, "dBm")})


class NoInstruments:
    def __init__(self, *args: object) -> None:
        pass

    def __enter__(self) -> Instruments:
        return Instruments()

    def __exit__(self, *exc: object) -> None:
        pass


def run_noop(tmp: Path, points: int, trace_memory: bool) -> tuple[float, int]:
    """Seconds per point of a no-op run, or (with ``trace_memory``) the peak bytes it allocates.
    Traced from after expansion: what the run allocates must not grow with the sweep."""
    bench = load_bench(ROOT / "instruments/benches/sim.yaml")
    loaded = parse_plan(NOOP_PLAN.format(points=points), file="noop.yaml")
    steps = expand(loaded)
    run_dir = Path(tempfile.mkdtemp(dir=tmp))
    (run_dir / "captures").mkdir()
    ctx = RunContext(loaded, steps, bench, run_dir, measurements={"rf.power": noop}, connector=NoInstruments)
    if trace_memory:
        tracemalloc.start()
    start = time.perf_counter()
    execute(ctx)
    elapsed = time.perf_counter() - start
    peak = 0
    if trace_memory:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return elapsed / points, peak


def runner_figures(tmp: Path) -> list[Row]:
    per_point, _ = run_noop(tmp, 10000, trace_memory=False)
    _, peak_1k = run_noop(tmp, 1000, trace_memory=True)
    _, peak_10k = run_noop(tmp, 10000, trace_memory=True)
    return [
        ("runner per point, 10,000-pt no-op (ms)", per_point * 1e3, float("nan"), "< 1 ms", per_point < 1e-3),
        (
            "run peak memory, 10k vs 1k points (MB)",
            peak_10k / 1e6,
            peak_1k / 1e6,
            "flat: ratio < 2",
            peak_10k < 2 * peak_1k,
        ),
    ]


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        rows = io_figures(Path(tmp)) + runner_figures(Path(tmp))
    return report(rows)


if __name__ == "__main__":
    sys.exit(main())
