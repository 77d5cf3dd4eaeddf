"""`fivegbench analyze` says what it knows: real units, the measurement's resolution, what the
span did not cover, and no pass it cannot give. Captures are built here with a known answer."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from fivegbench import readout
from fivegbench.captures import write_capture
from tests.test_analyze_cli import SLOT, analyze, band_limited, needs_slot

TEN_MHZ = ["--bandwidth", "10MHz", "--scs", "15kHz"]  # BW_Config 52 x 12 x 15 kHz = 9.36 MHz


def tones(fs: float, n: int, dbfs_at_hz: dict[float, float]) -> np.ndarray:
    """Complex tones on FFT bins of the 2048-point analysis: a Hann window spreads each over three
    bins only, so each channel's power is exactly its tones' power."""
    t = np.arange(n) / fs
    return sum(10 ** (p / 20) * np.exp(2j * np.pi * f * t) for f, p in dbfs_at_hz.items())


def flat_comb(fs: float, first_bin: int, last_bin: int) -> np.ndarray:
    """Equal tones on every bin first..last (2048-point bins), periodic in 2048 samples, over 128
    Welch segments (hop 512): the cross terms of neighbouring tones turn by pi/2 or pi per hop
    and cancel over every 4 segments, so the spectrum is that of a flat band from the lower edge
    of the first bin to the upper edge of the last, one bin of skirt aside."""
    rng = np.random.default_rng(3)
    spectrum = np.zeros(2048, complex)
    bins = np.arange(first_bin, last_bin + 1)
    spectrum[bins % 2048] = np.exp(2j * np.pi * rng.random(bins.size))
    period = np.fft.ifft(spectrum)
    return np.tile(period, 34)[: 2048 + 512 * 127]


def rows(stdout: str) -> list[str]:
    return stdout.splitlines()


# -- the formatting helper ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hz", "resolution", "text"),
    [
        (8558817.415713636, 7500.0, "8.559 MHz"),
        (-4471982.387127717, 7500.0, "-4.472 MHz"),
        (-50000.0, 7500.0, "-50 kHz"),
        (1837450000.0, 7500.0, "1.837450 GHz"),
        (999999.6, 1.0, "1.000000 MHz"),  # rounds into the next prefix
        (-2.18e-7, 0.1, "0.0 Hz"),  # no "-0.0"
        (-2345.06, 0.1, "-2.3451 kHz"),
        (1842500000.0, None, "1.8425 GHz"),
        (15000.0, None, "15 kHz"),
        (0.0, None, "0 Hz"),
    ],
)
def test_frequency_in_its_prefix_to_its_resolution(hz, resolution, text):
    assert readout.frequency(hz, resolution) == text


def test_levels_percentages_ppm_and_durations():
    assert readout.decibels(-13.914, "dBFS") == "-13.91 dBFS"
    assert readout.decibels(-0.001) == "0.00 dB"
    assert readout.percent(4.0051) == "4.01 %"
    assert readout.parts_per_million(-0.0124) == "-0.012 ppm"
    assert readout.seconds(0.001) == "1 ms"


def test_rows_name_the_unit_the_value_is_in():
    result = {
        "power_unit": "dBFS",
        "resolution_hz": 7500.0,
        "channel_power_dbm": -13.914,
        "aclr_db": {},
        "adjacent_dbm_per_mhz": {"lower1": -60.126},
        "not_covered": ["lower2", "upper2"],
        "uncovered": ["lower segment 2: none", "upper segment 2: none"],
        "obw_hz": 8558817.415713636,
        "pass": None,
        "complete": False,
        "freq_error_ppm": float("nan"),
        "allocation": [{"prbs": [[1, 48]], "modulation": "16qam"}],
    }
    assert readout.lines(result) == [
        "power_unit                 dBFS",
        "resolution                 7.5 kHz",
        "channel_power              -13.91 dBFS",
        "aclr                       none",
        "adjacent lower1            -60.13 dBFS/MHz",
        "not_covered                lower2, upper2",
        "uncovered                  lower segment 2: none",
        "                           upper segment 2: none",
        "obw                        8.559 MHz",
        "pass                       unknown",
        "complete                   no",
        "freq_error                 unknown",
        'allocation                 {"prbs": [[1, 48]], "modulation": "16qam"}',
    ]


# -- power: the capture's own unit -------------------------------------------------------------


@pytest.mark.parametrize(
    ("impedance", "row", "unit"),
    [
        (None, "channel_power              -13.91 dBFS", "dBFS"),
        # the same volts across 50 ohm: -13.914 dB re 1 V² + 10 log10(1000 mW / 50 ohm) = -0.904 dBm
        (50.0, "channel_power              -0.90 dBm", "dBm"),
    ],
)
def test_power_is_printed_in_the_unit_it_is_in(tmp_path, impedance, row, unit):
    fs = 15.36e6
    meta = write_capture(
        tmp_path / "cap", tones(fs, 1 << 15, {750e3: -13.914}), fs, 1842.5e6, impedance_ohms=impedance
    )
    text = analyze("power", str(meta), *TEN_MHZ)
    assert text.returncode == 0 and text.stderr == ""
    assert row in rows(text.stdout) and f"power_unit                 {unit}" in rows(text.stdout)
    assert "_dbm" not in text.stdout  # no name claims dBm for a dBFS number
    result = json.loads(analyze("power", str(meta), *TEN_MHZ, "--json").stdout)
    assert result["power_unit"] == unit and result["absolute"] is (impedance is not None)
    expected = -13.914 + (10 * math.log10(1000 / 50) if impedance else 0.0)
    assert result["channel_power_dbm"] == pytest.approx(expected, abs=1e-4)  # JSON: full precision


# -- aclr: what the span did not cover ---------------------------------------------------------

CARRIER = {750e3: -10.0}
ADJACENT = {-9.99e6: -50.0, 9.99e6: -55.0, -19.98e6: -60.0, 19.98e6: -65.0}  # on 7.5/15/30 kHz bins


@pytest.mark.parametrize(
    ("fs", "aclr_rows", "not_covered", "missing"),
    [
        (15.36e6, ["aclr                       none"], [], "lower1, upper1, lower2, upper2"),
        (
            30.72e6,
            ["aclr lower1                40.00 dB", "aclr upper1                45.00 dB"],
            ["lower2", "upper2"],
            "lower2, upper2",
        ),
        (
            61.44e6,
            [
                "aclr lower1                40.00 dB",
                "aclr upper1                45.00 dB",
                "aclr lower2                50.00 dB",
                "aclr upper2                55.00 dB",
            ],
            [],
            "",
        ),
    ],
)
def test_aclr_names_the_channels_the_span_missed(tmp_path, fs, aclr_rows, not_covered, missing):
    inside = {f: p for f, p in (CARRIER | ADJACENT).items() if abs(f) < fs / 2}  # no aliases
    meta = write_capture(tmp_path / "cap", tones(fs, 1 << 16, inside), fs, 1842.5e6, impedance_ohms=None)
    text = analyze("aclr", str(meta), *TEN_MHZ)
    json_run = analyze("aclr", str(meta), *TEN_MHZ, "--json")
    said = (
        f"{meta}: the capture's span (±{fs / 2e6:g} MHz) does not reach the adjacent channels "
        f"{missing}: no ACLR for them\n"
    )
    for run in (text, json_run):
        assert run.returncode == 0
        assert run.stderr == (said if missing else "")
    for row in aclr_rows:
        assert row in rows(text.stdout)
    assert f"not_covered                {missing or 'none'}" in rows(text.stdout)
    result = json.loads(json_run.stdout)
    if fs == 15.36e6:
        assert result["not_covered"] == ["lower1", "upper1", "lower2", "upper2"] and result["aclr_db"] == {}
    else:
        assert result["not_covered"] == not_covered
        assert result["aclr_db"]["upper1"] == pytest.approx(45.0, abs=1e-3)
        # -50 dBFS over BW_Config 9.36 MHz: -50 - 10 log10(9.36) = -59.713 dBFS/MHz
        assert result["adjacent_dbm_per_mhz"]["lower1"] == pytest.approx(-59.713, abs=1e-3)


# -- sem: no pass it cannot give ---------------------------------------------------------------

DBFS = (
    "no absolute scale (dBFS): the mask's limits are dBm; "
    "the capture needs fivegbench:iq_units and fivegbench:impedance_ohms"
)


@pytest.mark.parametrize(
    ("fs", "n", "impedance", "passed", "note", "code"),
    [
        # n3 (1805-1880 MHz) 10 MHz carrier at 1842.5 MHz: ±122.88 MHz covers the mask to
        # 40 MHz beyond both band edges
        (245.76e6, 1 << 18, 50.0, True, "", 0),
        (245.76e6, 1 << 18, None, None, DBFS, 1),
        (
            61.44e6,
            1 << 17,
            50.0,
            None,
            "the span misses part of the mask: 2 of 6 segments not fully measured (see uncovered)",
            1,
        ),
    ],
)
def test_sem_passes_only_an_absolute_complete_sweep(tmp_path, fs, n, impedance, passed, note, code):
    iq = band_limited(power_w=10.0, width_hz=9.0e6, fs=fs, n=n)  # 40 dBm in 50 ohm, far inside the mask
    meta = write_capture(tmp_path / "cap", iq, fs, 1842.5e6, impedance_ohms=impedance)
    args = ["sem", str(meta), *TEN_MHZ, "--band", "n3"]
    text, json_run = analyze(*args), analyze(*args, "--json")
    said = f"{meta}: pass undecided: {note}\n" if note else ""
    for run in (text, json_run):
        assert run.returncode == code and run.stderr == said
    shown = {True: "yes", None: "unknown"}[passed]
    assert f"pass                       {shown}" in rows(text.stdout)
    result = json.loads(json_run.stdout)
    assert result["pass"] is passed and result["pass_with_test_tolerance"] is passed
    assert result["note"] == note


# -- printed numbers carry the measurement's resolution -----------------------------------------


def test_obw_is_printed_to_the_resolution_of_the_spectrum(tmp_path):
    fs = 15.36e6  # 2048-point bins of 7.5 kHz: the kHz digit is the last one resolved
    # a flat band over bins -601..598: [-601.5, 598.5] x 7.5 kHz = [-4.51125, 4.48875] MHz;
    # 0.5 % of its 9 MHz (45 kHz) lies beyond each limit
    meta = write_capture(tmp_path / "cap", flat_comb(fs, -601, 598), fs, 1842.5e6, impedance_ohms=None)
    text = analyze("obw", str(meta), *TEN_MHZ)
    assert text.returncode == 0
    assert rows(text.stdout)[-4:] == [
        "obw                        8.910 MHz",
        "lower                      -4.466 MHz",
        "upper                      4.444 MHz",
        "within_channel_bandwidth   yes",
    ]
    result = json.loads(analyze("obw", str(meta), *TEN_MHZ, "--json").stdout)
    assert result["lower_hz"] == pytest.approx(-4.46625e6, abs=1.0)  # JSON: full precision
    assert result["upper_hz"] == pytest.approx(4.44375e6, abs=1.0)


@needs_slot
def test_real_slot_reads_as_the_issue_asks():
    text = analyze("obw", str(SLOT), *TEN_MHZ)
    assert "obw                        8.559 MHz" in rows(text.stdout)
    power = analyze("power", str(SLOT), *TEN_MHZ)
    # the slot's mean |x|^2 is -14.011 dB; test_analyze_cli checks the value itself
    assert "channel_power              -14.01 dBFS" in rows(power.stdout)
