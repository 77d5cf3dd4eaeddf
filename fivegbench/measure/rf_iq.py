"""rf.evm, rf.freq_error, and rf.power/aclr/obw/sem with ``source: iq``: one I/Q capture per step,
saved as SigMF and reduced by the very functions ``fivegbench analyze`` runs on that file.

A step (the runner has already configured the gNB: carrier, the step's test model, TX power):

1. Reference level: the analyzer's autolevel at the carrier (``autolevel: true``, the default), else
   TX power - path loss + :data:`IQ_HEADROOM_DB` (an OFDM carrier's peaks stand ~11 dB above its
   mean; the ADC clips at the reference level). Autolevel measures for the capture's duration
   where the family can be told (FSW ``SENS:ADJ:CONF:DUR``); an analyzer that levels over its
   default ~1 ms may see only a TDD off period (a 7D1S2U pattern is off for 1.3 ms), so a level
   below the carrier's configured mean input power is replaced by the computed one, and the
   record says so.
2. ``capture_iq`` at :func:`iq_settings` (sample rate, duration); the driver returns the samples in
   volts at the analyzer input and every setting read back from the instrument
   (:class:`~fivegbench.drivers.analyzer.iq.IqAcquisition`).
3. The samples are saved as recorded, in ``captures/<index>-<kind>.sigmf-meta/-data``, with the
   ``fivegbench:`` keys that ``analyze`` needs (:mod:`fivegbench.captures`): the path loss to the
   antenna connector, the carrier, the test model and its slot pattern.
4. The saved file is read back and analysed by :data:`fivegbench.analyze.ANALYSES` with the options
   the command line gets by default (``--band/--category/--bs-class`` of the plan for ``sem``), so
   ``fivegbench analyze evm captures/0007-rf.evm.sigmf-meta --bandwidth 100MHz --scs 30kHz`` prints
   the value the journal holds, to the last digit (values are not rounded).

Outcomes that are not a plain number:

* overload reported by the analyzer during the capture: the outcome is invalid (INCONCLUSIVE),
  whatever the values;
* a reducer's ValueError (a capture too short, clipped, empty, an allocation that does not match
  the signal): no values, invalid with that reason (INCONCLUSIVE), never NaN;
* decision-directed EVM beyond the range it is accurate in (:mod:`fivegbench.reduce.evm`): it is
  biased low, so each EVM value is judged as the interval [value, inf): above its limit it FAILs,
  below it the verdict is INCONCLUSIVE (it cannot claim a PASS).

Captures are at most :data:`MAX_CAPTURE_BYTES` (the issue's 20 MB): a default duration is shortened
to whole slots that fit (said in the conditions); a duration the plan gives that does not fit is
refused by preflight, before anything is touched.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fivegbench import analyze
from fivegbench.kinds import KINDS
from fivegbench.measure.base import MeasureContext, Outcome, role
from fivegbench.nr.bandwidth import config_bandwidth_hz, n_rb
from fivegbench.nr.evm_window import evm_window
from fivegbench.nr.numerology import fft_size
from fivegbench.nr.test_models import FRAME_S_FDD, FRAME_S_TDD
from fivegbench.record import Value
from fivegbench.reduce.stats import Interval

if TYPE_CHECKING:
    from fivegbench.captures import IqCapture

MAX_CAPTURE_BYTES = 20_000_000
"""Largest capture a step saves (cf32_le: 8 bytes per sample), bytes."""
BYTES_PER_SAMPLE = 8
IQ_HEADROOM_DB = 15.0
"""Reference level above the carrier's mean input power without autolevel, dB [U: an OFDM
carrier's PAPR is ~11 dB at 1e-4 probability; 4 dB of margin]."""
USABLE_FRACTION = 0.8
"""Share of the I/Q sample rate an analyzer's anti-alias filter passes flat [U: typical of the
FSW and X-series I/Q analyzers; the simulated analyzers' is the same assumption,
``fivegbench.sim.waveform.ANALYZER_FLAT_FRACTION``]; a spectral measurement's span must lie
inside it."""
IMPEDANCE_OHMS = 50.0
"""The drivers' samples are volts across this impedance."""
_SPECTRAL = ("power", "aclr", "obw", "sem")


