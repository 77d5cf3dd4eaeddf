"""TS 38.211 §5.1 modulation mapper and the hard slicer."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fivegbench.nr.modulation import (
    MODULATIONS,
    bits_per_symbol,
    constellation,
    hard_decision,
    map_bits,
    normalise_name,
)

SQUARE = ("QPSK", "16QAM", "64QAM", "256QAM")


@pytest.mark.parametrize("name", list(MODULATIONS))
def test_unit_average_power_and_size(name: str) -> None:
    c = constellation(name)
    assert c.size == 2 ** bits_per_symbol(name)
    assert np.mean(np.abs(c) ** 2) == pytest.approx(1.0, abs=1e-15)
    assert np.unique(np.round(c, 12)).size == c.size


@pytest.mark.parametrize(
    ("name", "bits", "value"),
    [
        ("BPSK", "1", (-1 - 1j) / math.sqrt(2)),
        ("QPSK", "01", (1 - 1j) / math.sqrt(2)),
        ("16QAM", "0000", (1 + 1j) / math.sqrt(10)),
        ("16QAM", "1011", (-3 + 3j) / math.sqrt(10)),  # I = -(2 - (-1)), Q = +(2 - (-1))
        ("64QAM", "000000", (3 + 3j) / math.sqrt(42)),
        ("64QAM", "101010", (-7 + 3j) / math.sqrt(42)),  # I = -(4 - (-1)(2 - (-1))), Q = 4 - (2 - 1)
        ("256QAM", "00000000", (5 + 5j) / math.sqrt(170)),
    ],
)
def test_spec_formula_values(name: str, bits: str, value: complex) -> None:
    b = [int(ch) for ch in bits]
    s = [1 - 2 * x for x in b]
    # the formula of TS 38.211 §5.1 written out again, as the independent truth
    if name == "BPSK":
        truth = (s[0] + 1j * s[0]) / math.sqrt(2)
    elif name == "QPSK":
        truth = (s[0] + 1j * s[1]) / math.sqrt(2)
    elif name == "16QAM":
        truth = (s[0] * (2 - s[2]) + 1j * s[1] * (2 - s[3])) / math.sqrt(10)
    elif name == "64QAM":
        truth = (s[0] * (4 - s[2] * (2 - s[4])) + 1j * s[1] * (4 - s[3] * (2 - s[5]))) / math.sqrt(42)
    else:
        truth = (
            s[0] * (8 - s[2] * (4 - s[4] * (2 - s[6]))) + 1j * s[1] * (8 - s[3] * (4 - s[5] * (2 - s[7])))
        ) / math.sqrt(170)
    got = map_bits(b, name)[0]
    assert got == pytest.approx(truth, abs=1e-15)
    assert constellation(name)[int(bits, 2)] == pytest.approx(truth, abs=1e-15)
    assert got == pytest.approx(value, abs=1e-15)


@pytest.mark.parametrize("name", SQUARE)
def test_gray_mapping(name: str) -> None:
    c = constellation(name)
    d = np.abs(c[:, None] - c[None, :])
    dmin = np.min(d[d > 1e-12])
    for i, j in zip(*np.nonzero(np.abs(d - dmin) < 1e-9), strict=True):
        assert bin(int(i) ^ int(j)).count("1") == 1


@pytest.mark.parametrize("name", list(MODULATIONS))
def test_map_bits_matches_constellation(name: str) -> None:
    m = bits_per_symbol(name)
    rng = np.random.default_rng(1)
    bits = rng.integers(0, 2, 50 * m)
    idx = bits.reshape(-1, m) @ (1 << np.arange(m - 1, -1, -1))
    assert np.array_equal(map_bits(bits, name), constellation(name)[idx])


@pytest.mark.parametrize("name", list(MODULATIONS))
def test_hard_decision_is_nearest_point(name: str) -> None:
    c = constellation(name)
    rng = np.random.default_rng(2)
    z = 1.3 * (rng.standard_normal(4000) + 1j * rng.standard_normal(4000))
    brute = c[np.argmin(np.abs(z[:, None] - c[None, :]), axis=1)]
    assert np.array_equal(hard_decision(z, name), brute)
    assert np.array_equal(hard_decision(c, name), c)  # exact points are fixed points
    z64 = z.astype(np.complex64)
    d64 = hard_decision(z64.reshape(40, 100), name)
    assert d64.dtype == np.complex64 and d64.shape == (40, 100)
    assert np.allclose(d64.ravel(), hard_decision(z64.astype(np.complex128), name), atol=1e-6)


@settings(max_examples=200, deadline=None)
@given(
    name=st.sampled_from(SQUARE),
    re=st.floats(-3, 3, allow_nan=False),
    im=st.floats(-3, 3, allow_nan=False),
)
def test_hard_decision_property(name: str, re: float, im: float) -> None:
    c = constellation(name)
    z = complex(re, im)
    got = hard_decision(np.array([z]), name)[0]
    assert abs(z - got) <= np.min(np.abs(z - c)) + 1e-12


def test_names_and_errors() -> None:
    assert [normalise_name(n) for n in ("qpsk", "16-QAM", "qam64", "256 qam", "QAM_16")] == [
        "QPSK",
        "16QAM",
        "64QAM",
        "256QAM",
        "16QAM",
    ]
    for bad in ("8PSK", "1024QAM", ""):
        with pytest.raises(ValueError, match="unknown modulation"):
            normalise_name(bad)
    with pytest.raises(ValueError, match="multiple"):
        map_bits([0, 1, 1], "QPSK")
    with pytest.raises(ValueError, match="0 or 1"):
        map_bits([0, 2], "QPSK")
    with pytest.raises(ValueError, match="out must be"):
        hard_decision(np.zeros(4, np.complex64), "16QAM", out=np.zeros(3, np.complex64))
