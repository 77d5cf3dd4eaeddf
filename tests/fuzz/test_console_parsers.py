"""The gNB console driver's prompt/reply parsing and the UE modem's AT parsing (driver and
simulator): any text gives a value or one InstrumentError, never a crash or a hang."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fivegbench.drivers.gnb.console import GnbConsole
from fivegbench.drivers.gnb.profile import load_profile
from fivegbench.drivers.ue import UeModem, load_ue_profile
from fivegbench.errors import InstrumentError
from fivegbench.sim.ue import SimUeModem
from fivegbench.transport.serial import clean_console_text
from tests.fuzz.conftest import FUZZ, bounded, corpus, corpus_ids

PROFILES = Path(__file__).resolve().parents[2] / "instruments" / "profiles"
GNB = load_profile("sim-gnb", search_dirs=[PROFILES])
UE = load_ue_profile("ue-3gpp", search_dirs=[PROFILES])

# Text as a console line delivers it: printable, control characters, escape sequences, CR/LF.
NOISE = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=200)
LINES = st.lists(
    st.one_of(
        NOISE,
        st.sampled_from(
            [
                "RF: ON",
                "RF: OFF",
                "TX power: 43.0 dBm",
                "% Error: x",
                "OK",
                "ERROR",
                "+CME ERROR: 10",
                "+C5GREG: 1",
                "\x1b[31m",
                "gnb-cli> ",
            ]
        ),
    ),
    max_size=8,
).map("\n".join)


class Replying:
    """A stream transport whose every reply is ``text`` followed by ``end`` (a prompt, OK)."""

    role = "fuzz"

    def __init__(self, text: str, end: str) -> None:
        self.reply = clean_console_text(text) + end

    def send_line(self, text: str) -> None:
        pass

    def read_until(self, pattern: re.Pattern[str], timeout: float) -> str:
        if not pattern.search(self.reply):
            raise TimeoutError("no match")
        return self.reply

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass


def gnb_status(text: str) -> None:
    gnb = GnbConsole(Replying(text, "\ngnb-cli> "), GNB, user="admin", password="x", role="gnb")
    with bounded():
        try:
            status = gnb.cell_status()
        except InstrumentError as exc:
            assert str(exc).startswith("gnb: ")
        else:
            assert isinstance(status.rf_on, bool)


def ue_reading(text: str) -> None:
    modem = UeModem(Replying(text, "\nOK\n"), UE, role="ue")
    with bounded():
        for ask in (modem.reading, modem.registered):
            try:
                ask()
            except InstrumentError as exc:
                assert str(exc).startswith("ue: ")


@FUZZ
@given(LINES)
def test_gnb_cell_status_parses_or_raises_one_error(text):
    gnb_status(text)


@FUZZ
@given(LINES)
def test_ue_readings_parse_or_raise_one_error(text):
    ue_reading(text)


@FUZZ
@given(NOISE)
def test_cleaned_console_text_has_no_escape_or_carriage_return(text):
    cleaned = clean_console_text(text)
    assert "\r" not in cleaned and "\x1b[" not in cleaned


@FUZZ
@given(NOISE)
def test_simulated_modem_answers_any_command_line_with_a_final_result(text):
    out: list[str] = []
    port = SimUeModem()._open_port(type("C", (), {"write": out.append})())
    with bounded():  # a line that does not start with AT is not a command (a modem ignores it)
        port.feed("AT" + text.replace("\r", "").replace("\n", "") + "\r")
    final = "".join(out).rstrip("\r\n").rsplit("\r\n", 1)[-1]
    assert final in ("OK", "ERROR") or final.startswith("+CME ERROR: ")


@pytest.mark.parametrize("data", corpus("console"), ids=corpus_ids("console"))
def test_console_corpus(data):
    gnb_status(data.decode("utf-8", "replace"))


@pytest.mark.parametrize("data", corpus("at"), ids=corpus_ids("at"))
def test_at_corpus(data):
    ue_reading(data.decode("utf-8", "replace"))
