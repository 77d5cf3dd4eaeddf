"""`fivegbench compare`: two runs matched measurement by measurement, regressions first.

Most runs here are record.json files written by hand; one test compares two real runs of the
demo plan with a planted regression.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from fivegbench.cli_history import compare, runs
from fivegbench.compare import Threshold
from fivegbench.errors import FivegbenchError

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "testplans" / "demo.yaml"

ROW_KEYS = {
    "step",
    "point",
    "repeat",
    "value",
    "unit",
    "a",
    "b",
    "delta",
    "verdict_a",
    "verdict_b",
    "margin_a",
    "margin_b",
}
LISTS = ["regressions", "improvements", "unchanged", "only_in_a", "only_in_b"]


def limit(value: str, unit: str, low: float | None = None, high: float | None = None) -> dict:
    return {"value": value, "low": low, "high": high, "unit": unit}


def check(requirement: str, margin: float, decided_by: dict) -> dict:
    return {"requirement": requirement, "passed": margin >= 0, "margin": margin, "decided_by": decided_by}


def measurement(step: str, point: dict, values: dict, checks: list, verdict: str | None = None) -> dict:
    """A measurement; its limits are its checks' deciding limits, its verdict FAIL if a check
    failed, INCONCLUSIVE if one is undecided, else PASS (unless given)."""
    if verdict is None:
        outcomes = [c["passed"] for c in checks]
        verdict = "FAIL" if False in outcomes else "INCONCLUSIVE" if None in outcomes else "PASS"
    return {
        "step": step,
        "index": 1,
        "kind": "rf.test",
        "point": point,
        "values": {name: {"value": v, "unit": unit} for name, (v, unit) in values.items()},
        "limits": [{"name": c["requirement"], "alternatives": [c["decided_by"]]} for c in checks],
        "verdict": verdict,
        "repeat": "1/1",
        "checks": checks,
    }


def write_record(path: Path, measurements: list, **fields) -> Path:
    path.mkdir(parents=True)
    record = {
        "run_id": path.name,
        "plan_file": "testplans/x.yaml",
        "plan_sha256": "ab" * 32,
        "dut": {"vendor": "VHT", "model": "gNodeB", "serial": "GNB-0042", "firmware": "2.3.1"},
        "started": "2026-01-01T10:00:00Z",
        **fields,
        "measurements": measurements,
    }
    (path / "record.json").write_text(json.dumps(record))
    return path


POWER_LIMIT = limit("channel_power", "dBm", 37.0, 43.0)
ACLR_RELATIVE = limit("aclr_lower1", "dB", low=44.2)
ACLR_UPPER_RELATIVE = limit("aclr_upper1", "dB", low=44.2)
ACLR_ABSOLUTE = limit("adjacent_lower1_density", "dBm/MHz", high=-12.2)
OBW_LIMIT = limit("obw", "Hz", high=100e6)
EVM_LIMIT = limit("evm_64qam", "%", high=9.0)


def power(value: float, margin: float) -> dict:
    return measurement(
        "power",
        {"tx_power": "40 dBm"},
        {"channel_power": (value, "dBm")},
        [check("output_power", margin, POWER_LIMIT)],
    )


@pytest.fixture
def pair(tmp_path) -> tuple[Path, Path]:
    """Run A and run B, one of each kind of change."""
    a = [
        power(39.97, 2.97),
        measurement(
            "ACLR",
            {},
            {
                "aclr_lower1": (46.4, "dB"),
                "adjacent_lower1_density": (-23.4, "dBm/MHz"),
                "aclr_upper1": (46.0, "dB"),
            },
            [check("aclr_lower1", 11.2, ACLR_ABSOLUTE), check("aclr_upper1", 2.0, ACLR_UPPER_RELATIVE)],
        ),
        measurement(
            "obw", {}, {"obw": (97296015.0, "Hz")}, [check("occupied_bandwidth", 2703985.0, OBW_LIMIT)]
        ),
        measurement("evm", {}, {"evm_64qam": (9.5, "%")}, [check("evm_64qam", -0.5, EVM_LIMIT)]),
        measurement("latency", {}, {"rtt": (5.0, "ms")}, []),
        measurement(
            "errored", {"n": "1"}, {"channel_power": (40.0, "dBm")}, [check("output_power", 3.0, POWER_LIMIT)]
        ),
    ]
    b = [
        power(38.97, 1.97),  # 1 dB of margin lost: a regression, though still PASS
        measurement(
            "ACLR",
            {},
            {
                "aclr_lower1": (43.8, "dB"),
                "adjacent_lower1_density": (-11.0, "dBm/MHz"),
                "aclr_upper1": (45.7, "dB"),
            },
            [check("aclr_lower1", -0.4, ACLR_RELATIVE), check("aclr_upper1", 1.5, ACLR_UPPER_RELATIVE)],
        ),
        measurement("obw", {}, {"obw": (98e6, "Hz")}, [check("occupied_bandwidth", 2e6, OBW_LIMIT)]),
        measurement("evm", {}, {"evm_64qam": (8.5, "%")}, [check("evm_64qam", 0.5, EVM_LIMIT)]),
        measurement("freq error", {}, {"freq_error": (37.5, "Hz")}, []),
        measurement("errored", {"n": "1"}, {}, [], verdict="ERROR"),
    ]
    return write_record(tmp_path / "A", a), write_record(tmp_path / "B", b)


def invoke(command, *args: str):
    result = CliRunner().invoke(command, [str(arg) for arg in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def compared(*args) -> tuple[int, dict]:
    result = invoke(compare, *args, "--json")
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


def keyed(rows: list[dict]) -> set[tuple]:
    return {(row["step"], row["value"], row.get("requirement")) for row in rows}


def test_each_kind_of_change_lands_in_its_list(pair):
    code, report = compared(*pair)
    assert code == 1
    assert keyed(report["regressions"]) == {
        ("power", "channel_power", "output_power"),
        ("ACLR", "aclr_lower1", "aclr_lower1"),
        ("errored", "channel_power", "output_power"),
    }
    assert keyed(report["improvements"]) == {("evm", "evm_64qam", "evm_64qam")}
    assert keyed(report["only_in_a"]) == {("latency", "rtt", None)}
    assert keyed(report["only_in_b"]) == {("freq error", "freq_error", None)}
    assert keyed(report["unchanged"]) == {
        ("ACLR", "adjacent_lower1_density", None),
        ("ACLR", "aclr_upper1", "aclr_upper1"),  # 0.5 dB lost: not more than the threshold
        ("obw", "obw", "occupied_bandwidth"),  # a margin in Hz: no threshold of its kind by default
    }
    assert report["summary"] == {
        "regressions": 3,
        "improvements": 1,
        "only_in_a": 1,
        "only_in_b": 1,
        "unchanged": 3,
    }


def test_rows_carry_values_deltas_verdicts_and_margins(pair):
    _, report = compared(*pair)
    rows = {(row["step"], row["value"]): row for row in report["regressions"]}
    power_row = rows[("power", "channel_power")]
    assert {key: power_row[key] for key in ROW_KEYS} == {
        "step": "power",
        "point": {"tx_power": "40 dBm"},
        "repeat": "1/1",
        "value": "channel_power",
        "unit": "dBm",
        "a": 39.97,
        "b": 38.97,
        "delta": -1.0,
        "verdict_a": "PASS",
        "verdict_b": "PASS",
        "margin_a": 2.97,
        "margin_b": 1.97,
    }
    assert power_row["margin_unit"] == "dB"  # a margin between levels in dBm is in dB
    assert power_row["margin_change"] == -1.0
    aclr = rows[("ACLR", "aclr_lower1")]
    assert (aclr["verdict_a"], aclr["verdict_b"]) == ("PASS", "FAIL")
    assert (aclr["margin_a"], aclr["margin_b"], aclr["margin_unit"]) == (11.2, -0.4, "dB")
    assert aclr["margin_change"] == pytest.approx(-11.6, abs=1e-9)
    errored = rows[("errored", "channel_power")]
    assert (errored["verdict_a"], errored["verdict_b"], errored["b"], errored["margin_b"]) == (
        "PASS",
        "ERROR",
        None,
        None,
    )
    (only_a,) = report["only_in_a"]
    assert (only_a["a"], only_a["b"], only_a["verdict_a"], only_a["verdict_b"]) == (5.0, None, "PASS", None)
    assert set(report) >= {*LISTS, "summary"}
    for name in LISTS:
        for row in report[name]:
            assert set(row) >= ROW_KEYS


#: The rows of the pair that a margin threshold can make regressions: (step, requirement).
POWER = ("power", "output_power")
ACLR_LOWER = ("ACLR", "aclr_lower1")  # PASS -> FAIL: a regression whatever the threshold
ACLR_UPPER = ("ACLR", "aclr_upper1")  # 0.5 dB lost
ERRORED = ("errored", "output_power")  # PASS -> ERROR: a regression whatever the threshold
OBW = ("obw", "occupied_bandwidth")  # 703.985 kHz lost


@pytest.mark.parametrize(
    ("thresholds", "regressed"),
    [
        ([], {POWER, ACLR_LOWER, ERRORED}),
        (["1.5dB"], {ACLR_LOWER, ERRORED}),  # 1 dB lost is within 1.5 dB
        (["0.25 dB"], {POWER, ACLR_LOWER, ACLR_UPPER, ERRORED}),
        (["0.5 dB", "100 kHz"], {POWER, ACLR_LOWER, ERRORED, OBW}),
        (["0.5 dB", "1 MHz"], {POWER, ACLR_LOWER, ERRORED}),
        (["2"], {ACLR_LOWER, ERRORED, OBW}),  # a plain number is in each margin's unit: 2 dB, 2 Hz
        (["0.6", "1 MHz"], {POWER, ACLR_LOWER, ERRORED}),  # the threshold of the margin's kind first
    ],
)
def test_threshold_decides_which_lost_margins_are_regressions(pair, thresholds, regressed):
    args = [arg for text in thresholds for arg in ("--threshold", text)]
    _, report = compared(*pair, *args)
    assert {(row["step"], row["requirement"]) for row in report["regressions"]} == regressed


@pytest.mark.parametrize(
    ("text", "amount", "kind"),
    [("0.5dB", 0.5, "ratio"), ("1 dB", 1.0, "ratio"), ("1kHz", 1000.0, "frequency"), ("2", 2.0, None)],
)
def test_threshold_parses_quantities_and_plain_numbers(text, amount, kind):
    threshold = Threshold.parse(text)
    assert (threshold.amount, threshold.kind) == (amount, kind)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0.5 dBm", "is a level"),
        ("half a dB", "write a margin such as"),
        ("-1 dB", "zero or more"),
        ("nan", "zero or more"),
    ],
)
def test_threshold_refuses_levels_and_nonsense(text, message):
    with pytest.raises(FivegbenchError, match=message):
        Threshold.parse(text)


def test_pass_to_inconclusive_is_a_regression_and_the_reverse_an_improvement(tmp_path):
    passed = [power(39.97, 2.97)]
    undecided = check("output_power", 2.97, POWER_LIMIT) | {"passed": None}  # its interval straddles a bound
    straddling = [
        measurement("power", {"tx_power": "40 dBm"}, {"channel_power": (39.97, "dBm")}, [undecided])
    ]
    a, b = write_record(tmp_path / "A", passed), write_record(tmp_path / "B", straddling)
    code, report = compared(a, b)
    assert code == 1 and [row["reason"] for row in report["regressions"]] == ["PASS -> INCONCLUSIVE"]
    code, report = compared(b, a)
    assert code == 0 and [row["reason"] for row in report["improvements"]] == ["INCONCLUSIVE -> PASS"]


def test_a_run_compared_with_itself_has_no_regression(pair):
    a, _ = pair
    code, report = compared(a, a)
    assert code == 0
    assert report["summary"] == {
        "regressions": 0,
        "improvements": 0,
        "only_in_a": 0,
        "only_in_b": 0,
        "unchanged": 8,  # power 1, ACLR 3, OBW 1, EVM 1, latency 1, errored 1
    }


def test_text_lists_regressions_first(pair):
    result = invoke(compare, *pair)
    assert result.exit_code == 1
    text = result.stdout
    assert text.index("Regressions (3)") < text.index("Improvements (1)") < text.index("Unchanged (3)")
    regression_block = text[text.index("Regressions (3)") : text.index("Improvements (1)")]
    assert "PASS -> FAIL" in regression_block and "margin -1 dB (threshold 0.5 dB)" in regression_block
    assert text.rstrip().endswith(
        "Regressions: 3, Improvements: 1, Only in run A: 1, Only in run B: 1, Unchanged: 3"
    )


def test_html_page_is_self_contained_escaped_and_regressions_first(tmp_path):
    hostile = "<script>alert(1)</script>"
    a = write_record(tmp_path / "A", [power(39.97, 2.97)], trial=hostile)
    b = write_record(
        tmp_path / "B",
        [
            measurement(hostile, {}, {"x": (1.0, "dB")}, [check("x", 1.0, limit("x", "dB", low=0.0))]),
            power(38.97, 1.97),
        ],
    )
    page = tmp_path / "compare.html"
    result = invoke(compare, a, b, "--html", page)
    assert result.exit_code == 1, result.output
    text = page.read_text()
    assert hostile not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    for external in ("http:", "https:", "url(", "<link", "<script", "src=", "href="):
        assert external not in text
    assert text.index('<section class="regressions">') < text.index('<section class="only_in_b">')
    assert "REGRESSION" in text and "margin -1 dB (threshold 0.5 dB)" in text


def assert_one_line_error(result, message: str) -> None:
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("error: ") and message in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("record_text", "message"),
    [
        (None, "no record.json (not a run folder)"),
        ('{"run_id": "x", "measurements": [', "not valid JSON (Expecting value, line 1)"),
        ("[1, 2]", "not a run record (no run_id)"),
        ('{"run_id": "x", "measurements": [{"values": {}}]}', "measurement 1 is not a measurement (no step)"),
        (b"\xff\xfe\x00", "not a text file"),
    ],
    ids=["no-record", "torn-json", "not-a-record", "no-step", "binary"],
)
def test_bad_run_is_one_line_and_exit_2(pair, tmp_path, record_text, message):
    bad = tmp_path / "bad"
    bad.mkdir()
    if isinstance(record_text, bytes):
        (bad / "record.json").write_bytes(record_text)
    elif record_text is not None:
        (bad / "record.json").write_text(record_text)
    assert_one_line_error(invoke(compare, pair[0], bad), message)


def test_missing_run_folder_and_bad_threshold_are_one_line(pair, tmp_path):
    assert_one_line_error(invoke(compare, tmp_path / "nowhere", pair[1]), "nowhere: no such run folder")
    assert_one_line_error(invoke(compare, *pair, "--threshold", "3 dBm"), "is a level")


# --- two real runs of the demo plan -----------------------------------------------------------


def copy_of(run_dir: Path, results: Path, run_id: str, started: str) -> Path:
    """The session's real demo run, copied into ``results`` as run ``run_id`` (not indexed yet)."""
    copy = results / run_id
    shutil.copytree(run_dir, copy)
    path = copy / "record.json"
    record = json.loads(path.read_text())
    record.update(run_id=run_id, started=started)
    path.write_text(json.dumps(record))
    return copy


