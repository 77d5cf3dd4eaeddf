"""Fault injection for the simulated instruments: one :class:`Faults` object per instrument.

What a lab sees happen to instruments, on demand: the link dropped, an instrument that stops
answering or answers slowly, a corrupted or truncated binary block, an error in its queue, a
reboot (connections refused for a while, then back in its reset state), and on a gNB console
line noise or an alarm. :data:`MODES` says what each mode does; a personality that cannot do a
mode (a block fault on an attenuator) refuses it when the fault is injected.

A fault is injected from a test (:meth:`Faults.inject`), from the bench file (an instrument's
``faults:`` list, a :class:`FaultSpec` each, armed when the simulator starts) or from the
command line (``fivegbench sim fault``, through :mod:`fivegbench.sim.control`). A fault fires at
once, or with ``at: TEXT`` at the ``count``-th message received that contains TEXT (case
insensitive), so a test can place it at a chosen point of a sweep without timing anything.

The servers (:mod:`fivegbench.sim.lineserver`, :mod:`fivegbench.sim.stream`) call
:meth:`Faults.received` with every message and ask :meth:`Faults.hung`, :meth:`Faults.delay`,
:meth:`Faults.take_block` and :meth:`Faults.take_garbage`; the actions that reach further (close
every connection, reboot, queue an error, raise an alarm) are hooks the server and the
personality register with :meth:`Faults.on`. Thread-safe: every connection thread and the
control thread use the same object.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from fivegbench import units

log = logging.getLogger(__name__)

Mode = Literal["drop", "hang", "slow", "truncate", "corrupt", "error", "reboot", "garbage", "alarm"]

#: Every fault mode and what it does (``fivegbench sim fault --help`` prints these).
MODES: dict[str, str] = {
    "drop": "close every connection with a TCP reset (the client's next read fails)",
    "hang": "stop answering: input is discarded for DURATION (default: until cleared)",
    "slow": "answer every message DELAY seconds late, for DURATION (default: until cleared)",
    "truncate": "send the next binary block cut short (analyzers)",
    "corrupt": "send the next binary block with a malformed header (analyzers)",
    "error": "push CODE,TEXT into the error queue (SCPI instruments)",
    "reboot": "drop every connection, refuse new ones for DURATION (default 3 s), come back reset",
    "garbage": "print line noise before the next reply (consoles)",
    "alarm": "raise an active alarm TEXT (gNB console)",
}

DEFAULT_REBOOT_S = 3.0
DEFAULT_DELAY_S = 0.5
MAX_DURATION_S = 3600.0


def _seconds(value: Any) -> float:
    number = value if isinstance(value, int | float) and not isinstance(value, bool) else None
    if number is None:
        try:
            number = units.parse(value, "time")
        except units.UnitParseError as exc:
            raise ValueError(str(exc)) from None
    if not (math.isfinite(number) and 0 <= number <= MAX_DURATION_S):
        raise ValueError(f"must be between 0 s and {MAX_DURATION_S:g} s, not {value!r}")
    return float(number)


class FaultSpec(BaseModel):
    """One fault, as a bench file's ``faults:`` entry or ``fivegbench sim fault`` gives it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Mode
    at: str | None = Field(None, min_length=1, max_length=200)
    """Fire at a message containing this text (case-insensitive); at once when not given."""
    count: int = Field(1, ge=1, le=1_000_000)
    """Fire at the count-th such message."""
    duration: float | None = None
    """How long a hang, slow answers or a reboot last (s)."""
    delay: float = DEFAULT_DELAY_S
    """How late each answer comes while ``slow`` (s)."""
    code: int = Field(-310, ge=-32768, le=32767)
    text: str = Field("System error", max_length=255)
    """The error text of ``error``, the alarm text of ``alarm``."""

    _times = field_validator("duration", "delay", mode="before")(
        lambda value: None if value is None else _seconds(value)
    )


@dataclass
class _Armed:
    spec: FaultSpec
    remaining: int


