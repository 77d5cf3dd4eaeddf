"""NR FR1 base-station test models, TS 38.141-1 §4.9.2 [V2]: the names plans and consoles use."""

from __future__ import annotations

TEST_MODELS: tuple[str, ...] = (
    "NR-FR1-TM1.1",
    "NR-FR1-TM1.2",
    "NR-FR1-TM2",
    "NR-FR1-TM2a",
    "NR-FR1-TM3.1",
    "NR-FR1-TM3.1a",
    "NR-FR1-TM3.2",
    "NR-FR1-TM3.3",
)
