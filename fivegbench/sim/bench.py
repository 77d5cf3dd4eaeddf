"""Start the simulated instruments of a bench as real servers, behind one world model."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

from fivegbench.bench import LoadedBench
from fivegbench.drivers.registry import DRIVERS
from fivegbench.sim.world import World


@dataclass(frozen=True)
class RunningSimBench:
    """The bench with its resource strings pointing at the running servers, and their world."""

    bench: LoadedBench
    world: World
    resources: dict[str, str]


@contextmanager
def simulated_bench(loaded: LoadedBench, console: str = "socket") -> Iterator[RunningSimBench]:
    """Start the simulated personality of every role's driver (analyzer first), yield the
    rewritten bench, stop them on exit.

    ``console`` is ``socket`` (``socket://127.0.0.1:PORT``) or ``pty`` (a /dev/pts path) for
    the instruments on a byte stream.
    """
    world = World()
    world.path_loss_db = loaded.bench.rf_path.loss_db(world.gnb.center_frequency_hz)
    resources: dict[str, str] = {}
    with ExitStack() as stack:
        for role, config in sorted(loaded.bench.instruments.items(), key=lambda kv: kv[0] != "analyzer"):
            module, _, function = DRIVERS[config.driver].simulator.partition(":")
            serve = getattr(importlib.import_module(module), function)
            resources[role], stop = serve(world, config, console)
            stack.callback(stop)
        yield RunningSimBench(loaded.with_resources(resources), world, resources)
