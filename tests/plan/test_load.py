"""load_plan: every broken plan is one PlanError line at the right file:line, naming the key."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fivegbench.errors import PlanError
from fivegbench.plan import expand, load_plan, parse_plan, yamlsafe
from fivegbench.plan.model import Cell

# (id, old text, new text, expected line, text the error must mention)
# Each case replaces one exact piece of the base plan (conftest.BASE_PLAN).
EDITS = [
    ("yaml-syntax", "  band: n78\n", "  band: n78: oops\n", 12, "invalid YAML"),
    ("tab-indent", "  vendor: VHT\n", "\tvendor: VHT\n", 4, "tabs"),
    (
        "unknown-top-key",
        "operator: lab 3",
        "operatr: lab 3",
        2,
        "unknown key 'operatr' (expected one of: trial",
    ),
    ("unknown-step-key", "    span: 200 MHz", "    spam: 200 MHz", 23, "steps[0].spam: unknown key 'spam'"),
    ("wrong-unit", "  tx_power: 43 dBm", "  tx_power: 45 dBz", 18, "cell.tx_power: '45 dBz' is not a power"),
    (
        "power-as-frequency",
        "power: 46 dBm",
        "power: 46 MHz",
        8,
        "dut.rated_output_power: '46 MHz' is not a power",
    ),
    ("bare-number", "  bandwidth: 100 MHz", "  bandwidth: 100", 14, "cell.bandwidth: 100 has no unit"),
    (
        "tx-power-range",
        "43 dBm, 46 dBm]",
        "43 dBm, 96 dBm]",
        25,
        "steps[0].sweep.tx_power[3]: 96 dBm is out of range",
    ),
    (
        "nan-power",
        "  tx_power: 43 dBm",
        "  tx_power: nan dBm",
        18,
        "cell.tx_power: 'nan dBm' is not a finite power",
    ),
    (
        "absurd-power",
        "  tx_power: 43 dBm",
        "  tx_power: 99999 dBm",
        18,
        "cell.tx_power: 99999 dBm is out of range",
    ),
    (
        "cell-tx-power-range",
        "  tx_power: 43 dBm",
        "  tx_power: -40 dBm",
        18,
        "cell.tx_power: -40 dBm is out of range",
    ),
    (
        "bandwidth-scs",
        "  scs: 30 kHz",
        "  scs: 15 kHz",
        15,
        "cell.scs: 15 kHz SCS is not allowed for 100 MHz in n78 (TS 38.104 Table 5.3.2-1) "
        "(allowed: 30 kHz, 60 kHz)",
    ),
    ("bad-band", "  band: n78", "  band: x78", 12, "cell.band: 'x78' is not an NR band"),
    ("bad-test-model", "TM1.2", "TM9", 29, "steps[1].test_model: 'NR-FR1-TM9' is not a test model"),
    (
        "arfcn-and-frequency",
        "  center_frequency: 3750 MHz\n",
        "  center_frequency: 3750 MHz\n  arfcn: 650000\n",
        14,
        "cell.arfcn: give either center_frequency or arfcn, not both",
    ),
    ("special-slot-sum", '"10:2:2"', '"10:2:3"', 17, "cell.special_slot: special slot 10:2:3 has 15 symbols"),
    ("tdd-pattern", "DDDSU", "DDXSU", 16, "cell.tdd_pattern: 'DDXSU' is not a TDD pattern"),
    (
        "empty-sweep-list",
        "[37 dBm, 40 dBm, 43 dBm, 46 dBm]",
        "[]",
        25,
        "steps[0].sweep.tx_power: empty sweep",
    ),
    (
        "range-step-0",
        "step: 5 dB",
        "step: 0 dB",
        32,
        "steps[1].sweep.attenuation.step: step must be greater than 0",
    ),
    (
        "range-start-after-stop",
        "start: 0 dB",
        "start: 90 dB",
        32,
        "steps[1].sweep.attenuation.start: start 90 dB is after",
    ),
    (
        "zip-unequal",
        "      attenuation: {start: 0 dB, stop: 80 dB, step: 5 dB}",
        "      zip: {attenuation: [0 dB, 10 dB], rbw: [1 MHz]}",
        32,
        "steps[1].sweep.zip: zip members have different lengths: attenuation has 2, rbw has 1",
    ),
    (
        "duplicate-step-name",
        "  - name: ACLR vs attenuation",
        "  - name: channel power vs TX power",
        27,
        "steps[1].name: duplicate step name 'channel power vs TX power' (first at line 21)",
    ),
    (
        "duplicate-yaml-key",
        "    limits: 3gpp\n",
        "    limits: 3gpp\n    limits: 3gpp\n",
        27,
        "steps[0].limits: duplicate key 'limits' (first at line 26)",
    ),
    (
        "unknown-kind",
        "measure: rf.power",
        "measure: rf.powr",
        22,
        "unknown measurement kind 'rf.powr' (known: rf.power, rf.aclr",
    ),
    (
        "unknown-preset",
        "limits: 3gpp",
        "limits: 3gpx",
        26,
        "steps[0].limits: unknown limits preset '3gpx' (known: 3gpp)",
    ),
    (
        "limit-without-bounds",
        "aclr: {min: 45 dB}",
        "aclr: {}",
        34,
        "steps[1].limits.aclr: limit 'aclr' needs min or max",
    ),
    (
        "limit-unknown-bound",
        "aclr: {min: 45 dB}",
        "aclr: {low: 45 dB}",
        34,
        "steps[1].limits.aclr.low: unknown key 'low'",
    ),
    (
        "limit-bad-unit",
        "aclr: {min: 45 dB}",
        "aclr: {min: 45 dBz}",
        34,
        "steps[1].limits.aclr.min: '45 dBz' is not a quantity",
    ),
    ("repeat-0", "    repeat: 2", "    repeat: 0", 30, "steps[1].repeat: 0 is out of range (1 to 1000)"),
    (
        "repeat-text",
        "    repeat: 2",
        "    repeat: twice",
        30,
        "steps[1].repeat: expected a whole number, got text 'twice'",
    ),
    (
        "missing-trial",
        "trial: VHT gNodeB n78 acceptance, lab 3\n",
        "",
        1,
        "trial: missing required key 'trial'",
    ),
    (
        "missing-step-name",
        "  - name: ACLR vs attenuation\n",
        "  -\n",
        28,
        "steps[1].name: missing required key 'name'",
    ),
    ("no-steps", "steps:\n  - name: channel power", "steps: []\nx:\n  - name: channel power", 20, ""),
    (
        "bad-on-error",
        "on_error: continue",
        "on_error: carry on",
        35,
        "steps[1].on_error: 'carry on' is not an on_error value",
    ),
    ("bad-bs-class", "bs_class: wide_area", "bs_class: huge", 9, "dut.bs_class: 'huge' is not a BS class"),
    ("unsweepable", "      tx_power: [37", "      scs: [37", 25, "steps[0].sweep.scs: 'scs' cannot be swept"),
    (
        "swept-and-set",
        "      tx_power: [37 dBm, 40 dBm",
        "      span: [37 MHz, 40 MHz",
        25,
        "both set on the step and swept",
    ),
    (
        "points-too-few",
        "    span: 200 MHz",
        "    points: 11",
        23,
        "steps[0].points: 11 is out of range (101 to 100001)",
    ),
    ("bool-key", "  category: A", "  on: A", 10, "key 'on' is read as a true/false value"),
    (
        "step-not-mapping",
        "  - name: channel power vs TX power\n    measure: rf.power\n    span: 200 MHz\n",
        "  - just text\n  - name: x\n    measure: rf.power\n",
        21,
        "steps[0]: expected a mapping of keys to values, got text 'just text'",
    ),
]

# Fix-ups where one edit cannot express the case.
EDITS_IDS = [case[0] for case in EDITS]


def _one_line_error(exc: PlanError) -> str:
    text = str(exc)
    assert "\n" not in text
    assert "pydantic" not in text
    assert "Value error" not in text
    return text


@pytest.mark.parametrize(("case", "old", "new", "line", "mention"), EDITS, ids=EDITS_IDS)
def test_broken_plan(case: str, old: str, new: str, line: int, mention: str, base_plan: str, write) -> None:
    assert base_plan.count(old) == 1, f"edit for {case} must match exactly once"
    text = base_plan.replace(old, new)
    if case == "no-steps":
        text = text[: text.index("x:\n")]
        mention = "steps: a plan needs at least one step"
    path = write(text, f"{case}.yaml")
    with pytest.raises(PlanError) as info:
        expand(load_plan(path))
    message = _one_line_error(info.value)
    assert f"{path}:{line}:" in message, message
    assert info.value.line == line
    assert mention in message, message


def _bomb() -> str:
    lines = ["trial: x", 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    previous = "a"
    for name in "bcdefghi":
        lines.append(f"{name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]")
        previous = name
    return "\n".join(lines) + "\n"


# (id, whole file text, expected line or None, mention)
WHOLE_FILES = [
    ("billion-laughs", _bomb(), 6, "YAML aliases expand to more than 10000 values"),
    (
        "too-many-aliases",
        "trial: x\na: &a y\nb: [" + ", ".join(["*a"] * 101) + "]\n",
        3,
        "more than 100 YAML aliases",
    ),
    ("too-deep", "trial: x\nd: " + "[" * 25 + "]" * 25 + "\n", 2, "nesting deeper than 20 levels"),
    ("self-alias", "trial: x\na: &a [*a]\n", 2, "refers to the collection that contains it"),
    ("too-large", "# " + "x" * 1_000_001 + "\n", None, "file is larger than 1 MB"),
    ("empty-file", "", 1, "expected a mapping of keys to values, got nothing"),
    ("top-level-list", "- a\n- b\n", 1, "expected a mapping of keys to values, got a list"),
    ("two-documents", "trial: x\n---\ntrial: y\n", 2, "invalid YAML"),
    ("number-key", "trial: x\n10: y\n", 2, "key '10' must be text"),
    ("python-tag", "trial: !!python/object:os.system x\n", 1, "unsupported YAML tag"),
]


@pytest.mark.parametrize(("case", "text", "line", "mention"), WHOLE_FILES, ids=[c[0] for c in WHOLE_FILES])
def test_broken_file(case: str, text: str, line: int | None, mention: str, write) -> None:
    path = write(text, f"{case}.yaml")
    with pytest.raises(PlanError) as info:
        expand(load_plan(path))
    message = _one_line_error(info.value)
    assert info.value.line == line, message
    if line is None:
        assert message.startswith(f"{path}: "), message
    else:
        assert message.startswith(f"{path}:{line}:"), message
    assert mention in message, message


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(PlanError) as info:
        load_plan(path)
    assert str(info.value) == f"{path}: cannot read: No such file or directory"


def test_not_utf8(write) -> None:
    path = write("trial: x\n", "latin.yaml")
    path.write_bytes(b"trial: x\noperator: J\xf6rg\n")
    with pytest.raises(PlanError, match=r"latin\.yaml:2: not UTF-8 text"):
        load_plan(path)


def test_base_plan_loads(base_plan: str, write) -> None:
    path = write(base_plan)
    loaded = load_plan(path)
    plan = loaded.plan
    assert loaded.file == str(path)
    assert loaded.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert loaded.text == base_plan
    assert plan.trial == "VHT gNodeB n78 acceptance, lab 3"
    assert plan.dut.rated_output_power == 46.0
    assert plan.dut.firmware == "2.3.1"
    assert plan.dut.category == "A"
    assert plan.cell.center_frequency == 3.75e9
    assert plan.cell.bandwidth == 100e6
    assert plan.cell.scs == 30e3
    assert plan.cell.special_slot == (10, 2, 2)
    assert plan.steps[0].params == {"span": 200e6}
    assert plan.steps[1].on_error == "continue"
    limits = plan.steps[1].limits
    assert isinstance(limits, dict)
    assert limits["aclr"].min is not None
    assert (limits["aclr"].min.text, limits["aclr"].min.value, limits["aclr"].min.unit) == (
        "45 dB",
        45.0,
        "dB",
    )
    assert limits["aclr"].max is None


def test_where_and_error(base_plan: str, write) -> None:
    loaded = load_plan(write(base_plan))
    assert loaded.where("steps[0].sweep.tx_power[3]") == (25, 42)
    assert loaded.where("steps[1].sweep.attenuation") == (32, 7)
    assert loaded.where("cell.tx_power") == (18, 3)
    assert loaded.where("steps[0].nothing.here") == (21, 5)  # deepest key that exists
    assert loaded.where("not a [path") == (None, None)
    err = loaded.error("steps[0].sweep.tx_power[3]", "46 dBm exceeds the bench's max_tx_power 45 dBm")
    assert str(err).endswith(
        ":25:42: steps[0].sweep.tx_power[3]: 46 dBm exceeds the bench's max_tx_power 45 dBm"
    )


def test_demo_style_plan(plan_with_steps) -> None:
    text = plan_with_steps(
        "steps:\n"
        "  - name: power and ACLR vs TX power\n"
        "    measure: rf.aclr\n"
        "    test_model: NR-FR1-TM1.1\n"
        "    sweep: {tx_power: [37 dBm, 40 dBm, 43 dBm, 46 dBm]}\n"
        "    limits: 3gpp\n"
        "  - name: power vs attenuation\n"
        "    measure: rf.power\n"
        "    repeat: 3\n"
        "    rbw: 30 kHz\n"
        "    points: 1001\n"
        "    sweep: {attenuation: {start: 0 dB, stop: 80 dB, step: 5 dB}}\n"
        "    limits: {channel_power: {min: 40 dBm, max: 46 dBm}, throughput: {min: 100 Mbit/s}}\n"
        "    on_error: continue\n"
    )
    loaded = parse_plan(text, "demo.yaml")
    steps = expand(loaded)
    assert len(steps) == 4 + 17 * 3
    limits = loaded.plan.steps[1].limits
    assert isinstance(limits, dict)
    assert limits["throughput"].min is not None and limits["throughput"].min.unit == "bit/s"
    assert limits["throughput"].min.value == 100e6
    assert limits["channel_power"].max is not None and limits["channel_power"].max.value == 46.0
    assert loaded.plan.steps[1].params == {"rbw": 30e3, "points": 1001}


def test_arfcn_sets_frequency(plan_with_steps) -> None:
    cell = "cell: {band: n78, arfcn: 650000, bandwidth: 100 MHz, scs: 30 kHz, tx_power: 43 dBm}\n"
    loaded = parse_plan(plan_with_steps("steps: [{name: a, measure: rf.power}]\n", cell), "arfcn.yaml")
    assert loaded.plan.cell.center_frequency == pytest.approx(3750e6, abs=1e-3)
    assert loaded.plan.cell.arfcn == 650000
    step = expand(loaded)[0]
    assert step.cell.center_frequency == pytest.approx(3750e6, abs=1e-3)
    assert step.sources["center_frequency"] == "cell.arfcn"


@pytest.mark.parametrize(
    ("arfcn", "hz"),
    [
        (0, 0.0),
        (599999, 2999.995e6),
        (600000, 3000e6),
        (650000, 3750e6),
        (2016667, 24250.08e6),
        (3279165, 99999.96e6),
    ],
)
def test_arfcn_table(arfcn: int, hz: float) -> None:
    from fivegbench.nr.arfcn import arfcn_to_hz

    assert arfcn_to_hz(arfcn) == pytest.approx(hz, abs=1e-3)


def test_missing_frequency(plan_with_steps) -> None:
    cell = "cell:\n  band: n78\n  bandwidth: 100 MHz\n  scs: 30 kHz\n  tx_power: 43 dBm\n"
    with pytest.raises(PlanError, match=r"x\.yaml:3:1: cell\.center_frequency: missing required key"):
        parse_plan(plan_with_steps("steps: [{name: a, measure: rf.power}]\n", cell), "x.yaml")


def test_arfcn_out_of_frequency_range(plan_with_steps) -> None:
    cell = "cell: {band: n1, arfcn: 100, bandwidth: 10 MHz, scs: 15 kHz, tx_power: 43 dBm}\n"
    with pytest.raises(PlanError, match=r"cell\.arfcn: ARFCN 100 is 500 kHz is out of range"):
        parse_plan(plan_with_steps("steps: [{name: a, measure: rf.power}]\n", cell), "x.yaml")


def test_fr2_bandwidth_table(plan_with_steps) -> None:
    cell = (
        # 28000.08 MHz is NR-ARFCN 2079167, on n257's 120 kHz raster (every 2nd from 2054167)
        "cell: {band: n257, center_frequency: 28000.08 MHz, bandwidth: 400 MHz, scs: 120 kHz,"
        " tx_power: 30 dBm}\n"
    )
    loaded = parse_plan(plan_with_steps("steps: [{name: a, measure: rf.power}]\n", cell), "fr2.yaml")
    assert loaded.plan.cell.bandwidth == 400e6


def test_unknown_key_lists_kind_parameters(plan_with_steps) -> None:
    with pytest.raises(PlanError) as info:
        parse_plan(plan_with_steps("steps: [{name: a, measure: rf.power, direction: dl}]\n"), "x.yaml")
    assert (
        "unknown key 'direction' (expected one of: name, measure, test_model, sweep, repeat, limits, "
        "on_error, span, rbw, points, attenuation, source, duration, sample_rate, autolevel)"
        in str(info.value)
    )


def test_too_many_points(plan_with_steps) -> None:
    steps = (
        "steps:\n  - name: a\n    measure: rf.power\n    repeat: 1000\n"
        "    sweep: {tx_power: {start: 0 dBm, stop: 20 dBm, step: 0.1 dB}}\n"
    )
    with pytest.raises(PlanError, match=r":12:5: steps\[0\]\.repeat: step expands to 201000 measurements"):
        parse_plan(plan_with_steps(steps), "x.yaml")
    steps = (
        "steps:\n  - name: a\n    measure: rf.power\n"
        "    sweep: {attenuation: {start: 0 dB, stop: 100 dB, step: 0.0001 dB}}\n"
    )
    with pytest.raises(PlanError, match=r"steps\[0\]\.sweep\.attenuation: range has more than 100000 points"):
        parse_plan(plan_with_steps(steps), "x.yaml")


def test_swept_twice(plan_with_steps) -> None:
    steps = (
        "steps:\n  - name: a\n    measure: rf.power\n    sweep:\n"
        "      tx_power: 40 dBm\n      zip: {tx_power: [1 dBm], rbw: [1 MHz]}\n"
    )
    with pytest.raises(
        PlanError, match=r":14:13: steps\[0\]\.sweep\.zip\.tx_power: 'tx_power' is swept twice"
    ):
        parse_plan(plan_with_steps(steps), "x.yaml")


# --------------------------------------------------------------------------- yamlsafe


@pytest.mark.parametrize(
    "path", [(), ("steps", 2, "sweep", "tx_power", 3), ("limits", "odd key.x", 0), ("a-b", "c")]
)
def test_path_round_trip(path: tuple[str | int, ...]) -> None:
    assert yamlsafe.parse_path(yamlsafe.path_str(path)) == path


def test_path_text() -> None:
    assert yamlsafe.path_str(("steps", 2, "sweep", "tx_power")) == "steps[2].sweep.tx_power"


def test_yaml_values_and_positions() -> None:
    text = "a: 10:2:2\nb: {<<: {c: 1}, d: 2}\nt: 2024-01-01\nf: 1.5\nn: ~\nbo: yes\nl:\n  - x\n  - 'y'\n"
    data, positions = yamlsafe.loads(text, "v.yaml")
    assert data == {
        "a": "10:2:2",
        "b": {"d": 2, "c": 1},
        "t": "2024-01-01",
        "f": 1.5,
        "n": None,
        "bo": True,
        "l": ["x", "y"],
    }
    assert positions[("l", 1)] == (9, 5)
    assert positions[("b", "d")] == (2, 17)


def test_validate_is_generic() -> None:
    """yamlsafe.validate works for any model (the bench reuses it): unknown keys list the expected ones."""
    from pydantic import BaseModel, ConfigDict

    class Inner(BaseModel):
        model_config = ConfigDict(extra="forbid")
        max_tx_power: float | None = None

    class Outer(BaseModel):
        model_config = ConfigDict(extra="forbid")
        limits: dict[str, Inner]

    data, positions = yamlsafe.loads("limits:\n  gnb:\n    max_tx_pwr: 3\n", "bench.yaml")
    with pytest.raises(PlanError) as info:
        yamlsafe.validate(Outer, data, positions, "bench.yaml")
    assert str(info.value) == (
        "bench.yaml:3:5: limits.gnb.max_tx_pwr: unknown key 'max_tx_pwr' (expected one of: max_tx_power)"
    )


def test_models_directly_without_positions() -> None:
    with pytest.raises(ValueError, match="give either center_frequency or arfcn"):
        Cell.model_validate(
            {
                "band": "n78",
                "center_frequency": "3750 MHz",
                "arfcn": 650000,
                "bandwidth": "100 MHz",
                "scs": "30 kHz",
                "tx_power": "43 dBm",
            }
        )


def test_messages_are_short(base_plan: str, write) -> None:
    path = write(base_plan.replace("  tx_power: 43 dBm", "  tx_power: [43 dBm]"))
    with pytest.raises(PlanError) as info:
        load_plan(path)
    assert re.fullmatch(r".*:18:3: cell\.tx_power: .*is not a power", str(info.value)), str(info.value)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    edits=st.lists(
        st.tuples(st.integers(0, 40), st.text(alphabet=":-[]{}&*!|>'\" \t#,~nD0129.dBmMHzk\n", max_size=25)),
        min_size=1,
        max_size=3,
    )
)
def test_mangled_plans_never_traceback(edits: list[tuple[int, str]], base_plan: str) -> None:
    """Any mangling of a valid plan gives a valid plan or one PlanError line, never another exception."""
    lines = base_plan.splitlines()
    for index, text in edits:
        i = index % len(lines)
        keep = len(lines[i]) - len(lines[i].lstrip())
        lines[i] = lines[i][: keep + index % 7] + text
    try:
        expand(parse_plan("\n".join(lines) + "\n", "m.yaml"))
    except PlanError as exc:
        assert "\n" not in str(exc)
        assert str(exc).startswith("m.yaml")


def test_misspelt_required_key_is_reported_as_unknown() -> None:
    from pydantic import BaseModel, ConfigDict

    class Instrument(BaseModel):
        model_config = ConfigDict(extra="forbid")
        driver: str
        resource: str

    data, positions = yamlsafe.loads("driver: rs_fsw\nresourse: TCPIP::1\n", "bench.yaml")
    with pytest.raises(PlanError) as info:
        yamlsafe.validate(Instrument, data, positions, "bench.yaml")
    assert str(info.value) == (
        "bench.yaml:2:1: resourse: unknown key 'resourse' (expected one of: driver, resource)"
    )


# --------------------------------------------------------------------------- control characters


def _line_col(text: str, marker: str) -> tuple[int, int]:
    """1-based line and column of the first ``marker`` in ``text`` (found here, not by the loader)."""
    index = text.index(marker)
    line_start = text.rfind("\n", 0, index) + 1
    return text.count("\n", 0, index) + 1, index - line_start + 1


# (id, old, new: YAML source text with escapes, marker where the error points, key path, mention)
CONTROL_EDITS = [
    ("esc", "  vendor: VHT", '  vendor: "VH\\e[2JT"', '"VH', "dut.vendor", "ESC (U+001B) at position 3"),
    (
        "nul-escape",
        "  model: gNodeB 8T8R",
        '  model: "gNodeB\\0"',
        '"gNodeB',
        "dut.model",
        "NUL (U+0000) at position 7",
    ),
    ("bel", "  serial: GNB-0042", '  serial: "GNB\\a"', '"GNB', "dut.serial", "U+0007 at position 4"),
    (
        "lone-surrogate",
        "  firmware: 2.3.1",
        '  firmware: "\\ud800"',
        '"\\ud800',
        "dut.firmware",
        "U+D800 at position 1",
    ),
    ("nel", "operator: lab 3 night shift", 'operator: "lab\\N3"', '"lab', "operator", "U+0085 at position 4"),
    (
        "line-separator",
        "operator: lab 3 night shift",
        'operator: "lab\\L3"',
        '"lab',
        "operator",
        "U+2028 at position 4",
    ),
    ("in-a-list", "[37 dBm, 40 dBm,", '[37 dBm, "40\\x1bdBm",', '"40', "steps[0].sweep.tx_power[1]", "ESC"),
    (
        "in-a-key",
        "  - name: ACLR vs attenuation",
        '  - "na\\tme": ACLR',
        '"na',
        "steps[1]",
        "a mapping key contains a control character (TAB (U+0009) at position 3)",
    ),
    (
        "cr-in-a-key",
        "operator: lab 3",
        '"op\\rerator": lab 3',
        '"op',
        "",
        "a mapping key contains a control character (CR (U+000D)",
    ),
]


@pytest.mark.parametrize(
    ("case", "old", "new", "marker", "path", "mention"), CONTROL_EDITS, ids=[c[0] for c in CONTROL_EDITS]
)
def test_control_character_is_refused_where_it_is(
    case: str, old: str, new: str, marker: str, path: str, mention: str, base_plan: str, write
) -> None:
    assert base_plan.count(old) == 1, case
    text = base_plan.replace(old, new)
    line, col = _line_col(text, marker)
    file = write(text, f"{case}.yaml")
    with pytest.raises(PlanError) as info:
        load_plan(file)
    message = _one_line_error(info.value)
    key = f" {path}:" if path else ""
    assert message.startswith(f"{file}:{line}:{col}:{key} "), message
    assert "contains a control character (" in message and mention in message, message
    assert (info.value.line, info.value.column, info.value.path) == (line, col, path)
    assert not any(c in message for c in "\t\r\x1b\x00\x07\x85\u2028"), repr(message)


def test_text_may_hold_tabs_and_line_breaks() -> None:
    text = 'a: "x\\r\\n\\ty"\nb: |\n  one\n  two\nc: "plain \\u00e9"\n'
    data, _ = yamlsafe.loads(text, "ok.yaml")
    assert data == {"a": "x\r\n\ty", "b": "one\ntwo\n", "c": "plain \u00e9"}


# (id, raw text with the offending character, the character)
RAW_CHARACTERS = [
    ("nul", "trial: x\noperator: lab\x003\n", "\x00"),
    ("bel-in-a-comment", "trial: x\n# ring \x07\noperator: y\n", "\x07"),
    ("esc-after-crlf", "trial: x\r\ndut: {vendor: V\x1b[2J}\r\n", "\x1b"),
    ("esc-after-a-tab", "trial: x\ncell:\n  band: n78\t# \x1b]0;title\x07\n", "\x1b"),
    ("del", "\x7ftrial: x\n", "\x7f"),
]


@pytest.mark.parametrize(("case", "text", "char"), RAW_CHARACTERS, ids=[c[0] for c in RAW_CHARACTERS])
def test_raw_control_byte_is_one_plan_error(case: str, text: str, char: str, write) -> None:
    """PyYAML's reader refuses these before parsing (a ReaderError, not a MarkedYAMLError)."""
    line, col = _line_col(text.replace("\r\n", "\n"), char)
    path = write("", f"{case}.yaml")
    path.write_bytes(text.encode("utf-8"))
    with pytest.raises(PlanError) as info:
        load_plan(path)
    message = _one_line_error(info.value)
    assert (info.value.line, info.value.column) == (line, col), message
    assert message.startswith(f"{path}:{line}:{col}: invalid YAML: the line contains a control character (")
    assert (
        f"(U+{ord(char):04X}) at position {col})" in message
        or f"(U+{ord(char):04X} at position {col})" in message
    )
    assert char not in message


