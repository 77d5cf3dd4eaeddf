"""Spectrum emission mask with emissions injected at known power just inside / outside the mask.

Swept traces are "brick" traces (each bin holds exactly the integral of the constructed PSD), so a
narrow spur of power P inside a measurement filter measures exactly P (plus the known floor). The
I/Q case injects a complex tone of known power next to a flat 40 dBm carrier.

Carrier: n41 (2496-2690 MHz, Δf_OBUE 40 MHz [U]), 10 MHz channel at 2685 MHz (channel edges 2680
and 2690 MHz), so the OBUE region is 2456-2730 MHz: f_offsetmax = 224 MHz below, 40 MHz above.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from fivegbench.nr.masks import Mask, MaskSegment, obue_mask
from fivegbench.nr.requirements import SpecNumber
from fivegbench.reduce.power import channel_power_dbm
from fivegbench.reduce.sem import SemResult, spectrum_emission_mask
from fivegbench.reduce.spectrum import iq_spectrum
from tests.reduce.test_obw import DF, ENBW, brick_trace, grid
from tests.reduce.test_spectrum import FS, N, R, rect, synth_iq, tone_freqs

FC = 2685e6
BW = 10e6
BW_CFG = 9.36e6
LOW_EDGE, HIGH_EDGE = FC - BW / 2, FC + BW / 2
FLOOR = 1e-13  # mW/Hz = -130 dBm/Hz: -80 dBm in 100 kHz, -70 dBm in 1 MHz
MASK_A = obue_mask("A", band="n41", frequency_hz=FC)
MASK_B = obue_mask("B", band="n41", frequency_hz=FC)
TT = 1.5


def swept(
    spurs: list[tuple[float, float]], lo: float = 2455e6, hi: float = 2731e6
) -> tuple[np.ndarray, np.ndarray]:
    """Brick trace: 40 dBm carrier over BW_Config, a floor, and 10 kHz wide spurs [(f Hz, dBm)]."""
    f = grid(lo, hi)
    bands = [(FC - BW_CFG / 2, FC + BW_CFG / 2, 1e4 / BW_CFG), (lo - DF, hi + DF, FLOOR)]
    bands += [(fs - 5e3, fs + 5e3, 10 ** (p / 10) / 10e3) for fs, p in spurs]
    return f, brick_trace(f, bands)


def run(f: np.ndarray, trace: np.ndarray, mask: Mask = MASK_A) -> SemResult:
    return spectrum_emission_mask(f, trace, DF, ENBW, FC, BW, mask)


def db_sum(*dbm: float) -> float:
    return 10 * math.log10(sum(10 ** (x / 10) for x in dbm))


def test_clean_carrier_passes_with_full_coverage() -> None:
    res = run(*swept([]))
    assert res.passed and res.complete and res.uncovered == ()
    assert res.mask_unverified and res.tolerance_unverified
    assert res.test_tolerance_db == TT
    # only the floor outside the channel: -80 dBm/100 kHz (margin 66 dB), -70 dBm/MHz (57 dB)
    assert res.worst_margin_db == pytest.approx(-13.0 - (-70.0), abs=1e-6)
    assert res.lower[1].worst_margin_db == pytest.approx(-14.0 - (-80.0), abs=1e-6)
    assert res.worst_offset_hz < -10e6  # some 1 MHz position below the carrier (the floor is flat)
    assert [s.coverage for s in res.lower] == ["full"] * 3
    assert [s.coverage for s in res.upper] == ["full"] * 3
    assert res.lower[2].offset_stop_hz == pytest.approx(224e6)
    assert res.upper[2].offset_stop_hz == pytest.approx(40e6)
    assert res.values() == {"sem_worst_margin": res.worst_margin_db}


@pytest.mark.parametrize(
    ("spur_dbm", "margin", "passed"),
    [
        (-15.0, 1.0, True),  # 1 dB inside the minimum requirement
        (-13.0, -1.0, True),  # 1 dB outside the minimum requirement, 0.5 dB inside limit + TT
        (-14.0 + TT + 1.0, -1.0 - TT, False),  # 1 dB outside the test requirement
        (-14.0 + TT - 1.0, 1.0 - TT, True),  # 1 dB inside the test requirement
    ],
)
@pytest.mark.parametrize("side", [-1, 1])
def test_flat_segment_spur(spur_dbm: float, margin: float, passed: bool, side: int) -> None:
    """Spur at f_offset 7 MHz (segment 2, -14 dBm/100 kHz) below or above the carrier."""
    f_spur = FC + side * (BW / 2 + 7e6)
    res = run(*swept([(f_spur, spur_dbm)]))
    truth = -14.0 - db_sum(spur_dbm, -80.0)  # the filter holds the whole spur plus 100 kHz of floor
    assert truth == pytest.approx(margin, abs=1e-4)
    assert res.worst_margin_db == pytest.approx(truth, abs=1e-6)
    assert res.worst_test_margin_db == pytest.approx(truth + TT, abs=1e-6)
    assert res.passed is passed
    assert res.worst_offset_hz == pytest.approx(side * 7e6, abs=50e3)
    assert res.worst_frequency_hz == pytest.approx(f_spur, abs=50e3)
    seg = (res.lower if side < 0 else res.upper)[1]
    assert seg.worst_margin_db == res.worst_margin_db
    assert seg.worst_limit_dbm == -14.0


@pytest.mark.parametrize("offset", [0.4e6, 2.05e6, 4.6e6])
def test_sloped_segment_spur(offset: float) -> None:
    """Segment 1: limit -7 - 1.4·(f_offset/MHz - 0.05). Spur 1 dB below the limit at its offset.

    The filter that holds the whole spur may sit up to 45 kHz further out, where the limit is up
    to 1.4 dB/MHz x 45 kHz = 0.063 dB lower; so the margin is 1 dB within that.
    """
    limit = -7.0 - 1.4 * (offset / 1e6 - 0.05)
    res = run(*swept([(HIGH_EDGE + offset, limit - 1.0)]))
    assert res.passed
    assert res.worst_margin_db == pytest.approx(1.0, abs=0.07)
    assert res.worst_offset_hz == pytest.approx(offset, abs=50e3)
    res = run(*swept([(HIGH_EDGE + offset, limit + TT + 1.0)]))
    assert not res.passed
    assert res.worst_test_margin_db == pytest.approx(-1.0, abs=0.07)


def test_far_segment_category_a_and_b() -> None:
    """-12 dBm at f_offset 100 MHz below: Cat A (-13 dBm/MHz) margin -1, Cat B (-15) margin -3."""
    f, trace = swept([(LOW_EDGE - 100e6, -12.0)])
    truth = db_sum(-12.0, -70.0)
    res_a, res_b = run(f, trace, MASK_A), run(f, trace, MASK_B)
    assert res_a.worst_margin_db == pytest.approx(-13.0 - truth, abs=1e-6)
    assert res_a.passed  # within limit + 1.5 dB TT
    assert res_b.worst_margin_db == pytest.approx(-15.0 - truth, abs=1e-6)
    assert not res_b.passed
    for res in (res_a, res_b):
        assert res.worst_offset_hz == pytest.approx(-100e6, abs=0.5e6)
        assert res.lower[2].measurement_bandwidth_hz == 1e6


def test_window_power_equals_channel_power() -> None:
    """The sliding integral is exactly channel_power_dbm over the same filter."""
    f, trace = swept([(LOW_EDGE - 3.3e6, -20.0), (HIGH_EDGE + 12.345e6, -30.0)])
    res = run(f, trace)
    for seg in (*res.lower, *res.upper):
        side = -1.0 if seg.side == "lower" else 1.0
        steps = np.diff(np.abs(seg.offsets_hz))
        assert np.all(steps <= min(DF, seg.measurement_bandwidth_hz / 2) * (1 + 1e-9))
        assert np.abs(seg.offsets_hz[0]) == seg.offset_start_hz
        assert np.abs(seg.offsets_hz[-1]) < seg.offset_stop_hz
        for k in np.linspace(0, seg.n_evaluated - 1, 7).astype(int):
            centre = FC + side * BW / 2 + seg.offsets_hz[k]
            want = channel_power_dbm(f, trace, DF, ENBW, centre, seg.measurement_bandwidth_hz)
            assert seg.power_dbm[k] == pytest.approx(want, abs=1e-9)
            assert seg.limit_dbm[k] == pytest.approx(
                float(MASK_A.segments[seg.index].limit_dbm(abs(seg.offsets_hz[k])))
            )


def test_partial_span_reports_uncovered_segments() -> None:
    f, trace = swept([(HIGH_EDGE + 7e6, -13.0)], lo=FC - 20e6, hi=FC + 20e6)
    res = run(f, trace)
    assert not res.complete
    assert [s.coverage for s in res.upper] == ["full", "full", "partial"]
    assert res.upper[2].n_evaluated > 0
    assert len(res.uncovered) == 2 and all("segment 2" in u and "partial" in u for u in res.uncovered)
    assert res.passed  # nothing evaluated fails (-13 dBm is within -14 + 1.5)
    f, trace = swept([], lo=FC - 10.08e6, hi=FC + 10.08e6)  # segment 1 just fits
    res = run(f, trace)
    assert [s.coverage for s in res.upper] == ["full", "none", "none"]
    assert [s.n_evaluated for s in res.upper[1:]] == [0, 0]
    assert math.isnan(res.upper[2].worst_margin_db)


def test_carrier_at_band_edge_of_narrow_band_clips_segments() -> None:
    """n1 (DL 2110-2170 MHz, Δf_OBUE 10 MHz [U]): at 2165 MHz f_offsetmax above is 10 MHz."""
    mask = obue_mask("A", band="n1")
    fc = 2165e6
    f = grid(2095e6, 2185e6)
    trace = brick_trace(f, [(fc - BW_CFG / 2, fc + BW_CFG / 2, 1e4 / BW_CFG), (2000e6, 2200e6, FLOOR)])
    res = spectrum_emission_mask(f, trace, DF, ENBW, fc, BW, mask)
    assert res.upper[1].offset_stop_hz == pytest.approx(10e6)
    assert res.upper[2].coverage == "empty" and res.upper[2].n_evaluated == 0
    assert res.lower[2].offset_stop_hz == pytest.approx(2160e6 - 2100e6)
    assert res.complete and res.passed


def test_mask_without_region_is_open_ended() -> None:
    tt = SpecNumber("tt", 0.0, "dB", "-", "V", "test")
    mask = Mask("flat", (MaskSegment(0.5e6, math.inf, -20.0, -20.0, 1e6, "V", "V"),), tt, "-", "test")
    f, trace = swept([(HIGH_EDGE + 30e6, -19.0)], lo=FC - 50e6, hi=FC + 50e6)
    res = run(f, trace, mask)
    assert not res.complete and not res.passed
    assert res.worst_offset_hz == pytest.approx(30e6, abs=0.5e6)
    assert res.upper[0].coverage == "partial"


def test_errors() -> None:
    f, trace = swept([])
    with pytest.raises(ValueError, match="outside the OBUE region"):
        spectrum_emission_mask(f - FC, trace, DF, ENBW, 0.0, BW, MASK_A)  # baseband axis, band mask
    with pytest.raises(ValueError, match="channel_bandwidth_hz"):
        spectrum_emission_mask(f, trace, DF, ENBW, FC, 0.0, MASK_A)
    g = grid(FC - 4e6, FC + 4e6)
    with pytest.raises(ValueError, match="nothing to judge"):
        spectrum_emission_mask(g, brick_trace(g, [(g[0], g[-1], FLOOR)]), DF, ENBW, FC, BW, MASK_A)


# --- I/Q --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spur_dbm", "margin", "passed"),
    [(-15.0, 1.0, True), (-13.0, -1.0, True), (-14.0 + TT + 1.0, -1.0 - TT, False)],
)
def test_iq_spur_next_to_carrier(spur_dbm: float, margin: float, passed: bool) -> None:
    """40 dBm flat carrier + a tone at f_offset 7 MHz below the channel (baseband -12 MHz)."""
    iq, _ = synth_iq([(rect(tone_freqs(), -BW_CFG / 2, BW_CFG / 2), 10.0)], seed=21)
    f_tone = -(BW / 2 + 7e6) + 3.3e3  # off the bin grid
    amp = math.sqrt(10 ** (spur_dbm / 10) / 1e3 * R)
    iq = iq + amp * np.exp(2j * np.pi * f_tone * np.arange(N) / FS)
    s = iq_spectrum(iq, FS, resolution_hz=10e3)
    res = spectrum_emission_mask(s.freqs_hz + FC, s.power_dbm, s.rbw_hz, s.enbw_factor, FC, BW, MASK_A)
    assert res.worst_margin_db == pytest.approx(margin, abs=0.05)
    assert res.passed is passed
    assert res.worst_offset_hz == pytest.approx(-7e6, abs=50e3)
    assert not res.complete  # ±30.72 MHz does not reach f_offsetmax (224 / 40 MHz)
    assert [s.coverage for s in res.lower] == ["full", "full", "partial"]
