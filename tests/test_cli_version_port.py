"""`fivegbench --version`, and `sim serve --port BASE`: fixed ports per simulated instrument."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from contextlib import ExitStack
from importlib.metadata import version
from pathlib import Path

import pyvisa
import serial

ROOT = Path(__file__).resolve().parent.parent


def fivegbench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fivegbench", *args], cwd=ROOT, capture_output=True, text=True, timeout=60
    )


def test_version_prints_the_installed_version():
    proc = fivegbench("--version")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"fivegbench, version {version('fivegbench')}\n"


def _free_block(size: int) -> int:
    """A base port with ``size`` free ports from it (probed; another process may still race)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = probe.getsockname()[1]
        if base + size > 65532:
            continue
        with ExitStack() as stack:
            try:
                for port in range(base, base + size):
                    s = stack.enter_context(socket.socket())
                    s.bind(("127.0.0.1", port))
            except OSError:
                continue
        return base
    raise RuntimeError("no block of free ports")


def _serve(tmp_path: Path, *args: str) -> tuple[subprocess.Popen[bytes], Path]:
    log = tmp_path / "serve.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "fivegbench", "sim", "serve", *args], cwd=ROOT, stdout=out, stderr=out
        )
    return proc, log


def _lines(proc: subprocess.Popen[bytes], log: Path, count: int) -> list[str]:
    deadline = time.monotonic() + 30
    lines: list[str] = []
    while len(lines) < count and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
        lines = log.read_text().splitlines()
    return lines


def test_sim_serve_port_gives_each_instrument_its_documented_port(tmp_path):
    base = _free_block(4)
    proc, log = _serve(tmp_path, "--port", str(base))
    try:
        lines = _lines(proc, log, 4)
        resources = {line.split()[0]: line.split()[1] for line in lines if len(line.split()) == 2}
        # the documented order: analyzer BASE, gnb BASE+1, attenuator BASE+2, ue BASE+3
        assert resources["analyzer"] == f"TCPIP::127.0.0.1::{base}::SOCKET"
        assert resources["gnb"] == f"socket://127.0.0.1:{base + 1}"
        assert resources["attenuator"] == f"TCPIP::127.0.0.1::{base + 2}::SOCKET"
        assert resources["ue"] == f"socket://127.0.0.1:{base + 3}"
        rm = pyvisa.ResourceManager("@py")
        try:
            inst = rm.open_resource(
                f"TCPIP::127.0.0.1::{base}::SOCKET", read_termination="\n", write_termination="\n"
            )
            assert inst.query("*IDN?").startswith("Rohde&Schwarz,FSW")
            inst.close()
        finally:
            rm.close()
        with serial.serial_for_url(f"socket://127.0.0.1:{base + 1}", timeout=5) as port:
            port.write(b"\r\n")
            assert port.read_until(b"login: ").endswith(b"login: ")
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(15) == 0


def test_sim_serve_on_a_port_in_use_is_one_line(tmp_path):
    base = _free_block(4)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", base))
        taken.listen(1)
        proc, log = _serve(tmp_path, "--port", str(base))
        try:
            assert proc.wait(30) == 3
        finally:
            if proc.poll() is None:
                proc.kill()
    text = log.read_text()
    assert text.count("\n") == 1 and "Traceback" not in text, text
    assert text.startswith(f"error: analyzer: cannot listen on 127.0.0.1:{base}: "), text
