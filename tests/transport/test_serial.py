"""SerialTransport refuses to send a line containing a control character, sending nothing
(pyserial's ``loop://`` echoes what is written, so what was sent can be read back)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fivegbench.errors import InstrumentError
from fivegbench.transport.base import IoLog
from fivegbench.transport.serial import SerialTransport

SMUGGLED = [
    ("crlf", "admin\r\nrf on", "CR (U+000D) at position 6"),
    ("lf", "rf off\nrf on", "LF (U+000A) at position 7"),
    ("cr", "rf off\r", "CR (U+000D) at position 7"),
    ("tab", "show\tcell", "TAB (U+0009) at position 5"),
    ("esc", "show cell\x1b[2J", "ESC (U+001B) at position 10"),
    ("nul", "\x00rf on", "NUL (U+0000) at position 1"),
    ("del", "rf on\x7f", "DEL (U+007F) at position 6"),
    ("line-separator", "rf off\u2028rf on", "U+2028 at position 7"),
    ("c1-nel", "rf off\x85rf on", "U+0085 at position 7"),
]


def _nothing_arrives(t: SerialTransport) -> None:
    with pytest.raises(TimeoutError, match=r"last received: ''"):
        t.read_until(re.compile("never"), 0.1)


@pytest.mark.parametrize(("case", "text", "where"), SMUGGLED, ids=[c[0] for c in SMUGGLED])
def test_send_line_refuses_a_control_character_and_sends_nothing(tmp_path: Path, case, text, where):
    iolog = IoLog(tmp_path / "io.log")
    with SerialTransport("loop://", "gnb", iolog) as t:
        with pytest.raises(InstrumentError) as info:
            t.send_line(text)
        assert str(info.value) == (
            f"gnb: <io>: refused to send a line containing a control character ({where}); nothing was sent"
        )
        _nothing_arrives(t)
    iolog.close()
    assert (tmp_path / "io.log").read_text(encoding="utf-8") == ""


@pytest.mark.parametrize(("case", "text", "where"), SMUGGLED, ids=[c[0] for c in SMUGGLED])
def test_send_secret_refuses_without_quoting_the_secret(tmp_path: Path, case, text, where):
    iolog = IoLog(tmp_path / "io.log")
    with SerialTransport("loop://", "gnb", iolog) as t:
        with pytest.raises(InstrumentError) as info:
            t.send_secret(text)
        message = str(info.value)
        assert where in message and "nothing was sent" in message
        for word in ("admin", "rf on", "rf off", "show", "cell"):
            assert word not in message
        _nothing_arrives(t)
    iolog.close()
    assert (tmp_path / "io.log").read_text(encoding="utf-8") == ""


def test_ordinary_lines_are_sent_with_the_line_ending(tmp_path: Path):
    iolog = IoLog(tmp_path / "io.log")
    with SerialTransport("loop://", "gnb", iolog, line_ending="\r\n") as t:
        t.send_line("set band n78")
        t.send_line("")  # an empty line provokes a prompt: allowed
        t.send_secret("s3cret-pässword")
        assert t.read_until(re.compile(r"pässword\n"), 1) == "set band n78\n\ns3cret-pässword\n"
    iolog.close()
    sent = [
        line.split("  >  ", 1)[1]
        for line in (tmp_path / "io.log").read_text("utf-8").splitlines()
        if "  >  " in line
    ]
    assert sent == ["set band n78", "", "********"]  # (loop:// echoes the secret back: that is received)
