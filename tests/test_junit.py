"""``junit.xml``: valid against the JUnit XSD, counts equal to the record's, messages that state
value, limit and margin with units, and every hostile string kept as text."""

from __future__ import annotations

import filecmp
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from fivegbench.record import RunRecord
from fivegbench.report.junit import junit_xml
from fivegbench.store import write_atomic, write_record
from tests.record_checks import JUNIT_XSD, assert_valid_junit, assert_valid_record

ROOT = Path(__file__).resolve().parent.parent
SHARED_XSD = ROOT.parent / "shared/data/junit/junit-10.xsd"

HOSTILE = "<script>alert(\"x\")</script> & 'q' \x01 ünïcødé Ω"
HOSTILE_AS_XML = HOSTILE.replace("\x01", "\ufffd")  # XML 1.0 cannot hold U+0001 at all

ACLR_CLAUSE = "TS 38.141-1 6.7.3"
DENSITY_CLAUSE = "TS 38.104 §6.6.3.2 Table 6.6.3.2-2"


def limit(value: str, low: float | None, high: float | None, unit: str, **extra: Any) -> dict[str, Any]:
    return {
        "value": value,
        "low": low,
        "high": high,
        "unit": unit,
        "minimum_requirement": None,
        "test_tolerance": None,
        "tolerance_unverified": False,
        "clause": "plan",
        "note": "",
        **extra,
    }


def check(requirement: str, passed: bool | None, margin: float | None, decided_by, measured, note=""):
    return {
        "requirement": requirement,
        "passed": passed,
        "margin": margin,
        "decided_by": decided_by,
        "measured": measured,
        "note": note,
    }


def measurement(index: int, step: str, kind: str, verdict: str, **fields: Any) -> dict[str, Any]:
    return {
        "step": step,
        "index": index,
        "kind": kind,
        "point": {},
        "values": {},
        "limits": [],
        "verdict": verdict,
        "time": "2026-11-30T10:00:01.000000Z",
        "repeat": "1/1",
        "checks": [],
        "conditions": {},
        "error": None,
        "flags": [],
        "duration_s": None,
        **fields,
    }


# ACLR: the relative limit fails by 36.0512 - 44.2 = -8.1488 dB; the absolute one (a density in
# dBm/MHz, requirement named apart from its value) by -12.2 - (-10.1049) = -2.0951 dB.
RELATIVE = limit("aclr_lower", 44.2, None, "dB", clause=ACLR_CLAUSE)
DENSITY = limit(
    "adjacent_density",
    None,
    -12.2,
    "dBm/MHz",
    minimum_requirement=-13.0,
    test_tolerance=0.8,
    tolerance_unverified=True,
    clause=DENSITY_CLAUSE,
)
POWER = limit("channel_power", 40.0, 46.0, "dBm", minimum_requirement=2.0, test_tolerance=1.0)
OBW = limit("obw", None, 100e6, "Hz", clause="TS 38.104 §6.6.2")
FREQ = limit("freq_error", -199.5, 199.5, "Hz")
THROUGHPUT = limit("throughput", 50.0, None, "Mbit/s")

