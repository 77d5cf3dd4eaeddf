"""What a bench's ``resource`` string may be, per link, checked when the bench is loaded.

A resource reaches pyvisa, pyserial or the traffic tools as it is written, so anything they would
read as a second command (``;*RST``), a space, or an interface fivegbench cannot serve is refused
before anything is opened, with a hint.

    visa     TCPIP[n]::host::port::SOCKET        raw socket (SCPI over TCP, port 5025 usually)
             TCPIP[n]::host[::name]::INSTR      VXI-11 or HiSLIP (name: inst0, hislip0)
    serial   socket://host:port                 a terminal server's raw TCP port
             rfc2217://host:port                a terminal server speaking RFC 2217
             /dev/...  or  COMn                 a local serial port
    process  local[?...]  or  netns:NAME[?...]  see fivegbench.drivers.traffic.endpoints
"""

from __future__ import annotations

import importlib.util
import ipaddress
import re

from fivegbench.drivers.traffic.endpoints import parse_resource as parse_traffic_resource

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"(?=.{{1,253}}\Z){_LABEL}(?:\.{_LABEL})*")
_VISA_SOCKET = re.compile(r"TCPIP\d*::([^:]+)::(\d{1,5})::SOCKET", re.IGNORECASE)
_VISA_INSTR = re.compile(r"TCPIP\d*::([^:]+)(?:::([A-Za-z0-9_,]+))?::INSTR", re.IGNORECASE)
_URL = re.compile(r"(socket|rfc2217)://(\[[0-9A-Fa-f:.]+\]|[^:/\[\]]+):(\d{1,5})")
_DEVICE = re.compile(r"/dev/[A-Za-z0-9_./:+-]+|COM\d{1,3}")

# VISA interfaces pyvisa-py serves only with an extra package, which fivegbench does not install.
_NEEDS_PACKAGE = {
    "GPIB": ("gpib_ctypes", "gpib-ctypes"),
    "USB": ("usb", "pyusb"),
    "ASRL": ("serial", "pyserial"),
}


def _host(text: str) -> bool:
    try:
        ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return bool(_HOSTNAME.fullmatch(text))
    return True


def _port(text: str, allow_zero: bool) -> bool:
    return (0 if allow_zero else 1) <= int(text) <= 65535


def check(resource: str, link: str, *, simulated: bool = False) -> None:
    """Raise ValueError (one line, with a hint) unless ``resource`` is a resource ``link`` serves.

    ``simulated``: port 0 is allowed (the simulated bench replaces it with the port it got).
    """
    if resource != resource.strip() or " " in resource:
        raise ValueError(f"{resource!r} contains a space (a resource is one word)")
    if link == "visa":
        _check_visa(resource, simulated)
    elif link == "serial":
        _check_serial(resource, simulated)
    elif link == "process":
        parse_traffic_resource(resource)
    else:  # a DriverSpec with a new link kind must add its syntax here
        raise ValueError(f"no resource syntax is known for link {link!r}")


def _check_visa(resource: str, simulated: bool) -> None:
    socket = _VISA_SOCKET.fullmatch(resource)
    instr = _VISA_INSTR.fullmatch(resource)
    if socket and _host(socket[1]) and _port(socket[2], simulated):
        return
    if instr and _host(instr[1]):
        return
    interface = re.match(r"[A-Za-z]+", resource)
    name = interface[0].upper() if interface else ""
    if name in _NEEDS_PACKAGE:
        module, package = _NEEDS_PACKAGE[name]
        if importlib.util.find_spec(module) is None:
            raise ValueError(
                f"{resource!r}: pyvisa-py serves {name} only with the {package} package, which is not "
                "installed; reach the instrument over LAN (TCPIP::host::5025::SOCKET) or a LAN gateway"
            )
        return
    raise ValueError(
        f"{resource!r} is not a VISA resource fivegbench can open "
        "(expected TCPIP::host::port::SOCKET or TCPIP::host::inst0::INSTR)"
    )


def _check_serial(resource: str, simulated: bool) -> None:
    url = _URL.fullmatch(resource)
    if url and _host(url[2]) and _port(url[3], simulated):
        return
    if _DEVICE.fullmatch(resource):
        return
    raise ValueError(
        f"{resource!r} is not a serial resource fivegbench can open "
        "(expected socket://host:port, rfc2217://host:port, /dev/ttyUSB0 or COM3)"
    )
