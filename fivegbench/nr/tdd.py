"""TDD slot pattern: which OFDM symbols of each slot are downlink, guard or uplink.

A pattern is a string of slot letters (``D`` downlink, ``S`` special, ``U`` uplink), repeated
periodically from slot 0 of the frame; the special slot is split ``D:G:U`` symbols in that order
(TS 38.213 §11.1, the semi-static TDD-UL-DL-ConfigCommon with one pattern). ``None`` is FDD:
every slot is downlink. Normal CP only (14 symbols per slot, TS 38.211 Table 4.3.2-1) [V].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["DOWNLINK", "GUARD", "SYMBOLS_PER_SLOT", "UPLINK", "TddPattern", "parse_pattern"]

SYMBOLS_PER_SLOT = 14
"""OFDM symbols per slot, normal CP (TS 38.211 Table 4.3.2-1) [V]."""

DOWNLINK, GUARD, UPLINK = 0, 1, 2
"""Symbol direction codes of :meth:`TddPattern.symbol_directions`."""


@dataclass(frozen=True)
class TddPattern:
    """A parsed slot pattern.

    Attributes
    ----------
    slots : the slot letters, e.g. ``"DDDSU"``; ``"D"`` for FDD.
    special : (DL, guard, UL) symbols of an ``S`` slot; (14, 0, 0) when there is none.
    """

    slots: str
    special: tuple[int, int, int]

    @property
    def is_tdd(self) -> bool:
        """True unless every slot is a full downlink slot."""
        return set(self.slots) != {"D"}

    def dl_symbols(self, slot: int) -> int:
        """Number of leading downlink symbols in ``slot`` (slot index from the start of the frame)."""
        kind = self.slots[slot % len(self.slots)]
        return {"D": SYMBOLS_PER_SLOT, "S": self.special[0], "U": 0}[kind]

    def symbol_directions(self, n_slots: int) -> npt.NDArray[np.int8]:
        """Direction of every symbol of ``n_slots`` slots: DOWNLINK, GUARD or UPLINK, shape (n_slots, 14)."""
        out = np.full((n_slots, SYMBOLS_PER_SLOT), UPLINK, dtype=np.int8)
        d, g, _u = self.special
        for slot in range(n_slots):
            kind = self.slots[slot % len(self.slots)]
            if kind == "D":
                out[slot] = DOWNLINK
            elif kind == "S":
                out[slot, :d] = DOWNLINK
                out[slot, d : d + g] = GUARD
        return out


def parse_pattern(pattern: str | None, special: str | None = None) -> TddPattern:
    """Parse a slot pattern such as ``DDDSU`` and a special-slot split such as ``10:2:2``.

    Parameters
    ----------
    pattern : slot letters D, S, U; None for FDD.
    special : ``D:G:U`` symbol counts of the S slot, summing to 14; required when the pattern has an S.

    Raises ValueError for a pattern that is not D/S/U letters or an S without a valid split.
    """
    if pattern is None:
        return TddPattern("D", (SYMBOLS_PER_SLOT, 0, 0))
    slots = pattern.strip().upper()
    if not slots or set(slots) - set("DSU"):
        raise ValueError(f"TDD pattern {pattern!r} must be a string of D, S and U slots")
    split = (SYMBOLS_PER_SLOT, 0, 0)
    if "S" in slots:
        if special is None:
            raise ValueError(f"TDD pattern {pattern!r} has a special slot: give its split D:G:U, e.g. 10:2:2")
        try:
            d, g, u = (int(part) for part in special.split(":"))
        except ValueError:
            raise ValueError(f"special slot {special!r} must be D:G:U symbol counts, e.g. 10:2:2") from None
        if min(d, g, u) < 0 or d + g + u != SYMBOLS_PER_SLOT:
            raise ValueError(f"special slot {special!r} must split the 14 symbols of a slot")
        split = (d, g, u)
    return TddPattern(slots, split)
