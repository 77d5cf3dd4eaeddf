"""Instrument-side SCPI engine and a threaded TCP server (instrument-comms.md §4 and §8).

The engine is what a simulated instrument is made of: a command tree in scpi-parser pattern
syntax, the IEEE 488.2 common commands, the SCPI error/event queue, the status registers
(ESR/ESE, STB/SRE) and overlapped operations for ``*OPC``/``*OPC?``/``*WAI``. The server puts
an engine on a raw TCP socket (``TCPIP::host::port::SOCKET``), framing messages by LF: a
:class:`~fivegbench.sim.lineserver.LineServer` with :class:`MessageFramer`.

Patterns
--------
``[SENSe:]FREQuency:CENTer``, ``TRACe[:DATA]?``, ``[SENSe:][WINDow#:]DETector#[:FUNCtion]``:

* each mnemonic is accepted in its short form (its leading upper-case letters) or its long form,
  case-insensitively, and nothing in between (``FREQU`` is -113 Undefined header);
* ``[...]`` is an optional node;
* ``#`` is an optional numeric suffix; a missing suffix is 1. Suffixes reach the handler in
  pattern order;
* a pattern ending in ``?`` is query-only; ``*XXX`` patterns are common commands.

Program messages
----------------
A message is split on unquoted ``;`` into program message units (quoted strings and IEEE 488.2
definite-length blocks are opaque). After ``;`` a header without a leading ``:`` is relative to
the previous command's path (``FREQ:CENT 1GHz;SPAN 10MHz`` sets ``FREQ:SPAN``); a leading ``:``
resets to the root; common commands may appear anywhere and do not change the path. A unit that
fails puts its error in the queue and is skipped; the rest of the message still executes. The
results of all queries of one message form ONE response message, joined by ``;`` and ended by
exactly one LF. A ``bytes`` result is sent as a definite-length block ``#<n><len><payload>``.

Query errors -410 / -420
------------------------
-410 (Query INTERRUPTED) and -420 (Query UNTERMINATED) are not produced. On a raw socket the
device never sees the controller's *read*: the response is pushed into the TCP stream as soon as
it exists, so the server cannot tell an unread response from a read one, and a read with nothing
pending just times out on the client (instrument-comms.md §4; only VXI-11 and HiSLIP can report
them).
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Protocol

import numpy as np

from fivegbench.sim.faults import Faults, FaultSpec
from fivegbench.sim.lineserver import LineServer

log = logging.getLogger(__name__)

# ---------------------------------------------------------------------------------------------
# Errors and status bits
# ---------------------------------------------------------------------------------------------

ERROR_TEXT: dict[int, str] = {
    0: "No error",
    -100: "Command error",
    -102: "Syntax error",
    -104: "Data type error",
    -108: "Parameter not allowed",
    -109: "Missing parameter",
    -113: "Undefined header",
    -114: "Header suffix out of range",
    -131: "Invalid suffix",
    -161: "Invalid block data",
    -200: "Execution error",
    -213: "Init ignored",
    -221: "Settings conflict",
    -222: "Data out of range",
    -223: "Too much data",
    -224: "Illegal parameter value",
    -230: "Data corrupt or stale",
    -310: "System error",
    -350: "Queue overflow",
}

ESR_OPC = 1  # operation complete
ESR_QYE = 4  # query error, -4xx
ESR_DDE = 8  # device-dependent error, -3xx and positive codes
ESR_EXE = 16  # execution error, -2xx
ESR_CME = 32  # command error, -1xx
STB_EAV = 4  # error/event queue not empty (SCPI)
STB_MAV = 16  # message available
STB_ESB = 32  # ESR & ESE != 0
STB_MSS = 64  # master summary (STB & SRE)

ERROR_QUEUE_CAPACITY = 10
#: SCPI-99 §21.8: the error/event description is at most 255 characters.
MAX_ERROR_TEXT = 255
#: The longest program message accepted (R&S and Keysight analyzers take about 1 MB, enough
#: for a long block upload). Longer ones, or a block declaring more, are -223 Too much data.
MAX_MESSAGE_BYTES = 1 << 20


class ScpiError(Exception):
    """A SCPI error a handler raises; the engine queues it as ``<code>,"<text>"``.

    Parameters
    ----------
    code : SCPI error code (negative: standard; positive: device-specific).
    text : error text; defaults to the standard text of ``code``. Extra detail is conventionally
        appended after ``;`` (``"Data out of range;SWE:POIN 50"``).
    """

    def __init__(self, code: int, text: str | None = None) -> None:
        self.code = code
        text = (text if text is not None else ERROR_TEXT.get(code, "Error")).replace('"', "'")
        self.text = text[:MAX_ERROR_TEXT]  # the detail often echoes the input, of any length
        super().__init__(self.entry)

    @property
    def entry(self) -> str:
        """The queue entry as the instrument reports it: ``-113,"Undefined header"``."""
        return f'{self.code},"{self.text}"'


def esr_bit(code: int) -> int:
    """The standard event status register bit an error of ``code`` sets (§4 table)."""
    if -199 <= code <= -100:
        return ESR_CME
    if -299 <= code <= -200:
        return ESR_EXE
    if -499 <= code <= -400:
        return ESR_QYE
    return ESR_DDE


class ErrorQueue:
    """SCPI error/event queue: FIFO, ``capacity`` entries; on overflow the last entry becomes
    ``-350,"Queue overflow"`` and further errors are dropped until there is room again."""

    def __init__(self, capacity: int = ERROR_QUEUE_CAPACITY) -> None:
        self._capacity = capacity
        self._items: deque[ScpiError] = deque()

    def push(self, error: ScpiError) -> bool:
        """Queue ``error``; returns True if the queue overflowed (a -350 entry was made)."""
        if len(self._items) < self._capacity:
            self._items.append(error)
            return False
        if self._items[-1].code != -350:
            self._items[-1] = ScpiError(-350)
            return True
        return False

    def pop(self) -> ScpiError | None:
        return self._items.popleft() if self._items else None

    def clear(self) -> None:
        self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


# ---------------------------------------------------------------------------------------------
# Parameter helpers
# ---------------------------------------------------------------------------------------------

#: Accepted unit suffixes per quantity -> multiplier to the base unit. SCPI spells mega ``MA``
#: except in ``MHZ`` (megahertz, not millihertz).
UNITS: dict[str, dict[str, float]] = {
    "HZ": {"HZ": 1.0, "KHZ": 1e3, "MHZ": 1e6, "MAHZ": 1e6, "GHZ": 1e9},
    "S": {"S": 1.0, "MS": 1e-3, "US": 1e-6, "NS": 1e-9, "PS": 1e-12},
    "DBM": {"DBM": 1.0},
    "DB": {"DB": 1.0},
}

_NUMBER = re.compile(r"([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*([A-Za-z]*)")
_MNEMONIC = re.compile(r"([A-Z]+)([a-z]*)(#?)")


def mnemonic_matches(text: str, mnemonic: str) -> bool:
    """True if ``text`` is the short or long form of ``mnemonic`` (e.g. ``APEak``), any case."""
    match = _MNEMONIC.fullmatch(mnemonic)
    if match is None:
        raise ValueError(f"bad mnemonic {mnemonic!r}")
    short, rest = match.group(1), match.group(2)
    return text.upper() in (short, (short + rest).upper())


def short_form(mnemonic: str) -> str:
    """The short form of a mnemonic: ``APEak`` -> ``APE``."""
    return "".join(ch for ch in mnemonic if ch.isupper() or ch.isdigit())


def parse_numeric(
    text: str,
    unit: str | None = None,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    default: float | None = None,
) -> float:
    """Parse SCPI numeric program data with an optional unit suffix.

    Parameters
    ----------
    text : e.g. ``3.5GHz``, ``100 kHz``, ``-10dBm``, ``1e6``, ``MIN``, ``MAXimum``, ``DEF``.
    unit : key of :data:`UNITS` (``HZ``, ``S``, ``DBM``, ``DB``) or None for a bare number.
    minimum, maximum : the accepted range (inclusive) in the base unit; also what MIN/MAX mean.
    default : what DEF means.

    Returns
    -------
    float : the value in the base unit (Hz, s, dBm, dB).

    Raises
    ------
    ScpiError : -104 not a number, -131 wrong unit, -224 MIN/MAX/DEF not defined here,
        -222 outside ``[minimum, maximum]``.
    """
    for name, value in (("MINimum", minimum), ("MAXimum", maximum), ("DEFault", default)):
        if mnemonic_matches(text, name):
            if value is None:
                raise ScpiError(-224, f"Illegal parameter value;{text}")
            return value
    match = _NUMBER.fullmatch(text.strip())
    if match is None:
        raise ScpiError(-104, f"Data type error;{text!s} is not a number")
    value = float(match.group(1))
    suffix = match.group(2).upper()
    if suffix:
        multipliers = UNITS.get(unit or "", {})
        if suffix not in multipliers:
            raise ScpiError(-131, f"Invalid suffix;{match.group(2)}")
        value *= multipliers[suffix]
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ScpiError(-222, f"Data out of range;{text}")
    return value


def parse_int(text: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """Parse integer program data (decimal numeric, rounded to the nearest integer).

    MIN/MAX mean ``minimum``/``maximum``; -222 outside them (see :func:`parse_numeric`).
    """
    lo = float(minimum) if minimum is not None else None
    hi = float(maximum) if maximum is not None else None
    return round(parse_numeric(text, None, minimum=lo, maximum=hi))


def parse_bool(text: str) -> bool:
    """Parse boolean program data: ``ON``/``OFF``/``1``/``0`` (any case). Else -224."""
    word = text.strip().upper()
    if word in ("ON", "1"):
        return True
    if word in ("OFF", "0"):
        return False
    raise ScpiError(-224, f"Illegal parameter value;{text}")


def parse_enum(text: str, choices: Sequence[str]) -> str:
    """Parse character program data against mnemonics such as ``("RMS", "APEak")``.

    Returns the SHORT form of the matching choice, upper-case (``apeak`` -> ``APE``): that is
    also what a query answers. Raises -224 for anything else.
    """
    for choice in choices:
        if mnemonic_matches(text.strip(), choice):
            return short_form(choice)
    raise ScpiError(-224, f"Illegal parameter value;{text}")


def parse_block(text: str) -> bytes:
    """Decode a definite-length block parameter ``#<n><len><payload>`` (as received, latin-1).

    Raises -161 if it is not exactly one well-formed block.
    """
    end = block_end(text, 0)
    if end is None or end != len(text) or text[1] == "0":
        raise ScpiError(-161, "Invalid block data")
    n = int(text[1])
    return text[2 + n :].encode("latin-1")


def block_end(text: str, start: int) -> int | None:
    """Index just past the definite-length block starting at ``text[start] == "#"``.

    Returns None if ``text[start:]`` is not a complete definite-length block.
    """
    if start + 1 >= len(text) or not "1" <= text[start + 1] <= "9":
        return None
    n = int(text[start + 1])
    digits = text[start + 2 : start + 2 + n]
    if len(digits) != n or not digits.isdigit():
        return None
    end = start + 2 + n + int(digits)
    return end if end <= len(text) else None


def definite_block(payload: bytes) -> bytes:
    """Frame ``payload`` as an IEEE 488.2 definite-length block ``#<n><len><payload>``."""
    length = str(len(payload))
    if len(length) > 9:
        raise ValueError("payload too large for a definite-length block (R&S would use #(len))")
    return f"#{len(length)}{length}".encode("ascii") + payload


