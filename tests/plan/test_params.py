"""Step parameters declared by a kind: quantities, whole numbers, text choices, durations, and
their defaults, checked with the same one-line file:line errors as the rest of a plan."""

from __future__ import annotations

from types import MappingProxyType

import pytest

from fivegbench import kinds
from fivegbench.errors import PlanError
from fivegbench.kinds import Kind
from fivegbench.params import ParamSpec, choice
from fivegbench.plan import expand, parse_plan

DIRECTION = choice("dl", "ul", "bidir", default="dl")


def test_a_choice_is_the_text_written():
    assert DIRECTION.parse("bidir") == "bidir"
    with pytest.raises(ValueError, match=r"'up' is not one of: dl, ul, bidir"):
        DIRECTION.parse("up")
    with pytest.raises(ValueError, match="the number 3 is not one of"):
        DIRECTION.parse(3)


def test_a_duration_needs_a_unit():
    duration = ParamSpec("time", 0.1, 3600.0)
    assert duration.parse("10 s") == 10.0
    assert duration.parse("250 ms") == pytest.approx(0.25)
    with pytest.raises(ValueError):
        duration.parse("10 dB")
    with pytest.raises(ValueError, match="out of range"):
        duration.parse("2 h")


@pytest.fixture
def traffic_kind(monkeypatch):
    """A kind with a choice, a duration and defaults, declared the way every kind is."""
    kind = Kind(
        name="test.traffic",
        doc="a kind for these tests",
        params={
            "direction": DIRECTION,
            "protocol": choice("tcp", "udp", default="tcp"),
            "duration": ParamSpec("time", 0.1, 3600.0, default=10.0),
        },
        roles=frozenset(),
        values={"throughput": "bit/s"},
        measure="tests.plan.test_params:nothing",
    )
    monkeypatch.setattr(kinds, "KINDS", MappingProxyType({**kinds.KINDS, kind.name: kind}))


PLAN = """\
trial: t
dut: {vendor: V, model: M}
cell: {band: n78, center_frequency: 3750 MHz, bandwidth: 100 MHz, scs: 30 kHz, tx_power: 43 dBm}
steps:
  - name: throughput
    measure: test.traffic
STEP
"""


def plan(step: str):
    return parse_plan(PLAN.replace("STEP", step), "p.yaml")


def test_choices_and_durations_in_a_step_and_their_defaults(traffic_kind):
    (step,) = expand(plan("    protocol: udp\n    duration: 2 s"))
    assert step.params == {"direction": "dl", "protocol": "udp", "duration": 2.0}


def test_a_sweep_over_choices(traffic_kind):
    steps = expand(plan("    sweep: {direction: [dl, ul, bidir]}"))
    assert [s.params["direction"] for s in steps] == ["dl", "ul", "bidir"]
    assert [s.point for s in steps] == [{"direction": "dl"}, {"direction": "ul"}, {"direction": "bidir"}]


@pytest.mark.parametrize(
    ("step", "line", "message"),
    [
        ("    direction: up", 7, "steps[0].direction: 'up' is not one of: dl, ul, bidir"),
        ("    duration: 10", 7, "steps[0].duration: "),
        ("    sweep: {direction: {start: dl, stop: ul, step: 1}}", 7, "sweep it as a list, not a range"),
        (
            "    sweep: {protocol: [tcp, sctp]}",
            7,
            "steps[0].sweep.protocol[1]: 'sctp' is not one of: tcp, udp",
        ),
        ("    span: 10 MHz", 7, "unknown key 'span'"),
    ],
)
def test_bad_parameters_are_one_line_at_their_line(traffic_kind, step, line, message):
    with pytest.raises(PlanError) as info:
        plan(step)
    text = str(info.value)
    assert text.startswith(f"p.yaml:{line}:") and message in text and "\n" not in text
