"""The command line: fivegbench run | validate | show | report | runs | compare | trend | analyze | nr
peak-rate | sim serve | bench safe.

Every error is one line on stderr (a traceback only with --debug). Exit codes (DESIGN.md §5):
0 all pass; 1 a fail or inconclusive verdict; 2 plan or bench invalid (nothing touched);
3 error or aborted; 4 safe state not confirmed.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import math
import signal
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from fivegbench.analyze import ANALYSES, BS_CLASSES, MODULATIONS
from fivegbench.cli_history import COMMANDS as HISTORY_COMMANDS
from fivegbench.errors import FivegbenchError, PlanError
from fivegbench.nr.datarate import QM

# Each command imports what it uses (pint, pydantic, the bench, the runner, scipy, ...) so that
# --help, --version, validate and show start fast (issue 8 §1; benchmarks/cli_startup.py).
if TYPE_CHECKING:
    from fivegbench.bench import LoadedBench
    from fivegbench.plan.expand import Step
    from fivegbench.plan.load import LoadedPlan
    from fivegbench.record import RunRecord
    from fivegbench.resume import Resume
    from fivegbench.runner import StopControl

EXIT_INVALID = 2
EXIT_ERROR = 3
EXIT_UNSAFE = 4

log = logging.getLogger(__name__)


def _fail(error: FivegbenchError, code: int) -> NoReturn:
    # A plan error already reads "file:line:col: key: message"; others get a prefix.
    click.echo(str(error) if isinstance(error, PlanError) else f"error: {error}", err=True)
    sys.exit(code)


@contextmanager
def _errors(debug: bool, code: int = EXIT_INVALID) -> Iterator[None]:
    """Turn fivegbench's own errors into one line and an exit code."""
    try:
        yield
    except FivegbenchError as exc:
        if debug:
            raise
        _fail(exc, code)