def real32_block(values: Iterable[float] | np.ndarray, little_endian: bool) -> bytes:
    """Pack values as REAL,32 (IEEE 754 float32) block *payload*, in the given byte order.

    Return it from a handler: the engine adds the ``#<n><len>`` header and the LF.
    """
    dtype = "<f4" if little_endian else ">f4"
    return np.asarray(values, dtype=np.float64).astype(dtype).tobytes()


def format_nr3(value: float) -> str:
    """Format a number as SCPI NR3: ``3.75E+09``, ``-1E+01``; NaN as SCPI NaN ``9.91E+37``."""
    if math.isnan(value):
        return "9.91E+37"
    if math.isinf(value):
        return "9.9E+37" if value > 0 else "-9.9E+37"
    mantissa, exponent = f"{value:.12E}".split("E")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}E{exponent}"


def format_bool(value: bool) -> str:
    """Booleans query as ``1``/``0``."""
    return "1" if value else "0"


# ---------------------------------------------------------------------------------------------
# Message splitting
# ---------------------------------------------------------------------------------------------

_SPECIAL = re.compile(r"[;\"'#]")
_HEADER = re.compile(r":?[A-Za-z][A-Za-z0-9]*(?::[A-Za-z][A-Za-z0-9]*)*\??|\*[A-Za-z]+\??")


