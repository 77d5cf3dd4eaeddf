"""Limit preset builders: each returns the :class:`~fivegbench.verdict.Requirement` s of one
step from declared powers, BS class, band and carrier frequency. Which kind uses which builder,
and where its arguments come from in the plan, is declared with the kind
(:mod:`fivegbench.kinds`).

All numbers come from :mod:`fivegbench.nr.requirements` with their clause and status. Test
requirements are the minimum requirement relaxed by the TS 38.141-1 test tolerance (shared-risk
principle). Every test tolerance used here is currently [U], so every limit built here carries
``tolerance_unverified=True``.
"""

from __future__ import annotations

import math

from fivegbench.nr import requirements as req
from fivegbench.nr.masks import obue_mask
from fivegbench.reduce.aclr import ADJACENT_CHANNELS
from fivegbench.verdict import Limit, Requirement

__all__ = [
    "rf_aclr_3gpp",
    "rf_evm_3gpp",
    "rf_freq_error_3gpp",
    "rf_obw_3gpp",
    "rf_power_3gpp",
    "rf_sem_3gpp",
    "traffic_latency_itu",
    "traffic_throughput_itu",
]


def _status_note(*numbers: req.SpecNumber) -> str:
    parts = []
    for n in numbers:
        tag = "UNVERIFIED [U]" if n.unverified else f"[{n.status}]"
        parts.append(f"{n.name} = {n.value:g} {n.unit} {tag} ({n.clause})")
    return "; ".join(parts)


def rf_power_3gpp(
    rated_output_power_dbm: float, configured_power_dbm: float, frequency_hz: float
) -> list[Requirement]:
    """BS output power (TS 38.104 §6.2.2, test TS 38.141-1 §6.2): value ``channel_power`` (dBm).

    Limit: configured ± (2.0 dB + TT(f)) with TT 0.7 / 1.0 / 1.2 dB for f ≤ 3 / ≤ 4.2 / ≤ 6 GHz
    (all [U]). TS 38.104 states the ±2 dB requirement at rated output power (Prated,c); a plan
    that sweeps below rated power uses the declared/configured power of the step as the
    reference instead, which is the same when the step runs at rated power. A configured power
    above the rated power is refused (ValueError): the requirement does not cover it.

    Parameters
    ----------
    rated_output_power_dbm : declared rated output power Prated,c per carrier, dBm.
    configured_power_dbm : power the BS is configured to transmit in this step, dBm.
    frequency_hz : carrier centre frequency, Hz (selects the test tolerance).
    """
    if not (math.isfinite(rated_output_power_dbm) and math.isfinite(configured_power_dbm)):
        raise ValueError("rated and configured output power must be finite numbers (dBm)")
    if configured_power_dbm > rated_output_power_dbm + 1e-9:
        raise ValueError(
            f"configured power {configured_power_dbm:g} dBm is above the rated output power "
            f"{rated_output_power_dbm:g} dBm; TS 38.104 §6.2 does not cover that"
        )
    acc = req.output_power_accuracy("normal")
    tt = req.output_power_test_tolerance(frequency_hz)
    half_width = acc.value + tt.value
    reference = (
        "rated output power"
        if math.isclose(configured_power_dbm, rated_output_power_dbm, abs_tol=1e-9)
        else f"configured power (below rated {rated_output_power_dbm:g} dBm)"
    )
    limit = Limit(
        value="channel_power",
        low=configured_power_dbm - half_width,
        high=configured_power_dbm + half_width,
        unit="dBm",
        minimum_requirement=acc.value,
        test_tolerance=tt.value,
        tolerance_unverified=tt.unverified or acc.unverified,
        clause=f"{acc.clause}; {tt.clause}",
        note=(
            f"reference {configured_power_dbm:g} dBm = {reference}; "
            f"±{acc.value:g} dB ± TT {tt.value:g} dB; {_status_note(acc, tt)}"
        ),
    )
    return [Requirement("output_power", (limit,))]


