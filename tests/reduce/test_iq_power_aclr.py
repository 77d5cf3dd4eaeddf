"""Channel power and ACLR from I/Q: the existing trace reducers on iq_spectrum output.

Signals (see ``tests/reduce/test_spectrum.py``): a 10 MHz NR carrier (BW_Config 9.36 MHz at 15 kHz
SCS) at 61.44 Msps, so that the 2nd adjacent channels (centred at ±20 MHz, edges at ±24.68 MHz)
lie inside ±30.72 MHz; adjacent channels injected at known power ratios. The truth is the
construction: the requested powers, or Σ|X_k|² over the tones in a window when a noise floor
shares tones with a channel.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from fivegbench.nr.bandwidth import config_bandwidth_hz
from fivegbench.reduce.aclr import aclr
from fivegbench.reduce.power import channel_power_dbm
from fivegbench.reduce.spectrum import iq_spectrum
from tests.reduce.test_spectrum import FS, dbm, rect, synth_iq, tone_freqs, true_power_w

BW_CH = 10e6
BW_CFG = config_bandwidth_hz(BW_CH, 15e3)  # 9.36 MHz
NAMES = ("lower1", "upper1", "lower2", "upper2")
KS = (-1, 1, -2, 2)


def carrier_with_adjacent(
    carrier_w: float, ratios_db: dict[str, float], seed: int, gaussian: bool = False, noise_w: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    f = tone_freqs()
    parts = [(rect(f, -BW_CFG / 2, BW_CFG / 2), carrier_w)]
    for name, k in zip(NAMES, KS, strict=True):
        c = k * BW_CH
        parts.append((rect(f, c - BW_CFG / 2, c + BW_CFG / 2), carrier_w * 10 ** (-ratios_db[name] / 10)))
    if noise_w > 0:
        parts.append((np.ones_like(f), noise_w))
    return synth_iq(parts, seed=seed, gaussian=gaussian)


def test_config_bandwidth() -> None:
    assert abs(BW_CFG - 9.36e6) < 1e-3


@pytest.mark.parametrize(("carrier_dbm", "seed"), [(46.0, 0), (20.0, 1), (-30.0, 2)])
def test_channel_power_from_iq(carrier_dbm: float, seed: int) -> None:
    p_w = 10 ** (carrier_dbm / 10) / 1e3
    iq, _ = carrier_with_adjacent(p_w, dict.fromkeys(NAMES, 45.0), seed)
    s = iq_spectrum(iq, FS)
    assert s.absolute
    assert channel_power_dbm(*s.as_trace(), 0.0, BW_CFG) == pytest.approx(carrier_dbm, abs=0.05)


@pytest.mark.parametrize("ratio", [25.0, 35.0, 45.0, 55.0, 65.0])
@pytest.mark.parametrize("gaussian", [False, True])
def test_aclr_from_iq(ratio: float, gaussian: bool) -> None:
    injected = {"lower1": ratio, "upper1": ratio + 1.7, "lower2": ratio - 0.9, "upper2": ratio}
    injected = {k: min(max(v, 25.0), 65.0) for k, v in injected.items()}
    iq, _ = carrier_with_adjacent(10.0, injected, seed=int(ratio) + 100 * gaussian, gaussian=gaussian)
    s = iq_spectrum(iq, FS)
    res = aclr(*s.as_trace(), 0.0, BW_CH, BW_CFG)
    assert res.carrier_dbm == pytest.approx(40.0, abs=0.05)
    for ch in res.adjacent:
        assert ch.aclr_db == pytest.approx(injected[ch.name], abs=0.2), ch.name
        assert ch.power_dbm == pytest.approx(40.0 - injected[ch.name], abs=0.2), ch.name


def test_aclr_from_iq_with_noise_floor() -> None:
    """A flat floor over the whole capture adds to every channel; the truth sums the tones."""
    injected = {"lower1": 50.0, "upper1": 55.0, "lower2": 60.0, "upper2": 65.0}
    noise_w = 10.0 * 10 ** (-60 / 10) * (FS / BW_CFG)  # -60 dBc in BW_Config
    iq, x_f = carrier_with_adjacent(10.0, injected, seed=11, noise_w=noise_w)
    truth_c = true_power_w(x_f, -BW_CFG / 2, BW_CFG / 2)
    s = iq_spectrum(iq, FS)
    res = aclr(*s.as_trace(), 0.0, BW_CH, BW_CFG)
    assert res.carrier_dbm == pytest.approx(dbm(truth_c), abs=0.05)
    for name, k in zip(NAMES, KS, strict=True):
        c = k * BW_CH
        truth = 10 * math.log10(truth_c / true_power_w(x_f, c - BW_CFG / 2, c + BW_CFG / 2))
        assert truth < injected[name] - 0.4  # the floor really matters here
        assert res.channel(name).aclr_db == pytest.approx(truth, abs=0.2), name


def test_dbfs_path_gives_the_same_aclr() -> None:
    injected = {"lower1": 30.0, "upper1": 45.0, "lower2": 50.0, "upper2": 62.0}
    iq, _ = carrier_with_adjacent(3.0, injected, seed=5)
    s_abs, s_rel = iq_spectrum(iq, FS, impedance_ohms=50.0), iq_spectrum(iq, FS, impedance_ohms=None)
    assert not s_rel.absolute
    a_abs = aclr(*s_abs.as_trace(), 0.0, BW_CH, BW_CFG)
    a_rel = aclr(*s_rel.as_trace(), 0.0, BW_CH, BW_CFG)
    for name in NAMES:
        assert a_rel.channel(name).aclr_db == pytest.approx(a_abs.channel(name).aclr_db, abs=1e-9)
        assert a_abs.channel(name).aclr_db == pytest.approx(injected[name], abs=0.2)
    # dB re |x|² = 1 in the relative path: 3 W into 50 ohm is |x|² = 150 V²
    assert a_rel.carrier_dbm == pytest.approx(10 * math.log10(150.0), abs=0.05)


def test_low_sample_rate_covers_only_the_first_adjacent_channels() -> None:
    """At 30.72 Msps (±15.36 MHz) the 2nd adjacent channels are outside: covered_only drops them."""
    injected = {"lower1": 40.0, "upper1": 48.0}
    fs, n = FS / 2, 30_720
    f = tone_freqs(n, fs)
    parts = [(rect(f, -BW_CFG / 2, BW_CFG / 2), 1.0)]
    for name, k in (("lower1", -1), ("upper1", 1)):
        parts.append((rect(f, k * BW_CH - BW_CFG / 2, k * BW_CH + BW_CFG / 2), 10 ** (-injected[name] / 10)))
    iq, _ = synth_iq(parts, seed=3, n=n)
    s = iq_spectrum(iq, fs)
    with pytest.raises(ValueError, match="adjacent channel"):
        aclr(*s.as_trace(), 0.0, BW_CH, BW_CFG)
    res = aclr(*s.as_trace(), 0.0, BW_CH, BW_CFG, covered_only=True)
    assert [ch.name for ch in res.adjacent] == ["lower1", "upper1"]
    for ch in res.adjacent:
        assert ch.aclr_db == pytest.approx(injected[ch.name], abs=0.2)
