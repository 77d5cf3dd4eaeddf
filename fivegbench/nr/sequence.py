"""Pseudo-random sequence and DM-RS sequences, TS 38.211 §5.2.1, §7.4.1.1.1 and §7.4.1.3.1.

Source status [U]: written from the text of TS 38.211 as remembered, not in nr-standards.md.

* c(n) = (x1(n + Nc) + x2(n + Nc)) mod 2, Nc = 1600;
  x1(n + 31) = (x1(n + 3) + x1(n)) mod 2, x1(0) = 1, x1(1..30) = 0;
  x2(n + 31) = (x2(n + 3) + x2(n + 2) + x2(n + 1) + x2(n)) mod 2, c_init = sum x2(i) 2^i.
* DM-RS symbols r(m) = ((1 - 2 c(2m)) + j (1 - 2 c(2m + 1))) / sqrt(2).
* PDSCH DM-RS c_init = (2^17 (14 n_s + l + 1)(2 N_ID + 1) + 2 N_ID + n_SCID) mod 2^31 (Rel-15 form).
* PDCCH DM-RS c_init = (2^17 (14 n_s + l + 1)(2 N_ID + 1) + 2 N_ID) mod 2^31.

x2 is linear in its 31 initial bits, so the sequences of many c_init are one matrix product with the
sequences of the 31 unit initial states (computed once per length).
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np
import numpy.typing as npt

__all__ = ["NC", "dmrs_c_init", "dmrs_qpsk", "gold"]

NC = 1600
"""Offset Nc of the Gold sequence (TS 38.211 §5.2.1)."""


def _lfsr(n: int, init: npt.NDArray[np.uint8], taps: tuple[int, ...]) -> npt.NDArray[np.uint8]:
    """Run a length-31 LFSR (x(k + 31) = sum of x(k + t) for t in taps, mod 2) for n + Nc outputs;
    ``init`` has shape (31, m): m registers at once."""
    total = n + NC
    x = np.zeros((total + 31, init.shape[1]), dtype=np.uint8)
    x[:31] = init
    for k in range(total):
        acc = x[k + taps[0]].copy()
        for t in taps[1:]:
            acc ^= x[k + t]
        x[k + 31] = acc
    return x[NC : NC + n]


@cache
def _bases(n: int) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
    """(x1 outputs (n,), x2 outputs of the 31 unit initial states (n, 31)), from index Nc."""
    init1 = np.zeros((31, 1), dtype=np.uint8)
    init1[0, 0] = 1
    x1 = _lfsr(n, init1, (0, 3))[:, 0]
    x2 = _lfsr(n, np.eye(31, dtype=np.uint8), (0, 1, 2, 3))
    x1.setflags(write=False)
    x2.setflags(write=False)
    return x1, x2


def gold(c_init: npt.ArrayLike, n: int) -> npt.NDArray[np.uint8]:
    """Pseudo-random sequences c(0..n-1) for each c_init (TS 38.211 §5.2.1).

    Parameters
    ----------
    c_init : int or array of ints in 0 .. 2^31 - 1.
    n : sequence length.

    Returns
    -------
    ndarray of uint8 0/1, shape ``np.shape(c_init) + (n,)``.
    """
    inits = np.asarray(c_init, dtype=np.int64)
    if np.any(inits < 0) or np.any(inits >= 2**31):
        raise ValueError("c_init must be in 0 .. 2^31 - 1")
    x1, x2 = _bases(int(n))
    bits = ((inits.reshape(-1, 1) >> np.arange(31)) & 1).astype(np.float32)  # (m, 31)
    # x2 of each c_init: XOR of the unit-state sequences of its set bits (a sum mod 2)
    x2c = (bits @ x2.T.astype(np.float32)).astype(np.int64) & 1  # (m, n)
    c = (x2c ^ x1[None, :]).astype(np.uint8)
    return c.reshape((*inits.shape, int(n)))


def dmrs_c_init(
    slot: npt.ArrayLike, symbol: npt.ArrayLike, n_id: int, n_scid: int = 0
) -> npt.NDArray[np.int64]:
    """c_init of the PDSCH (``n_scid`` 0/1) or PDCCH (``n_scid`` 0) DM-RS in ``slot`` (slot number in
    the frame) and ``symbol`` (0..13), scrambling identity ``n_id`` [U]."""
    s = np.asarray(slot, dtype=np.int64)
    l_ = np.asarray(symbol, dtype=np.int64)
    return (2**17 * (14 * s + l_ + 1) * (2 * n_id + 1) + 2 * n_id + n_scid) % 2**31


def dmrs_qpsk(c_init: npt.ArrayLike, n: int) -> npt.NDArray[np.complex64]:
    """DM-RS symbols r(0..n-1) = ((1 - 2 c(2m)) + j (1 - 2 c(2m + 1))) / sqrt(2), unit power.

    Returns
    -------
    ndarray of complex64, shape ``np.shape(c_init) + (n,)``.
    """
    c = gold(c_init, 2 * int(n)).astype(np.float32)
    r = ((1 - 2 * c[..., 0::2]) + 1j * (1 - 2 * c[..., 1::2])) / math.sqrt(2.0)
    return r.astype(np.complex64)
