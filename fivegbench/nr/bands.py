"""NR operating bands, TS 38.104 Table 5.2-1 (FR1) and Table 5.2-2 (FR2) [V2].

The band edges come from the ``nrarfcn`` package's digitisation of TS 38.104 V17.6.0 (Rel-17,
``nrarfcn.tables.rel17.bands_fr1`` / ``bands_fr2``); the research notes (nr-standards.md §1.4)
agree for the bands used here (n1, n3, n28, n41, n77, n78, n79, n257, n258), which the tests check
independently. Frequencies are in Hz (nrarfcn works in MHz).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal

from nrarfcn.tables import get_table

from fivegbench.nr.requirements import normalize_band

__all__ = [
    "BAND_RELEASE",
    "BAND_SOURCE",
    "RASTER_SOURCE",
    "Band",
    "Raster",
    "all_bands",
    "band",
    "bands_for_frequency",
    "dl_rasters",
]

BAND_RELEASE = 17
BAND_SOURCE = "3GPP TS 38.104 V17.6.0 Tables 5.2-1/5.2-2 via nrarfcn (status V2)"
RASTER_SOURCE = "3GPP TS 38.104 V17.6.0 Tables 5.4.2.3-1/5.4.2.3-2 via nrarfcn (status V2)"

Duplex = Literal["FDD", "TDD", "SDL", "SUL"]


@dataclass(frozen=True)
class Band:
    """One NR operating band.

    Attributes
    ----------
    name : ``"n78"``.
    duplex : ``"FDD"``, ``"TDD"``, ``"SDL"`` (downlink only) or ``"SUL"`` (uplink only).
    dl_low_hz, dl_high_hz : BS transmit (downlink) range, Hz; None for an SUL band.
    ul_low_hz, ul_high_hz : BS receive (uplink) range, Hz; None for an SDL band.
    fr : ``"FR1"`` or ``"FR2"``.
    """

    name: str
    duplex: Duplex
    dl_low_hz: float | None
    dl_high_hz: float | None
    ul_low_hz: float | None
    ul_high_hz: float | None
    fr: Literal["FR1", "FR2"]

    @property
    def dl_width_hz(self) -> float | None:
        """Width of the downlink band, Hz (None for SUL)."""
        if self.dl_low_hz is None or self.dl_high_hz is None:
            return None
        return self.dl_high_hz - self.dl_low_hz

    def contains(self, frequency_hz: float, direction: Literal["dl", "ul", "any"] = "any") -> bool:
        """True if ``frequency_hz`` lies in the band (edges included) in the given direction."""
        ranges = []
        if direction in ("dl", "any"):
            ranges.append((self.dl_low_hz, self.dl_high_hz))
        if direction in ("ul", "any"):
            ranges.append((self.ul_low_hz, self.ul_high_hz))
        return any(lo is not None and hi is not None and lo <= frequency_hz <= hi for lo, hi in ranges)


def _hz(mhz: object) -> float | None:
    if isinstance(mhz, int | float) and not isinstance(mhz, bool):
        return float(mhz) * 1e6
    return None  # 'N/A' in the table


@functools.cache
def all_bands() -> tuple[Band, ...]:
    """Every NR band of the Rel-17 tables, FR1 first, in table order."""
    out = []
    for table_id, fr in (("bands_fr1", "FR1"), ("bands_fr2", "FR2")):
        table = get_table(table_id, BAND_RELEASE)
        for row in table.data:
            cell = functools.partial(table.get_cell, row)
            out.append(
                Band(
                    name=str(cell("band")),
                    duplex=cell("duplex_mode"),
                    dl_low_hz=_hz(cell("f_dl_low")),
                    dl_high_hz=_hz(cell("f_dl_high")),
                    ul_low_hz=_hz(cell("f_ul_low")),
                    ul_high_hz=_hz(cell("f_ul_high")),
                    fr=fr,  # type: ignore[arg-type]
                )
            )
    return tuple(out)


def band(name: str | int) -> Band:
    """The band called ``name`` (``"n78"``, ``"78"``, ``78``). ValueError if there is none."""
    key = normalize_band(name)
    for b in all_bands():
        if b.name == key:
            return b
    raise ValueError(f"{key} is not an NR operating band in {BAND_SOURCE}")


def bands_for_frequency(frequency_hz: float, direction: Literal["dl", "ul", "any"] = "any") -> list[Band]:
    """Bands whose downlink and/or uplink range contains ``frequency_hz`` (edges included).

    ``direction="dl"`` restricts to BS transmit ranges (what a BS transmitter test needs).
    An empty list if no band contains the frequency.
    """
    if direction not in ("dl", "ul", "any"):
        raise ValueError(f"direction must be 'dl', 'ul' or 'any', got {direction!r}")
    return [b for b in all_bands() if b.contains(frequency_hz, direction)]


@dataclass(frozen=True)
class Raster:
    """The downlink channel raster of a band for one ΔF_Raster (TS 38.104 §5.4.2.3).

    Attributes
    ----------
    raster_hz : ΔF_Raster, Hz (100 kHz for most bands below 3 GHz; 15/30 kHz in n41, n77, n78, ...).
    first, step, last : applicable NR-ARFCNs ``first, first + step, ... <= last``.
    """

    raster_hz: float
    first: int
    step: int
    last: int


@functools.cache
def dl_rasters(name: str | int) -> tuple[Raster, ...]:
    """The downlink channel rasters of band ``name`` (empty for an uplink-only band).

    ValueError for a name that is not a band.
    """
    key = band(name).name
    out = []
    for table_id in ("applicable_nrarfcn_fr1", "applicable_nrarfcn_fr2"):
        table = get_table(table_id, BAND_RELEASE)
        for row in table.data:
            cell = functools.partial(table.get_cell, row)
            if cell("band") == key and cell("dl_first") != "N/A":
                raster_hz = float(cell("f_raster")) * 1e3
                out.append(Raster(raster_hz, cell("dl_first"), cell("dl_step"), cell("dl_last")))
    return tuple(out)
