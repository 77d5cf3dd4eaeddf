"""Run expanded steps on a bench: configure -> measure -> reduce -> judge -> journal -> display.

The bench's safe state is applied in a ``finally`` on every exit path. Stopping is cooperative:
``StopControl.on_signal()`` (first SIGINT/SIGTERM) stops after the current measurement; a second
signal raises :class:`AbortNow` (a BaseException, like KeyboardInterrupt) to stop at once.
"""

from __future__ import annotations

import contextlib
import getpass
import logging
import platform
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any, Protocol

from fivegbench import __version__, identity, kinds, provenance, recovery, sim
from fivegbench.bench import Instruments, LoadedBench, connect
from fivegbench.errors import FivegbenchError, ResultsError
from fivegbench.measure.base import MeasureContext, Measurement, Outcome
from fivegbench.measure.cell import AttenuatorSetup, GnbSetup
from fivegbench.plan.expand import Step
from fivegbench.plan.load import LoadedPlan
from fivegbench.preflight import roles_for
from fivegbench.record import MeasurementRecord, RunRecord
from fivegbench.report import write_report
from fivegbench.report.junit import junit_xml
from fivegbench.resume import Resume, ResumeRefused
from fivegbench.safestate import NOT_OPENED, SafeState, apply_safe_state
from fivegbench.store import Journal, RunLog, measurements, utc_now, write_atomic, write_record
from fivegbench.transport.base import IoLog
from fivegbench.verdict import Verdict, judge

log = logging.getLogger(__name__)


#: The status of a resume refused after connecting (other instruments): exit 2, nothing written.
REFUSED = "refused"
#: The safe state in the record of a run in progress: if a record still says so, the run was killed.
RUNNING = SafeState(
    False, "not applied yet: the run had not finished (if it was killed, run `fivegbench bench safe`)"
)


class AbortNow(BaseException):
    """Stop at once (second interrupt). Safe state and record still follow."""


@dataclass
class StopControl:
    """Set by the signal handlers; read by the runner between measurements."""

    requested: bool = False
    signals: int = 0
    shielded: bool = False
    _critical: bool = False
    _pending: bool = False

    def on_signal(self) -> None:
        """First signal: stop after this measurement. Second: stop now (deferred to the end of a
        critical section such as a journal write). Later: ignored, so a third Ctrl-C cannot
        interrupt the safe state."""
        self.signals += 1
        if self.signals == 1:
            self.requested = True
        elif self.signals == 2:
            if self._critical:
                self._pending = True
            else:
                raise AbortNow()

    @contextmanager
    def critical(self) -> Iterator[None]:
        """A section a second signal must not cut in half (it takes effect right after)."""
        self._critical = True
        try:
            yield
        finally:
            self._critical = False
        if self._pending:
            self._pending = False
            raise AbortNow()

    def shield(self) -> None:
        """From now on signals are only counted: nothing may interrupt the safe state."""
        self.requested = True
        self.signals = max(self.signals, 2)
        self.shielded = True


class Display(Protocol):
    def start(self, total: int) -> None: ...
    def step_started(self, step: Any) -> None: ...
    def step_finished(self, step: Any, record: MeasurementRecord) -> None: ...
    def stop(self) -> None: ...


class NoDisplay:
    def start(self, total: int) -> None:
        pass

    def step_started(self, step: Any) -> None:
        pass

    def step_finished(self, step: Any, record: MeasurementRecord) -> None:
        pass

    def stop(self) -> None:
        pass