def plant(run_dir: Path) -> None:
    """In run B: ACLR at 43 dBm turns from PASS to FAIL with a smaller margin, and the channel
    power at 40 dBm loses 1 dB of margin while it still passes."""
    path = run_dir / "record.json"
    record = json.loads(path.read_text())
    for m in record["measurements"]:
        if m["step"] == "ACLR vs TX power" and m["point"] == {"tx_power": "43 dBm"}:
            assert m["verdict"] == "PASS"
            m["verdict"] = "FAIL"
            (aclr,) = [c for c in m["checks"] if c["requirement"] == "aclr_lower1"]
            aclr.update(passed=False, margin=-0.3)
            m["values"]["aclr_lower1"]["value"] = 43.9
        if m["step"] == "channel power vs TX power" and m["point"] == {"tx_power": "40 dBm"}:
            (output_power,) = m["checks"]
            assert output_power["passed"] is True
            output_power["margin"] -= 1.0
            m["values"]["channel_power"]["value"] -= 1.0
    path.write_text(json.dumps(record))


def test_a_real_demo_run_and_its_copy_with_a_planted_regression(plan_run, tmp_path):
    demo = plan_run(DEMO).run_dir  # the session's one demo run (tests/conftest.py)
    results = tmp_path / "results"
    results.mkdir()
    run_a = copy_of(demo, results, "20261201T080000Z-demo", "2026-12-01T08:00:00.000000Z")
    run_b = copy_of(demo, results, "20261201T090000Z-demo", "2026-12-01T09:00:00.000000Z")
    plant(run_b)

    result = invoke(compare, run_a, run_b, "--json", "--html", tmp_path / "compare.html")
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    regressions = {(r["step"], r["point"]["tx_power"], r["requirement"]): r for r in report["regressions"]}
    assert set(regressions) == {
        ("ACLR vs TX power", "43 dBm", "aclr_lower1"),
        ("channel power vs TX power", "40 dBm", "output_power"),
    }
    aclr = regressions[("ACLR vs TX power", "43 dBm", "aclr_lower1")]
    assert (aclr["verdict_a"], aclr["verdict_b"], aclr["margin_b"]) == ("PASS", "FAIL", -0.3)
    assert aclr["margin_a"] > 0 and aclr["b"] == 43.9
    power_row = regressions[("channel power vs TX power", "40 dBm", "output_power")]
    assert (power_row["verdict_a"], power_row["verdict_b"]) == ("PASS", "PASS")
    assert power_row["margin_change"] == pytest.approx(-1.0, abs=1e-9)
    assert power_row["delta"] == pytest.approx(-1.0, abs=1e-9)
    assert report["summary"]["only_in_a"] == report["summary"]["only_in_b"] == 0
    page = (tmp_path / "compare.html").read_text()
    assert page.index("Regressions (2)") < page.index("Unchanged (")

    assert invoke(compare, run_a, run_a).exit_code == 0

    listed = invoke(runs, "--plan", "demo", "--json", "--results", results)  # indexes the copies
    assert [run["path"] for run in json.loads(listed.stdout)] == [str(run_b), str(run_a)]
    with sqlite3.connect(results / "index.sqlite") as db:
        indexed = db.execute("SELECT folder, dut_serial, pass, fail FROM runs ORDER BY started").fetchall()
    db.close()
    assert indexed == [(run_a.name, "GNB-0042", 7, 1), (run_b.name, "GNB-0042", 7, 1)]