def _spectral_half_span_hz(analysis: str, bandwidth_hz: float, config_bw_hz: float) -> float:
    """How far from the carrier centre a spectral measurement from I/Q needs to see, Hz: the
    channel edge and a tenth beyond (power), its skirts (obw), the 2nd adjacent channels' outer
    edges (aclr, sem: an I/Q capture cannot reach the whole OBUE region; the mask's first
    segments are judged)."""
    if analysis == "power":
        return 0.6 * bandwidth_hz
    if analysis == "obw":
        return 0.75 * bandwidth_hz
    return 2 * bandwidth_hz + config_bw_hz / 2


@dataclass(frozen=True)
class IqSettings:
    """What one capture asks the analyzer for.

    Attributes
    ----------
    sample_rate_hz : I/Q sample rate, Hz.
    duration_s : capture length, s.
    note : why a default duration was shortened (None when it was not).
    """

    sample_rate_hz: float
    duration_s: float
    note: str | None = None

    @property
    def samples(self) -> int:
        return round(self.sample_rate_hz * self.duration_s)


def analysis_of(step: Any) -> str:
    """The ``analyze`` analysis a step's capture is reduced with (``evm``, ``freq-error``,
    ``power`` ...)."""
    if step.kind == "rf.evm":
        return "evm"
    if step.kind == "rf.freq_error":
        return "freq-error"
    return str(step.kind.removeprefix("rf."))


def iq_settings(step: Any) -> IqSettings:
    """Sample rate and duration of a step's I/Q capture: the plan's, or the defaults: the smallest
    FFT size x SCS that holds the carrier (EVM, frequency error) or the least multiple of it whose
    flat :data:`USABLE_FRACTION` holds the measurement's span (spectral kinds); one test-model
    period, cut to the whole slots that fit :data:`MAX_CAPTURE_BYTES`.

    Raises ValueError (one line, naming the parameter first) for a sample rate EVM cannot use or a
    duration shorter than one slot or longer than :data:`MAX_CAPTURE_BYTES` allow.
    """
    cell = step.cell
    analysis = analysis_of(step)
    carrier_rb = n_rb(cell.bandwidth, cell.scs)
    base_rate = fft_size(carrier_rb) * cell.scs  # N x SCS: the carrier's own FFT
    rate = step.params.get("sample_rate")
    if rate is None:
        if analysis in _SPECTRAL:
            half = _spectral_half_span_hz(
                analysis, cell.bandwidth, config_bandwidth_hz(cell.bandwidth, cell.scs)
            )
            rate = math.ceil(2 * half / USABLE_FRACTION / base_rate) * base_rate
        else:
            rate = base_rate
    rate = float(rate)
    if analysis not in _SPECTRAL:
        _check_ofdm_rate(rate, cell.scs, carrier_rb, cell.bandwidth)
    slot_s = 1e-3 * 15e3 / cell.scs
    most = MAX_CAPTURE_BYTES // BYTES_PER_SAMPLE
    duration = step.params.get("duration")
    if duration is not None:
        duration = float(duration)
        if duration < slot_s * (1 - 1e-9):
            raise ValueError(
                f"duration: {duration * 1e3:g} ms is shorter than one slot ({slot_s * 1e3:g} ms)"
            )
        if round(duration * rate) > most:
            raise ValueError(
                f"duration: {duration * 1e3:g} ms at {rate / 1e6:g} MHz is "
                f"{round(duration * rate) * BYTES_PER_SAMPLE / 1e6:.1f} MB; a capture is at most "
                f"{MAX_CAPTURE_BYTES / 1e6:g} MB ({most / rate * 1e3:.3g} ms at this rate)"
            )
        return IqSettings(rate, duration)
    period = FRAME_S_TDD if cell.tdd_pattern else FRAME_S_FDD
    if round(period * rate) <= most:
        return IqSettings(rate, period)
    slots = math.floor(most / rate / slot_s)
    if slots < 1:
        raise ValueError(
            f"sample_rate: a {MAX_CAPTURE_BYTES / 1e6:g} MB capture at {rate / 1e6:g} MHz is shorter "
            f"than one slot ({slot_s * 1e3:g} ms)"
        )
    return IqSettings(
        rate,
        slots * slot_s,
        f"{slots} slots instead of the {period * 1e3:g} ms test-model period: a capture is at most "
        f"{MAX_CAPTURE_BYTES / 1e6:g} MB",
    )