def _checked(
    plan_path: Path, bench_path: Path | None, allow_expired_calibration: bool = False
) -> tuple[LoadedPlan, list[Step], LoadedBench]:
    """Load plan and bench and check them against each other. Touches no instrument."""
    from fivegbench import preflight
    from fivegbench.bench import default_bench, load_bench
    from fivegbench.plan.expand import expand
    from fivegbench.plan.load import load_plan

    loaded = load_plan(plan_path)
    steps = expand(loaded)
    bench = load_bench(bench_path or default_bench())
    preflight.check(loaded, steps, bench, allow_expired_calibration=allow_expired_calibration)
    return loaded, steps, bench


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="fivegbench", prog_name="fivegbench")  # the installed version
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logging.")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """fivegbench: run 5G base-station test plans on a lab or simulated bench."""
    ctx.obj = {"debug": debug}
    # stderr shows warnings (everything with --debug); run.log gets its own handler per run
    console_log = logging.StreamHandler()
    console_log.setLevel(logging.DEBUG if debug else logging.WARNING)
    console_log.setFormatter(
        logging.Formatter("%(levelname)s %(name)s: %(message)s") if debug else _OneLineFormatter()
    )
    logging.getLogger().addHandler(console_log)


class _OneLineFormatter(logging.Formatter):
    """stderr without --debug: one line per message; tracebacks go to run.log only."""

    def __init__(self) -> None:
        super().__init__("%(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        # run.log's handler may already have cached the traceback text on the record
        saved = record.exc_info, record.exc_text, record.stack_info
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        try:
            return super().format(record)
        finally:
            record.exc_info, record.exc_text, record.stack_info = saved


def entry() -> None:
    """The ``fivegbench`` program: a crash is one line and exit 3, never a traceback and exit 1
    (which means a FAIL verdict). ``--debug`` shows the traceback."""
    try:
        code = main.main(prog_name="fivegbench", standalone_mode=False)  # --help returns 0
        sys.exit(code if isinstance(code, int) else 0)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:  # usage errors: exit 2, like an invalid plan
        exc.show()
        sys.exit(exc.exit_code)
    except (click.exceptions.Abort, KeyboardInterrupt):  # click has already ended the line
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not print a traceback
        click.echo("interrupted", err=True)
        sys.exit(EXIT_ERROR)
    except Exception as exc:
        if "--debug" in sys.argv[1:]:
            raise
        with contextlib.suppress(OSError):  # the terminal may be gone
            click.echo(f"error: internal error: {type(exc).__name__}: {exc} (--debug shows where)", err=True)
        sys.exit(EXIT_ERROR)


PLAN = click.argument("plan", type=click.Path(path_type=Path))
BENCH = click.option(
    "--bench",
    "bench_path",
    type=click.Path(path_type=Path),
    help="Bench file (default: the simulated bench).",
)
ALLOW_EXPIRED = click.option(
    "--allow-expired-calibration",
    is_flag=True,
    help="Use instruments past their calibration_due date; every measurement they take is flagged.",
)


@main.command()
@PLAN
@BENCH
@ALLOW_EXPIRED
@click.pass_obj
def validate(
    obj: dict[str, Any], plan: Path, bench_path: Path | None, allow_expired_calibration: bool
) -> None:
    """Check a plan (and bench) without touching any instrument."""
    with _errors(obj["debug"]):
        _, steps, bench = _checked(plan, bench_path, allow_expired_calibration)
    click.echo(f"{plan}: ok, {len(steps)} steps on {bench.bench.name}")


@main.command()
@PLAN
@BENCH
@click.option("--all", "every_row", is_flag=True, help="Every step as a tab-separated line, nothing elided.")
@click.pass_obj
def show(obj: dict[str, Any], plan: Path, bench_path: Path | None, every_row: bool) -> None:
    """Print the expanded step table of a plan and its count."""
    with _errors(obj["debug"]):
        _, steps, _ = _checked(plan, bench_path)
    from rich.console import Console

    from fivegbench.plan.show import steps_lines, steps_table

    if every_row:
        for line in steps_lines(steps):
            click.echo(line)
    else:
        Console().print(steps_table(steps))
    click.echo(f"{len(steps)} steps")


@main.command()
@click.argument("plan", type=click.Path(path_type=Path), required=False)
@BENCH
@click.option(
    "--results", "results_root", type=click.Path(path_type=Path), default=Path("results"), show_default=True
)
@click.option(
    "--resume",
    "resume_dir",
    type=click.Path(path_type=Path),
    metavar="RUN_DIR",
    help="Continue a stopped run in its folder, from its plan and bench copies and its journal.",
)
@ALLOW_EXPIRED
@click.option(
    "--operator", help="Who runs it, for the record (default: the plan's operator, else the login)."
)
@click.option(
    "--env",
    "environment",
    multiple=True,
    metavar="KEY=VALUE",
    help="An environmental condition for the report, e.g. --env 'temperature=23 °C' (repeatable; over "
    "the plan's environment).",
)
@click.pass_obj
def run(
    obj: dict[str, Any],
    plan: Path | None,
    bench_path: Path | None,
    results_root: Path,
    resume_dir: Path | None,
    allow_expired_calibration: bool,
    operator: str | None,
    environment: tuple[str, ...],
) -> None:
    """Run a plan; without --bench on the simulated bench, started and stopped here."""
    from fivegbench.resume import copy_in, open_run
    from fivegbench.runner import REFUSED, AbortNow, StopControl
    from fivegbench.store import new_run_dir

    debug = obj["debug"]
    resume: Resume | None = None
    invocation = Invocation(operator, _key_values(environment, "--env"), list(sys.argv))
    with _errors(debug):  # exit 2: nothing touched, nothing written
        if resume_dir is not None:
            if plan is not None or bench_path is not None:
                raise FivegbenchError(
                    "--resume RUN_DIR runs the plan and bench copies in RUN_DIR: no PLAN or --bench"
                )
            loaded, steps, bench = _checked(
                copy_in(resume_dir, "plan"), copy_in(resume_dir, "bench"), allow_expired_calibration
            )
            resume = open_run(resume_dir, steps)
            resume.check_plan(loaded.sha256)
            run_dir, results_root, steps = resume_dir, resume_dir.parent, resume.remaining(steps)
        elif plan is None:
            raise click.UsageError("Missing argument 'PLAN' (or --resume RUN_DIR).")
        else:
            loaded, steps, bench = _checked(plan, bench_path, allow_expired_calibration)
            run_dir = new_run_dir(results_root, Path(loaded.file), Path(bench.file))
    stop = StopControl()
    _install_signal_handlers(stop)
    try:
        with _errors(debug, EXIT_ERROR):
            from fivegbench.preflight import expired_calibrations

            expired = expired_calibrations(steps, bench, date.today())  # allowed, or refused above
            record = _run(
                loaded, steps, bench, results_root, run_dir, stop, debug, resume, expired, invocation
            )
    except AbortNow:  # interrupted twice before the runner took over: nothing was switched on
        _fail(
            FivegbenchError("aborted before the first measurement; no instrument was configured"), EXIT_ERROR
        )
    if record.status.startswith(REFUSED):  # a resume refused once connected: the folder is as it was
        _fail(FivegbenchError(record.status.removeprefix(f"{REFUSED}: ")), EXIT_INVALID)
    counts = ", ".join(f"{n} {verdict}" for verdict, n in record.counts.items())
    click.echo(f"{record.status}: {counts}; exit {record.exit_code}")
    # said here too: record.json may be what could not be written
    click.echo(f"safe state {record.safe_state}", err=record.exit_code == EXIT_UNSAFE)
    report = run_dir / "report.html"
    click.echo(f"report: {report}" if report.is_file() else f"results: {run_dir} (no report)")
    sys.exit(record.exit_code)


@dataclass(frozen=True)
class Invocation:
    """What the command line adds to the plan: operator, environment, the command itself."""

    operator: str | None
    environment: dict[str, str]
    command_line: list[str]


def _key_values(pairs: Sequence[str], option: str) -> dict[str, str]:
    """``KEY=VALUE`` texts as a dict; a usage error (exit 2) names the bad one."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint=option)
        out[key.strip()] = value.strip()
    return out


