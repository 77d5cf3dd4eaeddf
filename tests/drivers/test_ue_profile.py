"""UE modem profiles: loaded like plans (one ``file:line:col: key: message`` PlanError), and no
command the driver sends may contain a control character."""

from __future__ import annotations

import pytest

from fivegbench.drivers.ue.profile import IndexScale, UeProfile, load_ue_profile
from fivegbench.errors import BenchError
from tests.drivers import profilecheck as check
from tests.drivers.profilecheck import PROFILES

GPP = (PROFILES / "ue-3gpp.yaml").read_text(encoding="utf-8")
QUECTEL = (PROFILES / "ue-quectel.yaml").read_text(encoding="utf-8")
SOURCES = {"ue-3gpp": GPP, "ue-quectel": QUECTEL}


def test_ue_3gpp_loads_by_name_and_by_path():
    profile = load_ue_profile("ue-3gpp", search_dirs=[PROFILES])
    assert profile.name == "ue-3gpp"
    assert profile.line_ending == "\r"
    assert profile.on_open == ["ATE0", "AT+CMEE=1"]
    assert profile.commands.registration == ["AT+C5GREG?", "AT+COPS?"]
    assert profile.commands.signal == ["AT+CESQ"]
    assert profile.responses.scales["rsrp"] == IndexScale(offset=-157.0, step=1.0, max_index=126)
    assert load_ue_profile(PROFILES / "ue-3gpp.yaml") == profile


def test_ue_quectel_loads():
    profile = load_ue_profile("ue-quectel", search_dirs=[PROFILES])
    assert profile.commands.signal == ['AT+QENG="servingcell"']
    assert profile.responses.scales == {}
    assert profile.responses.registered == ["NOCONN", "CONNECT"]


def test_unknown_profile_name_lists_the_available_ones():
    with pytest.raises(BenchError, match=r"UE profile 'telit-fn990' not found.*available: .*ue-3gpp") as info:
        load_ue_profile("telit-fn990", search_dirs=[PROFILES])
    check.one_line(info.value)


def test_only_ue_profiles_are_offered_and_found_by_name(tmp_path):
    with pytest.raises(BenchError) as info:
        load_ue_profile("telit-fn990", search_dirs=[PROFILES])
    assert check.one_line(info.value).endswith("(available: ue-3gpp, ue-quectel)")  # not sim-gnb
    (tmp_path / "quectel-rm500.yml").write_text(GPP, encoding="utf-8")  # a UE profile misnamed
    with pytest.raises(BenchError) as info:
        load_ue_profile("quectel-rm500", search_dirs=[tmp_path, PROFILES])
    assert check.one_line(info.value) == (
        f"UE profile 'quectel-rm500' not found in {tmp_path}, {PROFILES} "
        f"(available: ue-3gpp, ue-quectel); {tmp_path / 'quectel-rm500.yml'} is a gNB profile "
        "(a UE profile's file name starts with 'ue-')"
    )
    assert load_ue_profile(tmp_path / "quectel-rm500.yml").name == "ue-3gpp"  # by path: any name


def test_unreadable_profile_is_one_line(tmp_path):
    check.unreadable_is_one_line(load_ue_profile, tmp_path)


