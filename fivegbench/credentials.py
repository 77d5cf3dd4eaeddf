"""Where a console password comes from: the environment or a file outside any repository.

A lab bench file is copied into every run folder and often into version control, so a password
written in it is refused unless the bench is simulated. Messages never contain the password.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fivegbench.safetext import control_character

SOURCES = ("password", "password_env", "password_file")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MAX_FILE_BYTES = 4096


class CredentialError(ValueError):
    """A password source that cannot be used; ``key`` is the option at fault."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


def password(options: Mapping[str, Any], bench_dir: Path, *, simulated: bool) -> str | None:
    """The console password the options point at (None when they name none).

    Raises CredentialError naming the option at fault.
    """
    given = [key for key in SOURCES if key in options]
    if len(given) > 1:
        raise CredentialError(given[1], f"give one of {', '.join(SOURCES)}, not {' and '.join(given)}")
    if not given:
        return None
    key = given[0]
    value = str(options[key])
    if key == "password":
        if not simulated:
            raise CredentialError(
                key,
                "a password written in a lab bench file is refused (the file is copied into every "
                "run folder): use password_env: VARIABLE or password_file: ~/.config/fivegbench/gnb-password",
            )
        return value
    if key == "password_env":
        if not _ENV_NAME.fullmatch(value):
            raise CredentialError(key, f"{value!r} is not an environment variable name")
        if value not in os.environ:
            raise CredentialError(key, f"environment variable {value} is not set")
        return _sendable(key, os.environ[value], f"environment variable {value}")
    return _from_file(key, value, bench_dir)


def _from_file(key: str, text: str, bench_dir: Path) -> str:
    path = Path(text).expanduser()
    if not path.is_absolute():
        path = bench_dir / path
    try:
        info = path.stat()
    except OSError as exc:
        raise CredentialError(key, f"cannot read {path}: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise CredentialError(key, f"{path} is not a regular file")
    if info.st_size > _MAX_FILE_BYTES:
        raise CredentialError(key, f"{path} is larger than {_MAX_FILE_BYTES} bytes: not a password file")
    repository = next((p for p in path.resolve().parents if (p / ".git").exists()), None)
    if repository is not None:
        raise CredentialError(key, f"{path} is inside the repository {repository}: keep passwords outside it")
    try:
        content = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CredentialError(key, f"cannot read {path}: {exc}") from None
    return _sendable(key, content.removesuffix("\n").removesuffix("\r"), str(path))


def _sendable(key: str, secret: str, source: str) -> str:
    found = control_character(secret)
    if found:
        raise CredentialError(key, f"the password in {source} contains a control character ({found})")
    return secret