def split_units(message: str) -> list[str]:
    """Split a program message on ``;`` outside quoted strings and definite-length blocks."""
    units: list[str] = []
    start = pos = 0
    while (match := _SPECIAL.search(message, pos)) is not None:
        i = match.start()
        char = message[i]
        if char == ";":
            units.append(message[start:i])
            start = pos = i + 1
        elif char == "#":
            pos = block_end(message, i) or i + 1
        else:
            close = message.find(char, i + 1)
            pos = len(message) if close < 0 else close + 1
    units.append(message[start:])
    return units


def split_params(text: str) -> list[str]:
    """Split the parameter part of a unit on ``,`` into stripped parameters.

    Blocks are kept verbatim (their payload may hold commas, quotes, LF or whitespace); quoted
    strings keep their quotes. Raises -102 for an empty parameter, an unterminated string or
    garbage after a string/block.
    """
    params: list[str] = []
    pos, n = _skip_space(text, 0), len(text)
    if pos == n:
        return params
    while True:
        pos, param = _next_param(text, pos)
        params.append(param)
        pos = _skip_space(text, pos)
        if pos == n:
            return params
        if text[pos] != ",":
            raise ScpiError(-102, f"Syntax error;unexpected {text[pos : pos + 10]!r}")
        pos = _skip_space(text, pos + 1)
        if pos == n:
            raise ScpiError(-102, "Syntax error;missing parameter after ','")


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    return pos


