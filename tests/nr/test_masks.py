"""OBUE masks as data (TS 38.104 §6.6.4) and the requirement numbers added for EVM, frequency
error and occupied bandwidth: values and status tags as in nr-standards.md §1.2."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fivegbench.nr import requirements as req
from fivegbench.nr.masks import (
    DELTA_F_OBUE_NARROW,
    DELTA_F_OBUE_WIDE,
    OBUE_TEST_TOLERANCE,
    Mask,
    MaskSegment,
    obue_mask,
)


@pytest.mark.parametrize(("category", "far"), [("A", -13.0), ("B", -15.0), ("b", -15.0)])
def test_wide_area_above_1ghz_levels(category: str, far: float) -> None:
    mask = obue_mask(category, band="n78")
    s1, s2, s3 = mask.segments
    assert (s1.offset_start_hz, s1.offset_stop_hz, s1.measurement_bandwidth_hz) == (0.05e6, 5.05e6, 100e3)
    assert (s2.offset_start_hz, s2.offset_stop_hz, s2.measurement_bandwidth_hz) == (5.05e6, 10.05e6, 100e3)
    assert (s3.offset_start_hz, s3.offset_stop_hz, s3.measurement_bandwidth_hz) == (10.5e6, math.inf, 1e6)
    # -7 dBm - 7/5 (f_offset/MHz - 0.05) dB
    offsets = np.array([0.05e6, 1.05e6, 2.55e6, 5.0e6])
    assert np.allclose(s1.limit_dbm(offsets), -7.0 - 1.4 * (offsets / 1e6 - 0.05), atol=1e-12)
    assert float(s1.limit_dbm(5.05e6)) == pytest.approx(-14.0)  # continuous into segment 2
    assert np.all(s2.limit_dbm(np.array([5.05e6, 8e6, 10e6])) == -14.0)
    assert float(s3.limit_dbm(200e6)) == far
    assert "Category A" in mask.name if category == "A" else "Category B option 1" in mask.name


def test_statuses() -> None:
    mask = obue_mask("A", band="n41")
    assert all(s.level_status == "V2" and s.bandwidth_status == "U" for s in mask.segments)
    assert mask.test_tolerance is OBUE_TEST_TOLERANCE
    assert (OBUE_TEST_TOLERANCE.value, OBUE_TEST_TOLERANCE.status) == (1.5, "U")
    assert mask.delta_f_obue is DELTA_F_OBUE_WIDE
    assert (DELTA_F_OBUE_WIDE.value, DELTA_F_OBUE_WIDE.status) == (40e6, "U")
    assert (DELTA_F_OBUE_NARROW.value, DELTA_F_OBUE_NARROW.status) == (10e6, "U")
    assert mask.unverified
    assert "6.6.4.2.1-2" in mask.clause and "SHARC" in mask.source
    assert "6.6.4.2.2.1-2" in obue_mask("B", band="n41").clause


@pytest.mark.parametrize(
    ("band", "dfo", "low", "high"),
    [
        ("n41", 40e6, 2456e6, 2730e6),
        ("n77", 40e6, 3260e6, 4240e6),
        ("n78", 40e6, 3260e6, 3840e6),
        ("n79", 40e6, 4360e6, 5040e6),
        ("n1", 10e6, 2100e6, 2180e6),
        ("n3", 10e6, 1795e6, 1890e6),
    ],
)
def test_obue_region(band: str, dfo: float, low: float, high: float) -> None:
    mask = obue_mask("A", band=band)
    assert mask.delta_f_obue is not None and mask.delta_f_obue.value == dfo
    assert (mask.region_low_hz, mask.region_high_hz) == (pytest.approx(low), pytest.approx(high))


def test_offset_max() -> None:
    mask = obue_mask("A", band="n78")
    lower, upper = mask.offset_max_hz(3750e6, 100e6)  # channel 3700-3800 MHz
    assert lower == pytest.approx(3700e6 - 3260e6)
    assert upper == pytest.approx(40e6)
    with pytest.raises(ValueError, match="outside the OBUE region"):
        mask.offset_max_hz(0.0, 100e6)


def test_band_from_frequency() -> None:
    assert "(n41)" in obue_mask("A", frequency_hz=2550e6).name  # n41 (and n90, same range)
    assert "(n78)" in obue_mask("A", band="n78", frequency_hz=3.75e9).name
    assert "(n3)" in obue_mask("B", frequency_hz=1840e6).name
    assert "(n79)" in obue_mask("A", frequency_hz=4.7e9).name
    with pytest.raises(ValueError, match=r"several bands .*n1, n65, n66"):
        obue_mask("A", frequency_hz=2140e6)  # n65/n66 DL reach 2200 MHz: a different OBUE region


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"category": "C", "band": "n78"}, "category"),
        ({"category": "A", "bs_class": "medium_range", "band": "n78"}, "BS class"),
        ({"category": "A", "bs_class": "local_area", "band": "n78"}, "BS class"),
        ({"category": "A", "band": "n28"}, "no OBUE mask data for n28"),  # a band below 1 GHz
        ({"category": "A", "band": "n257"}, "no OBUE mask data for n257"),  # FR2
        ({"category": "A", "band": "n999"}, "not an NR operating band"),
        ({"category": "A", "band": "n78", "frequency_hz": 3.9e9}, "not in the downlink range"),
        ({"category": "A", "frequency_hz": 3.5e9}, "several bands"),  # n77 and n78
        ({"category": "A", "frequency_hz": 8.0e9}, "no NR downlink band"),
        ({"category": "A", "frequency_hz": 6.0e9}, "several bands"),  # n96, n102
        ({"category": "A"}, "give the operating band"),
    ],
)
def test_obue_mask_rejects_what_it_has_no_data_for(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        obue_mask(**kwargs)  # type: ignore[arg-type]


def test_segment_validation() -> None:
    with pytest.raises(ValueError, match="offsets"):
        MaskSegment(5e6, 1e6, -7, -7, 1e5, "V", "V")
    with pytest.raises(ValueError, match="flat"):
        MaskSegment(0, math.inf, -7, -8, 1e5, "V", "V")
    with pytest.raises(ValueError, match="measurement bandwidth"):
        MaskSegment(0, 1e6, -7, -7, 0.0, "V", "V")
    tt = req.SpecNumber("tt", 0.0, "dB", "-", "V", "-")
    assert not Mask("m", (MaskSegment(0, 1e6, -7, -7, 1e5, "V", "V"),), tt, "-", "-").unverified


# --- requirement numbers added for frequency error, EVM and OBW -------------------------------------


@pytest.mark.parametrize(
    ("bs_class", "ppm"), [("wide_area", 0.05), ("medium_range", 0.1), ("local_area", 0.1)]
)
def test_frequency_error_limit(bs_class: str, ppm: float) -> None:
    limit = req.frequency_error_limit(bs_class)
    assert (limit.value, limit.unit, limit.status) == (ppm, "ppm", "V2")
    assert "6.5.1" in limit.clause
    tt = req.frequency_error_test_tolerance()
    assert (tt.value, tt.unit, tt.status, tt.unverified) == (12.0, "Hz", "U", True)
    assert req.frequency_error_limit_hz(bs_class, 3.5e9, include_test_tolerance=False) == pytest.approx(
        ppm * 3500
    )
    assert req.frequency_error_limit_hz(bs_class, 3.5e9) == pytest.approx(ppm * 3500 + 12)


def test_frequency_error_rejects() -> None:
    with pytest.raises(ValueError, match="BS class"):
        req.frequency_error_limit("macro")
    with pytest.raises(ValueError, match="carrier_hz"):
        req.frequency_error_limit_hz("wide_area", -1.0)


@pytest.mark.parametrize(
    ("modulation", "pct", "status"),
    [
        ("QPSK", 17.5, "V2"),
        ("qpsk", 17.5, "V2"),
        ("16QAM", 12.5, "V2"),
        ("16-QAM", 12.5, "V2"),
        ("64qam", 8.0, "V2"),
        ("QAM64", 8.0, "V2"),
        ("256QAM", 3.5, "V2"),
        ("1024QAM", 2.5, "U"),
    ],
)
def test_evm_limit(modulation: str, pct: float, status: str) -> None:
    limit = req.evm_limit(modulation)
    assert (limit.value, limit.unit, limit.status) == (pct, "%", status)
    assert limit.unverified is (status == "U")
    tt = req.evm_test_tolerance()
    assert (tt.value, tt.unit, tt.status) == (1.0, "%", "V2")


@pytest.mark.parametrize("modulation", ["8PSK", "BPSK", "32QAM", "", "QAM"])
def test_evm_limit_rejects(modulation: str) -> None:
    with pytest.raises(ValueError, match="unknown modulation"):
        req.evm_limit(modulation)


def test_occupied_bandwidth_numbers() -> None:
    assert (req.OCCUPIED_BANDWIDTH_FRACTION.value, req.OCCUPIED_BANDWIDTH_FRACTION.status) == (99.0, "V")
    assert req.OCCUPIED_BANDWIDTH_MAX.status == "V"
    assert req.occupied_bandwidth_limit_hz(100e6) == 100e6
    with pytest.raises(ValueError):
        req.occupied_bandwidth_limit_hz(0.0)


def test_existing_names_still_exported() -> None:
    for name in (
        "ACLR_RELATIVE",
        "aclr_relative_limit",
        "output_power_accuracy",
        "SpecNumber",
        "normalize_band",
    ):
        assert name in req.__all__
    assert set(req.__all__) <= set(dir(req))
