"""Traffic endpoints: the real ``iperf3`` and ``irtt`` programs run as subprocesses, and pure
parsers of their JSON. Every run goes through one seam, :mod:`.process`."""

from fivegbench.drivers.traffic.iperf3 import Iperf3, Iperf3Flow, Iperf3Result, Iperf3Settings, parse_iperf3
from fivegbench.drivers.traffic.irtt import Irtt, IrttResult, IrttSettings, parse_irtt
from fivegbench.drivers.traffic.process import Completed, LocalServer, run_tool

__all__ = [
    "Completed",
    "Iperf3",
    "Iperf3Flow",
    "Iperf3Result",
    "Iperf3Settings",
    "Irtt",
    "IrttResult",
    "IrttSettings",
    "LocalServer",
    "parse_iperf3",
    "parse_irtt",
    "run_tool",
]
