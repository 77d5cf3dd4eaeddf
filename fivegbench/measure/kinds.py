"""Every measurement kind the runner knows: how it measures, which bench roles it drives and
which values it reports (name -> unit, the names explicit plan limits may use).

A kind's step parameters are declared with the plan (``fivegbench.plan.model.MEASUREMENTS``,
which must stay free of instrument code) and its 3gpp limits in ``fivegbench.presets``;
``tests/test_kinds.py`` keeps the three tables in step.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from fivegbench.measure.base import Measurement
from fivegbench.measure.rf import rf_aclr, rf_obw, rf_power, rf_sem


@dataclass(frozen=True)
class Kind:
    measure: Measurement
    roles: frozenset[str]
    values: Mapping[str, str]


_RF_ROLES = frozenset({"analyzer", "gnb"})
_ADJACENT = ("lower1", "upper1", "lower2", "upper2")

KINDS: Mapping[str, Kind] = MappingProxyType(
    {
        "rf.power": Kind(rf_power, _RF_ROLES, {"channel_power": "dBm"}),
        "rf.aclr": Kind(
            rf_aclr,
            _RF_ROLES,
            {"channel_power": "dBm"}
            | {f"aclr_{name}": "dB" for name in _ADJACENT}
            | {f"adjacent_{name}_density": "dBm/MHz" for name in _ADJACENT},
        ),
        "rf.obw": Kind(rf_obw, _RF_ROLES, {"obw": "Hz"}),
        "rf.sem": Kind(rf_sem, _RF_ROLES, {"sem_margin": "dB"}),
    }
)