def _check_ofdm_rate(rate: float, scs: float, carrier_rb: int, bandwidth: float) -> None:
    """EVM and frequency error demodulate at the sample rate: it must be N x SCS with an FFT of N
    that holds the 12 N_RB subcarriers and has a TS 38.104 Annex B EVM window."""
    n = round(rate / scs)
    if abs(n * scs - rate) > 1e-6 * rate:
        raise ValueError(
            f"sample_rate: {rate / 1e6:g} MHz is not a whole multiple of the {scs / 1e3:g} kHz SCS"
        )
    if 12 * carrier_rb > n:
        raise ValueError(
            f"sample_rate: {rate / 1e6:g} MHz cannot hold the carrier's {12 * carrier_rb} subcarriers "
            f"(use {fft_size(carrier_rb) * scs / 1e6:g} MHz)"
        )
    try:
        evm_window(n, scs, bandwidth)
    except ValueError:
        raise ValueError(
            f"sample_rate: an FFT of {n} at {scs / 1e3:g} kHz has no EVM window in TS 38.104 Annex B "
            f"(use {fft_size(carrier_rb) * scs / 1e6:g} MHz)"
        ) from None


# --------------------------------------------------------------------------- the capture


@dataclass(frozen=True)
class Captured:
    """A saved capture read back, and the conditions it was taken under."""

    capture: IqCapture
    relative_path: str
    conditions: dict[str, Any]
    invalid: str | None


def _stem(ctx: MeasureContext, step: Any) -> Path:
    """A new file stem in captures/ (a retried attempt gets its own)."""
    stem = ctx.captures_dir / f"{step.index:04d}-{step.kind}"
    attempt = 1
    while (
        stem.with_name(stem.name + ".sigmf-meta").exists()
        or stem.with_name(stem.name + ".sigmf-data").exists()
    ):
        attempt += 1
        stem = ctx.captures_dir / f"{step.index:04d}-{step.kind}-{attempt}"
    return stem


def autolevel_duration_s(cell: Any) -> float:
    """How long autolevel measures: one slot-pattern period of a TDD carrier (it then holds DL
    symbols wherever it starts), one slot of an FDD one, s."""
    slot_s = 1e-3 * 15e3 / cell.scs
    return slot_s * (len(cell.tdd_pattern) if cell.tdd_pattern else 1)


