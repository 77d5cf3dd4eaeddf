"""How long the command line takes to answer, against the interpreter's own start-up.

Each command runs as a fresh process (as an engineer types it), sampled alternately with
``python -c pass`` so that machine load hits both alike; the report gives the median seconds and
the ratio to ``python -c pass``. Target (issue 8 §1): --help, validate and show under 0.3 s on an
idle machine. Run: ``.venv/bin/python benchmarks/cli_startup.py [repeats]``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from timing import paired_medians

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = {
    "--help": ["--help"],
    "--version": ["--version"],
    "validate demo": ["validate", "testplans/demo.yaml"],
    "show demo": ["show", "testplans/demo.yaml"],
    "schema kind rf.aclr": ["schema", "kind", "rf.aclr"],
}


def _runner(args: list[str]):  # type: ignore[no-untyped-def]
    def run() -> None:
        subprocess.run(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)

    return run


def main() -> int:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    baseline = _runner([sys.executable, "-c", "pass"])
    print(f"{'command':<22} {'median s':>9} {'python -c pass s':>17} {'ratio':>7}")
    for name, args in COMMANDS.items():
        seconds, bare = paired_medians(
            _runner([sys.executable, "-m", "fivegbench", *args]), baseline, repeats
        )
        print(f"{name:<22} {seconds:>9.3f} {bare:>17.3f} {seconds / bare:>7.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
