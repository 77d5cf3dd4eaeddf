"""The progress display of a run: step n/N, current parameters, last verdict, ETA (rich)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from fivegbench.record import MeasurementRecord

STYLE = {"PASS": "green", "FAIL": "bold red", "INCONCLUSIVE": "yellow", "ERROR": "magenta"}


def _point(step: Any) -> str:
    return ", ".join(f"{k} {v}" for k, v in step.point.items())


class RichDisplay:
    """A live bar on a terminal; one plain line per finished measurement otherwise (CI logs)."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.live = console.is_terminal
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("last: {task.fields[last]}"),
            TimeRemainingColumn(),
            console=console,
            disable=not self.live,
        )
        self.task = self.progress.add_task("starting", total=0, last="-")
        self.total = 0

    def start(self, total: int) -> None:
        self.total = total
        self.progress.update(self.task, total=total)
        self.progress.start()

    def step_started(self, step: Any) -> None:
        self.progress.update(self.task, description=f"{step.name} [{_point(step)}]")

    def step_finished(self, step: Any, record: MeasurementRecord) -> None:
        style = STYLE.get(record.verdict, "")
        verdict = f"[{style}]{record.verdict}[/]" if style else record.verdict
        self.progress.update(self.task, advance=1, last=verdict)
        line = f"{step.index:>4}/{self.total}  {record.verdict:<12} {step.name}  {_point(step)}"
        if record.error:
            line += f"  ({record.error})"
        if self.live:
            self.progress.console.print(line, style=style, markup=False, highlight=False)
        else:
            self.console.print(line, markup=False, highlight=False, soft_wrap=True)

    def stop(self) -> None:
        self.progress.stop()