MEASUREMENTS = [
    measurement(
        1,
        "BS output power",
        "rf.power",
        "PASS",
        point={"tx_power": "43 dBm"},
        values={"channel_power": {"value": 42.937, "unit": "dBm"}},
        limits=[{"name": "output_power", "alternatives": [POWER]}],
        checks=[check("output_power", True, 2.937, POWER, {"channel_power": 42.937})],
        conditions={"rbw_hz": 100000.0, "detector": "RMS", "capture": "captures/0001-rf.power.npz"},
        duration_s=1.23456,
    ),
    measurement(
        2,
        "ACLR",
        "rf.aclr",
        "FAIL",
        point={"tx_power": "46 dBm"},
        repeat="2/3",
        values={
            "aclr_lower": {"value": 36.0512, "unit": "dB"},
            "adjacent_density": {"value": -10.1049, "unit": "dBm/MHz"},
        },
        limits=[
            {"name": "aclr_lower", "alternatives": [RELATIVE]},
            {"name": "aclr_upper1", "alternatives": [DENSITY]},
        ],
        checks=[
            check("aclr_lower", False, -8.1488, RELATIVE, {"aclr_lower": 36.0512}),
            check("aclr_upper1", False, -2.0951, DENSITY, {"adjacent_density": -10.1049}),
        ],
        duration_s=0.5,
    ),
    measurement(
        3,
        "occupied bandwidth",
        "rf.obw",
        "FAIL",
        values={"obw": {"value": 100000400.0, "unit": "Hz"}},
        limits=[{"name": "occupied_bandwidth", "alternatives": [OBW]}],
        checks=[check("occupied_bandwidth", False, -400.0, OBW, {"obw": 100000400.0})],
    ),
    measurement(
        4,
        "frequency error",
        "rf.freq_error",
        "FAIL",
        values={"freq_error": {"value": 200.4, "unit": "Hz"}},
        limits=[{"name": "freq_error", "alternatives": [FREQ]}],
        checks=[check("freq_error", False, -0.9, FREQ, {"freq_error": 200.4})],
    ),
    measurement(
        5,
        "UL throughput",
        "traffic.throughput",
        "INCONCLUSIVE",
        point={"attenuation": "40 dB"},
        values={"throughput": {"value": 49.04, "unit": "Mbit/s"}},
        limits=[{"name": "throughput", "alternatives": [THROUGHPUT]}],
        checks=[
            check(
                "throughput",
                None,
                -0.96,
                THROUGHPUT,
                {"throughput": 49.04},
                note="95% interval 47.1 to 51 Mbit/s straddles the limit throughput >= 50 Mbit/s",
            )
        ],
    ),
    measurement(
        6,
        "EVM",
        "rf.evm",
        "INCONCLUSIVE",
        conditions={"invalid": "analyzer overload"},
    ),
    measurement(
        7,
        HOSTILE,
        "rf.power",
        "ERROR",
        point={"tx_power": HOSTILE},
        error=f"InstrumentError: analyzer: {HOSTILE}",
        conditions={"detector": HOSTILE},
        duration_s=3.0,
    ),
    measurement(8, "ACLR vs TX power", "rf.aclr", "ABORTED", error="not run: aborted"),
    measurement(9, "latency", "traffic.latency", "SKIPPED", error="not run: stopped on error"),
]


def run_record(measurements: list[dict[str, Any]] = MEASUREMENTS, **fields: Any) -> RunRecord:
    counts = Counter(m["verdict"] for m in measurements)
    values: dict[str, Any] = {
        "run_id": "20261130T100000Z-demo",
        "trial": HOSTILE,
        "plan_file": "testplans/demo.yaml",
        "plan_sha256": "0" * 64,
        "bench_file": "instruments/benches/sim.yaml",
        "bench_name": "simulated bench",
        "simulated": True,
        "operator": HOSTILE,
        "host": "vm",
        "software": "fivegbench 0.1.0",
        "started": "2026-11-30T10:00:00.250000Z",
        "finished": "2026-11-30T10:01:05.000000Z",
        "exit_code": 3,
        "status": "aborted",
        "dut": {"vendor": HOSTILE, "model": "gNodeB", "serial": "GNB-1", "firmware": "2.3.1"},
        "cell": {
            "band": "n78",
            "center_frequency": 3.75e9,
            "bandwidth": 1e8,
            "scs": 3e4,
            "tx_power": 43.0,
        },
        "instruments": {
            "analyzer": {
                "driver": "rs_fsw",
                "resource": "TCPIP::127.0.0.1::5025::SOCKET",
                "model": "FSW",
                "serial": "1",
                "calibration_due": "2027-06-30",
                "identity": HOSTILE,
            }
        },
        "rf_path": {"loss": 40.0, "components": []},
        "start_state": "gNB RF off at connect (read back)",
        "safe_state": "confirmed: gNB RF off (read back)",
        "counts": dict(counts),
        "report_id": "FGB-20261130T100000Z-demo-0A1B2C3D",
        "local_timezone": "+0000 UTC",
        "environment": {"temperature": "23 °C", "note": HOSTILE},
        "command_line": ["fivegbench", "run", "testplans/demo.yaml", "--env", f"note={HOSTILE}"],
        "versions": {"python": "3.11.2", "fivegbench": "0.1.0"},
        "gnb_readback": {
            "version": {"software": HOSTILE},
            "cell": {"rf_on": False, "band": "n78"},
            "differences": [f"firmware: the plan says 2.3.1, the gNB reports {HOSTILE}"],
        },
        **fields,
    }
    return RunRecord(**values)


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> tuple[Path, dict[str, Any]]:
    """The hand-built run written as a run writes it: record.json and junit.xml."""
    folder = tmp_path_factory.mktemp("junit")
    record = run_record()
    write_record(folder / "record.json", record, MEASUREMENTS)
    write_atomic(folder / "junit.xml", junit_xml(record, MEASUREMENTS))
    return folder, {**record.to_dict(), "measurements": MEASUREMENTS}


