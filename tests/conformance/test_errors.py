"""A deliberately bad command is reported as an error by the instrument, and afterwards its error
queue (or console) is clear again: errors are neither lost nor sticky."""

from __future__ import annotations

import pytest

from fivegbench.drivers.gnb.console import GnbConsole
from fivegbench.drivers.ue.modem import UeModem
from fivegbench.errors import InstrumentError
from tests.conformance.roles import for_roles


def _has_error_report(role: str, cls: type) -> bool:
    return hasattr(cls, "check_errors") or issubclass(cls, GnbConsole | UeModem)


@for_roles(_has_error_report)
def test_a_bad_command_is_reported_then_the_queue_is_clear(instruments, role):
    driver = instruments[role]
    if isinstance(driver, GnbConsole):  # the console prints its error at once (% Error: ...)
        with pytest.raises(InstrumentError) as caught:
            driver._command("show fivegbench-conformance-bogus")
        driver.cell_status()  # the next command is answered, with no error in its reply
    elif isinstance(driver, UeModem):  # ERROR or +CME ERROR as the final result code
        with pytest.raises(InstrumentError) as caught:
            driver._run([("conformance", "AT+FIVEGBENCHBOGUS")])
        driver.open()  # ... then AT answers OK again
    else:  # SCPI: an undefined header is -113 in SYST:ERR? (IEEE 488.2 / SCPI 1999 §21.8.9)
        driver.transport.write("FIVEGBENCH:CONFORMANCE:BOGUS")
        with pytest.raises(InstrumentError) as caught:
            driver.check_errors("conformance")
        assert caught.value.code == -113, caught.value
        driver.check_errors("after reading the error")
    assert caught.value.role == role and caught.value.message.strip()
