"""Read a plan file: bounded YAML, validated models, and where each key came from."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

from fivegbench.errors import PlanError
from fivegbench.plan import yamlsafe
from fivegbench.plan.model import Plan

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadedPlan:
    """A validated plan with its source: file name, text, SHA-256 and key positions."""

    plan: Plan
    file: str
    sha256: str
    text: str
    positions: yamlsafe.Positions = field(repr=False, compare=False)

    def where(self, path: str) -> tuple[int | None, int | None]:
        """Line and column (1-based) of a key path such as ``steps[0].sweep.tx_power[3]``.

        Falls back to the deepest enclosing key that exists; ``(None, None)`` when none does.
        """
        try:
            key = yamlsafe.parse_path(path)
        except ValueError:
            return None, None
        return yamlsafe.where(self.positions, key)

    def error(self, path: str, message: str) -> PlanError:
        """A PlanError pointing at ``path`` in this plan (for checks made after loading)."""
        line, col = self.where(path)
        return PlanError(self.file, line, col, path, message)


def parse_plan(text: str, file: str = "<plan>", sha256: str | None = None) -> LoadedPlan:
    """Validate plan ``text`` (``file`` names it in messages). Raises PlanError."""
    data, positions = yamlsafe.loads(text, file)
    plan = yamlsafe.validate(Plan, data, positions, file)
    digest = sha256 or hashlib.sha256(text.encode("utf-8")).hexdigest()
    return LoadedPlan(plan=plan, file=file, sha256=digest, text=text, positions=positions)


def load_plan(path: Path) -> LoadedPlan:
    """Read and validate the plan at ``path``. Raises PlanError for every problem with it."""
    path = Path(path)
    data, text = yamlsafe.read_text(path)
    loaded = parse_plan(text, str(path), hashlib.sha256(data).hexdigest())
    log.debug("loaded plan %s (%d steps)", path, len(loaded.plan.steps))
    return loaded