@pytest.fixture(scope="module")
def suite(written) -> etree._Element:
    folder, _ = written
    return etree.parse(str(folder / "junit.xml")).getroot()


def case(suite: etree._Element, index: int) -> etree._Element:
    return suite.findall("testcase")[index - 1]


def test_hand_built_run_is_valid_and_counts_match(written, suite):
    folder, record = written
    assert_valid_record(folder / "record.json")
    assert_valid_junit(folder / "junit.xml", record)
    assert [suite.get(k) for k in ("tests", "failures", "errors", "skipped")] == ["9", "5", "2", "1"]


def test_failure_message_states_value_limit_and_margin_with_units(suite):
    failure = case(suite, 2).find("failure")
    assert failure.get("type") == "FAIL"
    assert failure.get("message") == (
        "aclr_lower = 36.05 dB, limit >= 44.2 dB, margin -8.15 dB (TS 38.141-1 6.7.3); "
        "aclr_upper1: adjacent_density = -10.10 dBm/MHz, limit <= -12.2 dBm/MHz [U], margin -2.10 dB "
        "(TS 38.104 §6.6.3.2 Table 6.6.3.2-2)"
    )
    assert (
        failure.text.splitlines()[0]
        == "aclr_lower = 36.05 dB, limit >= 44.2 dB, margin -8.15 dB (TS 38.141-1 6.7.3)"
    )


def test_frequencies_scale_and_round_to_the_hertz(suite):
    assert case(suite, 3).find("failure").get("message") == (
        "occupied_bandwidth: obw = 100.000400 MHz, limit <= 100 MHz, margin -400 Hz (TS 38.104 §6.6.2)"
    )
    assert case(suite, 4).find("failure").get("message") == (
        "freq_error = 200 Hz, limit -199.5 Hz to 199.5 Hz, margin -1 Hz (plan)"
    )


def test_inconclusive_says_why(suite):
    straddling = case(suite, 5).find("failure")
    assert straddling.get("type") == "INCONCLUSIVE"
    assert straddling.get("message") == (
        "throughput = 49.0 Mbit/s, limit >= 50 Mbit/s, margin -1.0 Mbit/s (plan): "
        "95% interval 47.1 to 51 Mbit/s straddles the limit throughput >= 50 Mbit/s"
    )
    invalid = case(suite, 6).find("failure")
    assert (invalid.get("type"), invalid.get("message")) == (
        "INCONCLUSIVE",
        "measurement invalid: analyzer overload",
    )


def test_errors_carry_their_cause_and_skips_their_reason(suite):
    error = case(suite, 7).find("error")
    assert (error.get("type"), error.get("message")) == (
        "ERROR",
        f"InstrumentError: analyzer: {HOSTILE_AS_XML}",
    )
    aborted = case(suite, 8).find("error")
    assert (aborted.get("type"), aborted.get("message")) == ("ABORTED", "not run: aborted")
    assert case(suite, 9).find("skipped").get("message") == "not run: stopped on error"


def test_names_are_step_and_point_with_the_repeat_when_repeated(suite):
    names = [c.get("name") for c in suite.findall("testcase")]
    assert names[:3] == [
        "BS output power [tx_power 43 dBm]",
        "ACLR [tx_power 46 dBm] (repeat 2/3)",
        "occupied bandwidth",
    ]
    assert names[6] == f"{HOSTILE_AS_XML} [tx_power {HOSTILE_AS_XML}]"
    assert [c.get("classname") for c in suite.findall("testcase")][:2] == ["rf.power", "rf.aclr"]


