"""The report in a real browser: Debian's Chromium, headless, driven by Playwright (never a
downloaded browser). The page must load from file:// with no request but its own, no console
error, no script error and no dialog; read without JavaScript; print to a reasonable number of
A4 pages; and show hostile strings from instruments and plans as text.

Skipped, with one line, without /usr/bin/chromium (Debian packages ``chromium`` and
``chromium-driver``: ``make test`` installs them when root), the Python package playwright or
``fivegbench.report.write_report``.
About 15 s beyond the demo run it shares with other modules: two Chromium launches (2-3 s
each), four page loads and the report of a 30-measurement synthetic run.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import re
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.report.fake_run import HOSTILE, make_run

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "testplans" / "demo.yaml"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox",  # as root Chromium refuses to start sandboxed
    "--disable-gpu",
    # the closed network refuses Google's hosts: no background fetches at all
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 30_000
"""Bound of every browser action: launching, loading, printing, querying."""
GONE_WITHIN_S = 10.0


# --- the browser ---------------------------------------------------------------------------------


def _processes() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line) of every live process (zombies are dead: left out)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # it ended while we looked
            continue
        state, parent = stat.rsplit(")", 1)[1].split()[:2]
        if state != "Z":
            found[int(entry.name)] = (int(parent), command)
    return found


def browser_processes(profile: Path) -> set[int]:
    """The Chromium started with ``--user-data-dir=profile`` and all its descendants (its
    zygotes and renderers do not carry the flag)."""
    processes = _processes()
    tree = {pid for pid, (_, command) in processes.items() if f"--user-data-dir={profile}" in command}
    grown = True
    while grown:
        children = {pid for pid, (parent, _) in processes.items() if parent in tree} - tree
        tree |= children
        grown = bool(children)
    return tree


@contextlib.contextmanager
def chromium(playwright: Any, profile: Path, **options: Any) -> Iterator[Any]:
    """A persistent Playwright context in Debian's headless Chromium with the fresh profile
    folder ``profile``; ``options`` as for ``launch_persistent_context`` (e.g.
    ``java_script_enabled=False``). Closed on exit, whatever happened; RuntimeError if a process
    of it is still alive :data:`GONE_WITHIN_S` later."""
    profile.mkdir(parents=True)
    context = playwright.chromium.launch_persistent_context(
        profile,
        executable_path=str(CHROMIUM),
        headless=True,
        args=CHROMIUM_FLAGS,
        timeout=TIMEOUT_MS,
        **options,
    )
    started = browser_processes(profile)
    try:
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(TIMEOUT_MS)
        yield context
    finally:
        started |= browser_processes(profile)
        context.close()
        deadline = time.monotonic() + GONE_WITHIN_S
        while (left := (started & set(_processes())) | browser_processes(profile)) and (
            time.monotonic() < deadline
        ):
            time.sleep(0.1)
        if left:
            raise RuntimeError(f"Chromium processes {sorted(left)} still alive after closing {profile}")


@dataclass
class Visit:
    """One page load and what happened during it."""

    page: Any
    url: str
    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def foreign_requests(self) -> list[str]:
        """Every request but the page itself and data: URIs."""
        return [url for url in self.requests if url != self.url and not url.startswith("data:")]


def visit(context: Any, path: Path) -> Visit:
    """Open ``path`` in a new page of ``context`` (to its load event), recording every request
    of the context, console errors, uncaught errors and dialogs (dismissed)."""
    page = context.new_page()
    seen = Visit(page, path.resolve().as_uri())

    def dialog(d: Any) -> None:
        seen.dialogs.append(f"{d.type}: {d.message}")
        d.dismiss()

    listeners: list[tuple[Any, str, Callable[[Any], None]]] = [
        (context, "request", lambda r: seen.requests.append(r.url)),
        (page, "console", lambda m: seen.console_errors.append(m.text) if m.type == "error" else None),
        (page, "pageerror", lambda e: seen.page_errors.append(str(e))),
        (page, "dialog", dialog),
    ]
    for target, event, listener in listeners:
        target.on(event, listener)
    try:
        page.goto(seen.url, wait_until="load")
    finally:
        context.remove_listener("request", listeners[0][2])
    return seen


def pdf_pages(pdf: bytes) -> int:
    """Pages of a PDF as Chromium writes it (page objects uncompressed): its ``/Type /Page``
    objects (not ``/Pages``)."""
    return len(re.findall(rb"/Type\s*/Page(?![A-Za-z])", pdf))


# --- fixtures ------------------------------------------------------------------------------------


def missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not CHROMIUM.is_file():
        return (
            f"browser test: no {CHROMIUM} (Debian packages chromium and chromium-driver; "
            "`make test` installs them as root)"
        )
    if importlib.util.find_spec("playwright") is None:
        return "browser test: no Python package playwright (pip install -e '.[dev]')"
    if not hasattr(importlib.import_module("fivegbench.report"), "write_report"):
        return "browser test: fivegbench.report has no write_report yet"
    return None


_reason = missing()
pytestmark = [pytest.mark.skip(reason=_reason)] if _reason else []  # one summary line for all


@pytest.fixture(scope="module")
def playwright() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Chromium with JavaScript enabled, shared by the module's tests."""
    with chromium(playwright, tmp_path_factory.mktemp("chromium") / "profile") as context:
        yield context