@main.command()
@click.argument("run_dir", type=click.Path(path_type=Path), metavar="RUN_DIR")
@click.pass_obj
def report(obj: dict[str, Any], run_dir: Path) -> None:
    """(Re)write RUN_DIR/report.html from the run's record.json, captures and plan copy."""
    from fivegbench.report import write_report

    with _errors(obj["debug"]):
        path = write_report(run_dir)
    click.echo(f"report: {path}")


#: Signals that stop a run: Ctrl-C, kill, and the terminal closing (SIGHUP would otherwise end
#: the process at once, with RF on).
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _install_signal_handlers(stop: StopControl) -> None:
    # Explicit handlers: a run started in the background by a script inherits SIGINT as ignored,
    # so KeyboardInterrupt would never fire.
    def handler(signum: int, frame: object) -> None:
        if stop.shielded:
            message = "\nthe safe state is being applied and cannot be interrupted"
        elif stop.signals == 0:
            name = signal.Signals(signum).name
            message = f"\n{name}: stopping after the current measurement (again to stop now)"
        elif stop.signals == 1:
            message = "\nstopping now"
        else:  # stopping already: the safe state is next, and nothing will cut it short
            message = "\nalready stopping: the safe state follows and cannot be interrupted"
        with contextlib.suppress(OSError):  # a closed terminal must not raise here, mid-command
            click.echo(message, err=True)
        stop.on_signal()

    for signum in STOP_SIGNALS:
        signal.signal(signum, handler)


