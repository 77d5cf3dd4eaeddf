"""What a swept spectrum analyzer displays, given the simulated world: pure numpy.

``swept_trace(scene, settings, rng)`` returns the dBm value of every trace point at
``np.linspace(start, stop, points)``. The model, and which numbers in it are assumptions:

Emission (at the analyzer input)
    If the gNB's RF is on, a flat power spectral density over BW_Config = N_RB·12·SCS
    (:func:`fivegbench.nr.bandwidth.config_bandwidth_hz`) centred on the carrier frequency, of
    total power ``P_out - path_loss`` where ``P_out = tx_power - compression(IBO)`` and
    ``IBO = saturation - tx_power``. TDD gating is not modelled: the trace shows the power of
    the downlink symbols, as a gated measurement would.

PA regrowth
    Rapp p = 2 calibration (nr-standards.md §5.2, 100 MHz NR, no DPD/CFR), interpolated
    linearly in IBO (dB) and extrapolated linearly beyond the table; compression is clipped at
    >= 0 and P_out at <= saturation; ACLR is capped at 75 dB (1st) / 85 dB (2nd adjacent), a
    model assumption standing for the TX filter floor. The leakage *shape* is third-order
    regrowth S3 (the carrier rect convolved with itself three times, spanning ±1.5·BW_Config)
    plus fifth-order S5 (five times, ±2.5·BW_Config); both are Irwin–Hall densities, so their
    power in any band is exact (closed-form CDF). ``a5`` is set so the power in each 2nd
    adjacent channel (BW_Config wide at ±2× channel bandwidth) is carrier − ACLR2, then ``a3``
    so the 1st adjacent channel (at ± channel bandwidth) is carrier − ACLR1.

RBW filter
    Gaussian power response ``G(Δ) = exp(-Δ²/(2σ²))``, ``σ = RBW/(2√(2 ln 2))`` (RBW is the
    -3 dB width), so ``ENBW = σ√(2π) ≈ 1.0645·RBW`` (:data:`ENBW_FACTOR`). The point power is
    ``∫PSD(f')G(f-f')df'``: the PSD is integrated exactly into cells of a fine grid
    (step ≤ RBW/8), convolved with the sampled kernel (renormalised to the ENBW) and, since an
    RMS detector integrates while sweeping across its bin, averaged over the bin width
    (span/(points-1)) before being interpolated to the trace points.

Noise
    Displayed average noise density -152 dBm/Hz at 0 dB input attenuation (model assumption),
    +1 dB per dB of attenuation; a point shows ``density·ENBW``.

Detector
    The emission is noise-like (OFDM), so every detector sees exponentially distributed power
    samples. RMS/AVERage: the point's mean power times Gamma(k, 1/k) (mean 1) with
    ``k = max(4, 4·t_point·RBW)``, ``t_point = sweep_time/points`` (model assumption: 4
    independent samples per 1/RBW). SAMPle: one exponential sample. POSitive/APEak: the
    maximum, NEGative: the minimum, of ``max(1, t_point·RBW)`` exponential samples.

Sweep time and overload
    Auto sweep time ``2.5·span/(RBW·min(RBW, VBW))`` s. RF overload when the total input power
    minus the attenuation exceeds 0 dBm at the first mixer (model assumption).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy.signal import fftconvolve

from fivegbench.nr.bandwidth import config_bandwidth_hz

if TYPE_CHECKING:
    from fivegbench.sim.world import World

log = logging.getLogger(__name__)

#: ENBW / RBW of the Gaussian RBW filter (RBW = -3 dB width): σ√(2π) / (2√(2 ln 2)·σ).
ENBW_FACTOR: float = math.sqrt(2.0 * math.pi) / (2.0 * math.sqrt(2.0 * math.log(2.0)))
#: Displayed average noise level at 0 dB attenuation, dBm/Hz (model assumption).
DANL_DBM_PER_HZ: float = -152.0
#: First-mixer level above which the analyzer reports RF overload, dBm (model assumption).
MIXER_OVERLOAD_DBM: float = 0.0
#: ACLR caps standing for the TX filter floor, dB (model assumption).
ACLR1_CAP_DB: float = 75.0
ACLR2_CAP_DB: float = 85.0

# Rapp p = 2 calibration, nr-standards.md §5.2: IBO (dB) -> compression OBO-IBO, ACLR1, ACLR2.
_IBO_DB = np.array([4.0, 6.0, 8.0, 10.0, 12.0, 14.0])
_COMPRESSION_DB = np.array([1.0, 0.5, 0.3, 0.1, 0.0, 0.0])
_ACLR1_DB = np.array([27.0, 31.3, 36.5, 42.6, 49.6, 57.0])
_ACLR2_DB = np.array([53.7, 57.9, 62.0, 66.9, 72.9, 79.8])

_KERNEL_SIGMAS = 6.0  # the Gaussian kernel is truncated at ±6σ (1e-8 of its peak)
_MAX_GRID = 1 << 20  # cells of the fine grid; beyond it the step grows (see _fine_grid)
_SHAPE_CELLS = 256  # at least this many cells per BW_Config, to resolve the regrowth shapes


# ---------------------------------------------------------------------------------------------
# PA model
# ---------------------------------------------------------------------------------------------


def _interp_extrap(x: float, xp: np.ndarray, fp: np.ndarray) -> float:
    """Piecewise-linear interpolation, extrapolated linearly with the end segments' slopes."""
    if x < xp[0]:
        return float(fp[0] + (x - xp[0]) * (fp[1] - fp[0]) / (xp[1] - xp[0]))
    if x > xp[-1]:
        return float(fp[-1] + (x - xp[-1]) * (fp[-1] - fp[-2]) / (xp[-1] - xp[-2]))
    return float(np.interp(x, xp, fp))


