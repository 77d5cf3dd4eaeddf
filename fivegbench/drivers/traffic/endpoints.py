"""The traffic endpoints of a bench: where the iperf3/irtt clients run (the UE side) and where
their server is (the core side), written as one resource string.

Resource syntax (the bench's ``resource`` of the ``traffic`` role)::

    local                                   clients here; a server started here on 127.0.0.1
    local?server=10.45.0.1                  clients here; a server already running behind the core
    netns:ue0?server=10.45.0.1              clients inside network namespace ue0
    netns:ue0?server=10.45.0.1&server_netns=core0
                                            ... and fivegbench starts the server in namespace core0

A server named without ``server_netns`` is somebody else's (behind the core network): it must
already be running. A server fivegbench starts is started at its first test and stopped when the
endpoints are closed (the end of the run, whatever ended it), so each test pays no start-up. The
simulated bench's link emulator answers with the last form.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from urllib.parse import parse_qs

from fivegbench.drivers.traffic.iperf3 import Iperf3, Iperf3Result, Iperf3Settings
from fivegbench.drivers.traffic.irtt import Irtt, IrttResult, IrttSettings
from fivegbench.drivers.traffic.process import LocalServer, ServerTool, check_host, run_tool
from fivegbench.errors import InstrumentError
from fivegbench.transport.base import IoLog

log = logging.getLogger(__name__)

_NETNS = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")
IPERF3_PORT = 5201
IRTT_PORT = 2112
VERSION_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Endpoints:
    """A parsed traffic resource."""

    client_netns: str | None
    server: str
    server_netns: str | None
    start_server: bool


def parse_resource(resource: str) -> Endpoints:
    """Parse the traffic role's resource string (see the module docstring). Raises ValueError."""
    where, _, query = resource.partition("?")
    try:
        options = {key: values[-1] for key, values in parse_qs(query, strict_parsing=bool(query)).items()}
    except ValueError:
        raise ValueError(f"traffic resource {resource!r}: the part after '?' is not key=value&...") from None
    unknown = set(options) - {"server", "server_netns"}
    if unknown:
        raise ValueError(f"traffic resource {resource!r}: unknown option(s) {', '.join(sorted(unknown))}")
    if where == "local":
        client_netns = None
    elif where.startswith("netns:") and _NETNS.fullmatch(where.removeprefix("netns:")):
        client_netns = where.removeprefix("netns:")
    else:
        raise ValueError(f"traffic resource {resource!r} must start with 'local' or 'netns:<name>'")
    server_netns = options.get("server_netns")
    if server_netns is not None and not _NETNS.fullmatch(server_netns):
        raise ValueError(f"traffic resource {resource!r}: server_netns is not a namespace name")
    server = options.get("server")
    if server is None and client_netns is not None:
        raise ValueError(f"traffic resource {resource!r}: clients in a namespace need a server=<address>")
    start = server is None or server_netns is not None
    return Endpoints(client_netns, check_host(server or "127.0.0.1"), server_netns, start)


class TrafficEndpoints:
    """Runs iperf3 and irtt between the bench's UE side and core side. The constructor does no
    I/O beyond parsing the resource."""

    def __init__(
        self,
        resource: str,
        iolog: IoLog,
        role: str = "traffic",
        iperf3_port: int = IPERF3_PORT,
        irtt_port: int = IRTT_PORT,
    ) -> None:
        self.endpoints = parse_resource(resource)
        self.iolog = iolog
        self.role = role
        self.iperf3_port = iperf3_port
        self.irtt_port = irtt_port
        self._servers = contextlib.ExitStack()
        self._started: set[str] = set()
        self._lock = threading.Lock()  # latency under load asks for both servers at once

    @property
    def server(self) -> str:
        return self.endpoints.server

    def idn(self) -> str:
        """The tools' versions, for the record: ``iperf 3.12; irtt 0.9.0``."""
        versions = []
        for command in (["iperf3", "--version"], ["irtt", "version"]):
            try:  # through the one seam, so io.log shows it too
                out = run_tool(command, self.role, self.iolog, VERSION_TIMEOUT_S).stdout
            except InstrumentError as exc:
                out = f"{command[0]}: {exc.message}"
            versions.append(out.strip().splitlines()[0] if out.strip() else f"{command[0]}: no version")
        where = (
            f"clients in netns {self.endpoints.client_netns}"
            if self.endpoints.client_netns
            else "clients here"
        )
        return f"{'; '.join(versions)}; {where}, server {self.server}"

    def iperf3(self, settings: Iperf3Settings) -> Iperf3Result:
        """One iperf3 test against the bench's server (``settings.server`` is replaced by it)."""
        settings = replace(settings, server=self.server, port=self.iperf3_port)
        with self._server("iperf3", self.iperf3_port):
            return Iperf3(self.iolog, self.role, self.endpoints.client_netns).run(settings)

    def irtt(self, settings: IrttSettings) -> IrttResult:
        """One irtt test; one-way delays count as valid when both ends share this host's clock."""
        same_host = self.endpoints.start_server
        settings = replace(settings, server=self.server, port=self.irtt_port, same_host=same_host)
        with self._server("irtt", self.irtt_port):
            return Irtt(self.iolog, self.role, self.endpoints.client_netns).run(settings)

    @contextlib.contextmanager
    def _server(self, tool: ServerTool, port: int) -> Iterator[None]:
        """The tool's server is running for the body (started at the first test, kept)."""
        with self._lock:
            if self.endpoints.start_server and tool not in self._started:
                server = LocalServer(
                    tool,
                    self.iolog,
                    self.server,
                    port,
                    role=f"{self.role}-server",
                    netns=self.endpoints.server_netns,
                )
                self._servers.enter_context(server)
                self._started.add(tool)
        yield

    def close(self) -> None:
        """Stop the servers fivegbench started."""
        with self._lock:
            self._started.clear()
            self._servers.close()
