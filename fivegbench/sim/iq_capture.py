"""What a simulated analyzer's I/Q path records: the gNB's waveform plus the analyzer's own noise,
through an ADC whose full scale follows the reference level. Shared by both personalities (the
FSW's ``TRAC:IQ`` and the N9030B's basic-mode ``WAV`` commands differ; the physics does not).

Signal
    :func:`fivegbench.sim.waveform.capture` of the world's transmitter (volts across 50 ohm at
    the analyzer input, after the RF path loss). A carrier wholly outside the captured band
    (``|centre - carrier| >= (sample rate + channel bandwidth) / 2``) is not seen; RF off: noise only.

Analyzer noise
    Complex white Gaussian noise of density :func:`fivegbench.sim.spectrum.noise_density_mw_per_hz`
    (DANL + attenuation, referred to the input) over the whole sample rate.

ADC full scale and clipping [U]
    The envelope |x| clips at the amplitude of a CW tone :data:`FULL_SCALE_ABOVE_REFERENCE_DB`
    (3 dB) above the reference level: a real analyzer's ADC keeps "a few dB" of headroom above
    the reference level; the number is a model assumption. A clipped sample keeps its phase.
    Any clipped sample sets the ADC (IF) overload condition of the acquisition.

Mixer overload
    :func:`fivegbench.sim.spectrum.is_overloaded` (input power minus attenuation at the first
    mixer), the same criterion as the swept sweeps.

Swept IF overload [U]
    A swept analyzer's IF sees the signal through a filter much wider than the RBW, and its
    detector averages. The model flags an IF overload when the mean power displayed in the span
    (Σ P_i·Δf/ENBW of the trace) exceeds the full scale: a carrier more than 3 dB above the
    reference level overloads every sweep; one at or below it never does (an I/Q capture of the
    same carrier clips on its peaks much earlier).

Autolevel [U]
    ``SENS:ADJ:LEV`` / ``:POW:RANG:OPT IMM``: the peak envelope power of a capture at
    :data:`AUTOLEVEL_SAMPLE_RATE_HZ` around the centre frequency, rounded up to a whole dB, becomes
    the reference level. The capture lasts what the FSW's ``SENS:ADJ:CONF:DUR`` sets in MANual
    mode (0.001 to 16000 s, R&S's command list), else :data:`AUTOLEVEL_DURATION_S` (1 ms): too
    short to be sure of DL symbols in a TDD pattern whose UL part is longer (DDDDDDDSUU at 30 kHz
    is off for 1.29 ms), as on the instrument. Bandwidth and rounding are model assumptions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from fivegbench.sim.spectrum import (
    RfScene,
    SweepSettings,
    enbw_hz,
    is_overloaded,
    noise_density_mw_per_hz,
)
from fivegbench.sim.waveform import IMPEDANCE_OHMS, Transmitter, capture

if TYPE_CHECKING:
    from fivegbench.sim.world import World

FULL_SCALE_ABOVE_REFERENCE_DB = 3.0
"""ADC full scale (CW power) above the reference level, dB [U]."""
AUTOLEVEL_DURATION_S = 1e-3
"""Length of the autolevel measurement when none is set, s [U]."""
AUTOLEVEL_SAMPLE_RATE_HZ = 200e6
"""Bandwidth (complex sample rate) of the autolevel measurement, Hz [U]."""


@dataclass(frozen=True)
class Overload:
    """What overloaded during an acquisition: the first mixer (RF input level minus attenuation)
    and the IF/ADC (the signal exceeded the full scale set by the reference level)."""

    mixer: bool = False
    adc: bool = False


@dataclass(frozen=True)
class IqScene:
    """A snapshot of what reaches the analyzer input, taken at ``INIT`` under the world's lock."""

    transmitter: Transmitter | None
    rf: RfScene
    path_loss_db: float
    seed: int

    @classmethod
    def from_world(cls, world: World) -> IqScene:
        with world.lock:
            return cls(world.transmitter(), RfScene.from_world(world), world.path_loss_db, world.seed)


@dataclass(frozen=True)
class IqRequest:
    """The analyzer settings an I/Q capture uses (Hz, samples, dBm, dB)."""

    center_hz: float
    sample_rate_hz: float
    samples: int
    reference_level_dbm: float
    attenuation_db: float


@dataclass(frozen=True)
class IqCapture:
    """A completed capture: complex64 volts at the input, the overload it caused and how many
    samples the ADC clipped."""

    samples: npt.NDArray[np.complex64]
    overload: Overload
    clipped: int