def _next_param(text: str, pos: int) -> tuple[int, str]:
    """Read one parameter starting at non-space ``pos``; returns (end, parameter)."""
    char = text[pos]
    if char == "#":
        end = block_end(text, pos)
        if end is not None:
            return end, text[pos:end]
    if char in "\"'":
        end = pos + 1
        while True:
            close = text.find(char, end)
            if close < 0:
                raise ScpiError(-102, "Syntax error;unterminated string")
            if close + 1 < len(text) and text[close + 1] == char:
                end = close + 2
                continue
            return close + 1, text[pos : close + 1]
    comma = text.find(",", pos)
    end = len(text) if comma < 0 else comma
    param = text[pos:end].rstrip()
    if not param:
        raise ScpiError(-102, "Syntax error;empty parameter")
    return end, param


class Overflow(bytes):
    """What :class:`MessageFramer` gives for a message it gave up on (longer than
    :data:`MAX_MESSAGE_BYTES`, or a block declaring more): only its first bytes. The engine
    answers it with -223 Too much data."""


class MessageFramer:
    """Splits a TCP byte stream into program messages at LF.

    An LF inside a definite-length block payload (``#<n><len>...``) does not end the message;
    the payload is skipped by its declared length. An LF always ends a message otherwise, even
    inside an unterminated quoted string, so one bad string cannot swallow later messages.
    Messages are returned without the LF (a CR before it is left to the parser, which treats it
    as trailing whitespace).

    At most ``max_bytes`` are held: a longer message, or a block declaring a longer payload,
    becomes an :class:`Overflow`, and the bytes up to the next LF are discarded as they arrive
    (not held), so the connection resynchronises at the next message.
    """

    _SPECIAL = re.compile(rb"[\n\"'#]")
    _CLOSE: ClassVar[dict[int, re.Pattern[bytes]]] = {
        0x22: re.compile(rb'[\n"]'),
        0x27: re.compile(rb"[\n']"),
    }

    def __init__(self, max_bytes: int = MAX_MESSAGE_BYTES) -> None:
        self.max_bytes = max_bytes
        self._buffer = bytearray()
        self._pos = 0
        self._quote: int | None = None
        self._discarding = False  # after an overflow, until the next LF

    def feed(self, data: bytes) -> list[bytes]:
        """Add received bytes; return every message completed by them (possibly none)."""
        if self._discarding:
            lf = data.find(b"\n")
            if lf < 0:
                return []
            data, self._discarding = data[lf + 1 :], False
        self._buffer += data
        messages: list[bytes] = []
        while (message := self._next()) is not None:
            messages.append(message)
        if len(self._buffer) > self.max_bytes:
            messages.append(self._overflow())
        return messages

    def _overflow(self) -> Overflow:
        """Give up the message being framed: its head, and the rest dropped up to the next LF."""
        head = Overflow(bytes(self._buffer[:64]))
        lf = self._buffer.find(b"\n", self._pos)
        if lf >= 0:
            del self._buffer[: lf + 1]
        else:
            self._buffer.clear()
            self._discarding = True
        self._pos, self._quote = 0, None
        return head

    @property
    def pending(self) -> int:
        """Bytes buffered that do not yet form a complete message."""
        return len(self._buffer)

    def _next(self) -> bytes | None:
        buf = self._buffer
        while True:
            if self._quote is not None:
                close = self._CLOSE[self._quote].search(buf, self._pos)
                if close is None:
                    self._pos = len(buf)
                    return None
                if buf[close.start()] != 0x0A:
                    self._quote = None
                    self._pos = close.end()
                    continue
                return self._take(close.start())
            match = self._SPECIAL.search(buf, self._pos)
            if match is None:
                self._pos = len(buf)
                return None
            i, char = match.start(), buf[match.start()]
            if char == 0x0A:
                return self._take(i)
            if char == 0x23:  # '#'
                end = self._block_end(i)
                if end == -1:
                    self._pos = i
                    return self._overflow()
                if end is None:
                    self._pos = i
                    return None
                self._pos = end
                continue
            self._quote = char
            self._pos = i + 1

    def _take(self, lf: int) -> bytes:
        message = bytes(self._buffer[:lf])
        del self._buffer[: lf + 1]
        self._pos, self._quote = 0, None
        return message

    def _block_end(self, start: int) -> int | None:
        """End of the block at ``start``; ``start + 1`` if not a block; None if incomplete; -1
        if it declares more than :attr:`max_bytes`."""
        buf = self._buffer
        if start + 1 >= len(buf):
            return None
        n = buf[start + 1] - 0x30
        if not 1 <= n <= 9:
            return start + 1
        digits = bytes(buf[start + 2 : start + 2 + n])
        if digits and not digits.isdigit():
            return start + 1  # '#' followed by a digit but no length field: not a block
        if len(digits) < n:
            return None
        if int(digits) > self.max_bytes:
            return -1
        end = start + 2 + n + int(digits)
        return end if end <= len(buf) else None


