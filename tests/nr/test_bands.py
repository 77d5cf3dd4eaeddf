"""Operating bands (via nrarfcn) against the research notes, and GSCN <-> SS_REF against the table
and against nrarfcn's independent implementation."""

from __future__ import annotations

import nrarfcn
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fivegbench.nr.bands import Band, all_bands, band, bands_for_frequency
from fivegbench.nr.gscn import MAX_GSCN, MIN_GSCN, gscn_to_hz, hz_to_gscn

MHZ = 1e6

# nr-standards.md §1.4 (UL low, UL high, DL low, DL high in MHz), typed from the notes.
NOTES = {
    "n1": ("FDD", 1920, 1980, 2110, 2170, "FR1"),
    "n3": ("FDD", 1710, 1785, 1805, 1880, "FR1"),
    "n28": ("FDD", 703, 748, 758, 803, "FR1"),
    "n41": ("TDD", 2496, 2690, 2496, 2690, "FR1"),
    "n77": ("TDD", 3300, 4200, 3300, 4200, "FR1"),
    "n78": ("TDD", 3300, 3800, 3300, 3800, "FR1"),
    "n79": ("TDD", 4400, 5000, 4400, 5000, "FR1"),
    "n257": ("TDD", 26500, 29500, 26500, 29500, "FR2"),
    "n258": ("TDD", 24250, 27500, 24250, 27500, "FR2"),
}


@pytest.mark.parametrize("name", sorted(NOTES))
def test_band_edges_match_the_notes(name: str) -> None:
    duplex, ul_lo, ul_hi, dl_lo, dl_hi, fr = NOTES[name]
    b = band(name)
    assert b == Band(name, duplex, dl_lo * MHZ, dl_hi * MHZ, ul_lo * MHZ, ul_hi * MHZ, fr)  # type: ignore[arg-type]
    assert b.dl_width_hz == pytest.approx((dl_hi - dl_lo) * MHZ)


def test_band_name_forms() -> None:
    assert band("N78") == band(78) == band("78") == band("n78")
    with pytest.raises(ValueError, match="not an NR operating band"):
        band("n999")
    with pytest.raises(ValueError):
        band("B3")


def test_sdl_band_has_no_uplink() -> None:
    b = band("n29")
    assert b.duplex == "SDL" and b.ul_low_hz is None and b.dl_width_hz == pytest.approx(11 * MHZ)
    assert not b.contains(720 * MHZ, "ul") and b.contains(720 * MHZ, "dl")


def test_bands_for_frequency() -> None:
    names = {b.name for b in bands_for_frequency(3.75e9)}
    assert {"n77", "n78"} <= names and "n79" not in names
    assert "n41" in {b.name for b in bands_for_frequency(2.55e9, "dl")}
    assert "n3" in {b.name for b in bands_for_frequency(1.75e9, "ul")}
    assert "n3" not in {b.name for b in bands_for_frequency(1.75e9, "dl")}
    assert {"n257", "n258"} <= {b.name for b in bands_for_frequency(26.6e9)}
    assert bands_for_frequency(100e9) == []
    assert "n78" in {b.name for b in bands_for_frequency(3800e6)}  # edges included
    with pytest.raises(ValueError, match="direction"):
        bands_for_frequency(3.5e9, "up")  # type: ignore[arg-type]


def test_all_bands_agree_with_nrarfcn_lookup() -> None:
    for b in all_bands():
        if b.duplex != "SUL":
            lo, hi = nrarfcn.get_frequency_range(b.name, "dl")
            assert (b.dl_low_hz, b.dl_high_hz) == (lo * MHZ, hi * MHZ)
        assert nrarfcn.get_duplex_mode(b.name) == b.duplex


# --- GSCN -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("gscn", "mhz"),
    [
        (2, 1.25),  # N=1, M=1: 1.2 + 0.05
        (3, 1.35),  # N=1, M=3
        (4, 1.45),  # N=1, M=5
        (7498, 2999.05),  # N=2499, M=5
        (7499, 3000.0),
        (7500, 3001.44),
        (22255, 3000 + 14756 * 1.44),
        (22256, 24250.08),
        (26639, 24250.08 + 4383 * 17.28),
        (7929, 3619.2),  # OAI log cross-check in nr-standards.md §1.5
    ],
)
def test_gscn_table_points(gscn: int, mhz: float) -> None:
    assert gscn_to_hz(gscn) == pytest.approx(mhz * MHZ, abs=1e-3)
    assert hz_to_gscn(mhz * MHZ) == gscn


def test_every_gscn_matches_nrarfcn() -> None:
    """Both directions, all 26638 GSCNs, against nrarfcn's separate implementation (MHz, 1 kHz)."""
    for g in range(MIN_GSCN, MAX_GSCN + 1, 1):
        hz = gscn_to_hz(g)
        assert abs(nrarfcn.get_frequency_by_gscn(g) * MHZ - hz) < 1.0, g
    for g in range(MIN_GSCN, MAX_GSCN + 1, 37):
        assert nrarfcn.get_gscn_by_frequency(gscn_to_hz(g) / MHZ) == g


def test_n78_ssb_raster_lies_in_the_band() -> None:
    lo, hi = nrarfcn.get_gscn_range("n78")
    assert (lo, hi) == (7711, 8051)  # nr-standards.md §1.4
    b = band("n78")
    assert b.contains(gscn_to_hz(lo), "dl") and b.contains(gscn_to_hz(hi), "dl")


@given(st.integers(MIN_GSCN, MAX_GSCN))
def test_round_trip(g: int) -> None:
    assert hz_to_gscn(gscn_to_hz(g)) == g


@given(st.floats(0.0, 100e9))
def test_nearest_is_nearest(f: float) -> None:
    g = hz_to_gscn(f, nearest=True)
    d = abs(gscn_to_hz(g) - f)
    for other in (g - 1, g + 1):
        if MIN_GSCN <= other <= MAX_GSCN:
            assert d <= abs(gscn_to_hz(other) - f) + 1e-6


def test_gscn_errors() -> None:
    with pytest.raises(ValueError, match="not on the synchronization raster"):
        hz_to_gscn(3000.5e6)
    assert hz_to_gscn(3000.5e6, nearest=True) == 7499
    for bad in (1, 26640, -5):
        with pytest.raises(ValueError, match="outside"):
            gscn_to_hz(bad)
    with pytest.raises(ValueError, match="integer"):
        gscn_to_hz(7.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"outside 0\.\.100 GHz"):
        hz_to_gscn(-1.0)
