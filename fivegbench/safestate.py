"""The bench's safe state: gNB RF off, the attenuator at its maximum, and the analyzer's input
attenuation at its maximum, each read back, in that order (:data:`SAFE_STATES`).

Applied at the end of every run to whatever was opened, and on its own by ``fivegbench bench
safe``. A console that was reset or hangs is reopened (a few times) rather than given up on; a
role that cannot be confirmed is named, because the bench may then be unsafe.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

from fivegbench.bench import Instruments, LoadedBench, Opener
from fivegbench.drivers.analyzer.swept import SweptAnalyzer
from fivegbench.drivers.attenuator.scpi_attenuator import ScpiAttenuator
from fivegbench.drivers.gnb.console import GnbConsole, LoginRefused
from fivegbench.errors import FivegbenchError, SafeStateError
from fivegbench.locks import lock_dir, who_holds
from fivegbench.transport.base import IoLog

log = logging.getLogger(__name__)

#: Times a reset or hung gNB console is reopened for the safe state, and the pause before each.
GNB_REOPEN_ATTEMPTS = 3
REOPEN_PAUSE_S = 1.0


@dataclass(frozen=True)
class SafeState:
    """Whether the bench was confirmed safe, what was done, and which roles may not be safe."""

    confirmed: bool
    detail: str
    unsafe: tuple[str, ...] = ()


NOT_OPENED = SafeState(True, "not applied: no instrument connection was opened, so nothing was switched on")


def apply_safe_state(instruments: Instruments, unreached: Mapping[str, str] | None = None) -> SafeState:
    """gNB RF off (read back), then the attenuator to its maximum (read back). Each is attempted
    even if the other fails; a link that was reset or hangs is reopened first. ``unreached``
    (role -> why) lists safety roles that could not even be opened: not confirmed either."""
    done: list[str] = []
    problems = [f"{role} not reached: {why}" for role, why in (unreached or {}).items()]
    unsafe = list(unreached or {})
    for role, make_safe in SAFE_STATES.items():
        driver = instruments.get(role)
        if driver is None:
            continue
        try:
            done.append(make_safe(driver))
        except SafeStateError as exc:
            problems.append(str(exc))
            unsafe.append(role)
        except Exception as exc:  # a bug must not skip the other role, nor pass for confirmed
            log.error("%s: safe state crashed: %s", role, exc, exc_info=True)
            problems.append(f"{role}: safe state crashed: {type(exc).__name__}: {exc}")
            unsafe.append(role)
    if problems:
        return SafeState(False, "NOT CONFIRMED: " + "; ".join(problems + done), tuple(unsafe))
    return SafeState(True, "confirmed: " + ("; ".join(done) or "nothing to make safe"))


def _say_holder(role: str, resource: str) -> None:
    holder = who_holds(resource, lock_dir())
    if holder is not None:
        log.warning("%s %s is in use by a run (%s): making it safe all the same", role, resource, holder)


def _gnb_rf_off(gnb: GnbConsole) -> str:
    """RF off, read back with ``show cell``. First on the open session, resynchronised (on a hung
    console ``rf off`` is sent all the same); then on a reopened link, a few times."""
    errors: list[str] = []
    for attempt in range(1 + GNB_REOPEN_ATTEMPTS):
        try:
            if attempt == 0:
                answers = _resync(gnb, errors)
            else:
                time.sleep(REOPEN_PAUSE_S)
                gnb.reopen()
                answers = True
            gnb.rf_off(None if answers else gnb.timeout)
            rf_on = gnb.cell_status().rf_on
        except LoginRefused as exc:  # never retried: that could lock the account
            raise SafeStateError(f"could not turn gNB RF off: {exc}") from exc
        except (FivegbenchError, OSError, TimeoutError) as exc:
            errors.append(str(exc))
            log.warning("gnb: safe state, attempt %d: %s", attempt + 1, exc)
            continue
        if rf_on:
            raise SafeStateError("gNB still reports RF on after 'rf off'")
        if not errors:
            return "gNB RF off (read back)"
        how = (
            f"on a reopened console (attempt {attempt + 1})" if attempt else "without a resynchronised prompt"
        )
        return f"gNB RF off (read back, {how}; first problem: {errors[0]})"
    raise SafeStateError(
        f"could not turn gNB RF off, even reopening the console {GNB_REOPEN_ATTEMPTS} times: {errors[-1]}"
    )


def _resync(gnb: GnbConsole, errors: list[str]) -> bool:
    """Resynchronise the open session; False (the reason added to ``errors``) if it does not answer."""
    try:
        gnb.resync()
    except LoginRefused:
        raise
    except (FivegbenchError, OSError) as exc:
        errors.append(str(exc))
        return False
    return True


def _attenuator_to_maximum(attenuator: ScpiAttenuator) -> str:
    """The attenuator to its own maximum, read back; once more on a reopened link."""
    try:
        return f"attenuator at maximum {attenuator.to_maximum():g} dB (read back)"
    except (FivegbenchError, OSError, TimeoutError) as exc:
        first = exc
    log.warning("attenuator: safe state: %s; reopening the link", first)
    try:
        attenuator.transport.close()
        attenuator.transport.open()
        return f"attenuator at maximum {attenuator.to_maximum():g} dB (read back, after reopening: {first})"
    except (FivegbenchError, OSError, TimeoutError) as exc:
        raise SafeStateError(f"could not set the attenuator to maximum: {exc}") from exc


def _analyzer_input_to_maximum(analyzer: SweptAnalyzer) -> str:
    """The analyzer's RF input attenuation to the largest its driver declares, read back: whatever
    the gNB does next, the input mixer sees the least of it. It protects the instrument, not
    people: with RF off it cannot make the bench unsafe, so a failure is said, never raised."""
    validator: Any = type(analyzer).attenuation.validator
    top = float(validator.domain[1])
    try:
        analyzer.attenuation_auto = False
        analyzer.attenuation = top
        read = float(analyzer.attenuation)
    except (FivegbenchError, OSError, TimeoutError) as exc:
        log.warning("analyzer: safe state: input attenuation not set: %s", exc)
        return f"analyzer input attenuation NOT set to maximum ({exc})"
    if abs(read - top) > 0.5:
        return f"analyzer input attenuation NOT at maximum: reads {read:g} dB after setting {top:g} dB"
    return f"analyzer input attenuation at maximum {top:g} dB (read back)"


#: Each role's safe state, in the order it is applied: RF off first, then what protects the UE
#: path, then the analyzer's input.
SAFE_STATES: dict[str, Callable[[Any], str]] = {
    "gnb": _gnb_rf_off,
    "attenuator": _attenuator_to_maximum,
    "analyzer": _analyzer_input_to_maximum,
}
SAFETY_ROLES = tuple(SAFE_STATES)


def make_bench_safe(loaded: LoadedBench, iolog: IoLog) -> SafeState:
    """``fivegbench bench safe``: open each role of :data:`SAFE_STATES` the bench has, each on its
    own, and apply the safe state. A role that cannot be reached is not confirmed.

    It is an emergency command: a run holding the bench's locks does not stop it (it is named,
    and then finds RF off at its next read-back and books that measurement as ERROR)."""
    instruments = Instruments()
    unreached: dict[str, str] = {}
    with ExitStack() as stack:
        opener = Opener(loaded, iolog, stack, instruments)
        for role in SAFETY_ROLES:
            if role in loaded.bench.instruments:
                _say_holder(role, loaded.bench.instruments[role].resource)
                try:
                    opener.open(role)
                except (FivegbenchError, OSError) as exc:
                    unreached[role] = str(exc)
        return apply_safe_state(instruments, unreached)