def compression_db(ibo_db: float) -> float:
    """Gain compression OBO - IBO (dB, >= 0) of the Rapp p = 2 PA at input back-off ``ibo_db``."""
    return max(0.0, _interp_extrap(ibo_db, _IBO_DB, _COMPRESSION_DB))


def aclr_db(ibo_db: float) -> tuple[float, float]:
    """(ACLR 1st adjacent, ACLR 2nd adjacent) in dB at input back-off ``ibo_db`` (dB)."""
    aclr1 = min(ACLR1_CAP_DB, _interp_extrap(ibo_db, _IBO_DB, _ACLR1_DB))
    aclr2 = min(ACLR2_CAP_DB, _interp_extrap(ibo_db, _IBO_DB, _ACLR2_DB))
    return aclr1, aclr2


# ---------------------------------------------------------------------------------------------
# Scene and settings
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RfScene:
    """An immutable snapshot of what reaches the analyzer input.

    Attributes
    ----------
    rf_on : the gNB transmits.
    center_frequency_hz, bandwidth_hz, scs_hz : the NR carrier (channel bandwidth, SCS).
    tx_power_dbm : the gNB's configured output power (before PA compression), dBm.
    saturation_dbm : PA saturation power, dBm.
    path_loss_db : loss from the antenna connector to the analyzer input, dB.
    """

    rf_on: bool
    center_frequency_hz: float
    bandwidth_hz: float
    scs_hz: float
    tx_power_dbm: float
    saturation_dbm: float
    path_loss_db: float

    @classmethod
    def from_world(cls, world: World) -> RfScene:
        """Snapshot ``world`` under its lock."""
        with world.lock:
            gnb = world.gnb
            return cls(
                rf_on=gnb.rf_on,
                center_frequency_hz=gnb.center_frequency_hz,
                bandwidth_hz=gnb.bandwidth_hz,
                scs_hz=gnb.scs_hz,
                tx_power_dbm=gnb.tx_power_dbm,
                saturation_dbm=world.pa.saturation_dbm,
                path_loss_db=world.path_loss_db,
            )

    @property
    def ibo_db(self) -> float:
        """PA input back-off from saturation, dB."""
        return self.saturation_dbm - self.tx_power_dbm

    @property
    def output_power_dbm(self) -> float:
        """Carrier power at the antenna connector after compression (<= saturation), dBm."""
        return min(self.tx_power_dbm - compression_db(self.ibo_db), self.saturation_dbm)

    @property
    def carrier_power_dbm(self) -> float:
        """Carrier power at the analyzer input, dBm (-inf with RF off)."""
        return self.output_power_dbm - self.path_loss_db if self.rf_on else -math.inf

    @property
    def config_bandwidth_hz(self) -> float:
        """BW_Config = N_RB·12·SCS, Hz (ValueError for a non-3GPP bandwidth/SCS)."""
        return config_bandwidth_hz(self.bandwidth_hz, self.scs_hz)


@dataclass(frozen=True)
class SweepSettings:
    """Analyzer settings of one sweep.

    Attributes
    ----------
    start_hz, stop_hz : frequency axis ends, Hz (stop > start).
    points : number of trace points (>= 2).
    rbw_hz, vbw_hz : resolution and video bandwidth, Hz.
    attenuation_db : RF input attenuation, dB.
    sweep_time_s : sweep time, s.
    detector : SCPI short form: RMS, AVER, SAMP, POS, APE or NEG.
    """

    start_hz: float
    stop_hz: float
    points: int
    rbw_hz: float
    vbw_hz: float
    attenuation_db: float
    sweep_time_s: float
    detector: str = "RMS"

    @property
    def frequencies_hz(self) -> np.ndarray:
        """The trace's x axis, Hz."""
        return np.linspace(self.start_hz, self.stop_hz, self.points)

    @property
    def bin_hz(self) -> float:
        """Frequency spacing of the trace points, Hz."""
        return (self.stop_hz - self.start_hz) / (self.points - 1)


