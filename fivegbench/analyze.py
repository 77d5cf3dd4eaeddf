"""``fivegbench analyze``: the reducers applied to one SigMF I/Q capture.

The carrier is assumed centred on the capture (``core:frequency`` of the first capture
segment). Each analysis returns a JSON-ready dict; absolute powers are dBm when the capture
carries the fivegbench absolute scale, else dBFS (dB re |x|² = 1) with ``absolute`` false.

A capture a run saved (:mod:`fivegbench.measure.rf_iq`) carries ``fivegbench:`` keys
(:mod:`fivegbench.captures`) that make ``analyze`` reproduce the run's value from the file:
powers are referred to the antenna connector with its ``path_loss_db``, and ``evm`` and
``freq-error`` measure the PDSCH allocations of its ``test_model``. A run reduces its capture with
these same functions, read back from the saved file, so the two agree exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from fivegbench.nr.bands import bands_for_frequency
from fivegbench.nr.bandwidth import FR1_MAX_HZ, n_rb

# The reducers (scipy.signal, the EVM receiver) are imported by the analysis that uses them:
# the command line imports this module for the analysis names and must start fast.
if TYPE_CHECKING:
    from fivegbench.captures import IqCapture
    from fivegbench.nr.masks import Mask
    from fivegbench.reduce.sem import SemResult
    from fivegbench.reduce.spectrum import IqSpectrum

BS_CLASSES = {"wa": "wide_area", "mr": "medium_range", "la": "local_area"}
MODULATIONS = ("qpsk", "16qam", "64qam", "256qam")


@dataclass(frozen=True)
class Carrier:
    """The NR carrier a capture is analysed as."""

    bandwidth_hz: float
    scs_hz: float
    n_rb: int

    @property
    def config_bandwidth_hz(self) -> float:
        return self.n_rb * 12 * self.scs_hz


@dataclass(frozen=True)
class Options:
    modulation: str | None = None
    category: str = "A"
    bs_class: str = "wa"
    band: str | None = None
    allocation: str | None = None  # "auto": find the PDSCH allocations from the energy


def carrier_for(capture: IqCapture, bandwidth_hz: float, scs_hz: float) -> Carrier:
    """Raises ValueError for a bandwidth/SCS pair TS 38.104 does not define."""
    return Carrier(bandwidth_hz, scs_hz, n_rb(bandwidth_hz, scs_hz, fr2=capture.center_hz > FR1_MAX_HZ))


def _common(capture: IqCapture, carrier: Carrier, spectrum: IqSpectrum | None = None) -> dict[str, Any]:
    common: dict[str, Any] = {
        "capture": str(capture.path),
        "center_hz": capture.center_hz,
        "sample_rate_hz": capture.sample_rate_hz,
        "samples": int(capture.iq.size),
        "bandwidth_hz": carrier.bandwidth_hz,
        "scs_hz": carrier.scs_hz,
        "n_rb": carrier.n_rb,
        "absolute": capture.absolute,
        "power_unit": "dBm" if capture.absolute else "dBFS",
    }
    if spectrum is not None:
        common["resolution_hz"] = spectrum.rbw_hz
        if "tdd_pattern" in capture.metadata:
            common["gated"] = "transmit-on periods (TDD)"
    if "path_loss_db" in capture.metadata:  # powers are at the antenna connector
        common["path_loss_db"] = capture.path_loss_db
    if "test_model" in capture.metadata:
        common["test_model"] = capture.metadata["test_model"]
    return common


GATE_BELOW_PEAK_DB = 20.0
"""A TDD capture transmits where its power over one OFDM symbol is within this many dB of the
strongest symbol's [U: a test model's DL symbols differ by well under 10 dB; in guard and UL
symbols only the noise, 60 dB and more down, is left]."""


def _transmit_on(capture: IqCapture, carrier: Carrier) -> list[tuple[int, int]]:
    """Sample ranges [start, stop) in which a TDD capture's carrier transmits, each one symbol
    clear of its on/off edges (so no spectrum segment straddles an edge, whose splatter a gated
    measurement excludes)."""
    import numpy as np

    x = capture.iq
    symbol = max(1, round(capture.sample_rate_hz / carrier.scs_hz))
    if x.size <= 4 * symbol:
        return [(0, x.size)]
    cumulative = np.concatenate(
        ([0.0], np.cumsum(x.real.astype(np.float64) ** 2 + x.imag.astype(np.float64) ** 2))
    )
    mean = (cumulative[symbol:] - cumulative[:-symbol]) / symbol  # over [i, i + symbol)
    on = np.concatenate(([False], mean >= mean.max() * 10 ** (-GATE_BELOW_PEAK_DB / 10), [False]))
    edges = np.flatnonzero(np.diff(on.astype(np.int8)))
    # a window start is "on" from ~1 symbol before the burst to its end: keep 1 symbol clear each side
    return [(int(a) + 2 * symbol, int(b) - symbol) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def _spectrum(capture: IqCapture, carrier: Carrier) -> IqSpectrum:
    """The capture's spectrum, powers referred to the antenna connector (+ its path loss).

    A TDD capture (``fivegbench:tdd_pattern``) is gated to its transmit-on periods, as a gated
    swept measurement is: the power is that of the DL symbols, not diluted by the UL and guard
    periods. Each period's Welch spectrum counts by its length."""
    import numpy as np

    from fivegbench.reduce.spectrum import DEFAULT_NFFT, iq_spectrum

    def spectrum_of(start: int, stop: int) -> IqSpectrum:
        return iq_spectrum(capture.iq[start:stop], capture.sample_rate_hz, capture.impedance_ohms)

    if "tdd_pattern" not in capture.metadata:
        spectrum = spectrum_of(0, capture.iq.size)
    else:
        runs = [(a, b) for a, b in _transmit_on(capture, carrier) if b - a >= DEFAULT_NFFT]
        if not runs:
            raise ValueError("the TDD capture has no transmit-on period long enough for a spectrum")
        parts = [spectrum_of(a, b) for a, b in runs]
        weights = np.array([b - a for a, b in runs], dtype=np.float64)
        linear = np.stack([10 ** (p.power_dbm / 10) for p in parts])
        with np.errstate(divide="ignore"):
            power = 10 * np.log10(weights @ linear / weights.sum())
        spectrum = replace(parts[0], power_dbm=power, n_segments=sum(p.n_segments for p in parts))
    if not capture.path_loss_db:
        return spectrum
    return replace(spectrum, power_dbm=spectrum.power_dbm + capture.path_loss_db)


