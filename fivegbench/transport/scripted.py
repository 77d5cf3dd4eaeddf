"""A scripted transport for exact-exchange protocol tests (after PyMeasure's expected_protocol).

A test gives the ordered list of ``(sent, reply)`` pairs the driver must produce, without
terminators. ``sent=None`` means the pair starts with a read; ``reply=None`` means nothing is
read back. Any deviation raises ``AssertionError`` at once, and :meth:`assert_done` (called on
leaving the ``with`` block) fails if pairs remain, so missing, extra and reordered messages all
fail the test.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import TracebackType

Reply = str | bytes | TimeoutError | None
"""A reply may be a TimeoutError instance: the read raises it (nothing arrived in time)."""


class ScriptedTransport:
    """Plays a transcript; implements both MessageTransport and StreamTransport."""

    def __init__(self, pairs: Sequence[tuple[str | None, Reply]], role: str = "scripted") -> None:
        self.role = role
        self._pairs = list(pairs)
        self._pending: list[Reply] = []
        self.sent: list[str] = []
        self.opened = 0  # calls of open() and close(), for tests of reopening
        self.closed = 0

    # -- MessageTransport ------------------------------------------------------------------
    def write(self, message: str) -> None:
        self.sent.append(message)
        if not self._pairs:
            raise AssertionError(f"unexpected write {message!r}: transcript is finished")
        expected, reply = self._pairs.pop(0)
        if expected != message:
            raise AssertionError(f"sent {message!r}, transcript expects {expected!r}")
        if reply is not None:
            self._pending.append(reply)

    def read(self) -> str:
        reply = self._next_reply()
        if isinstance(reply, bytes):
            raise AssertionError("driver read text where the transcript has a binary block")
        return reply

    def query(self, message: str) -> str:
        self.write(message)
        return self.read()

    def query_block(self, message: str) -> bytes:
        self.write(message)
        reply = self._next_reply()
        if not isinstance(reply, bytes):
            raise AssertionError("driver read a binary block where the transcript has text")
        return reply

    # -- StreamTransport -------------------------------------------------------------------
    def send_line(self, text: str) -> None:
        self.write(text)

    def read_until(self, pattern: re.Pattern[str], timeout: float) -> str:
        reply = self.read()
        if not pattern.search(reply):
            raise TimeoutError(f"pattern {pattern.pattern!r} not seen in {reply!r}")
        return reply

    @contextmanager
    def timeout(self, seconds: float) -> Iterator[None]:
        yield

    def open(self) -> None:
        self.opened += 1

    def close(self) -> None:
        self.closed += 1

    # -- bookkeeping -----------------------------------------------------------------------
    def _next_reply(self) -> str | bytes:
        if self._pending:
            reply = self._pending.pop(0)
        elif self._pairs and self._pairs[0][0] is None:
            _, reply = self._pairs.pop(0)
        else:
            raise AssertionError("driver reads, but the transcript has nothing to answer")
        if reply is None:
            raise AssertionError("transcript pair (None, None) is meaningless")
        if isinstance(reply, TimeoutError):
            raise reply
        return reply

    def assert_done(self) -> None:
        if self._pairs or self._pending:
            raise AssertionError(f"transcript not finished: {self._pairs or self._pending}")

    def __enter__(self) -> ScriptedTransport:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if kind is None:
            self.assert_done()
