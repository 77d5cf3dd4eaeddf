"""Mini-Circuits programmable attenuators (RCDAT, RUDAT, RC4DAT) over Ethernet, Telnet dialect.

The unit is not a SCPI instrument, although its commands look a bit like SCPI. It answers on Telnet
port 23, one command per line. Over VISA that is ``TCPIP::<host>::23::SOCKET`` with a
:class:`~fivegbench.transport.visa.VisaTransport` whose terminations are ``"\\r\\n"`` both ways.
There is also an HTTP form (``GET /:SETATT=25.75``), which this driver does not use.

Command set (what is sent -> the reply)
---------------------------------------
* ``:MN?`` -> ``MN=RCDAT-6000-110``: the model; its last ``-`` field is the maximum attenuation
  in dB.
* ``:SN?`` -> ``SN=12345678901``: the serial number.
* ``:SETATT=<dB>`` -> ``1`` done, ``0`` failed, ``2`` above the maximum (the unit set its maximum
  instead). Single-channel form.
* ``:ATT?`` -> ``25.75``: the setting. A multi-channel unit answers every channel on one line.
* ``:CHAN:<n>:SETATT:<dB>`` -> as ``:SETATT``, for channel n (1-based).
* ``:CHAN:<n>:ATT?`` -> ``25.75``: channel n's setting.

There is no ``*IDN?``, no ``*OPC?`` and no error queue. The unit sends no reply to ``*IDN?`` or
``*OPC?``, so a client waiting for one times out. The reply to the set command is the only
status, and the read-back is the only confirmation.

Sources (public code that drives real units; all of it cites the vendor's programming manual,
``Prog_Manual-6-Programmable_Attenuator.pdf``, which was not available here):

* The issue behind this driver: port 23, CR LF, the ``1``/``0``/``2`` replies, the ``MN=``/``SN=``
  formats, ``*IDN?``/``*OPC?`` unanswered, 0.25 dB steps.
* google/mobly ``mobly/controllers/attenuator_lib/minicircuits.py`` and
  ``telnet_scpi_client.py``: Telnet on port 23 with ``"\\r\\n"`` both ways. They send ``MN?`` and
  take the maximum from the text after the last ``-``. They send ``CHAN:<n>:SETATT:<dB>`` and
  ``CHAN:<n>:ATT?``, also to single-channel units.
* Android ACTS ``acts.controllers.attenuator_lib`` (Mini-Circuits Telnet and HTTP classes): the
  same commands, and ``:ATT?`` for single-channel units. An older revision read replies up to
  ``"\\n\\r"``, a newer one up to ``"\\r\\n"``. The HTTP class requires the reply ``1`` to
  ``CHAN:<n>:SETATT:<dB>``.
* QCoDeS, Mini-Circuits RUDAT-13G-90 driver: ``:MN?``, ``:SN?``, ``:SETATT={}``, ``:ATT?``.
* A public HTTP driver (its repository is not named in the index) reads reply ``0`` to
  ``:SETATT=`` as "Command to set Attenuation Failed" and reply ``2`` as "Requested attenuation
  was higher than the allowed range, the attenuation was set to the device's maximum".
* Two RC4DAT Telnet clients, ``MC_RC4DAT6G95_Prog_Atten`` and Meta's ``RC4DAT``:
  ``:CHAN:<n>:SETATT:<dB>``, ``:ATT?`` answering all four channels on one line, and
  ``MN=RC4DAT-6G-95``.

Not verified ([U])
------------------
* The channel form with ``=`` (``:CHAN:<n>:SETATT=<dB>``), which the issue quotes. Every public
  client found uses ``:``, so this driver sends ``:CHAN:<n>:SETATT:<dB>`` (one constant,
  :data:`SET_CHANNEL`).
* How the unit treats a value between steps: rounding or truncation is unknown. This driver
  therefore sends only exact multiples of 0.25 dB and refuses anything else (see
  :meth:`MiniCircuitsAttenuator.set_attenuation`).
* The number format of ``:ATT?`` (``25.75``; is 10 dB ``10`` or ``10.00``?). Any float is
  accepted.
* Case-insensitivity and an optional leading ``:``. Public clients send ``ATT?``, ``:ATT?``,
  ``Firmware?`` and ``:SetAttPerChan``; this driver always sends the documented upper-case forms
  with ``:``.
* The reply terminator. The issue and the newer clients say CR LF; an older ACTS revision and a
  QCoDeS RCDAT-6000-60 driver read up to LF CR. Replies are stripped of white space here, so a
  stray CR cannot fail a comparison. pyvisa would still warn that the termination is missing.
* Telnet option negotiation (``IAC`` bytes) when a client connects. The mobly test server sends
  it because "a real device may emit" it. Over a raw socket those bytes would arrive before the
  first reply, and that reply would then fail loudly: 0xFF does not decode as ASCII, and the
  ``MN=``/``SN=`` and ``1``/``0``/``2`` checks are strict.
"""

