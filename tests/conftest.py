"""Fixtures several test modules share."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class PlanRun:
    """One ``fivegbench run`` of a plan, finished: its process (pid, exit code), what it printed,
    its run folder and its journal lines."""

    process: subprocess.Popen[str]
    output: str
    run_dir: Path
    lines: list[dict]

    @property
    def returncode(self) -> int:
        return int(self.process.returncode)


@pytest.fixture(scope="session")
def plan_run(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., PlanRun]:
    """``plan_run(plan, bench=None)``: the plan run once per session on ``bench`` (default the
    simulated bench). Modules that check different things of one run share it, so a traffic plan
    (20 s) is not run twice."""
    done: dict[tuple[Path, Path | None], PlanRun] = {}

    def run(plan: Path, bench: Path | None = None) -> PlanRun:
        key = (plan, bench)
        if key not in done:
            results = tmp_path_factory.mktemp(plan.stem)
            command = [sys.executable, "-m", "fivegbench", "run", str(plan), "--results", str(results)]
            command += ["--bench", str(bench)] if bench is not None else []
            process = subprocess.Popen(
                command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
            try:
                stdout, stderr = process.communicate(timeout=300)
            finally:
                if process.poll() is None:
                    process.kill()
                    process.communicate()
            (run_dir,) = [p for p in results.iterdir() if p.is_dir()]
            lines = [json.loads(line) for line in (run_dir / "journal.jsonl").read_text().splitlines()]
            done[key] = PlanRun(process, stdout + stderr, run_dir, lines)
        return done[key]

    return run
