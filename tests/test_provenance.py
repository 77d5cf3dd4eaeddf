"""What a run records of its own provenance: software versions, git commit, time zone, report ID."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from fivegbench import __version__, provenance

ROOT = Path(__file__).resolve().parent.parent


def test_versions_name_python_fivegbench_and_every_key_library():
    found = provenance.versions()
    assert found["fivegbench"] == __version__
    assert re.fullmatch(r"3\.\d+\.\d+ \(\w+\)", found["python"])
    assert set(provenance.KEY_LIBRARIES) <= set(found)
    assert all(found[name] != "not installed" for name in ("numpy", "scipy", "pyvisa", "jinja2"))


def test_the_git_commit_is_the_checkouts_own():
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True)
    if head.returncode != 0:  # an unpacked source tree: there is no commit to give
        assert provenance.git_commit() is None
        return
    commit = provenance.git_commit()
    assert commit is not None and commit.removesuffix("+dirty") == head.stdout.strip()


def test_report_ids_are_unique_and_name_their_run():
    ids = {provenance.new_report_id("20261130T105834Z-demo") for _ in range(1000)}
    assert len(ids) == 1000
    assert all(re.fullmatch(r"FGB-20261130T105834Z-demo-[0-9A-F]{8}", i) for i in ids)


def test_the_time_zone_is_an_offset_and_a_name():
    assert re.fullmatch(r"[+-]\d{4} \S+", provenance.local_timezone())
