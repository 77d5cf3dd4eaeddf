"""`validate` catches what `run` would hit: exit 2, one `file:line:col: key: message (hint)` line.

Each case edits one line of testplans/demo.yaml; the expected line number is found in the edited
text, not taken from the code under test.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEMO = (ROOT / "testplans" / "demo.yaml").read_text()


def _validate(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fivegbench", "validate", str(path), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _line_of(text: str, fragment: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if fragment in line)


CASES = [
    (
        "n41-at-3510",
        [("band: n78", "band: n41"), ("center_frequency: 3750 MHz", "center_frequency: 3510 MHz")],
        "center_frequency: 3510",
        "cell.center_frequency: 3510 MHz is outside band n41",
        "(the n41 downlink is 2496 MHz to 2690 MHz; 3510 MHz is in n77, n78)",
    ),
    (
        "off-raster",
        [("center_frequency: 3750 MHz", "center_frequency: 3500 MHz")],
        "center_frequency: 3500",
        "cell.center_frequency: 3500 MHz is not on the 30 kHz channel raster of n78",
        "(nearest: 3499.98 MHz (NR-ARFCN 633332) or 3500.01 MHz (NR-ARFCN 633334))",
    ),
    (
        "crosses-band-edge",
        [
            ("band: n78", "band: n41"),
            ("center_frequency: 3750 MHz", "center_frequency: 2680 MHz"),
            ("bandwidth: 100 MHz", "bandwidth: 40 MHz"),
        ],
        "center_frequency: 2680",
        "cell.center_frequency: a 40 MHz channel at 2680 MHz crosses the 2690 MHz edge of band n41",
        "(for 40 MHz the centre must be within 2516 MHz to 2670 MHz)",
    ),
    (
        "fdd-band-with-tdd-pattern",
        [
            ("band: n78", "band: n1"),
            ("center_frequency: 3750 MHz", "center_frequency: 2140 MHz"),
            ("bandwidth: 100 MHz", "bandwidth: 20 MHz"),
            ("scs: 30 kHz", "scs: 15 kHz"),
        ],
        "tdd_pattern:",
        "cell.tdd_pattern: band n1 is FDD, not TDD",
        "remove tdd_pattern",
    ),
    (
        "scs-not-allowed",
        [("scs: 30 kHz", "scs: 15 kHz")],
        "scs: 15 kHz",
        "cell.scs: 15 kHz SCS is not allowed for 100 MHz in n78",
        "(allowed: 30 kHz, 60 kHz)",
    ),
    (
        "unknown-band",
        [("band: n78", "band: n999")],
        "band: n999",
        "cell.band: 'n999' is not an NR operating band",
        "(3750 MHz is in n77, n78)",
    ),
    (
        "bare-centre-frequency",
        [("center_frequency: 3750 MHz", "center_frequency: 2593")],
        "center_frequency: 2593",
        "cell.center_frequency: 2593 has no unit",
        "'2593 MHz'",
    ),
    (
        "unit-case",
        [("bandwidth: 100 MHz", "bandwidth: 40 Mhz")],
        "bandwidth: 40 Mhz",
        "cell.bandwidth: '40 Mhz' is not a frequency",
        "(units are case-sensitive: did you mean '40 MHz'?)",
    ),
    (
        "bad-indent",
        [("  model: gNodeB 8T8R", "   model: gNodeB 8T8R")],
        "   model: gNodeB",
        "invalid YAML in '   model: gNodeB 8T8R'",
        "check this line's indentation",
    ),
]


@pytest.mark.parametrize(("name", "edits", "line_text", "message", "hint"), CASES, ids=[c[0] for c in CASES])
def test_validate_refuses_with_one_line_at_the_wrong_key(tmp_path, name, edits, line_text, message, hint):
    text = DEMO
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    plan = tmp_path / f"{name}.yaml"
    plan.write_text(text)
    proc = _validate(plan)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.startswith(f"{plan}:{_line_of(text, line_text)}:"), proc.stderr
    assert message in proc.stderr and hint in proc.stderr, proc.stderr


def test_a_swept_centre_frequency_is_checked_at_its_list_item(tmp_path):
    text = DEMO.replace(
        "sweep: {tx_power: [37 dBm, 40 dBm, 43 dBm, 46 dBm]}\n    limits: 3gpp\n  - name: ACLR",
        "sweep: {center_frequency: [3750 MHz, 3780 MHz]}\n    limits: 3gpp\n  - name: ACLR",
        1,
    )
    plan = tmp_path / "swept.yaml"
    plan.write_text(text)
    proc = _validate(plan)
    assert proc.returncode == 2
    # 3780 MHz +- 50 MHz ends at 3830 MHz, above n78's 3800 MHz
    assert f"{plan}:{_line_of(text, '3780 MHz')}:" in proc.stderr
    assert "steps[0].sweep.center_frequency[1]: a 100 MHz channel at 3780 MHz crosses the 3800 MHz edge" in (
        proc.stderr
    )


SIM_BENCH = (ROOT / "instruments/benches/sim.yaml").read_text()
SIM_GNB = (ROOT / "instruments/profiles/sim-gnb.yaml").read_text()


def test_a_profile_with_a_bad_regex_fails_validate_at_the_profile_line(tmp_path):
    # a bench copied to its own folder, with its own profiles/ beside it
    (tmp_path / "profiles").mkdir()
    (tmp_path / "bench.yaml").write_text(SIM_BENCH)
    broken = SIM_GNB.replace("(?P<serial>", "(?P<serial", 1)
    assert broken != SIM_GNB
    profile = tmp_path / "profiles" / "sim-gnb.yaml"
    profile.write_text(broken)
    proc = _validate(ROOT / "testplans/demo.yaml", "--bench", str(tmp_path / "bench.yaml"))
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    line = _line_of(broken, "(?P<serial\\S")
    assert proc.stderr.startswith(f"{profile}:{line}:"), proc.stderr
    assert "invalid regular expression" in proc.stderr


def test_a_bench_copied_anywhere_validates_with_the_shipped_profiles(tmp_path):
    (tmp_path / "bench.yaml").write_text(SIM_BENCH)
    proc = _validate(ROOT / "testplans/demo.yaml", "--bench", str(tmp_path / "bench.yaml"))
    assert proc.returncode == 0, proc.stderr
