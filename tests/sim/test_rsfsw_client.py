"""R&S's own Python driver (``RsFsw``, MIT, a dev dependency) drives ``fivegbench sim serve``'s FSW
through a typical script: the closest thing to a real FSW these machines have. RsFsw checks the
error queue after every command, so each step also proves the simulator accepted it."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import pytest
import RsFsw  # a dev dependency (pyproject.toml): R&S's driver, MIT

from tests.simserve import sim_serve

CENTER_HZ = 3.75e9
SPAN_HZ = 200e6
POINTS = 1001


@pytest.fixture(scope="module")
def fsw() -> Iterator[object]:
    with sim_serve() as resources:
        driver = RsFsw.RsFsw(resources["analyzer"], id_query=True, reset=False, options="SelectVisa='@py'")
        try:
            yield driver
        finally:
            driver.close()


def test_a_typical_rsfsw_script_passes_all_17_steps(fsw) -> None:
    enums = RsFsw.enums
    seen: dict[str, object] = {}

    def trace() -> None:
        seen["trace"] = np.array(fsw.trace.data.get(enums.TraceNumber.TRACe1))

    steps: list[tuple[str, Callable[[], object]]] = [
        ("identity", lambda: seen.setdefault("idn", fsw.utilities.idn_string)),
        ("reset", fsw.utilities.reset),
        ("centre", lambda: fsw.sense.frequency.center.set(CENTER_HZ)),
        ("span", lambda: fsw.sense.frequency.span.set(SPAN_HZ)),
        ("RBW", lambda: fsw.sense.bandwidth.resolution.set(100e3)),  # SENSe:BWIDth:RESolution
        ("VBW", lambda: fsw.sense.bandwidth.video.set(1e6)),  # SENSe:BWIDth:VIDeo
        ("RMS detector", lambda: fsw.sense.window.detector.function.set(enums.DetectorB.RMS)),
        ("reference level", lambda: fsw.display.window.trace.y.scale.refLevel.set(0.0)),
        ("attenuation", lambda: fsw.inputPy.attenuation.set(20)),
        ("points", lambda: fsw.sense.sweep.points.set(POINTS)),
        ("single sweep mode", lambda: fsw.initiate.continuous.set(False)),
        ("sweep with *OPC", lambda: fsw.initiate.immediate_with_opc(20000)),
        ("trace", trace),
        ("marker peak", lambda: fsw.calculate.marker.maximum.peak.set()),  # CALC1:MARK1:MAX:PEAK
        ("marker level", lambda: seen.update(x=fsw.calculate.marker.x.get(), y=fsw.calculate.marker.y.get())),
        ("overload status", lambda: seen.update(
            condition=fsw.status.questionable.power.condition.get(),
            event=fsw.status.questionable.power.event.get(),
        )),
        ("error queue", lambda: seen.setdefault("errors", fsw.utilities.query_all_errors())),
    ]  # fmt: skip
    failed = []
    for name, step in steps:
        try:
            step()
        except Exception as error:  # report every failing step, not just the first
            failed.append(f"{name}: {error}")
    assert len(steps) == 17
    assert failed == []
    assert str(seen["idn"]).startswith("Rohde&Schwarz,FSW-26,")
    levels = seen["trace"]
    assert isinstance(levels, np.ndarray) and levels.shape == (POINTS,)
    freqs = np.linspace(CENTER_HZ - SPAN_HZ / 2, CENTER_HZ + SPAN_HZ / 2, POINTS)
    assert seen["x"] == pytest.approx(freqs[int(np.argmax(levels))], abs=1.0)
    assert seen["y"] == pytest.approx(float(np.max(levels)), abs=1e-4)
    assert (seen["condition"], seen["event"]) == ("0", "0")  # the simulated gNB is not transmitting
    assert seen["errors"] is None  # RsFsw: None when the queue holds no error