# (id, source, old, new, marker on the line the error points at, key path, mention)
BAD_PROFILES = [
    (
        "unquoted-question-mark-in-a-flow-list",
        "ue-3gpp",
        "registration: ['AT+C5GREG?', 'AT+COPS?']",
        "registration: [AT+C5GREG?, AT+COPS?]",
        "registration: [AT+C5GREG?",
        "",
        "invalid YAML",
    ),
    (
        "unknown-reading-group",
        "ue-3gpp",
        r"(?P<sinr>\d+)(?:,|$)",
        r"(?P<snr>\d+)(?:,|$)",
        r"    - '^\+CESQ:",
        "responses.signal[0]",
        "unknown group(s) snr (known: arfcn, band, pci, rsrp, rsrq, sinr)",
    ),
    (
        "scale-for-a-group-no-regex-captures",
        "ue-3gpp",
        r"(?P<sinr>\d+)(?:,|$)",
        r"\d+(?:,|$)",
        "    sinr: {offset",
        "responses.scales.sinr",
        "no signal regex captures the group 'sinr'",
    ),
    (
        "scale-for-a-group-that-is-not-a-level",
        "ue-quectel",
        "scales: {}",
        "scales: {pci: {offset: 0, step: 1, max_index: 1007}}",
        "scales: {pci",
        "responses.scales.pci",
        "only rsrp, rsrq, sinr can have a scale",
    ),
    (
        "zero-step",
        "ue-3gpp",
        "rsrq: {offset: -43.5, step: 0.5, max_index: 127}",
        "rsrq: {offset: -43.5, step: 0, max_index: 127}",
        "rsrq: {offset",
        "responses.scales.rsrq.step",
        "greater than 0",
    ),
    (
        "registration-regex-without-stat",
        "ue-3gpp",
        r"registration: '^\+C5GREG: \d+,(?P<stat>\d+)'",
        r"registration: '^\+C5GREG: \d+,(\d+)'",
        r"  registration: '^\+C5GREG",
        "responses.registration",
        "the registration regex needs a group named 'stat'",
    ),
    (
        "cme-regex-without-err",
        "ue-quectel",
        r"cme_error: '^\+CME ERROR: ?(?P<err>.*\S)$'",
        r"cme_error: '^\+CME ERROR: ?(.*\S)$'",
        "cme_error:",
        "results.cme_error",
        "the cme_error regex needs a group named 'err'",
    ),
    (
        "bad-urc-regex",
        "ue-quectel",
        r"  - '^\+QUSIM: '",
        r"  - '^\+QUSIM: ['",
        r"  - '^\+QUSIM",
        "urcs[1]",
        "invalid regular expression",
    ),
    (
        "lf-line-ending",
        "ue-3gpp",
        'line_ending: "\\r"',
        'line_ending: "\\n"',
        "line_ending:",
        "line_ending",
        "line_ending must be CR (V.250 S3) or CRLF",
    ),
    (
        "misspelt-command",
        "ue-3gpp",
        "  radio_on: AT+CFUN=1 ",
        "  radio_onn: AT+CFUN=1 ",
        "radio_onn:",
        "commands.radio_onn",
        "unknown key 'radio_onn'",
    ),
    (
        "not-an-at-command",
        "ue-3gpp",
        "  radio_off: AT+CFUN=0 ",
        "  radio_off: CFUN=0 ",
        "radio_off:",
        "commands.radio_off",
        "'CFUN=0' is not an AT command line (it must start with AT)",
    ),
    (
        "empty-signal-commands",
        "ue-quectel",
        "  signal: ['AT+QENG=\"servingcell\"']",
        "  signal: []",
        "  signal: []",
        "commands.signal",
        "must not be empty",
    ),
    # text that is sent to the modem: no control character at all, not even TAB
    (
        "cr-in-a-command",
        "ue-3gpp",
        "  radio_on: AT+CFUN=1 ",
        '  radio_on: "AT+CFUN=1\\rAT+CFUN=0" ',
        "radio_on:",
        "commands.radio_on",
        "contains a control character (CR (U+000D) at position 10)",
    ),
    (
        "lf-in-on-open",
        "ue-3gpp",
        "  - ATE0       # echo off (power-up",
        '  - "ATE0\\nAT+CFUN=0"       # echo off (power-up',
        '  - "ATE0',
        "on_open[0]",
        "LF (U+000A) at position 5",
    ),
    (
        "tab-in-an-identity-command",
        "ue-quectel",
        "identity: [ATI, AT+CGSN]",
        'identity: ["AT\\tI", AT+CGSN]',
        "identity: [",
        "commands.identity[0]",
        "TAB (U+0009) at position 3",
    ),
    (
        "esc-in-a-signal-command",
        "ue-quectel",
        "  signal: ['AT+QENG=\"servingcell\"']",
        '  signal: ["AT+QENG=\\"servingcell\\"\\e[2J"]',
        "  signal: [",
        "commands.signal[0]",
        "ESC (U+001B) at position 22",
    ),
]


@pytest.mark.parametrize(
    ("case", "source", "old", "new", "marker", "path", "mention"),
    BAD_PROFILES,
    ids=[c[0] for c in BAD_PROFILES],
)
def test_bad_profile_is_one_plan_error_at_its_line(tmp_path, case, source, old, new, marker, path, mention):
    file, text = check.variant(tmp_path, SOURCES[source], old, new)
    message = check.plan_error_at(load_ue_profile, file, text, marker, path, mention)
    assert "CFUN=0" not in message or case == "not-an-at-command"


@pytest.mark.parametrize(
    ("where", "change"),
    [
        ("commands.radio_on", lambda d: d["commands"].update(radio_on="AT+CFUN=1\x1b[2J")),
        ("on_open.1", lambda d: d.update(on_open=["ATE0", "AT+CMEE=1\rAT+CFUN=0"])),
        ("commands.registration.0", lambda d: d["commands"].update(registration=["AT+C5GREG?\n"])),
        ("commands.check", lambda d: d["commands"].update(check="AT\u2028AT+CFUN=0")),
    ],
)
def test_the_model_itself_refuses_control_characters(where, change):
    """Built without the loader (e.g. from a dict): the same checks, never quoting the text."""
    import yaml

    data = yaml.safe_load(GPP)
    UeProfile.model_validate(data)
    change(data)
    assert "CFUN=0" not in check.control_character_refused(UeProfile.model_validate, data, where)


def test_index_scale_value():
    assert IndexScale(offset=-157.0, step=1.0, max_index=126).value(70) == -87.0
    assert IndexScale(offset=-43.5, step=0.5, max_index=127).value(65) == -11.0
