"""The radio link behind the simulated bench's traffic path: from the world's state to what the UE
measures (RSRP, RSRQ, SINR) and what the link carries (capacity, one-way delay, residual loss).

The model, in five steps (docs/radio-model.md has the reasoning and every assumption's value):

1. **Link budget**, per resource element (RE), conducted through a fixed coupling loss and the
   programmable attenuator::

       RSRP  = P_tx - 10 log10(N_RB x 12) - L_coupling - A                       dBm per RE
       N_RE  = -174 dBm/Hz + 10 log10(SCS) + NF                                  dBm per RE
       SINR  = RSRP - N_RE;   SINR_eff = -10 log10(10^(-SINR/10) + 10^(-floor/10))  dB
       RSRQ  = N x RSRP / RSSI = S / (12 (S + N_RE))     (TS 38.215, full load, linear units)

   UL is the same path in the other direction with the gNB's noise figure. The UE's power is
   fixed, so the UL scheduler may give it fewer PRBs, each with more power: of the allocations
   N_RB, N_RB/2, ..., 1 it takes the one that carries the most (power-limited UL).
2. **Link adaptation**: a logistic BLER per MCS, BLER = 1 / (1 + exp(k (SINR - SNR50))),
   SNR50 = 10 log10(2^SE - 1) + gap (Shannon SNR of the MCS's spectral efficiency plus a gap). The
   MCS maximises SE x (1 - BLER) among those with BLER <= 10 % (inner-loop link adaptation); the
   layers fall back with SINR by a threshold table, capped by the configured capability. HARQ with
   up to 4 transmissions: residual loss BLER^4, goodput factor 1 - BLER.
3. **Capacity**: TS 38.306 §4.1.2 (:func:`fivegbench.nr.datarate.peak_rate_mbps`) with the chosen
   layers and Q_m x R of the chosen MCS in place of Q_m x R_max, times (1 - BLER), times the TDD
   symbol share of the direction (:func:`fivegbench.nr.datarate.tdd_fractions`). It never exceeds
   the TS 38.306 peak of the configuration, because Q_m x R <= Q_m,max x R_max for every row.
4. **Latency** (one way): the mean wait for the next transmission opportunity of the direction in
   the TDD pattern, plus processing, plus the expected HARQ retransmissions x the HARQ round trip,
   plus a fixed transport/core delay. :func:`md1_wait_s` gives the queueing term under load.
5. :func:`link_state` puts them together for the link emulator, which polls it every ~10 ms; what
   depends only on the configuration is cached.

Every constant below that is a model assumption says so and is tagged [U]: it is a choice that
makes the simulated bench behave plausibly, not a 3GPP number, and no verdict may rest on it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from scipy.special import expit

from fivegbench.nr.bandwidth import n_rb
from fivegbench.nr.datarate import QM, R_MAX, SYMBOLS_PER_SLOT, peak_rate_mbps, tdd_fractions
from fivegbench.nr.mcs import mcs_table as _mcs_table
from fivegbench.nr.numerology import mu_from_scs
from fivegbench.sim.world import World

__all__ = [
    "BLER_SLOPE_PER_DB",
    "BLER_TARGET",
    "CORE_DELAY_S",
    "COUPLING_LOSS_DB",
    "GNB_NOISE_FIGURE_DB",
    "HARQ_MAX_TRANSMISSIONS",
    "HARQ_RTT_SLOTS",
    "IMPLEMENTATION_FLOOR_DB",
    "PROCESSING_SLOTS_PER_SIDE",
    "RANK_THRESHOLDS_DB",
    "SHANNON_GAP_DB",
    "THERMAL_NOISE_DBM_PER_HZ",
    "UE_NOISE_FIGURE_DB",
    "UE_TX_POWER_DBM",
    "HarqStats",
    "LinkBudget",
    "McsChoice",
    "RadioLink",
    "bler",
    "capacity_bps",
    "effective_sinr_db",
    "harq",
    "link_budget",
    "link_state",
    "md1_wait_s",
    "noise_per_re_dbm",
    "one_way_delay_s",
    "rank_for_sinr",
    "rsrp_per_re_dbm",
    "rsrq_db",
    "select_mcs",
    "snr50_db",
    "tdd_mean_wait_s",
    "ul_allocations",
]

# ---------------------------------------------------------------------------------------------
# Physics
# ---------------------------------------------------------------------------------------------

THERMAL_NOISE_DBM_PER_HZ = -174.0
"""Thermal noise density kT at T0 = 290 K, dBm/Hz (-173.98 rounded, as link budgets do)."""

# ---------------------------------------------------------------------------------------------
# Model assumptions [U]: choices that make the simulated bench plausible, not 3GPP numbers
# ---------------------------------------------------------------------------------------------

COUPLING_LOSS_DB = 60.0
"""Model assumption [U]: fixed loss of the conducted path between the gNB antenna connector and the
UE (pads, splitters, cables), dB, in addition to the programmable attenuator. Chosen so that the
waterfall of a 43 dBm carrier spans the attenuator's 0..80 dB (SINR > 25 dB at 0 dB, < -5 dB at
80 dB)."""

UE_NOISE_FIGURE_DB = 7.0
"""Model assumption [U]: UE receiver noise figure, dB (a typical FR1 handset figure)."""

GNB_NOISE_FIGURE_DB = 5.0
"""Model assumption [U]: gNB receiver noise figure, dB."""

UE_TX_POWER_DBM = 23.0
"""Model assumption [U]: UE transmit power, dBm (the usual power class 3 maximum; TS 38.101-1 is
not in the reference notes), spread over the REs of its UL allocation (:func:`ul_allocations`)."""

IMPLEMENTATION_FLOOR_DB = 30.0
"""Model assumption [U]: receiver implementation SINR ceiling, dB (EVM, phase noise, channel
estimation), combined with the thermal SINR as a parallel noise source. 30 dB is about 3 % EVM,
just inside the 3.5 % 256QAM EVM of TS 38.104 (nr-standards.md §1.2), so the best MCS stays
reachable at low attenuation and the link saturates there."""

SHANNON_GAP_DB = 2.0
"""Model assumption [U]: gap between an MCS's 50 % BLER SNR and the Shannon SNR of its spectral
efficiency, dB. Checked [D] against NVlabs/sionna ``src/sionna/sys/bler_tables/PDSCH_table2.json``
(AWGN, code block 2000 bits): its 50 % points lie 1.0 (QPSK) to 2.5 dB (256QAM) above Shannon."""

BLER_SLOPE_PER_DB = 2.0
"""Model assumption [U]: slope k of the logistic BLER curve, 1/dB: 10 % BLER lies ln(9)/k = 1.1 dB
above the 50 % point. Deliberately shallower than Sionna's AWGN curves for large code blocks (a
few tenths of a dB from 50 % to 10 %), standing in for small blocks and non-AWGN conditions."""

BLER_TARGET = 0.1
"""Initial-transmission BLER target of link adaptation, the 0.1 of the TS 38.214 CQI tables
(nr-standards.md §2.3)."""

RANK_THRESHOLDS_DB: tuple[tuple[float, int], ...] = ((18.0, 4), (12.0, 3), (5.0, 2))
"""Model assumption [U]: rank adaptation as (minimum effective SINR dB, layers), highest first;
below the last threshold one layer. The result is capped by the configured maximum layers. The
link budget's SINR is taken to be each layer's SINR (the receive-combining gain of a conducted
4x4 bench is assumed to offset splitting the power over the layers)."""

HARQ_MAX_TRANSMISSIONS = 4
"""Model assumption [U]: transmissions of a transport block (1 initial + 3 retransmissions), each
failing independently with the initial BLER (no soft-combining gain: conservative)."""

PROCESSING_SLOTS_PER_SIDE = 1
"""Model assumption [U]: processing time of each side (transmitter and receiver), in slots: 0.5 ms
at 30 kHz. It stands for TS 38.214 processing capability 1 (PDSCH N1 = 10..13 symbols, PUSCH
N2 = 12 symbols at mu = 1, i.e. 0.36..0.46 ms), rounded up to a slot; the air time of the slot
itself is folded in. The symbol counts are [U]: the tables are not in the reference notes."""

HARQ_RTT_SLOTS = 8
"""Model assumption [U]: HARQ round-trip time, in slots (4 ms at 30 kHz): transmission, K1 to the
next UL opportunity for the ACK/NACK, and the gNB's rescheduling."""