class Faults:
    """The faults of one simulated instrument (see the module docstring).

    Parameters
    ----------
    supported : the modes this instrument can do; injecting another raises ValueError.
    clock : seconds, monotonic (replaceable in tests of this class).
    """

    def __init__(
        self,
        supported: frozenset[str] | set[str] = frozenset(MODES),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.supported = frozenset(supported)
        self._clock = clock
        self._lock = threading.Lock()
        self._armed: list[_Armed] = []
        self._hooks: dict[str, Callable[[FaultSpec], object]] = {}
        self._hang_until = 0.0
        self._slow_until = 0.0
        self._delay = 0.0
        self._block: str | None = None
        self._garbage = False
        self.fired: list[str] = []
        """Modes fired so far, in order (for tests and the control command's answer)."""

    def limit(self, modes: frozenset[str] | set[str]) -> None:
        """Support only ``modes`` (and none a server or personality did not add)."""
        self.supported = self.supported & frozenset(modes)

    def allow(self, mode: str, hook: Callable[[FaultSpec], None]) -> None:
        """A personality adds a mode its server does not do (``error``, ``alarm``)."""
        self.supported = self.supported | {mode}
        self._hooks[mode] = hook

    def on(self, mode: str, hook: Callable[[FaultSpec], object]) -> None:
        """Register what ``mode`` does beyond this object's own state (close connections, ...)."""
        self._hooks[mode] = hook

    def inject(self, spec: FaultSpec) -> None:
        """Fire ``spec`` now, or arm it for its ``at`` message. ValueError for an unsupported mode."""
        if spec.mode not in self.supported:
            raise ValueError(
                f"this instrument cannot {spec.mode!r} (it can: {', '.join(sorted(self.supported))})"
            )
        if spec.at is None:
            self._fire(spec)
        else:
            with self._lock:
                self._armed.append(_Armed(spec, spec.count))

    def clear(self) -> None:
        """Disarm every fault and end hangs, slow answers and pending block faults."""
        with self._lock:
            self._armed.clear()
            self._hang_until = self._slow_until = 0.0
            self._block = None
            self._garbage = False

    def received(self, message: str | bytes) -> None:
        """Count ``message`` against the armed faults; fire those whose time has come."""
        if not self._armed:  # the common case, without the lock
            return
        text = (message.decode("latin-1") if isinstance(message, bytes) else message).upper()
        due: list[FaultSpec] = []
        with self._lock:
            for armed in list(self._armed):
                if armed.spec.at is not None and armed.spec.at.upper() in text:
                    armed.remaining -= 1
                    if armed.remaining <= 0:
                        self._armed.remove(armed)
                        due.append(armed.spec)
        for spec in due:
            self._fire(spec)

    def _fire(self, spec: FaultSpec) -> None:
        log.warning("fault injected: %s", spec.model_dump(exclude_defaults=True))
        now = self._clock()
        until = now + spec.duration if spec.duration is not None else math.inf
        with self._lock:
            self.fired.append(spec.mode)
            if spec.mode == "hang":
                self._hang_until = until
            elif spec.mode == "slow":
                self._slow_until, self._delay = until, spec.delay
            elif spec.mode in ("truncate", "corrupt"):
                self._block = spec.mode
            elif spec.mode == "garbage":
                self._garbage = True
            hook = self._hooks.get(spec.mode)
        if hook is not None:
            hook(spec)

    # -- asked by the servers ------------------------------------------------------------------
    def hung(self) -> bool:
        """True while the instrument discards what it receives."""
        return self._clock() < self._hang_until

    def delay(self) -> float:
        """Seconds to hold the next answer back (0 when not slow)."""
        return self._delay if self._clock() < self._slow_until else 0.0

    def take_block(self) -> str | None:
        """The pending block fault (``truncate`` or ``corrupt``), once."""
        with self._lock:
            block, self._block = self._block, None
        return block

    def take_garbage(self) -> bool:
        """True once after a ``garbage`` fault: the next output is preceded by line noise."""
        with self._lock:
            garbage, self._garbage = self._garbage, False
        return garbage


#: What ``garbage`` prints: line noise as a console cable picks it up, no prompt in it.
GARBAGE = "\x00\xff~}\x1b[31m#@!\x7f\r\n~~ \x08\x08 ]]<\r\n"


def mangle_block(reply: bytes, how: str) -> bytes:
    """A response holding a definite-length block, broken as ``how`` says: ``truncate`` keeps
    the first half and no LF (the client waits for the rest); ``corrupt`` makes the header
    ``#Z...`` (the client cannot read its length)."""
    if how == "truncate":
        return reply[: max(2, len(reply) // 2)]
    return b"#Z" + reply[2:]