@dataclass
class RunContext:
    """Everything one run needs, gathered by the CLI."""

    loaded_plan: LoadedPlan
    steps: Sequence[Step]
    bench: LoadedBench
    run_dir: Path
    stop: StopControl = field(default_factory=StopControl)
    display: Display = field(default_factory=NoDisplay)
    measurements: Mapping[str, Measurement] = field(
        default_factory=lambda: {name: kind.measure_function() for name, kind in kinds.KINDS.items()}
    )
    connector: Callable[..., Any] = connect
    run_log: RunLog | None = None
    resume: Resume | None = None
    """Set by ``--resume``: the run so far (``steps`` are then only the points still to measure)."""
    calibration_expired: Mapping[str, date] = field(default_factory=dict)
    """Role -> due date of the instruments used past their calibration (--allow-expired-calibration):
    every measurement they take is flagged."""
    operator: str | None = None
    """``--operator``: who runs it, over the plan's ``operator``."""
    environment: Mapping[str, str] = field(default_factory=dict)
    """``--env KEY=VALUE``: environmental conditions over the plan's ``environment``."""
    command_line: Sequence[str] = ()
    """The command as typed (for the record)."""


def _record(step: Step, verdict: Verdict, time: str, **extra: Any) -> MeasurementRecord:
    return MeasurementRecord(
        step=step.name,
        index=step.index,
        kind=step.kind,
        point=dict(step.point),
        values=extra.pop("values", {}),
        limits=extra.pop("limits", []),
        verdict=verdict.value,
        time=time,
        repeat=f"{step.repeat_index}/{step.repeat_count}",
        **extra,
    )


def _measure_one(
    ctx: RunContext,
    mctx: MeasureContext,
    setup: GnbSetup | None,
    attenuator: AttenuatorSetup,
    step: Step,
) -> MeasurementRecord:
    def attempt() -> Outcome:  # the whole point: re-run after a reopened link, it sets everything again
        if setup is not None:
            setup.apply(step.cell, step.test_model)
        attenuator.apply(step.params)
        if setup is not None:
            setup.check("before")  # another session may have switched RF off or changed the power
        measured = ctx.measurements[step.kind](mctx, step)
        if setup is not None:
            setup.check("after")  # ... or done so while this point was measured
        return measured

    def reopen(role: str) -> None:
        recovery.reopen(mctx.instruments, ctx.bench, role, (setup, attenuator))

    started = time.monotonic()
    try:
        outcome = recovery.with_retries(attempt, reopen, lambda role: recovery.backoff(ctx.bench, role))
        requirements = kinds.requirements_for(step, ctx.loaded_plan.plan.dut)
        judgement = judge(
            {k: v.value for k, v in outcome.values.items()},
            requirements,
            invalid=outcome.invalid,
            intervals=outcome.intervals,
        )
    except Exception as exc:  # any failure of the harness or an instrument is an ERROR, never a FAIL
        if isinstance(exc, FivegbenchError):  # it names role, command and cause: one line
            log.error("step %d %s: %s", step.index, step.name, exc)
            log.debug("step %d %s", step.index, step.name, exc_info=True)
        else:  # a bug: its traceback goes to run.log (stderr shows one line)
            log.error("step %d %s: %s", step.index, step.name, exc, exc_info=True)
        return _record(
            step,
            Verdict.ERROR,
            utc_now(),
            error=f"{type(exc).__name__}: {exc}",
            duration_s=round(time.monotonic() - started, 3),
        )
    conditions = dict(outcome.conditions)
    if outcome.capture:
        conditions["capture"] = outcome.capture
    if outcome.invalid:
        conditions["invalid"] = outcome.invalid
    if outcome.intervals:
        conditions["intervals"] = {name: i.to_dict() for name, i in outcome.intervals.items()}
    return _record(
        step,
        judgement.verdict,
        utc_now(),
        values=outcome.values,
        limits=[r.to_dict() for r in requirements],
        checks=[c.to_dict() for c in judgement.checks],
        conditions=conditions,
        duration_s=round(time.monotonic() - started, 3),
    )


def unfinished(steps: Sequence[Step], done: int, status: str) -> Iterator[MeasurementRecord]:
    """Records for the steps that never ran: ABORTED after an interrupt, SKIPPED otherwise."""
    verdict = Verdict.ABORTED if status == "aborted" else Verdict.SKIPPED
    for step in steps[done:]:
        yield _record(step, verdict, utc_now(), error="not run: " + status)