# ---------------------------------------------------------------------------------------------
# Command tree
# ---------------------------------------------------------------------------------------------


@dataclass
class ScpiSession:
    """Per-connection parser state: the current header path and a cancel flag for waits."""

    path: str = ""
    cancel: threading.Event = field(default_factory=threading.Event)


@dataclass(frozen=True)
class Context:
    """What a handler receives for one program message unit.

    Attributes
    ----------
    header : the absolute header as resolved (``FREQ:SPAN``), without ``?``.
    params : parameters as text; a block parameter is its raw ``#...`` text (decode it with
        :meth:`block`).
    suffixes : numeric suffixes in pattern order, 1 where omitted.
    is_query : the unit ended in ``?``.
    session : the connection's session.
    output_pending : an earlier query of the same message already produced a response (MAV).
    """

    header: str
    params: list[str]
    suffixes: tuple[int, ...]
    is_query: bool
    session: ScpiSession
    output_pending: bool = False

    def suffix(self, index: int = 0) -> int:
        return self.suffixes[index]

    def block(self, index: int) -> bytes:
        return parse_block(self.params[index])


Response = str | bytes | None
Handler = Callable[[Context], Response]
ArgRange = tuple[int, int]


@dataclass(frozen=True)
class Command:
    """One registered command: pattern, handler and the parameter counts of each form."""

    pattern: str
    regex: re.Pattern[str]
    handler: Handler
    set_args: ArgRange | None
    query_args: ArgRange | None
    locked: bool


def _mnemonic_regex(token: str) -> str:
    match = _MNEMONIC.fullmatch(token)
    if match is None:
        raise ValueError(f"bad mnemonic {token!r} in pattern")
    short, rest, suffix = match.groups()
    forms = sorted({short, (short + rest).upper()}, key=len, reverse=True)
    return "(?:" + "|".join(forms) + ")" + (r"(\d+)?" if suffix else "")


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """Compile a scpi-parser pattern (without ``?``) into a case-insensitive regex."""
    parts: list[str] = []
    for token in re.findall(r"\[|\]|:|[^\[\]:]+", pattern.lstrip(":")):
        if token == "[":
            parts.append("(?:")
        elif token == "]":
            parts.append(")?")
        elif token == ":":
            parts.append(":")
        else:
            parts.append(_mnemonic_regex(token))
    return re.compile("".join(parts), re.IGNORECASE)


# ---------------------------------------------------------------------------------------------
# Engine
# ---------------------------------------------------------------------------------------------


def _call(cmd: Command, ctx: Context) -> Response:
    """Run a handler; an unexpected exception (a simulator bug) becomes -310, not a dead link."""
    try:
        return cmd.handler(ctx)
    except ScpiError:
        raise
    except Exception as exc:
        log.exception("handler for %s failed", ctx.header)
        raise ScpiError(-310, f"System error;{type(exc).__name__}") from exc


def _prefer_form(candidates: list[Command], is_query: bool) -> Command:
    """The first candidate that has the requested form, else the first (which will be -100)."""
    for cmd in candidates:
        if (cmd.query_args if is_query else cmd.set_args) is not None:
            return cmd
    return candidates[0]


