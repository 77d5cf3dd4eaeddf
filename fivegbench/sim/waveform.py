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
   Rapp PA (at the synthesis rate) -> carrier frequency error and tuning offset -> PA output noise
   floor (gated with the DL symbols) -> the analyzer's anti-alias response and sample rate ->
   phase noise -> path loss. See "The analyzer's I/Q path" for how.

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
    Raw CP-OFDM leaks to ~43 dB ACLR (nr-standards.md §5.2). The channel filter is unity gain over
    BW_Config + one subcarrier, a raised-cosine transition to zero at the channel edge BW/2 [U:
    design choice]. It is applied, with the interpolation to the synthesis rate, by overlap-save
    FFT blocks over the periodic frame: a batch of cache-sized FFTs costs a fraction of one FFT of
    the whole frame. The blocks overlap by :data:`_CHANNEL_TAIL_PERIODS` periods of the transition
    width (9.5 us at 100 MHz), which keeps the frame within -110 dBc of the exact circular
    convolution. The impulse response is ~1 us long, shorter than the CP, so the filter adds no
    measurable EVM.

The analyzer's I/Q path
    The PA is memoryless but nonlinear, so it acts at the synthesis rate (its 5th-order regrowth
    spans 5 x BW). Everything after it is linear, and an analyzer keeps only +-fs/2 of its own
    rate ``fs``, so :func:`capture` works in overlap-save FFT blocks of the PA output: each block's
    spectrum keeps the bins the analyzer sees, shifted by the whole-bin part of the frequency
    error and tuning offset (a per-block phase keeps the rotation continuous); the PA noise floor
    is added there, generated at the analyzer's rate and gated at its sample instants; the
    analyzer's anti-alias response (:data:`ANALYZER_FLAT_FRACTION`: flat over +-0.4 fs, a raised
    cosine to zero at +-fs/2, so nothing aliases [U: real I/Q analyzers pass ~0.8 x their
    sample rate flat]) multiplies them; one inverse FFT per block gives the analyzer's samples.
    The rate ratio is the fraction p/q (q <= 65536) nearest ``fs`` / synthesis rate; a rate it
    misses by more than 100 ppm (below ~synthesis rate / 65536) is refused. Output sample k lies
    exactly on frame time ``start_s + k / fs``.
    Applied at the analyzer's rate, after the anti-alias response rather than before it: the phase
    noise (a 300 kHz Lorentzian spreads the carrier by far less than the response's 0.1 fs
    roll-off), the sub-bin remainder of the frequency shift (at most half a bin, 3.75 kHz at
    122.88 Msps), and the path loss. The blocks overlap by 256 analyzer samples, beyond which the
    response's impulse response holds < -115 dB of its energy; below synthesis rate / 4096 the
    overlap is shortened to bound the memory (-54 dB at synthesis rate / 65536). In a TDD frame,
    samples farther than that overlap from any DL sample are exactly zero, as the silent input is
    (what the blocks leave there is FFT round-off).

Model assumptions [U] (defaults of :class:`Transmitter`, chosen so the linear EVM floor is the
0.49 % of the calibration run in nr-standards.md §5.2): in-band DAC noise -50 dBc, phase noise
0.2 deg rms with a 300 kHz corner, PA output noise floor -145 dBc/Hz (a ~65 dB ACLR floor).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.fft as sfft
from numpy.lib.stride_tricks import sliding_window_view

from fivegbench.nr.bandwidth import n_rb as table_n_rb
from fivegbench.nr.numerology import fft_size, symbol_layout
from fivegbench.nr.tdd import SYMBOLS_PER_SLOT, parse_pattern
from fivegbench.nr.test_models import model as test_model
from fivegbench.sim.impairments import phase_noise, rapp
from fivegbench.sim.nr_grid import ResourceGrid, build_grid

__all__ = [
    "ANALYZER_FLAT_FRACTION",
    "IMPEDANCE_OHMS",
    "OVERSAMPLING",
    "Frame",
    "FrameSpec",
    "Transmitter",
    "capture",
    "pa_noise_density_v2_per_hz",
    "pa_output",
    "synthesize",
]