def enbw_hz(rbw_hz: float) -> float:
    """Equivalent noise bandwidth of the Gaussian RBW filter, Hz."""
    return ENBW_FACTOR * rbw_hz


def auto_sweep_time_s(span_hz: float, rbw_hz: float, vbw_hz: float) -> float:
    """Coupled sweep time ``2.5·span/(RBW·min(RBW, VBW))``, s (model assumption, k = 2.5)."""
    return 2.5 * span_hz / (rbw_hz * min(rbw_hz, vbw_hz))


def noise_density_mw_per_hz(attenuation_db: float) -> float:
    """Displayed noise density referred to the input, mW/Hz: DANL + attenuation."""
    return 10.0 ** ((DANL_DBM_PER_HZ + attenuation_db) / 10.0)


# ---------------------------------------------------------------------------------------------
# Emission
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Component:
    """One spectral component: ``power_mw`` spread as the n-fold self-convolution of a rect of
    width ``width_hz`` centred on ``center_hz`` (n = 1: the carrier; 3, 5: regrowth)."""

    power_mw: float
    order: int
    center_hz: float
    width_hz: float

    def cdf(self, f_hz: np.ndarray) -> np.ndarray:
        """Power (mW) of this component below each frequency in ``f_hz``."""
        u = (np.asarray(f_hz, dtype=float) - self.center_hz) / self.width_hz + self.order / 2.0
        return self.power_mw * irwin_hall_cdf(u, self.order)

    def power_in(self, lo_hz: float, hi_hz: float) -> float:
        """Power (mW) of this component between ``lo_hz`` and ``hi_hz``."""
        c = self.cdf(np.array([lo_hz, hi_hz]))
        return float(c[1] - c[0])


def irwin_hall_cdf(u: np.ndarray, n: int) -> np.ndarray:
    """CDF of the sum of ``n`` U(0, 1) variables (the n-fold rect convolution), evaluated on
    the lower half and mirrored, so the tails keep their relative precision."""
    u = np.clip(np.asarray(u, dtype=float), 0.0, float(n))
    lower = np.minimum(u, n - u)
    total = np.zeros_like(lower)
    for k in range(n + 1):
        total += (-1) ** k * math.comb(n, k) * np.maximum(lower - k, 0.0) ** n
    total /= math.factorial(n)
    return np.where(u <= n / 2.0, total, 1.0 - total)


def emission(scene: RfScene) -> list[Component]:
    """The components reaching the analyzer input (empty with RF off)."""
    if not scene.rf_on:
        return []
    width = scene.config_bandwidth_hz
    fc = scene.center_frequency_hz
    carrier_mw = 10.0 ** (scene.carrier_power_dbm / 10.0)
    aclr1, aclr2 = aclr_db(scene.ibo_db)
    a3, a5 = _regrowth_powers(carrier_mw, aclr1, aclr2, width, scene.bandwidth_hz)
    return [
        Component(carrier_mw, 1, fc, width),
        Component(a3, 3, fc, width),
        Component(a5, 5, fc, width),
    ]


def _regrowth_powers(
    carrier_mw: float, aclr1_db: float, aclr2_db: float, width_hz: float, channel_bw_hz: float
) -> tuple[float, float]:
    """Total powers (mW) of S3 and S5 that give the wanted ACLR in each adjacent channel.

    S3 spans ±1.5·BW_Config, which never reaches the 2nd adjacent channel (its lower edge is
    2·BW_channel - BW_Config/2 > 1.5·BW_Config), so a5 follows from ACLR2 alone; a3 then makes
    up the rest of the 1st adjacent channel's power (clipped at 0 if S5 alone exceeds it).
    """
    s3 = Component(1.0, 3, 0.0, width_hz)
    s5 = Component(1.0, 5, 0.0, width_hz)
    adj1 = (channel_bw_hz - width_hz / 2.0, channel_bw_hz + width_hz / 2.0)
    adj2 = (2.0 * channel_bw_hz - width_hz / 2.0, 2.0 * channel_bw_hz + width_hz / 2.0)
    a5 = carrier_mw * 10.0 ** (-aclr2_db / 10.0) / s5.power_in(*adj2)
    residual = carrier_mw * 10.0 ** (-aclr1_db / 10.0) - a5 * s5.power_in(*adj1)
    a3 = max(0.0, residual / s3.power_in(*adj1))
    return a3, a5


def total_input_power_dbm(scene: RfScene) -> float:
    """Total power at the analyzer input (all components), dBm; -inf with RF off."""
    total = sum(c.power_mw for c in emission(scene))
    return 10.0 * math.log10(total) if total > 0 else -math.inf


