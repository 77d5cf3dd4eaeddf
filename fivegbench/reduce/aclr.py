"""NR adjacent channel leakage power ratio (ACLR) from a swept-analyzer trace, TS 38.104 §6.6.3.

The carrier power and each adjacent-channel power are integrated with a square filter of width
BW_Config = N_RB x 12 x SCS (TS 38.104 §6.6.3.2: "square filter ... BW_Config" on both the assigned
and the adjacent channel). The NR 1st adjacent channels are centred at -/+ BW_Channel from the
carrier centre, the 2nd at -/+ 2 x BW_Channel. ACLR = carrier power - adjacent power (dB). For the
absolute basic limit (Table 6.6.3.2-2, dBm/MHz) the adjacent power is also given as a density:
P_adj(dBm) - 10 log10(BW_Config / 1 MHz).

Integration is that of :func:`fivegbench.reduce.power.channel_power_dbm` (ENBW-corrected, with
fractional edge bins). Carrier-aggregation/CACLR and the E-UTRA adjacent channels are not covered.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy.typing as npt

from fivegbench.reduce.power import _integrate_mw, _to_dbm, _validated_trace

__all__ = ["ADJACENT_CHANNELS", "AclrResult", "AdjacentChannel", "aclr"]

# name -> offset of the adjacent channel centre in units of BW_Channel (TS 38.104 Table 6.6.3.2-1).
ADJACENT_CHANNELS: tuple[tuple[str, int], ...] = (
    ("lower1", -1),
    ("upper1", 1),
    ("lower2", -2),
    ("upper2", 2),
)


@dataclass(frozen=True)
class AdjacentChannel:
    """One adjacent channel's measurement.

    Attributes
    ----------
    name : ``"lower1"``, ``"upper1"``, ``"lower2"`` or ``"upper2"``.
    offset_hz : centre of the adjacent channel minus the carrier centre, Hz (negative below).
    power_dbm : adjacent-channel power integrated over BW_Config, dBm.
    aclr_db : carrier power minus adjacent power, dB.
    density_dbm_per_mhz : power_dbm - 10 log10(BW_Config / 1 MHz), dBm/MHz.
    """

    name: str
    offset_hz: float
    power_dbm: float
    aclr_db: float
    density_dbm_per_mhz: float


@dataclass(frozen=True)
class AclrResult:
    """ACLR of one NR carrier.

    Attributes
    ----------
    center_hz : carrier centre frequency, Hz.
    channel_bandwidth_hz : BS channel bandwidth BW_Channel, Hz (sets the adjacent offsets).
    config_bandwidth_hz : BW_Config, Hz (the square measurement filter width).
    carrier_dbm : carrier power over BW_Config around the centre, dBm.
    adjacent : the adjacent channels measured, in the order lower1, upper1, lower2, upper2.
    not_covered : names of the adjacent channels left out because the span does not cover them
        (only with ``covered_only``), in the same order.
    """

    center_hz: float
    channel_bandwidth_hz: float
    config_bandwidth_hz: float
    carrier_dbm: float
    adjacent: tuple[AdjacentChannel, ...]
    not_covered: tuple[str, ...] = ()

    def channel(self, name: str) -> AdjacentChannel:
        """The adjacent channel called ``name`` (KeyError if there is none)."""
        for ch in self.adjacent:
            if ch.name == name:
                return ch
        raise KeyError(name)

    def values(self) -> dict[str, float]:
        """Named measured values for :func:`fivegbench.verdict.judge`.

        ``carrier_power`` (dBm) and, per adjacent channel ``<name>``: ``aclr_<name>`` (dB),
        ``adjacent_<name>_power`` (dBm) and ``adjacent_<name>_density`` (dBm/MHz).
        """
        out = {"carrier_power": self.carrier_dbm}
        for ch in self.adjacent:
            out[f"aclr_{ch.name}"] = ch.aclr_db
            out[f"adjacent_{ch.name}_power"] = ch.power_dbm
            out[f"adjacent_{ch.name}_density"] = ch.density_dbm_per_mhz
        return out


def aclr(
    freqs_hz: npt.ArrayLike,
    trace_dbm: npt.ArrayLike,
    rbw_hz: float,
    enbw_factor: float,
    center_hz: float,
    channel_bandwidth_hz: float,
    config_bandwidth_hz: float,
    covered_only: bool = False,
) -> AclrResult:
    """NR ACLR for the 1st and 2nd adjacent channels on both sides (TS 38.104 §6.6.3.2).

    Parameters
    ----------
    freqs_hz : array_like, shape (n,)
        Trace point frequencies in Hz, strictly increasing and evenly spaced. The span must
        cover [center - 2 BW_Channel - BW_Config/2, center + 2 BW_Channel + BW_Config/2].
    trace_dbm : array_like, shape (n,)
        Displayed power at each point in dBm in the RBW (RMS detector).
    rbw_hz : float
        Resolution bandwidth in Hz; the point spacing must not exceed it.
    enbw_factor : float
        ENBW / RBW of the analyzer's RBW filter (1.0645 for Gaussian), dimensionless.
    center_hz : float
        Carrier centre frequency in Hz.
    channel_bandwidth_hz : float
        BS channel bandwidth BW_Channel in Hz (e.g. 100e6); adjacent channels are centred at
        -/+ 1 and -/+ 2 times this from the carrier centre.
    config_bandwidth_hz : float
        Transmission bandwidth configuration BW_Config in Hz (e.g. 98.28e6 for 100 MHz at 30 kHz
        SCS, see :func:`fivegbench.nr.bandwidth.config_bandwidth_hz`); the width of the square
        measurement filter on the carrier and on every adjacent channel.
    covered_only : bool
        Leave out the adjacent channels the span does not fully cover (an I/Q capture whose
        sample rate is too low for the 2nd adjacent channels) instead of raising; their names
        are in ``not_covered``.

    Returns
    -------
    AclrResult
        Carrier power (dBm) and per adjacent channel its power (dBm), ACLR (dB) and power
        density (dBm/MHz).

    Raises
    ------
    ValueError
        If BW_Config exceeds BW_Channel, if any of the five channels is not fully inside the trace
        span, or for any trace problem :func:`fivegbench.reduce.power.channel_power_dbm` rejects.
    """
    if not (math.isfinite(channel_bandwidth_hz) and channel_bandwidth_hz > 0):
        raise ValueError(f"channel_bandwidth_hz must be a positive number, got {channel_bandwidth_hz!r}")
    if not (math.isfinite(config_bandwidth_hz) and 0 < config_bandwidth_hz <= channel_bandwidth_hz):
        raise ValueError(
            f"config_bandwidth_hz must be positive and not wider than the channel bandwidth "
            f"({channel_bandwidth_hz!r} Hz), got {config_bandwidth_hz!r}"
        )
    f, p_mw, df = _validated_trace(freqs_hz, trace_dbm, rbw_hz, enbw_factor)
    enbw_hz = enbw_factor * rbw_hz
    carrier_dbm = _to_dbm(_integrate_mw(f, p_mw, df, enbw_hz, center_hz, config_bandwidth_hz, "carrier"))
    density_offset_db = 10.0 * math.log10(config_bandwidth_hz / 1e6)
    adjacent = []
    not_covered = []
    for name, k in ADJACENT_CHANNELS:
        offset = k * channel_bandwidth_hz
        lo, hi = center_hz + offset - config_bandwidth_hz / 2, center_hz + offset + config_bandwidth_hz / 2
        if covered_only and (lo < f[0] - 1e-6 * df or hi > f[-1] + 1e-6 * df):
            not_covered.append(name)  # the same coverage rule _integrate_mw enforces
            continue
        p_adj = _to_dbm(
            _integrate_mw(
                f, p_mw, df, enbw_hz, center_hz + offset, config_bandwidth_hz, f"{name} adjacent channel"
            )
        )
        adjacent.append(
            AdjacentChannel(
                name=name,
                offset_hz=offset,
                power_dbm=p_adj,
                aclr_db=carrier_dbm - p_adj,  # nan if both are -inf (no power at all)
                density_dbm_per_mhz=p_adj - density_offset_db,
            )
        )
    return AclrResult(
        center_hz=center_hz,
        channel_bandwidth_hz=channel_bandwidth_hz,
        config_bandwidth_hz=config_bandwidth_hz,
        carrier_dbm=carrier_dbm,
        adjacent=tuple(adjacent),
        not_covered=tuple(not_covered),
    )
