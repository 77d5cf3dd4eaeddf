"""Recovering a measurement point from a lost instrument link.

The transports turn every kind of link failure (refused, reset, broken pipe, timeout, serial
error) into :class:`~fivegbench.errors.ConnectionLost`. The runner measures each point through
:func:`with_retries`: on a lost link it waits (backoff), reopens that role's session, brings the
instrument up again (the driver's idempotent init) and re-runs the whole point, which configures
every setting again, so nothing depends on what the instrument remembered. After the last
attempt the original error (role, command, cause) is raised, and the point is ERROR.

Only the point is retried, never a single command: a command such as ``INIT`` is not idempotent,
a point is (it sets everything it depends on and reads it back).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol, TypeVar

from fivegbench.bench import Instruments, LoadedBench
from fivegbench.drivers.registry import DRIVERS
from fivegbench.errors import ConnectionLost, FivegbenchError

log = logging.getLogger(__name__)

T = TypeVar("T")


class Forgetful(Protocol):
    """A cache of what was applied to an instrument, to be dropped when the link is reopened."""

    def forget(self) -> None: ...


def backoff(loaded: LoadedBench, role: str) -> tuple[float, ...]:
    """Seconds to wait before each reopening of ``role``: ``retry_backoff`` doubled per attempt,
    ``retries`` attempts (the bench's per-instrument settings)."""
    config = loaded.bench.instruments.get(role)
    if config is None:
        return ()
    return tuple(config.retry_backoff * 2**n for n in range(config.retries))


def with_retries(
    attempt: Callable[[], T],
    reopen: Callable[[str], None],
    delays: Callable[[str], Sequence[float]],
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run ``attempt``; on ConnectionLost reopen the role that lost its link and run it again.

    ``delays(role)`` gives the wait before each retry (its length is the number of retries). A
    reopening that fails counts as a failed attempt. Raises the first ConnectionLost, with the
    number of attempts and the last cause added, when every retry failed.
    """
    try:
        return attempt()
    except ConnectionLost as lost:
        first = lost
    waits = list(delays(first.role))
    last: FivegbenchError = first
    for number, wait in enumerate(waits, 1):
        log.warning(
            "%s: link lost (%s); reopening, attempt %d of %d in %g s",
            first.role,
            last,
            number,
            len(waits),
            wait,
        )
        sleep(wait)
        try:
            reopen(last.role if isinstance(last, ConnectionLost) else first.role)
            return attempt()
        except ConnectionLost as lost:
            last = lost
    if not waits:
        raise first
    raise ConnectionLost(
        first.role,
        first.command,
        first.code,
        f"{first.message}; not recovered after {len(waits)} reopening(s) (last: {last})",
    ) from last


def reopen(
    instruments: Instruments, loaded: LoadedBench, role: str, caches: Iterable[Forgetful | None]
) -> None:
    """Close and reopen ``role``'s link, bring the instrument up again and drop every cache of
    what was applied (the instrument may have rebooted into its reset state)."""
    driver = instruments.get(role)
    config = loaded.bench.instruments.get(role)
    if driver is None or config is None:
        raise ConnectionLost(role, "<reopen>", None, "no such instrument on this bench")
    for cache in caches:
        if cache is not None:
            cache.forget()
    transport: Any = getattr(driver, "transport", None)
    note = getattr(transport, "note", None)
    if callable(note):
        note("reopening the link")
    again = getattr(driver, "reopen", None)
    if callable(again):  # consoles: close, open, log in or check AT
        again()
    elif transport is not None:
        transport.close()
        transport.open()
    DRIVERS[config.driver].bring_up(driver)
