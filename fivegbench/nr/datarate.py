"""Approximate peak data rate, TS 38.306 §4.1.2 [V2], and the TDD DL/UL symbol fractions.

    rate (Mbps) = 1e-6 · v_layers · Q_m · f · R_max · (N_PRB · 12 / T_s^μ) · (1 − OH)

with R_max = 948/1024, T_s^μ = 1e-3 / (14 · 2^μ) (the average OFDM symbol duration with normal
CP) and OH = 0.14 (FR1 DL), 0.18 (FR2 DL), 0.08 (FR1 UL), 0.10 (FR2 UL). The formula has no TDD
factor: the TDD figure multiplies it by the share of symbols in that direction.
"""

from __future__ import annotations

from dataclasses import dataclass

from fivegbench.nr.bandwidth import n_rb
from fivegbench.nr.tdd import SYMBOLS_PER_SLOT, parse_pattern

R_MAX = 948 / 1024
SCALING_FACTORS = (1.0, 0.8, 0.75, 0.4)
QM = {"qpsk": 2, "16qam": 4, "64qam": 6, "256qam": 8, "1024qam": 10}
OVERHEAD = {("fr1", "dl"): 0.14, ("fr2", "dl"): 0.18, ("fr1", "ul"): 0.08, ("fr2", "ul"): 0.10}


@dataclass(frozen=True)
class TddFractions:
    """Share of OFDM symbols carrying DL and UL in a TDD pattern (guard symbols carry neither)."""

    dl: float
    ul: float


def tdd_fractions(pattern: str | None, special: str | None = None) -> TddFractions:
    """DL and UL symbol fractions of a slot pattern such as ``DDDSU`` with special slot ``10:2:2``
    (DL:guard:UL symbols). ``None`` means FDD: every symbol in both directions.

    Raises ValueError for a pattern that is not D/S/U letters or an S without a valid split.
    """
    if pattern is None:
        return TddFractions(1.0, 1.0)
    parsed = parse_pattern(pattern, special)
    dl_special, _guard, ul_special = parsed.special
    slots = parsed.slots
    total = len(slots) * SYMBOLS_PER_SLOT
    dl = slots.count("D") * SYMBOLS_PER_SLOT + slots.count("S") * dl_special
    ul = slots.count("U") * SYMBOLS_PER_SLOT + slots.count("S") * ul_special
    return TddFractions(dl / total, ul / total)


def peak_rate_mbps(
    bandwidth_hz: float,
    scs_hz: float,
    layers: int,
    modulation: str,
    direction: str,
    fr: str = "fr1",
    scaling_factor: float = 1.0,
) -> float:
    """FDD-equivalent peak rate of one carrier, Mbps (TS 38.306 §4.1.2).

    Parameters
    ----------
    bandwidth_hz, scs_hz : channel bandwidth and subcarrier spacing, Hz (N_PRB from TS 38.104
        Table 5.3.2-1/-2).
    layers : MIMO layers, 1..8.
    modulation : qpsk, 16qam, 64qam, 256qam or 1024qam (Q_m 2..10).
    direction : ``dl`` or ``ul`` (sets the overhead).
    fr : ``fr1`` or ``fr2``.
    scaling_factor : f, one of 1, 0.8, 0.75, 0.4.
    """
    from fivegbench.nr.numerology import mu_from_scs  # numerology imports numpy: not at CLI start-up

    key = modulation.strip().lower()
    if key not in QM:
        raise ValueError(f"modulation {modulation!r} is not one of {', '.join(QM)}")
    if (fr, direction) not in OVERHEAD:
        raise ValueError(f"direction must be dl or ul and fr fr1 or fr2, got {direction!r}, {fr!r}")
    if not (isinstance(layers, int) and 1 <= layers <= 8):
        raise ValueError(f"layers must be 1..8, got {layers!r}")
    if scaling_factor not in SCALING_FACTORS:
        raise ValueError(f"scaling factor must be one of {SCALING_FACTORS}, got {scaling_factor!r}")
    prbs = n_rb(bandwidth_hz, scs_hz, fr2=fr == "fr2")
    symbol_s = 1e-3 / (SYMBOLS_PER_SLOT * 2 ** mu_from_scs(scs_hz))
    rate = (
        layers * QM[key] * scaling_factor * R_MAX * (prbs * 12 / symbol_s) * (1 - OVERHEAD[(fr, direction)])
    )
    return rate * 1e-6
