"""Hardware-in-the-loop tests are opt-in: ``pytest --bench instruments/benches/lab3.yaml``
runs the driver conformance tests (``tests/conformance``) against that bench's instruments, and
``--allow-rf`` lets the few that need the gNB transmitting switch RF on. Without ``--bench`` they
are skipped (one line in the summary).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conformance.option import BENCH_KEY

CONFORMANCE = Path(__file__).resolve().parent / "tests" / "conformance"
NO_BENCH = "hardware tests: no --bench given (pytest --bench instruments/benches/<lab>.yaml)"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("fivegbench", "fivegbench hardware-in-the-loop tests")
    group.addoption(
        "--bench",
        metavar="BENCH_YAML",
        default=None,
        help="run the driver conformance tests against this bench's instruments (RF stays off)",
    )
    group.addoption(
        "--allow-rf",
        action="store_true",
        default=False,
        help="with --bench: let the tests that need it switch the gNB's RF on (then off again)",
    )
    group.addoption(
        "--bench-io-log",
        metavar="PATH",
        default=None,
        help="with --bench: append every instrument exchange to this file (the run's io.log format)",
    )


def pytest_configure(config: pytest.Config) -> None:
    path = config.getoption("--bench")
    if path is None:
        return
    from fivegbench.bench import load_bench  # only when asked: the default run stays light
    from fivegbench.errors import FivegbenchError

    try:
        config.stash[BENCH_KEY] = load_bench(Path(path))
    except (FivegbenchError, OSError) as exc:
        raise pytest.UsageError(f"--bench {path}: {exc}") from None


class _NotRun(pytest.Directory):
    """``tests/conformance`` without ``--bench``: one skipped test for the whole folder."""

    def collect(self) -> list[pytest.Item]:
        return [_Skipped.from_parent(self, name="hardware conformance tests")]


class _Skipped(pytest.Item):
    def runtest(self) -> None:
        pytest.skip(NO_BENCH)

    def reportinfo(self) -> tuple[Path, None, str]:
        return self.path, None, self.name


def pytest_collect_directory(path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    config = parent.config
    if path.resolve() != CONFORMANCE or config.getoption("--bench") is not None:
        return None
    # A file or test inside named on the command line is collected: the lab_bench fixture skips it.
    inside = [arg for arg in config.args if CONFORMANCE in Path(arg.split("::")[0]).resolve().parents]
    return None if inside else _NotRun.from_parent(parent, path=path)


@pytest.fixture(scope="session")
def lab_bench(pytestconfig: pytest.Config) -> Any:
    """The bench of ``--bench``; without it, every test using it is skipped with this one reason."""
    if BENCH_KEY not in pytestconfig.stash:
        pytest.skip(NO_BENCH)
    return pytestconfig.stash[BENCH_KEY]