CORE_DELAY_S = 1e-3
"""Model assumption [U]: fixed one-way transport (fronthaul/backhaul) and core delay, s."""

_SUBCARRIERS_PER_RB = 12


# ---------------------------------------------------------------------------------------------
# 1. Link budget
# ---------------------------------------------------------------------------------------------


def rsrp_per_re_dbm(
    tx_power_dbm: float, n_rb: int, attenuation_db: float, coupling_loss_db: float = COUPLING_LOSS_DB
) -> float:
    """Received power per resource element, dBm (RSRP when the transmitter is the gNB).

    The transmitter's power is spread evenly over the N_RB x 12 subcarriers of the carrier::

        RSRP = P_tx - 10 log10(N_RB x 12) - L_coupling - A

    Parameters
    ----------
    tx_power_dbm : total transmit power at the antenna connector, dBm.
    n_rb : resource blocks of the carrier (TS 38.104 Table 5.3.2-1).
    attenuation_db : the programmable attenuator's setting, dB.
    coupling_loss_db : the fixed path loss besides the attenuator, dB.
    """
    return tx_power_dbm - 10 * math.log10(n_rb * _SUBCARRIERS_PER_RB) - coupling_loss_db - attenuation_db


def noise_per_re_dbm(scs_hz: float, noise_figure_db: float) -> float:
    """Thermal noise in one subcarrier at the receiver input, dBm: -174 + 10 log10(SCS) + NF.

    Parameters
    ----------
    scs_hz : subcarrier spacing, Hz (the noise bandwidth of one RE).
    noise_figure_db : receiver noise figure, dB.
    """
    return THERMAL_NOISE_DBM_PER_HZ + 10 * math.log10(scs_hz) + noise_figure_db


