"""ACLR against synthetic traces with injected adjacent-channel power known by construction."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from fivegbench.nr.bandwidth import config_bandwidth_hz
from fivegbench.reduce.aclr import AclrResult, aclr
from tests.signals.swept import ENBW_FACTOR, grid, synth_trace

FC = 3.5e9
NAMES = ("lower1", "upper1", "lower2", "upper2")
KS = (-1, 1, -2, 2)


def db_sum(*dbm: float) -> float:
    return 10 * math.log10(sum(10 ** (x / 10) for x in dbm))


def scenario(
    bw_ch: float,
    scs: float,
    rbw: float,
    step: float,
    carrier_dbm: float,
    aclr_db: dict[str, float],
    noise: float | None,
    gamma_k: float | None = None,
    seed: int = 0,
    shift: float = 0.0,
) -> tuple[AclrResult, float, dict[str, float]]:
    """Carrier rect over BW_Config plus adjacent rects at the injected ratios.

    Returns the reducer's result, the true carrier power and the true ACLR per channel (both
    including the noise inside each BW_Config window).
    """
    bw_cfg = config_bandwidth_hz(bw_ch, scs)
    f = grid(FC, 4 * bw_ch + bw_cfg + 4 * step, step, shift)
    rects = [(FC, bw_cfg, carrier_dbm)]
    rects += [(FC + k * bw_ch, bw_cfg, carrier_dbm - aclr_db[n]) for n, k in zip(NAMES, KS, strict=True)]
    trace = synth_trace(f, rbw, rects, noise, gamma_k, seed)
    noise_in_bw = [] if noise is None else [noise + 10 * math.log10(bw_cfg)]
    true_carrier = db_sum(carrier_dbm, *noise_in_bw)
    truth = {n: true_carrier - db_sum(carrier_dbm - aclr_db[n], *noise_in_bw) for n in NAMES}
    return aclr(f, trace, rbw, ENBW_FACTOR, FC, bw_ch, bw_cfg), true_carrier, truth


INJECTED = {"lower1": 46.0, "upper1": 50.0, "lower2": 55.0, "upper2": 60.0}


@pytest.mark.parametrize(
    ("bw_ch", "scs", "rbw", "step"),
    [(20e6, 30e3, 100e3, 50e3), (100e6, 30e3, 300e3, 250e3), (10e6, 15e3, 30e3, 25e3)],
)
def test_injected_aclr_noise_free(bw_ch: float, scs: float, rbw: float, step: float) -> None:
    res, carrier, truth = scenario(bw_ch, scs, rbw, step, 43.0, INJECTED, None)
    assert res.carrier_dbm == pytest.approx(carrier, abs=0.05)
    for ch in res.adjacent:
        assert ch.aclr_db == pytest.approx(truth[ch.name], abs=0.1), ch.name
        assert ch.power_dbm == pytest.approx(43.0 - INJECTED[ch.name], abs=0.05), ch.name


def test_injected_aclr_with_noise() -> None:
    # noise -95 dBm/Hz is -22.4 dBm in 18.36 MHz: comparable to the 2nd adjacent channels
    res, carrier, truth = scenario(20e6, 30e3, 100e3, 50e3, 30.0, INJECTED, -95.0)
    assert res.carrier_dbm == pytest.approx(carrier, abs=0.05)
    assert truth["upper2"] < 55.0  # the noise really matters in this scenario
    for ch in res.adjacent:
        assert ch.aclr_db == pytest.approx(truth[ch.name], abs=0.1), ch.name


@pytest.mark.parametrize("seed", range(4))
def test_injected_aclr_with_fluctuations(seed: int) -> None:
    res, carrier, truth = scenario(20e6, 30e3, 30e3, 25e3, 40.0, INJECTED, -110.0, gamma_k=20.0, seed=seed)
    assert res.carrier_dbm == pytest.approx(carrier, abs=0.1)
    for ch in res.adjacent:
        assert ch.aclr_db == pytest.approx(truth[ch.name], abs=0.1), ch.name


def test_point_alignment_does_not_move_aclr() -> None:
    by_shift = [
        scenario(20e6, 30e3, 100e3, 70e3, 43.0, INJECTED, -120.0, shift=s)[0] for s in (0.0, 0.3, 0.5, 0.9)
    ]
    for name in NAMES:
        vals = [r.channel(name).aclr_db for r in by_shift]
        assert max(vals) - min(vals) < 0.01, name


def test_density_conversion_exact() -> None:
    res, _, _ = scenario(100e6, 30e3, 300e3, 250e3, 46.0, INJECTED, -130.0)
    for ch in res.adjacent:
        assert ch.density_dbm_per_mhz == pytest.approx(ch.power_dbm - 10 * math.log10(98.28), abs=1e-12)


def test_density_of_flat_noise_is_noise_density_per_mhz() -> None:
    bw_ch, bw_cfg = 20e6, config_bandwidth_hz(20e6, 30e3)
    f = grid(FC, 4 * bw_ch + bw_cfg + 1e6, 50e3)
    trace = synth_trace(f, 100e3, [], noise_dbm_per_hz=-150.0)
    res = aclr(f, trace, 100e3, ENBW_FACTOR, FC, bw_ch, bw_cfg)
    for ch in res.adjacent:
        assert ch.density_dbm_per_mhz == pytest.approx(-150.0 + 60.0, abs=1e-9)
        assert ch.aclr_db == pytest.approx(0.0, abs=1e-9)


def test_offsets_names_and_values() -> None:
    res, _, _ = scenario(20e6, 30e3, 100e3, 50e3, 43.0, INJECTED, None)
    assert [ch.name for ch in res.adjacent] == list(NAMES)
    assert [ch.offset_hz for ch in res.adjacent] == [-20e6, 20e6, -40e6, 40e6]
    assert res.config_bandwidth_hz == pytest.approx(18.36e6)
    values = res.values()
    assert values["carrier_power"] == res.carrier_dbm
    for ch in res.adjacent:
        assert values[f"aclr_{ch.name}"] == ch.aclr_db
        assert values[f"adjacent_{ch.name}_power"] == ch.power_dbm
        assert values[f"adjacent_{ch.name}_density"] == ch.density_dbm_per_mhz
    assert len(values) == 13
    with pytest.raises(KeyError):
        res.channel("lower3")
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.carrier_dbm = 0.0  # type: ignore[misc]


def test_span_too_small_for_second_adjacent() -> None:
    bw_ch, bw_cfg = 20e6, config_bandwidth_hz(20e6, 30e3)
    f = grid(FC, 2 * bw_ch + bw_cfg + 1e6, 50e3)  # covers the 1st adjacent channels only
    with pytest.raises(ValueError, match=r"lower2 adjacent channel .* not fully inside the trace span"):
        aclr(f, np.zeros(f.size), 100e3, ENBW_FACTOR, FC, bw_ch, bw_cfg)


def test_undersampled_rejected() -> None:
    bw_ch, bw_cfg = 20e6, config_bandwidth_hz(20e6, 30e3)
    f = grid(FC, 100e6, 200e3)
    with pytest.raises(ValueError, match="undersampled"):
        aclr(f, np.zeros(f.size), 100e3, ENBW_FACTOR, FC, bw_ch, bw_cfg)


def test_uneven_rejected() -> None:
    f = grid(FC, 100e6, 50e3)
    f[10] += 10e3
    with pytest.raises(ValueError, match="not evenly spaced"):
        aclr(f, np.zeros(f.size), 100e3, ENBW_FACTOR, FC, 20e6, 18.36e6)


@pytest.mark.parametrize(("bw_ch", "bw_cfg"), [(20e6, 21e6), (20e6, 0.0), (0.0, 1e6), (math.nan, 1e6)])
def test_bad_bandwidths_rejected(bw_ch: float, bw_cfg: float) -> None:
    f = grid(FC, 100e6, 50e3)
    with pytest.raises(ValueError, match="bandwidth"):
        aclr(f, np.zeros(f.size), 100e3, ENBW_FACTOR, FC, bw_ch, bw_cfg)


def test_covered_only_leaves_out_channels_beyond_the_span():
    # 10 MHz carrier (15 kHz SCS, BW_Config 9.36 MHz) seen over +/-16 MHz: only the 1st adjacent fit
    freqs = np.arange(-16e6, 16e6 + 1, 10e3)
    trace = np.full(freqs.shape, -60.0)
    result = aclr(freqs, trace, 10e3, 1.0, 0.0, 10e6, 9.36e6, covered_only=True)
    assert [c.name for c in result.adjacent] == ["lower1", "upper1"]
    assert result.not_covered == ("lower2", "upper2")
    assert result.adjacent[0].aclr_db == pytest.approx(0.0, abs=1e-9)  # flat spectrum
    with pytest.raises(ValueError, match="lower2"):
        aclr(freqs, trace, 10e3, 1.0, 0.0, 10e6, 9.36e6)
