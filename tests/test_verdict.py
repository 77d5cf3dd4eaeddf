"""judge(): the one place verdicts are decided."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fivegbench.reduce.stats import Interval
from fivegbench.verdict import (
    Judgement,
    Limit,
    Requirement,
    Verdict,
    explicit_requirements,
    judge,
)


def lim(value: str, low: float | None = None, high: float | None = None, unit: str = "dB") -> Limit:
    return Limit(value=value, low=low, high=high, unit=unit, clause="test")


def one(name: str, low: float | None = None, high: float | None = None) -> Requirement:
    return Requirement(name, (lim(name, low, high),))


ACLR = Requirement("aclr_lower1", (lim("aclr_lower1", low=44.2), lim("adjacent_lower1_density", high=-12.2)))


def test_verdict_values() -> None:
    names = ["PASS", "FAIL", "INCONCLUSIVE", "ERROR", "ABORTED", "SKIPPED"]
    assert [v.value for v in Verdict] == names
    assert all(isinstance(v, str) and v == v.name for v in Verdict)
    assert str(Verdict.PASS) == "PASS"
    assert Verdict("FAIL") is Verdict.FAIL


@pytest.mark.parametrize(
    ("low", "high", "value", "margin"),
    [
        (44.2, None, 46.0, 1.8),
        (44.2, None, 44.2, 0.0),
        (44.2, None, 40.0, -4.2),
        (None, -12.2, -20.0, 7.8),
        (None, -12.2, -10.0, -2.2),
        (40.0, 46.0, 45.0, 1.0),
        (40.0, 46.0, 41.0, 1.0),
        (40.0, 46.0, 47.5, -1.5),
    ],
)
def test_limit_margin(low: float | None, high: float | None, value: float, margin: float) -> None:
    assert lim("x", low, high).margin(value) == pytest.approx(margin)
    j = judge({"x": value}, [one("x", low, high)])
    assert j.checks[0].margin == pytest.approx(margin)
    assert j.verdict is (Verdict.PASS if margin >= 0 else Verdict.FAIL)


@pytest.mark.parametrize(
    ("low", "high", "match"),
    [(None, None, "neither"), (3.0, 1.0, "above"), (math.nan, None, "NaN")],
)
def test_invalid_limits(low: float | None, high: float | None, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        lim("x", low, high)


def test_invalid_requirements() -> None:
    with pytest.raises(ValueError, match="no limits"):
        Requirement("x", ())
    with pytest.raises(ValueError, match="name"):
        Requirement("", (lim("x", 0.0),))


def test_boundary_is_inclusive() -> None:
    assert judge({"x": 1.0}, [one("x", 1.0, 1.0)]).verdict is Verdict.PASS


def test_missing_value_is_inconclusive_never_pass() -> None:
    j = judge({}, [one("x", 0.0)])
    assert j.verdict is Verdict.INCONCLUSIVE
    c = j.checks[0]
    assert c.passed is None and c.margin is None and c.decided_by is None
    assert "x" in c.note
    assert c.measured == (("x", None),)


def test_nan_value_is_inconclusive() -> None:
    assert judge({"x": math.nan}, [one("x", 0.0)]).verdict is Verdict.INCONCLUSIVE


def test_non_numeric_value_raises() -> None:
    with pytest.raises(TypeError, match="not a number"):
        judge({"x": "high"}, [one("x", 0.0)])  # type: ignore[dict-item]


def test_no_requirements_is_inconclusive_with_note() -> None:
    j = judge({"x": 1.0}, [])
    assert j.verdict is Verdict.INCONCLUSIVE
    assert j.checks == ()
    assert "no limits" in j.note


def test_fail_beats_inconclusive_beats_pass() -> None:
    reqs = [one("a", 0.0), one("b", 0.0), one("c", 0.0)]
    assert judge({"a": 1.0, "b": 1.0, "c": 1.0}, reqs).verdict is Verdict.PASS
    assert judge({"a": 1.0, "b": 1.0}, reqs).verdict is Verdict.INCONCLUSIVE
    assert judge({"a": -1.0, "b": 1.0}, reqs).verdict is Verdict.FAIL


def test_alternatives_relative_passes() -> None:
    c = judge({"aclr_lower1": 46.0, "adjacent_lower1_density": -5.0}, [ACLR]).checks[0]
    assert c.passed is True
    assert c.margin == pytest.approx(1.8)
    assert c.decided_by is ACLR.alternatives[0]


def test_alternatives_less_stringent_absolute_passes() -> None:
    # 40 dB ACLR fails the relative limit, but the leakage is below the absolute basic limit.
    j = judge({"aclr_lower1": 40.0, "adjacent_lower1_density": -20.0}, [ACLR])
    c = j.checks[0]
    assert j.verdict is Verdict.PASS
    assert c.passed is True
    assert c.margin == pytest.approx(7.8)
    assert c.decided_by is ACLR.alternatives[1]


def test_alternatives_both_fail_margin_is_best() -> None:
    j = judge({"aclr_lower1": 43.0, "adjacent_lower1_density": -10.0}, [ACLR])
    c = j.checks[0]
    assert j.verdict is Verdict.FAIL
    assert c.margin == pytest.approx(-1.2)
    assert c.decided_by is ACLR.alternatives[0]


def test_alternatives_one_missing() -> None:
    # A passing alternative decides even if the other value is missing ...
    assert judge({"aclr_lower1": 46.0}, [ACLR]).verdict is Verdict.PASS
    # ... but a failing one does not: the missing alternative might have passed.
    j = judge({"aclr_lower1": 40.0, "adjacent_lower1_density": math.nan}, [ACLR])
    assert j.verdict is Verdict.INCONCLUSIVE
    assert "adjacent_lower1_density" in j.checks[0].note


def test_to_dict_is_strict_json() -> None:
    reqs = [ACLR, one("x", 0.0), one("y", high=0.0)]
    j = judge({"aclr_lower1": 46.0, "adjacent_lower1_density": -math.inf, "y": -math.inf}, reqs)
    d = j.to_dict()
    text = json.dumps(d, allow_nan=False)
    assert json.loads(text)["verdict"] == "INCONCLUSIVE"
    checks = d["checks"]
    assert isinstance(checks, list)
    assert checks[2]["margin"] is None  # +inf margin is not JSON: null
    assert checks[0]["decided_by"]["value"] == "adjacent_lower1_density"  # -inf leakage: +inf margin
    assert checks[0]["measured"]["adjacent_lower1_density"] is None
    assert ACLR.to_dict()["alternatives"][1]["high"] == -12.2  # type: ignore[index]


def test_records_are_frozen() -> None:
    j = judge({"x": 1.0}, [one("x", 0.0)])
    assert isinstance(j, Judgement)
    with pytest.raises(dataclasses.FrozenInstanceError):
        j.verdict = Verdict.FAIL  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        ACLR.alternatives[0].low = 0.0  # type: ignore[misc]


def test_explicit_requirements() -> None:
    reqs = explicit_requirements(
        {"throughput_dl": {"min": 900, "max": None, "unit": "Mbit/s"}, "evm": {"max": 3.5, "unit": "%"}}
    )
    assert [r.name for r in reqs] == ["throughput_dl", "evm"]
    tput = reqs[0].alternatives[0]
    assert (tput.value, tput.low, tput.high, tput.unit, tput.clause) == (
        "throughput_dl",
        900.0,
        None,
        "Mbit/s",
        "plan",
    )
    assert tput.minimum_requirement is None and tput.test_tolerance is None and not tput.tolerance_unverified
    assert judge({"throughput_dl": 950.0, "evm": 2.0}, reqs).verdict is Verdict.PASS
    assert judge({"throughput_dl": 850.0, "evm": 2.0}, reqs).verdict is Verdict.FAIL


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ({"x": {"unit": "dB"}}, "neither"),
        ({"x": {"min": 1.0, "maxx": 2.0}}, "unknown keys"),
        ({"x": {"min": "ten"}}, "must be a number"),
        ({"x": {"min": True}}, "must be a number"),
        ({"x": {"min": 3.0, "max": 1.0}}, "above"),
        ({"x": {"min": 1.0, "unit": 5}}, "unit"),
        ({"x": 5.0}, "expected a mapping"),
    ],
)
def test_explicit_requirements_errors(spec: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        explicit_requirements(spec)  # type: ignore[arg-type]


finite = st.floats(-1e6, 1e6)


@settings(deadline=None)
@given(low=st.none() | finite, high=st.none() | finite, value=finite)
def test_single_limit_property(low: float | None, high: float | None, value: float) -> None:
    if low is None and high is None:
        return
    if low is not None and high is not None and low > high:
        low, high = high, low
    inside = (low is None or value >= low) and (high is None or value <= high)
    j = judge({"x": value}, [one("x", low, high)])
    c = j.checks[0]
    assert c.passed is inside
    assert j.verdict is (Verdict.PASS if inside else Verdict.FAIL)
    assert c.margin is not None and (c.margin >= 0) == inside


def test_invalid_measurement_is_inconclusive_even_if_values_pass_or_fail() -> None:
    reqs = [one("x", 0.0)]
    for value in (1.0, -1.0):
        j = judge({"x": value}, reqs, invalid="analyzer overload")
        assert j.verdict is Verdict.INCONCLUSIVE
        assert "analyzer overload" in j.note
        assert j.checks[0].passed is (value >= 0)  # still recorded
    assert judge({"x": 1.0}, reqs, invalid=None).verdict is Verdict.PASS


# --- statistical verdicts: a confidence interval against the limit ------------------------------
def _throughput_min(low: float) -> list[Requirement]:
    return [Requirement("throughput", (Limit("throughput", low, None, "Mbit/s", clause="plan"),))]


def _interval(low: float, high: float, n: int = 5) -> Interval:
    return Interval((low + high) / 2, low, high, n, 0.95, "test")


@pytest.mark.parametrize(
    ("low", "high", "verdict"),
    [
        (101.0, 140.0, Verdict.PASS),
        (100.0, 140.0, Verdict.PASS),
        (60.0, 99.0, Verdict.FAIL),
        (90.0, 130.0, Verdict.INCONCLUSIVE),
    ],
)
def test_an_interval_is_judged_whole(low, high, verdict):
    interval = _interval(low, high)
    j = judge({"throughput": interval.estimate}, _throughput_min(100.0), intervals={"throughput": interval})
    assert j.verdict is verdict


def test_a_straddling_interval_says_how_many_more_samples_would_decide():
    interval = Interval(110.0, 90.0, 130.0, 4, 0.95, "test")  # half-width 20, 10 above the limit
    (check,) = judge({"throughput": 110.0}, _throughput_min(100.0), intervals={"throughput": interval}).checks
    assert check.passed is None and check.margin == pytest.approx(10.0)
    # 4·(20/10)² = 16 samples: 12 more
    assert "95% interval 90 to 130 Mbit/s straddles the limit throughput >= 100 Mbit/s" in check.note
    assert "about 12 more samples would likely decide it" in check.note


def test_without_an_interval_the_point_value_decides():
    assert judge({"throughput": 101.0}, _throughput_min(100.0)).verdict is Verdict.PASS
