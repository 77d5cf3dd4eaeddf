"""The simulator's SCPI parser and framer: any input gives replies or queued errors, never a
crash or a hang; the error queue stays within SCPI's limits; framing does not depend on how
the stream is cut into segments and never holds more than its cap."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fivegbench.sim.attenuator import SimAttenuator
from fivegbench.sim.scpi import MAX_ERROR_TEXT, MessageFramer, Overflow
from fivegbench.sim.world import World
from tests.fuzz.conftest import FUZZ, bounded, corpus, corpus_ids

# Fragments an SCPI controller (or line noise) sends, for inputs that reach deep into the parser.
FRAGMENTS = st.sampled_from(
    [
        b"*IDN?",
        b"*RST",
        b"*CLS",
        b"*OPC?",
        b"*ESR?",
        b"SYST:ERR?",
        b"ATT",
        b"ATT?",
        b" MAX",
        b" 10",
        b"INP:",
        b":",
        b";",
        b",",
        b'"',
        b"'",
        b"#",
        b"#1",
        b"#15",
        b"#9",
        b"9999999999",
        b"\r",
        b"\n",
        b" ",
        b"?",
        b"1e309",
        b"-",
        b"DB",
        b"\x00",
        b"\xff",
    ]
)
MESSAGES = st.one_of(st.binary(max_size=200), st.lists(FRAGMENTS, max_size=30).map(b"".join))


def entries(engine: SimAttenuator) -> list[str]:
    found = []
    while len(engine.errors):
        found.append(engine.next_error())
    return found


def run(engine: SimAttenuator, data: bytes) -> list[bytes]:
    framer = MessageFramer(max_bytes=4096)
    session = engine.new_session()
    replies = []
    with bounded():
        for message in framer.feed(data):
            reply = engine.execute(message, session)
            if reply is not None:
                replies.append(reply)
    return replies


@FUZZ
@given(MESSAGES)
def test_any_message_gives_replies_or_queued_errors(data):
    engine = SimAttenuator(World())
    for reply in run(engine, data + b"\n"):
        assert reply.endswith(b"\n")
    for entry in entries(engine):
        code, _, text = entry.partition(",")
        assert int(code) < 0
        assert text.startswith('"') and text.endswith('"') and len(text) - 2 <= MAX_ERROR_TEXT


@FUZZ
@given(MESSAGES, st.lists(st.integers(min_value=1, max_value=50), max_size=10))
def test_framing_does_not_depend_on_segments(data, cuts):
    whole = MessageFramer(max_bytes=4096).feed(data)
    framer, pieces, start = MessageFramer(max_bytes=4096), [], 0
    for cut in cuts:
        pieces += framer.feed(data[start : start + cut])
        start += cut
    pieces += framer.feed(data[start:])
    assert pieces == whole


@FUZZ
@given(st.binary(min_size=1, max_size=64).filter(lambda b: b"\n" not in b), st.integers(1, 40))
def test_the_framer_never_holds_more_than_its_cap(chunk, repeats):
    framer = MessageFramer(max_bytes=256)
    out = []
    for _ in range(repeats):
        out += framer.feed(chunk)
        assert framer.pending <= 256
    assert all(isinstance(m, Overflow) for m in out)
    assert framer.feed(b"\n*IDN?\n")[-1] == b"*IDN?"


@pytest.mark.parametrize("data", corpus("scpi"), ids=corpus_ids("scpi"))
def test_corpus_leaves_the_parser_answering(data):
    engine = SimAttenuator(World())
    run(engine, data)
    entries(engine)
    assert engine.execute(b"*IDN?", engine.new_session()) == b"fivegbench,SIM-ATT-95,SIM-ATT-0001,1.0\n"


def test_an_error_text_is_cut_at_255_characters():
    engine = SimAttenuator(World())
    engine.execute(b"X" * 10_000_000, engine.new_session())
    (entry,) = entries(engine)
    assert entry.startswith('-113,"Undefined header;XXX')
    assert len(entry) == len('-113,""') + 255


def test_a_huge_declared_block_is_too_much_data_and_later_commands_still_run():
    engine = SimAttenuator(World())
    replies = run(engine, b"ATT #9999999999\n*IDN?\n")
    assert replies == [b"fivegbench,SIM-ATT-95,SIM-ATT-0001,1.0\n"]
    assert entries(engine) == ['-223,"Too much data;more than 1048576 bytes"']


def test_a_line_without_lf_beyond_the_cap_is_too_much_data_and_not_held():
    engine = SimAttenuator(World())
    framer = MessageFramer()
    out = []
    for _ in range(3):  # 3 MiB in 1 MiB pieces, then the end of the line and a query
        out += framer.feed(b"A" * (1 << 20))
        assert framer.pending <= 1 << 20
    out += framer.feed(b"AAA\n*IDN?\n")
    replies = [engine.execute(m, engine.new_session()) for m in out]
    assert replies[-1] == b"fivegbench,SIM-ATT-95,SIM-ATT-0001,1.0\n"
    assert entries(engine) == ['-223,"Too much data;more than 1048576 bytes"']
