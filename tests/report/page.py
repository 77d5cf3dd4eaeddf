"""What a test needs to know about a report.html, parsed with the standard library's HTML parser
(not with the template's own assumptions)."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

SECTIONS = ("summary", "decision-rule", "results", "plots", "traceability", "deviations", "raw-data")


@dataclass
class Page(HTMLParser):
    """Elements, ids, resources and text of one page."""

    tags: Counter[str] = field(default_factory=Counter)
    ids: Counter[str] = field(default_factory=Counter)
    measurements: Counter[str] = field(default_factory=Counter)
    sources: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    styles: list[str] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    _in_style: bool = False

    def __post_init__(self) -> None:
        super().__init__(convert_charrefs=True)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] += 1
        a = dict(attrs)
        if a.get("id"):
            self.ids[a["id"] or ""] += 1
        if "measurement" in (a.get("class") or "").split():  # a failure's tbody, a passing point's row
            self.measurements[a.get("id") or ""] += 1
        for name in ("src", "srcset", "data", "poster", "background"):
            if a.get(name):
                self.sources.append(a[name] or "")
        if tag == "link" or (tag == "a" and a.get("href")):
            self.links.append(a.get("href") or "")
        if a.get("style"):
            self.styles.append(a["style"] or "")
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        (self.styles if self._in_style else self.text).append(data)

    @property
    def all_text(self) -> str:
        return " ".join(" ".join(self.text).split())

    def external_resources(self) -> list[str]:
        """Every reference that would make the browser fetch something outside the file."""
        found = [s for s in self.sources if not s.startswith("data:")]
        found += [f"<{tag}>" for tag in ("link", "script", "iframe", "object", "embed") if self.tags[tag]]
        for css in self.styles:
            found += [u for u in re.findall(r"url\(\s*['\"]?([^'\")]*)", css) if not u.startswith("data:")]
            found += re.findall(r"@import[^;]*", css)
        return found


def parse(path: Path) -> Page:
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    return page


def anchor(m: dict) -> str:
    """The id a measurement's rows carry (written here, not imported from the code under test)."""
    return f"m{m['index']}-{m['repeat'].split('/')[0]}"


def assert_complete_report(run_dir: Path) -> None:
    """Every section, every measurement of the record exactly once, nothing fetched from outside."""
    record = json.loads((run_dir / "record.json").read_text())
    page = parse(run_dir / "report.html")
    assert [s for s in SECTIONS if page.ids[s] != 1] == []
    wanted = [anchor(m) for m in record["measurements"]]
    assert len(set(wanted)) == len(wanted)
    assert dict(page.measurements) == dict.fromkeys(wanted, 1)
    assert page.external_resources() == []
    assert page.tags["script"] == 0
    assert {link for link in page.links if "://" in link} <= set()  # raw data links are relative
    counts = record["counts"]
    expected = (
        "FAIL"
        if counts.get("FAIL")
        else "INCOMPLETE"
        if record["status"] != "completed" or any(counts.get(v) for v in ("ERROR", "ABORTED", "SKIPPED"))
        else "INCONCLUSIVE"
        if counts.get("INCONCLUSIVE")
        else "PASS"
    )
    assert f"Overall verdict: {expected}" in page.all_text
    if record["simulated"]:
        assert page.all_text.count("SIMULATED BENCH — not an acceptance result") >= 2  # banner and watermark
