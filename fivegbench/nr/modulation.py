"""NR modulation mapper, TS 38.211 §5.1 (BPSK, QPSK, 16QAM, 64QAM, 256QAM).

Source status [V]: the bit-to-symbol formulas of TS 38.211 §5.1.2-§5.1.6. For the square QAMs, with
k = bits/2 per axis, the in-phase component is built from the even bits b(0), b(2), ... and the
quadrature component from the odd bits b(1), b(3), ... as::

    16QAM:  d = 1/sqrt(10)  {(1-2b0)[2-(1-2b2)] + j(1-2b1)[2-(1-2b3)]}
    64QAM:  d = 1/sqrt(42)  {(1-2b0)[4-(1-2b2)[2-(1-2b4)]] + j ...}
    256QAM: d = 1/sqrt(170) {(1-2b0)[8-(1-2b2)[4-(1-2b4)[2-(1-2b6)]]] + j ...}

i.e. Gray-coded levels on each axis with unit average power (normalisation 2 (4^k - 1) / 3).
BPSK (§5.1.2): d = 1/sqrt(2) {(1-2b) + j(1-2b)}. Pi/2-BPSK is not covered.

Index convention of :func:`constellation`: point i carries the bits of i written MSB first, so
b(0) is the most significant bit of i.
"""

from __future__ import annotations

import math
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["MODULATIONS", "bits_per_symbol", "constellation", "hard_decision", "map_bits", "normalise_name"]

MODULATIONS: dict[str, int] = {"BPSK": 1, "QPSK": 2, "16QAM": 4, "64QAM": 6, "256QAM": 8}
"""Supported modulation name -> bits per symbol."""


def normalise_name(name: str) -> str:
    """Canonical modulation name (``"qam-64"``, ``"64qam"``, ``"64 QAM"`` -> ``"64QAM"``).

    Raises ValueError for a name that is not in :data:`MODULATIONS`.
    """
    key = str(name).upper().replace("-", "").replace("_", "").replace(" ", "")
    if key.startswith("QAM") and key[3:].isdigit():
        key = key[3:] + "QAM"
    if key not in MODULATIONS:
        raise ValueError(f"unknown modulation {name!r}; expected one of {', '.join(MODULATIONS)}")
    return key


def bits_per_symbol(name: str) -> int:
    """Bits per modulation symbol (1, 2, 4, 6 or 8)."""
    return MODULATIONS[normalise_name(name)]


