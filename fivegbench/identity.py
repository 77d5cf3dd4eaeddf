"""Are the instruments and the DUT who the bench and the plan say they are?

Checked after connecting and before the gNB transmits: every instrument's identity (``*IDN?``,
the modem's identity, the gNB's ``show version``) must contain the serial the bench declares,
and the gNB must report the DUT's serial and firmware the plan declares. A bench file copied
from another bench, or a DUT swapped without updating the plan, is caught here rather than in
an auditor's review.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import re
from collections.abc import Mapping
from typing import Any

from fivegbench.errors import FivegbenchError

log = logging.getLogger(__name__)

POLICIES = ("enforce", "warn")
"""What a plan's ``identity`` may say: a mismatch stops the run, or is recorded and flagged."""


def _names(serial: str, identity: str) -> bool:
    """True when ``serial`` appears in ``identity`` as a whole token (``101234`` in R&S's
    ``1312.8000K26/101234``, ``11912070001`` in ``SN 11912070001``, never in ``1101234``)."""
    return re.search(rf"(?<![A-Za-z0-9]){re.escape(serial)}(?![A-Za-z0-9])", identity) is not None


def mismatches(
    serials: Mapping[str, str | None],
    identities: Mapping[str, str],
    gnb_version: Mapping[str, str] | None,
    dut: Any,
) -> list[str]:
    """Every disagreement, one line each (empty when everyone is who they claim to be).

    Parameters
    ----------
    serials : role -> the serial the bench declares (None: not declared, not checked).
    identities : role -> what the instrument answered when asked who it is.
    gnb_version : the gNB's ``show version`` groups (``serial``, ``software``), None without a gNB.
    dut : the plan's DUT section (``serial``, ``firmware``; None: not declared, not checked).
    """
    found = []
    for role, identity in identities.items():
        serial = serials.get(role)
        if serial and not _names(str(serial), identity):
            found.append(f"{role}: the bench declares serial {serial}, the instrument answers {identity!r}")
    if gnb_version is not None:
        for what, declared, key in (("serial", dut.serial, "serial"), ("firmware", dut.firmware, "software")):
            reported = gnb_version.get(key)
            if declared and reported != declared:
                shown = repr(reported) if reported is not None else "nothing"
                found.append(f"gnb: the plan's DUT {what} is {declared}, the gNB reports {shown}")
    return found


class IdentityMismatch(FivegbenchError):
    """An instrument or the DUT is not who the bench and plan say (``identity: enforce``)."""


def verify(plan: Any, bench: Any, instruments: Any) -> list[str]:
    """Check the connected ``instruments`` against ``bench`` (a Bench) and ``plan`` (its ``dut``
    and ``identity`` policy), before the gNB transmits.

    Returns the flags for the record (one per mismatch under ``identity: warn``, else none).
    Raises IdentityMismatch naming every mismatch under ``identity: enforce``.
    """
    serials = {role: config.serial for role, config in bench.instruments.items()}
    gnb = instruments.get("gnb")
    declared = plan.dut.serial or plan.dut.firmware  # else there is nothing to ask the gNB
    version = gnb.version_info() if gnb is not None and declared else None
    found = mismatches(serials, instruments.identities, version, plan.dut)
    if not found:
        return []
    if plan.identity == "enforce":
        raise IdentityMismatch(
            "; ".join(found)
            + " (stopped before RF on; fix the bench or the plan's dut, or set identity: warn)"
        )
    for problem in found:
        log.warning("identity: %s", problem)
    return [f"identity: {problem}" for problem in found]


#: Plan cell fields compared with what the gNB reports (plan name -> CellStatus name).
_CELL_READBACK = {
    "band": "band",
    "center_frequency": "center_frequency_hz",
    "arfcn": "arfcn",
    "bandwidth": "bandwidth_hz",
    "scs": "scs_hz",
    "tdd_pattern": "tdd_pattern",
    "special_slot": "special_slot",
}


def readback(plan: Any, gnb: Any) -> dict[str, Any] | None:
    """The gNB's version and cell configuration as its console reports them, and each difference
    from the plan's DUT and cell (``differences``). None, logged, when the console cannot say."""
    try:
        version = gnb.version_info()
        cell = dataclasses.asdict(gnb.cell_status())
    except Exception as exc:  # the record is written whatever the console does
        log.warning("gnb: cannot read back version and cell: %s", exc)
        return None
    differences = [text.removeprefix("gnb: ") for text in mismatches({}, {}, version, plan.dut)]
    declared = plan.cell.model_dump(mode="json")
    for name, reported_name in _CELL_READBACK.items():
        wanted, reported = declared.get(name), cell.get(reported_name)
        if wanted is None or reported is None:
            continue
        if name == "special_slot" and isinstance(wanted, list):
            wanted = ":".join(map(str, wanted))
        same = (
            math.isclose(float(wanted), float(reported), rel_tol=1e-9)
            if isinstance(wanted, int | float) and isinstance(reported, int | float)
            else str(wanted).lower() == str(reported).lower()
        )
        if not same:
            differences.append(f"cell {name}: the plan says {wanted}, the gNB reports {reported}")
    return {"version": version, "cell": cell, "differences": differences}