def analyze_power(capture: IqCapture, carrier: Carrier, options: Options) -> dict[str, Any]:
    from fivegbench.reduce.power import channel_power_dbm

    spectrum = _spectrum(capture, carrier)
    power = channel_power_dbm(
        spectrum.freqs_hz,
        spectrum.power_dbm,
        spectrum.rbw_hz,
        spectrum.enbw_factor,
        0.0,
        carrier.config_bandwidth_hz,
    )
    return _common(capture, carrier, spectrum) | {
        "channel_power_dbm": power,
        "measurement_bandwidth_hz": carrier.config_bandwidth_hz,
    }


def analyze_aclr(capture: IqCapture, carrier: Carrier, options: Options) -> dict[str, Any]:
    from fivegbench.reduce.aclr import aclr

    spectrum = _spectrum(capture, carrier)
    result = aclr(
        spectrum.freqs_hz,
        spectrum.power_dbm,
        spectrum.rbw_hz,
        spectrum.enbw_factor,
        0.0,
        carrier.bandwidth_hz,
        carrier.config_bandwidth_hz,
        covered_only=True,
    )
    return _common(capture, carrier, spectrum) | {
        "channel_power_dbm": result.carrier_dbm,
        "aclr_db": {c.name: c.aclr_db for c in result.adjacent},
        "adjacent_dbm_per_mhz": {c.name: c.density_dbm_per_mhz for c in result.adjacent},
        "not_covered": list(result.not_covered),
        "measurement_bandwidth_hz": carrier.config_bandwidth_hz,
    }


def analyze_obw(capture: IqCapture, carrier: Carrier, options: Options) -> dict[str, Any]:
    from fivegbench.reduce.obw import occupied_bandwidth

    spectrum = _spectrum(capture, carrier)
    result = occupied_bandwidth(spectrum.freqs_hz, spectrum.power_dbm, spectrum.rbw_hz, spectrum.enbw_factor)
    return _common(capture, carrier, spectrum) | {
        "obw_hz": result.obw_hz,
        "lower_hz": result.lower_hz,
        "upper_hz": result.upper_hz,
        "within_channel_bandwidth": result.obw_hz <= carrier.bandwidth_hz,
    }


def _band_for(capture: IqCapture, options: Options) -> tuple[str | None, bool]:
    """The operating band: as given, or the one the centre frequency lies in. Where bands
    overlap (n77/n78), the narrowest is assumed; it only changes where the mask region ends,
    far outside a capture's span. None when the frequency is in no NR downlink band.
    Returns (band, assumed)."""
    if options.band is not None:
        return options.band, False
    found = bands_for_frequency(capture.center_hz, "dl")
    if not found:
        return None, True
    narrowest = min(found, key=lambda b: b.dl_width_hz or 0.0)
    return narrowest.name, len(found) > 1


