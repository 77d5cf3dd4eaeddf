"""``fivegbench run --resume RUN_DIR``: continue a run that was stopped (``kill -9``, a power cut,
a crash) in its own folder, from the plan and bench copies, its record and its journal.

A measurement is identified by its step index (1-based across the expanded plan: plan step x
sweep point x repeat), which the journal records; the same plan expands to the same indices, and
the plan's SHA-256 is checked before anything is touched to make sure it is the same plan.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fivegbench.errors import FivegbenchError
from fivegbench.store import read_journal, truncate_torn_line, utc_now

if TYPE_CHECKING:  # the command line imports this before it needs the plan machinery
    from fivegbench.plan.expand import Step


class ResumeRefused(FivegbenchError):
    """The run folder cannot be continued as asked: nothing was measured or written."""


@dataclass(frozen=True)
class Resume:
    """What the run so far left: its record, and the journal's measurements."""

    previous: dict[str, Any]
    """record.json as the stopped run left it (status ``running`` after a ``kill -9``)."""
    done: frozenset[int]
    """Step indices that have a journal line."""
    verdicts: Counter[str]
    at: str

    def remaining(self, steps: Sequence[Step]) -> list[Step]:
        return [step for step in steps if step.index not in self.done]

    def resumed(self) -> list[dict[str, Any]]:
        """The record's ``resumed`` list, this resume added."""
        return [*self.previous.get("resumed", []), {"at": self.at, "completed_before": len(self.done)}]

    def check_plan(self, sha256: str) -> None:
        if sha256 != self.previous.get("plan_sha256"):
            raise ResumeRefused(
                f"the plan copy's SHA-256 {sha256[:12]}... differs from the run's "
                f"{str(self.previous.get('plan_sha256'))[:12]}...: not the plan this run started with"
            )

    def check_identities(self, found: Mapping[str, str]) -> None:
        """Refuse other instruments than the run measured with (their ``*IDN?``, serial included)."""
        for role, described in self.previous.get("instruments", {}).items():
            before = described.get("identity")
            if before is not None and role in found and found[role] != before:
                raise ResumeRefused(
                    f"{role} answers {found[role]!r}, but the run measured with {before!r}: "
                    "not the same instrument"
                )


def copy_in(run_dir: Path, name: str) -> Path:
    """The plan or bench copy (``plan.yaml``, ``bench.yml``, ...) in a run folder."""
    found = sorted(run_dir.glob(f"{name}.y*ml"))
    if len(found) != 1:
        raise ResumeRefused(f"{run_dir}: no {name} copy ({name}.yaml): not a fivegbench run folder")
    return found[0]


def open_run(run_dir: Path, steps: Sequence[Step]) -> Resume:
    """Read a stopped run's record and journal (a torn last line is cut off) against the expanded
    ``steps`` of its plan copy. Raises ResumeRefused with one line."""
    record_path, journal_path = run_dir / "record.json", run_dir / "journal.jsonl"
    if not record_path.is_file() or not journal_path.is_file():
        raise ResumeRefused(
            f"{run_dir}: no record.json or journal.jsonl: the run stopped before it connected "
            "(nothing was measured); start it again"
        )
    try:
        previous = json.loads(record_path.read_text(encoding="utf-8"))
        truncate_torn_line(journal_path)
        entries = [(int(entry["index"]), str(entry["verdict"])) for entry in read_journal(journal_path)]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ResumeRefused(f"{run_dir}: cannot read the run so far: {exc}") from None
    known = {step.index for step in steps}
    strays = sorted({index for index, _ in entries} - known)
    if strays:
        raise ResumeRefused(f"{journal_path}: step {strays[0]} is not in the plan copy")
    return Resume(
        previous=previous,
        done=frozenset(index for index, _ in entries),
        verdicts=Counter(verdict for _, verdict in entries),
        at=utc_now(),
    )
