"""Operating band unwanted emission (OBUE) masks, TS 38.104 §6.6.4, as data.

Only what the research notes (nr-standards.md §1.2) hold is encoded: Wide Area BS, NR bands
> 1 GHz, Category A (Table 6.6.4.2.1-2) and Category B option 1 (Table 6.6.4.2.2.1-2):

Segments (f_offset = measurement filter centre from the channel edge; MBW = measurement bandwidth):

1. 0.05 ≤ f_offset < 5.05 MHz (0 ≤ Δf < 5 MHz): -7 dBm - 7/5·(f_offset/MHz - 0.05) dB, MBW 100 kHz
   (both categories);
2. 5.05 ≤ f_offset < min(10.05 MHz, f_offsetmax) (5 ≤ Δf < min(10 MHz, Δf_max)): -14 dBm,
   MBW 100 kHz (both categories);
3. 10.5 MHz ≤ f_offset < f_offsetmax (10 MHz ≤ Δf ≤ Δf_max): Cat A -13 dBm, Cat B opt. 1 -15 dBm,
   MBW 1 MHz.

Statuses: the levels [V2] (SHARC ``sharc/mask/spectral_mask_imt.py``, citing ETSI TS 138 104
V16.6.0); the measurement bandwidths [U]; the test tolerance ≈1.5 dB [U]; Δf_OBUE [U]
(Table 6.6.1-1 as remembered: 10 MHz if the DL band is narrower than 100 MHz, 40 MHz if it is
100-900 MHz wide, so n41/n77/n78/n79 -> 40 MHz). The band list the table applies to (n1, n3, n7,
n38, n40, n41, n77, n78, n79) is [V] (TS 38.104 V16.0.0 text). Any [U] makes ``Mask.unverified``
True: such a mask is a screening aid, not a pass/fail limit for a trial report, until the numbers
are checked against the ETSI PDF.

Geometry. Δf is the separation between the channel edge and the nearest -3 dB point of the
measurement filter; f_offset is the separation between the channel edge and the filter centre
(so f_offset = Δf + MBW/2). The third segment starts at f_offset = 10.5 MHz (a 1 MHz filter whose
lower edge is at Δf = 10 MHz); the "10.05" in some transcriptions would put half of that filter
inside the 100 kHz segment. The OBUE region ends Δf_OBUE outside the downlink operating band:
f_offsetmax on each side is the distance from the channel edge to (DL band low - Δf_OBUE) or
(DL band high + Δf_OBUE), which depends on where the carrier sits, so the last segment's stop is
``math.inf`` here and is clipped per side by :meth:`Mask.offset_max_hz`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from fivegbench.nr.bands import Band, band, bands_for_frequency
from fivegbench.nr.requirements import SpecNumber, Status

__all__ = [
    "DELTA_F_OBUE_NARROW",
    "DELTA_F_OBUE_WIDE",
    "OBUE_BANDS_ABOVE_1GHZ",
    "OBUE_TEST_TOLERANCE",
    "Mask",
    "MaskSegment",
    "delta_f_obue",
    "obue_mask",
]

_REF = "nr-standards.md §1.2"
_LEVEL_SRC = f"SHARC sharc/mask/spectral_mask_imt.py, ETSI TS 138 104 V16.6.0 ({_REF})"

OBUE_BANDS_ABOVE_1GHZ = frozenset({"n1", "n3", "n7", "n38", "n40", "n41", "n77", "n78", "n79"})
"""Bands Table 6.6.4.2.1-2 is known to apply to [V: TS 38.104 V16.0.0 text]."""

OBUE_TEST_TOLERANCE = SpecNumber(
    "obue_test_tolerance",
    1.5,
    "dB",
    "TS 38.141-1 Table 4.1.2.2-1 (6.7.4 OBUE)",
    "U",
    f"UNVERIFIED: '≈1.5 dB' from memory ({_REF}, §8 item 1)",
)
DELTA_F_OBUE_NARROW = SpecNumber(
    "delta_f_obue_dl_band_below_100mhz",
    10e6,
    "Hz",
    "TS 38.104 Table 6.6.1-1",
    "U",
    f"UNVERIFIED: 10 MHz for a DL operating band narrower than 100 MHz, from memory ({_REF})",
)
DELTA_F_OBUE_WIDE = SpecNumber(
    "delta_f_obue_dl_band_100_to_900mhz",
    40e6,
    "Hz",
    "TS 38.104 Table 6.6.1-1",
    "U",
    f"UNVERIFIED: 40 MHz for a DL operating band 100-900 MHz wide (n41/n77/n78), from memory ({_REF})",
)


@dataclass(frozen=True)
class MaskSegment:
    """One row of an emission mask; the limit is linear in dB between start and stop.

    Attributes
    ----------
    offset_start_hz, offset_stop_hz : f_offset range [start, stop) of the measurement filter
        centre from the channel edge, Hz; ``stop = math.inf`` means "up to f_offsetmax".
    limit_start_dbm, limit_stop_dbm : limit at the start and at the stop offset, dBm in the
        measurement bandwidth (equal for a flat segment; must be equal if stop is infinite).
    measurement_bandwidth_hz : the square measurement filter width, Hz.
    level_status, bandwidth_status : status tags of the levels and of the measurement bandwidth.
    """

    offset_start_hz: float
    offset_stop_hz: float
    limit_start_dbm: float
    limit_stop_dbm: float
    measurement_bandwidth_hz: float
    level_status: Status
    bandwidth_status: Status

    def __post_init__(self) -> None:
        if not (0 <= self.offset_start_hz < self.offset_stop_hz):
            raise ValueError(f"bad segment offsets [{self.offset_start_hz}, {self.offset_stop_hz})")
        if math.isinf(self.offset_stop_hz) and self.limit_start_dbm != self.limit_stop_dbm:
            raise ValueError("an open-ended segment must have a flat limit")
        if not (self.measurement_bandwidth_hz > 0):
            raise ValueError(f"bad measurement bandwidth {self.measurement_bandwidth_hz!r}")

    def limit_dbm(self, offset_hz: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Limit at f_offset ``offset_hz`` (array or scalar), dBm in the measurement bandwidth."""
        o = np.asarray(offset_hz, dtype=np.float64)
        if math.isinf(self.offset_stop_hz) or self.limit_start_dbm == self.limit_stop_dbm:
            return np.full_like(o, self.limit_start_dbm)
        slope = (self.limit_stop_dbm - self.limit_start_dbm) / (self.offset_stop_hz - self.offset_start_hz)
        return self.limit_start_dbm + slope * (o - self.offset_start_hz)

    @property
    def unverified(self) -> bool:
        return "U" in (self.level_status, self.bandwidth_status)


