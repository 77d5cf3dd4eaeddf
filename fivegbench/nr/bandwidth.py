"""Transmission bandwidth configuration N_RB, TS 38.104 Table 5.3.2-1 (FR1) and 5.3.2-2 (FR2).

Source status [V2]: srsRAN_Project ``lib/ran/band_helper.cpp`` and MATLAB ``getFR1BandwidthTable``
agree (nr-standards.md §1.3). The measurement bandwidth of channel power and ACLR is
BW_Config = N_RB x 12 x SCS (TS 38.104 §6.6.3.2).
"""

from __future__ import annotations

FR1_MAX_HZ = 7.125e9
"""Upper edge of FR1 (TS 38.104 §5.1); above it the FR2 table applies."""

# channel bandwidth MHz -> {SCS kHz: N_RB}
_FR1: dict[int, dict[int, int]] = {
    5: {15: 25, 30: 11},
    10: {15: 52, 30: 24, 60: 11},
    15: {15: 79, 30: 38, 60: 18},
    20: {15: 106, 30: 51, 60: 24},
    25: {15: 133, 30: 65, 60: 31},
    30: {15: 160, 30: 78, 60: 38},
    35: {15: 188, 30: 92, 60: 44},
    40: {15: 216, 30: 106, 60: 51},
    45: {15: 242, 30: 119, 60: 58},
    50: {15: 270, 30: 133, 60: 65},
    60: {30: 162, 60: 79},
    70: {30: 189, 60: 93},
    80: {30: 217, 60: 107},
    90: {30: 245, 60: 121},
    100: {30: 273, 60: 135},
}
_FR2: dict[int, dict[int, int]] = {
    50: {60: 66, 120: 32},
    100: {60: 132, 120: 66},
    200: {60: 264, 120: 132},
    400: {120: 264},
}


def n_rb(bandwidth_hz: float, scs_hz: float, fr2: bool = False) -> int:
    """Maximum transmission bandwidth configuration N_RB for a channel bandwidth and SCS.

    Parameters
    ----------
    bandwidth_hz : channel bandwidth in Hz (e.g. 100e6).
    scs_hz : subcarrier spacing in Hz (e.g. 30e3).
    fr2 : look up FR2 (Table 5.3.2-2) instead of FR1 (Table 5.3.2-1).

    Raises ValueError for a combination the table does not define.
    """
    table = _FR2 if fr2 else _FR1
    bw_mhz, scs_khz = round(bandwidth_hz / 1e6), round(scs_hz / 1e3)
    if abs(bw_mhz * 1e6 - bandwidth_hz) > 1 or abs(scs_khz * 1e3 - scs_hz) > 1:
        raise ValueError(f"{bandwidth_hz / 1e6:g} MHz at {scs_hz / 1e3:g} kHz is not a 3GPP configuration")
    try:
        return table[bw_mhz][scs_khz]
    except KeyError:
        fr = "FR2" if fr2 else "FR1"
        raise ValueError(
            f"{bw_mhz} MHz at {scs_khz} kHz SCS is not in TS 38.104 Table 5.3.2-{2 if fr2 else 1} ({fr})"
        ) from None


def channel_bandwidths_hz(fr2: bool = False) -> tuple[float, ...]:
    """The channel bandwidths of Table 5.3.2-1 (FR1) or 5.3.2-2 (FR2), Hz, ascending."""
    return tuple(mhz * 1e6 for mhz in sorted(_FR2 if fr2 else _FR1))


def scs_for_bandwidth_hz(bandwidth_hz: float, fr2: bool = False) -> tuple[float, ...]:
    """The subcarrier spacings (Hz, ascending) the table defines for a channel bandwidth; empty
    when it defines none."""
    row = (_FR2 if fr2 else _FR1).get(round(bandwidth_hz / 1e6))
    if row is None or abs(round(bandwidth_hz / 1e6) * 1e6 - bandwidth_hz) > 1:
        return ()
    return tuple(khz * 1e3 for khz in sorted(row))


def config_bandwidth_hz(bandwidth_hz: float, scs_hz: float, fr2: bool = False) -> float:
    """BW_Config = N_RB x 12 x SCS in Hz: the channel power / ACLR measurement bandwidth."""
    return n_rb(bandwidth_hz, scs_hz, fr2) * 12 * scs_hz
