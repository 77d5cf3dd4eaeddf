"""Declarative instrument settings: one line per setting, with a validator, a unit and a doc.

``Setting`` is a descriptor on a driver class whose instances have ``transport`` (a
MessageTransport). Reading queries the instrument; assigning validates first, so a rejected
value never reaches the instrument.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Generic, TypeVar, overload

T = TypeVar("T")


def in_range(low: float, high: float) -> Callable[[float], float]:
    """A validator for a finite number within [low, high]."""

    def check(value: float) -> float:
        number = float(value)
        if not math.isfinite(number) or not low <= number <= high:
            raise ValueError(f"{value!r} is outside {low:g}..{high:g}")
        return number

    check.domain = (low, high)  # type: ignore[attr-defined]  # conformance tests pick values in it
    return check


def int_in_range(low: int, high: int) -> Callable[[int], int]:
    """A validator for an integer within [low, high]."""

    def check(value: int) -> int:
        if isinstance(value, bool) or int(value) != value or not low <= value <= high:
            raise ValueError(f"{value!r} is not an integer within {low}..{high}")
        return int(value)

    check.domain = (low, high)  # type: ignore[attr-defined]
    return check


def one_of(*choices: str) -> Callable[[str], str]:
    """A validator for one of ``choices`` (case-insensitive), returning the canonical spelling."""

    def check(value: str) -> str:
        for choice in choices:
            if str(value).upper() == choice.upper():
                return choice
        raise ValueError(f"{value!r} is not one of {', '.join(choices)}")

    check.domain = choices  # type: ignore[attr-defined]
    return check


def as_bool(value: bool) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{value!r} is not a boolean")
    return value


def scpi_bool(text: str) -> bool:
    return text.strip().upper() in ("1", "ON")


def scpi_number(value: float) -> str:
    """A number as SCPI text, exact for integers and without float noise otherwise."""
    return f"{value:.12g}"


class Setting(Generic[T]):
    """An instrument setting: ``get`` is the query, ``set`` a format string taking the value."""

    def __init__(
        self,
        get: str,
        set: str,
        doc: str,
        unit: str = "",
        validator: Callable[[Any], T] | None = None,
        parse: Callable[[str], T] | None = None,
        format: Callable[[T], str] = scpi_number,  # type: ignore[assignment]
    ) -> None:
        self.get_command = get
        self.set_command = set
        self.__doc__ = f"{doc} [{unit}]" if unit else doc
        self.unit = unit
        self.validator = validator
        self.parse: Callable[[str], Any] = parse or float
        self.format = format
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type) -> Setting[T]: ...
    @overload
    def __get__(self, instance: object, owner: type) -> T: ...
    def __get__(self, instance: object | None, owner: type) -> Setting[T] | T:
        if instance is None:
            return self
        reply = instance.transport.query(self.get_command)  # type: ignore[attr-defined]
        value: T = self.parse(reply)
        return value

    def __set__(self, instance: object, value: T) -> None:
        if self.validator is not None:
            try:
                value = self.validator(value)
            except ValueError as exc:
                raise ValueError(f"{type(instance).__name__}.{self.name}: {exc}") from None
        instance.transport.write(f"{self.set_command} {self.format(value)}")  # type: ignore[attr-defined]
