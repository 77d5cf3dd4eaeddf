"""The RF interlock of the conformance tests: the gNB console's link refuses to send the
profile's ``rf on`` line unless it was opened (by the ``rf`` fixture, given only with
``--allow-rf``). Whatever path a test takes to the console, RF cannot be switched on by mistake."""

from __future__ import annotations

from typing import Any


class RfNotAllowed(RuntimeError):
    """A test tried to switch the gNB's RF on without holding the ``rf`` fixture."""


class RfInterlock:
    """The gNB console's link, refusing to send its ``rf on`` line while closed."""

    def __init__(self, transport: Any, rf_on_line: str) -> None:
        self._transport = transport
        self._rf_on = _words(rf_on_line)
        self.rf_allowed = False

    def send_line(self, text: str) -> None:
        if _words(text) == self._rf_on and not self.rf_allowed:
            raise RfNotAllowed(f"refused to send {text!r}: RF on needs --allow-rf and the rf fixture")
        self._transport.send_line(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def _words(line: str) -> str:
    return " ".join(line.split()).lower()
