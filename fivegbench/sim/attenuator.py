"""Simulated programmable step attenuator in the UE/traffic path.

Built on :class:`fivegbench.sim.scpi.ScpiEngine`. Serve it with
``ScpiServer(SimAttenuator(world)).start()`` and talk to it through
``TCPIP::127.0.0.1::<port>::SOCKET``.

The command set is the generic SCPI form of a programmable attenuator, modelled on the
Keysight/Agilent J7211-style set (``ATTenuation <dB>`` / ``ATTenuation?``). The names are the
generic form: a lab's unit may spell them differently (an ``INPut`` or ``OUTPut`` root, a channel
suffix, ``:LEVel``), in which case its driver, not this model, is what changes.

Behaviour:

* ``*IDN?``: ``fivegbench,SIM-ATT-95,<serial>,1.0``.
* ``[INPut:]ATTenuation <dB>``: 0 … ``max_db`` (``MIN``/``MAX`` accepted, a ``dB`` suffix too);
  -222 Data out of range outside it. The value is rounded to the nearest ``step_db`` (ties go
  up, towards more attenuation).
* ``[INPut:]ATTenuation?`` answers the programmed setting in NR3; ``ATTenuation? MAX`` / ``MIN``
  answer the range ends.
* A setting reaches the RF path (``world.attenuation_db``, under ``world.lock``) only after the
  relays settle: an overlapped operation of :data:`SETTLE_S` (20 ms), so ``*OPC?`` / ``*WAI``
  wait for it. The query reports the programmed value at once, like a real unit.
* ``*RST``: maximum attenuation (a safe preset), settling like any other setting. A setting
  still settling when ``*RST`` arrives is abandoned.
* At construction the programmed setting is the world's current ``attenuation_db`` (the world is
  the physical truth; the attenuator does not change it until it is told to).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any

from fivegbench.sim.faults import Faults
from fivegbench.sim.scpi import (
    Context,
    Response,
    ScpiEngine,
    format_nr3,
    parse_enum,
    parse_numeric,
    serve_engine,
)
from fivegbench.sim.world import World

log = logging.getLogger(__name__)

SETTLE_S = 0.020  # relay settle time after a change (overlapped operation)


def snap_to_step(value_db: float, step_db: float) -> float:
    """``value_db`` rounded to the nearest multiple of ``step_db``; ties round up."""
    return math.floor(value_db / step_db + 0.5) * step_db


class SimAttenuator(ScpiEngine):
    """Simulated SCPI programmable step attenuator on the shared :class:`World`.

    Parameters
    ----------
    world : the physical world; the attenuator sets ``world.attenuation_db``.
    serial : serial number in ``*IDN?``.
    max_db : the largest attenuation (dB); the range is 0 … ``max_db``.
    step_db : the step size (dB); settings are rounded to it.
    """

    def __init__(
        self, world: World, serial: str = "SIM-ATT-0001", max_db: float = 95.0, step_db: float = 0.25
    ) -> None:
        super().__init__(idn=f"fivegbench,SIM-ATT-95,{serial},1.0")
        if not (math.isfinite(max_db) and max_db > 0 and math.isfinite(step_db) and step_db > 0):
            raise ValueError(f"bad attenuator range: max_db={max_db!r}, step_db={step_db!r}")
        self.world = world
        self.max_db = max_db
        self.step_db = step_db
        with world.lock:
            self.setting_db = world.attenuation_db
        self.command("[INPut:]ATTenuation", self._attenuation, args=(1, 1), query_args=(0, 1))

    # -- state -----------------------------------------------------------------------------
    def preset(self) -> None:
        """``*RST``: maximum attenuation (safe), settling like any setting."""
        self._apply(self.max_db)

    def _apply(self, value_db: float) -> None:
        """Program ``value_db``; it reaches the world when the relays have settled (lock held)."""
        self.setting_db = value_db

        def settled() -> None:
            with self.world.lock:
                self.world.attenuation_db = value_db
            log.debug("attenuation settled at %g dB", value_db)

        self.start_operation(SETTLE_S, settled, name="settle")

    # -- handlers --------------------------------------------------------------------------
    def _attenuation(self, ctx: Context) -> Response:
        if ctx.is_query:
            if not ctx.params:
                return format_nr3(self.setting_db)
            end = parse_enum(ctx.params[0], ("MINimum", "MAXimum"))
            return format_nr3(self.max_db if end == "MAX" else 0.0)
        value = parse_numeric(ctx.params[0], "DB", minimum=0.0, maximum=self.max_db)
        self._apply(min(snap_to_step(value, self.step_db), self.max_db))
        return None


def serve(
    world: World, config: Any, console: str, faults: Faults | None = None, port: int = 0
) -> tuple[str, Callable[[], None]]:
    """The simulated bench's entry point (see :mod:`fivegbench.drivers.registry`)."""
    attenuator = SimAttenuator(world, config.serial or "SIM-ATT-0001")
    return serve_engine(attenuator, faults, block_faults=False, port=port)
