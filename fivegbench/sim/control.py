"""The control socket of ``fivegbench sim serve``: faults injected from another terminal.

``sim serve`` listens on a Unix-domain socket (``--control PATH``, by default
:func:`default_path`); ``fivegbench sim fault`` sends it one JSON line and reads one back:

* ``{"role": "analyzer", "fault": {"mode": "drop"}}`` -> ``{"ok": true, "message": "..."}``
* ``{"role": "analyzer", "clear": true}`` disarms that role's faults;
* anything wrong -> ``{"ok": false, "error": "<one line>"}``.

A Unix socket rather than TCP: only this machine's users, with the file's permissions, can
reach it, and it needs no port.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import socketserver
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from fivegbench.sim.faults import Faults, FaultSpec

MAX_REQUEST_BYTES = 65536


def default_path() -> Path:
    """Where ``sim serve`` listens unless told otherwise: one per user."""
    return Path(tempfile.gettempdir()) / f"fivegbench-sim-{os.getuid()}.sock"


def answer(request: Any, faults: Mapping[str, Faults]) -> dict[str, Any]:
    """Carry out one request; never raises (a bad request is an error answer)."""
    if not isinstance(request, dict) or not isinstance(request.get("role"), str):
        return {"ok": False, "error": "a request is a JSON object with a 'role'"}
    role = request["role"]
    if role not in faults:
        return {
            "ok": False,
            "error": f"no simulated {role!r} (running: {', '.join(sorted(faults)) or 'none'})",
        }
    if request.get("clear") is True:
        faults[role].clear()
        return {"ok": True, "message": f"{role}: faults cleared"}
    try:
        spec = FaultSpec.model_validate(request.get("fault"))
        faults[role].inject(spec)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return {"ok": False, "error": f"{where + ': ' if where else ''}{first['msg']}"}
    except ValueError as exc:
        return {"ok": False, "error": f"{role}: {exc}"}
    when = f"at the {spec.count}. message containing {spec.at!r}" if spec.at else "now"
    return {"ok": True, "message": f"{role}: {spec.mode} {when}"}


class ControlServer:
    """Serves :func:`answer` on a Unix-domain socket at ``path`` until :meth:`stop`."""

    def __init__(self, path: Path, faults: Mapping[str, Faults]) -> None:
        self.path = path
        self._faults = faults
        self._server: socketserver.ThreadingUnixStreamServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        with contextlib.suppress(FileNotFoundError):  # a stale socket of a killed server
            self.path.unlink()
        faults = self._faults

        class Handler(socketserver.StreamRequestHandler):
            timeout = 5.0  # a client that connects and says nothing does not hold a thread

            def handle(self) -> None:
                try:
                    line = self.rfile.readline(MAX_REQUEST_BYTES)
                    reply = answer(json.loads(line), faults)
                except (OSError, ValueError) as exc:
                    reply = {"ok": False, "error": f"bad request: {exc}"}
                with contextlib.suppress(OSError):
                    self.wfile.write(json.dumps(reply).encode() + b"\n")

        server = socketserver.ThreadingUnixStreamServer(str(self.path), Handler)
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="sim-control", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def send(path: Path, request: dict[str, Any], timeout: float = 5.0) -> dict[str, Any]:
    """Send one request to a running ``sim serve``; return its answer. OSError if none runs."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(str(path))
        sock.sendall(json.dumps(request).encode() + b"\n")
        reply = b""
        while not reply.endswith(b"\n"):
            chunk = sock.recv(4096)
            if not chunk:
                break
            reply += chunk
    result = json.loads(reply or b"{}")
    return result if isinstance(result, dict) else {"ok": False, "error": "bad answer"}