IMPEDANCE_OHMS = 50.0
"""Reference impedance of the volt-scaled captures, ohm."""
OVERSAMPLING = 5
"""Default synthesis rate / (N x SCS): wide enough for the 2nd adjacent channels and the PA's
5th-order regrowth (the calibration run of nr-standards.md §5.2 used x5)."""
ANALYZER_FLAT_FRACTION = 0.8
"""Share of its I/Q sample rate over which the simulated analyzer's anti-alias response is flat;
a raised cosine takes it to zero at +-fs/2 [U: the FSW's and X-series' usable I/Q bandwidth is
~0.8 x the sample rate]."""

_CHANNEL_TAIL_PERIODS = 8
"""Overlap of the synthesis blocks, in periods of the channel filter's transition width."""
_BLOCK_OUT = 16384
"""Analyzer samples per capture block (FFTs of 16384 x the decimation stay in cache)."""
_OVERLAP_OUT = 256
"""Analyzer samples each side of a capture block that are computed and dropped."""
_MAX_DENOMINATOR = 1 << 16
"""Largest q of the rate ratio p/q: the lowest analyzer rate is ~ the synthesis rate / q."""
_MAX_OVERLAP_IN = 1 << 20
"""Most synthesis-rate samples in a capture block's overlap (bounds memory at very low rates)."""
_CHUNK_SAMPLES = 1 << 20
"""Synthesis-rate samples transformed per batch of blocks (~8 MB of complex64)."""


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

    def dl_mask(self, start: int, n: int, step: Fraction = Fraction(1)) -> npt.NDArray[np.bool_]:
        """True where samples ``start + floor(k step)``, k = 0 .. n - 1 (modulo the frame), lie in a
        DL symbol: the frame's DL/non-DL pattern seen at another sample rate (``step`` = frame
        samples per output sample), built from the symbol edges without indexing every sample."""
        if n <= 0:
            return np.zeros(0, dtype=np.bool_)
        length = self.dl_samples.size
        dl = self.grid.dl_symbols
        edges = self.symbol_start[dl != np.roll(dl, 1)]  # where the state changes (cyclically)
        last = start + math.floor((n - 1) * step)
        periods = np.arange(start // length, last // length + 1, dtype=np.int64)
        at = (edges[None, :] + periods[:, None] * length).ravel()
        at = at[(at > start) & (at <= last)]
        # output sample of each edge: the first k with start + floor(k step) >= edge
        k = -((start - at) * step.denominator // step.numerator)
        toggles = np.zeros(n, dtype=np.uint8)
        np.add.at(toggles, k, 1)
        toggles[0] = self.dl_samples[start % length]
        return (np.cumsum(toggles, dtype=np.uint8) & 1).view(np.bool_)


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


def _raised_cosine(
    f_hz: npt.NDArray[np.floating[Any]], pass_hz: float, stop_hz: float
) -> npt.NDArray[np.float32]:
    """Zero-phase response at frequencies ``f_hz``: 1 for |f| <= ``pass_hz``, a raised cosine to
    0 at |f| = ``stop_hz``, 0 beyond."""
    x = np.clip((np.abs(f_hz) - pass_hz) / (stop_hz - pass_hz), 0.0, 1.0)
    return (0.5 * (1.0 + np.cos(np.pi * x))).astype(np.float32)


def _cyclic(a: npt.NDArray[np.complex64], start: int, n: int) -> npt.NDArray[np.complex64]:
    """``a[start .. start + n - 1]`` with indices modulo ``a.size``: a view unless it wraps."""
    start %= a.size
    if start + n <= a.size:
        return a[start : start + n]
    pieces = [a[start:]]
    left = n - pieces[0].size
    while left > 0:
        pieces.append(a[: min(left, a.size)])
        left -= pieces[-1].size
    return np.concatenate(pieces)


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
    for symbol, (first, cp) in enumerate(
        zip(layout.cp_start.tolist(), layout.cp_samples.tolist(), strict=True)
    ):
        base[first : first + cp] = symbols[symbol, n - cp :]
        base[first + cp : first + cp + n] = symbols[symbol]

    rng = np.random.default_rng([spec.seed, 0xDAC])
    noise_power = 10 ** (spec.inband_noise_dbc / 10) * base_rate / (n_sc * spec.scs_hz)
    noise = rng.standard_normal(2 * total, dtype=np.float32).view(np.complex64)
    base += noise * np.float32(math.sqrt(noise_power / 2))

    samples = _channel_filter_and_interpolate(
        base, base_rate, os_, (n_sc + 1) * spec.scs_hz / 2, spec.bandwidth_hz / 2
    )

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


def _channel_filter_and_interpolate(
    base: npt.NDArray[np.complex64], base_rate: float, factor: int, pass_hz: float, stop_hz: float
) -> npt.NDArray[np.complex64]:
    """The periodic ``base`` (at ``base_rate``) through the channel filter (1 below ``pass_hz``, a
    raised cosine to 0 at ``stop_hz``) and interpolated by ``factor``: overlap-save blocks, each
    one FFT, the bins below the channel edge copied into a ``factor`` times wider spectrum, one
    inverse FFT (see the module docstring)."""
    total = base.size
    overlap = math.ceil(_CHANNEL_TAIL_PERIODS * base_rate / (stop_hz - pass_hz))
    block = 1 << math.ceil(math.log2(12 * overlap))
    hop = block - 2 * overlap
    n_blocks = -(-total // hop)
    windows = sliding_window_view(_cyclic(base, -overlap, (n_blocks - 1) * hop + block), block)[::hop]
    bin_hz = base_rate / block
    k = math.ceil(stop_hz / bin_hz)  # bins 0 .. k - 1 and -(k - 1) .. -1 carry the channel
    h = _raised_cosine(np.arange(k) * bin_hz, pass_hz, stop_hz) * np.float32(factor)
    wide = block * factor
    out = np.empty((n_blocks, hop * factor), dtype=np.complex64)
    per_batch = max(1, _CHUNK_SAMPLES // wide)
    for b in range(0, n_blocks, per_batch):
        spectrum = sfft.fft(windows[b : b + per_batch], axis=1, workers=-1)
        w = np.zeros((spectrum.shape[0], wide), dtype=np.complex64)
        w[:, :k] = spectrum[:, :k] * h
        w[:, wide - k + 1 :] = spectrum[:, block - k + 1 :] * h[:0:-1]
        y = sfft.ifft(w, axis=1, workers=-1, overwrite_x=True)
        out[b : b + spectrum.shape[0]] = y[:, overlap * factor : (overlap + hop) * factor]
    return out.reshape(-1)[: total * factor]


def _runs(to: npt.NDArray[np.int64], src: npt.NDArray[np.int64]) -> list[tuple[int, int, int]]:
    """``to[i] <- src[i]`` as (first to, first src, count) runs that are contiguous in both."""
    if not to.size:
        return []
    breaks = np.flatnonzero((np.diff(to) != 1) | (np.diff(src) != 1)) + 1
    bounds = [0, *breaks.tolist(), to.size]
    return [(int(to[a]), int(src[a]), b - a) for a, b in itertools.pairwise(bounds)]


def _volts(power_dbm: float) -> float:
    """RMS voltage across :data:`IMPEDANCE_OHMS` of a power, V."""
    return math.sqrt(10 ** ((power_dbm - 30) / 10) * IMPEDANCE_OHMS)


def pa_output(
    tx: Transmitter, x: npt.NDArray[np.complex64], out: npt.NDArray[np.complex64] | None = None
) -> npt.NDArray[np.complex64]:
    """The PA's output, volts, for frame samples ``x`` (the scale of :func:`synthesize`): driven so
    that the small-signal output is ``tx.tx_power_dbm``, through the Rapp AM/AM saturating at
    ``tx.pa_saturation_dbm``. No noise: see :func:`pa_noise_density_v2_per_hz`. ``out`` (may be
    ``x``) receives it; None for a new array."""
    driven = np.multiply(x, np.float32(_volts(tx.tx_power_dbm)), out=out)
    return rapp(driven, _volts(tx.pa_saturation_dbm), tx.rapp_smoothness, out=driven)


def pa_noise_density_v2_per_hz(tx: Transmitter) -> float:
    """Density of the PA output noise floor while it transmits, V^2/Hz across
    :data:`IMPEDANCE_OHMS`: ``tx.noise_floor_dbc_hz`` below the commanded (small-signal) power,
    white over the synthesis band."""
    return _volts(tx.tx_power_dbm) ** 2 * 10 ** (tx.noise_floor_dbc_hz / 10)


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
    sample_rate_hz : the analyzer's I/Q sample rate, Hz (its anti-alias response is flat over
        :data:`ANALYZER_FLAT_FRACTION` of it; a rate above the synthesis rate sees nothing beyond
        the synthesis band).
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
    ratio = Fraction(sample_rate_hz / fs).limit_denominator(_MAX_DENOMINATOR)
    if abs(ratio * fs - sample_rate_hz) > 1e-4 * sample_rate_hz:  # q <= 65536 is within ~10 ppm above
        raise ValueError(
            f"sample_rate_hz {sample_rate_hz:g} is below the lowest the simulated capture resamples to "
            f"(~{fs / _MAX_DENOMINATOR:.0f} Hz: {fs / 1e6:g} Msps / {_MAX_DENOMINATOR})"
        )
    rng = np.random.default_rng(seed)
    length = frame.samples.size
    first = int(rng.integers(0, length)) if start_s is None else round(start_s * fs) % length
    n_samples = int(n_samples)
    if n_samples == 0:
        return np.zeros(0, dtype=np.complex64)

    shift_hz = tx.carrier_frequency_hz * tx.freq_error_ppm * 1e-6 - center_offset_hz
    x, residual_hz = _analyzer_samples(tx, frame, first, n_samples, ratio, shift_hz, rng)
    # the sub-bin rest of the frequency shift, phase noise and path loss as one rotation
    fs_out = float(fs * ratio)
    rot = np.full(n_samples, 10 ** (-path_loss_db / 20), dtype=np.complex64)
    if residual_hz:
        rot *= _tone(residual_hz * first / fs, residual_hz / fs_out, n_samples)
    if tx.phase_noise_rms_deg > 0:
        phi = phase_noise(
            n_samples, fs_out, math.radians(tx.phase_noise_rms_deg), tx.phase_noise_corner_hz, rng
        )
        wobble = np.empty(n_samples, dtype=np.complex64)
        np.cos(phi, out=wobble.real)
        np.sin(phi, out=wobble.imag)
        rot *= wobble
    x *= rot
    return x


def _tone(cycles0: float, cycles_per_sample: float, n: int) -> npt.NDArray[np.complex64]:
    """exp(j 2 pi (cycles0 + k cycles_per_sample)), k = 0 .. n - 1, as the outer product of a
    coarse and a fine phasor (phases reduced modulo one cycle in float64)."""
    width = 1024
    coarse = (cycles0 + cycles_per_sample * width * np.arange(-(-n // width))) % 1.0
    fine = (cycles_per_sample * np.arange(width)) % 1.0
    c = np.exp(2j * np.pi * coarse).astype(np.complex64)
    f = np.exp(2j * np.pi * fine).astype(np.complex64)
    return (c[:, None] * f[None, :]).reshape(-1)[:n]


def _analyzer_samples(
    tx: Transmitter,
    frame: Frame,
    first: int,
    n_samples: int,
    ratio: Fraction,
    shift_hz: float,
    rng: np.random.Generator,
) -> tuple[npt.NDArray[np.complex64], float]:
    """The PA output of ``frame`` from sample ``first`` on, shifted by ``shift_hz`` to the nearest
    block bin, plus the gated PA noise floor, through the analyzer's anti-alias response at
    ``ratio`` x the synthesis rate: ``n_samples`` samples, and the part of the shift left to apply
    (Hz). Overlap-save blocks (see the module docstring)."""
    up, down = ratio.numerator, ratio.denominator
    fs = frame.sample_rate_hz
    fs_out = fs * up / down
    # geometry in units of `down` input = `up` output samples, so every block starts on both grids
    over = max(1, min(math.ceil(_OVERLAP_OUT / up), _MAX_OVERLAP_IN // down))
    units = sfft.next_fast_len(
        max(4 * over, min(-(-n_samples // up) + 2 * over, -(-_BLOCK_OUT // up), _CHUNK_SAMPLES // down))
    )
    hop = units - 2 * over
    n_in, n_out = units * down, units * up
    n_blocks = -(-n_samples // (hop * up))
    lo = first - over * down  # frame sample of block 0's first input sample

    # analyzer bin j (signed) takes PA-output bin j - k; the bins the response or the synthesis
    # band leaves empty stay zero
    bin_hz = fs / n_in
    k = round(shift_hz / bin_hz)
    j = np.fft.fftfreq(n_out, 1.0 / n_out).astype(np.int64)
    response = _raised_cosine(j * bin_hz, ANALYZER_FLAT_FRACTION * fs_out / 2, fs_out / 2)
    response[np.abs(j - k) >= n_in / 2] = 0.0
    seen = np.flatnonzero(response)
    runs = _runs(seen, (j[seen] - k) % n_in)
    # block b starts at frame sample lo + b hop down: its whole-bin shift starts at that phase
    starts = [lo + b * hop * down for b in range(n_blocks)]
    block_phase = np.exp(2j * np.pi * np.array([k * s % n_in for s in starts]) / n_in)
    coef = (block_phase * (n_out / n_in)).astype(np.complex64)

    # PA output noise floor at the analyzer's rate, white over its band, on while the PA transmits
    span = (n_blocks - 1) * hop * up + n_out
    sigma = math.sqrt(pa_noise_density_v2_per_hz(tx) * fs_out / 2)
    noise = rng.standard_normal(2 * span, dtype=np.float32).view(np.complex64)
    noise *= np.float32(sigma)
    transmitting = None if tx.frame.tdd_pattern is None else frame.dl_mask(lo, span, Fraction(down, up))
    if transmitting is not None:
        noise *= transmitting
    noise_blocks = sliding_window_view(noise, n_out)[:: hop * up]

    per_batch = max(1, _CHUNK_SAMPLES // n_in)
    buf = np.empty((min(per_batch, n_blocks), n_in), dtype=np.complex64)
    out = np.empty((n_blocks, hop * up), dtype=np.complex64)
    for b0 in range(0, n_blocks, per_batch):
        count = min(per_batch, n_blocks - b0)
        x = buf[:count]
        for i in range(count):
            x[i] = _cyclic(frame.samples, starts[b0 + i], n_in)
        pa_output(tx, x, out=x)
        spectrum = sfft.fft(x, axis=1, workers=-1, overwrite_x=True)
        y = sfft.fft(noise_blocks[b0 : b0 + count], axis=1, workers=-1)
        for to, src, n in runs:
            y[:, to : to + n] += spectrum[:, src : src + n] * coef[b0 : b0 + count, None]
        y *= response
        y = sfft.ifft(y, axis=1, workers=-1, overwrite_x=True)
        out[b0 : b0 + count] = y[:, over * up : (over + hop) * up]
    samples = out.reshape(-1)[:n_samples]
    if transmitting is not None:
        # more than the overlap from any DL sample the response has settled (< -115 dB): what is
        # left there is FFT round-off, and the analyzer input is silent, so it records zero
        reach = np.concatenate([[0], np.cumsum(transmitting, dtype=np.int32)])
        pad = over * up
        samples[reach[2 * pad + 1 : 2 * pad + 1 + n_samples] == reach[:n_samples]] = 0
    return samples, shift_hz - k * bin_hz
