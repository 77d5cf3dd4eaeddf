"""Test plans: bounded YAML loading, validated models, and expansion into steps."""

from fivegbench.plan.expand import CellConfig, Step, expand
from fivegbench.plan.load import LoadedPlan, load_plan, parse_plan
from fivegbench.plan.model import Plan

__all__ = [
    "CellConfig",
    "LoadedPlan",
    "Plan",
    "Step",
    "expand",
    "load_plan",
    "parse_plan",
]