def effective_sinr_db(sinr_db: float, floor_db: float = IMPLEMENTATION_FLOOR_DB) -> float:
    """Thermal SINR combined with the receiver implementation ceiling, dB.

    SINR_eff = -10 log10(10^(-SINR/10) + 10^(-floor/10)): the two impairments add as independent
    noise powers, so SINR_eff < min(SINR, floor) and tends to ``floor_db`` at high SINR.
    """
    return -10 * math.log10(10 ** (-sinr_db / 10) + 10 ** (-floor_db / 10))


def rsrq_db(rsrp_dbm: float, noise_per_re_dbm: float) -> float:
    """RSRQ under full load, dB (TS 38.215 definition RSRQ = N x RSRP / RSSI).

    With N resource blocks in the RSSI bandwidth and every one of their 12 N REs carrying the
    reference power S plus noise N_RE (full load, no interference), RSSI = 12 N (S + N_RE), so::

        RSRQ = N S / (12 N (S + N_RE)) = S / (12 (S + N_RE))    (linear, mW)

    It tends to -10 log10(12) = -10.79 dB at high SINR and falls 1 dB per dB at low SINR. The
    implementation floor does not enter: it is not power the UE's RSSI sees.

    Parameters
    ----------
    rsrp_dbm : RSRP (received power per RE), dBm.
    noise_per_re_dbm : thermal noise per RE, dBm.
    """
    s = 10 ** (rsrp_dbm / 10)
    n = 10 ** (noise_per_re_dbm / 10)
    return 10 * math.log10(s / (_SUBCARRIERS_PER_RB * (s + n)))


@dataclass(frozen=True)
class LinkBudget:
    """One direction's link budget, per resource element.

    Attributes
    ----------
    rx_per_re_dbm : received signal power per RE, dBm (RSRP in the DL).
    noise_per_re_dbm : thermal noise per RE at the receiver, dBm.
    sinr_thermal_db : rx_per_re_dbm - noise_per_re_dbm, dB.
    sinr_db : the SINR with the implementation floor (:func:`effective_sinr_db`), dB.
    rsrq_db : full-load RSRQ (:func:`rsrq_db`), dB.
    """

    rx_per_re_dbm: float
    noise_per_re_dbm: float
    sinr_thermal_db: float
    sinr_db: float
    rsrq_db: float


def link_budget(
    tx_power_dbm: float,
    attenuation_db: float,
    bandwidth_hz: float,
    scs_hz: float,
    noise_figure_db: float,
    *,
    coupling_loss_db: float = COUPLING_LOSS_DB,
    floor_db: float = IMPLEMENTATION_FLOOR_DB,
    fr: str = "fr1",
) -> LinkBudget:
    """Link budget of one direction of the conducted path (see :class:`LinkBudget`).

    Parameters
    ----------
    tx_power_dbm : transmitter's total power over the carrier, dBm (gNB for the DL, UE for the UL).
    attenuation_db : programmable attenuator setting, dB.
    bandwidth_hz, scs_hz : channel bandwidth and subcarrier spacing, Hz (give N_RB).
    noise_figure_db : the receiver's noise figure, dB (UE for the DL, gNB for the UL).
    coupling_loss_db : fixed path loss besides the attenuator, dB.
    floor_db : receiver implementation SINR ceiling, dB.
    fr : ``fr1`` or ``fr2`` (which N_RB table).
    """
    rb = n_rb(bandwidth_hz, scs_hz, fr2=fr == "fr2")
    rx = rsrp_per_re_dbm(tx_power_dbm, rb, attenuation_db, coupling_loss_db)
    noise = noise_per_re_dbm(scs_hz, noise_figure_db)
    return LinkBudget(
        rx_per_re_dbm=rx,
        noise_per_re_dbm=noise,
        sinr_thermal_db=rx - noise,
        sinr_db=effective_sinr_db(rx - noise, floor_db),
        rsrq_db=rsrq_db(rx, noise),
    )


