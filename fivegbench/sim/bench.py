"""Start the simulated instruments of a bench as real servers, behind one world model."""

from __future__ import annotations

import importlib
from collections.abc import Collection, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

from fivegbench.bench import LoadedBench
from fivegbench.drivers.registry import DRIVERS
from fivegbench.errors import BenchError
from fivegbench.sim.world import World


@dataclass(frozen=True)
class RunningSimBench:
    """The bench with its resource strings pointing at the running servers, and their world.
    ``unavailable`` lists roles that could not be simulated here, and why."""

    bench: LoadedBench
    world: World
    resources: dict[str, str]
    unavailable: dict[str, str]


@contextmanager
def simulated_bench(
    loaded: LoadedBench,
    console: str = "socket",
    roles: Collection[str] | None = None,
    skip_unavailable: bool = False,
) -> Iterator[RunningSimBench]:
    """Start the simulated personality of each role's driver (analyzer first), yield the
    rewritten bench, stop them on exit.

    ``roles`` limits which are started (default: all; a run starts what its plan needs, so a
    plan without traffic never builds the emulated radio link). ``console`` is ``socket``
    (``socket://127.0.0.1:PORT``) or ``pty`` (a /dev/pts path) for the instruments on a byte
    stream. A role that cannot be simulated on this machine (the link emulator needs
    CAP_NET_ADMIN) raises BenchError, or with ``skip_unavailable`` is listed in ``unavailable``.
    """
    world = World()
    world.path_loss_db = loaded.bench.rf_path.loss_db(world.gnb.center_frequency_hz)
    resources: dict[str, str] = {}
    unavailable: dict[str, str] = {}
    wanted = sorted(
        (item for item in loaded.bench.instruments.items() if roles is None or item[0] in roles),
        key=lambda kv: kv[0] != "analyzer",
    )
    with ExitStack() as stack:
        for role, config in wanted:
            module, _, function = DRIVERS[config.driver].simulator.partition(":")
            serve = getattr(importlib.import_module(module), function)
            try:
                resources[role], stop = serve(world, config, console)
            except BenchError as exc:
                if not skip_unavailable:
                    raise
                unavailable[role] = str(exc)
                continue
            stack.callback(stop)
        yield RunningSimBench(loaded.with_resources(resources), world, resources, unavailable)
