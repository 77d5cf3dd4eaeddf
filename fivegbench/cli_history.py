"""The command line of the run history: fivegbench runs | compare | trend.

Registered on the ``fivegbench`` group by cli.py. Each command imports what it uses, so that
importing this module costs nothing at start-up. Every error is one line on stderr (a traceback
only with --debug); exit 2 for bad input.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import click

RESULTS = click.option(
    "--results",
    "results_root",
    type=click.Path(path_type=Path),
    default=Path("results"),
    show_default=True,
    help="The results folder (holding index.sqlite and the run folders).",
)
AS_JSON = click.option("--json", "as_json", is_flag=True, help="Print JSON on stdout instead of a table.")


def _debug(ctx: click.Context) -> bool:
    """--debug of the fivegbench group (absent when a command is invoked on its own)."""
    return bool((ctx.find_root().obj or {}).get("debug"))


def aligned(rows: Sequence[Mapping[str, str]]) -> Iterable[str]:
    """Rows (column -> text, the same columns in each) as lines of left-aligned columns under a
    header line."""
    if not rows:
        return []
    widths = {name: max(len(name), *(len(row[name]) for row in rows)) for name in rows[0]}
    lines = [[name.ljust(width) for name, width in widths.items()]]
    lines += [[row[name].ljust(width) for name, width in widths.items()] for row in rows]
    return ["  ".join(cells).rstrip() for cells in lines]


@click.command()
@click.option("--plan", help="Only the runs of this plan: its file's path, name or stem (demo).")
@click.option("--dut", metavar="SERIAL", help="Only the runs of the DUT with this serial number.")
@AS_JSON
@RESULTS
@click.pass_context
def runs(ctx: click.Context, plan: str | None, dut: str | None, as_json: bool, results_root: Path) -> None:
    """List the runs in the results folder, newest first: plan, DUT, firmware, start, verdict
    counts and folder.

    Run folders missing from results/index.sqlite (copied in) are added to it from their
    record.json."""
    from fivegbench.cli import _errors
    from fivegbench.history import list_runs

    with _errors(_debug(ctx)):
        found = list_runs(results_root, plan=plan, dut=dut)
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    table = [
        {
            "plan": run["plan"] or "-",
            "DUT serial": run["dut_serial"] or "-",
            "firmware": run["dut_firmware"] or "-",
            "started (UTC)": run["started"] or "-",
            "verdicts": " ".join(f"{n} {verdict}" for verdict, n in run["counts"].items()) or "-",
            "path": run["path"],
        }
        for run in found
    ]
    for line in aligned(table):
        click.echo(line)
    click.echo(f"{len(found)} run{'s' if len(found) != 1 else ''}")


@click.command()
@click.argument("run_a", type=click.Path(path_type=Path))
@click.argument("run_b", type=click.Path(path_type=Path))
@click.option(
    "--threshold",
    "thresholds",
    multiple=True,
    metavar="MARGIN",
    help="A margin lost by more than this is a regression (default 0.5 dB): '0.5dB', '1 kHz', or "
    "a plain number in each margin's own unit. Give it once per kind of margin (dB, Hz, %, ...); "
    "margins of a kind without a threshold are not compared, verdicts always are.",
)
@AS_JSON
@click.option(
    "--html", "html_out", type=click.Path(path_type=Path), metavar="OUT", help="Also write an HTML page."
)
@click.pass_context
def compare(
    ctx: click.Context,
    run_a: Path,
    run_b: Path,
    thresholds: tuple[str, ...],
    as_json: bool,
    html_out: Path | None,
) -> None:
    """Compare run B with run A (the baseline), measurement by measurement: value A, value B,
    difference, verdict change and margins, regressions first.

    RUN_A and RUN_B are run folders (or their record.json). A regression is a requirement that
    passed in A and does not in B, or a margin lost by more than the threshold. Exit 0 without
    a regression, 1 with one, 2 for bad input."""
    from fivegbench.cli import EXIT_INVALID, _errors
    from fivegbench.compare import CATEGORIES, Threshold, html_page
    from fivegbench.compare import compare as compare_runs
    from fivegbench.errors import FivegbenchError

    with _errors(_debug(ctx), EXIT_INVALID):
        comparison = compare_runs(run_a, run_b, [Threshold.parse(text) for text in thresholds])
        if html_out is not None:
            try:
                html_out.write_text(html_page(comparison), encoding="utf-8")
            except OSError as exc:
                raise FivegbenchError(f"cannot write {html_out}: {exc.strerror or exc}") from None
    if as_json:
        click.echo(json.dumps(comparison.to_dict(), indent=2))
    else:
        groups = comparison.by_category()
        click.echo(f"A {comparison.run_a['run_id']} ({comparison.run_a['path']})")
        click.echo(f"B {comparison.run_b['run_id']} ({comparison.run_b['path']})")
        for note in comparison.notes:
            click.echo(f"note: {note}")
        for category, title in CATEGORIES.items():
            rows = groups[category]
            if rows:
                click.echo(f"\n{title} ({len(rows)})")
                for line in aligned([row.cells() for row in rows]):
                    click.echo(line)
        click.echo("\n" + ", ".join(f"{title}: {len(groups[c])}" for c, title in CATEGORIES.items()))
    sys.exit(1 if comparison.regressed else 0)


@click.command()
@click.argument("value")
@click.option("--plan", required=True, help="The plan: its file's path, name or stem (demo).")
@click.option("--step", help="Only this step (its name in the plan).")
@RESULTS
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    metavar="FILE",
    help="Write the plot: FILE.png, or FILE.html (one page embedding it).",
)
@AS_JSON
@click.pass_context
def trend(
    ctx: click.Context,
    value: str,
    plan: str,
    step: str | None,
    results_root: Path,
    out: Path | None,
    as_json: bool,
) -> None:
    """One VALUE (aclr_lower1, channel_power, throughput, ...) across the runs of a plan, per
    step and sweep point: the drift of a DUT or of a bench.

    Prints run, start, firmware, point and value; --out plots the value against each run's
    start time, one line per step and sweep point, with the limit where the measurements carry
    one."""
    from dataclasses import asdict

    from fivegbench.cli import _errors
    from fivegbench.history import trend as trend_of
    from fivegbench.history import write_trend

    with _errors(_debug(ctx)):
        points = trend_of(results_root, plan, value, step)
        if out is not None:
            write_trend(out, points, value, plan)
    if as_json:
        click.echo(json.dumps([asdict(point) for point in points], indent=2))
    else:
        for line in aligned([point.table_row() for point in points]):
            click.echo(line)
    if out is not None:
        click.echo(f"plot: {out}", err=as_json)


#: The commands cli.py adds to the ``fivegbench`` group.
COMMANDS: tuple[click.Command, ...] = (runs, compare, trend)