def calibration_flags(ctx: RunContext, step: Step) -> list[str]:
    """A measurement's flags for the instruments past their calibration that it used."""
    used = roles_for([step], ctx.bench)
    return [
        f"{role} calibration expired {due}" for role, due in ctx.calibration_expired.items() if role in used
    ]


def exit_code(verdicts: Counter[str], status: str, safe_state: SafeState) -> int:
    """DESIGN.md §5: 0 pass, 1 fail/inconclusive, 2 a resume refused (nothing measured),
    3 error/aborted, 4 safe state unconfirmed."""
    if not safe_state.confirmed:
        return 4
    if status.startswith(REFUSED):
        return 2
    if status != "completed" or verdicts["ERROR"] or verdicts["ABORTED"]:
        return 3
    if verdicts["FAIL"] or verdicts["INCONCLUSIVE"]:
        return 1
    return 0


@dataclass
class Tally:
    """What the runner keeps of finished measurements: counts, not the records (they are in
    the journal), so memory stays flat however long the sweep."""

    verdicts: Counter[str] = field(default_factory=Counter)
    done: int = 0

    def add(self, record: MeasurementRecord) -> None:
        self.verdicts[record.verdict] += 1
        self.done += 1


def execute(ctx: RunContext) -> RunRecord:
    """Run every step; always apply the safe state and return the run's record.

    A results file that cannot be written (a full disk) stops the run with an error, never
    before the safe state: the record returned says so even when it could not be saved.
    """
    started = ctx.resume.previous["started"] if ctx.resume else utc_now()
    roles = roles_for(ctx.steps, ctx.bench)
    iolog = IoLog(ctx.run_dir / "io.log")
    tally = Tally(verdicts=ctx.resume.verdicts.copy() if ctx.resume else Counter())
    found = Found()

    def running() -> None:  # a killed run leaves this record behind; --resume starts from it
        record = _run_record(ctx, started, "running", RUNNING, tally.verdicts.copy(), found)
        try:
            write_record(ctx.run_dir / "record.json", record, measurements(ctx.run_dir, ()))
        except OSError as exc:
            raise ResultsError(f"cannot write record.json: {exc.strerror or exc}") from exc

    ctx.display.start(len(ctx.steps))
    try:
        with Journal(ctx.run_dir / "journal.jsonl") as journal:
            status, safe_state = _run_steps(ctx, roles, iolog, journal, tally, found, running)
    finally:
        ctx.display.stop()
        iolog.close()
    if status.startswith(REFUSED):  # the run folder stays as the stopped run left it
        return _run_record(ctx, started, status, safe_state, tally.verdicts.copy(), found)
    failure = _results_failure(iolog, ctx.run_log)
    if failure is not None and not status.startswith("error"):
        status = f"error: {failure}"
    counts = tally.verdicts.copy()
    counts[Verdict.ABORTED.value if status == "aborted" else Verdict.SKIPPED.value] += (
        len(ctx.steps) - tally.done
    )
    record = _run_record(ctx, started, status, safe_state, +counts, found)
    problem = _write_outputs(ctx, record, tally, status)
    if problem is not None:
        record = replace(record, status=f"error: {problem}", exit_code=max(record.exit_code, 3))
        with contextlib.suppress(Exception):  # best effort: say in record.json what is missing
            write_record(
                ctx.run_dir / "record.json",
                record,
                measurements(ctx.run_dir, unfinished(ctx.steps, tally.done, status)),
            )
    return record


