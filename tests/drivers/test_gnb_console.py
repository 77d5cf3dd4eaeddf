"""Exact-exchange protocol tests for the gNB console driver (sim-gnb profile); profile loading is in
test_gnb_profile.py."""

import math
from pathlib import Path

import pytest

from fivegbench.drivers.gnb.console import CellStatus, GnbConsole
from fivegbench.drivers.gnb.profile import GnbProfile, load_profile
from fivegbench.errors import InstrumentError
from fivegbench.transport.scripted import ScriptedTransport

PROFILES = Path(__file__).resolve().parents[2] / "instruments" / "profiles"
PROFILE = load_profile("sim-gnb", search_dirs=[PROFILES])
PROMPT = "gnb-cli> "


def console(t: ScriptedTransport, profile: GnbProfile = PROFILE) -> GnbConsole:
    return GnbConsole(t, profile, user="admin", password="s3cret", role="gnb")


def ok(command: str, output: str = "") -> tuple[str, str]:
    """The pair for a command the console echoes and accepts."""
    return command, f"{command}\n{output + chr(10) if output else ''}{PROMPT}"


def refused(command: str, message: str) -> tuple[str, str]:
    return command, f"{command}\n% Error: {message}\n{PROMPT}"


LOGIN = [
    ("", "\nVHT gNodeB 8T8R (simulated) console\nSerial SIM-GNB-0001\n\nlogin: "),
    ("admin", "admin\nPassword: "),
    ("s3cret", "\nWelcome to VHT gNodeB 8T8R (simulated). Type 'help' for commands.\n" + PROMPT),
]

VERSION = """\
Model: VHT gNodeB 8T8R (simulated)
Serial: SIM-GNB-0001
Software version: 2.3.1-sim
Uptime: 0d 00:00:07"""

CELL = """\
Band: n78
Center frequency: 3750.000 MHz
ARFCN: 650000
Bandwidth: 100 MHz
SCS: 30 kHz
TDD pattern: DDDSU (special 10:2:2)
TX power: 43.0 dBm
Test model: NR-FR1-TM1.1
RF: ON"""


# -- login ---------------------------------------------------------------------------------------
def test_connect_logs_in():
    with ScriptedTransport(LOGIN) as t:
        console(t).connect()


def test_connect_when_already_logged_in():
    with ScriptedTransport([("", "\n" + PROMPT)]) as t:
        console(t).connect()


def test_connect_ignores_a_stale_login_prompt_after_the_username():
    # socket consoles greet on connect, so the provoking line ending earns a second "login: "
    pairs = [
        ("", "\nbanner\n\nlogin: "),
        ("admin", "\nlogin: admin\nPassword: "),
        ("s3cret", "\nWelcome\n" + PROMPT),
    ]
    with ScriptedTransport(pairs) as t:
        console(t).connect()


def test_connect_provokes_again_after_silence():
    with ScriptedTransport([("", "booting...\n"), ("", "\n" + PROMPT)]) as t:
        console(t).connect()


def test_wrong_password_is_refused_and_not_retried():
    pairs = [*LOGIN[:2], ("s3cret", "\nLogin incorrect\n\nlogin: ")]
    with ScriptedTransport(pairs) as t, pytest.raises(InstrumentError, match="refused") as info:
        console(t).connect()
    assert info.value.role == "gnb"
    assert "s3cret" not in str(info.value)


def test_on_login_commands_are_sent_after_login():
    profile = PROFILE.model_copy(update={"on_login": ["terminal length 0"]})
    with ScriptedTransport([*LOGIN, ok("terminal length 0")]) as t:
        console(t, profile).connect()


def test_logout_waits_for_the_login_prompt():
    with ScriptedTransport([("exit", "exit\nlogout\n\nbanner\n\nlogin: ")]) as t:
        console(t).logout()


# -- readings -----------------------------------------------------------------------------------
def test_version_and_idn():
    with ScriptedTransport([ok("show version", VERSION), ok("show version", VERSION)]) as t:
        gnb = console(t)
        assert gnb.version() == "2.3.1-sim"
        assert gnb.idn() == "VHT gNodeB 8T8R (simulated), serial SIM-GNB-0001, software 2.3.1-sim"


