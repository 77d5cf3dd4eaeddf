"""The one subprocess seam of the traffic tools (iperf3, irtt).

Both tools run as real programs: :func:`run_tool` runs a client to completion, and
:class:`LocalServer` keeps a server running for the length of a ``with`` block. Both

* pass the arguments as a list, never through a shell;
* run inside a network namespace when one is named (``ip netns exec <ns> ...``);
* log the command line exactly as run, and the outcome, to the run's ``io.log``
  (``UTC  role  >  iperf3 --json -c ...`` then ``UTC  role  <  exit 0 after 5.1 s``);
* run the tool in its own process group and kill the whole group when it must stop, so nothing
  is left behind;
* turn every failure (a missing program, a timeout, a crash, a non-zero exit) into
  :class:`~fivegbench.errors.InstrumentError` carrying the tool's own message.

The helpers :func:`check_host` and :func:`check_port` validate what goes onto a command line.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import logging
import math
import os
import re
import shlex
import signal
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Literal

from fivegbench.errors import InstrumentError
from fivegbench.transport.base import RECEIVED, SENT, IoLog

log = logging.getLogger(__name__)

#: One DNS label (RFC 1123 §2.1): letters, digits and hyphens, not starting or ending with one.
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
#: A network namespace name as ``ip netns`` keeps it (a file name under /run/netns).
_NETNS = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")

#: Seconds between SIGTERM and SIGKILL when a server is stopped.
STOP_GRACE_S = 2.0

ServerTool = Literal["iperf3", "irtt"]


def check_host(host: str) -> str:
    """Return ``host`` if it is an IP address or a hostname; raise ValueError otherwise.

    A hostname follows RFC 1123: dot-separated labels of letters, digits and hyphens, none
    starting or ending with a hyphen, at most 253 characters. Whitespace, a leading ``-``
    (which a tool would read as an option) and anything else are refused.
    """
    if not isinstance(host, str) or not host:
        raise ValueError(f"server must be an IP address or a hostname, not {host!r}")
    if host.startswith("-") or any(c.isspace() or not c.isprintable() for c in host):
        raise ValueError(f"server must be an IP address or a hostname, not {host!r}")
    with contextlib.suppress(ValueError):
        ipaddress.ip_address(host)
        return host
    name = host[:-1] if host.endswith(".") else host
    if len(name) > 253 or not all(_LABEL.fullmatch(label) for label in name.split(".")):
        raise ValueError(f"server must be an IP address or a hostname, not {host!r}")
    return host


def check_port(port: int) -> int:
    """Return ``port`` if it is an integer in 1..65535; raise ValueError otherwise."""
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ValueError(f"port must be an integer in 1..65535, not {port!r}")
    return port


def netns_prefix(netns: str | None) -> list[str]:
    """The words that run a command inside network namespace ``netns`` (none for None)."""
    if netns is None:
        return []
    if not isinstance(netns, str) or not _NETNS.fullmatch(netns) or netns.strip(".") == "":
        raise ValueError(f"not a network namespace name: {netns!r}")
    return ["ip", "netns", "exec", netns]


def host_port(host: str, port: int) -> str:
    """``host:port``, with an IPv6 address in brackets (``[::1]:2112``), as irtt expects it."""
    with contextlib.suppress(ValueError):
        if ipaddress.ip_address(host).version == 6:
            return f"[{host}]:{port}"
    return f"{host}:{port}"


def tool_message(stdout: str, stderr: str) -> str | None:
    """The tool's own words about a failure, or None when it said nothing.

    iperf3 with ``--json`` reports errors in the ``"error"`` field of its JSON on stdout; other
    tools (irtt, iperf3 rejecting its arguments) write a line to stderr. Returns the JSON error,
    else the first non-blank line of stderr, else the first non-blank line of stdout.
    """
    text = stdout.strip()
    if text.startswith("{"):
        try:  # the first JSON object; a server's log may have more text after it
            data, _ = json.JSONDecoder().raw_decode(text)
        except ValueError:
            data = None
        if isinstance(data, dict) and isinstance(data.get("error"), str):
            return str(data["error"])
    for stream in (stderr, stdout):
        for line in stream.splitlines():
            if line.strip():
                return line.strip()
    return None


@dataclass(frozen=True)
class Completed:
    """A tool that ran to completion with exit status 0."""

    args: tuple[str, ...]
    """The command line as run, with the ``ip netns exec <ns>`` prefix when there is one."""
    returncode: int
    """The exit status (always 0: anything else raised)."""
    stdout: str
    """Everything the tool wrote to stdout (UTF-8, undecodable bytes replaced)."""
    stderr: str
    """Everything the tool wrote to stderr."""
    seconds: float
    """Wall-clock run time, s."""


def _kill_group(process: subprocess.Popen[str] | subprocess.Popen[bytes], sig: int) -> None:
    """Send ``sig`` to the process group the tool leads (it was started in its own session)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)


