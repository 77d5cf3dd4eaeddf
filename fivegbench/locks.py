"""One run per instrument: an OS file lock per resource, held for the run.

Raw-socket VISA and console servers have no locking of their own, so two runs on one bench would
drive the same instrument. ``flock`` is released by the kernel when its holder dies (even by
``kill -9``), so a dead run never leaves a bench locked; what a lock file says about its holder is
only read while the lock is held by someone, never trusted on its own.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import re
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from fivegbench.errors import BenchError

#: Shared by every user of the machine (sticky, world-writable like /tmp): a bench is shared too.
DEFAULT_LOCK_DIR = Path("/tmp/fivegbench-locks")


class BenchBusy(BenchError):
    """An instrument of the bench is held by another run."""


@dataclass(frozen=True)
class Holder:
    """Who holds a lock: written into the lock file so that the next run can name it."""

    pid: int
    plan: str
    started: str
    host: str

    @classmethod
    def this_process(cls, plan: str = "") -> Holder:
        return cls(os.getpid(), plan, datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), os.uname().nodename)

    def describe(self) -> str:
        plan = f", plan {self.plan}" if self.plan else ""
        return f"pid {self.pid} on {self.host}{plan}, since {self.started}"


def lock_dir() -> Path:
    """``$FIVEGBENCH_LOCK_DIR``, else :data:`DEFAULT_LOCK_DIR`."""
    return Path(os.environ.get("FIVEGBENCH_LOCK_DIR") or DEFAULT_LOCK_DIR)


def normalise(resource: str) -> str:
    """The instrument a resource string reaches, spelled one way: VISA is case-insensitive, the
    TCPIP board number does not change the remote instrument, and ``inst0`` is the default
    LAN device name (``TCPIP0::h::5025::SOCKET`` is ``tcpip::h::5025::socket``)."""
    text = resource.strip().lower()
    text = re.sub(r"^tcpip\d*::", "tcpip::", text)
    return re.sub(r"::inst0::instr$", "::instr", text)


def lock_path(resource: str, directory: Path) -> Path:
    digest = hashlib.sha256(normalise(resource).encode("utf-8")).hexdigest()[:32]
    return directory / f"{digest}.lock"


def _open(path: Path) -> int:
    """Open (or create) a lock file any user can lock. An existing file is opened without O_CREAT:
    with ``fs.protected_regular`` a sticky directory refuses O_CREAT on another user's file."""
    try:
        return os.open(path, os.O_RDWR)
    except FileNotFoundError:
        pass
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666)
    except FileExistsError:
        return os.open(path, os.O_RDWR)
    with contextlib.suppress(OSError):
        os.fchmod(fd, 0o666)  # despite the umask: another user's run must be able to lock it
    return fd


def _make_dir(directory: Path) -> None:
    if directory.is_dir():
        return
    try:
        directory.mkdir(parents=True, mode=0o777)
        os.chmod(directory, 0o1777)
    except FileExistsError:
        pass
    except OSError as exc:
        raise BenchError(f"cannot create the lock folder {directory}: {exc.strerror or exc}") from None


def _holder_of(fd: int) -> str:
    """What the file says about its live holder (it may not have written it yet)."""
    with contextlib.suppress(OSError, ValueError, TypeError):
        os.lseek(fd, 0, os.SEEK_SET)
        return Holder(**json.loads(os.read(fd, 4096).decode("utf-8"))).describe()
    return "another process (it has not said who yet)"


@contextmanager
def lock_resource(role: str, resource: str, holder: Holder, directory: Path) -> Iterator[None]:
    """Hold ``resource`` for ``holder`` until the block ends. Raises BenchBusy at once when
    another process holds it, naming that process."""
    _make_dir(directory)
    path = lock_path(resource, directory)
    try:
        fd = _open(path)
    except OSError as exc:
        raise BenchError(f"cannot open the lock file {path} for {role}: {exc.strerror or exc}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise BenchError(f"cannot lock {path} for {role}: {exc.strerror or exc}") from None
            raise BenchBusy(f"{role} {resource} is in use by another run: {_holder_of(fd)}") from None
        # whatever an earlier (dead) holder left is replaced before anyone can read it as ours
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(asdict(holder)).encode("utf-8"), 0)
        yield
    finally:
        os.close(fd)  # releases the lock; the file stays (removing it would race a waiting locker)


def who_holds(resource: str, directory: Path) -> str | None:
    """The holder of ``resource``'s lock, described, or None when nobody holds it."""
    path = lock_path(resource, directory)
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return _holder_of(fd)
        return None  # we got it (released on close): nobody holds it, the contents are stale
    finally:
        os.close(fd)


@contextmanager
def lock_all(resources: Iterable[tuple[str, str]], holder: Holder, directory: Path) -> Iterator[None]:
    """Hold every (role, resource) for the block; all or none. Two roles on one instrument take
    its lock once (a second flock of our own would report ourselves as the holder)."""
    seen: set[str] = set()
    with ExitStack() as stack:
        for role, resource in resources:
            if normalise(resource) not in seen:
                seen.add(normalise(resource))
                stack.enter_context(lock_resource(role, resource, holder, directory))
        yield
