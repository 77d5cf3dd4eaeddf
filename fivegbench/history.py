"""Run history: ``results/index.sqlite`` (one row per run) and one value's trend across runs.

The index is a convenience, not the record: every row can be rebuilt from its run folder's
``record.json``. A run folder missing from the index (copied in, or run when the index could not
be written) is indexed from its record when runs are listed, and an index of an older layout is
migrated in place.
"""

from __future__ import annotations

import base64
import contextlib
import html
import io
import json
import logging
import os
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fivegbench.errors import FivegbenchError
from fivegbench.record import RunRecord
from fivegbench.verdict import Verdict

if TYPE_CHECKING:
    from matplotlib.figure import Figure

log = logging.getLogger(__name__)

INDEX = "index.sqlite"
RECORD = "record.json"

#: Verdict -> the column counting it.
COUNT_COLUMNS: dict[str, str] = {verdict.value: verdict.lower() for verdict in Verdict}

#: The ``runs`` table: column -> SQL type, in table order, the verdict counts last.
COLUMNS: dict[str, str] = {
    "run_id": "TEXT PRIMARY KEY",
    "folder": "TEXT",  # the run folder, relative to the results folder
    "trial": "TEXT",
    "plan": "TEXT",  # the plan file as given on the command line
    "plan_sha256": "TEXT",
    "bench": "TEXT",
    "simulated": "INTEGER",
    "dut_vendor": "TEXT",
    "dut_model": "TEXT",
    "dut_serial": "TEXT",
    "dut_firmware": "TEXT",
    "started": "TEXT",
    "finished": "TEXT",
    "status": "TEXT",
    "exit_code": "INTEGER",
    **dict.fromkeys(COUNT_COLUMNS.values(), "INTEGER"),
}


# --- run records ------------------------------------------------------------------------------