from __future__ import annotations

import logging
import math
import numbers
import re

from fivegbench.drivers.settings import int_in_range, scpi_number
from fivegbench.errors import InstrumentError
from fivegbench.transport.base import MessageTransport

log = logging.getLogger(__name__)

#: Attenuation step of the RCDAT/RUDAT/RC4DAT families (dB).
STEP_DB = 0.25
#: A read-back further than half a step from the setting is another setting.
READBACK_TOLERANCE_DB = STEP_DB / 2
#: How far (dB) a requested value may be from a step and still count as that step (float noise).
STEP_NOISE_DB = 1e-9
#: The largest channel number of the family (RC8DAT).
MAX_CHANNEL = 8
#: A model maximum above this is a misread model name (``RCDAT-6000`` would give 6000 dB).
PLAUSIBLE_MAX_DB = 200.0

# -- the command set: the only place the dialect is spelled ------------------------------------
MODEL_QUERY = ":MN?"
SERIAL_QUERY = ":SN?"
SET_SINGLE = ":SETATT={value}"
READ_SINGLE = ":ATT?"
SET_CHANNEL = ":CHAN:{channel}:SETATT:{value}"
READ_CHANNEL = ":CHAN:{channel}:ATT?"

#: What a reply other than ``1`` to a set command means.
SET_FAILURES = {
    "0": "the attenuator refused the setting (reply 0: command failed)",
    "2": "above the unit's maximum: the unit set its maximum instead (reply 2)",
}

_MODEL = re.compile(r"MN=(?P<model>\S+-(?P<max>\d+(?:\.\d+)?))")
_SERIAL = re.compile(r"SN=(?P<serial>\S+)")


