"""What the simulated gNB transmits: an NR downlink test-model frame, and I/Q captures of it.

Two steps, so that a plan never synthesizes the same frame twice:

1. :func:`synthesize` (cached per :class:`FrameSpec`, ``functools.lru_cache``) builds the linear
   baseband of one test-model period (10 ms FDD, 20 ms TDD) at ``spec.sample_rate_hz``:
   resource grid (:mod:`fivegbench.sim.nr_grid`) -> CP-OFDM at the FFT size N of the carrier
   (TS 38.211 §5.3.1: CP 9N/128 samples, +N 2^mu/128 on the first symbol of every 0.5 ms) ->
   in-band DAC noise -> transmit channel filter -> interpolation to the synthesis rate -> TX gating
   (guard and UL symbols exactly zero). The frame is periodic: a capture may start anywhere and wrap.
2. :func:`capture` takes a :class:`Transmitter` (frame + drive + impairments) and returns what an
   analyzer tuned ``center_offset_hz`` away from the carrier records at its own sample rate:
   Rapp PA -> PA output noise floor (gated with the DL symbols) -> phase noise -> carrier frequency
   error and tuning offset -> path loss -> resampling.

Units
    Synthesized frames are dimensionless, scaled so that a fully allocated carrier of 0 dB resource
    elements (TM1.1, TM3.x) has mean power 1 over its DL symbols. Captures are in volts across
    :data:`IMPEDANCE_OHMS` (instantaneous power |x|^2 / 50 W, as the SigMF ``fivegbench:iq_units``
    "V" convention of DESIGN.md §5): the PA is driven so that its small-signal output is
    ``tx_power_dbm``, so the mean power over DL symbols at the analyzer input is
    ``tx_power_dbm - compression - path_loss_db`` dBm, the compression being that of the Rapp PA at
    input back-off IBO = ``pa_saturation_dbm - tx_power_dbm`` (< 0.01 dB below 37 dBm for a 54 dBm
    PA, ~0.3 dB at 8 dB IBO). TM2/TM2a send their one PRB at the RE power of that full carrier, so
    their mean power is ~24 dB lower at 100 MHz (the lower end of the total power dynamic range).

Transmit filter
    Raw CP-OFDM leaks to ~43 dB ACLR (nr-standards.md §5.2). The channel filter is applied by
    circular convolution over the periodic frame (one FFT of the frame): unity gain over BW_Config
    + one subcarrier, a raised-cosine transition to zero at the channel edge BW/2 [U: design choice].
    Its impulse response is ~1 us long, shorter than the CP, so it adds no measurable EVM.

Model assumptions [U] (defaults of :class:`Transmitter`, chosen so the linear EVM floor is the
0.49 % of the calibration run in nr-standards.md §5.2): in-band DAC noise -50 dBc, phase noise
0.2 deg rms with a 300 kHz corner, PA output noise floor -145 dBc/Hz (a ~65 dB ACLR floor).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

import numpy as np
import numpy.typing as npt
import scipy.fft as sfft
from scipy.signal import resample_poly

from fivegbench.nr.bandwidth import n_rb as table_n_rb
from fivegbench.nr.numerology import fft_size, symbol_layout
from fivegbench.nr.tdd import SYMBOLS_PER_SLOT, parse_pattern
from fivegbench.nr.test_models import model as test_model
from fivegbench.sim.impairments import phase_noise, rapp
from fivegbench.sim.nr_grid import ResourceGrid, build_grid

__all__ = ["IMPEDANCE_OHMS", "OVERSAMPLING", "Frame", "FrameSpec", "Transmitter", "capture", "synthesize"]

IMPEDANCE_OHMS = 50.0
"""Reference impedance of the volt-scaled captures, ohm."""
OVERSAMPLING = 5
"""Default synthesis rate / (N x SCS): wide enough for the 2nd adjacent channels and the PA's
5th-order regrowth (the calibration run of nr-standards.md §5.2 used x5)."""


@dataclass(frozen=True)
class FrameSpec:
    """Everything a synthesized frame depends on (hashable: the cache key).

    Attributes
    ----------
    test_model : e.g. ``"NR-FR1-TM3.1a"``.
    bandwidth_hz : channel bandwidth, Hz.
    scs_hz : subcarrier spacing, Hz.
    tdd_pattern : slot pattern such as ``"DDDSU"``; None for FDD.
    special_slot : special-slot split ``"D:G:U"`` when the pattern has an S.
    sample_rate_hz : synthesis rate, Hz, an integer multiple of N x SCS; None for
        :data:`OVERSAMPLING` x N x SCS.
    inband_noise_dbc : DAC noise power within BW_Config relative to the carrier, dB [U].
    seed : seed of the payload and of the DAC noise.
    """

    test_model: str
    bandwidth_hz: float
    scs_hz: float
    tdd_pattern: str | None = None
    special_slot: str | None = None
    sample_rate_hz: float | None = None
    inband_noise_dbc: float = -50.0
    seed: int = 1


@dataclass(frozen=True, eq=False)
class Frame:
    """One synthesized test-model period.

    Attributes
    ----------
    spec : what was synthesized.
    samples : complex64, read-only, the linear baseband at ``sample_rate_hz`` (see the module
        docstring for its scale).
    sample_rate_hz : its sample rate, Hz.
    fft_size : N of the OFDM modulator (the useful symbol is N x oversampling samples here).
    oversampling : sample_rate_hz / (N x SCS).
    grid : the transmitted resource grid (the known reference symbols).
    symbol_start : int64 (n_symbols,): first sample of each symbol's CP in ``samples``.
    cp_samples : int64 (n_symbols,): CP length of each symbol in ``samples``.
    dl_samples : bool (n_samples,): the sample lies in a DL symbol (the PA transmits).
    """

    spec: FrameSpec
    samples: npt.NDArray[np.complex64]
    sample_rate_hz: float
    fft_size: int
    oversampling: int
    grid: ResourceGrid
    symbol_start: npt.NDArray[np.int64]
    cp_samples: npt.NDArray[np.int64]
    dl_samples: npt.NDArray[np.bool_]

    @property
    def duration_s(self) -> float:
        """Length of the frame, s."""
        return self.samples.size / self.sample_rate_hz

    def dl_mask(self, start: int, n: int) -> npt.NDArray[np.bool_]:
        """True where samples ``start .. start + n - 1`` (modulo the frame) lie in a DL symbol."""
        return self.dl_samples[(start + np.arange(n)) % self.dl_samples.size]


@dataclass(frozen=True)
class Transmitter:
    """What the gNB sends through its PA, for :func:`capture`.

    Attributes
    ----------
    frame : the frame it plays.
    tx_power_dbm : commanded output power (small-signal), dBm.
    pa_saturation_dbm : Rapp saturation power A_sat^2 / 50 ohm, dBm.
    carrier_frequency_hz : RF carrier, Hz (turns ppm into Hz).
    freq_error_ppm : carrier frequency error, ppm.
    rapp_smoothness : Rapp p (nr-standards.md §5.2 calibrates p = 2).
    phase_noise_rms_deg : integrated phase noise, degrees rms [U].
    phase_noise_corner_hz : its corner (PLL loop bandwidth), Hz [U].
    noise_floor_dbc_hz : PA output noise density relative to the carrier, dBc/Hz [U].
    """

    frame: FrameSpec
    tx_power_dbm: float
    pa_saturation_dbm: float
    carrier_frequency_hz: float
    freq_error_ppm: float = 0.0
    rapp_smoothness: float = 2.0
    phase_noise_rms_deg: float = 0.2
    phase_noise_corner_hz: float = 300e3
    noise_floor_dbc_hz: float = -145.0

    def __post_init__(self) -> None:
        for name in ("tx_power_dbm", "pa_saturation_dbm", "carrier_frequency_hz", "freq_error_ppm"):
            if not math.isfinite(getattr(self, name)):
                raise ValueError(f"{name} must be a finite number, got {getattr(self, name)!r}")
        if self.rapp_smoothness <= 0:
            raise ValueError(f"rapp_smoothness must be positive, got {self.rapp_smoothness!r}")


def _channel_filter(n_bins: int, bin_hz: float, pass_hz: float, stop_hz: float) -> npt.NDArray[np.float32]:
    """Zero-phase response of the bins 0 .. n_bins - 1 above DC (bin k at k bin_hz): 1 below
    ``pass_hz``, a raised cosine to 0 at ``stop_hz``."""
    f = np.arange(n_bins) * bin_hz
    x = np.clip((f - pass_hz) / (stop_hz - pass_hz), 0.0, 1.0)
    return (0.5 * (1.0 + np.cos(np.pi * x))).astype(np.float32)


@lru_cache(maxsize=4)
def synthesize(spec: FrameSpec) -> Frame:
    """The frame of ``spec`` (cached: the same spec returns the same :class:`Frame`).

    Raises ValueError for an unknown test model, a bandwidth/SCS pair outside TS 38.104
    Table 5.3.2-1, a bad TDD pattern, or a sample rate that is not a whole multiple of N x SCS.
    """
    m = test_model(spec.test_model)
    pattern = parse_pattern(spec.tdd_pattern, spec.special_slot)
    nrb = table_n_rb(spec.bandwidth_hz, spec.scs_hz)
    n = fft_size(nrb)
    base_rate = n * spec.scs_hz
    if spec.sample_rate_hz is None:
        os_ = OVERSAMPLING
    else:
        ratio = spec.sample_rate_hz / base_rate
        os_ = round(ratio)
        if os_ < 1 or abs(ratio - os_) > 1e-9:
            raise ValueError(
                f"sample rate {spec.sample_rate_hz / 1e6:g} MHz is not a whole multiple of "
                f"{base_rate / 1e6:g} MHz (N = {n} x SCS)"
            )
    duration = m.duration_s(pattern.is_tdd)
    slot_s = 1e-3 * 15e3 / spec.scs_hz
    n_slots = round(duration / slot_s)
    grid = build_grid(m, nrb, spec.scs_hz, pattern, n_slots, spec.seed)
    layout = symbol_layout(n, spec.scs_hz, n_symbols=n_slots * SYMBOLS_PER_SLOT)

    # OFDM at N: subcarrier k sits at (k - 6 N_RB) SCS from the carrier centre (no DC null in NR)
    n_sc = 12 * nrb
    bins = np.zeros((grid.values.shape[0], n), dtype=np.complex64)
    bins[:, (np.arange(n_sc) - n_sc // 2) % n] = grid.values
    symbols = sfft.ifft(bins, axis=1, workers=-1) * np.float32(n / math.sqrt(n_sc))
    total = layout.total_samples
    base = np.empty(total, dtype=np.complex64)
    for cp in np.unique(layout.cp_samples):  # one vectorised copy per CP length
        rows = np.flatnonzero(layout.cp_samples == cp)
        idx = layout.cp_start[rows, None] + np.arange(n + cp)
        base[idx] = np.concatenate([symbols[rows, n - cp :], symbols[rows]], axis=1)

    rng = np.random.default_rng([spec.seed, 0xDAC])
    noise_power = 10 ** (spec.inband_noise_dbc / 10) * base_rate / (n_sc * spec.scs_hz)
    noise = rng.standard_normal(2 * total, dtype=np.float32).view(np.complex64)
    base += noise * np.float32(math.sqrt(noise_power / 2))

    # channel filter + interpolation in one circular step over the periodic frame: the filter is
    # zero beyond the channel edge, so only the bins below it are copied into the wide spectrum
    spectrum = sfft.fft(base, workers=-1)
    del base
    bin_hz = base_rate / total
    k_stop = math.ceil(spec.bandwidth_hz / 2 / bin_hz)
    h = _channel_filter(k_stop, bin_hz, (n_sc + 1) * spec.scs_hz / 2, spec.bandwidth_hz / 2) * np.float32(os_)
    wide = np.zeros(total * os_, dtype=np.complex64)
    wide[:k_stop] = spectrum[:k_stop] * h
    wide[-(k_stop - 1) :] = spectrum[-(k_stop - 1) :] * h[:0:-1]
    del spectrum
    samples = sfft.ifft(wide, workers=-1, overwrite_x=True)

    # gate: guard and UL symbols are not transmitted
    start = layout.cp_start * os_
    length = (layout.cp_samples + n) * os_
    for row in np.flatnonzero(~grid.dl_symbols):
        samples[start[row] : start[row] + length[row]] = 0
    samples.setflags(write=False)
    dl = np.repeat(grid.dl_symbols, length)
    dl.setflags(write=False)
    return Frame(
        spec=spec,
        samples=samples,
        sample_rate_hz=base_rate * os_,
        fft_size=n,
        oversampling=os_,
        grid=grid,
        symbol_start=start,
        cp_samples=layout.cp_samples * os_,
        dl_samples=dl,
    )


def capture(
    tx: Transmitter,
    center_offset_hz: float,
    sample_rate_hz: float,
    n_samples: int,
    *,
    seed: int,
    start_s: float | None = None,
    path_loss_db: float = 0.0,
) -> npt.NDArray[np.complex64]:
    """I/Q samples an analyzer records of ``tx``, volts across 50 ohm (see the module docstring).

    Parameters
    ----------
    tx : the transmitter and its impairments.
    center_offset_hz : analyzer centre frequency minus the nominal carrier frequency, Hz.
    sample_rate_hz : the analyzer's I/Q sample rate, Hz (resampled from the synthesis rate by a
        rational polyphase filter; a rate above the synthesis rate sees nothing beyond it).
    n_samples : number of samples.
    seed : seeds the capture start (when ``start_s`` is None), the phase noise and the noise floor.
    start_s : time of the first sample within the frame, s (0 = the CP start of symbol 0 of slot 0);
        None for a random trigger.
    path_loss_db : loss from the antenna connector to the analyzer input, dB.

    Returns
    -------
    ndarray of complex64, shape (n_samples,)
    """
    if n_samples < 0 or int(n_samples) != n_samples:
        raise ValueError(f"n_samples must be a non-negative integer, got {n_samples!r}")
    if not (math.isfinite(sample_rate_hz) and sample_rate_hz > 0):
        raise ValueError(f"sample_rate_hz must be a positive number, got {sample_rate_hz!r}")
    frame = synthesize(tx.frame)
    fs = frame.sample_rate_hz
    rng = np.random.default_rng(seed)
    length = frame.samples.size
    first = int(rng.integers(0, length)) if start_s is None else round(start_s * fs) % length

    ratio = Fraction(sample_rate_hz / fs).limit_denominator(1 << 16)
    up, down = ratio.numerator, ratio.denominator
    same = up == down == 1
    pad = 0 if same else down * math.ceil((10 * max(up, down) / up + 2) / down)
    n_in = (n_samples if same else math.ceil(n_samples * down / up)) + 2 * pad
    lo = (first - pad) % length
    # the usual case is one contiguous slice (no index array); a capture may wrap round the frame
    wraps = lo + n_in > length
    x = frame.samples[(lo + np.arange(n_in)) % length] if wraps else frame.samples[lo : lo + n_in]

    p_tx_w = 10 ** ((tx.tx_power_dbm - 30) / 10)
    x = x * np.float32(math.sqrt(p_tx_w * IMPEDANCE_OHMS))
    a_sat = math.sqrt(10 ** ((tx.pa_saturation_dbm - 30) / 10) * IMPEDANCE_OHMS)
    x = rapp(x, a_sat, tx.rapp_smoothness)
    floor = p_tx_w * IMPEDANCE_OHMS * 10 ** (tx.noise_floor_dbc_hz / 10) * fs
    noise = rng.standard_normal(2 * n_in, dtype=np.float32).view(np.complex64) * np.float32(
        math.sqrt(floor / 2)
    )
    if tx.frame.tdd_pattern is not None:
        noise *= frame.dl_mask(first - pad, n_in)  # the PA is off outside DL symbols
    x += noise
    # phase noise, frequency error and tuning offset as one phase rotation
    phi = phase_noise(n_in, fs, math.radians(tx.phase_noise_rms_deg), tx.phase_noise_corner_hz, rng)
    shift = tx.carrier_frequency_hz * tx.freq_error_ppm * 1e-6 - center_offset_hz
    if shift:
        cycles = shift * ((first - pad) / fs + np.arange(n_in) / fs)
        phi += (2 * math.pi * (cycles - np.floor(cycles))).astype(np.float32)
    rot = np.empty(n_in, dtype=np.complex64)
    rot.real = np.cos(phi)
    rot.imag = np.sin(phi)
    rot *= np.float32(10 ** (-path_loss_db / 20))
    x *= rot
    if same:
        return x[:n_samples].astype(np.complex64, copy=False)
    y = resample_poly(x, up, down)
    skip = pad * up // down
    return y[skip : skip + n_samples].astype(np.complex64)
