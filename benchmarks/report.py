"""Report performance, as ratios against baselines measured in the same run (issue 10: "the
report of a 1,000-measurement run is generated in under 5 s and stays under 10 MB; the report
of a 10,000-measurement run opens in Chromium in under 3 s").

    .venv/bin/python benchmarks/report.py

Runs: synthetic run folders (tests/report/fake_run.py) of 1,000 and 10,000 measurements over
the seven kinds (power, ACLR, SEM, OBW, EVM, throughput, latency), mostly PASS with FAIL,
INCONCLUSIVE, ERROR and SKIPPED mixed in, and a few captures for the plots.

Baselines:
  generation  json.dumps of the same record.json content and its write: the least any report of
              it costs (reading, serialising, writing every measurement once);
  size        the run's own record.json (the 10,000 run's too, for information);
  opening     a page of exactly the report's bytes, one line of text and an HTML comment
              holding the rest: what Chromium needs to read and tokenize that many bytes at
              all, with nothing to build or lay out (the same bytes as <p> paragraphs or table
              rows take 3 to 10 times longer than the report itself: no floor to compare with).

Opening is Chromium's own Navigation Timing: navigation start to the end of the load event
(headless Debian Chromium through Playwright, a fresh page per load, the report and the
baseline loaded alternately, median of 5).

Prints a table: figure, ours, baseline, ratio, target. Exits 1 if a target is missed, 2 when
fivegbench.report.write_report, /usr/bin/chromium or playwright is missing.
Targets:
  write_report of the 1,000-measurement run (s)                 < 5 s
  its report.html (MB)                                          < 10 MB
  the 10,000-measurement report opened in Chromium (s)          < 3 s
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from timing import Row, paired_medians, report  # noqa: E402

from tests.report.fake_run import make_run  # noqa: E402
from tests.report.test_browser import CHROMIUM, chromium  # noqa: E402

GENERATION_REPEATS = 3
OPENING_REPEATS = 5


def baseline_writer(run_dir: Path, out: Path) -> Callable[[], object]:
    """json.dumps + write of the run's record, as it was read."""
    record = json.loads((run_dir / "record.json").read_text(encoding="utf-8"))
    return lambda: out.write_text(json.dumps(record, indent=2, ensure_ascii=False), encoding="utf-8")


def plain_page(size: int, path: Path) -> Path:
    """An HTML page of exactly ``size`` bytes: a title, one paragraph and a comment of
    99-character lines."""
    head = b"<!doctype html><meta charset=utf-8><title>baseline</title><p>baseline</p><!--"
    tail = b"-->\n"
    body = size - len(head) - len(tail)
    line = b"x" * 99 + b"\n"
    path.write_bytes(head + (line * (body // len(line) + 1))[:body] + tail)
    return path


def load_seconds(context: Any, path: Path) -> float:
    """Navigation start to load event end of ``path`` in a new page, by Chromium's clock."""
    page = context.new_page()
    try:
        page.goto(path.resolve().as_uri(), wait_until="load")
        end_ms = page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
    finally:
        page.close()
    return float(end_ms) / 1e3


def main() -> int:
    try:
        from fivegbench.report import write_report
    except ImportError as exc:
        print(f"benchmarks/report.py: fivegbench.report.write_report does not exist yet ({exc})")
        return 2
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("benchmarks/report.py: no Python package playwright (pip install -e '.[dev]')")
        return 2
    if not CHROMIUM.is_file():
        print(f"benchmarks/report.py: no {CHROMIUM} (Debian packages chromium, chromium-driver)")
        return 2

    with tempfile.TemporaryDirectory(prefix="fivegbench-report-bench-") as scratch:
        work = Path(scratch)
        small = make_run(work / "runs", 1_000)
        large = make_run(work / "runs", 10_000)

        write_report(small)  # warm up: imports, fonts, matplotlib's caches
        t_small, t_small_base = paired_medians(
            lambda: write_report(small), baseline_writer(small, work / "small.json"), GENERATION_REPEATS
        )
        small_mb = (small / "report.html").stat().st_size / 1e6
        small_record_mb = (small / "record.json").stat().st_size / 1e6

        start = time.perf_counter()
        large_report = write_report(large)
        t_large = time.perf_counter() - start
        start = time.perf_counter()
        baseline_writer(large, work / "large.json")()
        t_large_base = time.perf_counter() - start
        large_mb = large_report.stat().st_size / 1e6
        large_record_mb = (large / "record.json").stat().st_size / 1e6
        plain = plain_page(large_report.stat().st_size, work / "plain.html")

        opened: list[float] = []
        opened_plain: list[float] = []
        with sync_playwright() as playwright, chromium(playwright, work / "profile") as context:
            load_seconds(context, plain)  # warm up the renderer
            for _ in range(OPENING_REPEATS):
                opened.append(load_seconds(context, large_report))
                opened_plain.append(load_seconds(context, plain))
        t_open, t_open_plain = statistics.median(opened), statistics.median(opened_plain)

    rows: list[Row] = [
        ("write_report, 1,000 measurements (s)", t_small, t_small_base, "< 5 s", t_small < 5.0),
        ("report.html, 1,000 measurements (MB)", small_mb, small_record_mb, "< 10 MB", small_mb < 10.0),
        ("opened in Chromium, 10,000 measurements (s)", t_open, t_open_plain, "< 3 s", t_open < 3.0),
        ("write_report, 10,000 measurements (s)", t_large, t_large_base, "information", True),
        ("report.html, 10,000 measurements (MB)", large_mb, large_record_mb, "information", True),
    ]
    print(
        f"runs: 1,000 and 10,000 synthetic measurements; write_report median of {GENERATION_REPEATS} "
        f"(10,000: once); opening median of {OPENING_REPEATS} (first load of the report "
        f"{opened[0]:.3f} s)"
    )
    return report(rows)


if __name__ == "__main__":
    sys.exit(main())
