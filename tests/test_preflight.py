"""Plan-vs-bench and plan-vs-limits checks: refused before anything is touched, at the right line."""

from __future__ import annotations

from pathlib import Path

import pytest

from fivegbench import preflight
from fivegbench.bench import load_bench
from fivegbench.errors import PlanError
from fivegbench.plan.expand import expand
from fivegbench.plan.load import parse_plan

ROOT = Path(__file__).resolve().parent.parent

BASE = """\
trial: preflight
dut: {vendor: X, model: Y, rated_output_power: RATED, bs_class: wide_area}
cell: {band: n78, center_frequency: 3750 MHz, bandwidth: 100 MHz, scs: 30 kHz, tx_power: 40 dBm}
steps:
  - name: s
    measure: KIND
    sweep: {tx_power: [40 dBm, POWER]}
    limits: LIMITS
"""


def plan(kind="rf.power", power="43 dBm", limits="3gpp", rated="46 dBm") -> str:
    return (
        BASE.replace("KIND", kind).replace("POWER", power).replace("LIMITS", limits).replace("RATED", rated)
    )


CASES = [
    ("tx power above the gNB's limit", plan(power="48 dBm"), 7, "max_tx_power"),
    ("configured power above rated", plan(rated="42 dBm"), 8, "rated"),
    ("limit on a value the kind lacks", plan(limits="{evm: {max: 3 dB}}"), 8, "reports no value 'evm'"),
    ("limit in the wrong unit", plan(limits="{channel_power: {min: 30 dB}}"), 8, "measured in dBm"),
    (
        "relative ACLR limit given in dBm",
        plan(kind="rf.aclr", limits="{aclr_lower1: {min: 45 dBm}}"),
        8,
        "measured in dB",
    ),
]


@pytest.mark.parametrize(("name", "text", "line", "words"), CASES, ids=[c[0] for c in CASES])
def test_refused_at_the_line(name, text, line, words):
    loaded = parse_plan(text, file="p.yaml")
    bench = load_bench(ROOT / "instruments/benches/sim.yaml")
    with pytest.raises(PlanError) as info:
        preflight.check(loaded, expand(loaded), bench)
    message = str(info.value)
    assert message.startswith(f"p.yaml:{line}:"), message
    assert words in message and "\n" not in message


def test_good_plans_pass():
    bench = load_bench(ROOT / "instruments/benches/sim.yaml")
    for text in (plan(), plan(kind="rf.aclr"), plan(limits="{channel_power: {min: 30 dBm, max: 50 dBm}}")):
        loaded = parse_plan(text, file="p.yaml")
        preflight.check(loaded, expand(loaded), bench)


def test_attenuation_needs_an_attenuator_within_its_range(tmp_path):
    text = plan().replace("sweep: {tx_power: [40 dBm, 43 dBm]}", "sweep: {attenuation: [10 dB, 120 dB]}")
    loaded = parse_plan(text, file="p.yaml")
    bench = load_bench(ROOT / "instruments/benches/sim.yaml")
    with pytest.raises(PlanError, match="above the bench attenuator's 110 dB") as info:
        preflight.check(loaded, expand(loaded), bench)
    assert str(info.value).startswith("p.yaml:7:")
    no_attenuator = tmp_path / "bench.yaml"
    sim = (ROOT / "instruments/benches/sim.yaml").read_text()
    # a copy elsewhere names its gNB profile by path (by name it is looked up beside the bench)
    sim = sim.replace("profile: sim-gnb", f"profile: {ROOT / 'instruments/profiles/sim-gnb.yaml'}")
    start = sim.index("  attenuator:")
    no_attenuator.write_text(sim[:start] + sim[sim.index("# Loss between") :])
    with pytest.raises(PlanError, match="no attenuator role"):
        preflight.check(loaded, expand(loaded), load_bench(no_attenuator))
