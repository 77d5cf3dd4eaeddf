"""Checks of a plan against its bench and its limits, before any instrument is touched.

Everything that would otherwise fail half-way through a run is refused here, as one
``file:line:col: key: message`` PlanError: unsafe powers, limits that cannot be built (a preset
that needs a DUT declaration the plan lacks), explicit limits on values the measurement does not
report or in the wrong unit, a test model the measurement is not defined with (EVM needs TM3.x) or
the gNB profile does not offer, and I/Q captures that cannot be taken (a sample rate that cannot
hold the carrier, a duration shorter than a slot or beyond 20 MB, swept settings on an I/Q step).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from fivegbench import kinds, units
from fivegbench.bench import LoadedBench, check_plan_safety
from fivegbench.drivers.registry import DRIVERS
from fivegbench.drivers.settings import Setting
from fivegbench.errors import PlanError
from fivegbench.measure.rf_iq import iq_settings
from fivegbench.params import number
from fivegbench.plan.expand import Step
from fivegbench.plan.load import LoadedPlan


def roles_for(steps: Sequence[Step], bench: LoadedBench) -> set[str]:
    """The bench roles a run of ``steps`` drives: each kind's roles, and its optional roles the
    bench has (connecting adds the attenuator of the safe state)."""
    on_bench = set(bench.bench.instruments)
    declared = [kinds.KINDS[name] for name in {step.kind for step in steps}]
    return set().union(*(kind.roles | (kind.optional_roles & on_bench) for kind in declared))


def expired_calibrations(steps: Sequence[Step], bench: LoadedBench, today: date) -> dict[str, date]:
    """Role -> calibration due date, for the instruments the run drives whose date has passed."""
    used = roles_for(steps, bench)
    return {
        role: config.calibration_due
        for role, config in bench.bench.instruments.items()
        if role in used and config.calibration_due is not None and config.calibration_due < today
    }


def check(
    loaded: LoadedPlan,
    steps: Sequence[Step],
    bench: LoadedBench,
    *,
    today: date | None = None,
    allow_expired_calibration: bool = False,
) -> None:
    """Raise PlanError at the plan (or bench) line of the first problem; return quietly when
    runnable. ``today`` is the test date (default: today)."""

    def error(step: Step, param: str, message: str) -> PlanError:
        # a parameter the plan does not write (a default) points at the step's own key, or the step
        return loaded.error(step.sources.get(param, f"steps[{step.plan_step}].{param}"), message)

    for step in steps:
        lacking = sorted(kinds.KINDS[step.kind].roles - set(bench.bench.instruments))
        if lacking:
            raise loaded.error(
                f"steps[{step.plan_step}].measure",
                f"{step.kind} needs the role(s) {', '.join(lacking)}, which {bench.file} lacks",
            )
    test_date = today or date.today()
    if not allow_expired_calibration:
        for role, due in expired_calibrations(steps, bench, test_date).items():
            raise bench.error(
                ("instruments", role, "calibration_due"),
                f"calibration expired on {due} (test date {test_date}): recalibrate the instrument, "
                "or run with --allow-expired-calibration to flag every measurement it takes",
            )
    check_plan_safety(bench, list(steps), error)
    _check_test_models(steps, bench, error)
    _check_iq(steps, error)
    _check_instrument_ranges(steps, bench, error)
    attenuator = bench.bench.instruments.get("attenuator")
    for step in steps:
        wanted = step.params.get("attenuation")
        if wanted is None:
            continue
        if attenuator is None:
            raise error(step, "attenuation", f"sets an attenuation, but {bench.file} has no attenuator role")
        most = attenuator.limits.max_attenuation
        if most is not None and number(wanted) > most:
            raise error(step, "attenuation", f"{wanted:g} dB is above the bench attenuator's {most:g} dB")
    _check_traffic(loaded, steps, bench, error)
    checked: set[int] = set()
    for step in steps:
        if isinstance(step.limits, dict) and step.plan_step not in checked:
            checked.add(step.plan_step)
            _check_explicit(loaded, step)
        try:
            kinds.requirements_for(step, loaded.plan.dut)
        except ValueError as exc:
            raise error(step, "limits", str(exc)) from None


def _check_instrument_ranges(steps: Sequence[Step], bench: LoadedBench, error: Any) -> None:
    """A value the plan gives an instrument setting (``sets: analyzer.span``) must be within the
    range the bench's driver declares for it (a 95 GHz span on a 90 GHz analyzer)."""
    for step in steps:
        for name, value in step.params.items():
            spec = kinds.KINDS[step.kind].params.get(name)
            if spec is None or spec.sets is None or value is None:
                continue
            role, setting_name = spec.sets.split(".")
            config = bench.bench.instruments.get(role)
            if config is None:
                continue
            setting = getattr(DRIVERS[config.driver].settings, setting_name, None)
            if not isinstance(setting, Setting) or setting.validator is None:
                continue
            try:
                setting.validator(value)
            except ValueError as exc:
                domain = getattr(setting.validator, "domain", None)
                accepted = f"{spec.text(domain[0])} to {spec.text(domain[1])}" if domain else str(exc)
                raise error(
                    step, name, f"{spec.text(value)} is beyond the bench {role} ({config.driver}: {accepted})"
                ) from None


