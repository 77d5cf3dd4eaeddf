"""The Gold sequence against a plain bit-by-bit LFSR written here from TS 38.211 §5.2.1."""

from __future__ import annotations

import numpy as np

from fivegbench.nr.sequence import dmrs_qpsk, gold


def _reference(c_init: int, n: int) -> list[int]:
    x1 = [1] + [0] * 30
    x2 = [(c_init >> i) & 1 for i in range(31)]
    for k in range(n + 1600):
        x1.append((x1[k + 3] + x1[k]) % 2)
        x2.append((x2[k + 3] + x2[k + 2] + x2[k + 1] + x2[k]) % 2)
    return [(x1[k + 1600] + x2[k + 1600]) % 2 for k in range(n)]


def test_gold_matches_a_bitwise_lfsr() -> None:
    inits = [0, 1, 0x7FFFFFFF, 123456789]
    got = gold(inits, 64)
    for row, c_init in zip(got, inits, strict=True):
        assert row.tolist() == _reference(c_init, 64)


def test_dmrs_symbols_are_unit_qpsk_from_bit_pairs() -> None:
    r = dmrs_qpsk(987654, 16)
    c = np.array(_reference(987654, 32))
    expected = ((1 - 2 * c[0::2]) + 1j * (1 - 2 * c[1::2])) / np.sqrt(2)
    assert np.allclose(r, expected)
