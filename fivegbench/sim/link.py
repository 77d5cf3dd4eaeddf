"""Packet-level emulation of the radio link between a "UE" and a "core" network namespace.

Real traffic tools (iperf3, irtt) run in two network namespaces, ``fivegbench-ue-<suffix>`` and
``fivegbench-core-<suffix>``, each holding one TUN device (``radio0``). A bridge
thread in this process reads every IP packet from one TUN device and writes it to the other after
imposing, per direction, what a :data:`LinkModel` says:

Modelled
    * **rate** (``rate_bps``, bit/s of IP packets): a serialization clock, i.e. a token bucket
      one packet deep. A packet of ``n`` bytes occupies the link for ``8 n / rate_bps`` s after
      the previous one finished; a backlogged link therefore carries exactly ``rate_bps``, and an
      idle link earns no burst credit. A rate of 0 is a link outage: every packet is dropped.
    * **constant one-way delay** (``delay_s``, s): added after serialization (the "air" and
      processing time); packets leave in order.
    * **Bernoulli loss** (``loss``, probability 0..1): each packet is lost independently on
      arrival, from a seeded RNG (reproducible drop pattern for the same packet sequence).
    * **a drop-tail queue** in front of the serialization clock, the radio's buffer: a packet is
      dropped when the bytes waiting to be serialized would exceed
      ``rate_bps / 8 * queue_s + QUEUE_SLACK_PACKETS * MTU`` (``queue_s`` = 50 ms by default).
      50 ms of the current rate is of the order of an RLC/PDCP buffer and gives TCP both
      congestion loss and queueing delay (bufferbloat) as a cell does; the slack of a few MTU-size
      packets lets TCP fill the link at low rates, where 50 ms is less than one packet.
    * **MTU by rate**: the sender of a direction uses 60 kB packets (cheap for the Python bridge
      at Gbit/s rates) while the direction carries more than 40 Mbit/s and 1500-byte packets
      below 20 Mbit/s, where a 60 kB packet would hold the link for too long (each end
      advertises the large MSS, so each direction's segment size follows its sender's MTU).

Not modelled
    reordering (packets always leave in arrival order), delay jitter other than the queueing
    delay the traffic itself causes (no random per-packet delay distribution, no HARQ
    retransmission delay spikes), correlated/bursty loss, per-flow scheduling (one FIFO per
    direction), and the cost of headers below IP.

The model is polled every :data:`POLL_S` (10 ms) by a separate thread, so a model that changes
(the attenuator moved) takes effect during a run without the model's own cost (locks, numpy)
ever stalling the packet path. A new rate applies to packets arriving from then on; packets
already scheduled keep their times.

Threads: one bridge thread carries both directions (``select`` over the two TUN fds and a wake
pipe; non-blocking ``os.read``/``os.write``); one poller thread calls the model. Their CPU time
is :meth:`LinkEmulator.cpu_seconds`. Timed releases: the bridge thread asks for 1 ns timer slack
and wakes early by a running median of how late the kernel has been waking it (about 0.1 ms in a
VM), so that the median added delay matches the model rather than exceeding it by the wake-up
latency. The bridge's own latency at zero modelled delay is about 0.1-0.3 ms one way.

Needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN), ``/dev/net/tun`` and the ``ip`` program:
:func:`available` says in one line why not. Namespaces are removed by ``__exit__`` (also after an
exception or Ctrl-C), by an ``atexit`` hook, and, after a process was killed outright (SIGKILL,
or a SIGTERM nobody handles), by :func:`remove_stale_namespaces` at the next start. Processes
still running in a namespace (an iperf3 server) are killed before it is deleted.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import fcntl
import logging
import os
import random
import re
import select
import shutil
import signal
import struct
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

from fivegbench.errors import FivegbenchError

log = logging.getLogger(__name__)

MTU = 60000
"""MTU of a TUN device at high rates, bytes. Large packets keep the Python bridge's per-packet cost
low (about 3,000 packets/s at 1.5 Gbit/s)."""
SLOW_MTU = 1500
"""MTU of a direction whose rate is low, bytes. A 60 kB packet holds a 0.2 Mbit/s link for 2.4 s:
TCP's handshake and iperf3's control messages would queue behind it for seconds."""
SLOW_BELOW_BPS = 20e6
"""A direction slower than this sends with :data:`SLOW_MTU` ..."""
FAST_ABOVE_BPS = 40e6
"""... until it is faster than this (hysteresis: a rate near the threshold does not flap)."""
POLL_S = 0.010
"""Period at which the model is called, s."""
QUEUE_S = 0.050
"""Default drop-tail queue depth, s of the current rate."""
QUEUE_SLACK_PACKETS = 2
"""MTU-size packets added to the queue depth (lets TCP fill a slow link)."""
NETNS_PREFIX = "fivegbench-"
INTERFACE = "radio0"
UE_ADDRESS = "10.45.0.2"
CORE_ADDRESS = "10.45.0.1"

_TUNSETIFF = 0x400454CA
_IFF_TUN = 0x0001
_IFF_NO_PI = 0x1000
_READ_SIZE = 65536
_READ_BATCH = 64  # packets read from one fd before the other gets its turn
_IP_TIMEOUT_S = 10.0
_CAP_NET_ADMIN = 12
_CAP_SYS_ADMIN = 21
_PR_SET_TIMERSLACK = 29
_FD_SETSIZE = 1024
_LATENESS_STEP_S = 2e-6  # step of the running-median estimate of wake-up lateness
_LATENESS_MAX_S = 0.5e-3
_LATENESS_MIN_SLEEP_S = 0.5e-3  # only sleeps at least this long teach the estimate
_STALE = re.compile(rf"^{re.escape(NETNS_PREFIX)}(?:ue|core)-(\d+)$")


class LinkError(FivegbenchError):
    """The link emulator could not be set up or torn down."""


@dataclass(frozen=True)
class LinkState:
    """What one direction of the link does to packets now.

    ``rate_bps``: capacity in bit/s of IP packets (0: outage, everything dropped).
    ``delay_s``: added one-way delay in s (on top of serialization and queueing).
    ``loss``: probability (0..1) that a packet is lost, independently of the others.
    """

    rate_bps: float
    delay_s: float = 0.0
    loss: float = 0.0

    def __post_init__(self) -> None:
        if not self.rate_bps >= 0:  # also rejects NaN
            raise ValueError(f"rate_bps must be >= 0, not {self.rate_bps!r}")
        if not self.delay_s >= 0:
            raise ValueError(f"delay_s must be >= 0, not {self.delay_s!r}")
        if not 0 <= self.loss <= 1:
            raise ValueError(f"loss must be a probability in 0..1, not {self.loss!r}")


LinkModel = Callable[[], tuple[LinkState, LinkState]]
"""Returns (downlink core->UE, uplink UE->core); polled every :data:`POLL_S`."""


def constant(downlink: LinkState, uplink: LinkState | None = None) -> LinkModel:
    """A model that never changes (``uplink`` defaults to the downlink's state)."""
    states = (downlink, uplink if uplink is not None else downlink)
    return lambda: states


@dataclass
class DirectionCounters:
    """Packets and bytes of one direction. Written by the bridge thread only."""

    forwarded_packets: int = 0
    forwarded_bytes: int = 0
    lost_packets: int = 0
    """Dropped by the modelled random loss."""
    overflow_packets: int = 0
    """Dropped because the queue was full, the rate was 0, or the write failed."""
    dropped_bytes: int = 0

    @property
    def dropped_packets(self) -> int:
        return self.lost_packets + self.overflow_packets


class _Direction:
    """Per-direction state of the bridge: the serialization clock and the delay line."""

    __slots__ = ("counters", "dst", "free_at", "last_release", "line", "rng", "src", "state")

    def __init__(self, src: int, dst: int, state: LinkState, seed: int) -> None:
        self.src = src
        self.dst = dst
        self.state = state
        self.rng = random.Random(seed)
        self.free_at = 0.0  # monotonic time at which the serializer becomes free
        self.last_release = 0.0
        self.line: deque[tuple[float, bytes]] = deque()  # (release time, packet), in order
        self.counters = DirectionCounters()


def available() -> str | None:
    """None when the emulator can run here, else one line saying why not."""
    if shutil.which("ip") is None:
        return "the link emulator needs the 'ip' program (iproute2), which is not installed"
    if not os.path.exists("/dev/net/tun"):
        return "the link emulator needs /dev/net/tun, which this machine (or container) lacks"
    caps = _effective_capabilities()
    missing = [
        name
        for bit, name in ((_CAP_NET_ADMIN, "CAP_NET_ADMIN"), (_CAP_SYS_ADMIN, "CAP_SYS_ADMIN"))
        if not caps >> bit & 1
    ]
    if missing:
        return f"the link emulator needs root ({' and '.join(missing)} missing): run as root"
    try:
        os.close(os.open("/dev/net/tun", os.O_RDWR | os.O_CLOEXEC))
    except OSError as exc:
        return f"the link emulator cannot open /dev/net/tun: {exc.strerror}"
    return None


def _effective_capabilities() -> int:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("CapEff:"):
                    return int(line.split()[1], 16)
    except OSError:
        pass
    return -1 if os.geteuid() == 0 else 0


def _ip(*args: str, stdin: str | None = None) -> str:
    """Run ``ip`` with separate arguments (never a shell); LinkError with its words on failure."""
    try:
        done = subprocess.run(
            ["ip", *args], input=stdin, capture_output=True, text=True, timeout=_IP_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise LinkError(f"ip {' '.join(args)}: {exc}") from exc
    if done.returncode != 0:
        raise LinkError(f"ip {' '.join(args)}: {done.stderr.strip() or f'exit {done.returncode}'}")
    return done.stdout


def list_namespaces() -> list[str]:
    """Names of all named network namespaces (``ip netns list``)."""
    return [line.split()[0] for line in _ip("netns", "list").splitlines() if line.strip()]


def _alive(pid: int) -> bool:
    """True when ``pid`` is a live process (a zombie counts as dead)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            state = stat.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def kill_namespace_processes(netns: str, grace_s: float = 1.0) -> list[int]:
    """SIGTERM every process in ``netns``, SIGKILL those still alive after ``grace_s`` s.
    Returns the pids found."""
    try:
        pids = [int(p) for p in _ip("netns", "pids", netns).split()]
    except LinkError:
        return []
    pids = [p for p in pids if p != os.getpid()]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)
        deadline = time.monotonic() + grace_s
        while any(_alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.01)
        if not any(_alive(p) for p in pids):
            break
    return pids


def delete_namespace(netns: str) -> None:
    """Kill what runs in ``netns``, then delete it."""
    kill_namespace_processes(netns)
    _ip("netns", "del", netns)


def remove_stale_namespaces() -> list[str]:
    """Delete ``fivegbench-{ue,core}-<pid>`` namespaces whose pid is not a live process (left by
    a run that was killed outright). Namespaces with a non-numeric suffix are never touched.
    Returns the names removed."""
    removed = []
    for name in list_namespaces():
        match = _STALE.match(name)
        if match and not _alive(int(match.group(1))):
            try:
                delete_namespace(name)
            except LinkError as exc:
                log.warning("could not remove stale namespace %s: %s", name, exc)
            else:
                removed.append(name)
    return removed


def _open_tun(pattern: str) -> tuple[int, str]:
    """A new TUN device (IP packets, no packet-info header); returns its fd and name."""
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        ifreq = struct.pack("16sH22x", pattern.encode(), _IFF_TUN | _IFF_NO_PI)
        result = fcntl.ioctl(fd, _TUNSETIFF, ifreq)
    except OSError as exc:
        os.close(fd)
        raise LinkError(f"cannot create a TUN device: {exc.strerror}") from exc
    return fd, result[:16].rstrip(b"\0").decode()


class LinkEmulator:
    """The emulated radio link, as a context manager.

    ``model`` is called once at entry and then every :data:`POLL_S` s. ``name_suffix`` names
    the namespaces (default: this process's pid, which :func:`remove_stale_namespaces` relies on).
    ``queue_s`` is the drop-tail queue depth in s of the current rate; ``seed`` seeds the loss.

    Inside the ``with`` block: ``ue_netns`` / ``core_netns`` (run tools with
    ``ip netns exec <ns> ...``), ``ue_address`` / ``core_address`` (IPv4), ``downlink`` /
    ``uplink`` (:class:`DirectionCounters`), and :meth:`cpu_seconds`.
    """

    def __init__(
        self,
        model: LinkModel,
        name_suffix: str | None = None,
        *,
        queue_s: float = QUEUE_S,
        seed: int = 20261127,
    ) -> None:
        suffix = str(os.getpid()) if name_suffix is None else name_suffix
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,40}", suffix):
            raise ValueError(f"name_suffix must be 1-40 letters, digits, '_', '.', '-': {suffix!r}")
        self.model = model
        self.queue_s = queue_s
        self.seed = seed
        self.ue_netns = f"{NETNS_PREFIX}ue-{suffix}"
        self.core_netns = f"{NETNS_PREFIX}core-{suffix}"
        self.ue_address = UE_ADDRESS
        self.core_address = CORE_ADDRESS
        self.interface = INTERFACE
        self.downlink = DirectionCounters()
        self.uplink = DirectionCounters()
        self.last_model_error: BaseException | None = None
        """The model's last exception (its previous state stays in force), if any."""
        self.bridge_error: BaseException | None = None
        """Why the bridge thread stopped early, if it did (close() then raises LinkError)."""
        self._states = (LinkState(0.0), LinkState(0.0))
        self._mtu: list[int] = [MTU, MTU]  # (downlink sender, uplink sender), bytes
        self._fds: list[int] = []
        self._created: list[str] = []
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._wake: tuple[int, int] | None = None
        self._cpu_done = 0.0
        self._cpu_lock = threading.Lock()
        self._atexit_registered = False

    # -- life cycle --------------------------------------------------------------------------

    def __enter__(self) -> LinkEmulator:
        why = available()
        if why is not None:
            raise LinkError(why)
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            self.close()
        except LinkError:
            if exc_type is None:
                raise
            log.exception("link emulator cleanup failed while handling %s", exc_type.__name__)

    def _start(self) -> None:
        remove_stale_namespaces()
        self._states = self.model()
        self._mtu = [_mtu_for(state.rate_bps, MTU) for state in self._states]
        existing = set(list_namespaces())
        for netns in (self.ue_netns, self.core_netns):
            if netns in existing:
                raise LinkError(
                    f"network namespace {netns} already exists (another emulator in this process?)"
                )
        atexit.register(self.close)
        self._atexit_registered = True
        for netns, address, peer, mtu in (
            (self.ue_netns, self.ue_address, self.core_address, self._mtu[1]),
            (self.core_netns, self.core_address, self.ue_address, self._mtu[0]),
        ):
            _ip("netns", "add", netns)
            self._created.append(netns)
            fd, device = _open_tun("fgb%d")
            self._fds.append(fd)
            _ip("link", "set", "dev", device, "netns", netns)
            _ip(
                "-n",
                netns,
                "-batch",
                "-",
                stdin=(
                    "link set dev lo up\n"
                    f"link set dev {device} name {self.interface}\n"
                    f"link set dev {self.interface} mtu {mtu} up\n"
                    f"addr add {address}/32 peer {peer}/32 dev {self.interface}\n"
                    # each end advertises the large MSS whatever its own device's MTU, so the
                    # peer's sending MTU alone sets the segment size of each direction
                    f"route replace {peer}/32 dev {self.interface} src {address} advmss {MTU - 40}\n"
                ),
            )
        self._wake = os.pipe()
        os.set_blocking(self._wake[0], False)
        if max(*self._fds, *self._wake) >= _FD_SETSIZE:  # select()'s limit (its timeouts are in us)
            raise LinkError(
                f"the link emulator needs select(), and this process has {_FD_SETSIZE} files open"
            )
        self._stop.clear()
        self._threads = [
            threading.Thread(target=self._bridge, name=f"link-bridge-{self.ue_netns}", daemon=True),
            threading.Thread(target=self._poll, name=f"link-model-{self.ue_netns}", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def close(self) -> None:
        """Stop the threads, close the TUN devices, kill what runs in the namespaces and delete
        them. Idempotent; every step is attempted even if one fails or Ctrl-C arrives (which is
        re-raised at the end). LinkError if a namespace could not be deleted or the bridge
        thread had failed."""
        interrupted = False
        failures: list[str] = []

        def step(action: Callable[[], None]) -> None:
            nonlocal interrupted
            for _ in range(3):  # a Ctrl-C during a step retries it rather than skipping it
                try:
                    action()
                    return
                except KeyboardInterrupt:
                    interrupted = True
                except Exception as exc:
                    failures.append(str(exc))
                    return

        step(self._stop_threads)
        if self.bridge_error is not None:
            failures.append(f"the bridge thread had stopped: {self.bridge_error!r}")
            self.bridge_error = None
        step(self._close_fds)
        for netns in list(self._created):

            def remove(netns: str = netns) -> None:
                if netns in list_namespaces():
                    delete_namespace(netns)
                self._created.remove(netns)

            step(remove)
        if self._atexit_registered:
            atexit.unregister(self.close)
            self._atexit_registered = False
        if interrupted:
            raise KeyboardInterrupt
        if failures:
            raise LinkError("link emulator cleanup: " + "; ".join(failures))

    def _stop_threads(self) -> None:
        self._stop.set()
        if self._wake is not None:
            with contextlib.suppress(OSError):
                os.write(self._wake[1], b"x")
        for thread in self._threads:
            thread.join(5.0)
            if thread.is_alive():
                raise LinkError(f"thread {thread.name} did not stop")
        self._threads = []

    def _close_fds(self) -> None:
        fds = self._fds + (list(self._wake) if self._wake else [])
        self._fds = []
        self._wake = None
        for fd in fds:
            with contextlib.suppress(OSError):
                os.close(fd)

    # -- observation -------------------------------------------------------------------------

    @property
    def states(self) -> tuple[LinkState, LinkState]:
        """The (downlink, uplink) states in force now."""
        return self._states

    def cpu_seconds(self) -> float:
        """CPU time (user + system, s) used so far by the bridge and model threads."""
        with self._cpu_lock:
            total = self._cpu_done
            for thread in self._threads:
                if thread.ident is not None and thread.is_alive():
                    with contextlib.suppress(OSError):
                        total += time.clock_gettime(time.pthread_getcpuclockid(thread.ident))
        return total

    def _add_cpu(self) -> None:
        with self._cpu_lock:
            self._cpu_done += time.thread_time()

    # -- threads -----------------------------------------------------------------------------

    def _poll(self) -> None:
        try:
            while not self._stop.wait(POLL_S):
                try:
                    self._states = self.model()
                except Exception as exc:  # keep the last good state; say it once per kind
                    if type(exc) is not type(self.last_model_error):
                        log.warning("link model failed, keeping the previous state: %s", exc)
                    self.last_model_error = exc
                self._follow_rates()
        finally:
            self._add_cpu()

    def _follow_rates(self) -> None:
        """Give each direction's sender the MTU its rate calls for (:data:`SLOW_MTU` when slow).
        New TCP connections take it at once; running ones through path-MTU discovery."""
        for index, (state, netns) in enumerate(
            zip(self._states, (self.core_netns, self.ue_netns), strict=True)
        ):
            wanted = _mtu_for(state.rate_bps, self._mtu[index])
            if wanted != self._mtu[index]:
                try:
                    _ip("-n", netns, "link", "set", "dev", self.interface, "mtu", str(wanted))
                except LinkError as exc:
                    log.warning("link emulator: cannot set the MTU of %s to %d: %s", netns, wanted, exc)
                    continue
                self._mtu[index] = wanted

    def _bridge(self) -> None:
        try:
            self._run_bridge()
        except Exception as exc:  # traffic stops: say so now, and again when the link closes
            self.bridge_error = exc
            log.exception("link emulator bridge stopped")
        finally:
            self._add_cpu()

    def _run_bridge(self) -> None:
        assert self._wake is not None
        ue_fd, core_fd = self._fds
        wake = self._wake[0]
        down = _Direction(core_fd, ue_fd, self._states[0], self.seed)
        up = _Direction(ue_fd, core_fd, self._states[1], self.seed + 1)
        down.counters = self.downlink
        up.counters = self.uplink
        by_fd = {core_fd: down, ue_fd: up}
        directions = (down, up)
        readers = [ue_fd, core_fd, wake]
        queue_s = self.queue_s
        mtu = self._mtu
        read, write, monotonic, stop = os.read, os.write, time.monotonic, self._stop
        _reduce_timer_slack()
        timeout: float | None = None
        deadline = 0.0
        early = 0.0  # running median of the timer's wake-up lateness, s

        while not stop.is_set():
            ready = select.select(readers, [], [], timeout)[0]
            now = monotonic()
            if not ready and timeout is not None and timeout > _LATENESS_MIN_SLEEP_S:
                # A timed wake-up: learn how late the kernel wakes us, to aim that much early.
                early += _LATENESS_STEP_S if now - deadline > early else -_LATENESS_STEP_S
                early = min(max(early, 0.0), _LATENESS_MAX_S)
            down.state, up.state = self._states
            for fd in ready:
                if fd == wake:
                    continue
                d = by_fd[fd]
                state = d.state
                rate = state.rate_bps
                loss = state.loss
                counters = d.counters
                line = d.line
                limit = rate / 8 * queue_s + QUEUE_SLACK_PACKETS * mtu[d is up]
                delay = state.delay_s
                for _ in range(_READ_BATCH):
                    try:
                        packet = read(fd, _READ_SIZE)
                    except BlockingIOError:
                        break
                    size = len(packet)
                    if loss and d.rng.random() < loss:
                        counters.lost_packets += 1
                        counters.dropped_bytes += size
                        continue
                    backlog = d.free_at - now
                    if rate <= 0 or (backlog > 0 and backlog * rate / 8 + size > limit):
                        counters.overflow_packets += 1
                        counters.dropped_bytes += size
                        continue
                    d.free_at = (d.free_at if backlog > 0 else now) + size * 8 / rate
                    release = d.free_at + delay
                    if release < d.last_release:  # the delay shrank: stay in order
                        release = d.last_release
                    d.last_release = release
                    line.append((release, packet))

            timeout = None
            now = monotonic()
            due = now + early
            for d in directions:
                line = d.line
                while line and line[0][0] <= due:
                    packet = line.popleft()[1]
                    try:
                        write(d.dst, packet)
                    except OSError:
                        d.counters.overflow_packets += 1
                        d.counters.dropped_bytes += len(packet)
                    else:
                        d.counters.forwarded_packets += 1
                        d.counters.forwarded_bytes += len(packet)
                if line:
                    wait = line[0][0] - due
                    if timeout is None or wait < timeout:
                        timeout = wait
            if timeout is not None:
                deadline = now + timeout


def _mtu_for(rate_bps: float, current: int) -> int:
    """The MTU a direction sending at ``rate_bps`` should have, given its ``current`` one."""
    if rate_bps < SLOW_BELOW_BPS:
        return SLOW_MTU
    if rate_bps > FAST_ABOVE_BPS:
        return MTU
    return current


def _reduce_timer_slack() -> None:
    """Ask Linux for 1 ns timer slack on this thread (default 50 us): timed releases are late
    by the wake-up latency only. Best effort."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_TIMERSLACK, 1, 0, 0, 0)
