"""GSCN <-> SS_REF (the SS block reference frequency), TS 38.104 §5.4.3.1 Table 5.4.3.1-1 [V2].

| range            | SS_REF                                        | GSCN             | GSCN range    |
| 0–3000 MHz       | N·1200 kHz + M·50 kHz, N = 1:2499, M ∈ {1,3,5} | 3N + (M - 3)/2   | 2–7498        |
| 3000–24250 MHz   | 3000 MHz + N·1.44 MHz, N = 0:14756            | 7499 + N         | 7499–22255    |
| 24250–100000 MHz | 24250.08 MHz + N·17.28 MHz, N = 0:4383        | 22256 + N        | 22256–26639   |

Source: nr-standards.md §1.5 (nrarfcn ``gscn_parameters`` for TS 38.104 V17.6.0; a Go tool and
hackmd notes agree). Implemented here from the table in integer Hz; the tests cross-check every
GSCN against ``nrarfcn``.
"""

from __future__ import annotations

import math

__all__ = ["MAX_GSCN", "MIN_GSCN", "gscn_to_hz", "hz_to_gscn"]

MIN_GSCN = 2
MAX_GSCN = 26_639
_FR1_LOW_LAST = 7_498  # last GSCN of the 0-3000 MHz range
_MID_FIRST, _MID_LAST = 7_499, 22_255
_HIGH_FIRST = 22_256
_MID_START_HZ, _MID_STEP_HZ = 3_000_000_000, 1_440_000
_HIGH_START_HZ, _HIGH_STEP_HZ = 24_250_080_000, 17_280_000


def gscn_to_hz(gscn: int) -> float:
    """GSCN -> SS_REF in Hz. ValueError outside 2..26639."""
    if isinstance(gscn, bool) or not isinstance(gscn, int):
        raise ValueError(f"GSCN must be an integer, got {gscn!r}")
    if MIN_GSCN <= gscn <= _FR1_LOW_LAST:
        n = (gscn + 1) // 3  # GSCN = 3N + d, d = (M - 3)/2 in {-1, 0, 1}
        m = 2 * (gscn - 3 * n) + 3
        return float(n * 1_200_000 + m * 50_000)
    if _MID_FIRST <= gscn <= _MID_LAST:
        return float(_MID_START_HZ + (gscn - _MID_FIRST) * _MID_STEP_HZ)
    if _HIGH_FIRST <= gscn <= MAX_GSCN:
        return float(_HIGH_START_HZ + (gscn - _HIGH_FIRST) * _HIGH_STEP_HZ)
    raise ValueError(f"GSCN {gscn} is outside {MIN_GSCN}..{MAX_GSCN} (TS 38.104 Table 5.4.3.1-1)")


def _candidates(frequency_hz: float) -> list[int]:
    """GSCNs whose SS_REF may be nearest to ``frequency_hz`` (a few per range)."""
    out: list[int] = []
    n = math.floor(frequency_hz / 1_200_000)
    for nn in (n - 1, n, n + 1):
        out += [3 * nn - 1, 3 * nn, 3 * nn + 1]
    k = math.floor((frequency_hz - _MID_START_HZ) / _MID_STEP_HZ)
    out += [_MID_FIRST + k, _MID_FIRST + k + 1]
    k = math.floor((frequency_hz - _HIGH_START_HZ) / _HIGH_STEP_HZ)
    out += [_HIGH_FIRST + k, _HIGH_FIRST + k + 1]
    edges = [MIN_GSCN, _FR1_LOW_LAST, _MID_FIRST, _MID_LAST, _HIGH_FIRST, MAX_GSCN]
    return [g for g in {*out, *edges} if MIN_GSCN <= g <= MAX_GSCN]


def hz_to_gscn(frequency_hz: float, nearest: bool = False) -> int:
    """SS_REF in Hz -> GSCN.

    With ``nearest=False`` (default) the frequency must be on the synchronization raster within
    1 Hz, else ValueError. With ``nearest=True`` the GSCN of the nearest raster point is returned.
    """
    if not (math.isfinite(frequency_hz) and 0 <= frequency_hz <= 100e9):
        raise ValueError(f"frequency {frequency_hz!r} Hz is outside 0..100 GHz")
    best = min(_candidates(frequency_hz), key=lambda g: (abs(gscn_to_hz(g) - frequency_hz), g))
    if not nearest and abs(gscn_to_hz(best) - frequency_hz) > 1.0:
        raise ValueError(
            f"{frequency_hz / 1e6:.6f} MHz is not on the synchronization raster (nearest GSCN {best} is "
            f"{gscn_to_hz(best) / 1e6:.6f} MHz)"
        )
    return best