@pytest.fixture(scope="module")
def write_report() -> Callable[[Path], Path]:
    from fivegbench.report import write_report

    return write_report


@pytest.fixture(scope="module")
def demo_report(plan_run: Any, write_report: Callable[[Path], Path], tmp_path_factory) -> Path:
    """The demo's report, regenerated by write_report in a copy of the run folder."""
    run = plan_run(DEMO)
    assert run.returncode == 1, run.output  # the demo fails ACLR at 46 dBm
    copy = tmp_path_factory.mktemp("demo") / run.run_dir.name
    shutil.copytree(run.run_dir, copy)
    return write_report(copy)


# --- tests ---------------------------------------------------------------------------------------

BAD_PAGE = """<!doctype html><html><head><title>bad</title>
<style>body { background: url(background.png) }</style></head>
<body><p id="overall-verdict">PASS</p><img src="missing.png"><img src="http://192.0.2.1/remote.png">
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
<script>console.error("logged"); alert("dialog"); throw new Error("thrown")</script></body></html>"""


def test_the_harness_sees_requests_console_errors_page_errors_dialogs_and_scripts(browser, tmp_path):
    bad = tmp_path / "bad.html"
    bad.write_text(BAD_PAGE)
    seen = visit(browser, bad)
    assert sorted(seen.foreign_requests()) == sorted(
        [(tmp_path / name).as_uri() for name in ("background.png", "missing.png")]
        + ["http://192.0.2.1/remote.png"]
    )
    assert "logged" in seen.console_errors
    assert seen.dialogs == ["alert: dialog"]
    assert len(seen.page_errors) == 1 and "thrown" in seen.page_errors[0]
    assert seen.page.locator("script").count() == 1
    assert pdf_pages(seen.page.pdf(format="A4")) == 1
    seen.page.close()


def test_the_demo_report_loads_alone_without_errors_and_prints_to_a_few_a4_pages(
    browser, demo_report, tmp_path
):
    seen = visit(browser, demo_report)
    assert seen.foreign_requests() == []
    assert seen.console_errors == [] and seen.page_errors == [] and seen.dialogs == []
    seen.page.screenshot(path=tmp_path / "report.png", full_page=True)
    seen.page.pdf(path=tmp_path / "report.pdf", format="A4", print_background=True)
    assert (tmp_path / "report.png").read_bytes().startswith(b"\x89PNG")
    pdf = (tmp_path / "report.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-")
    assert 1 < pdf_pages(pdf) < 30
    seen.page.close()


def test_the_demo_report_reads_without_javascript(playwright, demo_report, tmp_path):
    with chromium(playwright, tmp_path / "profile", java_script_enabled=False) as context:
        seen = visit(context, demo_report)
        assert seen.foreign_requests() == [] and seen.console_errors == []
        assert seen.page.locator("#overall-verdict").inner_text() == "FAIL"  # 1 FAIL among 8


def test_hostile_strings_appear_as_text_and_nothing_runs(browser, write_report, tmp_path):
    report = write_report(make_run(tmp_path, 30, hostile=True))
    seen = visit(browser, report)
    assert seen.dialogs == [] and seen.page_errors == [] and seen.console_errors == []
    assert seen.foreign_requests() == []  # an injected <img src=x> would ask for file:///.../x
    for selector in ("script", "[onerror]", "img[src='x']"):
        assert seen.page.locator(selector).count() == 0, selector
    text = seen.page.evaluate("document.body.textContent")
    for hostile in HOSTILE:
        assert hostile in text, hostile
    seen.page.close()