# ---------------------------------------------------------------------------------------------
# 2. Link adaptation and HARQ
# ---------------------------------------------------------------------------------------------


@lru_cache(maxsize=16)
def _snr50(table: int, gap_db: float) -> npt.NDArray[np.float64]:
    se = _mcs_table(table).spectral_efficiencies
    out = 10 * np.log10(np.exp2(se) - 1) + gap_db
    out.setflags(write=False)
    return out


def snr50_db(table: int = 2, gap_db: float = SHANNON_GAP_DB) -> npt.NDArray[np.float64]:
    """SNR at 50 % BLER of every usable MCS of ``table``, dB: 10 log10(2^SE - 1) + gap.

    Returns a read-only array indexed by I_MCS.
    """
    return _snr50(table, float(gap_db))


def bler(
    sinr_db: float,
    table: int = 2,
    *,
    gap_db: float = SHANNON_GAP_DB,
    slope_per_db: float = BLER_SLOPE_PER_DB,
) -> npt.NDArray[np.float64]:
    """Initial-transmission BLER of every usable MCS of ``table`` at ``sinr_db`` (logistic model).

    BLER_MCS = 1 / (1 + exp(k (SINR - SNR50_MCS))), k = ``slope_per_db``, SNR50 from
    :func:`snr50_db`. Returns an array indexed by I_MCS, each in (0, 1).
    """
    return np.asarray(expit(-slope_per_db * (sinr_db - snr50_db(table, gap_db))), dtype=np.float64)


@dataclass(frozen=True)
class McsChoice:
    """Outcome of link adaptation for one SINR.

    Attributes
    ----------
    index : I_MCS in the table.
    qm : modulation order Q_m, bits.
    r_x1024 : target code rate R x 1024.
    bler : initial-transmission BLER of that MCS at the SINR.
    feasible : False when not even MCS 0 meets the BLER target (the link is then run at MCS 0
        with whatever BLER it has).
    """

    index: int
    qm: int
    r_x1024: float
    bler: float
    feasible: bool

    @property
    def spectral_efficiency(self) -> float:
        """Q_m x R / 1024, bit/s/Hz per layer."""
        return self.qm * self.r_x1024 / 1024


def select_mcs(
    sinr_db: float,
    table: int = 2,
    *,
    bler_target: float = BLER_TARGET,
    gap_db: float = SHANNON_GAP_DB,
    slope_per_db: float = BLER_SLOPE_PER_DB,
) -> McsChoice:
    """Inner-loop link adaptation: the MCS maximising the expected goodput SE x (1 - BLER) among
    those whose BLER is at most ``bler_target``; MCS 0 if none is (``feasible=False``).

    Parameters
    ----------
    sinr_db : effective SINR per layer, dB.
    table : MCS table number, 1 (64QAM) or 2 (256QAM).
    bler_target : largest allowed initial-transmission BLER.
    gap_db, slope_per_db : the logistic BLER model (:func:`bler`).
    """
    t = _mcs_table(table)
    b = bler(sinr_db, table, gap_db=gap_db, slope_per_db=slope_per_db)
    ok = b <= bler_target
    if ok.any():
        goodput = np.where(ok, t.spectral_efficiencies * (1 - b), -1.0)
        index = int(np.argmax(goodput))
    else:
        index = 0
    qm, r = t.entries[index]
    return McsChoice(index=index, qm=qm, r_x1024=r, bler=float(b[index]), feasible=bool(ok.any()))


def rank_for_sinr(sinr_db: float, max_layers: int) -> int:
    """Layers used at an effective SINR: :data:`RANK_THRESHOLDS_DB`, capped by ``max_layers``.

    With the default table: 4 layers from 18 dB, 3 from 12 dB, 2 from 5 dB, else 1.
    """
    for threshold, layers in RANK_THRESHOLDS_DB:
        if sinr_db >= threshold:
            return min(layers, max_layers)
    return 1


@dataclass(frozen=True)
class HarqStats:
    """What HARQ makes of an initial-transmission BLER p with up to n transmissions.

    Attributes
    ----------
    residual_loss : p^n, the probability that a transport block is never delivered.
    goodput_factor : delivered blocks per transmission, (1 - p^n) / (1 + p + ... + p^(n-1))
        = 1 - p.
    extra_round_trips : mean number of retransmissions a *delivered* block needed,
        sum_{i<n} i p^i (1 - p) / (1 - p^n) = p/(1 - p) - n p^n/(1 - p^n): the untruncated
        p/(1 - p) less n p^n/(1 - p^n) (4.0e-4 at p = 0.1, 0.4 %), and it tends to (n - 1)/2 as
        p -> 1, where p/(1 - p) would diverge.
    """

    residual_loss: float
    goodput_factor: float
    extra_round_trips: float


