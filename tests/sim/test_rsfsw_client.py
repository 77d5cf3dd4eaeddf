"""R&S's own Python driver (``RsFsw``, MIT, a dev dependency) drives ``fivegbench sim serve``'s FSW
through a typical script: the closest thing to a real FSW these machines have. RsFsw checks the
error queue after every command, so each step also proves the simulator accepted it."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import pytest
import RsFsw  # a dev dependency (pyproject.toml): R&S's driver, MIT

from fivegbench.sim.analyzer import SimFsw
from fivegbench.sim.scpi import ScpiServer
from fivegbench.sim.world import World
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


@pytest.fixture
def fsw_on_a_carrier() -> Iterator[object]:
    """RsFsw on an in-process simulated FSW whose world has a 37 dBm carrier through 40 dB."""
    world = World()
    world.gnb.rf_on = True
    world.gnb.tx_power_dbm = 37.0
    world.path_loss_db = 40.0
    server = ScpiServer(SimFsw(world))
    server.start()
    try:
        driver = RsFsw.RsFsw(server.resource, id_query=True, reset=True, options="SelectVisa='@py'")
        try:
            yield driver
        finally:
            driver.close()
    finally:
        server.stop()


def test_rsfsw_drives_an_iq_capture_and_autolevel(fsw_on_a_carrier) -> None:
    """The I/Q commands through R&S's own driver (its I/Q Analyzer group: the same SCPI headers as
    the Spectrum application's simple I/Q mode); RsFsw checks the error queue after each."""
    fsw = fsw_on_a_carrier
    iq = fsw.applications.iqAnalyzer.trace.iq
    fsw.sense.frequency.center.set(CENTER_HZ)
    fsw.initiate.continuous.set(False)
    fsw.sense.adjust.level.set()  # SENSe:ADJust:LEVel with *OPC
    level = fsw.display.window.trace.y.scale.refLevel.get()
    assert -3.0 + 8.0 <= level <= -3.0 + 14.0  # the carrier's peak: 8-14 dB above its -3 dBm mean
    iq.state.set(True)
    iq.symbolRate.set(10_000_000)  # TRACe:IQ:SRATe
    iq.rlength.set(10000)  # 1 ms: DL symbols in any TDD position
    iq.data.formatPy.set(RsFsw.enums.IqResultDataFormat.IQPair)
    assert (iq.state.get(), iq.symbolRate.get(), iq.rlength.get()) == (True, 10_000_000, 10000)
    fsw.initiate.immediate_with_opc(20000)
    values = np.array(fsw.trace.iq.data.memory.get(0, 10000))  # FORMAT REAL,32;TRAC:IQ:DATA:MEM? 0,10000
    assert values.shape == (20000,)
    samples = values[0::2] + 1j * values[1::2]
    power_dbm = 10 * np.log10(np.mean(np.abs(samples) ** 2) / 50) + 30
    # 10 MS/s at the centre of a 98.28 MHz carrier: 10/98.28 of it, for the 36-100 % of the
    # millisecond that DL symbols last (DDDSU: at most 0.64 ms without)
    assert -3.0 + 10 * np.log10(10e6 / 98.28e6) - 6.0 < power_dbm < -3.0 + 10 * np.log10(10e6 / 98.28e6) + 1.0
    iq.state.set(False)
    assert fsw.utilities.query_all_errors() is None
