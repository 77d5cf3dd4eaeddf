"""iperf3 as a traffic endpoint: settings, the command line, and a pure parser of ``--json``.

Direction is seen from the UE: the client runs on the UE side, so

* ``ul`` is iperf3's normal mode (the client sends),
* ``dl`` is ``--reverse`` (the server sends, the client receives),
* ``bidir`` is ``--bidir``: the *forward* channel (client -> server) is UL and the
  ``*_bidir_reverse`` channel (server -> client) is DL.

Goodput is what the receiver counted: ``end.sum_received.bits_per_second`` (per channel). A UDP
result from a build that has only ``end.sum`` gives ``sum.bits_per_second`` (the sender's rate)
times ``1 - lost_percent/100``. The per-interval series are taken at the receiver: the client's
intervals for DL, the server's (``server_output_json``, present when the server runs with
``--json`` and the client asks ``--get-server-output``) for UL; without them the client's own
(sender-side) intervals are used and :attr:`Iperf3Flow.intervals_at_receiver` says so. The
mean RTT is the sender's (TCP ``tcp_info``), so for DL it comes from the server's output too.

iperf3 3.12 exits 0 when ``--json`` reports an error (``"error": "unable to connect to server:
Connection refused"``): the parser, not the exit status, catches that.
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from fivegbench.drivers.traffic.process import check_host, check_port, run_tool
from fivegbench.errors import InstrumentError
from fivegbench.transport.base import RECEIVED, IoLog

log = logging.getLogger(__name__)

Protocol = Literal["tcp", "udp"]
Direction = Literal["dl", "ul", "bidir"]
FlowDirection = Literal["dl", "ul"]

#: Seconds allowed beyond the test's duration and omit period (connect, result exchange).
RUN_MARGIN_S = 10
#: Control-connection setup limit passed to iperf3 (``--connect-timeout``), ms.
CONNECT_TIMEOUT_MS = 5000
#: Longest test, s.
MAX_DURATION_S = 3600
#: iperf3's own limits: parallel streams, UDP datagram payload and TCP buffer length, bytes.
MAX_STREAMS = 128
UDP_LENGTH = (16, 65507)
TCP_LENGTH = (1, 1 << 20)
#: iperf3's reporting interval limits, s.
INTERVAL_S = (0.1, 60.0)
#: Above this CPU load (%) on either host, the host rather than the link may be the bottleneck.
CPU_LIMIT_PERCENT = 90.0


def _whole_seconds(value: float, what: str, low: int, high: int) -> int:
    """iperf3 reads ``-t`` and ``-O`` with atoi: a fraction would be silently dropped."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{what} must be a whole number of seconds, not {value!r}")
    if value != int(value):
        raise ValueError(f"{what} must be a whole number of seconds (iperf3 truncates), not {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{what} must be in {low}..{high} s, not {value!r}")
    return int(value)