def harq(bler: float, max_transmissions: int = HARQ_MAX_TRANSMISSIONS) -> HarqStats:
    """HARQ statistics for an initial-transmission BLER (see :class:`HarqStats`).

    Transmissions fail independently with probability ``bler`` (no combining gain).
    """
    if not 0 <= bler <= 1:
        raise ValueError(f"BLER must be in [0, 1], got {bler!r}")
    n = max_transmissions
    if not (isinstance(n, int) and n >= 1):
        raise ValueError(f"max_transmissions must be a positive integer, got {n!r}")
    p = float(bler)
    residual = p**n
    if residual >= 1.0:  # p == 1, or so close that p^n rounds to 1: nothing is delivered
        return HarqStats(residual_loss=1.0, goodput_factor=0.0, extra_round_trips=(n - 1) / 2)
    extra = sum(i * p**i for i in range(n)) * (1 - p) / (1 - residual)
    return HarqStats(residual_loss=residual, goodput_factor=1 - p, extra_round_trips=extra)


# ---------------------------------------------------------------------------------------------
# 3-4. Configuration-only terms: capacity scale, TDD share and wait (cached)
# ---------------------------------------------------------------------------------------------


def _parse_special(special_slot: str | None) -> tuple[int, int]:
    """(DL, UL) symbols of a special slot ``D:G:U``; the caller has validated it."""
    if special_slot is None:
        return 0, 0
    d, _g, u = (int(part) for part in special_slot.split(":"))
    return d, u


def _opportunity_starts(pattern: str | None, special_slot: str | None, direction: str) -> list[int]:
    """Symbol indices (from the start of the pattern) at which a transmission opportunity of
    ``direction`` begins: the first symbol of the direction in each slot that has any."""
    slots = "D" if pattern is None else pattern.strip().upper()
    d_special, u_special = _parse_special(special_slot if "S" in slots else None)
    starts: list[int] = []
    for i, kind in enumerate(slots):
        base = i * SYMBOLS_PER_SLOT
        if (
            pattern is None
            or (kind == "D" and direction == "dl")
            or (kind == "U" and direction == "ul")
            or (kind == "S" and direction == "dl" and d_special > 0)
        ):
            starts.append(base)
        elif kind == "S" and direction == "ul" and u_special > 0:
            starts.append(base + SYMBOLS_PER_SLOT - u_special)
    return starts


def _check_direction(direction: str) -> None:
    if direction not in ("dl", "ul"):
        raise ValueError(f"direction must be dl or ul, got {direction!r}")


def tdd_mean_wait_s(
    tdd_pattern: str | None, special_slot: str | None, scs_hz: float, direction: str
) -> float:
    """Mean wait for the next transmission opportunity of a direction, s.

    An opportunity begins at the first symbol of the direction in each slot (a D or U slot's first
    symbol; in a special slot D:G:U, its first symbol for the DL and symbol 14 - U for the UL; in
    FDD, every slot's first symbol). For an arrival time uniform over the pattern, the wait to the
    next start is, with g_i the gaps between consecutive starts (cyclically) and T the period::

        E[wait] = sum_i g_i^2 / (2 T)

    Symbols are taken as slot / 14 long (the 38.306 average symbol; the longer first CP of each
    half subframe is ignored). ``inf`` if the direction has no symbol in the pattern.

    Parameters
    ----------
    tdd_pattern : slot pattern such as ``DDDSU``; None for FDD.
    special_slot : split of the S slot, ``D:G:U`` symbols, e.g. ``10:2:2``.
    scs_hz : subcarrier spacing, Hz (sets the slot length, 1 ms / 2^mu).
    direction : ``dl`` or ``ul``.
    """
    _check_direction(direction)
    tdd_fractions(tdd_pattern, special_slot)  # validates the pattern and split
    symbol_s = 1e-3 / (SYMBOLS_PER_SLOT * 2 ** mu_from_scs(scs_hz))
    starts = _opportunity_starts(tdd_pattern, special_slot, direction)
    if not starts:
        return math.inf
    period = (1 if tdd_pattern is None else len(tdd_pattern.strip())) * SYMBOLS_PER_SLOT
    gaps = np.diff(np.array([*starts, starts[0] + period], dtype=np.float64))
    return float(np.sum(gaps**2) / (2 * period)) * symbol_s


@dataclass(frozen=True)
class _Config:
    """Terms that depend only on the carrier configuration."""

    n_rb: int
    slot_s: float
    rate_per_unit_bps: dict[str, float]  # bit/s per layer per unit of Q_m x R (FDD-equivalent)
    share: dict[str, float]  # TDD symbol share
    wait_s: dict[str, float]  # mean wait for the next opportunity


