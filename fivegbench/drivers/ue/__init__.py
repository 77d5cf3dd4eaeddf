"""UE drivers: a 5G modem speaking AT commands, adapted to a vendor's dialect by a profile (data,
not code)."""

from fivegbench.drivers.ue.modem import UeModem, UeReading
from fivegbench.drivers.ue.profile import UeProfile, load_ue_profile

__all__ = ["UeModem", "UeProfile", "UeReading", "load_ue_profile"]