def test_cell_status_parses_every_field():
    with ScriptedTransport([ok("show cell", CELL)]) as t:
        status = console(t).cell_status()
    assert status == CellStatus(
        rf_on=True,
        tx_power_dbm=43.0,
        band="n78",
        center_frequency_hz=3.75e9,
        arfcn=650000,
        bandwidth_hz=100e6,
        scs_hz=30e3,
        tdd_pattern="DDDSU",
        special_slot="10:2:2",
        test_model="NR-FR1-TM1.1",
    )


def test_cell_status_rf_off_and_negative_power():
    reply = CELL.replace("RF: ON", "RF: OFF").replace("43.0 dBm", "-7.5 dBm")
    with ScriptedTransport([ok("show cell", reply)]) as t:
        status = console(t).cell_status()
    assert status.rf_on is False
    assert status.tx_power_dbm == -7.5


def test_cell_status_without_rf_state_is_an_instrument_error():
    with ScriptedTransport([ok("show cell", "Band: n78")]) as t, pytest.raises(InstrumentError, match="RF"):
        console(t).cell_status()


def test_cell_status_maps_cli_test_model_names_back_to_3gpp():
    models = dict(PROFILE.limits.test_models, **{"NR-FR1-TM3.1": "TM31"})
    profile = PROFILE.model_copy(update={"limits": PROFILE.limits.model_copy(update={"test_models": models})})
    with ScriptedTransport([ok("show cell", CELL.replace("NR-FR1-TM1.1", "TM31"))]) as t:
        assert console(t, profile).cell_status().test_model == "NR-FR1-TM3.1"


def test_alarms_none():
    with ScriptedTransport([ok("show alarms", "No active alarms")]) as t:
        assert console(t).alarms() == []


def test_alarms_listed():
    reply = "MAJOR    VSWR         antenna port 3 VSWR 2.8\nMINOR    TEMP         PA temperature 71 C"
    with ScriptedTransport([ok("show alarms", reply)]) as t:
        assert console(t).alarms() == [
            "MAJOR    VSWR         antenna port 3 VSWR 2.8",
            "MINOR    TEMP         PA temperature 71 C",
        ]


def test_unrecognised_alarms_reply_is_an_instrument_error():
    with ScriptedTransport([ok("show alarms", "???")]) as t, pytest.raises(InstrumentError):
        console(t).alarms()


# -- settings -----------------------------------------------------------------------------------
SETTINGS = [
    (lambda g: g.set_tx_power(43), "set tx-power 43.0"),
    (lambda g: g.set_tx_power(-3.5), "set tx-power -3.5"),
    (lambda g: g.set_tx_power(50), "set tx-power 50.0"),
    (lambda g: g.set_test_model("NR-FR1-TM3.1a"), "set test-model NR-FR1-TM3.1a"),
    (lambda g: g.rf_off(), "rf off"),
]


@pytest.mark.parametrize(("call", "command"), SETTINGS)
def test_setting_sends_one_command(call, command):
    with ScriptedTransport([ok(command)]) as t:
        call(console(t))


def test_rf_on():
    with ScriptedTransport([ok("rf on", "RF transmission ON")]) as t:
        console(t).rf_on()


def test_configure_cell_by_arfcn():
    pairs = [
        ok("set band n78"),
        ok("set arfcn 650000"),
        ok("set scs 30"),
        ok("set bandwidth 100"),
        ok("set tdd-pattern DDDSU 10:2:2"),
    ]
    with ScriptedTransport(pairs) as t:
        console(t).configure_cell(
            "n78", arfcn=650000, bandwidth_hz=100e6, scs_hz=30e3, tdd_pattern="DDDSU", special_slot="10:2:2"
        )


def test_configure_cell_by_frequency():
    pairs = [ok("set band n41"), ok("set arfcn 510000"), ok("set scs 15"), ok("set bandwidth 20")]
    with ScriptedTransport(pairs) as t:
        console(t).configure_cell("N41", center_frequency_hz=2550e6, bandwidth_hz=20e6, scs_hz=15e3)