def read_record(run: Path) -> dict[str, Any]:
    """The ``record.json`` of a run folder (or the record file itself), parsed.

    Raises FivegbenchError (one line) for a folder without a record, an unreadable file, or
    JSON that is not a run record.
    """
    file = run / RECORD if run.is_dir() else run
    if not run.exists():
        raise FivegbenchError(f"{run}: no such run folder")
    if not file.is_file():
        raise FivegbenchError(f"{run}: no {RECORD} (not a run folder)")
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise FivegbenchError(f"{file}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise FivegbenchError(f"{file}: not a text file") from None
    except json.JSONDecodeError as exc:
        raise FivegbenchError(f"{file}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
    if not isinstance(data, dict) or not isinstance(data.get("run_id"), str):
        raise FivegbenchError(f"{file}: not a run record (no run_id)")
    if not isinstance(data.get("measurements", []), list):
        raise FivegbenchError(f"{file}: not a run record (measurements is not a list)")
    return data


def _text(value: object) -> str | None:
    """A DUT field as text (a plan may give a firmware as a number)."""
    return None if value is None else str(value)


def _folder(results_root: Path, run_dir: Path) -> str:
    """The run folder relative to the results folder (absolute when it lies outside it)."""
    run_dir = run_dir.resolve()
    try:
        return run_dir.relative_to(results_root.resolve()).as_posix()
    except ValueError:
        return str(run_dir)


def _row(results_root: Path, run_dir: Path, record: Mapping[str, Any]) -> dict[str, Any]:
    """The index row of a run, from its record (``RunRecord.to_dict()`` or ``record.json``)."""
    dut = record.get("dut") or {}
    counts = record.get("counts") or {}
    simulated = record.get("simulated")
    return {
        "run_id": record["run_id"],
        "folder": _folder(results_root, run_dir),
        "trial": record.get("trial"),
        "plan": record.get("plan_file"),
        "plan_sha256": record.get("plan_sha256"),
        "bench": record.get("bench_name"),
        "simulated": None if simulated is None else int(bool(simulated)),
        "dut_vendor": _text(dut.get("vendor")),
        "dut_model": _text(dut.get("model")),
        "dut_serial": _text(dut.get("serial")),
        "dut_firmware": _text(dut.get("firmware")),
        "started": record.get("started"),
        "finished": record.get("finished"),
        "status": record.get("status"),
        "exit_code": record.get("exit_code"),
        **{column: int(counts.get(verdict, 0)) for verdict, column in COUNT_COLUMNS.items()},
    }


# --- the index --------------------------------------------------------------------------------


def _insert(db: sqlite3.Connection, row: Mapping[str, Any]) -> None:
    names = ", ".join(COLUMNS)
    db.execute(
        f"INSERT OR REPLACE INTO runs ({names}) VALUES ({', '.join('?' * len(COLUMNS))})",
        [row[name] for name in COLUMNS],
    )


def _open_index(results_root: Path) -> sqlite3.Connection:
    """The index, created or migrated to :data:`COLUMNS` (in one write transaction, so that two
    processes never migrate it at once). Raises sqlite3 errors."""
    db = sqlite3.connect(results_root / INDEX, isolation_level=None)  # transactions by hand
    try:
        db.execute("BEGIN IMMEDIATE")
        db.execute(f"CREATE TABLE IF NOT EXISTS runs ({', '.join(f'{c} {t}' for c, t in COLUMNS.items())})")
        present = {row[1] for row in db.execute("PRAGMA table_info(runs)")}
        missing = [name for name in COLUMNS if name not in present]
        for name in missing:
            db.execute(f"ALTER TABLE runs ADD COLUMN {name} {COLUMNS[name]}")
        if missing:
            _refill(db, results_root)
        db.execute("COMMIT")
    except BaseException:
        db.close()
        raise
    return db


def _refill(db: sqlite3.Connection, results_root: Path) -> None:
    """After a migration: the new columns of each run, from its folder's record where it is."""
    for run_id, folder in db.execute("SELECT run_id, folder FROM runs").fetchall():
        run_dir = results_root / folder
        try:
            record = read_record(run_dir)
        except FivegbenchError:
            continue  # the folder was moved or its record is unreadable: the row keeps its old columns
        if record["run_id"] == run_id:
            _insert(db, _row(results_root, run_dir, record))


def index_run(results_root: Path, run_dir: Path, record: RunRecord) -> None:
    """Add the run to ``results/index.sqlite`` (one row per run; a run indexed again replaces its
    row). Raises OSError or sqlite3.Error."""
    db = _open_index(results_root)
    with contextlib.closing(db):
        db.execute("BEGIN IMMEDIATE")
        _insert(db, _row(results_root, run_dir, record.to_dict()))
        db.execute("COMMIT")


def _run_folders(results_root: Path) -> dict[str, Path]:
    """Folder (relative to the results folder) -> run folder, for each child holding a record."""
    return {
        _folder(results_root, child): child
        for child in sorted(results_root.iterdir())
        if (child / RECORD).is_file()
    }


def _unindexed_rows(results_root: Path, indexed: Mapping[str, str]) -> Iterator[dict[str, Any]]:
    """Rows of the run folders ``indexed`` (folder -> run_id) does not hold, from their records.
    A copy of an indexed run whose folder still exists is left out (its run_id is taken)."""
    taken = {run_id: folder for folder, run_id in indexed.items()}
    for folder, run_dir in _run_folders(results_root).items():
        if folder in indexed:
            continue
        try:
            record = read_record(run_dir)
        except FivegbenchError as exc:
            log.warning("%s: left out: %s", run_dir, exc)
            continue
        other = taken.get(record["run_id"])
        if other is not None and (results_root / other / RECORD).is_file():
            continue
        yield _row(results_root, run_dir, record)


def _indexed_rows(results_root: Path) -> list[dict[str, Any]]:
    """Every row of the index, after adding the run folders it did not hold. When the index
    cannot be written (a read-only copy of the results, a lock held too long), the rows come
    from the run folders' records alone."""
    index = results_root / INDEX
    try:
        return _synced_rows(results_root)
    except sqlite3.OperationalError as exc:  # read-only, locked, cannot be created
        if index.is_file() and not _readable_index(index):
            raise _corrupt(index, exc) from None
        log.warning("cannot update %s (%s): runs listed from their folders", index, exc)
        return list(_unindexed_rows(results_root, {}))
    except sqlite3.DatabaseError as exc:
        raise _corrupt(index, exc) from None


def _synced_rows(results_root: Path) -> list[dict[str, Any]]:
    """Add the run folders the index does not hold, then return all its rows. Raises sqlite3
    errors."""
    with contextlib.closing(_open_index(results_root)) as db:
        indexed = dict(db.execute("SELECT folder, run_id FROM runs").fetchall())
        db.execute("BEGIN IMMEDIATE")
        for row in _unindexed_rows(results_root, indexed):
            _insert(db, row)
        db.execute("COMMIT")
        cursor = db.execute(f"SELECT {', '.join(COLUMNS)} FROM runs")
        return [dict(zip(COLUMNS, values, strict=True)) for values in cursor]


def _readable_index(index: Path) -> bool:
    """Whether ``index`` is an SQLite database holding a ``runs`` table (opened read-only)."""
    try:
        with contextlib.closing(sqlite3.connect(f"{index.resolve().as_uri()}?mode=ro", uri=True)) as db:
            db.execute("SELECT run_id FROM runs LIMIT 1").fetchall()
    except sqlite3.DatabaseError:
        return False
    return True


def _corrupt(index: Path, exc: Exception) -> FivegbenchError:
    return FivegbenchError(
        f"{index}: not a readable run index ({exc}); move it aside and it is rebuilt from the run folders"
    )


def _plan_matches(wanted: str, plan: str | None) -> bool:
    """``--plan`` given as the plan file's path (as run, or the same file), name or stem."""
    if not plan:
        return False
    path = Path(plan)
    if wanted in (plan, path.name, path.stem) or os.path.normpath(wanted) == os.path.normpath(plan):
        return True
    return Path(wanted).resolve() == path.resolve()


def _entry(results_root: Path, row: Mapping[str, Any]) -> dict[str, Any]:
    """A row as ``fivegbench runs --json`` shows it: the run folder's path instead of the folder,
    ``simulated`` as a boolean, and the counts of the verdicts that occurred."""
    entry: dict[str, Any] = {"run_id": row["run_id"], "path": str(results_root / row["folder"])}
    for name in COLUMNS:
        if name not in ("run_id", "folder", *COUNT_COLUMNS.values()):
            entry[name] = row[name]
    if entry["simulated"] is not None:
        entry["simulated"] = bool(entry["simulated"])
    entry["counts"] = {verdict: n for verdict, column in COUNT_COLUMNS.items() if (n := row[column])}
    return entry


def list_runs(results_root: Path, plan: str | None = None, dut: str | None = None) -> list[dict[str, Any]]:
    """The runs under ``results_root``, newest first, as ``fivegbench runs --json`` lists them.

    Parameters
    ----------
    results_root : the results folder (holding ``index.sqlite`` and the run folders).
    plan : keep the runs of this plan: its file's path, file name or stem (``demo``).
    dut : keep the runs of the DUT with this serial number.

    Raises FivegbenchError (one line) when the folder is missing or the index is corrupt.
    """
    if not results_root.is_dir():
        raise FivegbenchError(f"{results_root}: no such results folder")
    rows = _indexed_rows(results_root)
    kept = [
        _entry(results_root, row)
        for row in rows
        if (plan is None or _plan_matches(plan, row["plan"])) and (dut is None or row["dut_serial"] == dut)
    ]
    kept.sort(key=lambda entry: (entry["started"] or "", entry["run_id"]), reverse=True)
    return kept


# --- one value across runs --------------------------------------------------------------------


def format_number(x: float | None) -> str:
    """A recorded number for a table: up to six significant digits, no exponent below 10⁶."""
    if x is None:
        return "-"
    return f"{x:.6g}" if abs(x) < 1e6 else f"{x:.0f}"


def point_text(point: Mapping[str, Any]) -> str:
    """A sweep point as text, ``tx_power 37 dBm``; empty without a sweep."""
    return ", ".join(f"{name} {value}" for name, value in point.items())


@dataclass(frozen=True)
class TrendPoint:
    """One recorded value of one run, for ``fivegbench trend``.

    Attributes
    ----------
    run_id, started, firmware : the run, its start (UTC ISO) and its DUT's firmware.
    step, point, repeat : the measurement (``point`` as text, empty without a sweep).
    value, unit : what was measured.
    low, high : the value's limit in that measurement (None: no such bound).
    """

    run_id: str
    started: str
    firmware: str | None
    step: str
    point: str
    repeat: str
    value: float
    unit: str
    low: float | None
    high: float | None

    def table_row(self) -> dict[str, str]:
        """The point as a table row: column -> text."""
        return {
            "run": self.run_id,
            "started": self.started,
            "firmware": self.firmware or "-",
            "step": self.step,
            "point": self.point or "-",
            "repeat": self.repeat,
            "value": f"{format_number(self.value)} {self.unit}",
        }


def _limit_of(measurement: Mapping[str, Any], value: str) -> tuple[float | None, float | None]:
    """The low and high bound the measurement's limits set on ``value`` (its first limit on it)."""
    for requirement in measurement.get("limits") or []:
        for limit in requirement.get("alternatives") or []:
            if limit.get("value") == value:
                return limit.get("low"), limit.get("high")
    return None, None


def trend(results_root: Path, plan: str, value: str, step: str | None = None) -> list[TrendPoint]:
    """``value`` in every measurement (of ``step``, if given) of the runs of ``plan``, oldest run
    first. Raises FivegbenchError (one line) when the plan has no runs or none holds the value."""
    runs = list_runs(results_root, plan=plan)
    if not runs:
        raise FivegbenchError(f"no run of plan {plan!r} under {results_root}")
    found: list[TrendPoint] = []
    names: set[str] = set()  # every value the runs hold, for the error message
    for run in reversed(runs):
        try:
            record = read_record(Path(run["path"]))
        except FivegbenchError as exc:
            log.warning("left out: %s", exc)
            continue
        for m in record.get("measurements", []):
            if not isinstance(m, dict) or (step is not None and m.get("step") != step):
                continue
            values = m.get("values") or {}
            names.update(values)
            measured = values.get(value) or {}
            number = measured.get("value")
            if isinstance(number, bool) or not isinstance(number, int | float):
                continue  # not measured (an error, a skipped step) or not a number
            low, high = _limit_of(m, value)
            found.append(
                TrendPoint(
                    run_id=run["run_id"],
                    started=run["started"] or "",
                    firmware=run["dut_firmware"],
                    step=str(m.get("step")),
                    point=point_text(m.get("point") or {}),
                    repeat=str(m.get("repeat", "1/1")),
                    value=float(number),
                    unit=str(measured.get("unit", "")),
                    low=low,
                    high=high,
                )
            )
    if not found:
        where = f" in step {step!r}" if step is not None else ""
        known = f" (values: {', '.join(sorted(names))})" if names else ""
        raise FivegbenchError(f"no run of plan {plan!r} holds a value {value!r}{where}{known}")
    return found


def _series(points: Iterable[TrendPoint]) -> dict[tuple[str, str], list[TrendPoint]]:
    """The points grouped per (step, sweep point), in the order they first appear."""
    series: dict[tuple[str, str], list[TrendPoint]] = {}
    for point in points:
        series.setdefault((point.step, point.point), []).append(point)
    return series


def trend_figure(points: list[TrendPoint], value: str, plan: str) -> Figure:
    """The value against each run's start time, one line per (step, sweep point); the limits the
    measurements carry dashed in the line's colour."""
    from matplotlib.colors import to_hex
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter, date2num
    from matplotlib.figure import Figure  # not pyplot: no global figure state

    figure = Figure(figsize=(9.0, 4.5))
    axes = figure.add_subplot()
    # each distinct limit trace once: in its line's colour, grey when several lines share it
    limits: dict[tuple[tuple[float, ...], tuple[float | None, ...]], list[str]] = {}
    for (step, point), series in _series(points).items():
        times = tuple(date2num([datetime.fromisoformat(p.started) for p in series]))
        (line,) = axes.plot(
            times, [p.value for p in series], "o-", label=f"{step}: {point}" if point else step
        )
        for bound in ("low", "high"):
            trace = tuple(getattr(p, bound) for p in series)
            if any(x is not None for x in trace):
                limits.setdefault((times, trace), []).append(to_hex(line.get_color()))
    for (times, trace), colours in limits.items():
        gapped = [float("nan") if x is None else x for x in trace]  # a run without the bound: a gap
        colour = colours[0] if len(colours) == 1 else "grey"
        axes.plot(times, gapped, "--", marker="_", markersize=16, color=colour)  # marker: seen for one run
    if limits:
        axes.plot([], [], "--", marker="_", markersize=16, color="grey", label="limit")
    starts = {datetime.fromisoformat(p.started) for p in points}
    if len(starts) == 1:  # one run: an hour either side, not matplotlib's default of years
        (middle,) = date2num(list(starts))
        axes.set_xlim(middle - 1 / 24, middle + 1 / 24)
    locator = AutoDateLocator()
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    unit = ", ".join(dict.fromkeys(p.unit for p in points))
    axes.set_ylabel(f"{value} ({unit})" if unit else value)
    axes.set_xlabel("run start (UTC)")
    axes.set_title(f"{value} across the runs of {plan}")
    axes.grid(True, alpha=0.3)
    axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7)
    return figure


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return buffer.getvalue()


def _trend_page(points: list[TrendPoint], value: str, plan: str, png: bytes) -> str:
    """One self-contained page: the plot as a data URI and the table; every text escaped."""
    title = html.escape(f"{value} across the runs of {plan}")
    header = "".join(f"<th>{html.escape(name)}</th>" for name in points[0].table_row())
    rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(text)}</td>" for text in p.table_row().values()) + "</tr>"
        for p in points
    )
    image = base64.b64encode(png).decode("ascii")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{title}</title>\n<style>\n"
        "body{font-family:sans-serif;margin:2em}img{max-width:100%}"
        "table{border-collapse:collapse;font-size:0.9em}th,td{border:1px solid #ccc;padding:2px 6px}"
        "th{background:#eee;text-align:left}\n</style>\n</head>\n<body>\n"
        f'<h1>{title}</h1>\n<img alt="{title}" src="data:image/png;base64,{image}">\n'
        f"<table>\n<tr>{header}</tr>\n{rows}\n</table>\n</body>\n</html>\n"
    )


#: What ``fivegbench trend --out`` writes, by the file's suffix.
TREND_OUTPUTS = (".png", ".html")


def write_trend(out: Path, points: list[TrendPoint], value: str, plan: str) -> None:
    """Write the trend plot as a PNG, or as an HTML page embedding it. Raises FivegbenchError."""
    if out.suffix.lower() not in TREND_OUTPUTS:
        raise FivegbenchError(f"--out {out}: the file must end in {' or '.join(TREND_OUTPUTS)}")
    png = _png(trend_figure(points, value, plan))
    try:
        if out.suffix.lower() == ".png":
            out.write_bytes(png)
        else:
            out.write_text(_trend_page(points, value, plan, png), encoding="utf-8")
    except OSError as exc:
        raise FivegbenchError(f"cannot write {out}: {exc.strerror or exc}") from None
