"""Shared by the fuzz tests: the corpus, reproducible hypothesis settings, a hang guard."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hypothesis import HealthCheck, settings

CORPUS = Path(__file__).resolve().parent / "corpus"

#: Derandomized (the same examples on every run, in CI too), modest counts, no per-example
#: deadline (a loaded machine is not a failure); hangs are caught by :func:`bounded` instead.
FUZZ = settings(
    max_examples=120, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

HANG_S = 10.0


def corpus(kind: str) -> list[bytes]:
    """Every file of ``corpus/<kind>``, as bytes, in name order."""
    return [path.read_bytes() for path in sorted((CORPUS / kind).iterdir())]


def corpus_ids(kind: str) -> list[str]:
    return [path.name for path in sorted((CORPUS / kind).iterdir())]


class Hang(Exception):
    """An example ran longer than :data:`HANG_S`: a hang, not slowness."""


@contextmanager
def bounded(seconds: float = HANG_S) -> Iterator[None]:
    """Fail with :class:`Hang` if the block runs longer than ``seconds`` (SIGALRM, main thread)."""

    def expire(signum: int, frame: object) -> None:
        raise Hang(f"no answer within {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