def _axis_levels(axis_bits: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """Integer level of one axis from its k bits (last axis), nested as in TS 38.211 §5.1."""
    k = axis_bits.shape[-1]
    signs = 1 - 2 * axis_bits.astype(np.float64)
    level = signs[..., k - 1]
    for j in range(k - 2, -1, -1):
        level = signs[..., j] * (2.0 ** (k - 1 - j) - level)
    return level


def _map(bits: npt.NDArray[np.int64], m: int) -> npt.NDArray[np.complex128]:
    """Symbols for bit groups ``bits`` of shape (n, m)."""
    if m == 1:
        s = (1 - 2 * bits[:, 0].astype(np.float64)) / math.sqrt(2.0)
        return (s + 1j * s).astype(np.complex128)
    k = m // 2
    norm = math.sqrt(2.0 * (4**k - 1) / 3.0)
    out = np.empty(bits.shape[0], dtype=np.complex128)
    out.real = _axis_levels(bits[:, 0::2]) / norm
    out.imag = _axis_levels(bits[:, 1::2]) / norm
    return out


@cache
def _constellation(name: str) -> npt.NDArray[np.complex128]:
    m = MODULATIONS[name]
    idx = np.arange(2**m, dtype=np.int64)
    bits = (idx[:, None] >> np.arange(m - 1, -1, -1, dtype=np.int64)[None, :]) & 1
    points = _map(bits, m)
    points.setflags(write=False)
    return points


def constellation(name: str) -> npt.NDArray[np.complex128]:
    """All 2^m points of a modulation; point i carries the bits of i (MSB = b(0)).

    Parameters
    ----------
    name : ``"BPSK"``, ``"QPSK"``, ``"16QAM"``, ``"64QAM"`` or ``"256QAM"`` (case-insensitive).

    Returns
    -------
    ndarray of complex128, shape (2^m,)
        Read-only; unit average power (mean |d|^2 = 1), dimensionless.
    """
    return _constellation(normalise_name(name))


def map_bits(bits: npt.ArrayLike, name: str) -> npt.NDArray[np.complex128]:
    """Map a bit sequence to modulation symbols (TS 38.211 §5.1).

    Parameters
    ----------
    bits : array_like of 0/1, shape (n x m,), b(0) first.
    name : modulation name, see :func:`constellation`.

    Returns
    -------
    ndarray of complex128, shape (n,)
        d(0) ... d(n-1).

    Raises ValueError if the length is not a multiple of the bits per symbol or a bit is not 0/1.
    """
    m = bits_per_symbol(name)
    b = np.asarray(bits)
    if b.ndim != 1:
        raise ValueError("bits must be one-dimensional")
    if b.size % m:
        raise ValueError(f"{b.size} bits is not a multiple of {m} bits per {normalise_name(name)} symbol")
    if b.size and not np.all((b == 0) | (b == 1)):
        raise ValueError("bits must be 0 or 1")
    return _map(b.astype(np.int64).reshape(-1, m), m)


def hard_decision(
    symbols: npt.ArrayLike, name: str, out: npt.NDArray[np.complexfloating] | None = None
) -> npt.NDArray[np.complexfloating]:
    """Nearest constellation point to each received symbol (minimum Euclidean distance).

    Square QAM is sliced separably on I and Q (the nearest point of a square grid is the nearest
    level on each axis), so the cost is a few array operations per symbol whatever the order.

    Parameters
    ----------
    symbols : array_like of complex, any shape; on the unit-average-power scale of
        :func:`constellation`.
    name : modulation name.
    out : optional array of the result's shape and dtype to write into (square QAM only).

    Returns
    -------
    ndarray, same shape as ``symbols``
        The decided points (exact constellation values), complex64 for complex64 input (so a
        single-precision pipeline stays single precision), else complex128.
    """
    key = normalise_name(name)
    z = np.asarray(symbols)
    dtype = np.complex64 if z.dtype == np.complex64 else np.complex128
    m = MODULATIONS[key]
    if m == 1:
        s = np.where(z.real + z.imag >= 0, 1.0, -1.0) / math.sqrt(2.0)
        return (s + 1j * s).astype(dtype)
    k = m // 2
    levels = 2**k
    norm = math.sqrt(2.0 * (4**k - 1) / 3.0)
    # slice I and Q together on the interleaved real view, in place: level index
    # floor((v norm + L) / 2) clipped to 0..L-1, then level (2 index - (L - 1)) / norm
    zc = np.atleast_1d(np.ascontiguousarray(z, dtype=dtype))
    if out is None:
        out = np.empty(zc.shape, dtype=dtype)
    elif out.shape != zc.shape or out.dtype != dtype or not out.flags.c_contiguous:
        raise ValueError(f"out must be a C-contiguous {np.dtype(dtype)} array of shape {zc.shape}")
    result = out
    real = np.float32 if dtype == np.complex64 else np.float64
    flat: npt.NDArray[Any] = result.view(real)
    np.multiply(zc.view(real), norm / 2.0, out=flat)
    flat += levels / 2.0
    np.floor(flat, out=flat)
    np.clip(flat, 0, levels - 1, out=flat)
    if dtype == np.complex64:  # single precision: one rounding more is immaterial, one pass less
        flat *= 2.0 / norm
        flat -= (levels - 1) / norm
    else:  # exactly the constellation's values (integer arithmetic, then one division)
        flat *= 2.0
        flat -= levels - 1
        flat /= norm
    return result.reshape(z.shape)
