"""The carrier check: band, channel edges, channel raster, SCS and duplex (TS 38.104).

Expected frequencies are worked out here from the raster definitions, not read from the code:
above 3 GHz F_REF = 3000 MHz + 15 kHz x (N - 600000) (§5.4.2.1), and the n78 30 kHz raster is
every second NR-ARFCN from 620000 (Table 5.4.2.3-1; nr-standards.md §1.4).
"""

from __future__ import annotations

import pytest

from fivegbench.nr.carrier import CarrierError, check_carrier

MHZ, KHZ = 1e6, 1e3


def _n78_30k(n: int) -> float:
    assert (n - 620000) % 2 == 0
    return 3000 * MHZ + 15 * KHZ * (n - 600000)


@pytest.mark.parametrize(
    ("band", "center", "bandwidth", "scs", "tdd"),
    [
        ("n78", 3750 * MHZ, 100 * MHZ, 30 * KHZ, "DDDSU"),  # testplans/demo.yaml
        ("n78", _n78_30k(620000 + 2 * 3334), 20 * MHZ, 30 * KHZ, "DDDSU"),  # 3400.02 MHz
        ("n41", 2550 * MHZ, 100 * MHZ, 30 * KHZ, "DDDSU"),  # NR-ARFCN 510000 (notes §1.5)
        ("n41", 2670 * MHZ, 40 * MHZ, 30 * KHZ, None),  # upper edge 2690 exactly
        ("n77", 3849.99 * MHZ, 100 * MHZ, 30 * KHZ, None),  # NR-ARFCN 656666 (notes §1.5)
        ("n1", 2140 * MHZ, 20 * MHZ, 15 * KHZ, None),  # 100 kHz raster, FDD
        ("n28", 780.5 * MHZ, 10 * MHZ, 15 * KHZ, None),
        ("n78", 3750.015 * MHZ, 20 * MHZ, 15 * KHZ, None),  # 15 kHz raster at 15 kHz SCS
        ("n257", 28000.08 * MHZ, 400 * MHZ, 120 * KHZ, "DDDSU"),  # NR-ARFCN 2079167
    ],
)
def test_allowed_carriers_pass(band, center, bandwidth, scs, tdd):
    assert check_carrier(band, center, bandwidth, scs, tdd).name == band


def _problem(*args) -> CarrierError:
    with pytest.raises(CarrierError) as info:
        check_carrier(*args)
    return info.value


def test_a_centre_outside_the_band_names_the_frequency_and_the_bands_that_have_it():
    error = _problem("n41", 3510 * MHZ, 100 * MHZ, 30 * KHZ, "DDDSU")
    assert error.field == "center_frequency"
    assert str(error) == (
        "3510 MHz is outside band n41 (TS 38.104 Table 5.2-1) "
        "(the n41 downlink is 2496 MHz to 2690 MHz; 3510 MHz is in n77, n78)"
    )


def test_a_centre_off_the_raster_gives_the_two_nearest_raster_frequencies():
    error = _problem("n78", 3500 * MHZ, 100 * MHZ, 30 * KHZ, "DDDSU")
    assert error.field == "center_frequency"
    # 3500 MHz is N = 633333.3; the 30 kHz raster neighbours are 633332 and 633334
    low, high = _n78_30k(633332), _n78_30k(633334)
    assert (low, high) == (3499.98 * MHZ, 3500.01 * MHZ)
    assert str(error).endswith("(nearest: 3499.98 MHz (NR-ARFCN 633332) or 3500.01 MHz (NR-ARFCN 633334))")
    assert "30 kHz channel raster of n78" in str(error)


def test_a_30_khz_carrier_must_use_the_30_khz_raster_not_the_15_khz_one():
    # N = 650001 is on the 15 kHz raster only
    on_15k_only = 3000 * MHZ + 15 * KHZ * 50001
    assert check_carrier("n78", on_15k_only, 20 * MHZ, 15 * KHZ).name == "n78"
    assert _problem("n78", on_15k_only, 20 * MHZ, 30 * KHZ).field == "center_frequency"


def test_the_100_khz_raster_of_n1():
    error = _problem("n1", 2140.05 * MHZ, 20 * MHZ, 15 * KHZ, None)
    assert error.field == "center_frequency"
    assert "(nearest: 2140 MHz (NR-ARFCN 428000) or 2140.1 MHz (NR-ARFCN 428020))" in str(error)


def test_a_channel_crossing_the_band_edge():
    error = _problem("n41", 2680 * MHZ, 40 * MHZ, 30 * KHZ, "DDDSU")
    assert error.field == "center_frequency"
    # 40 MHz inside 2496-2690 MHz: centre from 2496 + 20 to 2690 - 20
    assert str(error) == (
        "a 40 MHz channel at 2680 MHz crosses the 2690 MHz edge of band n41 "
        "(for 40 MHz the centre must be within 2516 MHz to 2670 MHz)"
    )
    assert _problem("n41", 2510 * MHZ, 40 * MHZ, 30 * KHZ, None).field == "center_frequency"


def test_a_channel_wider_than_the_band_is_a_bandwidth_problem():
    # n28 downlink is 758-803 MHz, 45 MHz wide
    assert _problem("n28", 780.5 * MHZ, 50 * MHZ, 15 * KHZ, None).field == "bandwidth"


def test_a_tdd_pattern_in_an_fdd_band():
    error = _problem("n1", 2140 * MHZ, 20 * MHZ, 15 * KHZ, "DDDSU")
    assert error.field == "tdd_pattern"
    assert str(error).startswith("band n1 is FDD, not TDD: remove tdd_pattern")
    assert _problem("n1", 2140 * MHZ, 20 * MHZ, 15 * KHZ, None, (10, 2, 2)).field == "special_slot"


@pytest.mark.parametrize(
    ("band", "center", "bandwidth", "scs", "allowed"),
    [
        ("n78", 3750 * MHZ, 100 * MHZ, 15 * KHZ, "30 kHz, 60 kHz"),  # Table 5.3.2-1: no 15 kHz at 100 MHz
        ("n78", 3750 * MHZ, 100 * MHZ, 120 * KHZ, "30 kHz, 60 kHz"),  # 120 kHz is FR2 only
        ("n1", 2140 * MHZ, 5 * MHZ, 60 * KHZ, "15 kHz, 30 kHz"),
        ("n257", 28000.08 * MHZ, 100 * MHZ, 30 * KHZ, "60 kHz, 120 kHz"),  # Table 5.3.2-2
    ],
)
def test_an_scs_the_table_does_not_have_for_the_bandwidth(band, center, bandwidth, scs, allowed):
    error = _problem(band, center, bandwidth, scs, None)
    assert error.field == "scs"
    assert str(error).endswith(f"(allowed: {allowed})")


def test_a_bandwidth_that_is_not_in_the_table():
    error = _problem("n78", 3750 * MHZ, 33 * MHZ, 30 * KHZ, None)
    assert error.field == "bandwidth"
    assert "(FR1 channel bandwidths: 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 60, 70, 80, 90, 100 MHz)" in str(
        error
    )


def test_an_unknown_band_names_the_bands_at_the_frequency():
    error = _problem("n999", 3750 * MHZ, 100 * MHZ, 30 * KHZ, None)
    assert error.field == "band"
    assert str(error).endswith("(3750 MHz is in n77, n78)")


def test_an_uplink_only_band_cannot_carry_a_bs_transmitter():
    assert _problem("n80", 1750 * MHZ, 20 * MHZ, 15 * KHZ, None).field == "band"  # n80 is SUL