@dataclass
class _Operation:
    deadline: float
    on_complete: Callable[[], None] | None
    name: str


class ScpiEngine:
    """A SCPI instrument: command tree, common commands, error queue, status, overlapped ops.

    Subclass it (or compose it) to make an instrument personality: register commands with
    :meth:`command` and override :meth:`preset` for ``*RST``. All handlers run with
    :attr:`lock` held (unless registered ``locked=False``), so instrument state is safe to share
    between connections.

    Parameters
    ----------
    idn : the ``*IDN?`` answer.
    options : the ``*OPT?`` answer.
    """

    def __init__(self, idn: str, options: str = "0") -> None:
        self.lock = threading.RLock()
        self.idn = idn
        self.options = options
        self.errors = ErrorQueue()
        self.esr = 0
        self.ese = 0
        self.sre = 0
        self._commands: list[Command] = []
        self._common: dict[str, Command] = {}
        self._operations: list[_Operation] = []
        self._opc_armed = False
        self._register_common()

    # -- registration ----------------------------------------------------------------------
    def command(
        self,
        pattern: str,
        handler: Handler,
        *,
        args: ArgRange | None = (1, 1),
        query_args: ArgRange | None = (0, 0),
        locked: bool = True,
    ) -> None:
        """Register ``handler`` for ``pattern``.

        Parameters
        ----------
        pattern : scpi-parser pattern; a trailing ``?`` makes it query-only; ``*XXX`` is common.
        handler : called with a :class:`Context`; returns str, bytes (sent as a block) or None.
        args : (min, max) parameter count of the set form, None if there is no set form.
        query_args : (min, max) parameter count of the query form, None if there is none.
        locked : run the handler with :attr:`lock` held (False only for handlers that wait).
        """
        query_only = pattern.endswith("?")
        body = pattern.rstrip("?")
        regex = compile_pattern(body) if not body.startswith("*") else re.compile(re.escape(body), re.I)
        cmd = Command(pattern, regex, handler, None if query_only else args, query_args, locked)
        if body.startswith("*"):
            self._common[pattern.upper()] = cmd
        else:
            self._commands.append(cmd)

    # -- execution -------------------------------------------------------------------------
    def new_session(self) -> ScpiSession:
        return ScpiSession()

    def execute(self, message: bytes | str, session: ScpiSession) -> bytes | None:
        """Execute one program message; return the response message (with LF) or None."""
        if isinstance(message, Overflow):
            with self.lock:
                self.push_error(ScpiError(-223, f"Too much data;more than {MAX_MESSAGE_BYTES} bytes"))
            return None
        text = message.decode("latin-1") if isinstance(message, bytes) else message
        session.path = ""  # every program message starts at the root
        responses: list[bytes] = []
        for unit in split_units(text):
            if not unit.strip():
                continue
            try:
                result = self._execute_unit(unit, session, bool(responses))
            except ScpiError as error:
                with self.lock:
                    self.push_error(error)
                continue
            if result is not None:
                responses.append(definite_block(result) if isinstance(result, bytes) else result.encode())
        if not responses:
            return None
        return b";".join(responses) + b"\n"

    def _execute_unit(self, unit: str, session: ScpiSession, output_pending: bool) -> Response:
        stripped = unit.lstrip()
        header = re.match(r"\S+", stripped)
        assert header is not None
        if _HEADER.fullmatch(header.group()) is None:
            raise ScpiError(-102, f"Syntax error;{header.group()}")
        is_query = header.group().endswith("?")
        name = header.group().rstrip("?")
        cmd, absolute, suffixes = self._resolve(name, is_query, session)
        params = split_params(stripped[header.end() :])
        self._check_form(cmd, is_query, len(params), absolute)
        ctx = Context(absolute, params, suffixes, is_query, session, output_pending)
        if not cmd.locked:
            return _call(cmd, ctx)
        with self.lock:
            self.reap_operations()
            return _call(cmd, ctx)

    def _resolve(
        self, name: str, is_query: bool, session: ScpiSession
    ) -> tuple[Command, str, tuple[int, ...]]:
        """Find the command for a header; prefers a registration that has the wanted form."""
        if name.startswith("*"):
            key = name.upper()
            candidates = [c for c in (self._common.get(key + "?"), self._common.get(key)) if c]
            if not candidates:
                raise ScpiError(-113, f"Undefined header;{name}")
            return _prefer_form(candidates, is_query), key, ()
        absolute = name[1:] if name.startswith(":") else session.path + name
        session.path = absolute.rsplit(":", 1)[0] + ":" if ":" in absolute else ""
        found: list[tuple[Command, tuple[int, ...]]] = []
        for cmd in self._commands:
            match = cmd.regex.fullmatch(absolute)
            if match is not None:
                found.append((cmd, tuple(int(g) if g else 1 for g in match.groups())))
        if not found:
            raise ScpiError(-113, f"Undefined header;{absolute}")
        best = _prefer_form([cmd for cmd, _ in found], is_query)
        return best, absolute, next(s for cmd, s in found if cmd is best)

    @staticmethod
    def _check_form(cmd: Command, is_query: bool, count: int, header: str) -> None:
        allowed = cmd.query_args if is_query else cmd.set_args
        if allowed is None:
            form = "query" if is_query else "setting"
            raise ScpiError(-100, f"Command error;{header} has no {form} form")
        if count < allowed[0]:
            raise ScpiError(-109, f"Missing parameter;{header}")
        if count > allowed[1]:
            raise ScpiError(-108, f"Parameter not allowed;{header}")

    # -- errors and status -----------------------------------------------------------------
    def push_error(self, error: ScpiError) -> None:
        """Queue an error and set its ESR class bit (call with :attr:`lock` held)."""
        log.debug("SCPI error %s", error.entry)
        self.esr |= esr_bit(error.code)
        if self.errors.push(error):
            self.esr |= ESR_DDE

    def next_error(self) -> str:
        error = self.errors.pop()
        return error.entry if error is not None else '0,"No error"'

    def status_byte(self, output_pending: bool = False) -> int:
        """STB: EAV (bit 2), MAV (bit 4), ESB (bit 5), MSS (bit 6)."""
        stb = (STB_EAV if len(self.errors) else 0) | (STB_MAV if output_pending else 0)
        stb |= STB_ESB if self.esr & self.ese else 0
        return stb | (STB_MSS if stb & self.sre & ~STB_MSS else 0)

    # -- overlapped operations -------------------------------------------------------------
    def start_operation(
        self, duration_s: float, on_complete: Callable[[], None] | None = None, name: str = "operation"
    ) -> None:
        """Start an overlapped operation lasting ``duration_s`` seconds (call with lock held).

        ``on_complete`` runs (with the lock held) at the first engine activity after the
        deadline: completion is evaluated lazily, which is indistinguishable from outside.
        """
        self._operations.append(_Operation(time.monotonic() + duration_s, on_complete, name))

    def operation_pending(self, name: str | None = None) -> bool:
        """True while an operation (of ``name``, if given) has not completed."""
        self.reap_operations()
        return any(name is None or op.name == name for op in self._operations)

    def reap_operations(self) -> None:
        """Complete every operation whose deadline has passed (call with lock held)."""
        now = time.monotonic()
        done = [op for op in self._operations if op.deadline <= now]
        for op in done:
            self._operations.remove(op)
            if op.on_complete is not None:
                op.on_complete()
        if self._opc_armed and not self._operations:
            self._opc_armed = False
            self.esr |= ESR_OPC

    def wait_operations(self, cancel: threading.Event) -> bool:
        """Block the calling thread (not the lock) until no operation is pending.

        Returns False if ``cancel`` was set (the connection is closing).
        """
        while True:
            with self.lock:
                self.reap_operations()
                if not self._operations:
                    return True
                remaining = max(op.deadline for op in self._operations) - time.monotonic()
            if cancel.wait(max(remaining, 0.0) + 1e-4):
                return False

    # -- common commands -------------------------------------------------------------------
    def preset(self) -> None:
        """Instrument-specific part of ``*RST``; override in a personality."""

    def _register_common(self) -> None:
        self.command("*IDN?", lambda ctx: self.idn)
        self.command("*OPT?", lambda ctx: self.options)
        self.command("*TST?", lambda ctx: "0")
        self.command("*RST", self._rst, args=(0, 0), query_args=None)
        self.command("*CLS", self._cls, args=(0, 0), query_args=None)
        self.command("*OPC", self._opc, args=(0, 0), query_args=None)
        self.command("*OPC?", self._opc_query, locked=False)
        self.command("*WAI", self._wai, args=(0, 0), query_args=None, locked=False)
        self.command("*ESR?", self._esr_query)
        self.command("*ESE", self._ese)
        self.command("*SRE", self._sre)
        self.command("*STB?", lambda ctx: str(self.status_byte(ctx.output_pending)))
        self.command("SYSTem:ERRor[:NEXT]?", lambda ctx: self.next_error())
        self.command("SYSTem:ERRor:ALL?", self._all_errors)

    def _rst(self, ctx: Context) -> None:
        self._operations.clear()
        self._opc_armed = False
        self.preset()

    def clear_status(self) -> None:
        """``*CLS``: the error queue and every event register; a personality adds its own."""
        self.errors.clear()
        self.esr = 0
        self._opc_armed = False

    def _cls(self, ctx: Context) -> None:
        self.clear_status()

    def _opc(self, ctx: Context) -> None:
        if self._operations:
            self._opc_armed = True  # ESR bit 0 is set when the last one completes (lazily)
        else:
            self.esr |= ESR_OPC

    def _opc_query(self, ctx: Context) -> str | None:
        """Runs without the lock: only this connection waits, the instrument keeps serving."""
        return "1" if self.wait_operations(ctx.session.cancel) else None

    def _wai(self, ctx: Context) -> None:
        self.wait_operations(ctx.session.cancel)

    def _esr_query(self, ctx: Context) -> str:
        value, self.esr = self.esr, 0
        return str(value)

    def _ese(self, ctx: Context) -> Response:
        if ctx.is_query:
            return str(self.ese)
        self.ese = parse_int(ctx.params[0], minimum=0, maximum=255)
        return None

    def _sre(self, ctx: Context) -> Response:
        if ctx.is_query:
            return str(self.sre)
        self.sre = parse_int(ctx.params[0], minimum=0, maximum=255) & ~STB_MSS
        return None

    def _all_errors(self, ctx: Context) -> str:
        entries: list[str] = []
        while (error := self.errors.pop()) is not None:
            entries.append(error.entry)
        return ",".join(entries) if entries else '0,"No error"'


