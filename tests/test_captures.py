"""SigMF capture reading and writing, with and without the fivegbench absolute-scale extension."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fivegbench.captures import CaptureError, read_capture, write_capture

SLOT_META = (
    Path(__file__).resolve().parents[2]
    / "shared/data/srsran-nr-slot/ue_dl_nr_pci500_rb52_rnti0x100_s15.36e6.sigmf-meta"
)


def test_round_trip_keeps_samples_and_scale(tmp_path):
    rng = np.random.default_rng(1)
    iq = (rng.normal(size=4096) + 1j * rng.normal(size=4096)).astype(np.complex64)
    meta = write_capture(tmp_path / "cap", iq, 30.72e6, 3.75e9, impedance_ohms=50.0, description="x")
    capture = read_capture(meta)
    np.testing.assert_array_equal(capture.iq, iq)
    assert (capture.sample_rate_hz, capture.center_hz, capture.impedance_ohms) == (30.72e6, 3.75e9, 50.0)
    assert capture.absolute
    assert read_capture(tmp_path / "cap.sigmf-data").iq.size == 4096  # the data file names it too


def test_without_extension_there_is_no_absolute_scale(tmp_path):
    meta = write_capture(tmp_path / "cap", np.ones(16, complex), 1e6, 2e9, impedance_ohms=None)
    assert read_capture(meta).impedance_ohms is None


@pytest.mark.skipif(not SLOT_META.exists(), reason="../shared/data is not beside this checkout")
def test_reads_the_srsran_slot():
    capture = read_capture(SLOT_META)
    assert capture.sample_rate_hz == 15.36e6 and capture.center_hz == 1842.5e6
    assert capture.iq.size == 15360 and not capture.absolute


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (lambda m: m["global"].update({"core:datatype": "ci16_le"}), "only cf32_le"),
        (lambda m: m["global"].pop("core:sample_rate"), "core:sample_rate"),
        (lambda m: m["captures"][0].pop("core:frequency"), "core:frequency"),
        (lambda m: m["global"].update({"fivegbench:iq_units": "dBm"}), "iq_units"),
    ],
)
def test_bad_metadata_is_one_clear_error(tmp_path, edit, words):
    meta = write_capture(tmp_path / "cap", np.ones(16, complex), 1e6, 2e9)
    doc = json.loads(meta.read_text())
    edit(doc)
    meta.write_text(json.dumps(doc))
    with pytest.raises(CaptureError) as info:
        read_capture(meta)
    assert words in str(info.value) and str(meta) in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(CaptureError, match="no such SigMF"):
        read_capture(tmp_path / "nothing.sigmf-meta")


def test_an_existing_recording_is_never_overwritten(tmp_path):
    meta = write_capture(tmp_path / "cap", np.ones(16, complex), 1e6, 2e9)
    before = (tmp_path / "cap.sigmf-data").read_bytes()
    with pytest.raises(CaptureError, match="already exists"):
        write_capture(tmp_path / "cap", np.zeros(16, complex), 1e6, 2e9)
    assert (tmp_path / "cap.sigmf-data").read_bytes() == before and meta.exists()
