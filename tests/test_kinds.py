"""The kind tables of the plan, the runner and the presets describe the same kinds."""

from fivegbench.measure.kinds import KINDS
from fivegbench.plan.model import MEASUREMENTS
from fivegbench.presets import PRESETS


def test_every_plan_kind_can_be_run_and_every_runnable_kind_planned():
    assert set(MEASUREMENTS) == set(KINDS)


def test_presets_only_cover_known_kinds():
    for preset, builders in PRESETS.items():
        assert set(builders) <= set(KINDS), preset


def test_every_kind_reports_values_with_units():
    for name, kind in KINDS.items():
        assert kind.values and all(kind.values.values()), name
