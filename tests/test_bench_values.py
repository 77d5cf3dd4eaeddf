"""Bench values that used to fail only at run time are refused by load_bench (so by `validate`),
one line at the key that is wrong; console passwords come from the environment or a file."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from fivegbench.bench import load_bench
from fivegbench.errors import PlanError

ROOT = Path(__file__).resolve().parent.parent
SIM = (ROOT / "instruments/benches/sim.yaml").read_text(encoding="utf-8")


def lab(text: str = SIM) -> str:
    """The simulated bench as a lab bench: fixed ports, the password in no file yet."""
    text = text.replace("simulated: true", "simulated: false")
    text = text.replace("127.0.0.1::0::SOCKET", "127.0.0.1::5025::SOCKET").replace(
        "127.0.0.1:0", "127.0.0.1:7001"
    )
    return text.replace("password: admin, ", "")


def refused(tmp_path: Path, text: str, marker: str) -> str:
    """load_bench's one-line error, checked to point at the line holding ``marker``."""
    assert text.count(marker) == 1, marker
    path = tmp_path / "bench.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PlanError) as info:
        load_bench(path)
    message = str(info.value)
    line = text.count("\n", 0, text.index(marker)) + 1
    assert message.startswith(f"{path}:{line}:") and "\n" not in message, message
    return message


# (id, old, new, marker of the error's line, what the message says)
BAD_VALUES = [
    ("timeout-without-unit", "options: {timeout: 10 s}", "options: {timeout: 10}", "timeout: 10}",
     "instruments.analyzer.options.timeout: 10 has no unit"),
    ("zero-timeout", "options: {timeout: 10 s}", "options: {timeout: 0 s}", "timeout: 0 s",
     "instruments.analyzer.options.timeout: 0 s is out of range (0.1 s to 600 s)"),
    ("negative-timeout", "options: {timeout: 10 s}", "options: {timeout: -5 s}", "timeout: -5 s",
     "instruments.analyzer.options.timeout: -5 s is out of range"),
    ("nan-timeout", "options: {timeout: 10 s}", "options: {timeout: nan s}", "timeout: nan s",
     "instruments.analyzer.options.timeout: 'nan s' is not a finite time"),
    ("unknown-option", "options: {timeout: 10 s}", "options: {timeout: 10 s, baud: 9600}", "baud: 9600",
     "instruments.analyzer.options.baud: unknown option for a rs_fsw instrument (known: timeout)"),
    ("negative-max-attenuation", "max_attenuation: 110 dB", "max_attenuation: -5 dB", "max_attenuation",
     "instruments.attenuator.limits.max_attenuation: -5 dB is out of range"),
    ("nan-max-tx-power", "max_tx_power: 47 dBm", "max_tx_power: nan dBm", "max_tx_power",
     "instruments.gnb.limits.max_tx_power: 'nan dBm' is not a finite power"),
    ("nan-loss", "loss: 40 dB", "loss: nan dB", "loss: nan", "rf_path.loss: 'nan dB' is not a finite ratio"),
    ("arithmetic-in-a-limit", "max_input_power: 30 dBm", "max_input_power: 9**9**9 dBm", "max_input_power",
     "write a number and a unit"),
    ("scpi-after-the-resource", "resource: TCPIP::127.0.0.1::0::SOCKET\n    model: R&S",
     "resource: TCPIP::127.0.0.1::0::SOCKET;*RST\n    model: R&S", "SOCKET;*RST",
     "instruments.analyzer.resource: 'TCPIP::127.0.0.1::0::SOCKET;*RST' is not a VISA resource"),
    ("space-in-the-resource", "resource: TCPIP::127.0.0.1::0::SOCKET\n    model: R&S",
     "resource: 'TCPIP::127.0.0.1::0::SOCKET *RST'\n    model: R&S", "SOCKET *RST",
     "instruments.analyzer.resource: 'TCPIP::127.0.0.1::0::SOCKET *RST' contains a space"),
    ("serial-resource-for-a-visa-driver", "resource: TCPIP::127.0.0.1::0::SOCKET\n    model: R&S",
     "resource: socket://127.0.0.1:0\n    model: R&S", "resource: socket://127.0.0.1:0\n    model: R&S",
     "is not a VISA resource fivegbench can open"),
    ("visa-resource-for-the-console", "resource: socket://127.0.0.1:0\n    profile: sim-gnb",
     "resource: TCPIP::127.0.0.1::7001::SOCKET\n    profile: sim-gnb", "7001::SOCKET",
     "instruments.gnb.resource: 'TCPIP::127.0.0.1::7001::SOCKET' is not a serial resource"),
    ("port-out-of-range", "resource: socket://127.0.0.1:0\n    profile: sim-gnb",
     "resource: socket://127.0.0.1:70000\n    profile: sim-gnb", "70000", "is not a serial resource"),
    ("bad-traffic-resource", "resource: local", "resource: 'netns:ue0?server=1.2.3.4;reboot'", "netns:ue0",
     "instruments.traffic.resource:"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "old", "new", "marker", "mention"), BAD_VALUES, ids=[c[0] for c in BAD_VALUES]
)
def test_a_value_the_run_would_trip_on_is_refused_at_its_line(tmp_path, case, old, new, marker, mention):
    assert SIM.count(old) == 1, case
    assert mention in refused(tmp_path, SIM.replace(old, new), marker)


