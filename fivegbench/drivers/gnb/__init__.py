"""gNB drivers: the console driver, adapted to a vendor's CLI by a profile (data, not code)."""

from fivegbench.drivers.gnb.console import CellStatus, GnbConsole
from fivegbench.drivers.gnb.profile import GnbProfile, load_profile

__all__ = ["CellStatus", "GnbConsole", "GnbProfile", "load_profile"]