def test_times_are_the_measurement_and_run_durations_in_seconds(suite):
    assert [c.get("time") for c in suite.findall("testcase")][:3] == ["1.235", "0.500", "0"]
    assert suite.get("time") == "64.750"  # 10:00:00.25 to 10:01:05
    assert suite.get("timestamp") == "2026-11-30T10:00:00"


def test_hostile_strings_stay_text(written, suite):
    folder, _ = written
    assert not list(suite.iter("script"))
    assert suite.get("name") == HOSTILE_AS_XML
    properties = {p.get("name"): p.get("value") for p in suite.find("properties")}
    assert properties["operator"] == HOSTILE_AS_XML and properties["dut.vendor"] == HOSTILE_AS_XML
    assert properties["environment.note"] == HOSTILE_AS_XML
    assert properties["report_id"] == "FGB-20261130T100000Z-demo-0A1B2C3D"
    assert f"detector: {HOSTILE_AS_XML}" in case(suite, 7).find("system-out").text
    assert HOSTILE_AS_XML in suite.find("system-out").text  # the gNB's version as read back
    assert "\x01" not in (folder / "junit.xml").read_text(encoding="utf-8")


def test_characters_xml_cannot_hold_are_replaced(tmp_path):
    """A lone surrogate (JSON can carry one as \\ud800) or a NUL must not break the document."""
    step = json.loads('"step \\ud800 \\u0000 \\u001b end"')
    record = run_record([measurement(1, step, "rf.power", "PASS")])
    path = tmp_path / "junit.xml"
    write_atomic(path, junit_xml(record, [measurement(1, step, "rf.power", "PASS")]))
    (name,) = [c.get("name") for c in etree.parse(str(path)).getroot().iter("testcase")]
    assert name == "step \ufffd \ufffd \ufffd end"


def test_system_out_holds_the_whole_measurement(suite):
    detail = case(suite, 1).find("system-out").text
    assert "channel_power = 42.94 dBm" in detail
    assert (
        "channel_power = 42.94 dBm, limit 40 dBm to 46 dBm, margin 2.94 dB, minimum requirement ±2 dB, "
        "test tolerance 1 dB (plan)"
    ) in detail
    assert "rbw_hz: 100000.0" in detail and "capture: captures/0001-rf.power.npz" in detail
    aclr = case(suite, 2).find("system-out").text
    assert (
        "adjacent_density = -10.10 dBm/MHz, limit <= -12.2 dBm/MHz [U], margin -2.10 dB, "
        "minimum requirement -13 dBm/MHz, test tolerance 0.8 dB (TS 38.104 §6.6.3.2 Table 6.6.3.2-2)"
    ) in aclr


def test_a_record_without_the_new_fields_still_writes(tmp_path):
    """Records of older runs: no duration, report ID, versions or read-back."""
    old = [{k: v for k, v in m.items() if k not in ("duration_s", "flags")} for m in MEASUREMENTS]
    record = run_record(old, report_id="", versions={}, environment={}, command_line=[], gnb_readback=None)
    path = tmp_path / "junit.xml"
    write_atomic(path, junit_xml(record, old))
    assert_valid_junit(path, {**record.to_dict(), "measurements": old})
    properties = {p.get("name") for p in etree.parse(str(path)).getroot().iter("property")}
    assert "report_id" not in properties and "command_line" not in properties


def test_the_vendored_xsd_is_the_shared_one():
    if not SHARED_XSD.exists():
        pytest.skip(f"{SHARED_XSD} is not beside this checkout")
    assert filecmp.cmp(JUNIT_XSD, SHARED_XSD, shallow=False)


def test_the_checks_catch_a_count_that_does_not_match(written):
    folder, record = written
    wrong = {**record, "counts": {**record["counts"], "PASS": 2}}
    with pytest.raises(AssertionError, match="testsuite counts"):
        assert_valid_junit(folder / "junit.xml", wrong)


def test_demo_run_outputs_are_valid(plan_run):
    run = plan_run(ROOT / "testplans" / "demo.yaml")
    record = assert_valid_record(run.run_dir / "record.json")
    assert_valid_junit(run.run_dir / "junit.xml", record)
    suite = etree.parse(str(run.run_dir / "junit.xml")).getroot()
    (failed,) = suite.iter("failure")
    assert "margin" in failed.get("message") and " dB" in failed.get("message")
