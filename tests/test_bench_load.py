"""load_bench: what reaches an instrument (resource, options) holds no control character, and the
gNB profiles are loaded and checked with the bench, before anything is touched."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from fivegbench.bench import load_bench
from fivegbench.drivers.gnb.profile import load_profile
from fivegbench.drivers.ue.profile import load_ue_profile
from fivegbench.errors import PlanError

ROOT = Path(__file__).resolve().parent.parent
SIM = (ROOT / "instruments/benches/sim.yaml").read_text(encoding="utf-8")
SIM_GNB = ROOT / "instruments/profiles/sim-gnb.yaml"
SIM_UE = ROOT / "instruments/profiles/ue-3gpp.yaml"


def _line_of(text: str, marker: str) -> int:
    assert text.count(marker) == 1, marker
    return text.count("\n", 0, text.index(marker)) + 1


def _bench(tmp_path: Path, text: str) -> Path:
    """Write ``text`` as ``<tmp>/benches/bench.yaml`` beside a ``<tmp>/profiles`` with sim-gnb."""
    (tmp_path / "benches").mkdir(exist_ok=True)
    (tmp_path / "profiles").mkdir(exist_ok=True)
    shutil.copy(SIM_GNB, tmp_path / "profiles" / "sim-gnb.yaml")
    path = tmp_path / "benches" / "bench.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_profiles_are_loaded_with_the_bench():
    loaded = load_bench(ROOT / "instruments/benches/sim.yaml")
    assert loaded.profiles == {"gnb": load_profile(SIM_GNB), "ue": load_ue_profile(SIM_UE)}
    moved = loaded.with_resources({"gnb": "socket://127.0.0.1:5555"})
    assert moved.profiles == loaded.profiles
    assert moved.bench.instruments["gnb"].resource == "socket://127.0.0.1:5555"


def test_a_bench_without_a_gnb_or_a_ue_has_no_profiles(tmp_path):
    text = SIM[: SIM.index("  gnb:")] + SIM[SIM.index("  attenuator:") :]
    text = text[: text.index("  ue:")] + text[text.index("  traffic:") :]
    assert load_bench(_bench(tmp_path, text)).profiles == {}


def test_profile_by_name_is_looked_up_beside_the_bench(tmp_path):
    path = _bench(tmp_path, SIM)
    (tmp_path / "profiles" / "sim-gnb.yaml").write_text(
        SIM_GNB.read_text(encoding="utf-8").replace("name: sim-gnb", "name: the copy"), encoding="utf-8"
    )
    assert load_bench(path).profiles["gnb"].name == "the copy"


def test_a_bench_copied_anywhere_still_finds_the_shipped_profiles(tmp_path):
    path = tmp_path / "bench.yaml"  # no profiles/ folder beside it
    path.write_text(SIM, encoding="utf-8")
    assert load_bench(path).profiles["gnb"] == load_profile(SIM_GNB)


def test_missing_profile_is_reported_at_the_bench_line(tmp_path):
    path = _bench(tmp_path, SIM.replace("profile: sim-gnb", "profile: nokia-airscale"))
    line = _line_of(SIM, "profile: sim-gnb")
    column = SIM.splitlines()[line - 1].index("profile:") + 1
    with pytest.raises(PlanError) as info:
        load_bench(path)
    message = str(info.value)
    assert message.startswith(
        f"{path}:{line}:{column}: instruments.gnb.profile: gNB profile 'nokia-airscale' not found"
    )
    assert "available: sim-gnb" in message and "\n" not in message


def test_bad_profile_is_refused_by_load_bench(tmp_path):
    path = _bench(tmp_path, SIM)
    profile = tmp_path / "profiles" / "sim-gnb.yaml"
    text = profile.read_text(encoding="utf-8").replace("  rf_on: rf on", '  rf_on: "rf on\\r\\nrf off"')
    profile.write_text(text, encoding="utf-8")
    with pytest.raises(PlanError) as info:
        load_bench(path)
    assert str(info.value).startswith(f"{profile}:{_line_of(text, '  rf_on: ')}:")
    assert "commands.rf_on: contains a control character (CR (U+000D) at position 6)" in str(info.value)


# (id, old, new, marker on the error's line, key path, what the message names)
BAD_BENCHES = [
    (
        "crlf-in-the-password",
        "password: admin,",
        'password: "admin\\r\\nrf on",',
        "password:",
        "instruments.gnb.options.password",
        "CR (U+000D) at position 6",
    ),
    (
        "tab-in-the-user",
        "user: admin,",
        'user: "ad\\tmin",',
        "user:",
        "instruments.gnb.options.user",
        "TAB (U+0009) at position 3",
    ),
    (
        "tab-in-an-analyzer-option",
        "options: {timeout: 10 s}",
        'options: {timeout: "10 s\\t"}',
        'timeout: "10',
        "instruments.analyzer.options.timeout",
        "TAB (U+0009) at position 5",
    ),
    (
        "lf-in-a-nested-option",
        "options: {user: admin,",
        'options: {extra: [a, "b\\nrf on"], user: admin,',
        "extra:",
        "instruments.gnb.options.extra[1]",
        "LF (U+000A) at position 2",
    ),
    (
        "crlf-in-the-resource",
        "resource: socket://127.0.0.1:0\n    profile: sim-gnb",
        'resource: "socket://127.0.0.1:0\\r\\nrf on"\n    profile: sim-gnb',
        'resource: "socket',
        "instruments.gnb.resource",
        "CR (U+000D) at position 21",
    ),
]


@pytest.mark.parametrize(
    ("case", "old", "new", "marker", "path", "mention"), BAD_BENCHES, ids=[c[0] for c in BAD_BENCHES]
)
def test_control_character_in_what_reaches_an_instrument(tmp_path, case, old, new, marker, path, mention):
    assert SIM.count(old) == 1, case
    text = SIM.replace(old, new)
    bench = _bench(tmp_path, text)
    with pytest.raises(PlanError) as info:
        load_bench(bench)
    message = str(info.value)
    assert message.startswith(f"{bench}:{_line_of(text, marker)}:"), message
    assert f" {path}: contains a control character ({mention})" in message, message
    assert "rf on" not in message and "admin" not in message and "\n" not in message