# ---------------------------------------------------------------------------------------------
# TCP server
# ---------------------------------------------------------------------------------------------


class ScpiInstrument(Protocol):
    """What :class:`ScpiServer` needs from an instrument (a :class:`ScpiEngine` is one)."""

    def new_session(self) -> ScpiSession: ...

    def execute(self, message: bytes | str, session: ScpiSession) -> bytes | None: ...


class ScpiServer(LineServer[ScpiSession]):
    """Threaded raw-socket SCPI server (``TCPIP::127.0.0.1::<port>::SOCKET``), a
    :class:`~fivegbench.sim.lineserver.LineServer` with the SCPI framing.

    Each connection frames messages at LF (blocks by length, :class:`MessageFramer`), executes
    them on the shared instrument and writes each response message with ONE ``sendall``. Parser
    state (the header path) is per connection (a :class:`ScpiSession`, whose ``cancel`` is set
    when the connection closes or the server stops, ending a ``*OPC?`` wait); instrument state is
    shared and guarded by the instrument's lock.

    Parameters
    ----------
    instrument : the engine to serve.
    host : interface to bind (loopback by default).
    port : TCP port; 0 picks an ephemeral port (read it from :attr:`port` after :meth:`start`).
    faults : the instrument's fault injection; an engine adds ``error`` (a queued error), and
        comes back from a ``reboot`` as after ``*RST;*CLS``.
    """

    def __init__(
        self, instrument: ScpiInstrument, host: str = "127.0.0.1", port: int = 0, faults: Faults | None = None
    ) -> None:
        engine = instrument if isinstance(instrument, ScpiEngine) else None
        super().__init__(
            instrument.execute,
            instrument.new_session,
            framer=MessageFramer,
            close_session=_cancel,
            name="scpi",
            label="SCPI server",
            host=host,
            port=port,
            faults=faults,
            reset=None if engine is None else lambda: engine.execute(b"*RST;*CLS", engine.new_session()),
        )
        if engine is not None:
            self.faults.allow("error", lambda spec: _queue(engine, spec))


def _cancel(session: ScpiSession) -> None:
    session.cancel.set()


def _queue(engine: ScpiEngine, spec: FaultSpec) -> None:
    with engine.lock:
        engine.push_error(ScpiError(spec.code, spec.text))


def serve_engine(
    instrument: ScpiInstrument, faults: Faults | None = None, block_faults: bool = True, port: int = 0
) -> tuple[str, Callable[[], None]]:
    """Serve ``instrument`` on a new :class:`ScpiServer` (on ``port``, 0: an ephemeral one);
    return its resource string and stop. ``block_faults`` is False for an instrument that never
    sends a binary block."""
    server = ScpiServer(instrument, port=port, faults=faults)
    if not block_faults:
        server.faults.limit(server.faults.supported - {"truncate", "corrupt"})
    server.start()
    return server.resource, server.stop
