"""The radio-link model of the simulated bench (fivegbench/sim/radio.py) and the TS 38.214 MCS tables
it uses (fivegbench/nr/mcs.py).

Expected values are written literally from nr-standards.md §2.2 or computed here independently of the
module: the link budget by hand, the TDD wait by simulating random arrivals, the M/D/1 wait by a
Lindley recursion, HARQ by enumerating outcomes.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from fivegbench.nr.datarate import peak_rate_mbps, tdd_fractions
from fivegbench.nr.mcs import MCS_TABLES, PDSCH_MCS_TABLE_1, PDSCH_MCS_TABLE_2, mcs_table
from fivegbench.sim import radio
from fivegbench.sim.radio import (
    harq,
    link_budget,
    link_state,
    md1_wait_s,
    rank_for_sinr,
    select_mcs,
    snr50_db,
    tdd_mean_wait_s,
)
from fivegbench.sim.world import World

# The reference configuration: 43 dBm, n78 100 MHz at 30 kHz (273 PRB), DDDSU with S = 10:2:2.
TX, BW, SCS, PATTERN, SPECIAL = 43.0, 100e6, 30e3, "DDDSU", "10:2:2"
N_RE = 273 * 12  # 3276 subcarriers


def ref(att: float, **kw) -> radio.RadioLink:
    return link_state(TX, att, BW, SCS, PATTERN, SPECIAL, **kw)


# ---------------------------------------------------------------------------------------------
# MCS tables (nr-standards.md §2.2, [V2])
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("table", "index", "qm", "r"),
    [
        (1, 0, 2, 120),
        (1, 9, 2, 679),
        (1, 10, 4, 340),
        (1, 16, 4, 658),
        (1, 17, 6, 438),
        (1, 27, 6, 910),
        (1, 28, 6, 948),
        (2, 0, 2, 120),
        (2, 4, 2, 602),
        (2, 5, 4, 378),
        (2, 11, 6, 466),
        (2, 19, 6, 873),
        (2, 20, 8, 682.5),
        (2, 26, 8, 916.5),
        (2, 27, 8, 948),
    ],
)
def test_mcs_rows_match_the_reference_table(table, index, qm, r):
    t = mcs_table(table)
    assert (t.qm(index), t.r_x1024(index)) == (qm, r)


def test_mcs_tables_have_the_usable_indices_and_reserved_rows_of_the_spec():
    assert len(PDSCH_MCS_TABLE_1) == 29  # I_MCS 0..28; 29..31 reserved
    assert PDSCH_MCS_TABLE_1.reserved_qm == (2, 4, 6)
    assert len(PDSCH_MCS_TABLE_2) == 28  # I_MCS 0..27; 28..31 reserved
    assert PDSCH_MCS_TABLE_2.reserved_qm == (2, 4, 6, 8)
    assert PDSCH_MCS_TABLE_1.clause.startswith("TS 38.214 Table 5.1.3.1-1")
    assert PDSCH_MCS_TABLE_2.clause.startswith("TS 38.214 Table 5.1.3.1-2")
    assert PDSCH_MCS_TABLE_1.status == PDSCH_MCS_TABLE_2.status == "[V2]"
    assert (PDSCH_MCS_TABLE_1.max_modulation, PDSCH_MCS_TABLE_2.max_modulation) == ("64qam", "256qam")


@pytest.mark.parametrize(
    ("table", "index", "se"),
    [(2, 27, 7.4063), (2, 9, 2.4063), (1, 15, 2.4063), (1, 28, 5.5547), (2, 20, 5.3320), (1, 0, 0.2344)],
)
def test_spectral_efficiency_matches_the_printed_value(table, index, se):
    assert mcs_table(table).spectral_efficiency(index) == pytest.approx(se, abs=5e-5)


@pytest.mark.parametrize("table", sorted(MCS_TABLES))
def test_spectral_efficiency_is_qm_times_r_over_1024(table):
    t = mcs_table(table)
    for i, (qm, r) in enumerate(t.entries):
        assert t.spectral_efficiency(i) == qm * r / 1024
        assert t.spectral_efficiencies[i] == qm * r / 1024


def test_mcs_table_rejects_unknown_tables_and_reserved_indices():
    with pytest.raises(ValueError, match="MCS table must be 1"):
        mcs_table(3)
    with pytest.raises(ValueError, match="not a usable index"):
        PDSCH_MCS_TABLE_2.qm(28)
    with pytest.raises(ValueError, match="not a usable index"):
        PDSCH_MCS_TABLE_1.spectral_efficiency(-1)


# ---------------------------------------------------------------------------------------------
# 1. Link budget
# ---------------------------------------------------------------------------------------------


def test_link_budget_by_hand_at_20_db():
    rsrp = 43 - 10 * math.log10(3276) - 60 - 20  # -72.153 dBm per RE
    noise = -174 + 10 * math.log10(30e3) + 7  # -122.229 dBm per RE
    sinr = rsrp - noise  # 50.075 dB
    sinr_eff = -10 * math.log10(10 ** (-sinr / 10) + 10 ** (-30 / 10))
    assert rsrp == pytest.approx(-72.1534, abs=1e-4)
    assert noise == pytest.approx(-122.2288, abs=1e-4)
    budget = link_budget(TX, 20, BW, SCS, 7.0)
    assert budget.rx_per_re_dbm == pytest.approx(rsrp, abs=1e-9)
    assert budget.noise_per_re_dbm == pytest.approx(noise, abs=1e-9)
    assert budget.sinr_thermal_db == pytest.approx(sinr, abs=1e-9)
    assert budget.sinr_db == pytest.approx(sinr_eff, abs=1e-9)
    assert budget.sinr_db == pytest.approx(29.9575, abs=1e-4)
    link = ref(20)
    assert link.rsrp_dbm == pytest.approx(rsrp, abs=1e-9)
    assert link.sinr_db == pytest.approx(sinr_eff, abs=1e-9)


def test_ul_budget_by_hand_at_45_db():
    # the UE's 23 dBm over the same 3276 REs and path, received with the gNB's 5 dB noise figure
    rx = 23 - 10 * math.log10(3276) - 60 - 45
    noise = -174 + 10 * math.log10(30e3) + 5
    sinr = rx - noise  # 7.075 dB: far below the floor, which takes off 0.003 dB
    expected = -10 * math.log10(10 ** (-sinr / 10) + 10 ** (-3.0))
    assert sinr == pytest.approx(7.0754, abs=1e-4)
    assert ref(45).ul_sinr_db == pytest.approx(expected, abs=1e-9)


def test_sinr_waterfall_spans_the_attenuator():
    assert ref(0).sinr_db > 25
    assert ref(80).sinr_db < -5
    assert ref(80).sinr_db == pytest.approx(
        43 - 10 * math.log10(3276) - 140 + 174 - 10 * math.log10(30e3) - 7, abs=0.01
    )


def test_rsrq_is_n_rsrp_over_rssi_at_full_load():
    att = 70
    s = 10 ** ((43 - 10 * math.log10(3276) - 60 - att) / 10)  # mW per RE
    n = 10 ** ((-174 + 10 * math.log10(30e3) + 7) / 10)  # mW per RE
    rssi = sum([s + n] * (273 * 12))  # every RE of the 273 RBs carries signal and noise
    assert ref(att).rsrq_db == pytest.approx(10 * math.log10(273 * s / rssi), abs=1e-9)
    assert ref(0).rsrq_db == pytest.approx(-10 * math.log10(12), abs=1e-5)  # -10.79 dB, noise-free


def test_world_defaults_give_a_link():
    w = World()
    g = w.gnb
    link = link_state(
        g.tx_power_dbm, w.attenuation_db, g.bandwidth_hz, g.scs_hz, g.tdd_pattern, g.special_slot
    )
    assert link.sinr_db > 25
    assert (
        link.dl_rate_bps > 0.99 * peak_rate_mbps(g.bandwidth_hz, g.scs_hz, 4, "256qam", "dl") * 1e6 * 52 / 70
    )


# ---------------------------------------------------------------------------------------------
# 2. Link adaptation, rank, HARQ
# ---------------------------------------------------------------------------------------------


def test_snr50_is_shannon_plus_gap():
    assert snr50_db(2)[27] == pytest.approx(10 * math.log10(2**7.40625 - 1) + 2.0, abs=1e-12)
    assert snr50_db(2)[27] == pytest.approx(24.2694, abs=1e-4)
    assert snr50_db(1)[0] == pytest.approx(10 * math.log10(2**0.234375 - 1) + 2.0, abs=1e-12)


def _goodput_by_hand(table: int, sinr: float) -> list[tuple[float, float]]:
    """(SE x (1 - BLER), BLER) of every MCS, with the logistic model written out here."""
    out = []
    for qm, r in mcs_table(table).entries:
        se = qm * r / 1024
        snr50 = 10 * math.log10(2**se - 1) + 2.0
        b = 1 / (1 + math.exp(2.0 * (sinr - snr50)))
        out.append((se * (1 - b), b))
    return out


@pytest.mark.parametrize("table", [1, 2])
def test_chosen_mcs_meets_the_bler_target_and_maximises_goodput(table):
    for sinr in np.arange(-4.4, 35.0, 0.05):
        choice = select_mcs(float(sinr), table)
        rows = _goodput_by_hand(table, float(sinr))
        feasible = [i for i, (_, b) in enumerate(rows) if b <= 0.1]
        assert choice.feasible
        assert choice.bler <= 0.1
        assert choice.bler == pytest.approx(rows[choice.index][1], rel=1e-9)
        best = max(feasible, key=lambda i: rows[i][0])
        assert rows[choice.index][0] == pytest.approx(rows[best][0], rel=1e-12)


def test_below_mcs0_threshold_the_link_runs_mcs0_unfeasibly():
    threshold = 10 * math.log10(2**0.234375 - 1) + 2.0 + math.log(9) / 2  # BLER(MCS 0) = 10 %
    assert select_mcs(threshold + 0.01).feasible
    choice = select_mcs(threshold - 0.01)
    assert (choice.index, choice.feasible) == (0, False)
    assert choice.bler > 0.1


def test_rank_thresholds_and_capability_cap():
    assert [rank_for_sinr(s, 4) for s in (-10, 4.99, 5, 11.99, 12, 17.99, 18, 30)] == [1, 1, 2, 2, 3, 3, 4, 4]
    assert rank_for_sinr(30, 2) == 2
    assert rank_for_sinr(30, 1) == 1


@pytest.mark.parametrize("p", [0.0, 0.01, 0.1, 0.3, 0.9, 0.9999])
def test_harq_by_enumerating_outcomes(p):
    # a block uses k transmissions (k = 1..4): delivered on the k-th with p^(k-1)(1-p), or lost after 4
    delivered = [(k, p ** (k - 1) * (1 - p)) for k in range(1, 5)]
    lost = p**4
    transmissions = sum(k * pr for k, pr in delivered) + 4 * lost
    p_delivered = sum(pr for _, pr in delivered)
    h = harq(p)
    assert h.residual_loss == pytest.approx(lost, abs=1e-15)
    assert h.goodput_factor == pytest.approx(p_delivered / transmissions, rel=1e-9, abs=1e-15)
    assert h.extra_round_trips == pytest.approx(
        sum((k - 1) * pr for k, pr in delivered) / p_delivered, rel=1e-9, abs=1e-15
    )


def test_harq_extra_round_trips_is_close_to_p_over_1_minus_p_at_the_target():
    # truncated at 4 transmissions: p/(1-p) - 4 p^4/(1-p^4), 4.0e-4 below the untruncated 0.1111
    assert harq(0.1).extra_round_trips == pytest.approx(0.1 / 0.9 - 4 * 0.1**4 / (1 - 0.1**4), rel=1e-12)
    assert 0.1 / 0.9 - harq(0.1).extra_round_trips < 4.01e-4
    assert harq(1.0) == radio.HarqStats(residual_loss=1.0, goodput_factor=0.0, extra_round_trips=1.5)


# ---------------------------------------------------------------------------------------------
# 3. Capacity
# ---------------------------------------------------------------------------------------------

CONFIGS = [
    (100e6, 30e3, "DDDSU", "10:2:2"),
    (100e6, 30e3, "DDDDDDDSUU", "6:4:4"),
    (40e6, 30e3, "DDDSU", "6:4:4"),
    (20e6, 15e3, None, None),
]


@pytest.mark.parametrize(("bw", "scs", "pattern", "special"), CONFIGS)
@pytest.mark.parametrize("table", [1, 2])
@pytest.mark.parametrize(("layers_dl", "layers_ul"), [(4, 1), (2, 2), (1, 1)])
def test_capacity_never_exceeds_the_38306_peak(bw, scs, pattern, special, table, layers_dl, layers_ul):
    share = tdd_fractions(pattern, special)
    modulation = mcs_table(table).max_modulation
    peak_dl = peak_rate_mbps(bw, scs, layers_dl, modulation, "dl") * 1e6 * share.dl
    peak_ul = peak_rate_mbps(bw, scs, layers_ul, modulation, "ul") * 1e6 * share.ul
    for att in np.arange(0.0, 100.25, 0.25):
        link = link_state(
            TX,
            float(att),
            bw,
            scs,
            pattern,
            special,
            layers_dl=layers_dl,
            layers_ul=layers_ul,
            mcs_table=table,
        )
        assert link.dl_rate_bps <= peak_dl * (1 + 1e-12)
        assert link.ul_rate_bps <= peak_ul * (1 + 1e-12)


def test_capacity_and_rsrp_are_monotone_in_attenuation():
    links = [ref(float(a)) for a in np.arange(0.0, 100.1, 0.1)]
    rsrp = np.array([x.rsrp_dbm for x in links])
    assert np.all(np.diff(rsrp) < 0)
    # (not the UL allocation nor its SINR: the scheduler trades PRBs against MCS steps)
    for field in ("dl_rate_bps", "ul_rate_bps", "layers_dl", "sinr_db"):
        values = np.array([getattr(x, field) for x in links], dtype=float)
        assert np.all(np.diff(values) <= 0), field
    for x in links:  # wherever the BLER target is met, HARQ leaves at most 0.1^4 of the packets
        assert x.bler_dl > 0.1 or x.dl_loss <= 1e-4
        assert x.bler_ul > 0.1 or x.ul_loss <= 1e-4


def test_saturation_at_0_db_is_the_peak_times_one_minus_bler():
    link = ref(0)
    peak_dl = peak_rate_mbps(BW, SCS, 4, "256qam", "dl") * 1e6 * 52 / 70  # 1736.06 Mbit/s
    peak_ul = peak_rate_mbps(BW, SCS, 1, "256qam", "ul") * 1e6 * 16 / 70
    assert (link.mcs_dl, link.layers_dl, link.mcs_ul, link.layers_ul) == (27, 4, 27, 1)
    # MCS 27 has R = 948 = R_max, so the ratio is 1 - BLER(MCS 27) at the SINR by hand
    sinr = -10 * math.log10(
        10 ** (-(43 - 10 * math.log10(3276) - 60 + 174 - 10 * math.log10(30e3) - 7) / 10) + 1e-3
    )
    bler27 = 1 / (1 + math.exp(2 * (sinr - (10 * math.log10(2**7.40625 - 1) + 2))))
    assert link.dl_rate_bps / peak_dl == pytest.approx(1 - bler27, rel=1e-12)
    assert 1 - link.dl_rate_bps / peak_dl == pytest.approx(1.05e-5, abs=0.01e-5)  # ratio 0.9999895
    assert link.ul_rate_bps / peak_ul > 0.99998
    assert link.dl_rate_bps / 1e6 == pytest.approx(1736.04, abs=0.01)


def test_near_zero_capacity_and_total_loss_at_90_db():
    link = ref(90)
    assert link.dl_rate_bps < 1.0 and link.ul_rate_bps < 1.0
    assert link.dl_loss > 0.99 and link.ul_loss > 0.99
    assert (link.mcs_dl, link.layers_dl, link.prb_ul) == (0, 1, 1)


def test_the_ul_uses_the_whole_carrier_until_the_ue_runs_out_of_power():
    assert ref(0).prb_ul == 273
    assert ref(0).ul_sinr_db == pytest.approx(30.0, abs=0.05)  # at the implementation floor


def test_a_power_limited_ue_concentrates_its_power_on_fewer_prbs():
    link = ref(70)
    # over the whole carrier: 23 dBm over 3276 REs, 60 + 70 dB loss, gNB noise -174 + 44.77 + 5
    full_carrier_sinr = 23 - 10 * math.log10(3276) - 130 - (-174 + 10 * math.log10(30e3) + 5)
    assert full_carrier_sinr == pytest.approx(-17.9, abs=0.05)  # where MCS 0 delivers nothing
    assert link.prb_ul in {273 // 2**k for k in range(1, 9)}
    concentrated = full_carrier_sinr + 10 * math.log10(273 / link.prb_ul)
    assert link.ul_sinr_db == pytest.approx(-10 * math.log10(10 ** (-concentrated / 10) + 1e-3), abs=1e-9)
    assert link.ul_rate_bps > 50e3 and link.ul_loss < 0.01  # the UL still carries TCP's ACKs


# ---------------------------------------------------------------------------------------------
# 4. Latency
# ---------------------------------------------------------------------------------------------


def _brute_force_wait(
    pattern: str | None, special: str | None, scs: float, direction: str, n: int
) -> tuple[float, float]:
    """Mean time from a uniformly random arrival to the start of the next symbol group of the
    direction (groups are split at slot boundaries), by simulation: (mean, its standard error)."""
    want = "D" if direction == "dl" else "U"
    symbols: list[str] = []
    for kind in pattern or "F":
        if kind == "S":
            d, g, u = (int(x) for x in special.split(":"))
            symbols += ["D"] * d + ["G"] * g + ["U"] * u
        else:
            symbols += [kind] * 14
    sym_s = 1e-3 / 14 / (scs / 15e3)
    starts = [
        i
        for i, s in enumerate(symbols)
        if s in (want, "F") and (i % 14 == 0 or symbols[i - 1] not in (want, "F"))
    ]
    period = len(symbols) * sym_s
    start_times = np.array([*starts, *(x + len(symbols) for x in starts)]) * sym_s  # two periods
    arrivals = np.random.default_rng(1).uniform(0, period, n)
    nxt = start_times[np.searchsorted(start_times, arrivals, side="left")]
    waits = nxt - arrivals
    return float(np.mean(waits)), float(np.std(waits) / math.sqrt(n))


@pytest.mark.parametrize(
    ("pattern", "special", "scs"),
    [("DDDSU", "10:2:2", 30e3), ("DDDDDDDSUU", "6:4:4", 30e3), ("DDDSU", "6:4:4", 15e3), (None, None, 30e3)],
)
@pytest.mark.parametrize("direction", ["dl", "ul"])
def test_tdd_wait_matches_a_simulation_of_random_arrivals(pattern, special, scs, direction):
    mean, stderr = _brute_force_wait(pattern, special, scs, direction, 400_000)
    assert stderr < 3e-6  # the simulation pins the mean to about 10 us
    assert tdd_mean_wait_s(pattern, special, scs, direction) == pytest.approx(mean, abs=5 * stderr)


def test_tdd_wait_dddsu_by_hand():
    # DL starts at 0, 0.5, 1.0, 1.5 ms (D D D and S's DL part) in a 2.5 ms period: gaps 0.5, 0.5, 0.5, 1.0
    assert tdd_mean_wait_s("DDDSU", "10:2:2", 30e3, "dl") == pytest.approx(1.75e-3 / 5, abs=1e-15)
    # UL starts at S's symbol 12 (1.5 + 12/28 ms) and at the U slot (2.0 ms)
    g = 1e-3 / 14  # two symbols of 1/28 ms
    assert tdd_mean_wait_s("DDDSU", "10:2:2", 30e3, "ul") == pytest.approx(
        (g**2 + (2.5e-3 - g) ** 2) / 5e-3, abs=1e-15
    )
    assert tdd_mean_wait_s(None, None, 30e3, "dl") == pytest.approx(0.25e-3, abs=1e-15)  # FDD: half a slot
    assert tdd_mean_wait_s("DDDD", None, 30e3, "ul") == math.inf


def test_one_way_delay_components_at_0_and_80_db():
    # 0 dB: BLER ~1e-5, so wait + 2 x 0.5 ms processing + 1 ms core
    g = 1e-3 / 14  # two symbols of 1/28 ms
    ul_wait = (g**2 + (2.5e-3 - g) ** 2) / 5e-3
    assert ref(0).dl_delay_s == pytest.approx(0.35e-3 + 1e-3 + 1e-3, abs=1e-7)
    assert ref(0).ul_delay_s == pytest.approx(ul_wait + 1e-3 + 1e-3, abs=1e-7)
    # 80 dB: BLER ~1, a delivered block needed on average (4 - 1) / 2 retransmissions of 4 ms
    link = ref(80)
    assert link.dl_delay_s == pytest.approx(
        0.35e-3 + 2e-3 + harq(link.bler_dl).extra_round_trips * 4e-3, abs=1e-12
    )
    assert link.dl_delay_s == pytest.approx(8.35e-3, abs=0.01e-3)
    assert ref(0, core_delay_s=0.0).dl_delay_s == pytest.approx(ref(0).dl_delay_s - 1e-3, abs=1e-15)


def test_md1_wait_formula_and_a_lindley_simulation():
    capacity, size = 100e6, 1500
    service = 8 * size / capacity  # 120 us
    assert md1_wait_s(50e6, capacity, size) == pytest.approx(0.5 * service / (2 * 0.5), abs=1e-15)  # 60 us
    rng = np.random.default_rng(7)
    rho = 0.6
    gaps = rng.exponential(service / rho, 400_000)
    w, total = 0.0, 0.0
    for a in gaps:
        w = max(0.0, w + service - a)
        total += w
    assert md1_wait_s(rho * capacity, capacity, size) == pytest.approx(total / len(gaps), rel=0.03)
    assert md1_wait_s(0.0, capacity, size) == 0.0
    assert md1_wait_s(capacity, capacity, size) == math.inf
    with pytest.raises(ValueError):
        md1_wait_s(1e6, capacity, 0)


# ---------------------------------------------------------------------------------------------
# 5. Entry point
# ---------------------------------------------------------------------------------------------


def test_link_state_is_fast_enough_to_poll_every_10_ms():
    ref(0)  # warm the configuration cache
    n = 2000
    start = time.perf_counter()
    for i in range(n):
        ref(i % 81)
    per_call = (time.perf_counter() - start) / n
    assert per_call < 1e-3  # ~0.1 ms measured; the emulator polls every 10 ms


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"attenuation_db": -1.0}, "attenuation_db must be >= 0"),
        ({"attenuation_db": math.nan}, "attenuation_db must be a finite number"),
        ({"tx_power_dbm": math.inf}, "tx_power_dbm must be a finite number"),
        ({"layers_dl": 0}, "layers_dl must be 1..8"),
        ({"layers_ul": 9}, "layers_ul must be 1..8"),
        ({"mcs_table": 3}, "MCS table must be 1"),
        ({"tdd_pattern": "DDXSU"}, "must be a string of D, S and U"),
        ({"special_slot": "10:2:3"}, "must split the 14 symbols"),
        ({"bandwidth_hz": 7e6}, "not in TS 38.104"),
    ],
)
def test_link_state_rejects_bad_configuration(kwargs, message):
    args = {
        "tx_power_dbm": TX,
        "attenuation_db": 10.0,
        "bandwidth_hz": BW,
        "scs_hz": SCS,
        "tdd_pattern": PATTERN,
        "special_slot": SPECIAL,
    }
    positional = {k: kwargs.pop(k) if k in kwargs else v for k, v in args.items()}
    with pytest.raises(ValueError, match=message):
        link_state(*positional.values(), **kwargs)