@dataclass(frozen=True)
class Iperf3Settings:
    """One iperf3 client run; validated on construction (ValueError, before anything runs)."""

    server: str
    """The iperf3 server: an IP address or a hostname."""
    port: int = 5201
    """The server's port, 1..65535."""
    protocol: Protocol = "tcp"
    """``tcp`` or ``udp``."""
    direction: Direction = "dl"
    """``dl`` (``--reverse``: the UE-side client receives), ``ul`` or ``bidir``."""
    duration_s: int = 10
    """Measured duration, whole seconds, 1..3600 (``-t``)."""
    omit_s: int = 0
    """Warm-up omitted from the results, whole seconds, >= 0 (``-O``)."""
    streams: int = 1
    """Parallel streams, 1..128 (``-P``)."""
    rate_bps: float | None = None
    """Target rate per stream, bit/s, >= 1 (``-b``); required for UDP (iperf3's default 1 Mbit/s
    says nothing about a 5G link), optional cap for TCP."""
    length: int | None = None
    """Buffer (TCP) or datagram payload (UDP) length, bytes (``-l``): 16..65507 for UDP,
    1..1048576 for TCP; None keeps iperf3's default."""
    interval_s: float = 1.0
    """Reporting interval of the per-interval series, s, 0.1..60 (``-i``)."""
    window_bytes: int | None = None
    """Socket buffer size, bytes, 4096..268435456 (``-w``; the kernel may cap it); a UDP
    receiver at a high rate drops datagrams when its buffer is small."""

    def __post_init__(self) -> None:
        check_host(self.server)
        check_port(self.port)
        if self.window_bytes is not None and (
            isinstance(self.window_bytes, bool)
            or not isinstance(self.window_bytes, int)
            or not 4096 <= self.window_bytes <= 268435456
        ):
            raise ValueError(f"window must be 4096..268435456 bytes, not {self.window_bytes!r}")
        if self.protocol not in ("tcp", "udp"):
            raise ValueError(f"protocol must be 'tcp' or 'udp', not {self.protocol!r}")
        if self.direction not in ("dl", "ul", "bidir"):
            raise ValueError(f"direction must be 'dl', 'ul' or 'bidir', not {self.direction!r}")
        object.__setattr__(self, "duration_s", _whole_seconds(self.duration_s, "duration", 1, MAX_DURATION_S))
        object.__setattr__(self, "omit_s", _whole_seconds(self.omit_s, "omit", 0, MAX_DURATION_S))
        if isinstance(self.streams, bool) or not isinstance(self.streams, int):
            raise ValueError(f"streams must be an integer, not {self.streams!r}")
        if not 1 <= self.streams <= MAX_STREAMS:
            raise ValueError(f"streams must be in 1..{MAX_STREAMS}, not {self.streams}")
        if self.rate_bps is None:
            if self.protocol == "udp":
                raise ValueError("UDP needs an explicit rate_bps (iperf3's default is 1 Mbit/s)")
        elif (
            isinstance(self.rate_bps, bool)
            or not isinstance(self.rate_bps, int | float)
            or not math.isfinite(self.rate_bps)
            or self.rate_bps < 1
        ):
            raise ValueError(f"rate must be at least 1 bit/s, not {self.rate_bps!r}")
        if self.length is not None:
            low, high = UDP_LENGTH if self.protocol == "udp" else TCP_LENGTH
            if isinstance(self.length, bool) or not isinstance(self.length, int):
                raise ValueError(f"length must be an integer number of bytes, not {self.length!r}")
            if not low <= self.length <= high:
                raise ValueError(
                    f"{self.protocol.upper()} length must be in {low}..{high} bytes, not {self.length}"
                )
        interval = self.interval_s
        if (
            isinstance(interval, bool)
            or not isinstance(interval, int | float)
            or not INTERVAL_S[0] <= interval <= INTERVAL_S[1]
        ):
            raise ValueError(f"interval must be in {INTERVAL_S[0]:g}..{INTERVAL_S[1]:g} s, not {interval!r}")


def build_args(settings: Iperf3Settings, program: str = "iperf3") -> list[str]:
    """The client's command line for ``settings``: JSON output, server output fetched back."""
    args = [
        program,
        "--json",
        "-c",
        settings.server,
        "-p",
        str(settings.port),
        "-t",
        str(settings.duration_s),
        "-O",
        str(settings.omit_s),
        "-P",
        str(settings.streams),
        "-i",
        f"{settings.interval_s:g}",
        "--connect-timeout",
        str(CONNECT_TIMEOUT_MS),
    ]
    if settings.protocol == "udp":
        args.append("-u")
    if settings.direction == "dl":
        args.append("--reverse")
    elif settings.direction == "bidir":
        args.append("--bidir")
    if settings.rate_bps is not None:
        args += ["-b", str(round(settings.rate_bps))]
    if settings.length is not None:
        args += ["-l", str(settings.length)]
    if settings.window_bytes is not None:
        args += ["-w", str(settings.window_bytes)]
    args.append("--get-server-output")
    return args


