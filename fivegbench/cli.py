"""The command line: fivegbench run | validate | show | analyze | nr peak-rate | sim serve | bench safe.

Every error is one line on stderr (a traceback only with --debug). Exit codes (DESIGN.md §5):
0 all pass; 1 a fail or inconclusive verdict; 2 plan or bench invalid (nothing touched);
3 error or aborted; 4 safe state not confirmed.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import signal
import sqlite3
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any, NoReturn

import click
from rich.console import Console

from fivegbench import preflight, units
from fivegbench.analyze import ANALYSES, BS_CLASSES, MODULATIONS, Options, carrier_for
from fivegbench.bench import LoadedBench, default_bench, load_bench
from fivegbench.captures import read_capture
from fivegbench.display import RichDisplay
from fivegbench.errors import FivegbenchError, PlanError
from fivegbench.nr.bandwidth import n_rb
from fivegbench.nr.datarate import QM, peak_rate_mbps, tdd_fractions
from fivegbench.plan.expand import Step, expand
from fivegbench.plan.load import LoadedPlan, load_plan
from fivegbench.plan.show import steps_table
from fivegbench.record import RunRecord
from fivegbench.runner import AbortNow, RunContext, StopControl, execute, roles_for
from fivegbench.safestate import SAFETY_ROLES, make_bench_safe
from fivegbench.sim.bench import simulated_bench
from fivegbench.store import RunLog, copy_inputs, create_run_dir, index_run
from fivegbench.transport.base import IoLog

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


def _checked(plan_path: Path, bench_path: Path | None) -> tuple[LoadedPlan, list[Step], LoadedBench]:
    """Load plan and bench and check them against each other. Touches no instrument."""
    loaded = load_plan(plan_path)
    steps = expand(loaded)
    bench = load_bench(bench_path or default_bench())
    preflight.check(loaded, steps, bench)
    return loaded, steps, bench


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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


@main.command()
@PLAN
@BENCH
@click.pass_obj
def validate(obj: dict[str, Any], plan: Path, bench_path: Path | None) -> None:
    """Check a plan (and bench) without touching any instrument."""
    with _errors(obj["debug"]):
        _, steps, bench = _checked(plan, bench_path)
    click.echo(f"{plan}: ok, {len(steps)} steps on {bench.bench.name}")


@main.command()
@PLAN
@BENCH
@click.pass_obj
def show(obj: dict[str, Any], plan: Path, bench_path: Path | None) -> None:
    """Print the expanded step table of a plan and its count."""
    with _errors(obj["debug"]):
        _, steps, _ = _checked(plan, bench_path)
    console = Console()
    console.print(steps_table(steps))
    console.print(f"{len(steps)} steps")


@main.command()
@PLAN
@BENCH
@click.option(
    "--results", "results_root", type=click.Path(path_type=Path), default=Path("results"), show_default=True
)
@click.pass_obj
def run(obj: dict[str, Any], plan: Path, bench_path: Path | None, results_root: Path) -> None:
    """Run a plan; without --bench on the simulated bench, started and stopped here."""
    debug = obj["debug"]
    with _errors(debug):
        loaded, steps, bench = _checked(plan, bench_path)
    stop = StopControl()
    _install_signal_handlers(stop)
    try:
        with _errors(debug, EXIT_ERROR):
            record, run_dir = _run(loaded, steps, bench, results_root, stop, debug)
    except AbortNow:  # interrupted twice before the runner took over: nothing was switched on
        _fail(
            FivegbenchError("aborted before the first measurement; no instrument was configured"), EXIT_ERROR
        )
    counts = ", ".join(f"{n} {verdict}" for verdict, n in record.counts.items())
    click.echo(f"{record.status}: {counts}; exit {record.exit_code}")
    # said here too: record.json may be what could not be written
    click.echo(f"safe state {record.safe_state}", err=record.exit_code == EXIT_UNSAFE)
    report = run_dir / "report.html"
    click.echo(f"report: {report}" if report.is_file() else f"results: {run_dir} (no report)")
    sys.exit(record.exit_code)


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
        else:
            message = "\nstopping now"
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
    stop: StopControl,
    debug: bool,
) -> tuple[RunRecord, Path]:
    """Create the run folder, start the simulated bench if asked, execute, index the run."""

    try:
        run_dir = create_run_dir(results_root, Path(loaded.file))
        copy_inputs(run_dir, Path(loaded.file), Path(bench.file))
        handler = RunLog(run_dir / "run.log", logging.DEBUG if debug else logging.INFO)
    except OSError as exc:  # nothing was touched yet
        raise FivegbenchError(
            f"cannot write the results under {results_root}: {exc.strerror or exc}"
        ) from exc
    package_logger = logging.getLogger("fivegbench")
    package_logger.addHandler(handler)
    package_logger.setLevel(logging.DEBUG)
    try:
        roles = roles_for(steps, bench) | {"attenuator"}  # the attenuator is part of the safe state
        sim = simulated_bench(bench, roles=roles) if bench.bench.simulated else nullcontext(None)
        with sim as running:
            effective = running.bench if running is not None else bench
            display = RichDisplay(Console(stderr=True))
            context = RunContext(
                loaded, steps, effective, run_dir, stop=stop, display=display, run_log=handler
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
    return record, run_dir


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


@main.command()
@click.argument("what", metavar="{" + ",".join(ANALYSES) + "}", type=click.Choice(list(ANALYSES)))
@click.argument("capture", type=click.Path(path_type=Path))
@click.option("--bandwidth", required=True, help="Channel bandwidth, e.g. 20MHz.")
@click.option("--scs", required=True, help="Subcarrier spacing, e.g. 15kHz.")
@click.option("--modulation", type=click.Choice(MODULATIONS, case_sensitive=False), help="For evm.")
@click.option(
    "--category", type=click.Choice(["A", "B"], case_sensitive=False), default="A", show_default=True
)
@click.option("--bs-class", type=click.Choice(sorted(BS_CLASSES)), default="wa", show_default=True)
@click.option("--band", help="Operating band for sem (default: from the centre frequency).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.pass_obj
def analyze(
    obj: dict[str, Any],
    what: str,
    capture: Path,
    bandwidth: str,
    scs: str,
    modulation: str | None,
    category: str,
    bs_class: str,
    band: str | None,
    as_json: bool,
) -> None:
    """Analyze a SigMF I/Q capture: power, aclr, obw, sem, evm or freq-error."""
    try:
        bandwidth_hz = units.parse(bandwidth, "frequency")
        scs_hz = units.parse(scs, "frequency")
    except units.UnitParseError as exc:
        _fail(FivegbenchError(str(exc)), EXIT_INVALID)
    with _errors(obj["debug"]):
        recording = read_capture(capture)
    try:
        carrier = carrier_for(recording, bandwidth_hz, scs_hz)
        options = Options(modulation and modulation.lower(), category.upper(), bs_class, band)
        result = ANALYSES[what](recording, carrier, options)
    except ValueError as exc:
        if obj["debug"]:
            raise
        _fail(FivegbenchError(f"{capture}: {exc}"), EXIT_INVALID)
    if as_json:
        click.echo(json.dumps(_finite(result)))
    else:
        for key, value in result.items():
            click.echo(f"{key:<26} {value}")
    if result.get("pass") is False:
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


@sim.command("serve")
@BENCH
@click.option("--console", type=click.Choice(["socket", "pty"]), default="socket", show_default=True)
@click.pass_obj
def sim_serve(obj: dict[str, Any], bench_path: Path | None, console: str) -> None:
    """Start the simulated instruments until Ctrl-C; print one line per role with its resource."""
    with _errors(obj["debug"]):
        bench = load_bench(bench_path or default_bench())
    stopping: list[int] = []
    signal.signal(signal.SIGTERM, lambda signum, frame: stopping.append(signum))
    signal.signal(signal.SIGINT, lambda signum, frame: stopping.append(signum))
    with (
        _errors(obj["debug"], EXIT_ERROR),
        simulated_bench(bench, console=console, skip_unavailable=True) as running,
    ):
        for role, resource in running.resources.items():
            click.echo(f"{role:<9} {resource}")
            sys.stdout.flush()
        for role, why in running.unavailable.items():
            click.echo(f"{role}: not simulated here: {why}", err=True)
        while not stopping:
            time.sleep(0.1)
