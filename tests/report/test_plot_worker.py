"""Plots drawn in worker processes are the plots this process would draw, in the same order; a
worker that cannot start leaves its jobs to this process."""

from __future__ import annotations

import json
import sys

import pytest

from fivegbench.report import model, plot_worker
from tests.report.fake_run import make_run

FEW = 5  # jobs that go to workers in these tests (a report sends them from PARALLEL_FROM on)


@pytest.fixture(autouse=True)
def few_jobs_suffice(monkeypatch):
    monkeypatch.setattr(plot_worker, "PARALLEL_FROM", FEW)


@pytest.fixture(scope="module")
def jobs(tmp_path_factory):
    run = make_run(tmp_path_factory.mktemp("runs"), 30, kinds=("rf.power", "rf.aclr"))
    record = json.loads((run / "record.json").read_text())
    blocks = model.steps(record["measurements"], record["cell"])
    chosen = model.point_plot_rows(blocks)[: FEW - len(blocks)]
    sweeps = [["sweep", b.name, b.kind, b.in_run_order()] for b in blocks]
    return run, sweeps + [["point", r.m] for r in chosen]


def test_workers_draw_what_this_process_draws(jobs):
    run, work = jobs
    assert len(work) == FEW
    here = [plot_worker.draw(run, job) for job in work]
    assert sum(len(p) for p in here) >= len(work) // 2  # most jobs have a plot (an ERROR point has none)
    assert plot_worker.draw_all(run, work) == here


def test_a_worker_that_cannot_start_leaves_its_jobs_here(jobs, monkeypatch, caplog):
    run, work = jobs
    monkeypatch.setattr(sys, "executable", "/nonexistent/python")
    drawn = plot_worker.draw_all(run, work)
    assert drawn == [plot_worker.draw(run, job) for job in work]
    assert "plot worker failed" in caplog.text
