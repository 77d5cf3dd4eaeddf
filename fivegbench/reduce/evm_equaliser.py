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

Error per symbol and group, from three sums over the group's REs of z = y / H exp(-j theta0) (theta0
the phase the decisions were made at): c = sum z conj(d), s_zz = sum |z|^2, s_dd = sum |d|^2.
With the residual phase phi (angle of sum_g c / alpha over all groups of the symbol) and the LS
amplitude alpha = sum Re(exp(-j phi) c) / sum s_dd::

    sum |z exp(-j phi) / alpha - d|^2 = s_zz / alpha^2 - 2 Re(exp(-j phi) c) / alpha + s_dd

so the phase and amplitude are re-fitted at each window position without a second pass.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from fivegbench.nr.modulation import hard_decision
from fivegbench.reduce.ofdm_sync import smooth

__all__ = [
    "DECISION_DIRECTED_LIMIT_PCT",
    "DETECTION_ORDER",
    "Group",
    "State",
    "Sums",
    "detect_modulations",
    "estimate",
    "measure",
]

DECISION_DIRECTED_LIMIT_PCT: dict[str, float] = {"QPSK": 20.0, "16QAM": 12.0, "64QAM": 6.0, "256QAM": 3.0}
"""Largest EVM (%) at which the decision-directed estimate is proven accurate (tests/reduce)."""

DETECTION_ORDER = ("QPSK", "16QAM", "64QAM", "256QAM")
_SUBSET_ITERATIONS = 2
_PHASE_JUMP_RAD = 0.15  # well above the fourth-power phase noise of a 256QAM symbol (~0.05 rad)
_TINY = float(np.finfo(np.float64).tiny)


@dataclass(frozen=True)
class Group:
    """Resource elements of one allocation (or of the DM-RS): ``mask`` (T, K) bool, None for every
    RE; ``modulation`` None until detected."""

    mask: npt.NDArray[np.bool_] | None
    modulation: str | None
    dmrs: bool = False


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


def _sq_sum_rows(a: npt.NDArray[np.complexfloating]) -> npt.NDArray[np.float64]:
    """sum_k |a[t, k]|^2 without a complex temporary."""
    a = np.ascontiguousarray(a)
    f: npt.NDArray[Any] = a.view(np.float32 if a.dtype == np.complex64 else np.float64)
    return np.einsum("tk,tk->t", f, f).astype(np.float64)


def _masked(a: npt.NDArray[Any], mask: npt.NDArray[np.bool_] | None) -> npt.NDArray[Any]:
    if mask is not None:
        np.copyto(a, 0, where=~mask)
    return a


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


def _union(groups: list[Group], idx: list[int]) -> npt.NDArray[np.bool_] | None:
    masks = [groups[i].mask for i in idx]
    if any(m is None for m in masks):
        return None
    out = masks[0].copy()  # type: ignore[union-attr]
    for m in masks[1:]:
        out |= m  # type: ignore[operator]
    return out


def _blind(ys: npt.NDArray[np.complex64], mask: npt.NDArray[np.bool_] | None) -> State:
    """Channel from the fourth power (square QAM: E[d^4] is negative real) and mean power of the
    reference REs, then the per-symbol phase: the straight line through the fourth-power phases
    of the equalised REs."""
    yy = _masked(ys.copy(), mask)
    q = yy * yy
    q *= q
    count = (np.ones(ys.shape) if mask is None else mask).sum(axis=0).astype(np.float64)
    k = np.flatnonzero(count > 0)
    fourth = q.sum(axis=0, dtype=np.complex128)[k]
    theta_k = np.unwrap(np.angle(-smooth(fourth, shrink=False))) / 4.0
    power = (yy.real.astype(np.float64) ** 2 + yy.imag.astype(np.float64) ** 2).sum(axis=0)[k] / count[k]
    mag = np.sqrt(np.maximum(smooth(power, shrink=False).real, _TINY))
    grid = np.arange(ys.shape[1])
    h = mag * np.exp(1j * theta_k)
    channel = np.interp(grid, k, h.real) + 1j * np.interp(grid, k, h.imag)
    z = _masked(ys * (1.0 / channel).astype(np.complex64), mask)
    z *= z
    z *= z
    s4 = z.sum(axis=1, dtype=np.complex128)
    rows = np.flatnonzero(np.abs(s4) > 0)  # symbols with reference REs
    t = np.arange(ys.shape[0], dtype=np.float64)
    theta: npt.NDArray[np.float64] = np.zeros(ys.shape[0])
    if rows.size:
        fourth_phase = np.unwrap(np.angle(-s4[rows])) / 4.0
        # the per-symbol fourth power is noisy for dense QAM: keep its trend (residual CFO)
        fit = np.polyfit(t[rows], fourth_phase, 1) if rows.size > 2 else [0.0, float(fourth_phase.mean())]
        theta = np.asarray(np.polyval(fit, t), dtype=np.float64)
    return State(channel=channel, theta=theta, alpha=np.ones(0))


