"""``fivegbench sim serve`` in a process of its own, and a lab bench file pointing at it: the
simulated bench reached exactly as a lab's instruments are (``simulated: false``)."""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Collection, Iterator
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
SIM_BENCH = ROOT / "instruments/benches/sim.yaml"
SIM_PROFILE = ROOT / "instruments/profiles/sim-gnb.yaml"
#: Time for ``sim serve`` to start and print its resources (imports on a loaded CI machine).
START_TIMEOUT_S = 60.0


@contextlib.contextmanager
def sim_serve(
    bench: Path | None = None,
    roles: Collection[str] = ("analyzer", "gnb", "attenuator"),
    options: Collection[str] = (),
) -> Iterator[dict[str, str]]:
    """Run ``fivegbench sim serve [options]`` (on ``bench``, else the simulated bench) until the
    end of the ``with``; yield role -> resource string for ``roles``, the first ones it prints."""
    command = [sys.executable, "-m", "fivegbench", "sim", "serve", *options]
    if bench is not None:
        command += ["--bench", str(bench)]
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert proc.stdout is not None
        lines = _read_lines(proc.stdout.fileno(), len(roles), START_TIMEOUT_S)
        resources = dict(line.split() for line in lines)
        assert set(resources) == set(roles), resources
        yield resources
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def _read_lines(fd: int, count: int, timeout: float) -> list[str]:
    """The first ``count`` lines written to ``fd``, within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    data = b""
    while data.count(b"\n") < count:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
            raise AssertionError(f"sim serve printed only {data!r} within {timeout:g} s")
        chunk = os.read(fd, 4096)
        if not chunk:
            raise AssertionError(f"sim serve exited after printing {data!r}")
        data += chunk
    return data.decode("utf-8").splitlines()[:count]


def write_bench(tmp_path: Path, resources: dict[str, str], profile: Path = SIM_PROFILE, **options) -> Path:
    """The simulated bench as a lab bench: ``simulated: false`` and the running servers' resources."""
    bench = yaml.safe_load(SIM_BENCH.read_text())
    bench["simulated"] = False
    for role, resource in resources.items():
        bench["instruments"][role]["resource"] = resource
    for role in [r for r, c in bench["instruments"].items() if r not in resources and ":0" in c["resource"]]:
        del bench["instruments"][role]  # not served: a lab bench has no port 0
    bench["instruments"]["gnb"]["profile"] = str(profile)
    gnb_options = bench["instruments"]["gnb"]["options"]
    if "password" not in options:  # a lab bench keeps its password out of the bench file
        secret = tmp_path / "gnb-password"
        secret.write_text(gnb_options["password"] + "\n")
        del gnb_options["password"]
        gnb_options["password_file"] = str(secret)
    gnb_options.update(options)
    path = tmp_path / "bench.yaml"
    path.write_text(yaml.safe_dump(bench, sort_keys=False))
    return path