@pytest.mark.parametrize(
    ("interface", "module"),
    [("GPIB0::20::INSTR", "gpib_ctypes"), ("USB0::0x0AAD::0x00D4::101234::INSTR", "usb")],
)
def test_a_visa_interface_pyvisa_py_cannot_serve_here_is_refused(tmp_path, interface, module):
    if importlib.util.find_spec(module) is not None:
        pytest.skip(f"{module} is installed here, so pyvisa-py can serve {interface}")
    text = SIM.replace(
        "resource: TCPIP::127.0.0.1::0::SOCKET\n    model: R&S", f"resource: {interface}\n    model: R&S"
    )
    message = refused(tmp_path, text, interface)
    assert "instruments.analyzer.resource" in message and "is not installed" in message


def test_port_zero_is_only_for_the_simulated_bench(tmp_path):
    text = lab().replace("127.0.0.1::5025::SOCKET\n    model: R&S", "127.0.0.1::0::SOCKET\n    model: R&S")
    (tmp_path / "pw").write_text("s3cret\n")
    text = text.replace(
        "options: {user: admin, ", f"options: {{user: admin, password_file: {tmp_path / 'pw'}, "
    )
    assert "is not a VISA resource" in refused(tmp_path, text, "127.0.0.1::0::SOCKET")


def test_host_names_and_vxi11_resources_are_accepted(tmp_path, monkeypatch):
    text = lab().replace(
        "TCPIP::127.0.0.1::5025::SOCKET\n    model: R&S",
        "TCPIP0::fsw-26.lab3.example::inst0::INSTR\n    model: R&S",
    )
    text = text.replace(
        "socket://127.0.0.1:7001\n    profile: sim-gnb", "rfc2217://ts1.lab3:7001\n    profile: sim-gnb"
    )
    text = text.replace(
        "options: {user: admin, ", "options: {user: admin, password_env: FIVEGBENCH_TEST_PW, "
    )
    monkeypatch.setenv("FIVEGBENCH_TEST_PW", "s3cret")
    path = tmp_path / "bench.yaml"
    path.write_text(text, encoding="utf-8")
    bench = load_bench(path).bench
    assert bench.instruments["analyzer"].resource == "TCPIP0::fsw-26.lab3.example::inst0::INSTR"
    assert bench.instruments["gnb"].resource == "rfc2217://ts1.lab3:7001"


# -- console passwords ---------------------------------------------------------------------------


def with_password(source: str) -> str:
    return lab().replace("options: {user: admin, ", f"options: {{user: admin, {source}, ")


def test_a_password_written_in_a_lab_bench_is_refused(tmp_path):
    message = refused(tmp_path, with_password("password: hunter2"), "password: hunter2")
    assert "instruments.gnb.options.password: a password written in a lab bench file is refused" in message
    assert "hunter2" not in message


def test_the_simulated_bench_may_write_its_password():
    assert load_bench(ROOT / "instruments/benches/sim.yaml").credentials == {"gnb": "admin"}


def test_a_password_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("FIVEGBENCH_TEST_PW", "hunter2")
    path = tmp_path / "bench.yaml"
    path.write_text(with_password("password_env: FIVEGBENCH_TEST_PW"), encoding="utf-8")
    loaded = load_bench(path)
    assert loaded.credentials == {"gnb": "hunter2"}
    assert "hunter2" not in repr(loaded) and "hunter2" not in loaded.text


def test_an_unset_environment_variable_is_refused_at_validate(tmp_path, monkeypatch):
    monkeypatch.delenv("FIVEGBENCH_TEST_PW", raising=False)
    text = with_password("password_env: FIVEGBENCH_TEST_PW")
    message = refused(tmp_path, text, "password_env")
    assert (
        "instruments.gnb.options.password_env: environment variable FIVEGBENCH_TEST_PW is not set" in message
    )


def test_a_password_from_a_file_outside_the_repository(tmp_path):
    secret = tmp_path / "secrets" / "gnb-password"
    secret.parent.mkdir()
    secret.write_text("hunter2\n")
    path = tmp_path / "bench.yaml"
    path.write_text(with_password(f"password_file: {secret}"), encoding="utf-8")
    assert load_bench(path).credentials == {"gnb": "hunter2"}


def test_a_password_file_inside_a_repository_is_refused(tmp_path):
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    secret = tmp_path / "repo" / "gnb-password"
    secret.write_text("hunter2\n")
    message = refused(tmp_path, with_password(f"password_file: {secret}"), "password_file:")
    assert f"inside the repository {tmp_path / 'repo'}" in message and "hunter2" not in message


def test_a_password_file_with_a_second_line_is_refused_without_showing_it(tmp_path):
    secret = tmp_path / "gnb-password"
    secret.write_text("hunter2\nrf on\n")
    message = refused(tmp_path, with_password(f"password_file: {secret}"), "password_file:")
    assert "contains a control character (LF (U+000A) at position 8)" in message and "hunter2" not in message


def test_two_password_sources_are_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("FIVEGBENCH_TEST_PW", "hunter2")
    text = with_password("password_env: FIVEGBENCH_TEST_PW, password_file: /nonexistent")
    message = refused(tmp_path, text, "password_file:")
    assert "give one of password, password_env, password_file, not password_env and password_file" in message