def _run(
    loaded: LoadedPlan,
    steps: list[Step],
    bench: LoadedBench,
    results_root: Path,
    run_dir: Path,
    stop: StopControl,
    debug: bool,
    resume: Resume | None,
    calibration_expired: Mapping[str, date],
    invocation: Invocation,
) -> RunRecord:
    """Start the simulated bench if asked, execute into ``run_dir``, index the run."""
    import sqlite3

    from rich.console import Console

    from fivegbench.bench import connect
    from fivegbench.display import RichDisplay
    from fivegbench.history import index_run
    from fivegbench.locks import Holder
    from fivegbench.preflight import roles_for
    from fivegbench.runner import RunContext, execute
    from fivegbench.sim.bench import simulated_bench
    from fivegbench.store import RunLog

    try:
        handler = RunLog(run_dir / "run.log", logging.DEBUG if debug else logging.INFO)
    except OSError as exc:  # nothing was touched yet
        raise FivegbenchError(f"cannot write {run_dir / 'run.log'}: {exc.strerror or exc}") from exc
    package_logger = logging.getLogger("fivegbench")
    package_logger.addHandler(handler)
    package_logger.setLevel(logging.DEBUG)
    try:
        roles = roles_for(steps, bench) | {"attenuator"}  # the attenuator is part of the safe state
        sim = simulated_bench(bench, roles=roles) if bench.bench.simulated else nullcontext(None)
        with sim as running:
            effective = running.bench if running is not None else bench
            display = RichDisplay(Console(stderr=True))
            plan_name = resume.previous.get("plan_file", loaded.file) if resume else loaded.file
            context = RunContext(
                loaded,
                steps,
                effective,
                run_dir,
                stop=stop,
                display=display,
                run_log=handler,
                connector=functools.partial(connect, holder=Holder.this_process(str(plan_name))),
                resume=resume,
                calibration_expired=calibration_expired,
                operator=invocation.operator,
                environment=invocation.environment,
                command_line=invocation.command_line,
            )
            record = execute(context)
        try:
            index_run(results_root, run_dir, record)
        except (OSError, sqlite3.Error) as exc:
            log.error("cannot add the run to %s: %s", results_root / "index.sqlite", exc)
    except Exception as exc:
        log.error("internal error: %s: %s", type(exc).__name__, exc, exc_info=True)  # to run.log
        where = run_dir / "run.log"
        raise FivegbenchError(f"internal error: {type(exc).__name__}: {exc} (traceback in {where})") from None
    finally:
        package_logger.removeHandler(handler)
        handler.close()
    return record


@main.command()
@click.argument("what", type=click.Choice(["all", "plan", "bench", "kinds", "kind"]), default="all")
@click.argument("name", required=False)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def schema(what: str, name: str | None, fmt: str) -> None:
    """Print the plan and bench reference: every key, its type, unit, range, default and meaning.

    \b
    fivegbench schema                  everything
    fivegbench schema plan             plan keys and the step kinds
    fivegbench schema bench            bench keys and the drivers' options
    fivegbench schema kind rf.aclr     one measurement kind: parameters, values, presets
    fivegbench schema --format json    the same as one JSON object
    """
    from fivegbench import schema as reference
    from fivegbench.kinds import KINDS

    if what == "kind" and name not in KINDS:
        given = f"unknown kind {name!r}" if name else "which kind?"
        raise click.UsageError(f"{given} (kinds: {', '.join(KINDS)})")
    if what != "kind" and name is not None:
        raise click.UsageError(f"'schema {what}' takes no NAME (only 'schema kind NAME' does)")
    data = reference.reference(what, name)
    click.echo(json.dumps(data, indent=1) if fmt == "json" else reference.as_text(data), nl=fmt == "json")


@main.group("bench")
def bench_group() -> None:
    """The bench on its own."""


