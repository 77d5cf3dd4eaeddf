"""``report.html``: the trial report a reviewer signs, one self-contained page (inline CSS, plots
as PNG data URIs, no script, no external resource), regenerated at any time from the run folder
by ``fivegbench report RUN_DIR``. What it says is gathered in :mod:`fivegbench.report.model`;
the template (``templates/report.html``) lays it out, escaping everything.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from fivegbench.errors import FivegbenchError
from fivegbench.history import read_record
from fivegbench.report import model
from fivegbench.report.plot_worker import Job, draw_all
from fivegbench.store import write_atomic

log = logging.getLogger(__name__)


class ReportError(FivegbenchError):
    """A run folder the report cannot be made from (one line)."""


def css_string(text: object) -> str:
    """``text`` as the body of a CSS string (for ``@page`` running headers): every character that
    could end the string, the rule or the style element is written as a CSS escape."""
    return re.sub(r"[^A-Za-z0-9 _.,:;()\-]", lambda m: f"\\{ord(m.group(0)):06x}", str(text))


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("fivegbench.report", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["css_string"] = css_string
    env.filters["plain"] = model.plain_name
    env.filters["raw_link"] = model.is_raw_link
    return env


def render(run_dir: Path, record: dict[str, Any]) -> str:
    """The report page of the run in ``run_dir`` whose ``record.json`` is ``record``."""
    measurements = record["measurements"]
    cell = record.get("cell") or {}
    blocks = model.steps(measurements, cell)
    chosen = model.point_plot_rows(blocks)
    jobs: list[Job] = [["sweep", b.name, b.kind, b.in_run_order()] for b in blocks]
    jobs += [["point", r.m] for r in chosen]
    drawn = draw_all(run_dir, jobs)
    for block, plots in zip(blocks, drawn, strict=False):
        block.plots = plots
    point = list(zip(chosen, drawn[len(blocks) :], strict=True))
    return (
        _environment()
        .get_template("report.html")
        .render(
            r=record,
            summary=model.summary(record),
            cell=model.described(cell),
            failures=list(model.failures(blocks)),
            blocks=blocks,
            point_plots=[(r, plots) for r, plots in point if plots],
            instruments=model.instruments(record),
            deviations=model.deviations(record, blocks, run_dir),
            raw=model.raw_files(run_dir, measurements),
            plan_text=model.text_file(run_dir / "plan.yaml"),
            bench_text=model.text_file(run_dir / "bench.yaml"),
            generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
            max_point_plots=model.MAX_POINT_PLOTS,
            max_failures_listed=model.MAX_FAILURES_LISTED,
        )
    )


def write_report(run_dir: Path) -> Path:
    """(Re)write ``run_dir/report.html`` from ``run_dir/record.json``; returns its path. Raises
    ReportError (one line) for a folder that holds no readable run record."""
    if run_dir.is_dir() and not (run_dir / "record.json").exists():
        raise ReportError(f"{run_dir}: no record.json (not a run folder, or the run never started)")
    record = model.completed(read_record(run_dir))
    record.setdefault("measurements", [])
    path = run_dir / "report.html"
    page = render(run_dir, record)
    try:
        write_atomic(path, page)
    except OSError as exc:
        raise ReportError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path