@dataclass(frozen=True, eq=False)
class Iperf3Flow:
    """One direction of an iperf3 test."""

    direction: FlowDirection
    """``dl`` (server -> UE-side client) or ``ul``."""
    goodput_bps: float
    """What the receiver got, bit/s."""
    sent_bps: float | None
    """What the sender sent, bit/s (None when the output has no ``sum_sent``)."""
    retransmits: int | None
    """TCP segments retransmitted by the sender (None for UDP)."""
    mean_rtt_ms: float | None
    """The sender's smoothed RTT averaged over its streams, ms (TCP; None for UDP, or for DL
    when the server's JSON output is not available)."""
    loss_percent: float | None
    """UDP datagrams lost, % (None for TCP)."""
    jitter_ms: float | None
    """UDP jitter (RFC 3550 smoothed IPDV) at the receiver, ms (None for TCP)."""
    intervals_bps: npt.NDArray[np.float64]
    """Goodput per reporting interval, bit/s, omitted (warm-up) intervals excluded."""
    intervals_s: npt.NDArray[np.float64]
    """Length of each of those intervals, s: the reporting interval, except a last, partial one
    (the server reports at its own interval, 1 s unless it was started with ``-i``)."""
    intervals_at_receiver: bool
    """True when :attr:`intervals_bps` was counted by the receiver, False when only the
    sender's count was available (UL without the server's JSON)."""


@dataclass(frozen=True, eq=False)
class Iperf3Result:
    """A parsed iperf3 ``--json`` result."""

    protocol: Protocol
    direction: Direction
    dl: Iperf3Flow | None
    """The downlink flow (``dl`` and ``bidir`` tests)."""
    ul: Iperf3Flow | None
    """The uplink flow (``ul`` and ``bidir`` tests)."""
    host_cpu_percent: float
    """CPU load of the client host during the test, %."""
    remote_cpu_percent: float
    """CPU load of the server host during the test, %."""
    cpu_limited: bool
    """Either host was above 90 % CPU: the result may measure the host, not the link."""
    text: str
    """The tool's JSON, verbatim."""

    @property
    def flows(self) -> tuple[Iperf3Flow, ...]:
        """The flows measured: one, or DL then UL for ``bidir``."""
        return tuple(flow for flow in (self.dl, self.ul) if flow is not None)

    @property
    def goodput_bps(self) -> float:
        """The goodput of a one-direction test, bit/s; ValueError for ``bidir`` (use dl/ul)."""
        flows = self.flows
        if len(flows) != 1:
            raise ValueError("a bidir result has two goodputs: read .dl and .ul")
        return flows[0].goodput_bps


def _bad(role: str, message: str) -> InstrumentError:
    return InstrumentError(role, "iperf3", None, message)


def _obj(parent: Any, key: str, where: str, role: str) -> dict[str, Any]:
    value = parent.get(key) if isinstance(parent, dict) else None
    if not isinstance(value, dict):
        raise _bad(role, f"iperf3 JSON has no object {where}{key}")
    return value


def _num(parent: dict[str, Any], key: str, where: str, role: str) -> float:
    value = parent.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _bad(role, f"iperf3 JSON has no number {where}{key}")
    return float(value)