@lru_cache(maxsize=64)
def _config(
    bandwidth_hz: float, scs_hz: float, tdd_pattern: str | None, special_slot: str | None, fr: str
) -> _Config:
    fractions = tdd_fractions(tdd_pattern, special_slot)
    # peak_rate_mbps is linear in layers x Q_m x R_max; one layer of QPSK at R_max, divided by
    # 2 R_max, is the rate per layer per unit of Q_m x R.
    unit = {
        d: peak_rate_mbps(bandwidth_hz, scs_hz, 1, "qpsk", d, fr) * 1e6 / (QM["qpsk"] * R_MAX)
        for d in ("dl", "ul")
    }
    return _Config(
        n_rb=n_rb(bandwidth_hz, scs_hz, fr2=fr == "fr2"),
        slot_s=1e-3 / 2 ** mu_from_scs(scs_hz),
        rate_per_unit_bps=unit,
        share={"dl": fractions.dl, "ul": fractions.ul},
        wait_s={d: tdd_mean_wait_s(tdd_pattern, special_slot, scs_hz, d) for d in ("dl", "ul")},
    )


def capacity_bps(
    bandwidth_hz: float,
    scs_hz: float,
    tdd_pattern: str | None,
    special_slot: str | None,
    direction: str,
    layers: int,
    qm: int,
    r_x1024: float,
    bler: float,
    fr: str = "fr1",
) -> float:
    """Capacity of one direction, bit/s.

    TS 38.306 §4.1.2 with the MCS's Q_m x R in place of Q_m x R_max, times the HARQ goodput factor
    and the TDD symbol share::

        C = 1e6 x peak_rate_mbps(BW, SCS, layers, Q_m) x (R / 1024) / R_max x (1 - BLER) x share

    i.e. layers x Q_m x (R/1024) x N_PRB x 12 / T_s x (1 - OH) x (1 - BLER) x share, with the
    clause's overhead OH (0.14 FR1 DL, 0.08 FR1 UL) and scaling factor f = 1.

    Parameters
    ----------
    bandwidth_hz, scs_hz : channel bandwidth and subcarrier spacing, Hz.
    tdd_pattern, special_slot : TDD slot pattern and special-slot split (None: FDD).
    direction : ``dl`` or ``ul``.
    layers : MIMO layers, 1..8.
    qm, r_x1024 : modulation order and code rate x 1024 of the MCS.
    bler : initial-transmission BLER.
    fr : ``fr1`` or ``fr2``.
    """
    _check_direction(direction)
    if not (isinstance(layers, int) and 1 <= layers <= 8):
        raise ValueError(f"layers must be 1..8, got {layers!r}")
    if not 0 <= bler <= 1:
        raise ValueError(f"BLER must be in [0, 1], got {bler!r}")
    cfg = _config(float(bandwidth_hz), float(scs_hz), tdd_pattern, special_slot, fr)
    return cfg.rate_per_unit_bps[direction] * layers * qm * r_x1024 / 1024 * (1 - bler) * cfg.share[direction]


def one_way_delay_s(
    mean_wait_s: float,
    slot_s: float,
    extra_round_trips: float,
    *,
    processing_slots_per_side: float = PROCESSING_SLOTS_PER_SIDE,
    harq_rtt_slots: float = HARQ_RTT_SLOTS,
    core_delay_s: float = CORE_DELAY_S,
) -> float:
    """One-way delay of a packet over the link, s (no queueing: see :func:`md1_wait_s`)::

        delay = wait + 2 x processing + E x HARQ_RTT + core

    Parameters
    ----------
    mean_wait_s : mean wait for the direction's next opportunity (:func:`tdd_mean_wait_s`), s.
    slot_s : slot duration, s.
    extra_round_trips : mean HARQ retransmissions E of a delivered block (:class:`HarqStats`).
    processing_slots_per_side : processing time of the transmitter and of the receiver, slots.
    harq_rtt_slots : HARQ round-trip time, slots.
    core_delay_s : fixed transport/core delay, s.
    """
    processing = 2 * processing_slots_per_side * slot_s
    return mean_wait_s + processing + extra_round_trips * harq_rtt_slots * slot_s + core_delay_s


