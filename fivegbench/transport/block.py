"""Reading one IEEE 488.2 definite-length block (``#<n><len><payload>`` then LF) by its length.

Kept apart from the VISA session so that the header rules are one pure function, fuzzed in
``tests/fuzz``: whatever arrives, the answer is the payload or one InstrumentError naming the
role, the command and what was wrong.
"""

from __future__ import annotations

from collections.abc import Callable

from fivegbench.errors import InstrumentError

#: A REAL,32 trace of 100 001 points is 400 kB and an I/Q capture a few MB: a header declaring
#: more is a corrupted header, not data worth waiting for.
MAX_BLOCK_BYTES = 256 * 1024 * 1024


def read_block(read_bytes: Callable[[int], bytes], role: str, command: str) -> bytes:
    """Read a definite-length block with ``read_bytes(n)`` (exactly n bytes, or an I/O error).

    Returns the payload without the terminating LF. Raises InstrumentError for a header that is
    not ``#`` and a digit 1-9 followed by that many decimal digits, for an indefinite block
    (``#0``), for a length above :data:`MAX_BLOCK_BYTES`, for a short read and for a missing LF.
    """
    head = read_bytes(2)
    if len(head) != 2 or head[:1] != b"#":
        raise InstrumentError(role, command, None, f"expected a binary block, got {head!r}")
    if head[1:2] == b"0":
        raise InstrumentError(role, command, None, "indefinite-length block (#0) not supported")
    if not b"1" <= head[1:2] <= b"9":
        raise InstrumentError(role, command, None, f"malformed block header {head!r}")
    digits = int(head[1:2])
    field = read_bytes(digits)
    if len(field) != digits or not field.isdigit():
        raise InstrumentError(role, command, None, f"malformed block length {head + field!r}")
    length = int(field)
    if length > MAX_BLOCK_BYTES:
        raise InstrumentError(
            role, command, None, f"block declares {length} bytes, more than {MAX_BLOCK_BYTES}"
        )
    payload = read_bytes(length + 1)
    if len(payload) != length + 1:
        raise InstrumentError(role, command, None, f"block cut short: {len(payload) - 1} of {length} bytes")
    if payload[-1:] != b"\n":
        raise InstrumentError(role, command, None, "binary block not followed by LF")
    return payload[:-1]
