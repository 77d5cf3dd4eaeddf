"""Which roles of a bench a conformance test applies to, decided from the driver each role
names: a test declares it with :func:`for_roles`, and ``conftest.py`` parametrizes it over the
roles (or, for ``setting``, the declared settings) of the ``--bench`` that qualify."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fivegbench.bench import LoadedBench
from fivegbench.drivers.registry import DRIVERS
from fivegbench.drivers.settings import Setting

Applies = Callable[[str, type], bool]
"""``applies(role, driver_class)``: whether a test runs for that role."""


def for_roles(applies: Applies) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a test (taking ``role``) as applying to the roles for which ``applies`` is true."""

    def mark(test: Callable[..., Any]) -> Callable[..., Any]:
        test.applies = applies  # type: ignore[attr-defined]
        return test

    return mark


def driver_class(loaded: LoadedBench, role: str) -> type:
    """The class of the role's driver, from building it without a link (constructors do no I/O)."""
    config = loaded.bench.instruments[role]
    return type(DRIVERS[config.driver].build(None, config, loaded.profiles.get(role)))


def declared_settings(cls: type) -> list[str]:
    """The names of the class's :class:`Setting` descriptors, in declaration order."""
    names: dict[str, None] = {}
    for klass in reversed(cls.__mro__):
        names.update({name: None for name, value in vars(klass).items() if isinstance(value, Setting)})
    return list(names)
