"""What the gNB and UE profile tests check alike: errors are one line, at the line of the file
that causes them, and the models refuse control characters without quoting the text."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from fivegbench.errors import PlanError

PROFILES = Path(__file__).resolve().parents[2] / "instruments" / "profiles"


def line_of(text: str, marker: str) -> int:
    """The 1-based line of the first ``marker`` in ``text`` (found here, not by the loader)."""
    assert text.count(marker) >= 1, marker
    return text.count("\n", 0, text.index(marker)) + 1


def variant(tmp_path: Path, original: str, old: str, new: str) -> tuple[Path, str]:
    """``original`` with its one ``old`` replaced by ``new``, written to ``variant.yaml``."""
    assert original.count(old) == 1, old
    text = original.replace(old, new)
    path = tmp_path / "variant.yaml"
    path.write_text(text, encoding="utf-8")
    return path, text


def one_line(exc: BaseException) -> str:
    message = str(exc)
    assert "\n" not in message and "\r" not in message and "\x1b" not in message, repr(message)
    assert "Traceback" not in message and "pydantic" not in message
    return message


def plan_error_at(
    load: Callable[[Path], Any], file: Path, text: str, marker: str, path: str, mention: str
) -> str:
    """Load ``file`` (whose text is ``text``); check that it fails with one PlanError line at the
    line of ``marker``, under the key ``path``, mentioning ``mention``. Returns the message."""
    line = line_of(text, marker)
    with pytest.raises(PlanError) as info:
        load(file)
    message = one_line(info.value)
    key = f" {path}:" if path else ""
    assert message.startswith(f"{file}:{line}:"), message
    assert f":{key} " in message, message
    assert (info.value.line, info.value.path) == (line, path), message
    assert mention in message, message
    return message


def unreadable_is_one_line(load: Callable[[Path], Any], tmp_path: Path) -> None:
    path = tmp_path / "missing.yaml"
    with pytest.raises(PlanError) as info:
        load(path)
    assert one_line(info.value) == f"{path}: cannot read: No such file or directory"


def control_character_refused(validate: Callable[[Any], Any], data: Any, where: str) -> str:
    """Validate ``data`` (built without the loader); check the one error is a control character
    at ``where`` (dotted). Returns the error's message."""
    with pytest.raises(ValidationError) as info:
        validate(data)
    (error,) = info.value.errors()
    at = (error.get("ctx") or {}).get("at", ())
    assert ".".join(str(p) for p in (*error["loc"], *at)) == where
    assert "control character" in error["msg"]
    return str(error["msg"])
