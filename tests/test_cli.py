"""The command line: validate/show/run on bad input, sim serve, an unreachable bench."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pyvisa
import serial

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "testplans" / "demo.yaml"


def fivegbench(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fivegbench", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


def test_run_with_broken_plan_exits_2_and_touches_nothing(tmp_path):
    plan = tmp_path / "broken.yaml"
    plan.write_text(DEMO.read_text().replace("sweep: {tx_power: [37 dBm", "sweep: {tx_power: [37 dBz", 1))
    results = tmp_path / "results"
    proc = fivegbench("run", str(plan), "--results", str(results))
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert re.match(
        r".*broken\.yaml:\d+:\d+: steps\[0\]\.sweep\.tx_power\[0\]: '37 dBz' is not a power", proc.stderr
    )
    assert not results.exists()


def test_show_prints_the_expanded_steps():
    proc = fivegbench("show", str(DEMO))
    assert proc.returncode == 0, proc.stderr
    assert "8 steps" in proc.stdout and "rf.aclr" in proc.stdout and "46 dBm" in proc.stdout


def test_bad_bench_file_is_one_line(tmp_path):
    bench = tmp_path / "bench.yaml"
    bench.write_text(
        (ROOT / "instruments/benches/sim.yaml").read_text().replace("loss: 40 dB", "loss: 40 dBm")
    )
    proc = fivegbench("validate", str(DEMO), "--bench", str(bench))
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert "bench.yaml:" in proc.stderr and "rf_path.loss" in proc.stderr


def test_sim_serve_lines_are_reachable(tmp_path):
    log = tmp_path / "serve.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "fivegbench", "sim", "serve"], cwd=ROOT, stdout=out)
    try:
        lines: list[str] = []
        deadline = time.monotonic() + 20
        while len(lines) < 3 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
            lines = log.read_text().splitlines()
        assert lines[0].split()[0] == "analyzer", lines  # analyzer first
        resources = dict(line.split() for line in lines)
        assert {"analyzer", "attenuator", "gnb"} <= set(resources)
        analyzer, console = resources["analyzer"], resources["gnb"]
        rm = pyvisa.ResourceManager("@py")
        try:
            inst = rm.open_resource(analyzer, read_termination="\n", write_termination="\n")
            assert inst.query("*IDN?").startswith("Rohde&Schwarz,FSW")
            inst.close()
        finally:
            rm.close()
        with serial.serial_for_url(console, timeout=2) as port:
            port.write(b"\r\n")
            seen = port.read_until(b"login: ")
        assert seen.endswith(b"login: ")
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 0


def test_unreachable_bench_exits_3_with_a_record(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    text = (ROOT / "instruments/benches/sim.yaml").read_text()
    text = text.replace("profile: sim-gnb", f"profile: {ROOT / 'instruments/profiles/sim-gnb.yaml'}")
    text = text.replace("simulated: true", "simulated: false")
    text = text.replace("TCPIP::127.0.0.1::0::SOCKET", f"TCPIP::127.0.0.1::{port}::SOCKET")
    text = text.replace("socket://127.0.0.1:0", f"socket://127.0.0.1:{port}")
    (tmp_path / "secret").write_text("admin\n")
    text = text.replace("password: admin", f"password_file: {tmp_path / 'secret'}")
    bench = tmp_path / "bench.yaml"
    bench.write_text(text)
    results = tmp_path / "results"
    proc = fivegbench("run", str(DEMO), "--bench", str(bench), "--results", str(results))
    assert proc.returncode == 3, proc.stderr
    (run_dir,) = [p for p in results.iterdir() if p.is_dir()]
    record = json.loads((run_dir / "record.json").read_text())
    assert record["status"].startswith("error") and record["counts"] == {"SKIPPED": 8}
    assert (run_dir / "journal.jsonl").read_text() == ""


def _line_of(text: str, marker: str) -> int:
    """The 1-based line of the only ``marker`` in ``text``, found here (not by fivegbench)."""
    assert text.count(marker) == 1, marker
    return text.count("\n", 0, text.index(marker)) + 1


def test_password_smuggling_a_command_is_refused_by_validate(tmp_path):
    text = (ROOT / "instruments/benches/sim.yaml").read_text()
    assert text.count("password: admin,") == 1
    text = text.replace("password: admin,", 'password: "admin\\r\\nrf on",')
    bench = tmp_path / "bench.yaml"
    bench.write_text(text)
    proc = fivegbench("validate", str(DEMO), "--bench", str(bench))
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    line = _line_of(text, "password:")
    assert f"bench.yaml:{line}:" in proc.stderr, proc.stderr
    assert "instruments.gnb.options.password: contains a control character (CR (U+000D)" in proc.stderr
    assert "rf on" not in proc.stderr and "admin" not in proc.stderr


def test_profile_smuggling_a_command_is_refused_by_validate(tmp_path):
    text = (ROOT / "instruments/profiles/sim-gnb.yaml").read_text()
    old = "    NR-FR1-TM1.1: NR-FR1-TM1.1\n"
    assert text.count(old) == 1
    text = text.replace(old, '    NR-FR1-TM1.1: "NR-FR1-TM1.1\\r\\nrf on"\n')
    profile = tmp_path / "evil-gnb.yaml"
    profile.write_text(text)
    bench_text = (ROOT / "instruments/benches/sim.yaml").read_text()
    assert bench_text.count("profile: sim-gnb") == 1
    bench = tmp_path / "bench.yaml"
    bench.write_text(bench_text.replace("profile: sim-gnb", f"profile: {profile}"))
    proc = fivegbench("validate", str(DEMO), "--bench", str(bench))
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    line = _line_of(text, "NR-FR1-TM1.1: ")
    assert proc.stderr.startswith(f"{profile}:{line}:"), proc.stderr
    assert 'limits.test_models["NR-FR1-TM1.1"]: contains a control character (CR (U+000D)' in proc.stderr
    assert "rf on" not in proc.stderr


def test_plan_smuggling_a_command_is_refused_by_validate(tmp_path):
    text = DEMO.read_text()
    assert text.count("  band: n78\n") == 1
    text = text.replace("  band: n78\n", '  band: "n78\\r\\nrf on"\n')
    plan = tmp_path / "plan.yaml"
    plan.write_text(text)
    proc = fivegbench("validate", str(plan))
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    line = _line_of(text, "  band: ")
    assert proc.stderr.startswith(f"{plan}:{line}:3: cell.band: "), proc.stderr
    assert "is not an NR band" in proc.stderr and "\r" not in proc.stderr