class MiniCircuitsAttenuator:
    """Mini-Circuits RCDAT/RUDAT/RC4DAT programmable attenuator. The constructor does no I/O.

    Parameters
    ----------
    transport : the link, e.g. ``VisaTransport("TCPIP::<host>::23::SOCKET", ...,
        read_termination="\\r\\n", write_termination="\\r\\n")``.
    role : the bench role, used in errors.
    channel : None for the single-channel command form (``:SETATT=``, ``:ATT?``); 1 … 8 to address
        one channel of a multi-channel unit (``:CHAN:<n>:SETATT:``, ``:CHAN:<n>:ATT?``).
    max_db : the largest attenuation the bench allows; :meth:`set_attenuation` refuses more without
        sending anything. With None, the limit is the model's own maximum, read once (``:MN?``)
        before the first setting.
    """

    def __init__(
        self,
        transport: MessageTransport,
        role: str = "attenuator",
        channel: int | None = None,
        max_db: float | None = None,
    ) -> None:
        if channel is not None:
            try:
                channel = int_in_range(1, MAX_CHANNEL)(channel)
            except (TypeError, ValueError):
                raise ValueError(
                    f"channel must be None or an integer 1..{MAX_CHANNEL}, not {channel!r}"
                ) from None
        if max_db is not None and not (_is_number(max_db) and math.isfinite(max_db) and max_db > 0):
            raise ValueError(f"max_db must be None or a positive number of dB, not {max_db!r}")
        self.transport = transport
        self.role = role
        self.channel = channel
        self.max_db = None if max_db is None else float(max_db)
        self._model_max_db: float | None = None  # from :MN?; the limit when max_db is None

    # -- identity ----------------------------------------------------------------------------
    def idn(self) -> str:
        """An identity built from ``:MN?`` and ``:SN?``: ``Mini-Circuits,<model>,SN <serial>``.

        The unit has no ``*IDN?`` (it would not answer). Raises InstrumentError if either reply
        lacks its ``MN=``/``SN=`` prefix: the link is out of step or this is another device.
        """
        model = self._query_model().group("model")
        reply = self.transport.query(SERIAL_QUERY).strip()
        match = _SERIAL.fullmatch(reply)
        if match is None:
            raise InstrumentError(self.role, SERIAL_QUERY, None, f"unexpected reply {reply!r}")
        return f"Mini-Circuits,{model},SN {match.group('serial')}"

    def model_max_db(self) -> float:
        """The model's maximum attenuation (dB): the last field of ``:MN?`` (``RCDAT-6000-110`` -> 110).

        Always asks the instrument.
        """
        maximum = float(self._query_model().group("max"))
        if not (math.isfinite(maximum) and 0 < maximum <= PLAUSIBLE_MAX_DB):
            raise InstrumentError(self.role, MODEL_QUERY, None, f"implausible maximum {maximum!r} dB")
        self._model_max_db = maximum
        return maximum

    # -- settings ----------------------------------------------------------------------------
    def set_attenuation(self, db: float) -> float:
        """Set the attenuation and confirm it by read-back; return the read-back (dB).

        ``db`` must be a real number, finite, within 0 … the limit (``max_db``, or the model's
        maximum when ``max_db`` is None), and a multiple of 0.25 dB. A value within
        :data:`STEP_NOISE_DB` of a step counts as that step (``sum([0.05] * 15)`` is 0.75 dB).
        Other values are refused, not rounded: how the unit itself rounds is not documented here
        ([U]), and a caller that asks for 10.1 dB should learn that the bench cannot do it.

        Raises
        ------
        ValueError : ``db`` is not acceptable. Nothing is sent, except the one ``:MN?`` that learns
            the model's maximum when ``max_db`` is None.
        InstrumentError : the unit answered ``0`` (failed), ``2`` (clipped to its maximum) or
            anything else, or read back another value.
        """
        value = self._on_step(db, "set_attenuation")
        limit = self.max_db if self.max_db is not None else self._limit_from_model()
        if value > limit:
            raise ValueError(
                f"{type(self).__name__}.set_attenuation: {db!r} dB is above the maximum {limit:g} dB"
            )
        return self._apply(value)

    def to_maximum(self) -> float:
        """Set the model's own maximum attenuation (the bench's safe state); return the read-back (dB).

        The maximum comes from ``:MN?``, asked every time, not from ``max_db``: the safe state
        must not depend on the bench file describing the unit correctly.
        """
        maximum = self.model_max_db()
        try:
            on_step = self._on_step(maximum, "to_maximum")
        except ValueError as exc:
            raise InstrumentError(self.role, MODEL_QUERY, None, str(exc)) from None
        return self._apply(on_step)

    # -- internals ---------------------------------------------------------------------------
    def _apply(self, db: float) -> float:
        value = scpi_number(db)
        if self.channel is None:
            command = SET_SINGLE.format(value=value)
            query = READ_SINGLE
        else:
            command = SET_CHANNEL.format(channel=self.channel, value=value)
            query = READ_CHANNEL.format(channel=self.channel)
        reply = self.transport.query(command).strip()
        if reply != "1":
            problem = SET_FAILURES.get(reply, f"unexpected reply {reply!r}")
            raise InstrumentError(self.role, command, None, problem)
        answer = self.transport.query(query).strip()
        try:
            read_back = float(answer)
        except ValueError:
            raise InstrumentError(self.role, query, None, f"unparseable reply {answer!r}") from None
        if not abs(read_back - db) <= READBACK_TOLERANCE_DB:
            raise InstrumentError(self.role, command, None, f"read back {read_back:g} dB, set {db:g} dB")
        log.debug("%s: attenuation %g dB", self.role, read_back)
        return read_back

    def _on_step(self, db: object, where: str) -> float:
        """``db`` as an exact multiple of :data:`STEP_DB`, or ValueError."""
        name = f"{type(self).__name__}.{where}"
        if not _is_number(db):
            raise ValueError(f"{name}: {db!r} is not a number of dB")
        number = float(db)  # type: ignore[arg-type]
        if not math.isfinite(number) or number < 0:
            raise ValueError(f"{name}: {db!r} is not a finite attenuation >= 0 dB")
        steps = round(number / STEP_DB)
        if abs(number - steps * STEP_DB) > STEP_NOISE_DB:
            raise ValueError(f"{name}: {db!r} dB is not a multiple of the {STEP_DB:g} dB step")
        return steps * STEP_DB

    def _limit_from_model(self) -> float:
        if self._model_max_db is None:
            self.model_max_db()
        assert self._model_max_db is not None
        return self._model_max_db

    def _query_model(self) -> re.Match[str]:
        reply = self.transport.query(MODEL_QUERY).strip()
        match = _MODEL.fullmatch(reply)
        if match is None:
            raise InstrumentError(self.role, MODEL_QUERY, None, f"unexpected reply {reply!r}")
        return match


def _is_number(value: object) -> bool:
    """A real number, not a bool (``True`` is not 1 dB)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)