@dataclass(frozen=True)
class Mask:
    """An emission mask: segments on each side of the channel, plus the test tolerance.

    The same segments apply below the lower and above the upper channel edge.

    Attributes
    ----------
    name : e.g. ``"OBUE Wide Area Category A, NR bands > 1 GHz (n78)"``.
    segments : the rows, in increasing offset.
    test_tolerance : TS 38.141-1 test tolerance (dB) added to the limit when judging.
    clause : the TS 38.104 table.
    source : where the levels come from.
    region_low_hz, region_high_hz : the OBUE region, Hz (DL band low - Δf_OBUE, DL band high +
        Δf_OBUE); None when not tied to a band (then open-ended segments extend as far as the
        spectrum reaches).
    delta_f_obue : Δf_OBUE used for the region, or None.
    """

    name: str
    segments: tuple[MaskSegment, ...]
    test_tolerance: SpecNumber
    clause: str
    source: str
    region_low_hz: float | None = None
    region_high_hz: float | None = None
    delta_f_obue: SpecNumber | None = None

    @property
    def unverified(self) -> bool:
        """True if any number in the mask is [U]."""
        return (
            any(s.unverified for s in self.segments)
            or self.test_tolerance.unverified
            or (self.delta_f_obue is not None and self.delta_f_obue.unverified)
        )

    def offset_max_hz(self, center_hz: float, channel_bandwidth_hz: float) -> tuple[float, float]:
        """f_offsetmax below and above the carrier, Hz (``inf`` without a region).

        Raises ValueError if the channel is not inside the OBUE region (e.g. baseband offsets
        passed for a band mask: add the RF centre frequency).
        """
        lo_edge, hi_edge = center_hz - channel_bandwidth_hz / 2, center_hz + channel_bandwidth_hz / 2
        lower = math.inf if self.region_low_hz is None else lo_edge - self.region_low_hz
        upper = math.inf if self.region_high_hz is None else self.region_high_hz - hi_edge
        if lower <= 0 or upper <= 0:
            raise ValueError(
                f"the channel [{lo_edge / 1e6:.6f}, {hi_edge / 1e6:.6f}] MHz is outside the OBUE region "
                f"[{(self.region_low_hz or 0) / 1e6:.3f}, {(self.region_high_hz or 0) / 1e6:.3f}] MHz of "
                f"{self.name}; give RF frequencies (capture centre + offsets)"
            )
        return lower, upper


