"""The simulated bench's traffic path: the radio-link model of the world (gNB carrier, TX power,
the attenuator's setting) imposed on real packets by the link emulator, so that iperf3 and irtt
between the "UE" and "core" namespaces see the modelled rate, delay and loss.

While the gNB does not transmit there is no cell: the link carries nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fivegbench.errors import BenchError
from fivegbench.sim.link import LinkEmulator, LinkModel, LinkState, available
from fivegbench.sim.radio import world_link
from fivegbench.sim.world import World

NO_CELL = (LinkState(0.0), LinkState(0.0))


def link_model(world: World) -> LinkModel:
    """The emulator's model: (downlink, uplink) from the radio link of the world now."""

    def model() -> tuple[LinkState, LinkState]:
        link = world_link(world)
        if link is None:
            return NO_CELL
        return (
            LinkState(link.dl_rate_bps, link.dl_delay_s, link.dl_loss),
            LinkState(link.ul_rate_bps, link.ul_delay_s, link.ul_loss),
        )

    return model


def serve(
    world: World, config: Any, console: str, faults: Any = None, port: int = 0
) -> tuple[str, Callable[[], None]]:
    """The simulated bench's entry point (see :mod:`fivegbench.drivers.registry`): start the
    emulated link; the resource names the UE-side namespace and the core-side server."""
    reason = available()
    if reason is not None:
        raise BenchError(f"the simulated traffic path needs the link emulator: {reason}")
    if faults is not None:  # the emulated link takes no injected faults
        faults.limit(set())
    emulator = LinkEmulator(link_model(world))
    emulator.__enter__()
    resource = f"netns:{emulator.ue_netns}?server={emulator.core_address}&server_netns={emulator.core_netns}"
    return resource, lambda: emulator.__exit__(None, None, None)
