"""A persistent iperf3 server closes and reopens its listener after each test (esnet/iperf PR
#2066): a client arriving in that moment is refused or reset before its test starts. The driver
tries such a test again; any other failure is reported at once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fivegbench.drivers.traffic import iperf3
from fivegbench.drivers.traffic.iperf3 import Iperf3, Iperf3Settings
from fivegbench.drivers.traffic.process import Completed
from fivegbench.errors import InstrumentError
from fivegbench.transport.base import IoLog

DATA = Path(__file__).resolve().parent.parent / "data" / "traffic"
REFUSED = (DATA / "iperf3_error_refused.json").read_text()  # recorded on this machine
RESET = json.dumps(
    {
        "start": {},
        "intervals": [],
        "end": {},
        "error": "unable to receive control message: Connection reset by peer",
    }
)
GOOD = (DATA / "iperf3_tcp_ul.json").read_text()


@pytest.fixture
def replies(monkeypatch, tmp_path):
    """Make the iperf3 client print the given outputs, one per run; return the runs made."""
    runs: list[list[str]] = []

    def install(*outputs: str) -> list[list[str]]:
        queue = list(outputs)

        def fake_run_tool(args, role, iolog, timeout_s, netns=None):
            runs.append(list(args))
            return Completed(tuple(args), 0, queue.pop(0), "", 0.1)

        monkeypatch.setattr(iperf3, "run_tool", fake_run_tool)
        monkeypatch.setattr(iperf3, "STARTUP_RETRY_PAUSE_S", 0.0)
        return runs

    return install


@pytest.fixture
def client(tmp_path):
    iolog = IoLog(tmp_path / "io.log")
    yield Iperf3(iolog)
    iolog.close()


def test_a_test_refused_before_it_started_is_tried_again(replies, client, tmp_path):
    runs = replies(REFUSED, RESET, GOOD)
    result = client.run(Iperf3Settings(server="10.45.0.1", direction="ul"))
    assert len(runs) == 3 and runs[0] == runs[2]
    assert result.ul is not None and result.ul.goodput_bps > 0
    log = (tmp_path / "io.log").read_text()
    assert log.count("error: unable to connect to server: Connection refused") == 1
    assert log.count("error: unable to receive control message: Connection reset by peer") == 1


def test_a_server_that_stays_away_is_reported_after_the_retries(replies, client, tmp_path):
    runs = replies(REFUSED, REFUSED, REFUSED, GOOD)
    with pytest.raises(InstrumentError, match="unable to connect to server: Connection refused"):
        client.run(Iperf3Settings(server="10.45.0.1", direction="ul"))
    assert len(runs) == 3  # one try and two retries


def test_a_failure_after_the_test_started_is_not_retried(replies, client, tmp_path):
    started = json.loads(GOOD)
    started["error"] = "unable to receive control message: Connection reset by peer"
    runs = replies(json.dumps(started), GOOD)
    with pytest.raises(InstrumentError, match="Connection reset by peer"):
        client.run(Iperf3Settings(server="10.45.0.1", direction="ul"))
    assert len(runs) == 1