@bench_group.command("safe")
@BENCH
@click.pass_obj
def bench_safe(obj: dict[str, Any], bench_path: Path | None) -> None:
    """Apply the bench's safe state and read it back: gNB RF off, attenuator to maximum.

    After a killed run, a power cut or a crashed laptop: exit 0 when confirmed, 4 when not.
    """
    from fivegbench.bench import default_bench, load_bench
    from fivegbench.safestate import SAFETY_ROLES, make_bench_safe
    from fivegbench.sim.bench import simulated_bench
    from fivegbench.transport.base import IoLog

    with _errors(obj["debug"]):
        bench = load_bench(bench_path or default_bench())

    def refuse(signum: int, frame: object) -> None:  # nothing may cut the safe state short
        with contextlib.suppress(OSError):
            click.echo("\nthe safe state is being applied and cannot be interrupted", err=True)

    for signum in STOP_SIGNALS:
        signal.signal(signum, refuse)
    sim = simulated_bench(bench, roles=SAFETY_ROLES) if bench.bench.simulated else nullcontext(None)
    with _errors(obj["debug"], EXIT_ERROR), sim as running:
        state = make_bench_safe(running.bench if running is not None else bench, IoLog())
    if state.confirmed:
        click.echo(f"{bench.file}: safe state {state.detail}")
        sys.exit(0)
    click.echo(f"{bench.file}: safe state {state.detail}", err=True)
    for role in state.unsafe:
        what = "may still transmit" if role == "gnb" else "may not be at maximum attenuation"
        click.echo(f"UNSAFE: {role} ({bench.bench.instruments[role].resource}) {what}", err=True)
    sys.exit(EXIT_UNSAFE)


def _recorded(
    given: float | None, metadata: Mapping[str, Any], key: str, option: str, capture: Path
) -> float:
    """``given``, else the number a run recorded in the capture as ``fivegbench:<key>``."""
    if given is not None:
        return given
    value = metadata.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        _fail(
            FivegbenchError(f"{capture}: {option} is needed (the capture records no fivegbench:{key})"),
            EXIT_INVALID,
        )
    return float(value)