def delta_f_obue(b: Band) -> SpecNumber:
    """Δf_OBUE for a band from its DL width (Table 6.6.1-1 as remembered [U])."""
    width = b.dl_width_hz
    if width is None:
        raise ValueError(f"{b.name} has no downlink: no OBUE requirement")
    if width < 100e6:
        return DELTA_F_OBUE_NARROW
    if width <= 900e6:
        return DELTA_F_OBUE_WIDE
    raise ValueError(f"no Δf_OBUE is known for {b.name} (DL band {width / 1e6:g} MHz wide)")


def _segments_above_1ghz(category: str) -> tuple[MaskSegment, ...]:
    far = -13.0 if category == "A" else -15.0
    return (
        MaskSegment(0.05e6, 5.05e6, -7.0, -14.0, 100e3, "V2", "U"),
        MaskSegment(5.05e6, 10.05e6, -14.0, -14.0, 100e3, "V2", "U"),
        MaskSegment(10.5e6, math.inf, far, far, 1e6, "V2", "U"),
    )


def _resolve_band(band_name: str | int | None, frequency_hz: float | None) -> Band:
    if band_name is not None:
        b = band(band_name)
        if frequency_hz is not None and not b.contains(frequency_hz, "dl"):
            raise ValueError(f"{frequency_hz / 1e6:.3f} MHz is not in the downlink range of {b.name}")
        return b
    if frequency_hz is None:
        raise ValueError("give the operating band or the carrier frequency")
    found = bands_for_frequency(frequency_hz, "dl")
    if not found:
        raise ValueError(f"{frequency_hz / 1e6:.3f} MHz is in no NR downlink band")
    regions = {(x.dl_low_hz, x.dl_high_hz) for x in found}
    if len(regions) > 1:
        names = ", ".join(x.name for x in found)
        raise ValueError(
            f"{frequency_hz / 1e6:.3f} MHz is in several bands with different OBUE regions ({names}); "
            "give the band"
        )
    return found[0]


def obue_mask(
    category: str,
    bs_class: str = "wide_area",
    band: str | int | None = None,
    frequency_hz: float | None = None,
) -> Mask:
    """The OBUE mask for a BS category/class in an operating band.

    Parameters
    ----------
    category : ``"A"`` or ``"B"`` (Category B means option 1 here).
    bs_class : only ``"wide_area"`` is available.
    band : operating band (``"n78"``); optional if ``frequency_hz`` identifies it.
    frequency_hz : carrier centre frequency, Hz; checked to be inside the band's DL range.

    Raises
    ------
    ValueError
        For a combination without data: a BS class other than Wide Area, a band outside
        :data:`OBUE_BANDS_ABOVE_1GHZ` (bands ≤ 1 GHz such as n28, FR2 bands, shared-spectrum
        bands), an unknown band or category, or an ambiguous frequency.
    """
    cat = str(category).strip().upper()
    if cat not in ("A", "B"):
        raise ValueError(f"unknown BS category {category!r}; expected 'A' or 'B' (option 1)")
    if bs_class != "wide_area":
        raise ValueError(f"no OBUE mask data for BS class {bs_class!r}; only 'wide_area' is encoded")
    b = _resolve_band(band, frequency_hz)
    if b.name not in OBUE_BANDS_ABOVE_1GHZ:
        raise ValueError(
            f"no OBUE mask data for {b.name}: only the Wide Area tables for NR bands > 1 GHz "
            f"({', '.join(sorted(OBUE_BANDS_ABOVE_1GHZ))}) are encoded"
        )
    dfo = delta_f_obue(b)
    assert b.dl_low_hz is not None and b.dl_high_hz is not None  # checked by delta_f_obue
    table = "Table 6.6.4.2.1-2" if cat == "A" else "Table 6.6.4.2.2.1-2"
    label = "Category A" if cat == "A" else "Category B option 1"
    return Mask(
        name=f"OBUE Wide Area {label}, NR bands > 1 GHz ({b.name})",
        segments=_segments_above_1ghz(cat),
        test_tolerance=OBUE_TEST_TOLERANCE,
        clause=f"TS 38.104 §6.6.4 {table}",
        source=_LEVEL_SRC,
        region_low_hz=b.dl_low_hz - dfo.value,
        region_high_hz=b.dl_high_hz + dfo.value,
        delta_f_obue=dfo,
    )