def _write_outputs(ctx: RunContext, record: RunRecord, tally: Tally, status: str) -> str | None:
    """record.json, report.html and junit.xml, streamed back from the journal. Returns what could
    not be written (None when all were)."""

    def items() -> Iterator[dict[str, Any]]:
        return measurements(ctx.run_dir, unfinished(ctx.steps, tally.done, status))

    outputs: dict[str, Callable[[], Any]] = {
        "record.json": lambda: write_record(ctx.run_dir / "record.json", record, items()),
        "report.html": lambda: write_report(ctx.run_dir),  # from the record.json just written
        "junit.xml": lambda: write_atomic(ctx.run_dir / "junit.xml", junit_xml(record, items())),
    }
    for name, write in outputs.items():
        try:
            write()
        except OSError as exc:
            log.error("cannot write %s: %s", ctx.run_dir / name, exc.strerror or exc)
            return f"cannot write {name}: {exc.strerror or exc}"
        except Exception as exc:  # a crash is exit 3 with one line; the traceback goes to run.log
            log.error("writing %s failed: %s", name, exc, exc_info=True)
            return f"writing {name} failed: {type(exc).__name__}: {exc}"
    return None


def _results_failure(iolog: IoLog, run_log: RunLog | None) -> str | None:
    """Why a log of the run could not be written, or None."""
    if iolog.failure is not None:
        return f"cannot write io.log: {iolog.failure.strerror or iolog.failure}"
    if run_log is not None and run_log.failure is not None:
        return f"cannot write run.log: {run_log.failure.strerror or run_log.failure}"
    return None


@dataclass
class Found:
    """What connecting found out: identities, and the gNB's RF state at the start."""

    identities: dict[str, str] = field(default_factory=dict)
    start_state: str | None = None
    flags: list[str] = field(default_factory=list)
    gnb_readback: dict[str, Any] | None = None
    measuring: bool = False
    """The step loop started (connecting and the identity checks passed)."""


def _run_steps(
    ctx: RunContext,
    roles: set[str],
    iolog: IoLog,
    journal: Journal,
    tally: Tally,
    found: Found,
    running: Callable[[], None],
) -> tuple[str, SafeState]:
    """Connect, run the loop, apply the safe state to whatever was opened. Returns (status,
    safe state). ``running()`` saves the record of a run in progress once the identities are
    known."""
    safe_state = NOT_OPENED
    status = "error: not started"
    try:
        with ctx.connector(ctx.bench, roles, iolog) as instruments:
            found.identities.update(instruments.identities)
            found.start_state = instruments.start_state
            try:
                if instruments.failure is not None:
                    raise instruments.failure
                if ctx.resume is not None:
                    ctx.resume.check_identities(instruments.identities)
                found.flags.extend(identity.verify(ctx.loaded_plan.plan, ctx.bench.bench, instruments))
                running()
                found.measuring = True
                status = _loop(ctx, instruments, journal, tally, iolog)
            except AbortNow:
                status = "aborted"
            except (
                ResumeRefused,
                identity.IdentityMismatch,
            ) as exc:  # the command line says it, as its one line
                log.info("resume refused: %s", exc)
                status = f"{REFUSED}: {exc}"
            except Exception as exc:
                status = _error_status(exc)
            finally:
                ctx.stop.shield()
                if instruments.opened:
                    safe_state = apply_safe_state(instruments)
                    if not safe_state.confirmed:
                        log.error("safe state %s", safe_state.detail)
                    elif found.measuring and instruments.get("gnb") is not None:
                        # after the safe state, which a hung console must not delay
                        found.gnb_readback = identity.readback(ctx.loaded_plan.plan, instruments["gnb"])
    except AbortNow:
        status = "aborted"
    except Exception as exc:
        status = _error_status(exc)
    finally:
        ctx.stop.shield()  # the record and report are written next, whatever arrives now
    return status, safe_state


def _error_status(exc: Exception) -> str:
    """The run's status after ``exc``; an unexpected exception's traceback goes to run.log."""
    if isinstance(exc, FivegbenchError):
        log.error("%s", exc)
        return f"error: {exc}"
    log.error("internal error: %s: %s", type(exc).__name__, exc, exc_info=True)
    return f"error: internal error: {type(exc).__name__}: {exc} (traceback in run.log)"