def _decide(
    z: npt.NDArray[np.complex64],
    group: Group,
    alpha: float,
    known: npt.NDArray[np.complexfloating] | None,
) -> npt.NDArray[np.complex64]:
    if known is not None:
        d = np.array(known, dtype=np.complex64)
    else:
        assert group.modulation is not None
        d = z * np.float32(1.0 / alpha) if alpha != 1.0 else z.copy()
        hard_decision(d, "QPSK" if group.dmrs else group.modulation, out=d)
    return _masked(d, group.mask)


def _sums(
    y: npt.NDArray[np.complex64],
    groups: list[Group],
    state: State,
    known: npt.NDArray[np.complexfloating] | None,
    fit_alpha: bool,
) -> tuple[Sums, list[npt.NDArray[np.complex64]]]:
    """One pass: equalise with ``state``, decide, per-row sums; phase and amplitudes re-fitted."""
    z = y * (1.0 / state.channel).astype(np.complex64)
    z *= np.exp(-1j * state.theta).astype(np.complex64)[:, None]
    n_g, t = len(groups), y.shape[0]
    c = np.empty((n_g, t), dtype=np.complex128)
    szz = np.empty((n_g, t))
    sdd = np.empty((n_g, t))
    pz = None
    ds = []
    for g, group in enumerate(groups):
        d = _decide(z, group, float(state.alpha[g]), known)
        c[g] = np.vecdot(d, z)
        sdd[g] = _sq_sum_rows(d)
        if group.mask is None:
            szz[g] = _sq_sum_rows(z)
        else:
            if pz is None:
                pz = z.real**2 + z.imag**2
            szz[g] = np.einsum("tk,tk->t", pz, group.mask.astype(np.float32))
        ds.append(d)
    alpha = state.alpha.copy()
    phi = np.angle((c / alpha[:, None]).sum(axis=0))
    rot = np.exp(-1j * phi)
    if fit_alpha:
        for g, group in enumerate(groups):
            if not group.dmrs:
                den = sdd[g].sum()
                alpha[g] = float(np.sum((rot * c[g]).real) / den) if den > 0 else 1.0
    err = szz / alpha[:, None] ** 2 - 2.0 * (rot[None, :] * c).real / alpha[:, None] + sdd
    return Sums(error=np.maximum(err, 0.0), reference=sdd, theta=state.theta + phi, alpha=alpha), ds


def _update_channel(
    ys: npt.NDArray[np.complex64],
    groups: list[Group],
    est: list[int],
    ds: list[npt.NDArray[np.complex64]],
    sums: Sums,
) -> npt.NDArray[np.complex128]:
    rot = np.exp(-1j * sums.theta).astype(np.complex64)[:, None]
    num = np.zeros(ys.shape[1], dtype=np.complex128)
    den = np.zeros(ys.shape[1])
    for g in est:
        d = ds[g] * np.float32(sums.alpha[g])
        num += (ys * np.conj(d) * rot).sum(axis=0, dtype=np.complex128)
        den += (d.real.astype(np.float64) ** 2 + d.imag.astype(np.float64) ** 2).sum(axis=0)
    return _channel_from(num, den)


