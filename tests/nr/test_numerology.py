"""NR numerology (TS 38.211 §4.2, §5.3.1) and the EVM window table (TS 38.104 Annex B.5.2)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from fivegbench.nr.evm_window import evm_window
from fivegbench.nr.numerology import (
    SYMBOLS_PER_SLOT,
    cp_lengths,
    fft_size,
    half_subframe_samples,
    mu_from_scs,
    sample_rate_hz,
    slots_per_frame,
    slots_per_subframe,
    symbol_layout,
)

TC = Fraction(1, 480_000 * 4096)


def test_mu_and_slot_counts() -> None:
    assert [mu_from_scs(15e3 * 2**m) for m in range(7)] == list(range(7))
    assert (slots_per_subframe(1), slots_per_frame(1), SYMBOLS_PER_SLOT) == (2, 20, 14)
    for bad in (20e3, 7.5e3, 0.0, -15e3, float("nan")):
        with pytest.raises(ValueError):
            mu_from_scs(bad)


@pytest.mark.parametrize(
    ("n_rb", "expected"), [(11, 256), (24, 512), (25, 512), (51, 1024), (52, 1024), (106, 2048), (273, 4096)]
)
def test_fft_size_usual_carriers(n_rb: int, expected: int) -> None:
    assert fft_size(n_rb) == expected
    assert 12 * n_rb <= 0.85 * expected and 12 * n_rb > 0.85 * expected / 2


def test_sample_rates() -> None:
    assert sample_rate_hz(4096, 30e3) == 122.88e6
    assert sample_rate_hz(2048, 15e3) == 30.72e6


@pytest.mark.parametrize(
    ("n", "scs", "expected"),
    [
        (2048, 15e3, (144, 160)),
        (4096, 30e3, (288, 352)),
        (1024, 30e3, (72, 88)),
        (256, 30e3, (18, 22)),
        (512, 15e3, (36, 40)),
        (1536, 15e3, (108, 120)),
    ],
)
def test_cp_lengths(n: int, scs: float, expected: tuple[int, int]) -> None:
    assert cp_lengths(n, scs) == expected
    # independently from T_c: N_CP = 144 kappa 2^-mu (+16 kappa) T_c at fs = N SCS
    mu = mu_from_scs(scs)
    per_tc = TC * n * Fraction(int(scs))
    assert Fraction(144 * 64, 2**mu) * per_tc == expected[0]
    assert (Fraction(144 * 64, 2**mu) + 16 * 64) * per_tc == expected[1]


def test_cp_not_whole_samples() -> None:
    with pytest.raises(ValueError, match="whole-sample"):
        cp_lengths(100, 15e3)


@pytest.mark.parametrize(("n", "scs"), [(512, 15e3), (4096, 30e3), (256, 30e3), (1024, 60e3)])
def test_half_subframe_is_half_a_millisecond(n: int, scs: float) -> None:
    assert half_subframe_samples(n, scs) == round(0.5e-3 * n * scs)


@pytest.mark.parametrize(("n", "scs"), [(512, 15e3), (1024, 30e3), (256, 60e3)])
def test_symbol_layout_one_subframe(n: int, scs: float) -> None:
    mu = mu_from_scs(scs)
    lay = symbol_layout(n, scs, n_symbols=14 * 2**mu)
    assert lay.total_samples == round(1e-3 * n * scs)
    normal, long_ = cp_lengths(n, scs)
    long_idx = np.flatnonzero(lay.cp_samples == long_)
    assert list(long_idx) == [0, 7 * 2**mu]
    assert np.all(np.delete(lay.cp_samples, long_idx) == normal)
    assert np.array_equal(lay.useful_start, lay.cp_start + lay.cp_samples)
    assert np.array_equal(np.diff(lay.cp_start), (lay.cp_samples + n)[:-1])
    assert lay.cp_start[0] == 0


def test_symbol_layout_duration_and_first_symbol() -> None:
    lay = symbol_layout(1024, 30e3, duration_s=10e-3)
    assert lay.n_symbols == 280 and lay.total_samples == 307200
    part = symbol_layout(1024, 30e3, duration_s=0.1e-3)  # 3 symbols of 1096/1112 samples fit in 3072
    assert part.n_symbols == 2
    later = symbol_layout(1024, 30e3, n_symbols=20, first_symbol=10)
    assert list(later.l_in_subframe[:6]) == [10, 11, 12, 13, 14, 15]
    assert later.cp_samples[4] == 88  # l = 14 = 7 x 2^mu: long CP
    for kwargs in (
        {},
        {"n_symbols": 3, "duration_s": 1e-3},
        {"n_symbols": -1},
        {"n_symbols": 2, "first_symbol": 28},
    ):
        with pytest.raises(ValueError):
            symbol_layout(1024, 30e3, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("n", "scs", "bw", "w"),
    [
        (4096, 30e3, None, 172),
        (1024, 15e3, None, 28),
        (2048, 15e3, None, 58),
        (2048, 15e3, 25e6, 72),
        (1024, 30e3, 25e6, 36),
        (1024, 30e3, 20e6, 28),
        (512, 60e3, 25e6, 18),
        (256, 30e3, None, 8),
    ],
)
def test_evm_window_table(n: int, scs: float, bw: float | None, w: int) -> None:
    assert evm_window(n, scs, bw) == w
    assert w < cp_lengths(n, scs)[0]


def test_evm_window_fr2_and_unknown() -> None:
    assert evm_window(2048, 60e3, fr2=True) == 72
    assert evm_window(2048, 60e3) == 86
    with pytest.raises(ValueError, match="no EVM window"):
        evm_window(8192, 15e3)
