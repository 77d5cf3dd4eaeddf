"""Control characters in text a user wrote.

A CR or LF smuggled into a console line is a second command (``admin\\r\\nrf on`` logs in and
then switches RF on), and an ESC sequence in a step name rewrites the operator's terminal. Text
that reaches an instrument may hold no control character at all; text that is only displayed
or stored may hold the line breaks and tabs a YAML block scalar produces.
"""

from __future__ import annotations

import unicodedata

#: Unicode categories refused: C0/C1 controls and DEL (Cc), lone surrogates (Cs), and the line
#: and paragraph separators (Zl, Zp) that some terminals and consoles treat as line breaks.
CONTROL_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})

_NAMES = {"\r": "CR", "\n": "LF", "\t": "TAB", "\x1b": "ESC", "\x00": "NUL", "\x7f": "DEL"}

#: What a displayed or stored text may contain besides printable characters.
TEXT_WHITESPACE = "\t\n\r"


def control_character(text: str, allow: str = "") -> str | None:
    """The first control character of ``text`` not in ``allow``, described for an error message
    (``"CR (U+000D) at position 6"``); None when there is none."""
    for position, char in enumerate(text):
        if char not in allow and unicodedata.category(char) in CONTROL_CATEGORIES:
            name = _NAMES.get(char)
            code = f"U+{ord(char):04X}"
            return (
                f"{name} ({code}) at position {position + 1}"
                if name
                else f"{code} at position {position + 1}"
            )
    return None