def _mask_for(capture: IqCapture, options: Options, band: str | None) -> tuple[Mask, bool]:
    """The band's OBUE mask, or (when the frequency is in no band, or in one whose table is not
    encoded) the Wide Area > 1 GHz levels with the region left open so the segments run as far
    as the capture reaches. Returns (mask, generic)."""
    from fivegbench.nr.masks import OBUE_BANDS_ABOVE_1GHZ, obue_mask

    bs_class = BS_CLASSES[options.bs_class]
    if band is not None and (options.band is not None or band in OBUE_BANDS_ABOVE_1GHZ):
        return obue_mask(options.category, bs_class, band=band, frequency_hz=capture.center_hz), False
    if capture.center_hz <= 1e9:
        raise ValueError(f"no OBUE mask is encoded at {capture.center_hz / 1e6:.3f} MHz (only > 1 GHz)")
    template = obue_mask(options.category, bs_class, band="n78")
    label = f"{band}, levels of the > 1 GHz table" if band else "no band"
    generic = replace(
        template,
        name=template.name.replace("(n78)", f"({label}; region open)"),
        region_low_hz=None,
        region_high_hz=None,
        delta_f_obue=None,
    )
    return generic, True


def analyze_sem(capture: IqCapture, carrier: Carrier, options: Options) -> dict[str, Any]:
    from fivegbench.reduce.sem import spectrum_emission_mask

    spectrum = _spectrum(capture, carrier)
    band, assumed = _band_for(capture, options)
    mask, generic = _mask_for(capture, options, band)
    result = spectrum_emission_mask(
        spectrum.freqs_hz + capture.center_hz,  # masks are tied to the band: RF frequencies
        spectrum.power_dbm,
        spectrum.rbw_hz,
        spectrum.enbw_factor,
        capture.center_hz,
        carrier.bandwidth_hz,
        mask,
    )
    # "pass" is against the TS 38.104 mask itself (the minimum requirement): the test tolerance
    # that would relax it is unverified [U], so it is reported beside, not used.
    undecided = _why_undecided(capture.absolute, result)
    return _common(capture, carrier, spectrum) | {
        "worst_margin_db": result.worst_margin_db,
        "worst_offset_hz": result.worst_offset_hz,  # f_offset from the channel edge, signed
        "worst_frequency_hz": result.worst_frequency_hz,
        "pass": _mask_pass(result.worst_margin_db >= 0, capture.absolute, undecided),
        "note": undecided,
        "test_tolerance_db": result.test_tolerance_db,
        "worst_test_margin_db": result.worst_test_margin_db,
        "pass_with_test_tolerance": _mask_pass(result.passed, capture.absolute, undecided),
        "complete": result.complete,
        "uncovered": [str(segment) for segment in result.uncovered],
        "mask": mask.name,
        "band": band,
        "band_assumed": assumed,
        "mask_generic": generic,
        "mask_unverified": mask.unverified,
        "category": options.category,
        "bs_class": BS_CLASSES[options.bs_class],
    }


def _why_undecided(absolute: bool, result: SemResult) -> str:
    """Why an absolute mask cannot be judged on this spectrum, or "" when it can."""
    reasons = []
    if not absolute:
        reasons.append(
            "no absolute scale (dBFS): the mask's limits are dBm; the capture needs "
            "fivegbench:iq_units and fivegbench:impedance_ohms"
        )
    if result.uncovered:
        to_measure = sum(1 for s in result.lower + result.upper if s.coverage != "empty")
        reasons.append(
            f"the span misses part of the mask: {len(result.uncovered)} of {to_measure} "
            "segments not fully measured (see uncovered)"
        )
    return "; ".join(reasons)


def _mask_pass(passed: bool, absolute: bool, why_undecided: str) -> bool | None:
    """A position above the mask fails an absolute spectrum even where the sweep is incomplete;
    nothing passes while anything is undecided, and nothing at all is decided in dBFS."""
    if absolute and not passed:
        return False
    return None if why_undecided else True


def _test_model_allocation(capture: IqCapture, carrier: Carrier) -> tuple[Any, int]:
    """The PDSCH allocations EVM measures in the test model the capture names
    (``fivegbench:test_model``, in its ``tdd_pattern``/``special_slot``), and the slots after which
    they repeat. Raises ValueError for an unknown model or pattern."""
    from fivegbench.reduce.allocation import allocations_for_test_model

    meta = capture.metadata
    pattern = allocations_for_test_model(
        str(meta["test_model"]),
        carrier.n_rb,
        carrier.scs_hz,
        meta.get("tdd_pattern"),
        meta.get("special_slot"),
    )
    return pattern.allocations, pattern.frame_slots


