"""irtt as a latency endpoint: settings, the command line, and a pure parser of its JSON.

irtt sends one small UDP packet per interval and the server echoes it with its own receive and
send timestamps, so every round trip is recorded (``round_trips[]``, durations in ns). The RTT
excludes the server's processing time. One-way delays (``delay.send``, client -> server, and
``delay.receive``, server -> client) compare the two hosts' wall clocks, so they mean something
only when the client and server share a clock (same host) or their clocks are synchronised
(PTP); otherwise the parser drops them.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from fivegbench.drivers.traffic.process import check_host, check_port, host_port, run_tool
from fivegbench.errors import InstrumentError
from fivegbench.transport.base import RECEIVED, IoLog

log = logging.getLogger(__name__)

#: Seconds allowed beyond the test's duration (connecting, waiting for the last replies).
RUN_MARGIN_S = 10.0
#: irtt's connection attempts (``--timeouts``): 7 s in all, inside the run margin.
OPEN_TIMEOUTS = "1s,2s,4s"
#: Longest test, s.
MAX_DURATION_S = 3600.0
#: Shortest send interval, s.
MIN_INTERVAL_S = 0.001
#: Largest packet irtt can send, bytes (an IPv4 UDP payload). irtt accepts more and then
#: silently sends nothing; below its header size (60 bytes with both timestamps) it pads.
MAX_LENGTH = 65507


def _seconds(value: float, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{what} must be a number of seconds, not {value!r}")
    return float(value)


def _go_duration(seconds: float) -> str:
    """A Go duration string for irtt: ``2s`` or ``20ms`` or ``0.5ms``."""
    if seconds == int(seconds):
        return f"{int(seconds)}s"
    milliseconds = f"{seconds * 1000:.6f}".rstrip("0").rstrip(".")
    return f"{milliseconds}ms"


@dataclass(frozen=True)
class IrttSettings:
    """One irtt client run; validated on construction (ValueError, before anything runs)."""

    server: str
    """The irtt server: an IP address or a hostname."""
    port: int = 2112
    """The server's UDP port, 1..65535."""
    interval_s: float = 0.01
    """Send interval, s, >= 0.001 and <= the duration (``-i``)."""
    length: int = 0
    """Packet length including irtt's header, bytes, 0..65507 (``-l``); 0 sends the smallest
    packet, and irtt raises anything below its header size to it."""
    duration_s: float = 10.0
    """Time spent sending, s, > 0 and <= 3600 (``-d``)."""
    clock_synchronised: bool = False
    """The client's and server's clocks are synchronised (PTP): one-way delays are valid."""
    same_host: bool = False
    """Client and server share one clock (same machine): one-way delays are valid."""

    def __post_init__(self) -> None:
        check_host(self.server)
        check_port(self.port)
        duration = _seconds(self.duration_s, "duration")
        if not 0 < duration <= MAX_DURATION_S:
            raise ValueError(f"duration must be in (0, {MAX_DURATION_S:g}] s, not {duration:g}")
        interval = _seconds(self.interval_s, "interval")
        if not MIN_INTERVAL_S <= interval <= duration:
            raise ValueError(f"interval must be in {MIN_INTERVAL_S:g} s..the duration, not {interval:g} s")
        if isinstance(self.length, bool) or not isinstance(self.length, int):
            raise ValueError(f"length must be an integer number of bytes, not {self.length!r}")
        if not 0 <= self.length <= MAX_LENGTH:
            raise ValueError(f"length must be in 0..{MAX_LENGTH} bytes, not {self.length}")
        for name in ("clock_synchronised", "same_host"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false, not {getattr(self, name)!r}")

    @property
    def one_way_valid(self) -> bool:
        """Whether one-way delays can be trusted (same host, or synchronised clocks)."""
        return self.same_host or self.clock_synchronised


def build_args(settings: IrttSettings, program: str = "irtt") -> list[str]:
    """The client's command line: JSON on stdout (``-o -``), nothing else (``-Q``)."""
    return [
        program,
        "client",
        "-o",
        "-",
        "-Q",
        "-d",
        _go_duration(settings.duration_s),
        "-i",
        _go_duration(settings.interval_s),
        "-l",
        str(settings.length),
        f"--timeouts={OPEN_TIMEOUTS}",
        host_port(settings.server, settings.port),
    ]


@dataclass(frozen=True, eq=False)
class IrttResult:
    """A parsed irtt JSON result. Arrays have one entry per packet sent, in sequence order."""

    rtt_ms: npt.NDArray[np.float64]
    """Round-trip time per packet, ms; NaN where the packet or its reply was lost."""
    send_delay_ms: npt.NDArray[np.float64] | None
    """Client -> server one-way delay per packet, ms (NaN where unknown); None when clocks are
    not shared or synchronised."""
    receive_delay_ms: npt.NDArray[np.float64] | None
    """Server -> client one-way delay per packet, ms (NaN where unknown); None likewise."""
    ipdv_ms: npt.NDArray[np.float64]
    """Round-trip IP packet delay variation against the previous packet, ms (signed); NaN where
    either packet is missing."""
    packets_sent: int
    packets_received: int
    loss_percent: float
    """Round trips lost, %."""
    upstream_loss_percent: float
    """Packets lost on the way to the server, %."""
    downstream_loss_percent: float
    """Replies lost on the way back, %."""
    duplicate_percent: float
    """Duplicate replies, %."""
    late_packets_percent: float
    """Replies that arrived out of order, %."""
    samples: int
    """Round trips received (finite entries of :attr:`rtt_ms`)."""
    text: str
    """The tool's JSON, verbatim."""


def _bad(role: str, message: str) -> InstrumentError:
    return InstrumentError(role, "irtt", None, message)


def _ns_to_ms(values: list[float]) -> npt.NDArray[np.float64]:
    array = np.asarray(values, dtype=np.float64) / 1e6
    array.setflags(write=False)
    return array


def _duration(parent: Any, key: str) -> float:
    """A duration in ns from ``parent[key]``, NaN when absent."""
    value = parent.get(key) if isinstance(parent, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return math.nan
    return float(value)


def parse_irtt(text: str, one_way_valid: bool, role: str = "traffic") -> IrttResult:
    """Parse the JSON of ``irtt client -o -``. Pure: no I/O.

    Parameters
    ----------
    text
        irtt's JSON output.
    one_way_valid
        Keep the one-way delays (client and server on one host, or synchronised clocks).
    role
        The bench role, for errors.

    Returns
    -------
    IrttResult
        Per-packet delays in ms (NaN for lost packets), counts, and percentages.

    Raises
    ------
    InstrumentError
        The text is not irtt JSON.
    """
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise _bad(role, f"output is not JSON: {exc}") from None
    stats = data.get("stats") if isinstance(data, dict) else None
    trips = data.get("round_trips") if isinstance(data, dict) else None
    if not isinstance(stats, dict) or not isinstance(trips, list):
        raise _bad(role, "irtt JSON has no stats or round_trips")
    rtt: list[float] = []
    send: list[float] = []
    receive: list[float] = []
    ipdv: list[float] = []
    for trip in trips:
        if not isinstance(trip, dict):
            raise _bad(role, "irtt JSON round_trips holds a non-object")
        delay = trip.get("delay")
        lost = trip.get("lost", "false") != "false"  # "true", "true_up", "true_down"
        rtt.append(math.nan if lost else _duration(delay, "rtt"))
        send.append(_duration(delay, "send"))
        receive.append(_duration(delay, "receive"))
        ipdv.append(_duration(trip.get("ipdv"), "rtt"))

    def number(key: str) -> float:
        value = stats.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _bad(role, f"irtt JSON has no number stats.{key}")
        return float(value)

    rtt_ms = _ns_to_ms(rtt)
    return IrttResult(
        rtt_ms=rtt_ms,
        send_delay_ms=_ns_to_ms(send) if one_way_valid else None,
        receive_delay_ms=_ns_to_ms(receive) if one_way_valid else None,
        ipdv_ms=_ns_to_ms(ipdv),
        packets_sent=int(number("packets_sent")),
        packets_received=int(number("packets_received")),
        loss_percent=number("packet_loss_percent"),
        upstream_loss_percent=number("upstream_loss_percent"),
        downstream_loss_percent=number("downstream_loss_percent"),
        duplicate_percent=number("duplicate_percent"),
        late_packets_percent=number("late_packets_percent"),
        samples=int(np.count_nonzero(np.isfinite(rtt_ms))),
        text=text,
    )


class Irtt:
    """The irtt client on the UE side of the bench. The constructor does no I/O.

    ``netns`` runs the client inside that network namespace; ``program`` is the executable.
    """

    def __init__(
        self, iolog: IoLog, role: str = "traffic", netns: str | None = None, program: str = "irtt"
    ) -> None:
        self.iolog = iolog
        self.role = role
        self.netns = netns
        self.program = program

    def run(self, settings: IrttSettings) -> IrttResult:
        """Run one test and parse it. Allows ``duration + 10 s`` before killing it."""
        args = build_args(settings, self.program)
        done = run_tool(args, self.role, self.iolog, settings.duration_s + RUN_MARGIN_S, self.netns)
        try:
            return parse_irtt(done.stdout, settings.one_way_valid, self.role)
        except InstrumentError as exc:
            self.iolog.record(self.role, RECEIVED, f"error: {exc.message}")
            raise
