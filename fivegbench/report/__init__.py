"""Trial reports: the HTML report (jinja2, matplotlib plots), JUnit XML."""

from __future__ import annotations

from pathlib import Path


def write_report(run_dir: Path) -> Path:
    """(Re)write ``run_dir/report.html`` from the run's ``record.json``; returns its path (see
    :func:`fivegbench.report.html.write_report`)."""
    from fivegbench.report.html import write_report as write  # jinja2 only when a report is made

    return write(run_dir)
