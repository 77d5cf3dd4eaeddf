"""Start the simulated instruments of a bench as real servers, behind one world model."""

from __future__ import annotations

import importlib
from collections.abc import Collection, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

from fivegbench.bench import LoadedBench
from fivegbench.drivers.registry import DRIVERS
from fivegbench.errors import BenchError
from fivegbench.sim.faults import Faults
from fivegbench.sim.world import World

PORT_ORDER = ("analyzer", "gnb", "attenuator", "ue")
"""Fixed ports (``sim serve --port BASE``): the role at index i listens on BASE + i whether or
not the bench has the roles before it, so a lab's scripts keep one address per instrument. The
traffic role has no port of its own (iperf3 and irtt run in the emulated link's namespaces); a
pty console has none either."""


@dataclass(frozen=True)
class RunningSimBench:
    """The bench with its resource strings pointing at the running servers, and their world.
    ``unavailable`` lists roles that could not be simulated here, and why; ``faults`` is each
    running simulator's fault injection (:mod:`fivegbench.sim.faults`)."""

    bench: LoadedBench
    world: World
    resources: dict[str, str]
    unavailable: dict[str, str]
    faults: dict[str, Faults]


@contextmanager
def simulated_bench(
    loaded: LoadedBench,
    console: str = "socket",
    roles: Collection[str] | None = None,
    skip_unavailable: bool = False,
    base_port: int | None = None,
) -> Iterator[RunningSimBench]:
    """Start the simulated personality of each role's driver (analyzer first), yield the
    rewritten bench, stop them on exit.

    ``roles`` limits which are started (default: all; a run starts what its plan needs, so a
    plan without traffic never builds the emulated radio link). ``console`` is ``socket``
    (``socket://127.0.0.1:PORT``) or ``pty`` (a /dev/pts path) for the instruments on a byte
    stream. A role that cannot be simulated on this machine (the link emulator needs
    CAP_NET_ADMIN) raises BenchError, or with ``skip_unavailable`` is listed in ``unavailable``.
    ``base_port`` gives each role a fixed port (:data:`PORT_ORDER`) instead of an ephemeral one;
    a port already in use raises BenchError.
    """
    world = World()
    world.path_loss_db = loaded.bench.rf_path.loss_db(world.gnb.center_frequency_hz)
    resources: dict[str, str] = {}
    unavailable: dict[str, str] = {}
    faults: dict[str, Faults] = {}
    wanted = sorted(
        (item for item in loaded.bench.instruments.items() if roles is None or item[0] in roles),
        key=lambda kv: kv[0] != "analyzer",
    )
    with ExitStack() as stack:
        for role, config in wanted:
            module, _, function = DRIVERS[config.driver].simulator.partition(":")
            serve = getattr(importlib.import_module(module), function)
            faults[role] = Faults()
            port = base_port + PORT_ORDER.index(role) if base_port and role in PORT_ORDER else 0
            try:
                resources[role], stop = serve(world, config, console, faults[role], port=port)
            except OSError as exc:  # only a fixed port can be taken
                why = exc.strerror or exc
                raise BenchError(f"{role}: cannot listen on 127.0.0.1:{port}: {why}") from None
            except BenchError as exc:
                if not skip_unavailable:
                    raise
                unavailable[role] = str(exc)
                del faults[role]
                continue
            stack.callback(stop)
            for n, spec in enumerate(config.faults):  # the bench file's faults, armed from the start
                try:
                    faults[role].inject(spec)
                except ValueError as exc:
                    raise BenchError(f"{loaded.file}: instruments.{role}.faults[{n}]: {exc}") from None
        yield RunningSimBench(loaded.with_resources(resources), world, resources, unavailable, faults)
