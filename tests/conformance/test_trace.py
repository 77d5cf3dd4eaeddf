"""One sweep of each analyzer returns the number of points asked for, every one finite."""

from __future__ import annotations

import numpy as np

from fivegbench.drivers.analyzer.swept import SweptAnalyzer
from tests.conformance.roles import declared_settings, for_roles
from tests.conformance.values import restore, snapshot


@for_roles(lambda role, cls: issubclass(cls, SweptAnalyzer))
def test_one_sweep_returns_the_declared_points(instruments, role):
    analyzer = instruments[role]
    before = snapshot(analyzer, declared_settings(type(analyzer)))
    try:
        # 10 MHz around 1 GHz at 100 kHz RBW: a sweep of milliseconds on any analyzer
        trace = analyzer.acquire(1e9, 10e6, 100e3, 100e3, 1001, 0.0)
        points = analyzer.sweep_points
    finally:
        left = restore(analyzer, before)
    assert trace.power_dbm.shape == (1001,)
    assert points == 1001
    assert np.isfinite(trace.power_dbm).all()
    assert not left, f"{role}: not restored: {left}"
