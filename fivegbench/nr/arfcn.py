"""NR-ARFCN <-> RF reference frequency, TS 38.104 §5.4.2.1 (Table 5.4.2.1-1) [V2].

| range           | ΔF_Global | F_REF-Offs     | N_REF-Offs |
| 0–3000 MHz      | 5 kHz     | 0 MHz          | 0          |
| 3000–24250 MHz  | 15 kHz    | 3000 MHz       | 600000     |
| 24250–100000 MHz| 60 kHz    | 24250.08 MHz   | 2016667    |
"""

from __future__ import annotations

import math

MAX_ARFCN = 3_279_165
_FR2_START_HZ = 24250.08e6


def arfcn_to_hz(arfcn: int) -> float:
    """NR-ARFCN -> F_REF in Hz. Raises ValueError outside 0..3279165."""
    if 0 <= arfcn < 600_000:
        return 5e3 * arfcn
    if 600_000 <= arfcn < 2_016_667:
        return 3000e6 + 15e3 * (arfcn - 600_000)
    if 2_016_667 <= arfcn <= MAX_ARFCN:
        return _FR2_START_HZ + 60e3 * (arfcn - 2_016_667)
    raise ValueError(f"NR-ARFCN {arfcn} is outside 0..{MAX_ARFCN} (TS 38.104 §5.4.2.1)")


def nearest_arfcn(frequency_hz: float) -> int:
    """The NR-ARFCN of the global raster point nearest to ``frequency_hz`` (0..100 GHz)."""
    if not math.isfinite(frequency_hz) or not 0 <= frequency_hz <= 100e9:
        raise ValueError(f"centre frequency {frequency_hz!r} Hz is outside 0..100 GHz")
    if frequency_hz < 3000e6:
        return round(frequency_hz / 5e3)
    if frequency_hz < _FR2_START_HZ:
        return 600_000 + round((frequency_hz - 3000e6) / 15e3)
    return min(2_016_667 + round((frequency_hz - _FR2_START_HZ) / 60e3), MAX_ARFCN)


def hz_to_arfcn(frequency_hz: float) -> int:
    """F_REF in Hz -> NR-ARFCN. Raises ValueError off the global raster (within 1 Hz)."""
    n = nearest_arfcn(frequency_hz)
    if abs(arfcn_to_hz(n) - frequency_hz) > 1.0:
        raise ValueError(
            f"centre frequency {frequency_hz / 1e6:.6f} MHz is not on the NR global raster "
            f"(nearest NR-ARFCN {n} is {arfcn_to_hz(n) / 1e6:.6f} MHz)"
        )
    return n
