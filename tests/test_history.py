"""Run history: results/index.sqlite (new, migrated, missing, corrupt), `runs` and `trend`.

Run folders are written by hand (a record.json each): fast, no instruments. The real runs are in
tests/test_compare.py.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from fivegbench.cli_history import runs, trend
from fivegbench.history import index_run, list_runs
from fivegbench.record import RunRecord

# The `runs` table as store.index_run created it before history.py.
OLD_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS runs (run_id TEXT PRIMARY KEY, folder TEXT, trial TEXT, plan TEXT,"
    " plan_sha256 TEXT, bench TEXT, started TEXT, finished TEXT, status TEXT, exit_code INTEGER,"
    " pass INTEGER, fail INTEGER, inconclusive INTEGER, error INTEGER)"
)

NEW_COLUMNS = [
    "run_id",
    "folder",
    "trial",
    "plan",
    "plan_sha256",
    "bench",
    "simulated",
    "dut_vendor",
    "dut_model",
    "dut_serial",
    "dut_firmware",
    "started",
    "finished",
    "status",
    "exit_code",
    "pass",
    "fail",
    "inconclusive",
    "error",
    "aborted",
    "skipped",
]

ENTRY_KEYS = [
    "run_id",
    "path",
    "trial",
    "plan",
    "plan_sha256",
    "bench",
    "simulated",
    "dut_vendor",
    "dut_model",
    "dut_serial",
    "dut_firmware",
    "started",
    "finished",
    "status",
    "exit_code",
    "counts",
]


def power(value: float, tx: str, low: float, high: float) -> dict:
    """A channel-power measurement at TX power ``tx`` with its output-power limit."""
    limit = {"value": "channel_power", "low": low, "high": high, "unit": "dBm"}
    margin = min(value - low, high - value)
    return {
        "step": "power",
        "index": 1,
        "kind": "rf.power",
        "point": {"tx_power": tx},
        "values": {"channel_power": {"value": value, "unit": "dBm"}},
        "limits": [{"name": "output_power", "alternatives": [limit]}],
        "verdict": "PASS" if margin >= 0 else "FAIL",
        "repeat": "1/1",
        "checks": [
            {"requirement": "output_power", "passed": margin >= 0, "margin": margin, "decided_by": limit}
        ],
    }


def write_run(
    root: Path,
    name: str,
    *,
    started: str,
    plan: str = "testplans/demo.yaml",
    serial: str = "GNB-0042",
    firmware: str = "2.3.1",
    counts: dict | None = None,
    measurements: list | None = None,
) -> Path:
    run_dir = root / name
    run_dir.mkdir(parents=True)
    record = {
        "run_id": name,
        "trial": f"trial of {name}",
        "plan_file": plan,
        "plan_sha256": "ab" * 32,
        "bench_name": "simulated bench",
        "simulated": True,
        "dut": {"vendor": "VHT", "model": "gNodeB 8T8R", "serial": serial, "firmware": firmware},
        "started": started,
        "finished": started.replace("T10", "T11"),
        "status": "completed",
        "exit_code": 1,
        "counts": {"PASS": 7, "FAIL": 1} if counts is None else counts,
        "measurements": measurements or [],
    }
    (run_dir / "record.json").write_text(json.dumps(record))
    return run_dir


def invoke(command, *args: str):
    result = CliRunner().invoke(command, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def table(db_path: Path) -> tuple[list[str], list[tuple]]:
    with sqlite3.connect(db_path) as db:
        columns = [row[1] for row in db.execute("PRAGMA table_info(runs)")]
        rows = db.execute("SELECT * FROM runs ORDER BY run_id").fetchall()
    db.close()
    return columns, rows


def test_index_run_writes_one_row_per_run_with_dut_and_counts(tmp_path):
    run_dir = tmp_path / "20260101T100000Z-demo"
    run_dir.mkdir()
    record = RunRecord(
        run_id="20260101T100000Z-demo",
        trial="demo trial",
        plan_file="testplans/demo.yaml",
        plan_sha256="cd" * 32,
        bench_file="instruments/benches/sim.yaml",
        bench_name="simulated bench",
        simulated=True,
        operator="lab 3",
        host="vm",
        software="fivegbench 0.1.0",
        started="2026-01-01T10:00:00.000000Z",
        finished="2026-01-01T10:00:12.000000Z",
        exit_code=3,
        status="completed",
        dut={"vendor": "VHT", "model": "gNodeB 8T8R", "serial": "GNB-0042", "firmware": "2.3.1"},
        cell={},
        instruments={},
        rf_path={},
        start_state=None,
        safe_state="confirmed",
        counts={"PASS": 5, "ERROR": 2, "SKIPPED": 1},
    )
    index_run(tmp_path, run_dir, record)
    index_run(tmp_path, run_dir, record)  # indexed again: still one row
    columns, rows = table(tmp_path / "index.sqlite")
    assert columns == NEW_COLUMNS
    assert rows == [
        (
            "20260101T100000Z-demo",
            "20260101T100000Z-demo",
            "demo trial",
            "testplans/demo.yaml",
            "cd" * 32,
            "simulated bench",
            1,
            "VHT",
            "gNodeB 8T8R",
            "GNB-0042",
            "2.3.1",
            "2026-01-01T10:00:00.000000Z",
            "2026-01-01T10:00:12.000000Z",
            "completed",
            3,
            5,
            0,
            0,
            2,
            0,
            1,
        )
    ]


def test_an_old_index_is_migrated_in_place_and_old_runs_get_their_dut_from_record_json(tmp_path):
    kept = write_run(tmp_path, "20260101T100000Z-demo", started="2026-01-01T10:00:00Z", serial="GNB-0007")
    with sqlite3.connect(tmp_path / "index.sqlite") as db:
        db.execute(OLD_SCHEMA)
        db.execute(
            "INSERT INTO runs VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (kept.name, kept.name, "t", "testplans/demo.yaml", "ab" * 32, "simulated bench",
             "2026-01-01T10:00:00Z", "2026-01-01T11:00:00Z", "completed", 1, 7, 1, 0, 0),
        )  # fmt: skip
        db.execute(
            "INSERT INTO runs VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            ("gone", "gone", "t", "testplans/demo.yaml", "ab" * 32, "simulated bench",
             "2025-12-01T10:00:00Z", "2025-12-01T11:00:00Z", "completed", 0, 8, 0, 0, 0),
        )  # fmt: skip
    db.close()

    found = list_runs(tmp_path)

    columns, _ = table(tmp_path / "index.sqlite")
    assert columns[:14] == NEW_COLUMNS[:6] + NEW_COLUMNS[11:19]  # the old columns stay where they were
    assert sorted(columns) == sorted(NEW_COLUMNS)
    by_id = {entry["run_id"]: entry for entry in found}
    assert by_id[kept.name]["dut_serial"] == "GNB-0007"
    assert by_id[kept.name]["dut_firmware"] == "2.3.1"
    assert by_id[kept.name]["simulated"] is True
    assert by_id[kept.name]["counts"] == {"PASS": 7, "FAIL": 1}
    # a run whose folder is gone keeps what the old index knew, and nothing more
    assert by_id["gone"]["dut_serial"] is None and by_id["gone"]["simulated"] is None
    assert by_id["gone"]["counts"] == {"PASS": 8}
    assert [entry["run_id"] for entry in found] == [kept.name, "gone"]  # newest first


def test_runs_without_an_index_are_listed_from_their_folders_and_indexed(tmp_path):
    write_run(tmp_path, "b", started="2026-02-01T10:00:00Z")
    write_run(tmp_path, "a", started="2026-03-01T10:00:00Z")
    (tmp_path / "not-a-run").mkdir()
    assert not (tmp_path / "index.sqlite").exists()

    assert [entry["run_id"] for entry in list_runs(tmp_path)] == ["a", "b"]
    _, rows = table(tmp_path / "index.sqlite")
    assert [row[0] for row in rows] == ["a", "b"]

    write_run(tmp_path, "c", started="2026-01-01T10:00:00Z")  # copied in later: not in the index
    assert [entry["run_id"] for entry in list_runs(tmp_path)] == ["a", "b", "c"]
    assert [row[0] for row in table(tmp_path / "index.sqlite")[1]] == ["a", "b", "c"]


def test_an_index_that_cannot_be_opened_lists_runs_from_their_folders(tmp_path, caplog):
    write_run(tmp_path, "a", started="2026-03-01T10:00:00Z")
    (tmp_path / "index.sqlite").mkdir()  # sqlite cannot open it (as in a read-only copy)
    assert [entry["run_id"] for entry in list_runs(tmp_path)] == ["a"]
    assert "runs listed from their folders" in caplog.text


def test_plan_and_dut_filters(tmp_path):
    write_run(tmp_path, "demo-1", started="2026-01-01T10:00:00Z", plan="testplans/demo.yaml")
    write_run(tmp_path, "demo-2", started="2026-01-02T10:00:00Z", plan="testplans/demo.yaml", serial="X-1")
    write_run(tmp_path, "conf", started="2026-01-03T10:00:00Z", plan="testplans/nr-fr1-conformance.yaml")
    write_run(tmp_path, "demo2", started="2026-01-04T10:00:00Z", plan="other/demo2.yaml")

    def ids(**filters) -> list[str]:
        return [entry["run_id"] for entry in list_runs(tmp_path, **filters)]

    for plan in ("testplans/demo.yaml", "./testplans/demo.yaml", "demo.yaml", "demo"):
        assert ids(plan=plan) == ["demo-2", "demo-1"], plan
    assert ids(plan="nr-fr1-conformance") == ["conf"]
    assert ids(plan="dem") == []
    assert ids(dut="X-1") == ["demo-2"]
    assert ids(dut="GNB-0042", plan="demo") == ["demo-1"]
    assert ids(dut="GNB-9") == []


def test_runs_json_shape(tmp_path):
    run_dir = write_run(tmp_path, "r1", started="2026-01-01T10:00:00Z", counts={"PASS": 3, "INCONCLUSIVE": 2})
    result = invoke(runs, "--json", "--results", str(tmp_path))
    assert result.exit_code == 0, result.output
    (entry,) = json.loads(result.stdout)
    assert list(entry) == ENTRY_KEYS
    assert entry == {
        "run_id": "r1",
        "path": str(run_dir),
        "trial": "trial of r1",
        "plan": "testplans/demo.yaml",
        "plan_sha256": "ab" * 32,
        "bench": "simulated bench",
        "simulated": True,
        "dut_vendor": "VHT",
        "dut_model": "gNodeB 8T8R",
        "dut_serial": "GNB-0042",
        "dut_firmware": "2.3.1",
        "started": "2026-01-01T10:00:00Z",
        "finished": "2026-01-01T11:00:00Z",
        "status": "completed",
        "exit_code": 1,
        "counts": {"PASS": 3, "INCONCLUSIVE": 2},
    }


def test_runs_table(tmp_path):
    write_run(tmp_path, "old", started="2026-01-01T10:00:00Z", firmware="2.3.0")
    write_run(tmp_path, "new", started="2026-01-02T10:00:00Z", firmware="2.3.1", serial="GNB-0043")
    result = invoke(runs, "--results", str(tmp_path))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["plan", "DUT", "serial", "firmware", "started", "(UTC)", "verdicts", "path"]
    assert lines[1].split() == [
        "testplans/demo.yaml", "GNB-0043", "2.3.1", "2026-01-02T10:00:00Z", "7", "PASS", "1", "FAIL",
        str(tmp_path / "new"),
    ]  # fmt: skip
    assert lines[2].split()[1:3] == ["GNB-0042", "2.3.0"]
    assert lines[3] == "2 runs"
    assert result.stdout.index("GNB-0043") < result.stdout.index("GNB-0042")


def assert_one_line_error(result, message: str) -> None:
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(message), result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_a_corrupt_index_is_one_line_and_exit_2(tmp_path):
    write_run(tmp_path, "a", started="2026-03-01T10:00:00Z")
    index = tmp_path / "index.sqlite"
    index.write_text("this is not a database" * 50)
    result = invoke(runs, "--results", str(tmp_path))
    assert_one_line_error(result, f"error: {index}: not a readable run index (file is not a database)")


def test_a_missing_results_folder_is_one_line_and_exit_2(tmp_path):
    result = invoke(runs, "--results", str(tmp_path / "nowhere"))
    assert_one_line_error(result, f"error: {tmp_path / 'nowhere'}: no such results folder")


# --- trend ------------------------------------------------------------------------------------


@pytest.fixture
def three_runs(tmp_path) -> Path:
    """Three runs of the demo plan; the 40 dBm output power drifts down 0.2 dB per run."""
    for n, (started, firmware) in enumerate(
        [
            ("2026-01-01T10:00:00Z", "2.3.0"),
            ("2026-01-02T10:00:00Z", "2.3.1"),
            ("2026-01-03T10:00:00Z", "2.4.0"),
        ]
    ):
        measurements = [
            power(37.0 - 0.1 * n, "37 dBm", 34.0, 40.0),
            power(40.0 - 0.2 * n, "40 dBm", 37.0, 43.0),
        ]
        write_run(tmp_path, f"run{n}", started=started, firmware=firmware, measurements=measurements)
    write_run(tmp_path, "other", started="2026-01-04T10:00:00Z", plan="testplans/latency.yaml")
    return tmp_path


def test_trend_table_and_json(three_runs):
    result = invoke(trend, "--plan", "demo", "channel_power", "--results", str(three_runs))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["run", "started", "firmware", "step", "point", "repeat", "value"]
    assert [line.split() for line in lines[1:3]] == [
        ["run0", "2026-01-01T10:00:00Z", "2.3.0", "power", "tx_power", "37", "dBm", "1/1", "37", "dBm"],
        ["run0", "2026-01-01T10:00:00Z", "2.3.0", "power", "tx_power", "40", "dBm", "1/1", "40", "dBm"],
    ]
    assert lines[6].split()[:3] == ["run2", "2026-01-03T10:00:00Z", "2.4.0"]
    assert lines[6].split()[-2:] == ["39.6", "dBm"]
    assert len(lines) == 7

    result = invoke(trend, "--plan", "demo", "channel_power", "--results", str(three_runs), "--json")
    points = json.loads(result.stdout)
    at_40 = [p for p in points if p["point"] == "tx_power 40 dBm"]
    assert [p["value"] for p in at_40] == pytest.approx([40.0, 39.8, 39.6], abs=1e-12)
    assert [p["firmware"] for p in at_40] == ["2.3.0", "2.3.1", "2.4.0"]
    assert {(p["low"], p["high"]) for p in at_40} == {(37.0, 43.0)}
    assert set(points[0]) == {
        "run_id", "started", "firmware", "step", "point", "repeat", "value", "unit", "low", "high",
    }  # fmt: skip


def test_trend_plots_png_and_self_contained_html(three_runs, tmp_path):
    png = tmp_path / "trend.png"
    result = invoke(trend, "--plan", "demo", "channel_power", "--results", str(three_runs), "--out", str(png))
    assert result.exit_code == 0, result.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(png.read_bytes()) > 10_000  # a plot, not an empty image

    page = tmp_path / "trend.html"
    result = invoke(
        trend, "--plan", "demo", "channel_power", "--results", str(three_runs), "--out", str(page)
    )
    assert result.exit_code == 0, result.output
    text = page.read_text()
    assert text.count('src="data:image/png;base64,') == 1
    for external in ("http:", "https:", "url(", "<link", "<script", "href="):
        assert external not in text
    assert "2.4.0" in text


def test_trend_step_filter(three_runs):
    result = invoke(trend, "--plan", "demo", "channel_power", "--step", "nope", "--results", str(three_runs))
    assert_one_line_error(
        result, "error: no run of plan 'demo' holds a value 'channel_power' in step 'nope'\n"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--plan", "capacity", "channel_power"], "error: no run of plan 'capacity' under "),
        (
            ["--plan", "demo", "throughput"],
            "error: no run of plan 'demo' holds a value 'throughput' (values: channel_power)",
        ),
        (
            ["--plan", "demo", "channel_power", "--out", "plot.pdf"],
            "error: --out plot.pdf: the file must end in",
        ),
    ],
    ids=["no-runs", "no-value", "bad-suffix"],
)
def test_trend_bad_input_is_one_line_and_exit_2(three_runs, args, message):
    assert_one_line_error(invoke(trend, *args, "--results", str(three_runs)), message)