def test_raw_noncharacter_is_one_plan_error(write) -> None:
    path = write("trial: x\noperator: a\ufffe\n", "nonchar.yaml")
    with pytest.raises(PlanError) as info:
        load_plan(path)
    assert str(info.value) == f"{path}:2:12: invalid YAML: character U+FFFE is not allowed"


def test_raw_control_character_in_a_string() -> None:
    """loads() takes text too: a raw lone surrogate or ESC in it is refused the same way."""
    for text, line, col in (("a: b\nc: \ud800\n", 2, 4), ("a: |\n  x\x1b\n", 2, 4)):
        with pytest.raises(PlanError) as info:
            yamlsafe.loads(text, "s.yaml")
        assert (info.value.line, info.value.column) == (line, col), str(info.value)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    inserts=st.lists(
        st.tuples(
            st.integers(0, 2000),
            st.sampled_from(
                [
                    "\x00",
                    "\x07",
                    "\x1b",
                    "\t",
                    "\r",
                    "\n",
                    "\x85",
                    "\u2028",
                    "\ufffe",
                    "\\e",
                    "\\0",
                    "\\ud800",
                    "\\r\\n",
                    "\\t",
                    '"',
                ]
            ),
        ),
        min_size=1,
        max_size=3,
    )
)
def test_control_characters_anywhere_never_traceback(inserts: list[tuple[int, str]], base_plan: str) -> None:
    """Control characters (raw or escaped) anywhere give a valid plan or one clean PlanError line."""
    text = base_plan
    for index, piece in inserts:
        i = index % (len(text) + 1)
        text = text[:i] + piece + text[i:]
    try:
        expand(parse_plan(text, "c.yaml"))
    except PlanError as exc:
        message = str(exc)
        assert message.startswith("c.yaml")
        assert not any(ch in message for ch in "\x00\x07\x1b\t\r\n\x85\u2028\ufffe\ud800"), repr(message)