def test_configure_cell_with_a_commit_step_and_frequency_in_mhz():
    commands = PROFILE.commands.model_copy(
        update={"set_band": None, "set_frequency": "freq {center_frequency_mhz:.3f}", "commit": "commit"}
    )
    profile = PROFILE.model_copy(update={"commands": commands})
    pairs = [ok("freq 3750.000"), ok("set scs 30"), ok("set bandwidth 40"), ok("commit")]
    with ScriptedTransport(pairs) as t:
        console(t, profile).configure_cell("n78", arfcn=650000, bandwidth_hz=40e6, scs_hz=30e3)


def test_error_reply_raises_instrument_error_with_the_message():
    with (
        ScriptedTransport([refused("set band n78", "RF must be off to change band")]) as t,
        pytest.raises(InstrumentError) as info,
    ):
        console(t).configure_cell("n78", arfcn=650000, bandwidth_hz=100e6, scs_hz=30e3)
    assert (info.value.role, info.value.command, info.value.code) == ("gnb", "set band n78", None)
    assert info.value.message == "RF must be off to change band"


def test_tx_power_refused_by_the_gnb():
    message = "TX power 49.0 dBm out of range (-10.0 to 45.0 dBm)"
    with (
        ScriptedTransport([refused("set tx-power 49.0", message)]) as t,
        pytest.raises(InstrumentError) as info,
    ):
        console(t).set_tx_power(49)
    assert info.value.message == message


def test_no_prompt_is_an_instrument_error():
    with (
        ScriptedTransport([("rf on", "rf on\nRamping")]) as t,
        pytest.raises(InstrumentError, match="no prompt"),
    ):
        console(t).rf_on()


# -- validators: nothing is sent ---------------------------------------------------------------
REJECTED = [
    ("tx power NaN", lambda g: g.set_tx_power(math.nan)),
    ("tx power inf", lambda g: g.set_tx_power(math.inf)),
    ("tx power above max", lambda g: g.set_tx_power(50.1)),
    ("tx power below min", lambda g: g.set_tx_power(-10.5)),
    ("tx power not a number", lambda g: g.set_tx_power("high")),
    ("unknown test model", lambda g: g.set_test_model("NR-FR1-TM9")),
    ("test model wrong case", lambda g: g.set_test_model("nr-fr1-tm1.1")),
]
CELL_OK = {"bandwidth_hz": 100e6, "scs_hz": 30e3, "arfcn": 650000}
BAD_CELLS = [
    ("band without n", ("78",), {}),
    ("band garbage", ("n78x",), {}),
    ("band not a string", (78,), {}),
    ("both frequency and arfcn", ("n78",), {"center_frequency_hz": 3.75e9}),
    ("neither frequency nor arfcn", ("n78",), {"arfcn": None}),
    ("frequency off raster", ("n78",), {"arfcn": None, "center_frequency_hz": 3.7e9}),
    ("frequency NaN", ("n78",), {"arfcn": None, "center_frequency_hz": math.nan}),
    ("frequency negative", ("n78",), {"arfcn": None, "center_frequency_hz": -1e6}),
    ("arfcn negative", ("n78",), {"arfcn": -1}),
    ("arfcn too large", ("n78",), {"arfcn": 3279166}),
    ("arfcn not an integer", ("n78",), {"arfcn": 650000.0}),
    ("bandwidth not a multiple of 5 MHz", ("n78",), {"bandwidth_hz": 7e6}),
    ("bandwidth zero", ("n78",), {"bandwidth_hz": 0.0}),
    ("bandwidth negative", ("n78",), {"bandwidth_hz": -100e6}),
    ("bandwidth NaN", ("n78",), {"bandwidth_hz": math.nan}),
    ("bandwidth not in profile", ("n78",), {"bandwidth_hz": 55e6}),
    ("bandwidth/SCS not 3GPP", ("n78",), {"bandwidth_hz": 100e6, "scs_hz": 15e3}),
    ("SCS not allowed", ("n78",), {"scs_hz": 45e3}),
    ("TDD pattern letters", ("n78",), {"tdd_pattern": "DDXU", "special_slot": "10:2:2"}),
    ("special slot not 14 symbols", ("n78",), {"tdd_pattern": "DDDSU", "special_slot": "10:2:3"}),
    ("special slot syntax", ("n78",), {"tdd_pattern": "DDDSU", "special_slot": "10-2-2"}),
    ("TDD pattern without special slot", ("n78",), {"tdd_pattern": "DDDSU"}),
]


