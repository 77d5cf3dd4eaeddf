"""TS 38.306 §4.1.2 peak rates against the worked examples in nr-standards.md §2.1."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from fivegbench.nr.datarate import peak_rate_mbps, tdd_fractions

# (bandwidth, scs, layers, modulation, direction, fr, expected Mbps FDD-equivalent)
EXAMPLES = [
    (100e6, 30e3, 4, "256qam", "dl", "fr1", 2337.0),
    (100e6, 30e3, 2, "256qam", "dl", "fr1", 1168.5),
    (80e6, 30e3, 4, "256qam", "dl", "fr1", 1857.6),
    (40e6, 30e3, 4, "256qam", "dl", "fr1", 907.4),
    (20e6, 15e3, 4, "256qam", "dl", "fr1", 453.7),
    (100e6, 30e3, 1, "64qam", "ul", "fr1", 468.8),
    (400e6, 120e3, 2, "64qam", "dl", "fr2", 3232.0),
]


@pytest.mark.parametrize(("bw", "scs", "layers", "mod", "direction", "fr", "expected"), EXAMPLES)
def test_worked_examples(bw, scs, layers, mod, direction, fr, expected):
    assert peak_rate_mbps(bw, scs, layers, mod, direction, fr) == pytest.approx(expected, abs=0.5)


@pytest.mark.parametrize(
    ("pattern", "special", "dl", "ul"),
    [
        ("DDDSU", "10:2:2", 52 / 70, 16 / 70),
        ("DDDDDDDSUU", "6:4:4", 104 / 140, 32 / 140),
        ("DDDSU", "6:4:4", 48 / 70, 18 / 70),
    ],
)
def test_tdd_fractions(pattern, special, dl, ul):
    fractions = tdd_fractions(pattern, special)
    assert (fractions.dl, fractions.ul) == pytest.approx((dl, ul))


@pytest.mark.parametrize(
    ("pattern", "special"), [("DDXSU", "10:2:2"), ("DDDSU", None), ("DDDSU", "10:2:3"), ("DSU", "a:b:c")]
)
def test_bad_tdd_is_refused(pattern, special):
    with pytest.raises(ValueError):
        tdd_fractions(pattern, special)


def test_cli_json_tdd_peak_rate():
    args = "--bandwidth 100MHz --scs 30kHz --layers 4 --modulation 256qam --direction dl"
    args += " --tdd DDDSU --special 10:2:2 --json"
    proc = subprocess.run(
        [sys.executable, "-m", "fivegbench", "nr", "peak-rate", *args.split()],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=60,
    )
    result = json.loads(proc.stdout)
    assert result["peak_rate_mbps"] == pytest.approx(1736, abs=0.5)
    assert result["dl_fraction"] == pytest.approx(52 / 70) and result["ul_fraction"] == pytest.approx(16 / 70)
