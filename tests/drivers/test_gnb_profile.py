"""gNB console profiles: loaded like plans (one ``file:line:col: key: message`` PlanError), and no
text the driver sends may contain a control character."""

from __future__ import annotations

import pytest

from fivegbench.drivers.gnb.profile import GnbProfile, load_profile
from fivegbench.errors import BenchError, PlanError
from tests.drivers import profilecheck as check
from tests.drivers.profilecheck import PROFILES

SIM_GNB = (PROFILES / "sim-gnb.yaml").read_text(encoding="utf-8")
DESCRIPTION = next(line for line in SIM_GNB.splitlines() if line.startswith("description: "))


def test_sim_gnb_loads_by_name_and_by_path():
    profile = load_profile("sim-gnb", search_dirs=[PROFILES])
    assert profile.name == "sim-gnb"
    assert profile.line_ending == "\r\n"  # CR LF in a quoted scalar is fine where nothing is sent
    assert profile.responses.rf_on_values == ["ON"]
    assert profile.limits.test_models["NR-FR1-TM1.1"] == "NR-FR1-TM1.1"
    assert profile.commands.commit is None
    assert load_profile(PROFILES / "sim-gnb.yaml") == profile


def test_unknown_profile_name_lists_the_available_ones():
    with pytest.raises(BenchError, match=r"not found.*available: .*sim-gnb") as info:
        load_profile("nokia-airscale", search_dirs=[PROFILES])
    check.one_line(info.value)


def test_only_gnb_profiles_are_offered_and_found_by_name():
    with pytest.raises(BenchError) as info:
        load_profile("nokia-airscale", search_dirs=[PROFILES])
    assert check.one_line(info.value).endswith("(available: sim-gnb)")  # not ue-3gpp, ue-quectel
    with pytest.raises(BenchError) as info:
        load_profile("ue-3gpp", search_dirs=[PROFILES])
    assert check.one_line(info.value) == (
        f"gNB profile 'ue-3gpp' not found in {PROFILES} (available: sim-gnb); "
        f"{PROFILES / 'ue-3gpp.yaml'} is a UE profile (a UE profile's file name starts with 'ue-')"
    )


def test_unreadable_profile_is_one_line(tmp_path):
    check.unreadable_is_one_line(load_profile, tmp_path)


# (id, old, new, marker on the line the error points at, key path, mention)
BAD_PROFILES = [
    (
        "unknown-template-field",
        "{dbm:.1f}",
        "{power:.1f}",
        "set_tx_power:",
        "commands.set_tx_power",
        "unknown field(s) power (allowed: dbm)",
    ),
    (
        "error-regex-without-message",
        "(?P<message>.*\\S)",
        "(.*\\S)",
        "error: ",
        "error",
        "the error regex needs a group named 'message'",
    ),
    (
        "bad-prompt-regex",
        "'^gnb-cli> '",
        "'^gnb-cli[> '",
        "prompt: '^gnb",
        "prompt",
        "invalid regular expression",
    ),
    (
        "misspelt-command",
        "rf_on: rf on",
        "rf_onn: rf on",
        "rf_onn:",
        "commands.rf_onn",
        "unknown key 'rf_onn'",
    ),
    (
        "bare-on",
        'rf_on_values: ["ON"]',
        "rf_on_values: [ON]",
        "rf_on_values:",
        "responses.rf_on_values[0]",
        "expected text, got true",
    ),
    (
        "power-limits-reversed",
        "tx_power_dbm: [-10.0, 50.0]",
        "tx_power_dbm: [50.0, -10.0]",
        "tx_power_dbm: [50.0",
        "limits.tx_power_dbm",
        "min 50 is not below max -10",
    ),
    ("yaml-syntax", "name: sim-gnb", "name: [sim-gnb", "description:", "", "invalid YAML"),
    (
        "python-tag",
        "name: sim-gnb",
        "name: !!python/object:os.system x",
        "name:",
        "name",
        "unsupported YAML tag",
    ),
    # text that is sent to the console: no control character at all, not even TAB
    (
        "crlf-in-a-command",
        "rf_off: rf off",
        'rf_off: "rf off\\r\\nrf on"',
        "rf_off:",
        "commands.rf_off",
        "contains a control character (CR (U+000D) at position 7)",
    ),
    (
        "lf-in-a-template",
        "set_band: 'set band {band}'",
        'set_band: "set band {band}\\nrf on"',
        "set_band:",
        "commands.set_band",
        "LF (U+000A) at position 16",
    ),
    (
        "tab-in-a-command",
        "show_cell: show cell",
        'show_cell: "show\\tcell"',
        "show_cell:",
        "commands.show_cell",
        "TAB (U+0009) at position 5",
    ),
    (
        "cr-in-logout",
        "logout: exit",
        'logout: "exit\\r"',
        "logout:",
        "commands.logout",
        "CR (U+000D) at position 5",
    ),
    (
        "cr-in-on-login",
        'on_login: []  # e.g. ["terminal length 0"] on a CLI with a pager',
        'on_login:\n  - terminal length 0\n  - "paging off\\rrf on"',
        '"paging off',
        "on_login[1]",
        "CR (U+000D) at position 11",
    ),
    (
        "crlf-in-a-test-model",
        "    NR-FR1-TM1.1: NR-FR1-TM1.1",
        '    NR-FR1-TM1.1: "NR-FR1-TM1.1\\r\\nrf on"',
        "NR-FR1-TM1.1:",
        'limits.test_models["NR-FR1-TM1.1"]',
        "CR (U+000D) at position 13",
    ),
    (
        "lf-in-a-test-model-name",
        "    NR-FR1-TM2: NR-FR1-TM2",
        '    "NR-FR1-TM2\\nrf on": NR-FR1-TM2',
        '"NR-FR1-TM2',
        "limits.test_models",
        "a mapping key contains a control character (LF (U+000A) at position 11)",
    ),
    # and text that is not sent may hold line breaks, but no ESC (the loader refuses that)
    (
        "esc-in-the-description",
        DESCRIPTION,
        'description: "\\e[2JVHT gNodeB"',
        "description:",
        "description",
        "ESC (U+001B) at position 1",
    ),
]