def evm_result(capture: IqCapture, carrier: Carrier, options: Options) -> tuple[Any, str]:
    """The EVM result and where its allocation came from: the options, else the capture's test
    model. Raises ValueError when neither says what to measure."""
    from fivegbench.reduce.evm import evm

    frame_slots = 1
    if options.allocation == "auto":
        allocation: Any = "auto"
        source = "detected from the energy (--allocation auto)"
    elif "test_model" in capture.metadata:
        allocation, frame_slots = _test_model_allocation(capture, carrier)
        source = f"the PDSCH of {capture.metadata['test_model']} (fivegbench:test_model)"
    elif options.modulation is not None:
        allocation, source = None, "every PRB and symbol (--modulation)"
    else:
        raise ValueError(
            "evm needs --modulation (qpsk, 16qam, 64qam or 256qam), --allocation auto, or a capture "
            "that names its test model (fivegbench:test_model)"
        )
    result = evm(
        capture.iq,
        capture.sample_rate_hz,
        carrier.scs_hz,
        carrier.n_rb,
        options.modulation,
        allocation=allocation,
        frame_slots=frame_slots,
        bandwidth_hz=carrier.bandwidth_hz,
    )
    return result, source


def analyze_evm(capture: IqCapture, carrier: Carrier, options: Options) -> dict[str, Any]:
    result, source = evm_result(capture, carrier, options)
    out = _common(capture, carrier) | {
        "evm_rms_pct": result.evm_rms_pct,
        "evm_by_modulation_pct": {m.lower(): v for m, v in result.evm_by_modulation_pct.items()},
        "evm_low_pct": result.evm_low_pct,
        "evm_high_pct": result.evm_high_pct,
        "evm_per_slot_pct": list(result.evm_per_slot_pct),
        "freq_error_hz": result.freq_error_hz,
        "modulation": options.modulation or result.modulation.lower(),
        "decision_directed": result.decision_directed,
        "reliable": result.reliable,
        "note": "" if result.reliable else "decision-directed estimate beyond the range it is accurate in",
        "window_samples": result.window_samples,
        "fft_size": result.fft_size,
    }
    if result.allocations:
        out["allocation_source"] = source
        out["allocation"] = [
            a.describe() | {"modulation": str(a.modulation).lower()} for a in result.allocations
        ]
        out["symbols_used"] = list(result.used_symbols)
    return out


def detect_modulation(capture: IqCapture, carrier: Carrier) -> str | None:
    """The lowest-order modulation whose decision-directed EVM is reliable, or None.

    A constellation denser than the signal's also slices it closely, so the lowest order that
    fits is the signal's own; a sparser one leaves a large error and is rejected.
    """
    from fivegbench.reduce.evm import evm

    for modulation in MODULATIONS:
        try:
            result = evm(capture.iq, capture.sample_rate_hz, carrier.scs_hz, carrier.n_rb, modulation)
        except ValueError:  # not a full single-modulation allocation: nothing to detect
            return None
        if result.reliable:
            return modulation
    return None


def analyze_freq_error(capture: IqCapture, carrier: Carrier, options: Options) -> dict[str, Any]:
    from fivegbench.reduce.freq_error import frequency_error, ppm

    common = _common(capture, carrier)
    if "test_model" in capture.metadata:
        # the test model's allocation known: the EVM receiver refines the CP estimate with the
        # common-phase slope of every demodulated symbol (to a small fraction of a Hz)
        try:
            result, source = evm_result(capture, carrier, replace(options, modulation=None))
        except ValueError as exc:
            common["refinement"] = f"not possible ({exc}): cyclic prefix only"
        else:
            return common | {
                "freq_error_hz": result.freq_error_hz,
                "freq_error_ppm": ppm(result.freq_error_hz, capture.center_hz),
                "method": "cp+data",
                "allocation_source": source,
                "modulation": result.modulation.lower(),
                "modulation_detected": False,
                "observation_s": capture.iq.size / capture.sample_rate_hz,
            }
    # The cyclic prefix alone scatters by a few Hz on a noisy capture; the data refine it to a
    # fraction of a Hz when the modulation is known (given, or detected when the capture is a
    # full single-modulation allocation).
    modulation = options.modulation or detect_modulation(capture, carrier)
    result_cp = frequency_error(
        capture.iq,
        capture.sample_rate_hz,
        carrier.scs_hz,
        n_rb=carrier.n_rb if modulation else None,
        modulation=modulation,
    )
    return common | {
        "freq_error_hz": result_cp.freq_error_hz,
        "freq_error_ppm": ppm(result_cp.freq_error_hz, capture.center_hz),
        "method": result_cp.method,
        "modulation": modulation,
        "modulation_detected": options.modulation is None and modulation is not None,
        "observation_s": result_cp.observation_s,
    }


ANALYSES: dict[str, Callable[[IqCapture, Carrier, Options], dict[str, Any]]] = {
    "power": analyze_power,
    "aclr": analyze_aclr,
    "obw": analyze_obw,
    "sem": analyze_sem,
    "evm": analyze_evm,
    "freq-error": analyze_freq_error,
}
