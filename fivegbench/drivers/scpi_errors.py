"""Draining a SCPI error queue (``SYST:ERR?``) into an :class:`InstrumentError`.

Shared by the SCPI drivers: accepts both the R&S (``0,"No error"``) and the Keysight
(``+0,"No error"``) spelling of the empty-queue reply.
"""

from __future__ import annotations

import re

from fivegbench.errors import InstrumentError
from fivegbench.transport.base import MessageTransport

_ERROR = re.compile(r'^\s*([+-]?\d+)\s*,\s*"(.*)"\s*$')

#: An instrument queue holds a handful of entries; never loop forever on a broken one.
MAX_ERRORS = 32


def drain_errors(transport: MessageTransport, role: str, context: str) -> None:
    """Read ``SYST:ERR?`` until the queue is empty; raise for the first error found.

    Parameters
    ----------
    transport : the instrument link.
    role : the bench role, for the error message.
    context : what was being done (``"configure sweep"``), reported as the error's command.

    Raises
    ------
    InstrumentError : with the first error's code and text (``(+N more)`` if there were more),
        or with code None if a reply is not an error-queue entry.
    """
    errors: list[tuple[int, str]] = []
    for _ in range(MAX_ERRORS):
        reply = transport.query("SYST:ERR?")
        match = _ERROR.match(reply)
        if match is None:
            raise InstrumentError(role, "SYST:ERR?", None, f"unparseable error reply {reply!r}")
        code = int(match.group(1))
        if code == 0:
            break
        errors.append((code, match.group(2)))
    if errors:
        code, text = errors[0]
        more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
        raise InstrumentError(role, context, code, text + more)