@pytest.mark.parametrize(
    ("case", "old", "new", "marker", "path", "mention"), BAD_PROFILES, ids=[c[0] for c in BAD_PROFILES]
)
def test_bad_profile_is_one_plan_error_at_its_line(tmp_path, case, old, new, marker, path, mention):
    file, text = check.variant(tmp_path, SIM_GNB, old, new)
    message = check.plan_error_at(load_profile, file, text, marker, path, mention)
    assert "rf on" not in message


def test_description_may_hold_line_breaks_and_tabs(tmp_path):
    file, _ = check.variant(tmp_path, SIM_GNB, DESCRIPTION, 'description: "VHT gNodeB\\r\\n\\tsimulated"')
    assert load_profile(file).description == "VHT gNodeB\r\n\tsimulated"


def test_raw_control_byte_in_a_profile_is_one_line(tmp_path):
    text = SIM_GNB.replace("  rf_on: rf on", "  rf_on: rf on\x07", 1)
    file = tmp_path / "bel.yaml"
    file.write_bytes(text.encode("utf-8"))
    index = text.index("\x07")
    line, col = text.count("\n", 0, index) + 1, index - text.rfind("\n", 0, index)
    with pytest.raises(PlanError) as info:
        load_profile(file)
    assert check.one_line(info.value).startswith(
        f"{file}:{line}:{col}: invalid YAML: the line contains a control"
    )


@pytest.mark.parametrize(
    ("where", "change"),
    [
        ("commands.rf_on", lambda d: d["commands"].update(rf_on="rf on\x1b[2J")),
        ("on_login.0", lambda d: d.update(on_login=["paging off\nrf on"])),
        ("limits.test_models.NR-FR1-TM2", lambda d: d["limits"]["test_models"].update({"NR-FR1-TM2": "x\r"})),
        ("limits.test_models", lambda d: d["limits"]["test_models"].update({"NR\u2028rf on": "x"})),
    ],
)
def test_the_model_itself_refuses_control_characters(where, change):
    """Built without the loader (e.g. from a dict): the same checks, never quoting the text."""
    import yaml

    data = yaml.safe_load(SIM_GNB)
    GnbProfile.model_validate(data)
    change(data)
    assert "rf on" not in check.control_character_refused(GnbProfile.model_validate, data, where)
