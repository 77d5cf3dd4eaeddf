"""The row blocks the EVM reduction hands to its threads (fivegbench.reduce.ofdm_sync)."""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from fivegbench.reduce.ofdm_sync import SharedRows, in_parallel


@pytest.mark.parametrize(("n_rows", "size"), [(280, 32), (5, 48), (1, 1), (0, 8), (97, 7)])
def test_every_row_is_worked_on_exactly_once_across_threads(n_rows: int, size: int) -> None:
    seen: list[int] = []
    lock = threading.Lock()

    def work(rows: slice) -> None:
        assert 0 < rows.stop - rows.start <= size
        with lock:
            seen.extend(range(rows.start, rows.stop))

    with ThreadPoolExecutor(1) as pool:
        in_parallel(work, n_rows, size, pool)
    assert sorted(seen) == list(range(n_rows))


def test_a_late_thread_takes_only_what_is_left() -> None:
    rows = SharedRows(10, 4)
    taken: list[slice] = []
    rows.run(taken.append)
    rows.run(taken.append)  # a second thread arriving after the first finished
    assert taken == [slice(0, 4), slice(4, 8), slice(8, 10)]


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="one core: in_parallel runs no helper")
def test_an_error_in_the_helper_reaches_the_caller() -> None:
    def work(rows: slice) -> None:
        if threading.current_thread() is not threading.main_thread():
            raise RuntimeError("helper failed")
        time.sleep(0.001)  # enough blocks, slowly enough, that the helper surely takes one

    with ThreadPoolExecutor(1) as pool, pytest.raises(RuntimeError, match="helper failed"):
        in_parallel(work, 200, 1, pool)