def acquire(ctx: MeasureContext, step: Any) -> Captured:
    """Level, capture, save and read back one I/Q capture of the step's carrier."""
    from fivegbench.captures import read_capture, write_capture  # sigmf: only a run needs it

    analyzer = role(ctx, "analyzer", step.kind)
    cell = step.cell
    settings = iq_settings(step)
    loss = ctx.bench.bench.rf_path.loss_db(cell.center_frequency)
    autolevel = step.params.get("autolevel") is not False  # None (a spectral kind's default): on
    mean_input = cell.tx_power - loss  # the configured carrier's mean power at the analyzer, dBm
    level_note = None
    if autolevel:
        analyzer.center_frequency = cell.center_frequency
        reference = float(analyzer.autolevel(autolevel_duration_s(cell)))
        if reference < mean_input:  # a peak below the mean: it measured a TDD off period
            level_note = (
                f"autolevel chose {reference:g} dBm, below the carrier's {mean_input:g} dBm mean input "
                f"power (its measurement missed the DL symbols); {IQ_HEADROOM_DB:g} dB above that is used"
            )
            reference = mean_input + IQ_HEADROOM_DB
    else:
        reference = mean_input + IQ_HEADROOM_DB
    acquisition = analyzer.capture_iq(
        cell.center_frequency, settings.sample_rate_hz, settings.duration_s, reference
    )
    samples = acquisition.samples
    most = MAX_CAPTURE_BYTES // BYTES_PER_SAMPLE
    note = settings.note
    if samples.size > most:  # the analyzer returned more than asked: keep what a capture may hold
        samples = samples[:most]
        note = f"the analyzer returned {acquisition.samples.size} samples; the first {most} are kept (20 MB)"
    metadata: dict[str, object] = {
        "path_loss_db": loss,
        "bandwidth_hz": cell.bandwidth,
        "scs_hz": cell.scs,
        "reference_level_dbm": acquisition.reference_level_dbm,
        "attenuation_db": acquisition.attenuation_db,
        "overload": list(acquisition.overload),
    }
    if step.test_model is not None:
        metadata["test_model"] = step.test_model
    if cell.tdd_pattern:
        metadata["tdd_pattern"] = cell.tdd_pattern
        if cell.special_slot:
            metadata["special_slot"] = ":".join(map(str, cell.special_slot))
    description = f"{step.name}: {step.kind}, {step.test_model or 'no test model'}, {cell.tx_power:g} dBm"
    meta = write_capture(
        _stem(ctx, step),
        samples,
        acquisition.sample_rate_hz,
        acquisition.center_hz,
        IMPEDANCE_OHMS,
        description,
        metadata,
    )
    conditions: dict[str, Any] = {
        "source": "iq",
        "path_loss_db": loss,
        "sample_rate_hz": acquisition.sample_rate_hz,
        "center_hz": acquisition.center_hz,
        "samples": int(samples.size),
        "duration_s": samples.size / acquisition.sample_rate_hz,
        "reference_level_dbm": acquisition.reference_level_dbm,
        "attenuation_db": acquisition.attenuation_db,
        "autolevel": autolevel,
        "test_model": step.test_model,
    }
    if note:
        conditions["capture_note"] = note
    if level_note:
        conditions["level_note"] = level_note
    overload = acquisition.overload
    invalid = f"analyzer overload during the I/Q capture: {', '.join(overload)}" if overload else None
    return Captured(read_capture(meta), str(Path("captures") / meta.name), conditions, invalid)


def options_for(ctx: MeasureContext, step: Any) -> analyze.Options:
    """What ``analyze`` is told on the command line to reduce the step's capture as the run did:
    nothing for power, aclr, obw, evm and freq-error; the plan's band, category and BS class for
    sem (``--band n78 --category A --bs-class wa``)."""
    if step.kind != "rf.sem":
        return analyze.Options()
    dut = ctx.dut
    short = {long: code for code, long in analyze.BS_CLASSES.items()}
    return analyze.Options(
        category=(getattr(dut, "category", None) or "A"), bs_class=short[dut.bs_class], band=step.cell.band
    )


Reading = Callable[[dict[str, Any]], tuple[dict[str, float], dict[str, Any], str | None]]
"""An analysis result -> (values in the kind's units, conditions, why invalid or None)."""


def _measure(ctx: MeasureContext, step: Any, reading: Reading, units: Mapping[str, str]) -> Outcome:
    captured = acquire(ctx, step)
    cell = step.cell
    try:
        carrier = analyze.carrier_for(captured.capture, cell.bandwidth, cell.scs)
        result = analyze.ANALYSES[analysis_of(step)](captured.capture, carrier, options_for(ctx, step))
    except ValueError as exc:  # the capture cannot be reduced: say why, with no number
        why = f"{analysis_of(step)} not measurable from the capture: {exc}"
        return Outcome({}, captured.conditions, captured.invalid or why, captured.relative_path)
    values, conditions, invalid = reading(result)
    finite = {name: v for name, v in values.items() if math.isfinite(v)}
    return Outcome(
        values={name: Value(v, units[name]) for name, v in finite.items()},
        conditions=captured.conditions | conditions,
        invalid=captured.invalid or invalid,
        capture=captured.relative_path,
        intervals=_lower_bounds(finite, result) if analysis_of(step) == "evm" else {},
    )


def _lower_bounds(values: Mapping[str, float], result: Mapping[str, Any]) -> dict[str, Interval]:
    """Decision-directed EVM beyond its accurate range is biased low: the true EVM is at least the
    value, so each is judged as [value, inf) (fails above its limit, undecided below it)."""
    if result["reliable"]:
        return {}
    method = f"{result['note']}: biased low, the true EVM is at least the value"
    return {name: Interval(v, v, math.inf, 1, 1.0, method) for name, v in values.items()}


# --------------------------------------------------------------------------- the kinds


