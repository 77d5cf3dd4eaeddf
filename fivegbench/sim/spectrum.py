"""What a swept spectrum analyzer displays, given the simulated world: pure numpy.

``swept_trace(scene, settings, rng)`` returns the dBm value of every trace point at
``np.linspace(start, stop, points)``. The model, and which numbers in it are assumptions [U]:

Emission (at the analyzer input)
    If the gNB's RF is on, the power spectral density of its PA output over the DL symbols
    (:func:`fivegbench.sim.psd.pa_output_psd`): the TS 38.141-1 test-model frame of
    :func:`fivegbench.sim.waveform.synthesize` (OFDM, transmit channel filter, in-band DAC noise
    at -50 dBc [U]) driven through the Rapp PA exactly as :func:`fivegbench.sim.waveform.capture`
    drives it (small-signal output = the commanded TX power, saturation and smoothness p from
    :class:`fivegbench.sim.world.PowerAmplifier` [U]), plus the PA output noise floor
    (-145 dBc/Hz [U], flat over the synthesis band, 5 x N x SCS wide); shifted by the carrier
    frequency error and lowered by the path loss. So channel power, compression, ACLR, OBW and SEM
    all follow from the same samples as the I/Q captures; nothing is looked up in a table.
    TDD gating is not modelled as a time variation: the trace shows the power of the DL symbols,
    as a gated measurement would. Phase noise is left out of the density (it shapes only the
    skirt within a few hundred kHz, ~-73 dBc in an adjacent channel; see :mod:`~fivegbench.sim.psd`).

RBW filter
    Gaussian power response ``G(Δ) = exp(-Δ²/(2σ²))``, ``σ = RBW/(2√(2 ln 2))`` (RBW is the
    -3 dB width), so ``ENBW = σ√(2π) ≈ 1.0645·RBW`` (:data:`ENBW_FACTOR`). The point power is
    ``∫PSD(f')G(f-f')df'``: the PSD is integrated exactly into cells of a fine grid
    (step ≤ RBW/8) from its cumulative power, convolved with the sampled kernel (renormalised to
    the ENBW) and, since an RMS detector integrates while sweeping across its bin, averaged over
    the bin width (span/(points-1)) before being interpolated to the trace points.

Noise
    Displayed average noise density -152 dBm/Hz at 0 dB input attenuation [U],
    +1 dB per dB of attenuation; a point shows ``density·ENBW``.

Detector
    The emission is noise-like (OFDM), so every detector sees exponentially distributed power
    samples. RMS/AVERage: the point's mean power times Gamma(k, 1/k) (mean 1) with
    ``k = max(4, 4·t_point·RBW)``, ``t_point = sweep_time/points`` [U: 4 independent samples per
    1/RBW]. SAMPle: one exponential sample. POSitive/APEak: the maximum, NEGative: the minimum, of
    ``max(1, t_point·RBW)`` exponential samples.

Sweep time and overload
    Auto sweep time ``2.5·span/(RBW·min(RBW, VBW))`` s [U]. RF overload when the total input
    power (the PSD's, over the DL symbols) minus the attenuation exceeds 0 dBm at the first mixer
    [U].
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy.signal import fftconvolve

from fivegbench.nr.bandwidth import config_bandwidth_hz
from fivegbench.sim.psd import Psd, pa_output_psd
from fivegbench.sim.waveform import Transmitter

if TYPE_CHECKING:
    from fivegbench.sim.world import World

log = logging.getLogger(__name__)

#: ENBW / RBW of the Gaussian RBW filter (RBW = -3 dB width): σ√(2π) / (2√(2 ln 2)·σ).
ENBW_FACTOR: float = math.sqrt(2.0 * math.pi) / (2.0 * math.sqrt(2.0 * math.log(2.0)))
#: Displayed average noise level at 0 dB attenuation, dBm/Hz (model assumption [U]).
DANL_DBM_PER_HZ: float = -152.0
#: First-mixer level above which the analyzer reports RF overload, dBm (model assumption [U]).
MIXER_OVERLOAD_DBM: float = 0.0

_KERNEL_SIGMAS = 6.0  # the Gaussian kernel is truncated at ±6σ (1e-8 of its peak)
_MAX_GRID = 1 << 20  # cells of the fine grid; beyond it the step grows (see _fine_grid)


# ---------------------------------------------------------------------------------------------
# Scene and settings
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RfScene:
    """An immutable snapshot of what reaches the analyzer input.

    Attributes
    ----------
    transmitter : what the gNB sends through its PA (frame, drive, impairments); None with RF off.
    path_loss_db : loss from the antenna connector to the analyzer input, dB.

    The carrier's properties (``center_frequency_hz`` ... ``config_bandwidth_hz``) describe the
    transmitted carrier, so they raise ValueError with RF off; ``carrier_power_dbm`` is then -inf.
    """

    transmitter: Transmitter | None
    path_loss_db: float

    @classmethod
    def from_world(cls, world: World) -> RfScene:
        """Snapshot ``world`` under its lock."""
        with world.lock:
            return cls(transmitter=world.transmitter(), path_loss_db=world.path_loss_db)

    @property
    def rf_on(self) -> bool:
        """The gNB transmits."""
        return self.transmitter is not None

    @property
    def _tx(self) -> Transmitter:
        if self.transmitter is None:
            raise ValueError("RF is off: the scene has no carrier")
        return self.transmitter

    @property
    def center_frequency_hz(self) -> float:
        """Nominal carrier frequency, Hz (what the gNB is configured to)."""
        return self._tx.carrier_frequency_hz

    @property
    def frequency_error_hz(self) -> float:
        """Transmitted minus nominal carrier frequency, Hz."""
        return self._tx.carrier_frequency_hz * self._tx.freq_error_ppm * 1e-6

    @property
    def bandwidth_hz(self) -> float:
        """Channel bandwidth, Hz."""
        return self._tx.frame.bandwidth_hz

    @property
    def scs_hz(self) -> float:
        """Subcarrier spacing, Hz."""
        return self._tx.frame.scs_hz

    @property
    def tx_power_dbm(self) -> float:
        """The gNB's commanded (small-signal) output power, dBm."""
        return self._tx.tx_power_dbm

    @property
    def config_bandwidth_hz(self) -> float:
        """BW_Config = N_RB·12·SCS, Hz."""
        return config_bandwidth_hz(self.bandwidth_hz, self.scs_hz)

    @property
    def carrier_power_dbm(self) -> float:
        """Carrier power at the analyzer input, dBm: the PA output over BW_Config around the
        transmitted carrier frequency, after compression and path loss (-inf with RF off)."""
        if self.transmitter is None:
            return -math.inf
        half = self.config_bandwidth_hz / 2.0
        psd = pa_output_psd(self.transmitter)
        mw = float(psd.power_mw(self.frequency_error_hz - half, self.frequency_error_hz + half))
        return 10.0 * math.log10(mw) - self.path_loss_db


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


