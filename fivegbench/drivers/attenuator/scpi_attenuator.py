"""Generic SCPI programmable step attenuator (Keysight/Agilent J7211-style command set).

Commands: ``ATT <dB>``, ``ATT?``, ``ATT? MAX``, ``*OPC?``, ``*IDN?``, ``SYST:ERR?``. These are
the generic SCPI form; a lab's unit may spell them differently (an ``INP``/``OUTP`` root, a
channel suffix), and then this driver is what to adapt.

A setting is confirmed, not assumed: :meth:`ScpiAttenuator.set_attenuation` waits for the relays
to settle (``*OPC?``) and reads the setting back. The instrument rounds to its step (0.25 dB on
the simulated unit), so a read-back within half a step (:data:`READBACK_TOLERANCE_DB`) counts as
the value that was asked for.
"""

from __future__ import annotations

import logging
import math

from fivegbench.drivers.scpi_errors import drain_errors
from fivegbench.drivers.settings import Setting, in_range, scpi_number
from fivegbench.errors import InstrumentError
from fivegbench.transport.base import MessageTransport

log = logging.getLogger(__name__)

#: Half a 0.25 dB step (plus margin for float noise): a larger read-back difference is an error.
READBACK_TOLERANCE_DB = 0.13


class ScpiAttenuator:
    """Programmable step attenuator driver. The constructor does no I/O.

    Parameters
    ----------
    transport : the instrument link.
    role : the bench role, used in errors.
    max_db : the largest attenuation this unit accepts (dB); :meth:`set_attenuation` refuses more
        without sending anything.
    """

    attenuation = Setting("ATT?", "ATT", "Attenuation", "dB", in_range(0, 95))

    def __init__(self, transport: MessageTransport, role: str = "attenuator", max_db: float = 95.0) -> None:
        if not (math.isfinite(max_db) and max_db > 0):
            raise ValueError(f"max_db must be a positive number of dB, not {max_db!r}")
        self.transport = transport
        self.role = role
        self.max_db = max_db

    def idn(self) -> str:
        """The instrument's raw ``*IDN?`` reply."""
        return self.transport.query("*IDN?")

    def check_errors(self, context: str) -> None:
        """Drain the error queue; raise InstrumentError for the first error found."""
        drain_errors(self.transport, self.role, context)

    def set_attenuation(self, db: float) -> float:
        """Set the attenuation, wait for it to settle and confirm it by read-back.

        Returns
        -------
        float : the attenuation read back (dB), within half a step of ``db``.

        Raises
        ------
        ValueError : ``db`` is not a number within 0 … ``max_db`` (nothing is sent).
        InstrumentError : the instrument did not settle or reads back another value.
        """
        try:
            value = in_range(0, self.max_db)(db)
        except ValueError as exc:
            raise ValueError(f"{type(self).__name__}.set_attenuation: {exc}") from None
        return self._apply(value)

    def to_maximum(self) -> float:
        """Set the instrument's own maximum attenuation (the bench's safe state); return it (dB).

        The maximum is what the instrument reports (``ATT? MAX``), not ``max_db``: the safe state
        must not depend on the bench file describing the unit correctly.
        """
        maximum = self._number("ATT? MAX")
        if not math.isfinite(maximum) or maximum < 0:
            raise InstrumentError(self.role, "ATT? MAX", None, f"implausible maximum {maximum!r} dB")
        return self._apply(maximum)

    def _apply(self, db: float) -> float:
        command = f"ATT {scpi_number(db)}"
        self.transport.write(command)
        reply = self.transport.query("*OPC?")
        if reply.strip() != "1":
            raise InstrumentError(self.role, "*OPC?", None, f"unexpected reply {reply!r}")
        self.check_errors(command)  # a refused value is an error entry, not only a log line
        read_back = self._number("ATT?")
        if not abs(read_back - db) <= READBACK_TOLERANCE_DB:
            raise InstrumentError(self.role, "ATT", None, f"read back {read_back:g} dB, set {db:g} dB")
        log.debug("%s: attenuation %g dB", self.role, read_back)
        return read_back

    def _number(self, query: str) -> float:
        reply = self.transport.query(query)
        try:
            return float(reply)
        except ValueError:
            raise InstrumentError(self.role, query, None, f"unparseable reply {reply!r}") from None