def _evm_reading(result: dict[str, Any]) -> tuple[dict[str, float], dict[str, Any], str | None]:
    values = {"evm_rms": result["evm_rms_pct"]}
    values |= {f"evm_{m}": v for m, v in result["evm_by_modulation_pct"].items()}
    if result["evm_per_slot_pct"]:
        values["evm_worst_slot"] = max(result["evm_per_slot_pct"])
    keep = (
        "evm_low_pct",
        "evm_high_pct",
        "evm_per_slot_pct",
        "window_samples",
        "fft_size",
        "decision_directed",
        "reliable",
        "note",
        "allocation_source",
        "allocation",
        "symbols_used",
    )
    return values, {k: result[k] for k in keep if k in result}, None


def rf_evm(ctx: MeasureContext, step: Any) -> Outcome:
    """EVM per PDSCH modulation of a TM3.x carrier (TS 38.104 §6.5.2, Annex B; test TS 38.141-1
    §6.6.2): RMS over the DL symbols of one test-model period at the worse of the two Annex B
    window positions (``evm_rms``, ``evm_<modulation>``) and the worst slot (``evm_worst_slot``)."""
    return _measure(ctx, step, _evm_reading, KINDS["rf.evm"].values)


def _freq_error_reading(result: dict[str, Any]) -> tuple[dict[str, float], dict[str, Any], str | None]:
    values = {"freq_error": result["freq_error_hz"], "freq_error_ppm": result["freq_error_ppm"]}
    keep = ("method", "allocation_source", "refinement", "observation_s")
    return values, {k: result[k] for k in keep if k in result}, None


def rf_freq_error(ctx: MeasureContext, step: Any) -> Outcome:
    """Carrier frequency error (TS 38.104 §6.5.1; test TS 38.141-1 §6.6.1), measured minus nominal,
    in Hz and in ppm of the carrier: the cyclic-prefix estimate refined over the test model's
    allocations (:func:`fivegbench.analyze.analyze_freq_error`)."""
    return _measure(ctx, step, _freq_error_reading, KINDS["rf.freq_error"].values)


def _power_reading(result: dict[str, Any]) -> tuple[dict[str, float], dict[str, Any], str | None]:
    conditions = {k: result[k] for k in ("measurement_bandwidth_hz", "resolution_hz")}
    return {"channel_power": result["channel_power_dbm"]}, conditions, None


def _aclr_reading(result: dict[str, Any]) -> tuple[dict[str, float], dict[str, Any], str | None]:
    values = {"channel_power": result["channel_power_dbm"]}
    values |= {f"aclr_{name}": v for name, v in result["aclr_db"].items()}
    values |= {f"adjacent_{name}_density": v for name, v in result["adjacent_dbm_per_mhz"].items()}
    conditions = {k: result[k] for k in ("measurement_bandwidth_hz", "resolution_hz", "not_covered")}
    return values, conditions, None


def _obw_reading(result: dict[str, Any]) -> tuple[dict[str, float], dict[str, Any], str | None]:
    conditions = {"obw_lower_hz": result["lower_hz"], "obw_upper_hz": result["upper_hz"]}
    return {"obw": result["obw_hz"]}, conditions | {"resolution_hz": result["resolution_hz"]}, None


def _sem_reading(result: dict[str, Any]) -> tuple[dict[str, float], dict[str, Any], str | None]:
    keep = ("mask", "worst_offset_hz", "worst_frequency_hz", "uncovered", "resolution_hz")
    invalid = None if result["complete"] else "the I/Q capture does not cover the whole OBUE region"
    return {"sem_margin": result["worst_margin_db"]}, {k: result[k] for k in keep}, invalid


_READINGS: dict[str, Reading] = {
    "power": _power_reading,
    "aclr": _aclr_reading,
    "obw": _obw_reading,
    "sem": _sem_reading,
}


def rf_spectrum(ctx: MeasureContext, step: Any) -> Outcome:
    """rf.power, rf.aclr, rf.obw or rf.sem with ``source: iq``: the capture's Welch spectrum
    (:mod:`fivegbench.reduce.spectrum`) through the same trace reducers as a swept trace, as
    ``analyze power|aclr|obw|sem`` computes it."""
    return _measure(ctx, step, _READINGS[analysis_of(step)], KINDS[step.kind].values)