def _interval_series(
    side: dict[str, Any], receiver: bool
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Per-interval bit/s and interval lengths (s) from one host's output: the sum that host
    received (``sender`` false) or sent (``sender`` true), skipping omitted intervals."""
    rates: list[float] = []
    lengths: list[float] = []
    for interval in side.get("intervals") or []:
        for key in ("sum", "sum_bidir_reverse"):
            total = interval.get(key) if isinstance(interval, dict) else None
            if isinstance(total, dict) and total.get("sender") is (not receiver):
                if not total.get("omitted", False):
                    rates.append(float(total["bits_per_second"]))
                    lengths.append(float(total["seconds"]))
                break
    return _frozen(rates), _frozen(lengths)


def _frozen(values: list[float]) -> npt.NDArray[np.float64]:
    array = np.asarray(values, dtype=np.float64)
    array.setflags(write=False)
    return array


def _mean_rtt_ms(side: dict[str, Any] | None) -> float | None:
    """Mean over the streams a host *sent* of their mean RTT (µs in the JSON), ms."""
    if side is None:
        return None
    end = side.get("end")
    streams = end.get("streams") if isinstance(end, dict) else None
    rtts = [
        float(stream["sender"]["mean_rtt"])
        for stream in streams or []
        if isinstance(stream, dict)
        and isinstance(stream.get("sender"), dict)
        and stream["sender"].get("sender") is True
        and isinstance(stream["sender"].get("mean_rtt"), int | float)
    ]
    return sum(rtts) / len(rtts) / 1000.0 if rtts else None


def _flow(
    data: dict[str, Any],
    end: dict[str, Any],
    suffix: str,
    direction: FlowDirection,
    protocol: Protocol,
    role: str,
) -> Iperf3Flow:
    """One channel: ``suffix`` is "" (forward, or the only one) or ``_bidir_reverse``."""
    client_sends = direction == "ul"
    server = data.get("server_output_json")
    server = server if isinstance(server, dict) else None
    received = end.get("sum_received" + suffix)
    sent = end.get("sum_sent" + suffix)
    sent = sent if isinstance(sent, dict) else None
    loss: float | None = None
    jitter: float | None = None
    if isinstance(received, dict):
        goodput = _num(received, "bits_per_second", f"end.sum_received{suffix}.", role)
        if protocol == "udp":
            loss = _num(received, "lost_percent", f"end.sum_received{suffix}.", role)
            jitter = _num(received, "jitter_ms", f"end.sum_received{suffix}.", role)
    elif protocol == "udp":  # an older build: only the ambiguous end.sum
        total = _obj(end, "sum" + suffix, "end.", role)
        loss = _num(total, "lost_percent", f"end.sum{suffix}.", role)
        jitter = _num(total, "jitter_ms", f"end.sum{suffix}.", role)
        goodput = _num(total, "bits_per_second", f"end.sum{suffix}.", role) * (1.0 - loss / 100.0)
    else:
        raise _bad(role, f"iperf3 JSON has no object end.sum_received{suffix}")
    retransmits: int | None = None
    if protocol == "tcp" and sent is not None and isinstance(sent.get("retransmits"), int):
        retransmits = int(sent["retransmits"])
    receiver_side = server if client_sends else data
    at_receiver = receiver_side is not None
    rates, lengths = _interval_series(receiver_side if receiver_side is not None else data, at_receiver)
    return Iperf3Flow(
        direction=direction,
        goodput_bps=goodput,
        sent_bps=_num(sent, "bits_per_second", f"end.sum_sent{suffix}.", role) if sent else None,
        retransmits=retransmits,
        mean_rtt_ms=_mean_rtt_ms(data if client_sends else server) if protocol == "tcp" else None,
        loss_percent=loss,
        jitter_ms=jitter,
        intervals_bps=rates,
        intervals_s=lengths,
        intervals_at_receiver=at_receiver,
    )


def parse_iperf3(text: str, direction: Direction, role: str = "traffic") -> Iperf3Result:
    """Parse the output of ``iperf3 --json`` (a client's). Pure: no I/O.

    Parameters
    ----------
    text
        The client's stdout.
    direction
        The direction the test was run in (``dl``, ``ul``, ``bidir``); checked against what the
        output itself records (``test_start.reverse``, ``*_bidir_reverse`` sums).
    role
        The bench role, for errors.

    Returns
    -------
    Iperf3Result
        Goodputs and per-interval series in bit/s, RTT and jitter in ms, loss and CPU in %.

    Raises
    ------
    InstrumentError
        The output carries iperf3's ``"error"`` (its message is iperf3's own words), or is not
        iperf3 JSON.
    ValueError
        ``direction`` is not the direction the output was recorded in.
    """
    if direction not in ("dl", "ul", "bidir"):
        raise ValueError(f"direction must be 'dl', 'ul' or 'bidir', not {direction!r}")
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise _bad(role, f"output is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise _bad(role, "output is not a JSON object")
    if "error" in data:
        raise _bad(role, str(data["error"]))
    test_start = _obj(_obj(data, "start", "", role), "test_start", "start.", role)
    protocol_name = str(test_start.get("protocol", "")).lower()
    if protocol_name not in ("tcp", "udp"):
        raise _bad(role, f"unsupported protocol {test_start.get('protocol')!r}")
    protocol: Protocol = "tcp" if protocol_name == "tcp" else "udp"
    end = _obj(data, "end", "", role)
    recorded: Direction
    if any(key.endswith("_bidir_reverse") for key in end):
        recorded = "bidir"
    else:
        recorded = "dl" if test_start.get("reverse") else "ul"
    if recorded != direction:
        raise ValueError(f"this iperf3 output was recorded as {recorded}, not {direction}")
    if recorded == "bidir":
        dl = _flow(data, end, "_bidir_reverse", "dl", protocol, role)
        ul = _flow(data, end, "", "ul", protocol, role)
    elif recorded == "dl":
        dl, ul = _flow(data, end, "", "dl", protocol, role), None
    else:
        dl, ul = None, _flow(data, end, "", "ul", protocol, role)
    cpu = _obj(end, "cpu_utilization_percent", "end.", role)
    host = _num(cpu, "host_total", "end.cpu_utilization_percent.", role)
    remote = _num(cpu, "remote_total", "end.cpu_utilization_percent.", role)
    return Iperf3Result(
        protocol=protocol,
        direction=recorded,
        dl=dl,
        ul=ul,
        host_cpu_percent=host,
        remote_cpu_percent=remote,
        cpu_limited=host > CPU_LIMIT_PERCENT or remote > CPU_LIMIT_PERCENT,
        text=text,
    )


STARTUP_RETRIES = 2
STARTUP_RETRY_PAUSE_S = 0.25
# iperf3's words when its control connection is refused or reset before the test starts
_STARTUP_RACE = re.compile(
    r"unable to connect to server: Connection refused"
    r"|unable to receive control message.*Connection reset by peer"
)


def _refused_before_start(text: str) -> bool:
    """True when iperf3's JSON says its control connection failed before any interval ran."""
    try:
        data = json.loads(text)
    except ValueError:
        return False
    return (
        isinstance(data, dict)
        and not data.get("intervals")
        and bool(_STARTUP_RACE.search(str(data.get("error", ""))))
    )


class Iperf3:
    """The iperf3 client on the UE side of the bench. The constructor does no I/O.

    ``netns`` runs the client inside that network namespace; ``program`` is the executable.
    """

    def __init__(
        self, iolog: IoLog, role: str = "traffic", netns: str | None = None, program: str = "iperf3"
    ) -> None:
        self.iolog = iolog
        self.role = role
        self.netns = netns
        self.program = program

    def run(self, settings: Iperf3Settings) -> Iperf3Result:
        """Run one test and parse it. Allows ``duration + omit + 10 s`` before killing it.

        A test refused before it started, in the moment a persistent iperf3 server closes and
        reopens its listener after the previous test (esnet/iperf PR #2066), is tried again after
        a pause, up to :data:`STARTUP_RETRIES` times; each attempt is in io.log."""
        args = build_args(settings, self.program)
        timeout = settings.duration_s + settings.omit_s + RUN_MARGIN_S
        for attempt in range(STARTUP_RETRIES + 1):
            done = run_tool(args, self.role, self.iolog, timeout, self.netns)
            try:
                return parse_iperf3(done.stdout, settings.direction, self.role)
            except InstrumentError as exc:
                self.iolog.record(self.role, RECEIVED, f"error: {exc.message}")
                if attempt == STARTUP_RETRIES or not _refused_before_start(done.stdout):
                    raise
            time.sleep(STARTUP_RETRY_PAUSE_S)
        raise AssertionError("unreachable")  # the loop returns or raises