def rf_aclr_3gpp(bs_class: str, category: str, band: str | int, frequency_hz: float) -> list[Requirement]:
    """NR ACLR (TS 38.104 §6.6.3, test TS 38.141-1 §6.7.3): one requirement per adjacent channel.

    For each ``<name>`` in lower1, upper1, lower2, upper2 a requirement ``aclr_<name>`` with two
    alternatives, whichever is less stringent (§6.6.3.3):

    * relative: ``aclr_<name>`` ≥ ACLR_min − TT dB (45 − 0.8 = 44.2 dB; n46/n96/n102:
      35/40 dB − TT);
    * absolute: ``adjacent_<name>_density`` ≤ basic limit + TT dBm/MHz (Cat A WA −13 + 0.8 =
      −12.2; Cat B WA −15; MR −25; LA −32, each + TT).

    The value names are those of :meth:`fivegbench.reduce.aclr.AclrResult.values`.

    Parameters
    ----------
    bs_class : ``wide_area``, ``medium_range`` or ``local_area``.
    category : ``A`` or ``B`` (Wide Area only; validated for all classes).
    band : NR operating band, e.g. ``"n78"``.
    frequency_hz : carrier centre frequency, Hz (FR1).
    """
    tt = req.aclr_test_tolerance(frequency_hz)
    absolute = req.aclr_absolute_limit(bs_class, category)
    out = []
    for name, k in ADJACENT_CHANNELS:
        relative = req.aclr_relative_limit(band, abs(k))
        rel = Limit(
            value=f"aclr_{name}",
            low=relative.value - tt.value,
            high=None,
            unit="dB",
            minimum_requirement=relative.value,
            test_tolerance=tt.value,
            tolerance_unverified=tt.unverified or relative.unverified,
            clause=f"{relative.clause}; {tt.clause}",
            note=f"relative ACLR, band {req.normalize_band(band)}; {_status_note(relative, tt)}",
        )
        ab = Limit(
            value=f"adjacent_{name}_density",
            low=None,
            high=absolute.value + tt.value,
            unit="dBm/MHz",
            minimum_requirement=absolute.value,
            test_tolerance=tt.value,
            tolerance_unverified=tt.unverified or absolute.unverified,
            clause=f"{absolute.clause}; {tt.clause}",
            note=f"absolute basic limit, {bs_class} category {category}; {_status_note(absolute, tt)}",
        )
        out.append(Requirement(f"aclr_{name}", (rel, ab)))
    return out


def rf_obw_3gpp(channel_bandwidth_hz: float) -> list[Requirement]:
    """Occupied bandwidth (TS 38.104 §6.6.2, [V]): 99 % bandwidth ≤ the BS channel bandwidth.

    No 38.141-1 test tolerance for OBW is recorded in the reference notes, so none is applied
    (the limit is the minimum requirement itself).
    """
    limit = req.occupied_bandwidth_limit_hz(channel_bandwidth_hz)
    return [
        Requirement(
            "occupied_bandwidth",
            (
                Limit(
                    value="obw",
                    low=None,
                    high=limit,
                    unit="Hz",
                    minimum_requirement=limit,
                    test_tolerance=None,
                    clause=req.OCCUPIED_BANDWIDTH_MAX.clause,
                    note=f"99 % bandwidth ≤ channel bandwidth; {_status_note(req.OCCUPIED_BANDWIDTH_MAX)}",
                ),
            ),
        )
    ]


def rf_sem_3gpp(category: str, bs_class: str, band: str) -> list[Requirement]:
    """Operating band unwanted emissions (TS 38.104 §6.6.4; mask from :mod:`fivegbench.nr.masks`).

    The measured value ``sem_margin`` is the worst (mask − measured) over the spectrum, in dB,
    against the minimum requirement; the test requirement relaxes it by the OBUE test tolerance
    (1.5 dB [U]), so the limit is ``sem_margin ≥ −TT``.
    """
    mask = obue_mask(category, bs_class, band=band)
    tt = mask.test_tolerance
    return [
        Requirement(
            "operating_band_unwanted_emissions",
            (
                Limit(
                    value="sem_margin",
                    low=-tt.value,
                    high=None,
                    unit="dB",
                    minimum_requirement=0.0,
                    test_tolerance=tt.value,
                    tolerance_unverified=tt.unverified,
                    clause=f"{mask.clause}; {tt.clause}",
                    note=f"{mask.name}; mask levels [V2], measurement bandwidths and Δf_OBUE [U]; "
                    f"{_status_note(tt)}",
                ),
            ),
        )
    ]


def rf_evm_3gpp(modulations: tuple[str, ...]) -> list[Requirement]:
    """EVM (TS 38.104 §6.5.2 Table 6.5.2.2-1, test TS 38.141-1 §6.6.2): one requirement per PDSCH
    modulation the test model carries, on the value ``evm_<modulation>`` (lower case, %).

    Limit: EVM ≤ minimum requirement + TT 1.0 percentage point [V2]: QPSK 18.5 %, 16QAM 13.5 %,
    64QAM 9 %, 256QAM 4.5 %. The EVM is the RMS over the capture (one test-model period, 10 ms FDD /
    20 ms TDD) at the worse of the two Annex B window positions.

    Parameters
    ----------
    modulations : the modulations, e.g. ``("64QAM",)`` for NR-FR1-TM3.1.
    """
    tt = req.evm_test_tolerance()
    out = []
    for modulation in modulations:
        minimum = req.evm_limit(modulation)
        name = f"evm_{req.normalize_modulation(modulation).lower()}"
        limit = Limit(
            value=name,
            low=None,
            high=minimum.value + tt.value,
            unit="%",
            minimum_requirement=minimum.value,
            test_tolerance=tt.value,
            tolerance_unverified=tt.unverified or minimum.unverified,
            clause=f"{minimum.clause}; {tt.clause}",
            note=f"{modulation} EVM ≤ {minimum.value:g} % + TT {tt.value:g} %; {_status_note(minimum, tt)}",
        )
        out.append(Requirement(name, (limit,)))
    return out