@pytest.mark.parametrize(("what", "call"), REJECTED, ids=[r[0] for r in REJECTED])
def test_rejected_setting_sends_nothing(what, call):
    with ScriptedTransport([]) as t:
        with pytest.raises(ValueError):
            call(console(t))
        assert t.sent == []


@pytest.mark.parametrize(("what", "args", "changes"), BAD_CELLS, ids=[c[0] for c in BAD_CELLS])
def test_rejected_cell_config_sends_nothing(what, args, changes):
    with ScriptedTransport([]) as t:
        with pytest.raises(ValueError):
            console(t).configure_cell(*args, **{**CELL_OK, **changes})
        assert t.sent == []


def test_resync_discards_an_interrupted_commands_output():
    pairs = [
        ("", "set tx-power 46.0\nRF settling\ngnb-cli> "),  # the interrupted command finishes first
        (None, "\ngnb-cli> "),  # then the empty line's own prompt
        (None, TimeoutError("quiet")),  # and nothing more: in sync
    ]
    with ScriptedTransport(pairs) as t:
        console(t).resync()


def test_resync_without_any_prompt_is_an_instrument_error():
    with (
        ScriptedTransport([("", TimeoutError("silent"))]) as t,
        pytest.raises(InstrumentError, match="resync"),
    ):
        console(t).resync()


# -- nothing smuggled to the console ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("user", "password", "field"),
    [
        ("admin", "s3cret\r\nrf on", "password"),
        ("admin\nrf on", "s3cret", "user"),
        ("admin", "s3\x1b[2J", "password"),
    ],
)
def test_credentials_with_a_control_character_are_refused_with_nothing_sent(user, password, field):
    with ScriptedTransport([]) as t, pytest.raises(InstrumentError) as info:
        GnbConsole(t, PROFILE, user=user, password=password).connect()
    assert t.sent == []
    assert info.value.command == field
    if field == "password":
        assert "s3" not in str(info.value)  # the secret is not echoed


def test_a_test_model_mapping_with_a_line_ending_is_refused_with_nothing_sent():
    models = {**PROFILE.limits.test_models, "NR-FR1-TM1.1": "NR-FR1-TM1.1\r\nrf on"}
    profile = PROFILE.model_copy(update={"limits": PROFILE.limits.model_copy(update={"test_models": models})})
    with ScriptedTransport([]) as t, pytest.raises(InstrumentError) as info:
        console(t, profile).set_test_model("NR-FR1-TM1.1")
    assert t.sent == []
    assert info.value.command == "limits.test_models.NR-FR1-TM1.1"
    position = len("set test-model NR-FR1-TM1.1") + 1  # in the line as it would have been sent
    assert f"CR (U+000D) at position {position}" in str(info.value)


def test_a_template_with_a_line_ending_sends_no_part_of_the_cell_configuration():
    # set_scs comes after set_band and set_frequency: checking line by line would send those two
    commands = PROFILE.commands.model_copy(update={"set_scs": "set scs {scs_khz:g}\nrf on"})
    profile = PROFILE.model_copy(update={"commands": commands})
    with ScriptedTransport([]) as t, pytest.raises(InstrumentError, match=r"commands\.set_scs"):
        console(t, profile).configure_cell("n78", center_frequency_hz=3750e6, bandwidth_hz=100e6, scs_hz=30e3)
    assert t.sent == []


def test_on_login_commands_with_a_tab_are_refused_before_logging_in():
    profile = PROFILE.model_copy(update={"on_login": ["terminal\tlength 0"]})
    with ScriptedTransport([]) as t, pytest.raises(InstrumentError, match=r"on_login\[0\]"):
        console(t, profile).connect()
    assert t.sent == []


# -- recovering a session ----------------------------------------------------------------------------
def test_resync_logs_in_again_when_the_session_has_ended():
    pairs = [("", "\nlogin: "), *LOGIN]  # an idle timeout logged the session out
    with ScriptedTransport(pairs) as t:
        console(t).resync()


def test_reopen_closes_the_link_opens_it_and_logs_in():
    with ScriptedTransport(LOGIN) as t:
        console(t).reopen()
    assert (t.closed, t.opened) == (1, 1)
