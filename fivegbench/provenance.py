"""Where a run's numbers come from, for the report's traceability: software versions, the
controller's time zone, the report ID."""

from __future__ import annotations

import platform
import subprocess
import time
import uuid
from importlib import metadata
from pathlib import Path

from fivegbench import __version__

#: The libraries a reviewer may ask about: numbers (numpy, scipy), instrument I/O, units, plots.
KEY_LIBRARIES = (
    "numpy",
    "scipy",
    "pyvisa",
    "pyvisa-py",
    "pyserial",
    "pint",
    "pydantic",
    "sigmf",
    "matplotlib",
    "jinja2",
)


#: The package's own folder: in a git checkout, its commit is the software's exact version.
PACKAGE_DIR = Path(__file__).resolve().parent


def _git(*args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(PACKAGE_DIR), *args], capture_output=True, text=True, timeout=5, check=True
    )
    return done.stdout.strip()


def git_commit() -> str | None:
    """The commit of the checkout fivegbench runs from (``+dirty`` with local changes to it);
    None when it is not a git checkout (an installed wheel) or git is missing."""
    try:
        commit = _git("rev-parse", "HEAD")
        dirty = _git("status", "--porcelain", "--untracked-files=no", "--", ".")
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{commit}+dirty" if dirty else commit


def versions() -> dict[str, str]:
    """Python, fivegbench, its git commit and :data:`KEY_LIBRARIES` (``not installed`` where so)."""
    found = {
        "python": f"{platform.python_version()} ({platform.python_implementation()})",
        "platform": platform.platform(),
        "fivegbench": __version__,
    }
    commit = git_commit()
    if commit is not None:
        found["fivegbench git commit"] = commit
    for name in KEY_LIBRARIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def local_timezone() -> str:
    """The controller's UTC offset and zone name now, e.g. ``+0700 ICT``."""
    return time.strftime("%z %Z")


def new_report_id(run_id: str) -> str:
    """A report ID unique across labs and controllers: the run folder's name and a random part."""
    return f"FGB-{run_id}-{uuid.uuid4().hex[:8].upper()}"
