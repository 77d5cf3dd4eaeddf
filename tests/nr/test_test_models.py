"""The test-model declarations, checked against values written out from TS 38.141-1 / MATLAB's rule."""

from __future__ import annotations

import math

import pytest

from fivegbench.nr.test_models import TEST_MODELS, dmrs_symbols, model, pdsch_allocations


def test_the_eight_names_plans_use() -> None:
    assert TEST_MODELS == (
        "NR-FR1-TM1.1", "NR-FR1-TM1.2", "NR-FR1-TM2", "NR-FR1-TM2a",
        "NR-FR1-TM3.1", "NR-FR1-TM3.1a", "NR-FR1-TM3.2", "NR-FR1-TM3.3",
    )  # fmt: skip


def test_tm12_at_273_prb_boosts_six_prgs_of_16_by_3_db() -> None:
    target, balance, low = pdsch_allocations(model("NR-FR1-TM1.2"), 273)
    expected = [p for start in (16, 48, 80, 112, 144, 256) for p in range(start, start + 16)]
    assert list(target.prbs) == expected and target.power_db == 3.0 and target.modulation == "QPSK"
    assert balance.power_db == pytest.approx(10 * math.log10((270 - 10**0.3 * 96) / (270 - 96)), abs=1e-9)
    assert len(balance.prbs) == 270 - 96 and low.prbs == (0, 1, 2)


@pytest.mark.parametrize("name", ["NR-FR1-TM1.2", "NR-FR1-TM3.2", "NR-FR1-TM3.3"])
@pytest.mark.parametrize("n_rb", [51, 106, 273])
def test_boosting_keeps_the_total_power_of_the_all_0_db_carrier(name: str, n_rb: int) -> None:
    allocs = pdsch_allocations(model(name), n_rb)
    total = sum(len(a.prbs) * 10 ** (a.power_db / 10) for a in allocs)
    assert total == pytest.approx(n_rb, rel=1e-9)
    assert sorted(p for a in allocs for p in a.prbs) == list(range(n_rb))


def test_tm32_target_is_de_boosted_16qam_with_rnti_1() -> None:
    target = pdsch_allocations(model("NR-FR1-TM3.2"), 273)[0]
    assert (target.modulation, target.power_db, target.rnti, len(target.prbs)) == ("16QAM", -3.0, 1, 144)


def test_tm2_moves_its_single_prb_low_mid_high() -> None:
    tm2 = model("nr-fr1-tm2")
    assert [pdsch_allocations(tm2, 273, s)[0].prbs for s in range(4)] == [(0,), (136,), (272,), (0,)]


def test_dmrs_positions_pos1() -> None:
    assert [dmrs_symbols(n) for n in (2, 6, 9, 10, 14)] == [(), (2,), (2, 7), (2, 9), (2, 11)]


def test_tdd_models_last_20_ms() -> None:
    assert model("NR-FR1-TM3.1").duration_s(tdd=True) == 0.02
    assert model("NR-FR1-TM3.1").duration_s(tdd=False) == 0.01


def test_unknown_model_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"NR-FR1-TM1\.1"):
        model("TM9")
