"""Is a BS carrier one the standard allows? Band, channel, raster, SCS and duplex in one check.

:func:`check_carrier` raises :class:`CarrierError` naming the cell field that is wrong
(``band``, ``center_frequency``, ``bandwidth``, ``scs``, ``tdd_pattern``, ``special_slot``) with a
message that says how to fix it. The checks, in the order applied:

1. the band exists and has a downlink (TS 38.104 Tables 5.2-1/5.2-2, via :mod:`.bands`);
2. the channel bandwidth and SCS form a configuration of Table 5.3.2-1 (FR1: 15/30/60 kHz) or
   5.3.2-2 (FR2: 60/120 kHz) (:mod:`.bandwidth`). The per-band bandwidth list of Table 5.3.5-1
   is not encoded: a bandwidth wider than the band fails the channel-edge check instead;
3. the centre frequency lies in the band's downlink range;
4. the whole channel, centre ± bandwidth/2, lies inside the band edges;
5. the centre is on the band's channel raster (Table 5.4.2.3-1/-2, via nrarfcn; see
   :func:`.bands.dl_rasters`). In a band with two ΔF_Raster (15 and 30 kHz in n41, n77, n78, ...)
   the higher one applies to channels whose SCS is at least that high (§5.4.2.3), so a 30 kHz
   carrier in n78 must sit on the 30 kHz raster (every second NR-ARFCN); a 100 kHz raster
   applies whatever the SCS;
6. a TDD pattern or special slot is given only for a TDD band.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from fivegbench.nr.arfcn import arfcn_to_hz
from fivegbench.nr.bands import Band, Raster, band, bands_for_frequency, dl_rasters
from fivegbench.nr.bandwidth import channel_bandwidths_hz, scs_for_bandwidth_hz

__all__ = ["CarrierError", "check_carrier", "raster_for"]


class CarrierError(ValueError):
    """A carrier the standard does not allow; ``field`` is the cell key to change."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _mhz(hz: float) -> str:
    return f"{hz / 1e6:.6f}".rstrip("0").rstrip(".") + " MHz"


def _khz(hz: float) -> str:
    return f"{hz / 1e3:g} kHz"


def _known_band(name: str, center_hz: float) -> Band:
    try:
        found = band(name)
    except ValueError:
        here = [b.name for b in bands_for_frequency(center_hz, "dl")] if math.isfinite(center_hz) else []
        hint = f"{_mhz(center_hz)} is in {', '.join(here)}" if here else "write it like n78"
        raise CarrierError(
            "band", f"{name!r} is not an NR operating band (TS 38.104 Table 5.2-1) ({hint})"
        ) from None
    if found.dl_low_hz is None or found.dl_high_hz is None:
        raise CarrierError(
            "band", f"{found.name} is an uplink-only (SUL) band: a BS carrier needs a downlink"
        )
    return found


def _check_numerology(b: Band, bandwidth_hz: float, scs_hz: float) -> None:
    fr2 = b.fr == "FR2"
    table = f"TS 38.104 Table 5.3.2-{2 if fr2 else 1}"
    allowed = scs_for_bandwidth_hz(bandwidth_hz, fr2)
    if not allowed:
        widths = ", ".join(f"{w / 1e6:g}" for w in channel_bandwidths_hz(fr2))
        raise CarrierError(
            "bandwidth",
            f"{_mhz(bandwidth_hz)} is not a {b.fr} channel bandwidth of {table} "
            f"({b.fr} channel bandwidths: {widths} MHz)",
        )
    if not any(abs(scs_hz - s) <= 1 for s in allowed):
        raise CarrierError(
            "scs",
            f"{_khz(scs_hz)} SCS is not allowed for {_mhz(bandwidth_hz)} in {b.name} ({table}) "
            f"(allowed: {', '.join(_khz(s) for s in allowed)})",
        )