def full_scale_volts(reference_level_dbm: float) -> float:
    """Envelope amplitude (V across 50 ohm) at which the ADC clips, for a reference level."""
    watts = 10.0 ** ((reference_level_dbm + FULL_SCALE_ABOVE_REFERENCE_DB - 30.0) / 10.0)
    return math.sqrt(watts * IMPEDANCE_OHMS)


def capture_seed(world_seed: int, number: int) -> int:
    """The seed of capture ``number`` in a world (reproducible per world seed and capture count)."""
    return int(np.random.SeedSequence([world_seed, number]).generate_state(1)[0])


def acquire_iq(scene: IqScene, request: IqRequest, number: int) -> IqCapture:
    """Capture ``request.samples`` samples of ``scene`` (see the module docstring).

    ``number`` counts the analyzer's captures: it seeds the trigger instant, the transmitter's
    noise and the analyzer's noise, so a capture is reproducible per world seed and count.
    """
    seed = capture_seed(scene.seed, number)
    n = request.samples
    x = _signal(scene, request, seed)
    rng = np.random.default_rng([seed, 0xADC])
    noise_w = noise_density_mw_per_hz(request.attenuation_db) * 1e-3 * request.sample_rate_hz
    noise = rng.standard_normal(2 * n, dtype=np.float32).view(np.complex64)
    x += noise * np.float32(math.sqrt(noise_w * IMPEDANCE_OHMS / 2.0))
    clipped = _clip(x, full_scale_volts(request.reference_level_dbm))
    mixer = is_overloaded(scene.rf, request.attenuation_db)
    return IqCapture(x, Overload(mixer=mixer, adc=clipped > 0), clipped)


def _signal(scene: IqScene, request: IqRequest, seed: int) -> npt.NDArray[np.complex64]:
    tx = scene.transmitter
    if tx is None:
        return np.zeros(request.samples, dtype=np.complex64)
    offset = request.center_hz - tx.carrier_frequency_hz
    if abs(offset) >= (request.sample_rate_hz + tx.frame.bandwidth_hz) / 2.0:
        return np.zeros(request.samples, dtype=np.complex64)
    samples = capture(
        tx, offset, request.sample_rate_hz, request.samples, seed=seed, path_loss_db=scene.path_loss_db
    )
    return samples if samples.flags.writeable else samples.copy()


def _clip(x: npt.NDArray[np.complex64], full_scale: float) -> int:
    """Limit |x| to ``full_scale`` in place, keeping the phase; return how many samples clipped."""
    power = x.real * x.real + x.imag * x.imag
    over = np.flatnonzero(power > np.float32(full_scale * full_scale))
    if over.size:
        x[over] *= (full_scale / np.sqrt(power[over])).astype(np.float32)
    return int(over.size)


def autolevel_dbm(
    scene: IqScene,
    center_hz: float,
    attenuation_db: float,
    number: int,
    duration_s: float = AUTOLEVEL_DURATION_S,
) -> float:
    """The reference level autolevel chooses: the peak envelope power measured over
    ``duration_s``, rounded up to a whole dB (dBm)."""
    rate = AUTOLEVEL_SAMPLE_RATE_HZ
    request = IqRequest(center_hz, rate, round(duration_s * rate), math.inf, attenuation_db)
    x = acquire_iq(scene, request, number).samples
    peak_w = float(np.max(x.real * x.real + x.imag * x.imag)) / IMPEDANCE_OHMS
    return float(math.ceil(10.0 * math.log10(peak_w) + 30.0))


def swept_adc_overload(
    sweep: SweepSettings, trace_dbm: npt.NDArray[np.floating], reference_level_dbm: float
) -> bool:
    """The swept IF overload of the model: the mean power shown in the span above the full scale
    (see the module docstring)."""
    span = sweep.stop_hz - sweep.start_hz
    spacing = span / (sweep.points - 1) if sweep.points > 1 else span
    shown_mw = (
        float(np.sum(10.0 ** (np.asarray(trace_dbm, dtype=np.float64) / 10.0)))
        * spacing
        / enbw_hz(sweep.rbw_hz)
    )
    if shown_mw <= 0.0:
        return False
    full_scale_dbm = reference_level_dbm + FULL_SCALE_ABOVE_REFERENCE_DB
    return 10.0 * math.log10(shown_mw) > full_scale_dbm
