"""The iperf3 and irtt parsers against real outputs recorded on this bench (tests/data/traffic),
and the settings and command lines of both clients.

Expected values are read from the recorded files here with plain ``json``, independently of
the parsers; tests/data/traffic/README.md says how each file was made.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fivegbench.drivers.traffic import iperf3, irtt
from fivegbench.drivers.traffic.iperf3 import Iperf3Settings, parse_iperf3
from fivegbench.drivers.traffic.irtt import IrttSettings, parse_irtt
from fivegbench.errors import InstrumentError

DATA = Path(__file__).resolve().parent.parent / "data" / "traffic"


def load(name: str) -> tuple[str, dict[str, Any]]:
    text = (DATA / name).read_text(encoding="utf-8")
    return text, json.loads(text)


def stream_rtts_ms(side: dict[str, Any], sender: bool) -> list[float]:
    return [s["sender"]["mean_rtt"] / 1000 for s in side["end"]["streams"] if s["sender"]["sender"] is sender]


def receiver_intervals(side: dict[str, Any]) -> list[float]:
    """bit/s of each non-omitted interval that this host received."""
    out = []
    for interval in side["intervals"]:
        sums = [interval[k] for k in ("sum", "sum_bidir_reverse") if k in interval]
        received = [s for s in sums if s["sender"] is False]
        assert len(received) == 1
        if not received[0]["omitted"]:
            out.append(received[0]["bits_per_second"])
    return out


# -- iperf3 ----------------------------------------------------------------------------------


def test_tcp_ul():
    text, raw = load("iperf3_tcp_ul.json")
    result = parse_iperf3(text, "ul")
    end = raw["end"]
    assert (result.protocol, result.direction, result.dl) == ("tcp", "ul", None)
    assert result.ul is not None
    assert result.goodput_bps == end["sum_received"]["bits_per_second"]
    assert result.ul.sent_bps == end["sum_sent"]["bits_per_second"]
    assert result.ul.retransmits == end["sum_sent"]["retransmits"]
    rtts = stream_rtts_ms(raw, sender=True)  # the client sent: its own tcp_info
    assert rtts and result.ul.mean_rtt_ms == pytest.approx(sum(rtts) / len(rtts), rel=1e-12)
    assert result.ul.loss_percent is None and result.ul.jitter_ms is None
    assert result.ul.intervals_at_receiver
    assert list(result.ul.intervals_bps) == receiver_intervals(raw["server_output_json"])
    assert result.host_cpu_percent == end["cpu_utilization_percent"]["host_total"]
    assert result.remote_cpu_percent == end["cpu_utilization_percent"]["remote_total"]
    assert result.cpu_limited is False
    assert result.text == text


def test_tcp_dl_reverse_rtt_comes_from_the_server_and_omitted_intervals_are_dropped():
    text, raw = load("iperf3_tcp_dl_reverse.json")
    result = parse_iperf3(text, "dl")
    assert result.ul is None and result.dl is not None
    assert raw["start"]["test_start"]["reverse"] == 1
    assert result.goodput_bps == raw["end"]["sum_received"]["bits_per_second"]
    assert result.dl.retransmits == raw["end"]["sum_sent"]["retransmits"]
    # in --reverse mode the client's own sender blocks carry zeros, not the server's RTT
    assert all(s["sender"]["mean_rtt"] == 0 for s in raw["end"]["streams"])
    rtts = stream_rtts_ms(raw["server_output_json"], sender=True)
    assert len(rtts) == raw["start"]["test_start"]["num_streams"] == 2
    assert result.dl.mean_rtt_ms == pytest.approx(sum(rtts) / len(rtts), rel=1e-12)
    omitted = [i for i in raw["intervals"] if i["sum"]["omitted"]]
    assert omitted, "the recording was made with -O 1: it must hold omitted intervals"
    expected = receiver_intervals(raw)
    assert len(expected) == len(raw["intervals"]) - len(omitted)
    assert list(result.dl.intervals_bps) == expected
    assert result.dl.intervals_at_receiver
    assert list(result.dl.intervals_s) == [
        i["sum"]["seconds"] for i in raw["intervals"] if not i["sum"]["omitted"]
    ]


def test_udp_ul_with_rate():
    text, raw = load("iperf3_udp_ul.json")
    result = parse_iperf3(text, "ul")
    received = raw["end"]["sum_received"]
    assert result.protocol == "udp" and result.ul is not None
    assert raw["start"]["test_start"]["target_bitrate"] == 20_000_000
    assert result.goodput_bps == received["bits_per_second"]
    assert result.ul.loss_percent == received["lost_percent"]
    assert result.ul.jitter_ms == received["jitter_ms"]
    assert result.ul.retransmits is None and result.ul.mean_rtt_ms is None
    assert list(result.ul.intervals_bps) == receiver_intervals(raw["server_output_json"])


def test_tcp_bidir_has_both_directions_forward_is_ul():
    text, raw = load("iperf3_tcp_bidir.json")
    result = parse_iperf3(text, "bidir")
    end = raw["end"]
    assert result.dl is not None and result.ul is not None
    assert result.flows == (result.dl, result.ul)
    assert result.ul.goodput_bps == end["sum_received"]["bits_per_second"]
    assert result.dl.goodput_bps == end["sum_received_bidir_reverse"]["bits_per_second"]
    assert result.dl.goodput_bps != result.ul.goodput_bps
    assert result.ul.retransmits == end["sum_sent"]["retransmits"]
    assert result.dl.retransmits == end["sum_sent_bidir_reverse"]["retransmits"]
    ul_rtts = stream_rtts_ms(raw, sender=True)  # forward streams: the client sends
    dl_rtts = stream_rtts_ms(raw["server_output_json"], sender=True)  # reverse: the server sends
    assert result.ul.mean_rtt_ms == pytest.approx(sum(ul_rtts) / len(ul_rtts), rel=1e-12)
    assert result.dl.mean_rtt_ms == pytest.approx(sum(dl_rtts) / len(dl_rtts), rel=1e-12)
    assert list(result.dl.intervals_bps) == receiver_intervals(raw)
    assert list(result.ul.intervals_bps) == receiver_intervals(raw["server_output_json"])
    with pytest.raises(ValueError, match="two goodputs"):
        _ = result.goodput_bps


def test_udp_bidir_keeps_each_direction_jitter():
    text, raw = load("iperf3_udp_bidir.json")
    result = parse_iperf3(text, "bidir")
    end = raw["end"]
    assert result.dl is not None and result.ul is not None
    assert result.ul.jitter_ms == end["sum_received"]["jitter_ms"]
    assert result.dl.jitter_ms == end["sum_received_bidir_reverse"]["jitter_ms"]
    assert result.dl.jitter_ms != result.ul.jitter_ms
    assert result.dl.goodput_bps == end["sum_received_bidir_reverse"]["bits_per_second"]


def test_udp_dl_with_real_loss():
    text, raw = load("iperf3_udp_dl_loss.json")
    result = parse_iperf3(text, "dl")
    received, sent = raw["end"]["sum_received"], raw["end"]["sum_sent"]
    assert result.dl is not None
    assert result.dl.loss_percent == received["lost_percent"] > 0
    assert result.goodput_bps == received["bits_per_second"] < sent["bits_per_second"]
    assert list(result.dl.intervals_bps) == receiver_intervals(raw)


def test_udp_sum_only_falls_back_to_rate_times_delivered_fraction():
    text, raw = load("iperf3_udp_dl_loss_sum_only.json")
    assert "sum_received" not in raw["end"] and "sum_sent" not in raw["end"]
    result = parse_iperf3(text, "dl")
    total = raw["end"]["sum"]
    assert result.dl is not None and result.dl.sent_bps is None
    expected = total["bits_per_second"] * (1 - total["lost_percent"] / 100)
    assert result.goodput_bps == pytest.approx(expected, rel=1e-12)
    assert result.dl.loss_percent == total["lost_percent"] > 0
    # the fallback approximates what the receiver counted in the original recording
    _, original = load("iperf3_udp_dl_loss.json")
    assert result.goodput_bps == pytest.approx(original["end"]["sum_received"]["bits_per_second"], rel=0.005)


def test_tcp_ul_with_real_loss_retransmits():
    text, raw = load("iperf3_tcp_ul_loss.json")
    result = parse_iperf3(text, "ul")
    assert result.ul is not None
    assert result.ul.retransmits == raw["end"]["sum_sent"]["retransmits"] > 0
    assert result.goodput_bps == raw["end"]["sum_received"]["bits_per_second"]


def test_text_mode_server_leaves_only_the_senders_intervals():
    text, raw = load("iperf3_tcp_ul_server_text.json")
    assert "server_output_text" in raw and "server_output_json" not in raw
    result = parse_iperf3(text, "ul")
    assert result.ul is not None
    assert result.ul.intervals_at_receiver is False
    assert list(result.ul.intervals_bps) == [i["sum"]["bits_per_second"] for i in raw["intervals"]]
    assert result.goodput_bps == raw["end"]["sum_received"]["bits_per_second"]


def test_error_json_raises_with_iperf3_words():
    text, raw = load("iperf3_error_refused.json")
    with pytest.raises(InstrumentError) as caught:
        parse_iperf3(text, "ul", role="ue-traffic")
    assert caught.value.message == raw["error"] == "unable to connect to server: Connection refused"
    assert (caught.value.role, caught.value.command, caught.value.code) == ("ue-traffic", "iperf3", None)


def test_cpu_limited_when_a_host_is_above_90_percent():
    _, raw = load("iperf3_tcp_ul.json")
    raw["end"]["cpu_utilization_percent"]["remote_total"] = 90.5
    assert parse_iperf3(json.dumps(raw), "ul").cpu_limited is True
    raw["end"]["cpu_utilization_percent"]["remote_total"] = 90.0
    assert parse_iperf3(json.dumps(raw), "ul").cpu_limited is False


@pytest.mark.parametrize(
    ("name", "wrong"),
    [("iperf3_tcp_ul.json", "dl"), ("iperf3_tcp_dl_reverse.json", "ul"), ("iperf3_tcp_bidir.json", "dl")],
)
def test_direction_must_match_the_recording(name, wrong):
    text, _ = load(name)
    with pytest.raises(ValueError, match="recorded as"):
        parse_iperf3(text, wrong)


@pytest.mark.parametrize("text", ["", "Usage: iperf3 [-s|-c host] [options]", "[1, 2]", '{"start": {}}'])
def test_not_iperf3_json_raises_instrument_error(text):
    with pytest.raises(InstrumentError):
        parse_iperf3(text, "ul")


# -- irtt ------------------------------------------------------------------------------------


def test_irtt_loopback():
    text, raw = load("irtt_loopback.json")
    result = parse_irtt(text, one_way_valid=True)
    trips, stats = raw["round_trips"], raw["stats"]
    assert result.rtt_ms.dtype == np.float64
    assert list(result.rtt_ms) == [t["delay"]["rtt"] / 1e6 for t in trips]
    assert result.send_delay_ms is not None and result.receive_delay_ms is not None
    assert list(result.send_delay_ms) == [t["delay"]["send"] / 1e6 for t in trips]
    assert list(result.receive_delay_ms) == [t["delay"]["receive"] / 1e6 for t in trips]
    assert math.isnan(result.ipdv_ms[0])  # no previous packet
    assert list(result.ipdv_ms[1:]) == [t["ipdv"]["rtt"] / 1e6 for t in trips[1:]]
    assert result.packets_sent == stats["packets_sent"] == len(trips) == 50
    assert result.samples == result.packets_received == stats["packets_received"] == 50
    assert result.loss_percent == 0
    assert np.nanmean(result.rtt_ms) == pytest.approx(stats["rtt"]["mean"] / 1e6, rel=1e-3)
    assert result.text == text


def test_irtt_one_way_delays_dropped_without_a_shared_clock():
    text, _ = load("irtt_loopback.json")
    result = parse_irtt(text, one_way_valid=False)
    assert result.send_delay_ms is None and result.receive_delay_ms is None
    assert result.samples == 50


def test_irtt_with_real_loss():
    text, raw = load("irtt_loss.json")
    result = parse_irtt(text, one_way_valid=True)
    stats = raw["stats"]
    lost = stats["packets_sent"] - stats["packets_received"]
    assert lost > 0 and result.loss_percent == stats["packet_loss_percent"] > 0
    assert int(np.isnan(result.rtt_ms).sum()) == lost
    assert result.samples == result.packets_received == stats["packets_received"]
    lost_seqnos = [t["seqno"] for t in raw["round_trips"] if t["lost"] != "false"]
    assert list(np.flatnonzero(np.isnan(result.rtt_ms))) == lost_seqnos
    assert result.upstream_loss_percent == stats["upstream_loss_percent"]
    assert result.downstream_loss_percent == stats["downstream_loss_percent"]
    assert result.duplicate_percent == stats["duplicate_percent"]
    assert result.late_packets_percent == stats["late_packets_percent"]
    assert result.send_delay_ms is not None
    assert all(math.isnan(result.send_delay_ms[s]) for s in lost_seqnos)
    for n in lost_seqnos:  # IPDV needs both this packet and the previous one
        assert math.isnan(result.ipdv_ms[n])
        if n + 1 < len(result.ipdv_ms):
            assert math.isnan(result.ipdv_ms[n + 1])


@pytest.mark.parametrize("text", ["", "Error: no reply from server", '{"stats": {}}'])
def test_not_irtt_json_raises_instrument_error(text):
    with pytest.raises(InstrumentError):
        parse_irtt(text, one_way_valid=False)


# -- settings and command lines ---------------------------------------------------------------


def test_iperf3_command_line_dl_tcp():
    settings = Iperf3Settings("10.45.0.1", duration_s=10, omit_s=2, streams=4)
    assert iperf3.build_args(settings) == [
        "iperf3", "--json", "-c", "10.45.0.1", "-p", "5201", "-t", "10", "-O", "2", "-P", "4",
        "-i", "1", "--connect-timeout", "5000", "--reverse", "--get-server-output",
    ]  # fmt: skip


def test_iperf3_command_line_udp_bidir_rate_length():
    settings = Iperf3Settings(
        "core.lab", 5202, "udp", "bidir", duration_s=5.0, rate_bps=2.5e8, length=1400, interval_s=0.5
    )
    assert settings.duration_s == 5 and isinstance(settings.duration_s, int)
    assert iperf3.build_args(settings, program="/opt/iperf3") == [
        "/opt/iperf3", "--json", "-c", "core.lab", "-p", "5202", "-t", "5", "-O", "0", "-P", "1",
        "-i", "0.5", "--connect-timeout", "5000", "-u", "--bidir", "-b", "250000000", "-l", "1400",
        "--get-server-output",
    ]  # fmt: skip


def test_iperf3_command_line_ul_has_neither_reverse_nor_bidir():
    args = iperf3.build_args(Iperf3Settings("::1", direction="ul"))
    assert "--reverse" not in args and "--bidir" not in args and args[3] == "::1"


@pytest.mark.parametrize(
    "changes",
    [
        {"server": "-oops"},
        {"server": "a host"},
        {"server": "host_name.lab"},
        {"server": "-"},
        {"server": ""},
        {"server": "a" * 64 + ".lab"},
        {"server": "bad-.lab"},
        {"server": "10.0.0.1\n"},
        {"port": 0},
        {"port": 65536},
        {"port": True},
        {"protocol": "sctp"},
        {"direction": "up"},
        {"duration_s": 0},
        {"duration_s": 3601},
        {"duration_s": 2.5},
        {"duration_s": math.nan},
        {"omit_s": -1},
        {"omit_s": 0.5},
        {"streams": 0},
        {"streams": 129},
        {"rate_bps": 0},
        {"rate_bps": 0.4},
        {"rate_bps": math.inf},
        {"length": 0},
        {"length": (1 << 20) + 1},
        {"protocol": "udp", "rate_bps": None},
        {"protocol": "udp", "rate_bps": 1e6, "length": 15},
        {"protocol": "udp", "rate_bps": 1e6, "length": 65508},
        {"interval_s": 0.05},
        {"interval_s": 61},
    ],
)
def test_iperf3_settings_refused_before_anything_runs(changes):
    fields: dict[str, Any] = {"server": "10.45.0.1"} | changes
    with pytest.raises(ValueError):
        Iperf3Settings(**fields)


@pytest.mark.parametrize("server", ["10.45.0.1", "fe80::1%eth0", "core", "core-1.lab.example", "CORE.lab."])
def test_iperf3_settings_accept_addresses_and_hostnames(server):
    assert Iperf3Settings(server).server == server


def test_iperf3_udp_length_limits_are_iperf3s():
    assert Iperf3Settings("h", protocol="udp", rate_bps=1e6, length=16).length == 16
    assert Iperf3Settings("h", protocol="udp", rate_bps=1e6, length=65507).length == 65507
    assert Iperf3Settings("h", length=1 << 20).length == 1 << 20


def test_irtt_command_line():
    settings = IrttSettings("10.45.0.1", interval_s=0.02, duration_s=1)
    assert irtt.build_args(settings) == [
        "irtt", "client", "-o", "-", "-Q", "-d", "1s", "-i", "20ms", "-l", "0",
        "--timeouts=1s,2s,4s", "10.45.0.1:2112",
    ]  # fmt: skip


def test_irtt_command_line_ipv6_fractional_ms_and_length():
    settings = IrttSettings("::1", 2200, interval_s=0.0015, length=1472, duration_s=2.5)
    args = irtt.build_args(settings)
    assert args[5:11] == ["-d", "2500ms", "-i", "1.5ms", "-l", "1472"]
    assert args[-1] == "[::1]:2200"


def test_irtt_one_way_valid():
    assert IrttSettings("h").one_way_valid is False
    assert IrttSettings("h", same_host=True).one_way_valid is True
    assert IrttSettings("h", clock_synchronised=True).one_way_valid is True


@pytest.mark.parametrize(
    "changes",
    [
        {"server": "-d"},
        {"server": "two words"},
        {"port": 0},
        {"interval_s": 0.0009},
        {"interval_s": 20.0, "duration_s": 10.0},
        {"length": -1},
        {"length": 65508},
        {"length": 1.5},
        {"duration_s": 0},
        {"duration_s": 3601},
        {"duration_s": math.nan},
        {"same_host": "yes"},
    ],
)
def test_irtt_settings_refused_before_anything_runs(changes):
    fields: dict[str, Any] = {"server": "10.45.0.1"} | changes
    with pytest.raises(ValueError):
        IrttSettings(**fields)
