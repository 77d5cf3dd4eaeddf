"""The results folder: run directory, streamed journal, atomic files (the index: fivegbench.history)."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO

from fivegbench.errors import ResultsError
from fivegbench.record import MeasurementRecord, RunRecord


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "plan"


def create_run_dir(results_root: Path, plan_file: Path) -> Path:
    """``results/<UTC timestamp>-<plan slug>/``; a suffix keeps two runs in one second apart."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    base = results_root / f"{stamp}-{slug(plan_file.stem)}"
    for n in range(100):
        run_dir = base if n == 0 else base.with_name(f"{base.name}-{n}")
        try:
            run_dir.mkdir(parents=True)
            (run_dir / "captures").mkdir()
            return run_dir
        except FileExistsError:
            continue
    raise FileExistsError(f"cannot create a run folder under {results_root}")


#: Kernel pseudo-filesystems: results written there would not be kept (or would reach the kernel).
PSEUDO_FILESYSTEMS = (Path("/proc"), Path("/sys"), Path("/dev"))


def check_results_root(root: Path) -> None:
    """Refuse a results folder that cannot hold runs, before anything is created or touched.
    Raises ResultsError (one line)."""
    try:
        resolved = root.resolve()
        for pseudo in PSEUDO_FILESYSTEMS:
            if resolved.is_relative_to(pseudo):
                raise ResultsError(
                    f"--results {root}: {pseudo} is a kernel pseudo-filesystem, not a folder for results"
                )
        existing = resolved
        while not existing.exists():
            existing = existing.parent
        if not existing.is_dir():
            raise ResultsError(f"--results {root}: {existing} is a file, not a folder")
        if not os.access(existing, os.W_OK | os.X_OK):
            raise ResultsError(f"--results {root}: {existing} is not writable")
    except (OSError, RuntimeError) as exc:  # a symbolic-link loop, an unreadable parent
        raise ResultsError(f"--results {root}: {getattr(exc, 'strerror', None) or exc}") from None


def new_run_dir(results_root: Path, plan_file: Path, bench_file: Path) -> Path:
    """A new run folder holding copies of the plan and bench; on failure nothing is left behind.
    Raises ResultsError (one line)."""
    check_results_root(results_root)
    run_dir: Path | None = None
    try:
        run_dir = create_run_dir(results_root, plan_file)
        copy_inputs(run_dir, plan_file, bench_file)
    except OSError as exc:
        if run_dir is not None:
            shutil.rmtree(run_dir, ignore_errors=True)
        raise ResultsError(f"cannot write the results under {results_root}: {exc.strerror or exc}") from None
    return run_dir


def copy_inputs(run_dir: Path, plan_file: Path, bench_file: Path) -> None:
    shutil.copyfile(plan_file, run_dir / f"plan{plan_file.suffix or '.yaml'}")
    shutil.copyfile(bench_file, run_dir / f"bench{bench_file.suffix or '.yaml'}")


def _umask() -> int:
    """The process umask: from /proc on Linux (setting it to read it, elsewhere, would change it
    for a moment for every thread)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_atomic(path: Path, text: str | Iterable[str]) -> None:
    """Write ``text`` (or its pieces, streamed) to ``path`` so that readers see the old file or
    the whole new one, never half of it."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp's 0600, made like every other result file
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            if isinstance(text, str):
                handle.write(text)
            else:
                handle.writelines(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def measurements(run_dir: Path, unfinished: Iterable[MeasurementRecord]) -> Iterator[dict[str, Any]]:
    """Every measurement of a run, streamed: the journal's lines, then the steps never run."""
    yield from read_journal(run_dir / "journal.jsonl")
    for record in unfinished:
        yield record.to_dict()


def read_journal(path: Path) -> Iterator[dict[str, Any]]:
    """The journal's measurements. A last line without its line feed was torn by a crash mid-write
    (the runner writes whole lines only) and is not a measurement: it is left out."""
    with open(path, encoding="utf-8") as journal:
        for line in journal:
            if line.endswith("\n") and line.strip():
                yield json.loads(line)


def truncate_torn_line(path: Path) -> int:
    """Cut a torn last line off the journal (before a run continues it); returns the bytes kept."""
    with open(path, "rb+") as journal:
        data = journal.read()
        keep = data.rfind(b"\n") + 1
        if keep < len(data):
            journal.truncate(keep)
            journal.flush()
            os.fsync(journal.fileno())
    return keep


def write_record(path: Path, record: RunRecord, items: Iterable[dict[str, Any]]) -> None:
    """``record.json``: the run's metadata and its measurements, streamed and written atomically."""
    head = json.dumps(record.to_dict(), indent=2)
    if not head.endswith("\n}"):
        raise ValueError("run record must be a non-empty JSON object")

    def pieces() -> Iterator[str]:
        yield head[: -len("\n}")] + ',\n  "measurements": ['
        for n, item in enumerate(items):
            yield ("\n    " if n == 0 else ",\n    ") + json.dumps(item, separators=(",", ":"))
        yield "\n  ]\n}\n"

    write_atomic(path, pieces())


class Journal:
    """``journal.jsonl``: one JSON object per finished measurement, appended, flushed and fsynced
    (a power cut or ``kill -9`` loses nothing measured, and ``--resume`` continues from it)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: TextIO = open(path, "a", encoding="utf-8")  # noqa: SIM115
        self.count = 0

    def append(self, record: MeasurementRecord) -> None:
        """Append one line and flush it. A line that cannot be written whole is cut off again, so
        the journal never holds a torn line; raises ResultsError."""
        line = json.dumps(record.to_dict(), separators=(",", ":")) + "\n"
        start = self._file.tell()
        try:
            self._file.write(line)
            self._file.flush()
            os.fsync(self._file.fileno())
        except OSError as exc:
            self._cut(start)
            raise ResultsError(f"cannot write {self.path}: {exc.strerror or exc}") from exc
        self.count += 1

    def _cut(self, size: int) -> None:
        """Drop what a failed write left after ``size`` bytes (and its unflushed buffer)."""
        with contextlib.suppress(OSError):
            self._file.close()
        with contextlib.suppress(OSError):
            os.truncate(self.path, size)
        with contextlib.suppress(OSError):  # if even this fails, the run stops on the error anyway
            self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115

    def close(self) -> None:
        with contextlib.suppress(OSError):  # a failed append was already reported
            self._file.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class RunLog(logging.FileHandler):
    """The run's ``run.log``. A record that cannot be written (a full disk) is not printed as a
    traceback per log call: the first failure is kept in :attr:`failure`, and the runner stops."""

    def __init__(self, path: Path, level: int) -> None:
        super().__init__(path, encoding="utf-8")
        self.setLevel(level)
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        self.failure: OSError | None = None

    def handleError(self, record: logging.LogRecord) -> None:
        error = sys.exc_info()[1]
        if not isinstance(error, OSError):
            super().handleError(record)
        elif self.failure is None:
            self.failure = error