def _emission(scene: RfScene) -> tuple[Psd, float, float] | None:
    """(PA output density, frequency of its 0 Hz at the analyzer input, linear path gain), or
    None with RF off."""
    if scene.transmitter is None:
        return None
    origin = scene.center_frequency_hz + scene.frequency_error_hz
    return pa_output_psd(scene.transmitter), origin, 10.0 ** (-scene.path_loss_db / 10.0)


def total_input_power_dbm(scene: RfScene) -> float:
    """Total power at the analyzer input over the DL symbols, dBm; -inf with RF off."""
    emission = _emission(scene)
    if emission is None:
        return -math.inf
    psd, _, gain = emission
    return 10.0 * math.log10(psd.total_mw * gain)


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
    emission = _emission(scene)
    if emission is None:
        return np.zeros_like(freqs)
    psd, origin, gain = emission
    sigma = settings.rbw_hz / (2.0 * math.sqrt(2.0 * math.log(2.0)))
    reach = _KERNEL_SIGMAS * sigma + settings.bin_hz
    lo = max(origin + psd.edges_hz[0], settings.start_hz - reach) - reach
    hi = min(origin + psd.edges_hz[-1], settings.stop_hz + reach) + reach
    if hi <= lo:
        return np.zeros_like(freqs)  # the emission is entirely outside the sweep
    edges = _fine_grid(lo, hi, settings.rbw_hz / 8.0)
    step = edges[1] - edges[0]
    cells = np.diff(psd.cumulative_below(edges - origin)) * gain
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