def md1_wait_s(offered_bps: float, capacity_bps: float, packet_bytes: float) -> float:
    """Mean queueing delay (time in queue before service) of an M/D/1 queue, s.

    Packets of ``packet_bytes`` arrive as a Poisson stream at ``offered_bps`` and are served at
    ``capacity_bps``, so the service time is S = 8 x packet_bytes / capacity and the load is
    rho = offered / capacity. Pollaczek-Khinchine with deterministic service::

        W_q = rho S / (2 (1 - rho))

    Real traffic (TCP bursts, TDD-batched service) queues differently; this is the smooth
    textbook term the emulator may add. ``inf`` when rho >= 1 (the queue grows without bound).

    Parameters
    ----------
    offered_bps : offered load, bit/s (>= 0).
    capacity_bps : link capacity, bit/s (>= 0).
    packet_bytes : mean packet size, bytes (> 0).
    """
    if not (offered_bps >= 0 and capacity_bps >= 0 and packet_bytes > 0):
        raise ValueError(
            "offered and capacity must be >= 0 bit/s and the packet size > 0 bytes, got "
            f"{offered_bps!r}, {capacity_bps!r}, {packet_bytes!r}"
        )
    if offered_bps == 0:
        return 0.0
    if offered_bps >= capacity_bps:
        return math.inf
    rho = offered_bps / capacity_bps
    service_s = 8 * packet_bytes / capacity_bps
    return rho * service_s / (2 * (1 - rho))