def _check_test_models(steps: Sequence[Step], bench: LoadedBench, error: Any) -> None:
    """A kind defined with certain test models (``rf.evm``: TM3.x) gets one of them, and every
    test model a step sets is one the gNB profile offers (``limits.test_models``)."""
    profile = bench.profiles.get("gnb")
    for step in steps:
        kind = kinds.KINDS[step.kind]
        if kind.test_models and step.test_model not in kind.test_models:
            wanted = ", ".join(kind.test_models)
            if step.test_model is None:
                raise error(step, "measure", f"{step.kind} needs a test model ({wanted}): set test_model")
            raise error(step, "test_model", f"{step.kind} is measured with {wanted}, not {step.test_model}")
        if profile is None or step.test_model is None:
            continue
        offered = profile.limits.test_models
        if step.test_model not in offered:
            raise error(
                step,
                "test_model",
                f"{step.test_model} is not a test model the gNB profile {profile.name} offers "
                f"(it offers: {', '.join(offered)})",
            )


def _source(step: Step) -> str | None:
    """How a step acquires its spectrum: ``iq`` (rf.evm, rf.freq_error, ``source: iq``), ``swept``,
    or None (no analyzer)."""
    params = kinds.KINDS[step.kind].params
    if "source" in params:
        return str(step.params.get("source") or "swept")
    return "iq" if "sample_rate" in params else None


def _check_iq(steps: Sequence[Step], error: Any) -> None:
    """Steps that take an I/Q capture: its settings, and no setting of the other acquisition."""
    for step in steps:
        source = _source(step)
        if source is None:
            continue
        other = "swept" if source == "iq" else "iq"
        for name in kinds.SWEPT_ONLY if source == "iq" else kinds.IQ_ONLY:
            if name in step.sources:  # written or swept by the plan (defaults are not)
                raise error(step, name, f"'{name}' is a setting of source: {other}")
        if source == "iq":
            try:
                iq_settings(step)
            except ValueError as exc:
                param, _, message = str(exc).partition(": ")
                raise error(step, param, message) from None


def _check_traffic(loaded: LoadedPlan, steps: Sequence[Step], bench: LoadedBench, error: Any) -> None:
    """Traffic steps: a bench that has the traffic role (and, simulated, a machine that can
    emulate the radio link), and a rate for UDP (iperf3's own default of 1 Mbit/s measures
    nothing)."""
    for step in steps:
        if "traffic" not in kinds.KINDS[step.kind].roles:
            continue
        where = f"steps[{step.plan_step}].measure"
        if bench.bench.simulated:
            from fivegbench.sim.link import available  # only simulated traffic needs to know

            reason = available()
            if reason is not None:
                raise loaded.error(
                    where, f"{step.kind} on the simulated bench needs the link emulator: {reason}"
                )
        if step.params.get("protocol") == "udp" and step.params.get("rate") is None:
            raise loaded.error(where, "a UDP step needs a 'rate' (the offered load)")
        if step.params.get("protocol") == "udp" and number(step.params.get("length") or 0) > 65507:
            raise error(step, "length", "a UDP datagram carries at most 65507 bytes")


def _check_explicit(loaded: LoadedPlan, step: Step) -> None:
    known = kinds.KINDS[step.kind].values
    assert isinstance(step.limits, dict)
    for name, limit in step.limits.items():
        where = f"steps[{step.plan_step}].limits.{name}"
        if name not in known:
            raise loaded.error(
                where, f"{step.kind} reports no value '{name}' (it reports: {', '.join(known)})"
            )
        for bound in (limit.min, limit.max):
            if bound is not None and units.kind_of_unit(bound.unit) != units.kind_of_unit(known[name]):
                raise loaded.error(
                    where, f"{bound.text!r} is in {bound.unit}, but {name} is measured in {known[name]}"
                )