def is_overloaded(scene: RfScene, attenuation_db: float) -> bool:
    """RF overload: the first-mixer level (input power - attenuation) exceeds 0 dBm."""
    return total_input_power_dbm(scene) - attenuation_db > MIXER_OVERLOAD_DBM


# ---------------------------------------------------------------------------------------------
# Sweep
# ---------------------------------------------------------------------------------------------


def filtered_signal_mw(scene: RfScene, settings: SweepSettings) -> np.ndarray:
    """Mean signal power (mW, no noise) each trace point shows through the RBW filter and the
    RMS detector's bin integration."""
    freqs = settings.frequencies_hz
    components = emission(scene)
    if not components:
        return np.zeros_like(freqs)
    sigma = settings.rbw_hz / (2.0 * math.sqrt(2.0 * math.log(2.0)))
    reach = _KERNEL_SIGMAS * sigma + settings.bin_hz
    extent = max(c.order * c.width_hz / 2.0 for c in components)
    fc = scene.center_frequency_hz
    lo = max(fc - extent, settings.start_hz - reach) - reach
    hi = min(fc + extent, settings.stop_hz + reach) + reach
    if hi <= lo:
        return np.zeros_like(freqs)  # the emission is entirely outside the sweep
    edges = _fine_grid(lo, hi, min(settings.rbw_hz / 8.0, scene.config_bandwidth_hz / _SHAPE_CELLS))
    step = edges[1] - edges[0]
    cells = sum((np.diff(c.cdf(edges)) for c in components), np.zeros(len(edges) - 1))
    power = fftconvolve(cells, _gaussian_kernel(sigma, step, enbw_hz(settings.rbw_hz)), mode="same")
    taps = round(settings.bin_hz / step) | 1
    if taps > 1:
        power = fftconvolve(power, np.full(taps, 1.0 / taps), mode="same")
    centres = (edges[:-1] + edges[1:]) / 2.0
    return np.interp(freqs, centres, np.clip(power, 0.0, None), left=0.0, right=0.0)


def _fine_grid(lo: float, hi: float, step: float) -> np.ndarray:
    """Cell edges from ``lo`` to ``hi``; the step grows if more than _MAX_GRID cells would be
    needed (the kernel renormalisation then degrades gracefully to PSD·ENBW sampling)."""
    cells = max(8, math.ceil((hi - lo) / step))
    if cells > _MAX_GRID:
        log.debug("fine grid capped at %d cells (wanted %d)", _MAX_GRID, cells)
        cells = _MAX_GRID
    return np.linspace(lo, hi, cells + 1)


def _gaussian_kernel(sigma: float, step: float, enbw: float) -> np.ndarray:
    """Sampled RBW power response, scaled so that ``sum(kernel)·step == ENBW``: a cell of power
    P then contributes ``P·G(Δ)``, and a flat density d shows ``d·ENBW``."""
    half = max(1, math.ceil(_KERNEL_SIGMAS * sigma / step))
    x = np.arange(-half, half + 1) * step
    kernel = np.exp(-(x**2) / (2.0 * sigma**2))
    return kernel * enbw / (kernel.sum() * step)


def detector_factor(settings: SweepSettings, rng: np.random.Generator) -> np.ndarray:
    """Random factor (mean ~1 for RMS) applied to each point's mean power by the detector."""
    t_point = settings.sweep_time_s / settings.points
    samples = max(1.0, t_point * settings.rbw_hz)
    size = settings.points
    detector = settings.detector
    if detector in ("RMS", "AVER"):
        k = max(4.0, 4.0 * t_point * settings.rbw_hz)
        return rng.gamma(k, 1.0 / k, size)
    if detector == "SAMP":
        return rng.exponential(1.0, size)
    if detector in ("POS", "APE"):
        n = round(samples)
        return -np.log1p(-(rng.random(size) ** (1.0 / n)))
    if detector == "NEG":
        return rng.exponential(1.0, size) / round(samples)
    raise ValueError(f"unknown detector {detector!r}")


def swept_trace(scene: RfScene, settings: SweepSettings, rng: np.random.Generator) -> np.ndarray:
    """One swept trace: the level of every point in dBm (float64).

    Parameters
    ----------
    scene : what reaches the analyzer input.
    settings : the analyzer's sweep settings.
    rng : random generator for the detector statistics (seed it for reproducible traces).
    """
    signal = filtered_signal_mw(scene, settings)
    noise = noise_density_mw_per_hz(settings.attenuation_db) * enbw_hz(settings.rbw_hz)
    power = (signal + noise) * detector_factor(settings, rng)
    return 10.0 * np.log10(np.maximum(power, 1e-300))