def _loop(ctx: RunContext, instruments: Instruments, journal: Journal, tally: Tally, iolog: IoLog) -> str:
    mctx = MeasureContext(instruments, ctx.bench, ctx.run_dir / "captures", ctx.loaded_plan.plan.dut)
    gnb = instruments.get("gnb")
    setup = GnbSetup(gnb) if gnb is not None else None
    attenuator = AttenuatorSetup(instruments.get("attenuator"))
    skipping: int | None = None  # the plan step whose remaining points are skipped
    for step in ctx.steps:
        if ctx.stop.requested:
            return "aborted"
        ctx.display.step_started(step)
        if step.plan_step == skipping:
            record = _record(
                step, Verdict.SKIPPED, utc_now(), error="not run: an earlier point of this step failed"
            )
        else:
            record = _measure_one(ctx, mctx, setup, attenuator, step)
            if ctx.calibration_expired:
                record = replace(record, flags=calibration_flags(ctx, step))
        with ctx.stop.critical():
            journal.append(record)
            tally.add(record)
        ctx.display.step_finished(step, record)
        failure = _results_failure(iolog, ctx.run_log)
        if failure is not None:
            raise ResultsError(failure)
        if record.verdict == Verdict.ERROR.value and step.on_error == "stop":
            return "stopped on error"
        if record.verdict == Verdict.ERROR.value and step.on_error == "skip-step":
            skipping = step.plan_step
    return "completed"


def _run_record(
    ctx: RunContext,
    started: str,
    status: str,
    safe_state: SafeState,
    counts: Counter[str],
    found: Found,
) -> RunRecord:
    plan = ctx.loaded_plan.plan
    bench = ctx.bench.bench
    origin = ctx.resume.previous if ctx.resume else {}  # a resumed run reads its copies
    instruments = {
        role: {
            "driver": config.driver,
            "resource": config.resource,
            "model": config.model,
            "serial": config.serial,
            "calibration_due": config.calibration_due.isoformat() if config.calibration_due else None,
            "identity": found.identities.get(role),
        }
        for role, config in bench.instruments.items()
    }
    environment = {**plan.environment, **origin.get("environment", {}), **ctx.environment}
    overrides = {f"environment {key}": value for key, value in ctx.environment.items()}
    if ctx.operator:
        overrides["operator"] = ctx.operator
    if ctx.calibration_expired:
        overrides["allow expired calibration"] = ", ".join(ctx.calibration_expired)
    return RunRecord(
        run_id=ctx.run_dir.name,
        report_id=origin.get("report_id") or provenance.new_report_id(ctx.run_dir.name),
        local_timezone=origin.get("local_timezone") or provenance.local_timezone(),
        environment=environment,
        command_line=list(ctx.command_line),
        overrides=overrides,
        versions=provenance.versions(),
        gnb_readback=found.gnb_readback,
        trial=plan.trial,
        plan_file=origin.get("plan_file", str(ctx.loaded_plan.file)),
        plan_sha256=ctx.loaded_plan.sha256,
        bench_file=origin.get("bench_file", ctx.bench.file),
        bench_name=bench.name,
        simulated=bench.simulated,
        simulation=list(sim.CAVEATS) if bench.simulated else [],
        operator=ctx.operator or origin.get("operator") or plan.operator or getpass.getuser(),
        host=platform.node(),
        software=f"fivegbench {__version__}",
        started=started,
        finished=utc_now(),
        exit_code=exit_code(counts, status, safe_state),
        status=status,
        dut=plan.dut.model_dump(mode="json"),
        cell=plan.cell.model_dump(mode="json"),
        instruments=instruments,
        rf_path=bench.rf_path.model_dump(mode="json"),
        start_state=found.start_state,
        safe_state=safe_state.detail,
        counts=dict(counts),
        resumed=ctx.resume.resumed() if ctx.resume else [],
        flags=[
            *(
                f"{role} calibration expired {due} (run with --allow-expired-calibration)"
                for role, due in ctx.calibration_expired.items()
            ),
            *found.flags,
        ],
    )