@main.command()
@click.argument("what", metavar="{" + ",".join(ANALYSES) + "}", type=click.Choice(list(ANALYSES)))
@click.argument("capture", type=click.Path(path_type=Path))
@click.option("--bandwidth", help="Channel bandwidth, e.g. 20MHz (default: what the run recorded).")
@click.option("--scs", help="Subcarrier spacing, e.g. 15kHz (default: what the run recorded).")
@click.option("--modulation", type=click.Choice(MODULATIONS, case_sensitive=False), help="For evm.")
@click.option(
    "--category", type=click.Choice(["A", "B"], case_sensitive=False), default="A", show_default=True
)
@click.option("--bs-class", type=click.Choice(sorted(BS_CLASSES)), default="wa", show_default=True)
@click.option("--band", help="Operating band for sem (default: from the centre frequency).")
@click.option(
    "--allocation",
    type=click.Choice(["auto"]),
    help="For evm: find the PDSCH allocations (PRBs, symbols, modulation) from the signal's energy.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.pass_obj
def analyze(
    obj: dict[str, Any],
    what: str,
    capture: Path,
    bandwidth: str | None,
    scs: str | None,
    modulation: str | None,
    category: str,
    bs_class: str,
    band: str | None,
    allocation: str | None,
    as_json: bool,
) -> None:
    """Analyze a SigMF I/Q capture: power, aclr, obw, sem, evm or freq-error.

    Powers are dBm when the capture carries the fivegbench absolute scale, else dBFS. Exit 0;
    1 when a mask check (sem) fails or cannot be decided; 2 for bad input.
    """
    from fivegbench import units
    from fivegbench.analyze import Options, carrier_for

    try:
        bandwidth_hz = None if bandwidth is None else units.parse(bandwidth, "frequency")
        scs_hz = None if scs is None else units.parse(scs, "frequency")
    except units.UnitParseError as exc:
        _fail(FivegbenchError(str(exc)), EXIT_INVALID)
    from fivegbench.captures import read_capture  # numpy and sigmf, for this command only

    with _errors(obj["debug"]):
        recording = read_capture(capture)
    bandwidth_hz = _recorded(bandwidth_hz, recording.metadata, "bandwidth_hz", "--bandwidth", capture)
    scs_hz = _recorded(scs_hz, recording.metadata, "scs_hz", "--scs", capture)
    try:
        carrier = carrier_for(recording, bandwidth_hz, scs_hz)
        options = Options(modulation and modulation.lower(), category.upper(), bs_class, band, allocation)
        result = ANALYSES[what](recording, carrier, options)
    except ValueError as exc:
        if obj["debug"]:
            raise
        _fail(FivegbenchError(f"{capture}: {exc}"), EXIT_INVALID)
    from fivegbench import readout

    for caveat in readout.caveats(result):
        click.echo(f"{capture}: {caveat}", err=True)
    if as_json:
        click.echo(json.dumps(_finite(result)))
    else:
        click.echo("\n".join(readout.lines(result)))
    if "pass" in result and result["pass"] is not True:  # as `run`: fail or undecided is not a pass
        sys.exit(1)


def _finite(value: Any) -> Any:
    """JSON has no NaN or infinity: they become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


@main.group()
def nr() -> None:
    """3GPP NR calculations."""


@nr.command("peak-rate")
@click.option("--bandwidth", required=True, help="Channel bandwidth, e.g. 100MHz.")
@click.option("--scs", required=True, help="Subcarrier spacing, e.g. 30kHz.")
@click.option("--layers", type=click.IntRange(1, 8), default=1, show_default=True)
@click.option(
    "--modulation", type=click.Choice(sorted(QM), case_sensitive=False), default="256qam", show_default=True
)
@click.option(
    "--direction", type=click.Choice(["dl", "ul"], case_sensitive=False), default="dl", show_default=True
)
@click.option("--tdd", "pattern", help="TDD slot pattern such as DDDSU (FDD when absent).")
@click.option("--special", help="Special slot split D:G:U symbols, e.g. 10:2:2.")
@click.option(
    "--fr", type=click.Choice(["fr1", "fr2"]), help="Frequency range (default: FR2 at 120 kHz SCS)."
)
@click.option(
    "--scaling-factor", type=click.Choice(["1", "0.8", "0.75", "0.4"]), default="1", show_default=True
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
def peak_rate(
    bandwidth: str,
    scs: str,
    layers: int,
    modulation: str,
    direction: str,
    pattern: str | None,
    special: str | None,
    fr: str | None,
    scaling_factor: str,
    as_json: bool,
) -> None:
    """Approximate peak data rate (TS 38.306 §4.1.2), times the TDD share of symbols."""
    from fivegbench import units
    from fivegbench.nr.bandwidth import n_rb
    from fivegbench.nr.datarate import peak_rate_mbps, tdd_fractions

    try:
        bandwidth_hz = units.parse(bandwidth, "frequency")
        scs_hz = units.parse(scs, "frequency")
        fr = fr or ("fr2" if scs_hz >= 120e3 else "fr1")
        fdd = peak_rate_mbps(
            bandwidth_hz, scs_hz, layers, modulation, direction.lower(), fr, float(scaling_factor)
        )
        fractions = tdd_fractions(pattern, special)
    except (ValueError, units.UnitParseError) as exc:
        _fail(FivegbenchError(str(exc)), EXIT_INVALID)
    share = fractions.dl if direction.lower() == "dl" else fractions.ul
    result = {
        "peak_rate_mbps": fdd * share,
        "fdd_equivalent_mbps": fdd,
        "dl_fraction": fractions.dl,
        "ul_fraction": fractions.ul,
        "direction": direction.lower(),
        "n_prb": n_rb(bandwidth_hz, scs_hz, fr2=fr == "fr2"),
        "layers": layers,
        "modulation": modulation.lower(),
        "frequency_range": fr,
        "clause": "TS 38.306 §4.1.2 [V2]",
    }
    if as_json:
        click.echo(json.dumps(result))
    else:
        for key, value in result.items():
            click.echo(f"{key:<22} {value}")


@main.group()
def sim() -> None:
    """The simulated bench."""


CONTROL = click.option(
    "--control",
    "control_path",
    type=click.Path(path_type=Path),
    default=None,
    help="The control socket of sim serve (default: a per-user socket in the temp folder).",
)


@sim.command("serve")
@BENCH
@click.option("--console", type=click.Choice(["socket", "pty"]), default="socket", show_default=True)
@click.option(
    "--port",
    "base_port",
    type=click.IntRange(1024, 65532),
    metavar="BASE",
    help="Fixed ports instead of ephemeral ones: analyzer BASE, gnb BASE+1, attenuator BASE+2, "
    "ue BASE+3 (whichever the bench has).",
)
@CONTROL
@click.pass_obj
def sim_serve(
    obj: dict[str, Any],
    bench_path: Path | None,
    console: str,
    base_port: int | None,
    control_path: Path | None,
) -> None:
    """Start the simulated instruments until Ctrl-C; print one line per role with its resource.

    Faults are injected into the running instruments with ``fivegbench sim fault`` (through a
    control socket, --control), or armed from the start by a bench's ``faults:`` entries."""
    from fivegbench.bench import default_bench, load_bench
    from fivegbench.sim.bench import simulated_bench
    from fivegbench.sim.control import ControlServer, default_path

    with _errors(obj["debug"]):
        bench = load_bench(bench_path or default_bench())
    stopping: list[int] = []
    signal.signal(signal.SIGTERM, lambda signum, frame: stopping.append(signum))
    signal.signal(signal.SIGINT, lambda signum, frame: stopping.append(signum))
    with (
        _errors(obj["debug"], EXIT_ERROR),
        simulated_bench(bench, console=console, skip_unavailable=True, base_port=base_port) as running,
    ):
        for role, resource in running.resources.items():
            click.echo(f"{role:<9} {resource}")
            sys.stdout.flush()
        for role, why in running.unavailable.items():
            click.echo(f"{role}: not simulated here: {why}", err=True)
        control = ControlServer(control_path or default_path(), running.faults)
        control.start()
        try:
            while not stopping:
                time.sleep(0.1)
        finally:
            control.stop()


def _fault_help() -> str:
    from fivegbench.sim.faults import MODES

    return "\n".join(f"{mode:<9} {what}" for mode, what in MODES.items())


class _FaultModesHelp(click.Command):
    """Lists the fault modes under ``sim fault --help``, read when shown: importing sim.faults
    (pydantic, pint) at start-up would slow every command down."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        self.epilog = "\b\nMODE is one of:\n" + _fault_help()
        super().format_epilog(ctx, formatter)


@sim.command("fault", cls=_FaultModesHelp)
@click.argument("role")
@click.argument("mode", required=False)
@click.option("--at", "at", help="Fire at the COUNT-th message containing this text (default: now).")
@click.option("--count", type=int, default=1, show_default=True)
@click.option("--for", "duration", help="How long a hang, slow answers or a reboot last (e.g. '3 s').")
@click.option("--delay", help="How late each answer comes while slow (e.g. '0.5 s').")
@click.option("--code", type=int, help="The error code of 'error'.")
@click.option("--text", help="The error text of 'error', the alarm text of 'alarm'.")
@click.option("--clear", is_flag=True, help="Disarm ROLE's faults and end its hang or slow answers.")
@CONTROL
def sim_fault(role: str, mode: str | None, clear: bool, control_path: Path | None, **fields: Any) -> None:
    """Inject a fault into a running ``fivegbench sim serve``: ROLE (analyzer, gnb, ...) does MODE.

    For example ``fivegbench sim fault analyzer reboot --for 3s`` or
    ``fivegbench sim fault gnb hang --at "rf on"``."""
    from fivegbench.sim.control import default_path, send

    if not clear and mode is None:
        _fail(FivegbenchError("give a MODE, or --clear"), EXIT_INVALID)
    fault = {"mode": mode, **{key: value for key, value in fields.items() if value is not None}}
    for key in ("duration", "delay"):  # a bare number is seconds
        with contextlib.suppress(KeyError, ValueError):
            fault[key] = float(fault[key])
    request = {"role": role, "clear": True} if clear else {"role": role, "fault": fault}
    path = control_path or default_path()
    try:
        reply = send(path, request)
    except (OSError, ValueError) as exc:
        _fail(FivegbenchError(f"no fivegbench sim serve answers on {path}: {exc}"), EXIT_ERROR)
    if not reply.get("ok"):
        _fail(FivegbenchError(str(reply.get("error"))), EXIT_INVALID)
    click.echo(reply.get("message"))


for command in HISTORY_COMMANDS:  # runs, compare, trend (fivegbench/cli_history.py)
    main.add_command(command)