def raster_for(b: Band, scs_hz: float) -> Raster:
    """The channel raster a carrier of SCS ``scs_hz`` in band ``b`` must sit on (§5.4.2.3)."""
    rasters = dl_rasters(b.name)
    # the 100 kHz raster is SCS-independent; 15/30 kHz (FR1) and 60/120 kHz (FR2) follow the SCS
    by_scs = [r for r in rasters if r.raster_hz != 100e3 and r.raster_hz <= scs_hz + 1]
    if by_scs:
        return max(by_scs, key=lambda r: r.raster_hz)
    hundred = [r for r in rasters if r.raster_hz == 100e3]
    if hundred:
        return hundred[0]
    return min(rasters, key=lambda r: r.raster_hz)  # SCS below every raster: the finest one


def _raster_points(r: Raster, center_hz: float) -> tuple[int, ...]:
    """The raster's NR-ARFCNs just below and above ``center_hz`` (one when on a point)."""
    start = arfcn_to_hz(r.first)
    spacing = arfcn_to_hz(r.first + r.step) - start  # uniform: no band straddles a raster range
    k = (center_hz - start) / spacing
    last = (r.last - r.first) // r.step
    ks = {min(max(math.floor(k + 1e-6), 0), last), min(max(math.ceil(k - 1e-6), 0), last)}
    return tuple(sorted(r.first + i * r.step for i in ks))


def _check_position(b: Band, center_hz: float, bandwidth_hz: float, scs_hz: float) -> None:
    assert b.dl_low_hz is not None and b.dl_high_hz is not None  # _known_band checked it
    low, high = b.dl_low_hz, b.dl_high_hz
    if not low <= center_hz <= high:
        here = [x.name for x in bands_for_frequency(center_hz, "dl")]
        elsewhere = f"; {_mhz(center_hz)} is in {', '.join(here)}" if here else ""
        raise CarrierError(
            "center_frequency",
            f"{_mhz(center_hz)} is outside band {b.name} (TS 38.104 Table 5.2-1) "
            f"(the {b.name} downlink is {_mhz(low)} to {_mhz(high)}{elsewhere})",
        )
    half = bandwidth_hz / 2
    if center_hz - half < low - 1 or center_hz + half > high + 1:
        edge = _mhz(low) if center_hz - half < low - 1 else _mhz(high)
        if bandwidth_hz > high - low + 1:
            raise CarrierError(
                "bandwidth",
                f"a {_mhz(bandwidth_hz)} channel is wider than band {b.name} ({_mhz(high - low)})",
            )
        raise CarrierError(
            "center_frequency",
            f"a {_mhz(bandwidth_hz)} channel at {_mhz(center_hz)} crosses the {edge} edge of band {b.name} "
            f"(for {_mhz(bandwidth_hz)} the centre must be within {_mhz(low + half)} to {_mhz(high - half)})",
        )
    r = raster_for(b, scs_hz)
    points = _raster_points(r, center_hz)
    if any(abs(arfcn_to_hz(n) - center_hz) <= 1 for n in points):
        return
    near = " or ".join(f"{_mhz(arfcn_to_hz(n))} (NR-ARFCN {n})" for n in points)
    raise CarrierError(
        "center_frequency",
        f"{_mhz(center_hz)} is not on the {_khz(r.raster_hz)} channel raster of {b.name} at "
        f"{_khz(scs_hz)} SCS (TS 38.104 §5.4.2.3) (nearest: {near})",
    )


def _check_duplex(b: Band, tdd_pattern: str | None, special_slot: Sequence[int] | None) -> None:
    if b.duplex == "TDD":
        return
    for field, given in (("tdd_pattern", tdd_pattern), ("special_slot", special_slot)):
        if given is not None:
            raise CarrierError(
                field,
                f"band {b.name} is {b.duplex}, not TDD: remove {field} (or use a TDD band such as n41, n78)",
            )


def check_carrier(
    band_name: str,
    center_hz: float,
    bandwidth_hz: float,
    scs_hz: float,
    tdd_pattern: str | None = None,
    special_slot: Sequence[int] | None = None,
) -> Band:
    """Check a BS carrier against TS 38.104 (see the module docstring); return its band.

    Raises CarrierError whose ``field`` names the cell key to change.
    """
    b = _known_band(band_name, center_hz)
    _check_numerology(b, bandwidth_hz, scs_hz)
    _check_position(b, center_hz, bandwidth_hz, scs_hz)
    _check_duplex(b, tdd_pattern, special_slot)
    return b