def test_explicit_ppm_and_percent_limits_and_a_boolean_parameter(plan_with_steps) -> None:
    steps = (
        "steps:\n"
        "  - name: frequency error\n"
        "    measure: rf.freq_error\n"
        "    test_model: NR-FR1-TM3.1\n"
        "    autolevel: false\n"
        "    limits: {freq_error_ppm: {min: -0.05 ppm, max: 0.05 ppm}}\n"
        "  - name: EVM\n"
        "    measure: rf.evm\n"
        "    test_model: NR-FR1-TM3.1\n"
        "    limits: {evm_rms: {max: 4.5 %}}\n"
    )
    loaded = parse_plan(plan_with_steps(steps), "limits.yaml")
    ppm = loaded.plan.steps[0].limits["freq_error_ppm"]
    assert (ppm.min.value, ppm.max.value, ppm.max.unit) == (-0.05, 0.05, "ppm")
    assert loaded.plan.steps[0].params["autolevel"] is False
    assert loaded.plan.steps[1].limits["evm_rms"].max.value == 4.5


def test_a_boolean_parameter_takes_only_yaml_booleans(plan_with_steps) -> None:
    steps = "steps: [{name: a, measure: rf.evm, test_model: NR-FR1-TM3.1, autolevel: 'yes'}]\n"
    with pytest.raises(PlanError) as info:
        parse_plan(plan_with_steps(steps), "x.yaml")
    assert "autolevel" in str(info.value) and "expected true or false, got text 'yes'" in str(info.value)