def detect_modulations(
    ys: npt.NDArray[np.complex64], groups: list[Group], state: State
) -> tuple[list[Group], dict[int, dict[str, float]]]:
    """Modulation of every group that has none: the lowest order of :data:`DETECTION_ORDER` whose
    decision-directed EVM on the power-normalised equalised REs is within
    :data:`DECISION_DIRECTED_LIMIT_PCT` (a sparser constellation leaves a large error, a denser one
    does not contain the points); if none is, the order whose EVM is smallest relative to its limit.
    Returns the groups and, per detected group, the EVM (%) each candidate gave."""
    z = ys * (1.0 / state.channel).astype(np.complex64)
    z *= np.exp(-1j * state.theta).astype(np.complex64)[:, None]
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
    y: npt.NDArray[np.complex64],
    groups: list[Group],
    known: npt.NDArray[np.complexfloating] | None,
    rows: npt.NDArray[np.int64],
) -> tuple[State, list[Group]]:
    """Channel, common phase of every symbol and amplitudes, from the symbols ``rows`` (a subset
    spread over the capture); detects missing modulations on the way. Returns (state, groups)."""
    ys = y[rows]
    sub = [Group(None if g.mask is None else g.mask[rows], g.modulation, g.dmrs) for g in groups]
    ks = None if known is None else known[rows]
    dmrs = [i for i, g in enumerate(sub) if g.dmrs]
    est = dmrs or list(range(len(sub)))
    n_g = len(sub)
    if ks is None:
        state = _blind(ys, _union(sub, est))
        state = State(state.channel, state.theta, np.ones(n_g))
    else:
        state = State(np.ones(ys.shape[1], dtype=np.complex128), np.zeros(ys.shape[0]), np.ones(n_g))
        sums, ds = _sums(
            ys, [sub[i] for i in est], State(state.channel, state.theta, np.ones(len(est))), ks, False
        )
        channel = _update_channel(ys, [sub[i] for i in est], list(range(len(est))), ds, sums)
        state = State(channel, sums.theta, np.ones(n_g))
    if dmrs:  # the DM-RS alone first: the data amplitudes and modulations are not known yet
        est_groups = [sub[i] for i in est]
        for _ in range(_SUBSET_ITERATIONS):
            s_est = State(state.channel, state.theta, np.ones(len(est)))
            sums, ds = _sums(ys, est_groups, s_est, ks, False)
            channel = _update_channel(ys, est_groups, list(range(len(est))), ds, sums)
            state = State(channel, sums.theta, state.alpha)
        # data rows without DM-RS: phase interpolated from the DM-RS rows
        has = np.zeros(ys.shape[0], bool)
        for i in est:
            m = sub[i].mask
            has |= True if m is None else m.any(axis=1)
        if has.any() and not has.all():
            theta = np.interp(np.arange(ys.shape[0]), np.flatnonzero(has), state.theta[has])
            state = State(state.channel, theta, state.alpha)
        # symbols whose phase jumps away from the DM-RS trend (a transmitter that pre-compensates
        # the TS 38.211 §5.4 upconversion phase per symbol): their own fourth-power phase
        z = ys * (1.0 / state.channel).astype(np.complex64)
        zr = z * np.exp(-1j * state.theta).astype(np.complex64)[:, None]
        data_mask = _union(sub, [i for i, g in enumerate(sub) if not g.dmrs])
        q = _masked(zr.copy(), data_mask)
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
                v = z if g.mask is None else z[g.mask]
                alpha[i] = math.sqrt(float(np.mean(np.abs(v) ** 2))) if v.size else 1.0
        state = State(state.channel, state.theta, alpha)
    if any(g.modulation is None and not g.dmrs for g in sub):
        sub, _ = detect_modulations(ys, sub, state)
    for _ in range(_SUBSET_ITERATIONS):
        sums, ds = _sums(ys, sub, state, ks, fit_alpha=bool(dmrs))
        channel = _update_channel(ys, sub, est, ds, sums)
        state = State(channel, sums.theta, sums.alpha)
    theta = np.interp(np.arange(y.shape[0]), rows, state.theta)
    out = [Group(g.mask, s.modulation, g.dmrs) for g, s in zip(groups, sub, strict=True)]
    return State(state.channel, theta, state.alpha), out


def measure(
    y: npt.NDArray[np.complex64],
    groups: list[Group],
    state: State,
    known: npt.NDArray[np.complexfloating] | None,
) -> Sums:
    """Error and reference power per group and symbol at one window position (see the module
    docstring); the amplitudes are re-fitted when the channel comes from DM-RS."""
    sums, _ = _sums(y, groups, state, known, fit_alpha=any(g.dmrs for g in groups))
    return sums
