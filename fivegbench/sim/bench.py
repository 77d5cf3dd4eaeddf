"""Start the simulated instruments of a bench as real servers, behind one world model."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

from fivegbench.bench import LoadedBench
from fivegbench.sim.analyzer import SimFsw
from fivegbench.sim.analyzer_keysight import SimN9030B
from fivegbench.sim.attenuator import SimAttenuator
from fivegbench.sim.gnb import SimGnbConsole
from fivegbench.sim.scpi import ScpiEngine, ScpiServer
from fivegbench.sim.world import World

# bench driver name -> the simulated SCPI instrument that answers it
SCPI_PERSONALITIES: dict[str, Callable[[World, str], ScpiEngine]] = {
    "rs_fsw": SimFsw,
    "keysight_x": SimN9030B,
    "scpi_attenuator": SimAttenuator,
}


@dataclass(frozen=True)
class RunningSimBench:
    """The bench with its resource strings pointing at the running servers, and their world."""

    bench: LoadedBench
    world: World
    resources: dict[str, str]


@contextmanager
def simulated_bench(loaded: LoadedBench, console: str = "socket") -> Iterator[RunningSimBench]:
    """Start a server per role (analyzer first), yield the rewritten bench, stop them on exit.

    ``console`` is ``socket`` (``socket://127.0.0.1:PORT``) or ``pty`` (a /dev/pts path).
    """
    world = World()
    world.path_loss_db = loaded.bench.rf_path.loss_db(world.gnb.center_frequency_hz)
    resources: dict[str, str] = {}
    with ExitStack() as stack:
        for role, config in sorted(loaded.bench.instruments.items(), key=lambda kv: kv[0] != "analyzer"):
            if config.driver in SCPI_PERSONALITIES:
                engine = SCPI_PERSONALITIES[config.driver](world, config.serial or "100000")
                server = ScpiServer(engine)
                server.start()
                stack.callback(server.stop)
                resources[role] = server.resource
            elif config.driver == "gnb_console":
                options = config.options
                gnb = SimGnbConsole(
                    world,
                    transport=console,
                    user=str(options.get("user", "admin")),
                    password=str(options.get("password", "admin")),
                    serial=config.serial or "SIM-GNB-0001",
                )
                resources[role] = gnb.start()
                stack.callback(gnb.stop)
        yield RunningSimBench(loaded.with_resources(resources), world, resources)