def rf_freq_error_3gpp(bs_class: str, frequency_hz: float) -> list[Requirement]:
    """Frequency error (TS 38.104 §6.5.1, test TS 38.141-1 §6.6.1): value ``freq_error`` (Hz).

    Limit: ±(ppm of the BS class x carrier + TT) Hz: Wide Area 0.05 ppm, Medium Range and Local
    Area 0.1 ppm [V2]; TT 12 Hz [U]. E.g. Wide Area at 3.75 GHz: ±(187.5 + 12) Hz.

    Parameters
    ----------
    bs_class : ``wide_area``, ``medium_range`` or ``local_area``.
    frequency_hz : carrier centre frequency, Hz.
    """
    minimum = req.frequency_error_limit(bs_class)
    tt = req.frequency_error_test_tolerance()
    hz = req.frequency_error_limit_hz(bs_class, frequency_hz, include_test_tolerance=False)
    half_width = req.frequency_error_limit_hz(bs_class, frequency_hz)
    limit = Limit(
        value="freq_error",
        low=-half_width,
        high=half_width,
        unit="Hz",
        minimum_requirement=hz,
        test_tolerance=tt.value,
        tolerance_unverified=tt.unverified or minimum.unverified,
        clause=f"{minimum.clause}; {tt.clause}",
        note=(
            f"±{minimum.value:g} ppm of {frequency_hz / 1e6:g} MHz = ±{hz:g} Hz, ± TT {tt.value:g} Hz; "
            f"{bs_class}; {_status_note(minimum, tt)}"
        ),
    )
    return [Requirement("frequency_error", (limit,))]


ITU_NOTE = "IMT-2020 evaluation target (ITU-R M.2410-0), not a conformance limit: indicative only [V2]"
#: ITU-R M.2410-0 user experienced data rate (5th percentile user throughput, Dense Urban eMBB).
ITU_USER_RATE_MBIT_S = {"dl": 100.0, "ul": 50.0}
#: ITU-R M.2410-0 user-plane latency, one way, eMBB (URLLC: 1 ms), ms.
ITU_USER_PLANE_LATENCY_MS = 4.0


def traffic_throughput_itu(direction: str) -> list[Requirement]:
    """User experienced data rate (ITU-R M.2410-0): ``throughput`` ≥ 100 Mbit/s DL, 50 UL.

    M.2410 states it as the 5th percentile of user throughput in a Dense Urban network; one UE
    on a bench measures one user, so the figure is indicative. A bidirectional step has no single
    target and is refused (ValueError).
    """
    if direction not in ITU_USER_RATE_MBIT_S:
        raise ValueError("itu-m2410-indicative judges dl or ul throughput, not bidir")
    target = ITU_USER_RATE_MBIT_S[direction]
    limit = Limit(
        value="throughput",
        low=target,
        high=None,
        unit="Mbit/s",
        minimum_requirement=target,
        clause="ITU-R M.2410-0 user experienced data rate",
        note=f"{direction.upper()} {target:g} Mbit/s; {ITU_NOTE}",
    )
    return [Requirement("user_experienced_data_rate", (limit,))]


def traffic_latency_itu() -> list[Requirement]:
    """User-plane latency (ITU-R M.2410-0): 4 ms one way for eMBB, judged from the round trip:
    ``rtt_p50`` ≤ 8 ms, i.e. RTT/2 ≤ 4 ms assuming equal delays both ways (the record says so).

    M.2410 defines it for small packets on an unloaded link; the URLLC target (1 ms) is not
    judged by this preset.
    """
    limit = Limit(
        value="rtt_p50",
        low=None,
        high=2 * ITU_USER_PLANE_LATENCY_MS,
        unit="ms",
        minimum_requirement=ITU_USER_PLANE_LATENCY_MS,
        clause="ITU-R M.2410-0 user-plane latency (eMBB)",
        note=(
            f"one-way {ITU_USER_PLANE_LATENCY_MS:g} ms judged from RTT/2 (assumes symmetric delays; "
            f"unloaded, small packets); {ITU_NOTE}"
        ),
    )
    return [Requirement("user_plane_latency", (limit,))]