def ul_allocations(n_rb: int) -> list[int]:
    """UL allocations the scheduler weighs for a power-limited UE: the whole carrier and its
    halvings down to one PRB (10 log10(273) = 24 dB of power concentration at most)."""
    out = [n_rb]
    while out[-1] > 1:
        out.append(out[-1] // 2)
    return out


# ---------------------------------------------------------------------------------------------
# 5. The entry point
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RadioLink:
    """What the UE measures and what the link carries, at one instant.

    Attributes
    ----------
    rsrp_dbm : DL RSRP (power per RE), dBm.
    rsrq_db : DL RSRQ, full load, dB.
    sinr_db : DL SINR including the UE's implementation floor, dB (what the UE reports).
    ul_sinr_db : UL SINR at the gNB over the chosen allocation, implementation floor included, dB.
    prb_ul : PRBs of the UL allocation (all of the carrier until the UE runs out of power).
    mcs_dl, mcs_ul : I_MCS chosen in the configured MCS table.
    layers_dl, layers_ul : MIMO layers used.
    bler_dl, bler_ul : initial-transmission BLER of the chosen MCS.
    dl_rate_bps, ul_rate_bps : capacity after HARQ and TDD share, bit/s.
    dl_delay_s, ul_delay_s : mean one-way delay without queueing, s.
    dl_loss, ul_loss : residual loss after HARQ (probability a packet is never delivered).
    """

    rsrp_dbm: float
    rsrq_db: float
    sinr_db: float
    ul_sinr_db: float
    prb_ul: int
    mcs_dl: int
    mcs_ul: int
    layers_dl: int
    layers_ul: int
    bler_dl: float
    bler_ul: float
    dl_rate_bps: float
    ul_rate_bps: float
    dl_delay_s: float
    ul_delay_s: float
    dl_loss: float
    ul_loss: float


def _finite(name: str, value: float) -> float:
    if not (isinstance(value, int | float) and math.isfinite(value)):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def link_state(
    tx_power_dbm: float,
    attenuation_db: float,
    bandwidth_hz: float,
    scs_hz: float,
    tdd_pattern: str | None,
    special_slot: str | None,
    *,
    layers_dl: int = 4,
    layers_ul: int = 1,
    mcs_table: int = 2,
    fr: str = "fr1",
    ue_tx_power_dbm: float = UE_TX_POWER_DBM,
    coupling_loss_db: float = COUPLING_LOSS_DB,
    ue_noise_figure_db: float = UE_NOISE_FIGURE_DB,
    gnb_noise_figure_db: float = GNB_NOISE_FIGURE_DB,
    implementation_floor_db: float = IMPLEMENTATION_FLOOR_DB,
    core_delay_s: float = CORE_DELAY_S,
) -> RadioLink:
    """The radio link for the world's state (see the module docstring for the model).

    Parameters
    ----------
    tx_power_dbm : gNB total transmit power at the antenna connector, dBm (``world.gnb``).
    attenuation_db : programmable attenuator setting, dB (``world.attenuation_db``, >= 0).
    bandwidth_hz, scs_hz : channel bandwidth and subcarrier spacing, Hz.
    tdd_pattern : slot pattern, e.g. ``DDDSU``; None for FDD.
    special_slot : special-slot split ``D:G:U``, e.g. ``10:2:2``.
    layers_dl, layers_ul : maximum MIMO layers (UE/gNB capability), 1..8.
    mcs_table : MCS table for both directions, 1 (64QAM) or 2 (256QAM).
    fr : ``fr1`` or ``fr2``.
    ue_tx_power_dbm : UE transmit power, dBm [U].
    coupling_loss_db : fixed path loss besides the attenuator, dB [U].
    ue_noise_figure_db, gnb_noise_figure_db : receiver noise figures, dB [U].
    implementation_floor_db : receiver SINR ceiling of both ends, dB [U].
    core_delay_s : fixed one-way transport/core delay, s [U].

    Returns
    -------
    RadioLink
    """
    tx = _finite("tx_power_dbm", tx_power_dbm)
    att = _finite("attenuation_db", attenuation_db)
    if att < 0:
        raise ValueError(f"attenuation_db must be >= 0 dB, got {attenuation_db!r}")
    for name, layers in (("layers_dl", layers_dl), ("layers_ul", layers_ul)):
        if not (isinstance(layers, int) and 1 <= layers <= 8):
            raise ValueError(f"{name} must be 1..8, got {layers!r}")
    _mcs_table(mcs_table)
    cfg = _config(float(bandwidth_hz), float(scs_hz), tdd_pattern, special_slot, fr)

    budget = {
        "dl": link_budget(
            tx, att, bandwidth_hz, scs_hz, ue_noise_figure_db,
            coupling_loss_db=coupling_loss_db, floor_db=implementation_floor_db, fr=fr,
        ),
        "ul": link_budget(
            ue_tx_power_dbm, att, bandwidth_hz, scs_hz, gnb_noise_figure_db,
            coupling_loss_db=coupling_loss_db, floor_db=implementation_floor_db, fr=fr,
        ),
    }  # fmt: skip
    max_layers = {"dl": layers_dl, "ul": layers_ul}

    def adapt(d: str, sinr: float, share_of_carrier: float) -> tuple[McsChoice, int, float]:
        choice = select_mcs(sinr, mcs_table)
        layers = rank_for_sinr(sinr, max_layers[d])
        full = capacity_bps(
            bandwidth_hz,
            scs_hz,
            tdd_pattern,
            special_slot,
            d,
            layers,
            choice.qm,
            choice.r_x1024,
            choice.bler,
            fr,
        )
        return choice, layers, full * share_of_carrier

    dl = adapt("dl", budget["dl"].sinr_db, 1.0)
    # The UE's power is fixed, so fewer PRBs each get more of it: the UL scheduler picks the
    # allocation that carries the most.
    ul_prbs, ul_sinr, ul = 0, -math.inf, (select_mcs(-math.inf, mcs_table), 1, -1.0)
    for prbs in ul_allocations(cfg.n_rb):
        concentration_db = 10 * math.log10(cfg.n_rb / prbs)
        sinr = effective_sinr_db(budget["ul"].sinr_thermal_db + concentration_db, implementation_floor_db)
        candidate = adapt("ul", sinr, prbs / cfg.n_rb)
        if candidate[2] > ul[2]:  # ties keep the larger allocation
            ul_prbs, ul_sinr, ul = prbs, sinr, candidate
    out = {}
    for d, (choice, layers, rate) in (("dl", dl), ("ul", ul)):
        h = harq(choice.bler)
        delay = one_way_delay_s(cfg.wait_s[d], cfg.slot_s, h.extra_round_trips, core_delay_s=core_delay_s)
        out[d] = (choice, layers, rate, delay, h.residual_loss)

    (mcs_dl, l_dl, r_dl, t_dl, loss_dl), (mcs_ul, l_ul, r_ul, t_ul, loss_ul) = out["dl"], out["ul"]
    return RadioLink(
        rsrp_dbm=budget["dl"].rx_per_re_dbm,
        rsrq_db=budget["dl"].rsrq_db,
        sinr_db=budget["dl"].sinr_db,
        ul_sinr_db=ul_sinr,
        prb_ul=ul_prbs,
        mcs_dl=mcs_dl.index,
        mcs_ul=mcs_ul.index,
        layers_dl=l_dl,
        layers_ul=l_ul,
        bler_dl=mcs_dl.bler,
        bler_ul=mcs_ul.bler,
        dl_rate_bps=r_dl,
        ul_rate_bps=r_ul,
        dl_delay_s=t_dl,
        ul_delay_s=t_ul,
        dl_loss=loss_dl,
        ul_loss=loss_ul,
    )


def world_link(world: World) -> RadioLink | None:
    """The radio link for the simulated world now: the gNB's carrier and TX power through the
    attenuator; None while the gNB is not transmitting (no cell)."""
    with world.lock:
        gnb = world.gnb
        if not gnb.rf_on:
            return None
        arguments = (
            gnb.tx_power_dbm,
            world.attenuation_db,
            gnb.bandwidth_hz,
            gnb.scs_hz,
            gnb.tdd_pattern,
            gnb.special_slot,
        )
    return link_state(*arguments)
