"""The 3gpp limit preset and the TS 38.104 / 38.141-1 numbers behind it."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
from scipy.special import erf

from fivegbench.kinds import KINDS, requirements_for
from fivegbench.nr import requirements as nrreq
from fivegbench.nr.bandwidth import config_bandwidth_hz
from fivegbench.presets import rf_aclr_3gpp, rf_power_3gpp
from fivegbench.reduce.aclr import aclr
from fivegbench.verdict import Verdict, judge

# --- the numbers and their status tags ----------------------------------------------------------


def test_status_tags() -> None:
    assert nrreq.OUTPUT_POWER_ACCURACY_NORMAL.value == 2.0
    assert nrreq.OUTPUT_POWER_ACCURACY_NORMAL.status == "V"
    assert nrreq.OUTPUT_POWER_ACCURACY_NORMAL.clause == "TS 38.104 §6.2.2"
    for tt in (
        nrreq.OUTPUT_POWER_TT_UP_TO_3G,
        nrreq.OUTPUT_POWER_TT_3_TO_4G2,
        nrreq.OUTPUT_POWER_TT_4G2_TO_6G,
        nrreq.ACLR_TEST_TOLERANCE,
    ):
        assert tt.status == "U" and tt.unverified and "UNVERIFIED" in tt.source
    for n in (
        nrreq.ACLR_RELATIVE,
        nrreq.ACLR_RELATIVE_SHARED_SPECTRUM_1ST,
        nrreq.ACLR_RELATIVE_SHARED_SPECTRUM_2ND,
        nrreq.ACLR_ABSOLUTE_CAT_A_WIDE_AREA,
        nrreq.ACLR_ABSOLUTE_CAT_B_WIDE_AREA,
        nrreq.ACLR_ABSOLUTE_MEDIUM_RANGE,
        nrreq.ACLR_ABSOLUTE_LOCAL_AREA,
    ):
        assert n.status == "V2" and not n.unverified
        assert "6.6.3.2" in n.clause
    assert nrreq.ACLR_TEST_TOLERANCE.to_dict()["unverified"] is True


def test_bad_status_rejected() -> None:
    with pytest.raises(ValueError, match="status"):
        nrreq.SpecNumber("x", 1.0, "dB", "c", "X", "s")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("f", "tt"), [(0.7e9, 0.7), (3.0e9, 0.7), (3.01e9, 1.0), (4.2e9, 1.0), (4.4e9, 1.2), (6.0e9, 1.2)]
)
def test_output_power_test_tolerance(f: float, tt: float) -> None:
    assert nrreq.output_power_test_tolerance(f).value == tt


@pytest.mark.parametrize("f", [6.5e9, 28e9, 0.0, -1.0, math.nan])
def test_output_power_test_tolerance_unknown(f: float) -> None:
    with pytest.raises(ValueError):
        nrreq.output_power_test_tolerance(f)


@pytest.mark.parametrize(
    ("cls", "cat", "value"),
    [
        ("wide_area", "A", -13.0),
        ("wide_area", "B", -15.0),
        ("medium_range", "A", -25.0),
        ("medium_range", "B", -25.0),
        ("local_area", "A", -32.0),
    ],
)
def test_aclr_absolute_limit(cls: str, cat: str, value: float) -> None:
    assert nrreq.aclr_absolute_limit(cls, cat).value == value


@pytest.mark.parametrize(
    ("band", "first", "second"), [("n78", 45, 45), (41, 45, 45), ("N46", 35, 40), ("n96", 35, 40)]
)
def test_aclr_relative_limit(band: str | int, first: float, second: float) -> None:
    assert nrreq.aclr_relative_limit(band, 1).value == first
    assert nrreq.aclr_relative_limit(band, 2).value == second


def test_lookup_errors() -> None:
    with pytest.raises(ValueError, match="BS class"):
        nrreq.aclr_absolute_limit("macro", "A")
    with pytest.raises(ValueError, match="category"):
        nrreq.aclr_absolute_limit("wide_area", "C")
    with pytest.raises(ValueError, match="band"):
        nrreq.aclr_relative_limit("b7", 1)
    with pytest.raises(ValueError, match="adjacent"):
        nrreq.aclr_relative_limit("n78", 3)
    with pytest.raises(ValueError, match="FR1"):
        nrreq.aclr_test_tolerance(28e9)


# --- rf.power ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("f", "half"), [(2.6e9, 2.7), (3.5e9, 3.0), (4.7e9, 3.2)])
def test_rf_power_at_rated(f: float, half: float) -> None:
    (r,) = rf_power_3gpp(46.0, 46.0, f)
    (limit,) = r.alternatives
    assert limit.value == "channel_power"
    assert limit.unit == "dBm"
    assert limit.low == pytest.approx(46.0 - half)
    assert limit.high == pytest.approx(46.0 + half)
    assert limit.minimum_requirement == 2.0
    assert limit.test_tolerance == pytest.approx(half - 2.0)
    assert limit.tolerance_unverified is True
    assert "6.2.2" in limit.clause and "UNVERIFIED" in limit.note and "rated" in limit.note


def test_rf_power_below_rated_uses_configured_reference() -> None:
    (r,) = rf_power_3gpp(46.0, 40.0, 3.5e9)
    (limit,) = r.alternatives
    assert (limit.low, limit.high) == (pytest.approx(37.0), pytest.approx(43.0))
    assert "configured" in limit.note
    assert judge({"channel_power": 42.9}, [r]).verdict is Verdict.PASS
    assert judge({"channel_power": 43.1}, [r]).verdict is Verdict.FAIL
    assert judge({"channel_power": 36.9}, [r]).verdict is Verdict.FAIL


def test_rf_power_errors() -> None:
    with pytest.raises(ValueError, match="above the rated"):
        rf_power_3gpp(40.0, 43.0, 3.5e9)
    with pytest.raises(ValueError, match="6 GHz"):
        rf_power_3gpp(40.0, 40.0, 6.5e9)
    with pytest.raises(ValueError, match="finite"):
        rf_power_3gpp(math.nan, 40.0, 3.5e9)


# --- rf.aclr -----------------------------------------------------------------------------------


def test_rf_aclr_wide_area_cat_a() -> None:
    reqs = rf_aclr_3gpp("wide_area", "A", "n78", 3.5e9)
    assert [r.name for r in reqs] == ["aclr_lower1", "aclr_upper1", "aclr_lower2", "aclr_upper2"]
    for r in reqs:
        name = r.name.removeprefix("aclr_")
        rel, ab = r.alternatives
        assert (rel.value, rel.low, rel.high, rel.unit) == (f"aclr_{name}", pytest.approx(44.2), None, "dB")
        assert (ab.value, ab.low, ab.high, ab.unit) == (
            f"adjacent_{name}_density",
            None,
            pytest.approx(-12.2),
            "dBm/MHz",
        )
        assert rel.minimum_requirement == 45.0 and ab.minimum_requirement == -13.0
        assert rel.test_tolerance == ab.test_tolerance == 0.8
        assert rel.tolerance_unverified and ab.tolerance_unverified
        assert "6.6.3.2" in rel.clause and "6.6.3.2" in ab.clause


@pytest.mark.parametrize(
    ("cls", "cat", "band", "rel1", "rel2", "absolute"),
    [
        ("wide_area", "B", "n78", 44.2, 44.2, -14.2),
        ("medium_range", "A", "n41", 44.2, 44.2, -24.2),
        ("local_area", "B", "n79", 44.2, 44.2, -31.2),
        ("wide_area", "A", "n46", 34.2, 39.2, -12.2),
    ],
)
def test_rf_aclr_variants(cls: str, cat: str, band: str, rel1: float, rel2: float, absolute: float) -> None:
    by_name = {r.name: r for r in rf_aclr_3gpp(cls, cat, band, 3.5e9)}
    assert by_name["aclr_upper1"].alternatives[0].low == pytest.approx(rel1)
    assert by_name["aclr_lower2"].alternatives[0].low == pytest.approx(rel2)
    assert by_name["aclr_upper2"].alternatives[1].high == pytest.approx(absolute)


def test_rf_aclr_less_stringent_rule() -> None:
    reqs = rf_aclr_3gpp("wide_area", "A", "n78", 3.5e9)
    values = {}
    for name in ("lower1", "upper1", "lower2", "upper2"):
        values[f"aclr_{name}"] = 40.0  # fails 44.2 dB ...
        values[f"adjacent_{name}_density"] = -30.0  # ... but far below -12.2 dBm/MHz
    assert judge(values, reqs).verdict is Verdict.PASS
    values["adjacent_upper2_density"] = -12.0
    assert judge(values, reqs).verdict is Verdict.FAIL


def test_each_kind_names_its_preset_builder() -> None:
    assert KINDS["rf.power"].presets["3gpp"].builder is rf_power_3gpp
    assert KINDS["rf.aclr"].presets["3gpp"].builder is rf_aclr_3gpp
    with pytest.raises(TypeError):
        KINDS["rf.evm"] = KINDS["rf.power"]  # type: ignore[index]


# --- end to end: synthetic trace -> reducer -> preset -> judge ---------------------------------


def _trace(f: np.ndarray, rbw: float, rects: list[tuple[float, float, float]], noise: float) -> np.ndarray:
    sigma = rbw / (2 * math.sqrt(2 * math.log(2)))
    enbw = sigma * math.sqrt(2 * math.pi)
    p = np.full(f.shape, 10 ** (noise / 10) * enbw)
    for c, w, pdbm in rects:
        d, s2 = 10 ** (pdbm / 10) / w, sigma * math.sqrt(2)
        p += d * enbw * 0.5 * (erf((f - c + w / 2) / s2) - erf((f - c - w / 2) / s2))
    return 10 * np.log10(p)


@pytest.mark.parametrize(
    ("carrier_dbm", "adjacent_aclr", "expected", "decider"),
    [
        # Wide Area Cat A, 98.28 MHz: the absolute limit -12.2 dBm/MHz is 7.7 dBm per channel. It is
        # the less stringent whenever the carrier is below 7.7 + 44.2 = 51.9 dBm.
        (56.0, 47.0, Verdict.PASS, "aclr_"),  # relative passes (margin 2.8 dB)
        (56.0, 42.0, Verdict.FAIL, "aclr_"),  # 14 dBm leaks: both fail, relative is closer
        (46.0, 42.0, Verdict.PASS, "adjacent_"),  # 42 dB < 44.2 dB but 4 dBm < 7.7 dBm: passes
        (46.0, 36.0, Verdict.FAIL, "adjacent_"),  # 10 dBm > 7.7 dBm
    ],
)
def test_end_to_end_aclr(carrier_dbm: float, adjacent_aclr: float, expected: Verdict, decider: str) -> None:
    fc, bw_ch = 3.5e9, 100e6
    bw_cfg = config_bandwidth_hz(bw_ch, 30e3)
    rbw = 300e3
    f = fc - 250e6 + np.arange(2001) * 250e3
    rects = [(fc, bw_cfg, carrier_dbm)]
    rects += [(fc + k * bw_ch, bw_cfg, carrier_dbm - adjacent_aclr) for k in (-1, 1, -2, 2)]
    trace = _trace(f, rbw, rects, -150.0)
    res = aclr(f, trace, rbw, math.sqrt(math.pi / (4 * math.log(2))), fc, bw_ch, bw_cfg)
    j = judge(res.values(), rf_aclr_3gpp("wide_area", "A", "n78", fc))
    assert j.verdict is expected
    assert all(c.decided_by is not None and c.decided_by.value.startswith(decider) for c in j.checks)


# --- requirements_for: plan step + dut -> requirements -------------------------------------------


def _step(kind: str, limits: object, tx_power: float = 40.0, band: str = "n78") -> SimpleNamespace:
    cell = SimpleNamespace(tx_power=tx_power, center_frequency=3.5e9, band=band)
    return SimpleNamespace(kind=kind, limits=limits, cell=cell, params={})


DUT = SimpleNamespace(rated_output_power=46.0, bs_class="wide_area", category="B")


def test_requirements_for_presets() -> None:
    (power,) = requirements_for(_step("rf.power", "3gpp"), DUT)
    assert (power.alternatives[0].low, power.alternatives[0].high) == (
        pytest.approx(37.0),
        pytest.approx(43.0),
    )
    aclr_reqs = requirements_for(_step("rf.aclr", "3gpp"), DUT)
    assert aclr_reqs == rf_aclr_3gpp("wide_area", "B", "n78", 3.5e9)


def test_requirements_for_explicit_and_none() -> None:
    bound = SimpleNamespace
    limits = {"channel_power": SimpleNamespace(min=bound(value=39.0, unit="dBm"), max=None)}
    (r,) = requirements_for(_step("rf.power", limits), DUT)
    assert (r.name, r.alternatives[0].low, r.alternatives[0].high, r.alternatives[0].unit) == (
        "channel_power",
        39.0,
        None,
        "dBm",
    )
    assert requirements_for(_step("rf.power", None), DUT) == []


def test_requirements_for_errors() -> None:
    with pytest.raises(ValueError, match="rated_output_power"):
        requirements_for(_step("rf.power", "3gpp"), SimpleNamespace(rated_output_power=None))
    with pytest.raises(ValueError, match="bs_class"):
        requirements_for(_step("rf.aclr", "3gpp"), SimpleNamespace(bs_class=None))
    with pytest.raises(ValueError, match=r"preset 'itu' has no limits for 'rf\.power'"):
        requirements_for(_step("rf.power", "itu"), DUT)


def test_obw_preset_is_the_channel_bandwidth():
    from fivegbench.presets import rf_obw_3gpp

    (requirement,) = rf_obw_3gpp(100e6)
    (limit,) = requirement.alternatives
    assert (limit.value, limit.high, limit.unit, limit.test_tolerance) == ("obw", 100e6, "Hz", None)


def test_sem_preset_relaxes_the_mask_by_an_unverified_tolerance():
    from fivegbench.presets import rf_sem_3gpp

    (requirement,) = rf_sem_3gpp("A", "wide_area", "n78")
    (limit,) = requirement.alternatives
    assert limit.value == "sem_margin" and limit.low == -1.5 and limit.minimum_requirement == 0.0
    assert limit.tolerance_unverified


# --- itu-m2410-indicative: evaluation targets, said to be indicative -------------------------------
def test_itu_throughput_targets_per_direction() -> None:
    for direction, target in (("dl", 100.0), ("ul", 50.0)):
        (req,) = requirements_for(
            SimpleNamespace(
                kind="traffic.throughput",
                limits="itu-m2410-indicative",
                cell=None,
                params={"direction": direction},
            ),
            DUT,
        )
        (limit,) = req.alternatives
        assert (limit.value, limit.low, limit.unit) == ("throughput", target, "Mbit/s")
        assert "not a conformance limit" in limit.note
    with pytest.raises(ValueError, match="not bidir"):
        requirements_for(
            SimpleNamespace(
                kind="traffic.throughput",
                limits="itu-m2410-indicative",
                cell=None,
                params={"direction": "bidir"},
            ),
            DUT,
        )


def test_itu_latency_is_judged_from_half_the_round_trip() -> None:
    (req,) = requirements_for(
        SimpleNamespace(kind="traffic.latency", limits="itu-m2410-indicative", cell=None, params={}), DUT
    )
    (limit,) = req.alternatives
    assert (limit.value, limit.high, limit.unit, limit.minimum_requirement) == ("rtt_p50", 8.0, "ms", 4.0)
    assert "RTT/2" in limit.note