def _signal_name(returncode: int) -> str:
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"


def run_tool(
    args: Sequence[str], role: str, iolog: IoLog, timeout_s: float, netns: str | None = None
) -> Completed:
    """Run one tool to completion and return what it printed.

    Parameters
    ----------
    args
        The program and its arguments, e.g. ``["iperf3", "--json", "-c", "10.0.0.2"]``.
    role
        The bench role the tool plays, for io.log and errors.
    iolog
        Where the command line and the exit status are logged.
    timeout_s
        Wall-clock limit, s. Past it the tool's whole process group is killed.
    netns
        Run inside this network namespace (``ip netns exec``); None runs it here.

    Raises
    ------
    InstrumentError
        The program is missing, did not finish within ``timeout_s``, was killed by a signal, or
        exited non-zero; ``command`` is the program's name and ``message`` the tool's own words.
    ValueError
        ``args``, ``timeout_s`` or ``netns`` is malformed; nothing is run.
    """
    args = list(args)
    if not args or not all(isinstance(a, str) and a for a in args):
        raise ValueError(f"args must be a non-empty list of non-empty strings, not {args!r}")
    if not math.isfinite(timeout_s) or timeout_s <= 0:
        raise ValueError(f"timeout must be a positive number of seconds, not {timeout_s!r}")
    program = os.path.basename(args[0])
    command = [*netns_prefix(netns), *args]
    iolog.record(role, SENT, shlex.join(command))
    started = time.monotonic()
    try:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
            start_new_session=True,
        )
    except FileNotFoundError:
        message = f"program not found: {command[0]}"
        iolog.record(role, RECEIVED, message)
        raise InstrumentError(role, program, None, message) from None
    except OSError as exc:
        message = f"cannot run {command[0]}: {exc.strerror or exc}"
        iolog.record(role, RECEIVED, message)
        raise InstrumentError(role, program, None, message) from None
    try:
        stdout, stderr = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        _kill_group(process, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.communicate(timeout=STOP_GRACE_S)
        message = f"no result within {timeout_s:g} s"
        iolog.record(role, RECEIVED, f"{message}; killed")
        raise InstrumentError(role, program, None, message) from None
    finally:
        if process.poll() is None:  # interrupted (KeyboardInterrupt): leave nothing behind
            _kill_group(process, signal.SIGKILL)
            process.wait()
    seconds = time.monotonic() - started
    code = process.returncode
    if code < 0:
        said = tool_message("", stderr)
        message = f"killed by {_signal_name(code)}" + (f": {said}" if said else "")
        iolog.record(role, RECEIVED, f"{message} after {seconds:.1f} s")
        raise InstrumentError(role, program, None, message)
    if code != 0:
        message = tool_message(stdout, stderr) or f"exit status {code}"
        iolog.record(role, RECEIVED, f"exit {code} after {seconds:.1f} s: {message}")
        raise InstrumentError(role, program, None, message)
    iolog.record(role, RECEIVED, f"exit 0 after {seconds:.1f} s")
    return Completed(tuple(command), code, stdout, stderr, seconds)


def _socket_inodes(pid: int, port: int, protocol: str) -> set[str]:
    """Inodes of the sockets bound to ``port`` in the network namespace of process ``pid``.

    Reads ``/proc/<pid>/net/{tcp,tcp6}`` (listening sockets, state 0A) or ``{udp,udp6}`` (bound
    sockets, state 07): these list the namespace the process is in, not ours.
    """
    state = "0A" if protocol == "tcp" else "07"
    found: set[str] = set()
    for name in (protocol, protocol + "6"):
        try:
            lines = Path(f"/proc/{pid}/net/{name}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and fields[3] == state and int(fields[1].rsplit(":", 1)[1], 16) == port:
                found.add(fields[9])
    return found


def _holds_socket(pid: int, inodes: set[str]) -> bool:
    """Whether process ``pid`` has one of the sockets ``inodes`` open."""
    wanted = {f"socket:[{inode}]" for inode in inodes}
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for fd in fds:
        with contextlib.suppress(OSError):
            if os.readlink(f"/proc/{pid}/fd/{fd}") in wanted:
                return True
    return False


class LocalServer:
    """A traffic tool's server on this machine for the length of a ``with`` block.

    ``iperf3 -s --json`` (no ``--one-off``: several clients run in a row; ``--json`` so that a
    client's ``--get-server-output`` brings back the server's results as JSON) or
    ``irtt server -i 0`` (no minimum interval of its own: the client's validated settings
    decide), bound to ``bind``:``port``, optionally inside network namespace ``netns``.

    Entering starts it and returns once the process itself holds its listening socket (a TCP
    listener for iperf3, a bound UDP socket for irtt, read from ``/proc/<pid>/net`` of the
    server's own namespace) or raises InstrumentError with the server's own message if it exits
    or is not ready within ``ready_timeout_s`` seconds. Leaving stops it: SIGTERM to its process
    group, SIGKILL after 2 s, even when the body raised. Start and stop are logged to io.log.
    The constructor does nothing but validate.
    """

    def __init__(
        self,
        tool: ServerTool,
        iolog: IoLog,
        bind: str,
        port: int,
        *,
        role: str = "traffic-server",
        netns: str | None = None,
        program: str | None = None,
        ready_timeout_s: float = 5.0,
    ) -> None:
        if tool not in ("iperf3", "irtt"):
            raise ValueError(f"tool must be 'iperf3' or 'irtt', not {tool!r}")
        try:
            ipaddress.ip_address(bind)
        except ValueError:
            raise ValueError(f"bind must be an IP address, not {bind!r}") from None
        check_port(port)
        if not math.isfinite(ready_timeout_s) or ready_timeout_s <= 0:
            raise ValueError(f"ready timeout must be a positive number of seconds, not {ready_timeout_s!r}")
        self.tool = tool
        self.iolog = iolog
        self.bind = bind
        self.port = port
        self.role = role
        self.netns = netns
        self.program = program or tool
        self.ready_timeout_s = ready_timeout_s
        if tool == "iperf3":
            # -i 0.1: the server reports its (receiver) intervals finely too, for the UL series
            args = [self.program, "-s", "--json", "-i", "0.1", "-B", bind, "-p", str(port)]
        else:
            args = [self.program, "server", "-b", host_port(bind, port), "-i", "0"]
        self.args: list[str] = [*netns_prefix(netns), *args]
        self._protocol = "tcp" if tool == "iperf3" else "udp"
        self._process: subprocess.Popen[bytes] | None = None
        self._output_dir: tempfile.TemporaryDirectory[str] | None = None
        self._output: IO[bytes] | None = None
        self._exit_logged = False

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs (it is also its process group id)."""
        return None if self._process is None else self._process.pid

    def __enter__(self) -> LocalServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def output(self) -> str:
        """What the server has printed so far (stdout and stderr together)."""
        if self._output_dir is None:
            return ""
        path = Path(self._output_dir.name) / "server.out"
        try:
            return path.read_bytes().decode("utf-8", errors="replace")
        except OSError:
            return ""

    def start(self) -> None:
        """Start the server and wait until it listens."""
        if self._process is not None:
            raise RuntimeError("the server is already running")
        self.iolog.record(self.role, SENT, shlex.join(self.args))
        self._output_dir = tempfile.TemporaryDirectory(prefix="fivegbench-server-")
        self._output = open(Path(self._output_dir.name) / "server.out", "wb")  # noqa: SIM115
        started = time.monotonic()
        try:
            self._process = subprocess.Popen(
                self.args,
                stdin=subprocess.DEVNULL,
                stdout=self._output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            self._cleanup()
            message = (
                f"program not found: {self.args[0]}"
                if isinstance(exc, FileNotFoundError)
                else f"cannot run {self.args[0]}: {exc.strerror or exc}"
            )
            self.iolog.record(self.role, RECEIVED, message)
            raise InstrumentError(self.role, self.program, None, message) from None
        try:
            self._wait_ready(started)
        except BaseException:
            self.stop()
            raise
        where = host_port(self.bind, self.port)
        self.iolog.record(
            self.role,
            RECEIVED,
            f"listening on {where} (pid {self._process.pid}) after {time.monotonic() - started:.1f} s",
        )
        log.info("%s: %s listening on %s", self.role, self.tool, where)

    def _wait_ready(self, started: float) -> None:
        process = self._process
        if process is None:  # pragma: no cover - start() sets it
            raise RuntimeError("the server is not running")
        while True:
            code = process.poll()
            if code is not None:
                said = tool_message(self.output(), "") or f"exit status {code}"
                self.iolog.record(self.role, RECEIVED, f"exit {code} before listening: {said}")
                self._exit_logged = True
                raise InstrumentError(self.role, self.program, None, f"server did not start: {said}")
            inodes = _socket_inodes(process.pid, self.port, self._protocol)
            if inodes and _holds_socket(process.pid, inodes):
                return
            if time.monotonic() - started > self.ready_timeout_s:
                message = f"server not listening on port {self.port} within {self.ready_timeout_s:g} s"
                self.iolog.record(self.role, RECEIVED, message)
                raise InstrumentError(self.role, self.program, None, message)
            time.sleep(0.02)

    def stop(self) -> None:
        """Stop the server (SIGTERM to its process group, SIGKILL after 2 s); idempotent."""
        process = self._process
        if process is not None:
            if process.poll() is not None:
                if not self._exit_logged:
                    said = tool_message(self.output(), "")
                    self.iolog.record(
                        self.role, RECEIVED, f"had exited by itself: exit {process.returncode}: {said}"
                    )
                    log.warning("%s: %s server had exited by itself (%s)", self.role, self.tool, said)
            else:
                self.iolog.record(self.role, SENT, f"stop pid {process.pid} (SIGTERM)")
                _kill_group(process, signal.SIGTERM)
                try:
                    process.wait(timeout=STOP_GRACE_S)
                    self.iolog.record(self.role, RECEIVED, f"stopped (exit {process.returncode})")
                except subprocess.TimeoutExpired:
                    _kill_group(process, signal.SIGKILL)
                    process.wait()
                    self.iolog.record(self.role, RECEIVED, f"killed after {STOP_GRACE_S:g} s (SIGKILL)")
            _kill_group(process, signal.SIGKILL)  # anything it forked in its group goes too
            self._process = None
            self._exit_logged = False
        self._cleanup()

    def _cleanup(self) -> None:
        if self._output is not None:
            self._output.close()
            self._output = None
        if self._output_dir is not None:
            self._output_dir.cleanup()
            self._output_dir = None
