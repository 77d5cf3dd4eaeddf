"""The traffic subprocess seam with real processes: run_tool, LocalServer, and the real iperf3
and irtt programs on 127.0.0.1 (and in a network namespace of our own, as root).

Every test is bounded in time (each run has a timeout of a few seconds) and leaves no process
or namespace behind: servers are stopped by their ``with`` block and the namespace fixture
deletes what it created.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fivegbench.drivers.traffic import Iperf3, Iperf3Settings, Irtt, IrttSettings, LocalServer, run_tool
from fivegbench.errors import InstrumentError
from fivegbench.transport.base import IoLog

STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z"

needs_iperf3 = pytest.mark.skipif(shutil.which("iperf3") is None, reason="iperf3 is not installed")
needs_irtt = pytest.mark.skipif(shutil.which("irtt") is None, reason="irtt is not installed")


@pytest.fixture
def iolog(tmp_path: Path) -> Iterator[IoLog]:
    log = IoLog(tmp_path / "io.log")
    yield log
    log.close()


def io_lines(log: IoLog) -> list[str]:
    assert log.path is not None
    return log.path.read_text(encoding="utf-8").splitlines()


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A port the kernel just handed out on 127.0.0.1 and that is free again."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def alive(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_gone(pid: int, within_s: float = 3.0) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.02)
    return not alive(pid)


# -- run_tool --------------------------------------------------------------------------------


def test_missing_program_names_it(iolog):
    with pytest.raises(InstrumentError) as caught:
        run_tool(["fivegbench-no-such-tool", "-x"], "traffic", iolog, timeout_s=5)
    error = caught.value
    assert error.command == "fivegbench-no-such-tool"
    assert error.message == "program not found: fivegbench-no-such-tool"
    assert error.code is None and error.__cause__ is None and error.__suppress_context__
    lines = io_lines(iolog)
    assert re.fullmatch(rf"{STAMP}  traffic  >  fivegbench-no-such-tool -x", lines[0])
    assert re.fullmatch(rf"{STAMP}  traffic  <  program not found: fivegbench-no-such-tool", lines[1])
    assert len(lines) == 2


def test_io_log_has_the_command_line_as_sent_and_the_exit_status(iolog):
    done = run_tool(["sh", "-c", "echo hello; echo note >&2"], "traffic", iolog, timeout_s=5)
    assert done.args == ("sh", "-c", "echo hello; echo note >&2")
    assert (done.returncode, done.stdout, done.stderr) == (0, "hello\n", "note\n")
    assert 0 <= done.seconds < 5
    lines = io_lines(iolog)
    assert len(lines) == 2
    assert re.fullmatch(rf"{STAMP}  traffic  >  sh -c 'echo hello; echo note >&2'", lines[0])
    assert re.fullmatch(rf"{STAMP}  traffic  <  exit 0 after \d+\.\d s", lines[1])


def test_no_shell_is_involved(iolog, tmp_path):
    marker = tmp_path / "marker"
    done = run_tool(["echo", f"$(touch {marker})", ";", "touch", str(marker)], "traffic", iolog, timeout_s=5)
    assert done.stdout == f"$(touch {marker}) ; touch {marker}\n"
    assert not marker.exists()


def test_nonzero_exit_gives_the_tools_first_stderr_line(iolog):
    script = "echo usage text; echo 'first: the real problem' >&2; echo second >&2; exit 3"
    with pytest.raises(InstrumentError) as caught:
        run_tool(["sh", "-c", script], "ue", iolog, timeout_s=5)
    assert (caught.value.role, caught.value.command) == ("ue", "sh")
    assert caught.value.message == "first: the real problem"
    assert re.fullmatch(
        rf"{STAMP}  ue  <  exit 3 after \d+\.\d s: first: the real problem", io_lines(iolog)[-1]
    )


def test_nonzero_exit_prefers_a_json_error_field(iolog):
    script = 'echo \'{"start": {}, "error": "unable to connect to server: No route to host"}\'; exit 1'
    with pytest.raises(InstrumentError, match="No route to host") as caught:
        run_tool(["sh", "-c", script], "traffic", iolog, timeout_s=5)
    assert caught.value.message == "unable to connect to server: No route to host"


def test_crash_by_signal(iolog):
    with pytest.raises(InstrumentError) as caught:
        run_tool(["sh", "-c", "echo dying >&2; kill -SEGV $$"], "traffic", iolog, timeout_s=5)
    assert caught.value.message == "killed by SIGSEGV: dying"
    assert "killed by SIGSEGV: dying after" in io_lines(iolog)[-1]


def test_timeout_kills_the_whole_process_group(iolog, tmp_path):
    pids = tmp_path / "pids"
    script = f"sleep 30 & echo $$ $! > {pids}; wait"
    started = time.monotonic()
    with pytest.raises(InstrumentError) as caught:
        run_tool(["sh", "-c", script], "traffic", iolog, timeout_s=0.5)
    assert time.monotonic() - started < 5
    assert caught.value.message == "no result within 0.5 s"
    shell, child = (int(p) for p in pids.read_text().split())
    assert wait_gone(shell) and wait_gone(child)  # the backgrounded sleep went with the group
    assert io_lines(iolog)[-1].endswith("  traffic  <  no result within 0.5 s; killed")


@pytest.mark.parametrize("bad", [{"args": []}, {"args": ["sh", ""]}, {"timeout_s": 0}, {"netns": "-x"}])
def test_malformed_calls_are_refused_with_nothing_run(iolog, bad):
    call = {"args": ["true"], "timeout_s": 5.0, "netns": None} | bad
    with pytest.raises(ValueError):
        run_tool(call["args"], "traffic", iolog, call["timeout_s"], call["netns"])
    assert io_lines(iolog) == []


# -- the real tools --------------------------------------------------------------------------


@needs_iperf3
def test_iperf3_error_is_caught_although_iperf3_exits_0(iolog):
    port = free_port()  # nothing listens there
    client = Iperf3(iolog, role="ue-traffic")
    with pytest.raises(InstrumentError) as caught:
        client.run(Iperf3Settings("127.0.0.1", port, direction="ul", duration_s=1))
    assert caught.value.message == "unable to connect to server: Connection refused"
    lines = io_lines(iolog)
    assert re.search(r"  ue-traffic  <  exit 0 after \d+\.\d s$", lines[-2])  # iperf3 3.12 says 0
    assert lines[-1].endswith("  ue-traffic  <  error: unable to connect to server: Connection refused")


@needs_iperf3
def test_iperf3_own_words_on_a_parameter_error(iolog):
    args = ["iperf3", "--json", "-c", "127.0.0.1", "-u", "-l", "10"]
    with pytest.raises(InstrumentError) as caught:
        run_tool(args, "traffic", iolog, timeout_s=5)
    assert caught.value.command == "iperf3"
    assert caught.value.message.startswith("iperf3: parameter error - block size invalid")


@needs_iperf3
def test_local_iperf3_server_and_a_real_client_run(iolog):
    port = free_port()
    with LocalServer("iperf3", iolog, "127.0.0.1", port) as server:
        pid = server.pid
        assert pid is not None and alive(pid)
        result = Iperf3(iolog).run(Iperf3Settings("127.0.0.1", port, direction="ul", duration_s=1))
        assert result.goodput_bps > 0
        assert result.ul is not None and result.ul.intervals_at_receiver  # the server speaks JSON
        again = Iperf3(iolog).run(
            Iperf3Settings("127.0.0.1", port, "udp", "dl", duration_s=1, rate_bps=5e6, length=1200)
        )
        assert again.dl is not None and again.dl.goodput_bps > 0 and again.dl.loss_percent is not None
    assert wait_gone(pid)
    text = "\n".join(io_lines(iolog))
    assert f"traffic-server  >  iperf3 -s --json -i 0.1 -B 127.0.0.1 -p {port}" in text
    assert f"traffic-server  <  listening on 127.0.0.1:{port} (pid {pid})" in text
    assert f"traffic-server  >  stop pid {pid} (SIGTERM)" in text
    assert re.search(r"traffic-server  <  stopped \(exit -?\d+\)", text)


@needs_iperf3
def test_server_is_gone_when_the_body_raises(iolog):
    port = free_port()
    pid = None
    with (
        pytest.raises(RuntimeError, match="body failed"),
        LocalServer("iperf3", iolog, "127.0.0.1", port) as server,
    ):
        pid = server.pid
        raise RuntimeError("body failed")
    assert pid is not None and wait_gone(pid)
    with socket.socket() as s:  # the port is free again
        s.bind(("127.0.0.1", port))


@needs_iperf3
def test_server_that_cannot_start_reports_its_own_words(iolog):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = LocalServer("iperf3", iolog, "127.0.0.1", port)
        with pytest.raises(InstrumentError, match="Address already in use"):
            server.start()
    assert server.pid is None
    assert "before listening" in io_lines(iolog)[-1]


@needs_irtt
def test_local_irtt_server_and_a_real_client_run(iolog):
    port = free_port(socket.SOCK_DGRAM)
    with LocalServer("irtt", iolog, "127.0.0.1", port) as server:
        pid = server.pid
        assert pid is not None
        settings = IrttSettings("127.0.0.1", port, interval_s=0.01, duration_s=0.3, same_host=True)
        result = Irtt(iolog).run(settings)
    assert wait_gone(pid)
    assert result.samples > 0 and result.packets_sent >= result.samples
    assert result.send_delay_ms is not None and result.receive_delay_ms is not None
    assert any(f"traffic-server  >  irtt server -b 127.0.0.1:{port} -i 0" in line for line in io_lines(iolog))


@needs_irtt
def test_irtt_own_words_when_nothing_listens(iolog):
    port = free_port(socket.SOCK_DGRAM)
    with pytest.raises(InstrumentError) as caught:
        Irtt(iolog).run(IrttSettings("127.0.0.1", port, duration_s=1, interval_s=0.1))
    assert caught.value.command == "irtt"
    assert caught.value.message.startswith("Error: ") and "connection refused" in caught.value.message


# -- in a network namespace of our own ----------------------------------------------------------


@pytest.fixture
def netns() -> Iterator[str]:
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("network namespaces need root and iproute2")
    name = f"fgbtr-test-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", name], check=True, timeout=10)
    try:
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True, timeout=10)
        yield name
    finally:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            for pid in subprocess.run(
                ["ip", "netns", "pids", name], capture_output=True, text=True, timeout=10
            ).stdout.split():
                os.kill(int(pid), 9)  # only what this test started can be in a namespace it made
        subprocess.run(["ip", "netns", "del", name], check=True, timeout=10)


@needs_iperf3
def test_server_and_client_inside_a_network_namespace(iolog, netns):
    port = 5201  # a fresh namespace: nothing else can hold it
    with LocalServer("iperf3", iolog, "127.0.0.1", port, netns=netns) as server:
        pid = server.pid
        assert pid is not None
        result = Iperf3(iolog, netns=netns).run(
            Iperf3Settings("127.0.0.1", port, direction="ul", duration_s=1)
        )
        assert result.goodput_bps > 0
    assert wait_gone(pid)
    assert subprocess.run(["ip", "netns", "pids", netns], capture_output=True, text=True).stdout == ""
    text = "\n".join(io_lines(iolog))
    assert f"traffic-server  >  ip netns exec {netns} iperf3 -s --json -i 0.1 -B 127.0.0.1 -p 5201" in text
    assert f"traffic  >  ip netns exec {netns} iperf3 --json -c 127.0.0.1 -p 5201" in text


def test_missing_program_inside_a_network_namespace(iolog, netns):
    with pytest.raises(InstrumentError) as caught:
        run_tool(["fivegbench-no-such-tool"], "traffic", iolog, timeout_s=5, netns=netns)
    assert caught.value.command == "fivegbench-no-such-tool"
    assert "fivegbench-no-such-tool" in caught.value.message
