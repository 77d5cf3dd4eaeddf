"""Drawing the report's plots, here or in worker processes.

A report of a long run draws ~60 plots at 0.1-0.3 s each: two worker processes halve that. They
are started as ``python -m fivegbench.report.plot_worker`` (never multiprocessing's spawn, which
re-runs the caller's main script in each worker: a script that runs a plan without a ``__main__``
guard would start the run again). A job goes in as JSON on stdin, its plots come back as JSON on
stdout; a worker that fails leaves its jobs to this process.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

PARALLEL_FROM = 12
"""Jobs from which plots are drawn in worker processes: a worker costs ~0.7 s to start (numpy,
matplotlib)."""
MAX_WORKERS = 2
"""Worker processes at most (the machines have two cores; more only share them)."""
TIMEOUT_S = 600.0
"""A worker still drawing after this long is stopped and its jobs drawn here."""

Job = list[Any]
"""One plot job: ["sweep", step, kind, measurements] or ["point", measurement] (JSON-ready)."""


def draw(run_dir: Path, job: Job) -> list[dict[str, str]]:
    """The plots of one job as ``{"title", "png"}``; none (logged) if drawing fails: a plot never
    costs the report."""
    from fivegbench.report.plots import point_plots, sweep_plots  # matplotlib: only reports need it

    try:
        plots = sweep_plots(run_dir, *job[1:]) if job[0] == "sweep" else point_plots(run_dir, job[1])
    except Exception as exc:
        log.warning("plots of a %s job left out: %s: %s", job[0], type(exc).__name__, exc, exc_info=True)
        return []
    return [{"title": p.title, "png": p.png} for p in plots]


def draw_all(run_dir: Path, jobs: list[Job]) -> list[list[dict[str, str]]]:
    """Every job's plots, in order: in this process for a few jobs or on one core, else shared
    round-robin between worker processes."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    workers = min(MAX_WORKERS, cores)
    if len(jobs) < PARALLEL_FROM or workers < 2:
        return [draw(run_dir, job) for job in jobs]
    shares = [list(range(w, len(jobs), workers)) for w in range(workers)]
    results: list[list[list[dict[str, str]]] | None] = [None] * workers
    threads = [
        threading.Thread(
            target=_run_worker, args=(run_dir, [jobs[i] for i in share], results, w), daemon=True
        )
        for w, share in enumerate(shares)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    out: list[list[dict[str, str]]] = [[] for _ in jobs]
    for w, share in enumerate(shares):
        drawn = results[w]
        for n, i in enumerate(share):
            out[i] = drawn[n] if drawn is not None else draw(run_dir, jobs[i])
    return out


def _run_worker(run_dir: Path, jobs: list[Job], results: list[Any], slot: int) -> None:
    """One worker process over ``jobs``; its plots go to ``results[slot]`` (None if it failed)."""
    request = json.dumps({"run_dir": str(run_dir), "jobs": jobs})
    try:
        done = subprocess.run(
            [sys.executable, "-m", "fivegbench.report.plot_worker"],
            input=request,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            check=False,
        )
        drawn = json.loads(done.stdout) if done.returncode == 0 else None
        if not isinstance(drawn, list) or len(drawn) != len(jobs):
            raise ValueError(f"exit {done.returncode}: {done.stderr.strip()[-300:]}")
        results[slot] = drawn
    except (OSError, ValueError, subprocess.SubprocessError) as exc:
        log.warning("plot worker failed (%s): its plots are drawn in this process", exc)


def main() -> None:
    """The worker: jobs from stdin, plots to stdout. The run's Ctrl-C and kill are the parent's to
    handle (it writes the report whatever arrives); garbage collection off (plots make no cycles
    worth the pauses)."""
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)
    gc.disable()
    request = json.load(sys.stdin)
    run_dir = Path(request["run_dir"])
    json.dump([draw(run_dir, job) for job in request["jobs"]], sys.stdout)


if __name__ == "__main__":
    main()
