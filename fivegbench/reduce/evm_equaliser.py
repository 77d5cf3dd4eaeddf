"""Zero-forcing equalizer and error sums of the EVM reducer, for a grid of resource-element groups
(one group per PDSCH allocation, plus one for DM-RS).

Model of a measured resource element of group g in symbol t, subcarrier k::

    y[t, k] = H[k] exp(j theta[t]) alpha[g] d[t, k] + e[t, k]

H the channel (TS 38.104 Annex B.4: from the reference REs -- DM-RS when the layout has them,
else the data -- as the least-squares ratio received / reference averaged over the capture, a
19-point moving average across the reference subcarriers, linear interpolation to every
subcarrier), theta the common phase of the symbol (residual CFO and the common part of phase
noise; FR1 Annex B does not remove it: documented deviation), alpha the amplitude of the
allocation relative to its DM-RS (1 for DM-RS, and for every group when the channel comes from
the data), d the reference symbol: known (data-aided) or the hard decision of the equalised RE
(decision-directed; DM-RS is QPSK).

H comes from the DM-RS alone when every PRB with data has DM-RS (:func:`dmrs_anchored`); else
(no DM-RS, or DM-RS found on only part of the data) from every group's references, every alpha
then 1 and the channel absorbing each PRB's power.

Error per symbol and group, from three sums over the group's REs of z = y / H exp(-j theta0)
(theta0 the phase and alpha0 the amplitude the decisions were made at), e = z - alpha0 d:
E0 = sum |e|^2, q = sum e conj(d), s_dd = sum |d|^2. With c = sum z conj(d) = alpha0 s_dd + q,
the residual phase phi (angle of sum_g c / alpha0 over all groups of the symbol), the LS amplitude
alpha = sum Re(exp(-j phi) c) / sum s_dd and b = alpha0 - alpha exp(j phi)::

    sum |z exp(-j phi) / alpha - d|^2 = (E0 + 2 Re(conj(b) q) + |b|^2 s_dd) / alpha^2

so the phase and amplitude are re-fitted at each window position without a second pass, and the
small error is summed as such (the expanded s_zz - 2 Re(c) + s_dd would lose it to float32
rounding of the large sums: 5 % of it at 1 % EVM).

Speed (the measurement passes over every resource element, twice): the grid is equalised in one
multiplication (the subcarrier phase of the demodulator, 1 / H and a scale folded into one vector)
plus one for the symbol phases, :data:`BLOCK_SYMBOLS` symbols at a time so that the block's
arrays stay in the cache. The scale puts the main group's constellation on the half-integer grid
(points (2 i - (L - 1)) / 2, L levels per axis), so a hard decision is floor, + 1/2 and clip on
the interleaved float32 view; a group of another modulation or amplitude scales its own copy. Each
group works on the bounding box of its REs (a view when its rows are contiguous), its mask applied
as a 0/1 weight. Sums are float32 per symbol (einsum's SIMD partial sums: ~1e-6 relative over a
few thousand terms), float64 across symbols.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from fivegbench.reduce.ofdm_sync import Demodulated, scaled, smooth

__all__ = [
    "BLOCK_SYMBOLS",
    "DECISION_DIRECTED_LIMIT_PCT",
    "DETECTION_ORDER",
    "Group",
    "Measurement",
    "Prepared",
    "State",
    "Sums",
    "column_power",
    "detect_modulations",
    "dmrs_anchored",
    "estimate",
    "prepare",
]

DECISION_DIRECTED_LIMIT_PCT: dict[str, float] = {"QPSK": 20.0, "16QAM": 12.0, "64QAM": 6.0, "256QAM": 3.0}
"""Largest EVM (%) at which the decision-directed estimate is proven accurate (tests/reduce)."""

DETECTION_ORDER = ("QPSK", "16QAM", "64QAM", "256QAM")
LEVELS = {"QPSK": 2, "16QAM": 4, "64QAM": 8, "256QAM": 16}
"""Levels per axis of each square QAM (TS 38.211 §5.1)."""
BLOCK_SYMBOLS = 48
"""Symbols equalised and decided per block: the block's intermediate arrays stay in the cache
(~1.3 MB each at 273 PRB), which makes the passes ~30 % faster than over the whole grid."""
_SUBSET_ITERATIONS = 1
_PHASE_JUMP_RAD = 0.15  # well above the fourth-power phase noise of a 256QAM symbol (~0.05 rad)
_TINY = float(np.finfo(np.float64).tiny)
Rows = slice | npt.NDArray[np.int64]


def _norm(modulation: str) -> float:
    """sqrt(2 (L^2 - 1) / 3): the unit-power constellation is (odd integers) / norm on each axis."""
    levels = LEVELS[modulation]
    return math.sqrt(2.0 * (levels * levels - 1) / 3.0)


@dataclass(frozen=True)
class Group:
    """Resource elements of one allocation (or of the DM-RS): ``mask`` (T, K) bool, None for every
    RE; ``modulation`` None until detected."""

    mask: npt.NDArray[np.bool_] | None
    modulation: str | None
    dmrs: bool = False

    @property
    def slicer(self) -> str:
        """The modulation its hard decisions use (DM-RS is QPSK)."""
        if self.dmrs:
            return "QPSK"
        if self.modulation is None:
            raise ValueError("a group's modulation must be known before it is measured")
        return self.modulation


@dataclass(frozen=True)
class _Box:
    """Bounding box of a group's REs: ``rows`` (a slice when contiguous), ``cols`` (a slice),
    ``index`` the row indices, ``weight`` float32 (rows, 2 cols) 0/1 per interleaved float of the
    box (None when the group fills its box)."""

    rows: Rows
    cols: slice
    index: npt.NDArray[np.int64]
    weight: npt.NDArray[np.float32] | None

    def take(self, a: npt.NDArray[Any]) -> npt.NDArray[Any]:
        return a[self.rows, self.cols]

    def part(self, start: int, stop: int) -> tuple[Rows, Rows, npt.NDArray[np.int64]] | None:
        """Its rows among grid rows start .. stop - 1: (rows of that block, rows of the box,
        grid rows), or None when it has none there."""
        if isinstance(self.rows, slice):
            lo, hi = max(start, self.rows.start), min(stop, self.rows.stop)
            if lo >= hi:
                return None
            box0 = self.rows.start
            return (
                slice(lo - start, hi - start),
                slice(lo - box0, hi - box0),
                self.index[lo - box0 : hi - box0],
            )
        i0, i1 = np.searchsorted(self.index, [start, stop]).tolist()
        if i0 >= i1:
            return None
        rows = self.index[i0:i1]
        return rows - start, slice(i0, i1), rows


def _box(mask: npt.NDArray[np.bool_] | None, shape: tuple[int, int]) -> _Box:
    t_count, k_count = shape
    if mask is None:
        return _Box(slice(0, t_count), slice(0, k_count), np.arange(t_count, dtype=np.int64), None)
    index = np.flatnonzero(mask.any(axis=1)).astype(np.int64)
    cols_used = np.flatnonzero(mask.any(axis=0))
    if index.size == 0:
        return _Box(index, slice(0, 0), index, None)
    cols = slice(int(cols_used[0]), int(cols_used[-1]) + 1)
    contiguous = index[-1] - index[0] + 1 == index.size
    rows: Rows = slice(int(index[0]), int(index[-1]) + 1) if contiguous else index
    inner = mask[rows, cols]
    weight = None if inner.all() else np.repeat(inner, 2, axis=1).astype(np.float32)
    return _Box(rows, cols, index, weight)


@dataclass(frozen=True)
class Prepared:
    """Groups with their boxes and, data-aided, their known symbols (masked to the group)."""

    groups: list[Group]
    boxes: list[_Box]
    known: list[npt.NDArray[np.complex64] | None]
    shape: tuple[int, int]


def prepare(
    groups: list[Group], shape: tuple[int, int], known: npt.NDArray[np.complexfloating] | None
) -> Prepared:
    """The boxes of ``groups`` on a (T, K) grid; ``known`` (T, K) the data-aided reference or None."""
    boxes = [_box(g.mask, shape) for g in groups]
    kn: list[npt.NDArray[np.complex64] | None] = []
    for b in boxes:
        if known is None:
            kn.append(None)
        elif b.weight is None:
            kn.append(np.ascontiguousarray(b.take(known), dtype=np.complex64))
        else:
            d = np.array(b.take(known), dtype=np.complex64)
            _f(d)[...] *= b.weight
            kn.append(d)
    return Prepared(groups, boxes, kn, shape)


def _f(a: npt.NDArray[np.complex64]) -> npt.NDArray[np.float32]:
    """The interleaved float32 view (rows, 2 cols) of a complex64 array with contiguous rows."""
    return a.view(np.float32)


def column_power(a: npt.NDArray[np.complex64]) -> npt.NDArray[np.float64]:
    """sum_t |a[t, k]|^2 per column."""
    f = np.square(_f(a)).sum(axis=0)
    return (f[0::2] + f[1::2]).astype(np.float64)


def _row_power(
    a: npt.NDArray[np.complex64], weight: npt.NDArray[np.float32] | None = None
) -> npt.NDArray[np.float64]:
    """sum_k |a[t, k]|^2 per row (optionally weighted per float), float32 partial sums."""
    f = _f(a)
    if weight is None:
        return np.vecdot(f, f).astype(np.float64)  # ~3x faster than the equivalent einsum
    return np.einsum("tk,tk,tk->t", f, f, weight).astype(np.float64)


@dataclass(frozen=True)
class State:
    """Equalizer: channel (K,), common phase per symbol (T,) rad, amplitude per group."""

    channel: npt.NDArray[np.complex128]
    theta: npt.NDArray[np.float64]
    alpha: npt.NDArray[np.float64]


@dataclass(frozen=True)
class Sums:
    """Per group and symbol: error power sum |Z - I|^2 and reference power sum |I|^2 (G, T); the
    common phase removed per symbol (T,) rad; the fitted amplitudes (G,)."""

    error: npt.NDArray[np.float64]
    reference: npt.NDArray[np.float64]
    theta: npt.NDArray[np.float64]
    alpha: npt.NDArray[np.float64]


def _main(prep: Prepared) -> int:
    """The group with the largest box."""
    return max(range(len(prep.boxes)), key=lambda i: prep.boxes[i].index.size * _width(prep.boxes[i]))


def _width(box: _Box) -> int:
    return box.cols.stop - box.cols.start


def _reference_scale(prep: Prepared, g: int) -> float:
    """Factor from a group's reference array (half-integer decisions, or the known symbols) to the
    unit-power constellation."""
    return 1.0 if prep.known[g] is not None else 2.0 / _norm(prep.groups[g].slicer)


@dataclass(frozen=True)
class _RowSums:
    """Per group and symbol, in the units of the unit-power constellation and z = y / H: q = sum e
    conj(d) and E0 = sum |e|^2 with e = z - alpha0 d, s_dd = sum |d|^2 (the module docstring)."""

    q: npt.NDArray[np.complex128]
    e0: npt.NDArray[np.float64]
    sdd: npt.NDArray[np.float64]

    @classmethod
    def zeros(cls, n_groups: int, n_symbols: int) -> _RowSums:
        shape = (n_groups, n_symbols)
        return cls(np.zeros(shape, np.complex128), np.zeros(shape), np.zeros(shape))


Position = tuple[
    npt.NDArray[np.complex64],
    npt.NDArray[np.complexfloating],
    npt.NDArray[np.complexfloating] | None,
    "_RowSums",
]
"""One window position for :func:`_row_sums`: its grid y, the 1 / H vector inv (times any subcarrier
phase of y), the per-symbol factor rot (None: none), and where its sums go."""


def _row_sums(
    positions: list[Position],
    prep: Prepared,
    alpha: npt.NDArray[np.float64],
    rows: slice,
    keep: bool = False,
) -> list[tuple[npt.NDArray[np.complex64], float]]:
    """Equalise (z = y inv rot), decide and sum the symbols ``rows`` of each position into its sums
    (the module docstring), :data:`BLOCK_SYMBOLS` at a time. The references are decided once, at
    the first position, and serve every position (Annex B compares both windows with one ideal
    signal; decisions at the two positions differ only next to decision boundaries). With ``keep``
    (one block only) each group's decided or known symbols come back as (box array, scale to the
    unit-power constellation)."""
    # the grid's scale makes the largest group's references need no scaling (see _reference_scale)
    main = _main(prep)
    kappa0 = _reference_scale(prep, main) * float(alpha[main])
    factors = [
        ((inv / kappa0).astype(np.complex64), None if rot is None else rot.astype(np.complex64))
        for _, inv, rot, _ in positions
    ]
    block = BLOCK_SYMBOLS if not keep else rows.stop - rows.start
    shape = (min(block, rows.stop - rows.start), prep.shape[1])
    z_buffers = [np.empty(shape, np.complex64) for _ in positions]
    factor = np.empty(shape, np.complex64)
    d_buffer = np.empty(shape, np.complex64)
    kept: list[tuple[npt.NDArray[np.complex64], float]] = [(np.zeros((0, 0), np.complex64), 1.0)] * len(
        prep.groups
    )
    for start in range(rows.start, rows.stop, block):
        stop = min(rows.stop, start + block)
        zs = []
        for (y, _, _, _), (inv_s, rot_s), buffer in zip(positions, factors, z_buffers, strict=True):
            if rot_s is None:
                z = np.multiply(y[start:stop], inv_s, out=buffer[: stop - start])
            else:
                z = scaled(
                    y[start:stop], inv_s, rot_s[start:stop], buffer[: stop - start], factor[: stop - start]
                )
            zs.append(z)
        for g, (group, box) in enumerate(zip(prep.groups, prep.boxes, strict=True)):
            part = box.part(start, stop)
            if part is None:
                continue
            local, in_box, grid_rows = part
            weight = None if box.weight is None else box.weight[in_box]
            ref_scale = _reference_scale(prep, g)
            # the group's references in grid units are kappa x d
            kappa = ref_scale * float(alpha[g]) / kappa0
            unscaled = abs(kappa - 1.0) < 1e-12
            known = prep.known[g]
            if known is not None:
                d = known[in_box]
            else:
                first = zs[0][local, box.cols]
                m = group.slicer
                d = (
                    np.empty(first.shape, np.complex64)
                    if keep
                    else d_buffer[: first.shape[0], : first.shape[1]]
                )
                df = _f(d)
                if unscaled:
                    np.floor(_f(first), out=df)
                else:
                    np.multiply(_f(first), np.float32(1.0 / kappa), out=df)
                    np.floor(df, out=df)
                df += np.float32(0.5)
                h = (LEVELS[m] - 1) / 2.0
                np.clip(df, -h, h, out=df)
                if weight is not None:
                    df *= weight
            sdd = _row_power(d) * ref_scale**2
            reference = d if unscaled else d * np.float32(kappa)
            for z, (_, _, _, out) in zip(zs, positions, strict=True):
                # z becomes the error e (only inside the group's mask: d is zero outside it)
                zb = z[local, box.cols]
                zb -= reference
                out.sdd[g, grid_rows] = sdd
                out.q[g, grid_rows] = np.vecdot(d, zb) * (ref_scale * kappa0)
                out.e0[g, grid_rows] = _row_power(zb, weight) * kappa0**2
            if keep:
                kept[g] = (d, ref_scale)
    return kept


def _refit(
    raw: _RowSums, prep: Prepared, alpha0: npt.NDArray[np.float64], fit_alpha: bool
) -> tuple[Sums, npt.NDArray[np.float64]]:
    """Re-fitted phase per symbol and amplitude per group, and the error with them (see :func:`_sums`).
    Returns the sums and the phase phi (T,) to add to the decision phase."""
    alpha = alpha0.copy()
    c = alpha0[:, None] * raw.sdd + raw.q  # sum z conj(d)
    phi = np.angle((c / alpha0[:, None]).sum(axis=0))
    rot_phi = np.exp(-1j * phi)
    if fit_alpha:
        for g, group in enumerate(prep.groups):
            if not group.dmrs:
                den = raw.sdd[g].sum()
                alpha[g] = float(np.sum((rot_phi * c[g]).real) / den) if den > 0 else 1.0
    b = alpha0[:, None] - alpha[:, None] * np.exp(1j * phi)[None, :]
    err = (raw.e0 + 2.0 * (np.conj(b) * raw.q).real + np.abs(b) ** 2 * raw.sdd) / alpha[:, None] ** 2
    return Sums(error=np.maximum(err, 0.0), reference=raw.sdd, theta=phi, alpha=alpha), phi


def _sums(
    y: npt.NDArray[np.complex64],
    inv: npt.NDArray[np.complexfloating],
    rot: npt.NDArray[np.complexfloating] | None,
    prep: Prepared,
    alpha: npt.NDArray[np.float64],
    fit_alpha: bool,
    keep: bool = False,
) -> tuple[Sums, npt.NDArray[np.float64], list[tuple[npt.NDArray[np.complex64], float]]]:
    """One pass: equalise (z = y inv rot), decide, per-row sums; phase and amplitudes re-fitted.

    ``inv`` (K,) is 1 / H times any subcarrier phase of ``y``; ``rot`` (T,) the per-symbol factor
    (None: already applied). Returns the sums, the re-fitted phase phi (T,) to add to the decision
    phase, and with ``keep`` each group's decided (or known) symbols as (box array, scale to the
    unit-power constellation). The sums and the re-fit are those of the module docstring."""
    raw = _RowSums.zeros(len(prep.groups), prep.shape[0])
    kept = _row_sums([(y, inv, rot, raw)], prep, alpha, slice(0, prep.shape[0]), keep)
    sums, phi = _refit(raw, prep, alpha, fit_alpha)
    return sums, phi, kept


def _channel_from(
    num: npt.NDArray[np.complex128], den: npt.NDArray[np.float64]
) -> npt.NDArray[np.complex128]:
    """Smoothed LS ratio on the reference subcarriers (19 points across them, shrinking at the edges
    of each contiguous run), linearly interpolated to every subcarrier."""
    k = np.flatnonzero(den > 0)
    if k.size == 0:
        raise ValueError("no reference resource element carries power")
    ratio = num[k] / den[k]
    # runs: reference subcarriers further apart than 2 (the DM-RS comb), or across a power step of
    # more than 1.5 dB (DM-RS boosted with its PDSCH, TM1.2/TM3.2/TM3.3), do not smooth together
    step_db = np.abs(np.diff(20 * np.log10(np.maximum(np.abs(ratio), _TINY))))
    breaks = np.flatnonzero((np.diff(k) > 2) | (step_db > 1.5)) + 1
    parts = [smooth(r) for r in np.split(ratio, breaks)]
    h = np.concatenate(parts)
    grid = np.arange(num.size)
    return np.interp(grid, k, h.real) + 1j * np.interp(grid, k, h.imag)


def _update_channel(
    ys: npt.NDArray[np.complex64],
    prep: Prepared,
    est: list[int],
    kept: list[tuple[npt.NDArray[np.complex64], float]],
    theta: npt.NDArray[np.float64],
    alpha: npt.NDArray[np.float64],
) -> npt.NDArray[np.complex128]:
    """LS channel from the groups ``est``: sum_t y conj(alpha d) exp(-j theta) / sum_t |alpha d|^2."""
    rot = np.exp(-1j * theta).astype(np.complex64)
    num = np.zeros(ys.shape[1], dtype=np.complex128)
    den = np.zeros(ys.shape[1])
    for g in est:
        box = prep.boxes[g]
        if box.index.size == 0:
            continue
        d, d_scale = kept[g]
        a = float(alpha[g]) * d_scale
        p = np.conjugate(d)
        p *= box.take(ys)
        p *= rot[box.index, None]
        num[box.cols] += p.sum(axis=0) * a  # a few dozen symbols: float32 sums are ample
        den[box.cols] += column_power(d) * a * a
    return _channel_from(num, den)


def dmrs_anchored(groups: list[Group]) -> bool:
    """True when the channel comes from the DM-RS alone (TS 38.104 Annex B.4): there is DM-RS, and
    every PRB with data has some. Otherwise (no DM-RS, or some found only on part of the data, as
    auto-detection does on QAM PRBs beside QPSK ones) it comes from every group's decisions, and
    the channel absorbs each PRB's power (every amplitude stays 1)."""
    dmrs = [g for g in groups if g.dmrs]
    if not dmrs:
        return False
    if any(g.mask is None for g in groups):
        return True
    prbs = [np.flatnonzero(np.asarray(g.mask).any(axis=0)) // 12 for g in groups]
    with_dmrs = set(np.concatenate([p for p, g in zip(prbs, groups, strict=True) if g.dmrs]).tolist())
    return all(set(p.tolist()) <= with_dmrs for p, g in zip(prbs, groups, strict=True) if not g.dmrs)


def _union(groups: list[Group], idx: list[int], shape: tuple[int, int]) -> npt.NDArray[np.bool_] | None:
    masks = [groups[i].mask for i in idx]
    if any(m is None for m in masks):
        return None
    out = np.zeros(shape, dtype=bool)
    for m in masks:
        out |= np.asarray(m)
    return out


def _blind(ys: npt.NDArray[np.complex64], mask: npt.NDArray[np.bool_] | None) -> State:
    """Channel from the fourth power (square QAM: E[d^4] is negative real) and mean power of the
    reference REs, then the per-symbol phase: the straight line through the fourth-power phases
    of the equalised REs."""
    yy = ys if mask is None else np.where(mask, ys, 0).astype(np.complex64)
    q = yy * yy
    q *= q
    count = np.full(ys.shape[1], ys.shape[0], dtype=np.float64) if mask is None else mask.sum(axis=0)
    k = np.flatnonzero(count > 0)
    fourth = q.sum(axis=0)[k]
    theta_k = np.unwrap(np.angle(-smooth(fourth, shrink=False))) / 4.0
    power = column_power(yy)[k] / count[k]
    mag = np.sqrt(np.maximum(smooth(power, shrink=False).real, _TINY))
    grid = np.arange(ys.shape[1])
    h = mag * np.exp(1j * theta_k)
    channel = np.interp(grid, k, h.real) + 1j * np.interp(grid, k, h.imag)
    inv4 = (1.0 / channel) ** 4
    s4 = np.vecdot(inv4.conj().astype(np.complex64), q)  # sum_k (y / H)^4 per symbol
    rows = np.flatnonzero(np.abs(s4) > 0)  # symbols with reference REs
    t = np.arange(ys.shape[0], dtype=np.float64)
    theta: npt.NDArray[np.float64] = np.zeros(ys.shape[0])
    if rows.size:
        fourth_phase = np.unwrap(np.angle(-s4[rows])) / 4.0
        # the per-symbol fourth power is noisy for dense QAM: keep its trend (residual CFO)
        fit = np.polyfit(t[rows], fourth_phase, 1) if rows.size > 2 else [0.0, float(fourth_phase.mean())]
        theta = np.asarray(np.polyval(fit, t), dtype=np.float64)
    return State(channel=channel, theta=theta, alpha=np.ones(0))


def _equalised(ys: npt.NDArray[np.complex64], state: State) -> npt.NDArray[np.complex64]:
    return scaled(
        ys, (1.0 / state.channel).astype(np.complex64), np.exp(-1j * state.theta).astype(np.complex64)
    )


def detect_modulations(
    ys: npt.NDArray[np.complex64], groups: list[Group], state: State
) -> tuple[list[Group], dict[int, dict[str, float]]]:
    """Modulation of every group that has none: the lowest order of :data:`DETECTION_ORDER` whose
    decision-directed EVM on the power-normalised equalised REs is within
    :data:`DECISION_DIRECTED_LIMIT_PCT` (a sparser constellation leaves a large error, a denser one
    does not contain the points); if none is, the order whose EVM is smallest relative to its limit.
    Returns the groups and, per detected group, the EVM (%) each candidate gave."""
    from fivegbench.nr.modulation import hard_decision

    z = _equalised(ys, state)
    out, fits = [], {}
    for g, group in enumerate(groups):
        if group.modulation is not None or group.dmrs:
            out.append(group)
            continue
        v = z if group.mask is None else z[group.mask]
        v = v.ravel()
        if v.size == 0:
            out.append(group)
            continue
        v = v / np.float32(math.sqrt(float(np.mean(v.real.astype(np.float64) ** 2 + v.imag**2))))
        evms = {}
        for m in DETECTION_ORDER:
            d = hard_decision(v, m)
            evms[m] = 100.0 * math.sqrt(float(np.mean(np.abs(v - d) ** 2)) / float(np.mean(np.abs(d) ** 2)))
        fits[g] = evms
        chosen = next((m for m in DETECTION_ORDER if evms[m] <= DECISION_DIRECTED_LIMIT_PCT[m]), None)
        if chosen is None:
            chosen = min(DETECTION_ORDER, key=lambda m: evms[m] / DECISION_DIRECTED_LIMIT_PCT[m])
        out.append(Group(group.mask, chosen, False))
    return out, fits


def estimate(
    ys: npt.NDArray[np.complex64],
    groups: list[Group],
    known: npt.NDArray[np.complexfloating] | None,
    rows: npt.NDArray[np.int64],
    n_symbols: int,
) -> tuple[State, list[Group]]:
    """Channel, common phase of every symbol and amplitudes, from the symbols ``rows`` (a subset
    spread over the capture: ``ys`` their corrected grid, ``known`` their known symbols or None);
    detects missing modulations on the way.

    ``groups`` cover all ``n_symbols`` captured symbols. Returns (state with the phase
    interpolated to every symbol, groups with their modulations)."""
    sub = [Group(None if g.mask is None else g.mask[rows], g.modulation, g.dmrs) for g in groups]
    ks = known
    shape = (int(ys.shape[0]), int(ys.shape[1]))
    dmrs = [i for i, g in enumerate(sub) if g.dmrs] if dmrs_anchored(groups) else []
    est = dmrs or list(range(len(sub)))
    n_g = len(sub)
    ones = np.ones(n_g)
    if ks is None:
        blind = _blind(ys, _union(sub, est, shape))
        state = State(blind.channel, blind.theta, ones)
    else:
        prep_est = prepare([sub[i] for i in est], shape, ks)
        flat = np.ones(shape[1], dtype=np.complex128)
        sums, phi, kept = _sums(ys, flat, None, prep_est, np.ones(len(est)), False, keep=True)
        channel = _update_channel(ys, prep_est, list(range(len(est))), kept, phi, np.ones(len(est)))
        state = State(channel, phi, ones)
    if dmrs:  # the DM-RS alone first: the data amplitudes and modulations are not known yet
        prep_est = prepare([sub[i] for i in est], shape, ks)
        for _ in range(_SUBSET_ITERATIONS):
            rot = np.exp(-1j * state.theta)
            sums, phi, kept = _sums(
                ys, 1.0 / state.channel, rot, prep_est, np.ones(len(est)), False, keep=True
            )
            theta = state.theta + phi
            channel = _update_channel(ys, prep_est, list(range(len(est))), kept, theta, np.ones(len(est)))
            state = State(channel, theta, state.alpha)
        # data rows without DM-RS: phase interpolated from the DM-RS rows
        has = np.zeros(shape[0], bool)
        for i in est:
            m = sub[i].mask
            has |= True if m is None else m.any(axis=1)
        if has.any() and not has.all():
            theta = np.interp(np.arange(shape[0]), np.flatnonzero(has), state.theta[has])
            state = State(state.channel, theta, state.alpha)
        # symbols whose phase jumps away from the DM-RS trend (a transmitter that pre-compensates
        # the TS 38.211 §5.4 upconversion phase per symbol): their own fourth-power phase
        zr = _equalised(ys, state)
        data_mask = _union(sub, [i for i, g in enumerate(sub) if not g.dmrs], shape)
        q = zr.copy() if data_mask is None else np.where(data_mask, zr, 0).astype(np.complex64)
        q *= q
        q *= q
        s4 = q.sum(axis=1, dtype=np.complex128)
        r = np.where(np.abs(s4) > 0, np.angle(-s4) / 4.0, 0.0)
        jump = (np.abs(r) > _PHASE_JUMP_RAD) & ~has
        if jump.any():
            theta = state.theta.copy()
            theta[jump] += r[jump]
            state = State(state.channel, theta, state.alpha)
        # data amplitude relative to the DM-RS, from its power
        alpha = state.alpha.copy()
        for i, g in enumerate(sub):
            if not g.dmrs:
                v = zr if g.mask is None else zr[g.mask]
                alpha[i] = math.sqrt(float(np.mean(np.abs(v) ** 2))) if v.size else 1.0
        state = State(state.channel, state.theta, alpha)
    if any(g.modulation is None and not g.dmrs for g in sub):
        sub, _ = detect_modulations(ys, sub, state)
    prep = prepare(sub, shape, ks)
    for _ in range(_SUBSET_ITERATIONS):
        rot = np.exp(-1j * state.theta)
        sums, phi, kept = _sums(ys, 1.0 / state.channel, rot, prep, state.alpha, bool(dmrs), keep=True)
        theta = state.theta + phi
        channel = _update_channel(ys, prep, est, kept, theta, sums.alpha)
        state = State(channel, theta, sums.alpha)
    theta = np.interp(np.arange(n_symbols), rows, state.theta)
    out = [Group(g.mask, s.modulation, g.dmrs) for g, s in zip(groups, sub, strict=True)]
    return State(state.channel, theta, state.alpha), out


class Measurement:
    """The sums of the two window positions, filled by blocks of symbols (from threads, see
    :func:`fivegbench.reduce.ofdm_sync.in_parallel`), then :meth:`results`. The references are
    decided at the first position (see :func:`_row_sums`)."""

    def __init__(self, prep: Prepared, state: State, grids: Sequence[Demodulated]) -> None:
        self.prep = prep
        self.state = state
        self.positions: list[Position] = [
            (
                grid.raw,
                grid.subcarrier_phase / state.channel,
                grid.symbol_phase * np.exp(-1j * state.theta),
                _RowSums.zeros(len(prep.groups), prep.shape[0]),
            )
            for grid in grids
        ]

    def add(self, rows: slice) -> None:
        """Sum the symbols ``rows`` at every position."""
        _row_sums(self.positions, self.prep, self.state.alpha, rows)

    def results(self) -> list[Sums]:
        """Error and reference power per group and symbol at each position; the amplitudes are
        re-fitted when the channel comes from DM-RS."""
        fit = dmrs_anchored(self.prep.groups)
        out = []
        for *_, raw in self.positions:
            sums, phi = _refit(raw, self.prep, self.state.alpha, fit)
            out.append(Sums(sums.error, sums.reference, self.state.theta + phi, sums.alpha))
        return out
