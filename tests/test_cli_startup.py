"""The command line starts without the heavy modules (timings: benchmarks/cli_startup.py).

`--help`, `validate` and `show` must not import scipy.signal, scipy.stats, matplotlib, jinja2,
the EVM receiver or the runner: they are imported by the commands that use them. (pint imports
the top-level ``scipy`` package itself, so only the subpackages are checked.)
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HEAVY = (
    "scipy.signal",
    "scipy.stats",
    "matplotlib",
    "jinja2",
    "sigmf",
    "fivegbench.reduce.evm",
    "fivegbench.runner",
)

PROBE = """
import json, sys
from fivegbench import cli
args = sys.argv[1:]
if args:
    try:
        cli.main.main(args, standalone_mode=False)
    except SystemExit:
        pass
print(json.dumps(sorted(m for m in sys.modules if m.startswith({heavy!r}))))
"""


@pytest.mark.parametrize(
    "args",
    [[], ["--help"], ["validate", "testplans/demo.yaml"], ["show", "testplans/demo.yaml"]],
    ids=["import", "help", "validate", "show"],
)
def test_the_cli_does_not_import_heavy_modules(args):
    probe = PROBE.format(heavy=HEAVY)
    proc = subprocess.run(
        [sys.executable, "-c", probe, *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.splitlines()[-1]) == []


def test_the_probe_can_see_a_heavy_import():
    # the same probe, after an analysis command's own import: proves the check above can fail
    probe = "import fivegbench.reduce.evm\n" + PROBE.format(heavy=HEAVY)
    proc = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert "fivegbench.reduce.evm" in json.loads(proc.stdout.splitlines()[-1])
