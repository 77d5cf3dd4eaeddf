"""Units: percentages, and limits written in one unit judged in the unit a value is reported in."""

from __future__ import annotations

from types import MappingProxyType, SimpleNamespace

import pytest

from fivegbench import kinds, units
from fivegbench.kinds import Kind, requirements_for
from fivegbench.plan.model import parse_bound


def test_percentages():
    assert units.parse("0.5 %", "percent") == 0.5
    with pytest.raises(units.UnitParseError, match="is not a percentage"):
        units.parse("0.5 dB", "percent")


@pytest.mark.parametrize(
    ("value", "source", "target", "expected"),
    [(1e8, "bit/s", "Mbit/s", 100.0), (0.02, "s", "ms", 20.0), (2.5, "ms", "s", 0.0025)],
)
def test_convert(value, source, target, expected):
    assert units.convert(value, source, target) == pytest.approx(expected, rel=1e-12)


def test_a_ratio_is_not_a_level():
    with pytest.raises(units.UnitParseError):
        units.convert(3.0, "dB", "dBm")


def test_a_frequency_is_not_a_bit_rate_even_though_both_are_per_second():
    assert units.kind_of_unit("Hz") == "frequency" and units.kind_of_unit("Mbit/s") == "rate"


def test_explicit_limits_are_judged_in_the_unit_the_value_is_reported_in(monkeypatch):
    kind = Kind("test.rate", "t", {}, frozenset(), {"throughput": "Mbit/s", "rtt_p99": "ms"}, "x:y")
    monkeypatch.setattr(kinds, "KINDS", MappingProxyType({**kinds.KINDS, kind.name: kind}))
    limits = {
        "throughput": SimpleNamespace(min=parse_bound("100 Mbit/s"), max=None),
        "rtt_p99": SimpleNamespace(min=None, max=parse_bound("20 ms")),
    }
    step = SimpleNamespace(kind="test.rate", limits=limits, cell=None)
    throughput, rtt = requirements_for(step, dut=None)
    assert (throughput.alternatives[0].low, throughput.alternatives[0].unit) == (
        pytest.approx(100.0),
        "Mbit/s",
    )
    assert (rtt.alternatives[0].high, rtt.alternatives[0].unit) == (pytest.approx(20.0), "ms")


@pytest.mark.parametrize(
    "text",
    [
        "9**9**9 dBm",  # pint would evaluate it (and never finish)
        "2**10000000 dBm",
        "20 dBm * 2",  # pint reads 40 dBm
        "dBm",  # pint reads 1 dBm
        "(43) dBm",
        "43 dBm 2",
        "43 dBm;*RST",
    ],
)
def test_a_quantity_is_a_number_and_a_unit_and_nothing_else(text):
    with pytest.raises(units.UnitParseError, match=r"write a number and a unit, e\.g\. '43 dBm'"):
        units.parse(text, "power")


@pytest.mark.parametrize("text", ["nan dBm", "inf dBm", "-Infinity dBm", "1e999 dBm", "0 W"])
def test_a_quantity_is_finite(text):
    with pytest.raises(units.UnitParseError, match="is not a finite power"):
        units.parse(text, "power")


@pytest.mark.parametrize(
    ("text", "kind", "expected"),
    [
        ("+43 dBm", "power", 43.0),
        ("43dBm", "power", 43.0),
        (".5 s", "time", 0.5),
        ("1.5e3 MHz", "frequency", 1.5e9),
        ("100 Mbit/s", "rate", 1e8),
        ("-43 dBm/kHz", "psd", -13.0),
        ("10 %", "percent", 10.0),
        ("1 W", "power", 30.0),
    ],
)
def test_plain_quantities_still_parse(text, kind, expected):
    assert units.parse(text, kind) == pytest.approx(expected, abs=1e-9)
