"""The client's binary block reader: any bytes give the payload or one InstrumentError."""

from __future__ import annotations

import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fivegbench.errors import InstrumentError
from fivegbench.transport.block import read_block
from tests.fuzz.conftest import FUZZ, bounded, corpus, corpus_ids


def reader(data: bytes):
    """``read_bytes(n)`` over ``data``: what is there, at most n bytes (a short read at the end)."""
    stream = io.BytesIO(data)
    return lambda n: stream.read(n)


def read(data: bytes) -> bytes:
    with bounded():
        return read_block(reader(data), "analyzer", "TRAC:DATA? TRACE1")


@FUZZ
@given(st.binary(max_size=300))
def test_any_bytes_give_a_payload_or_one_instrument_error(data):
    try:
        payload = read(data)
    except InstrumentError as exc:
        assert str(exc).startswith("analyzer: TRAC:DATA? TRACE1: ")
    else:
        digits = data[1] - 0x30
        assert int(data[2 : 2 + digits]) == len(payload)
        assert data[2 + digits : 3 + digits + len(payload)] == payload + b"\n"


@FUZZ
@given(st.binary(max_size=2000), st.binary(max_size=20))
def test_a_well_formed_block_reads_back_exactly(payload, after):
    length = str(len(payload)).encode()
    data = b"#" + str(len(length)).encode() + length + payload + b"\n" + after
    assert read(data) == payload


@pytest.mark.parametrize("data", corpus("block"), ids=corpus_ids("block"))
def test_corpus(data):
    if data == b"#15hello\n":
        assert read(data) == b"hello"
        return
    with pytest.raises(InstrumentError, match=r"^analyzer: TRAC:DATA\? TRACE1: "):
        read(data)


def test_malformed_header_names_role_command_and_cause():
    with pytest.raises(InstrumentError) as caught:
        read(b"#Z123")
    assert str(caught.value) == "analyzer: TRAC:DATA? TRACE1: malformed block header b'#Z'"
