"""Where the root ``conftest.py`` keeps the bench of ``--bench`` (a LoadedBench), loaded once when
pytest starts, for the conformance tests to parametrize and connect from."""

from __future__ import annotations

from typing import Any

import pytest

BENCH_KEY = pytest.StashKey[Any]()
