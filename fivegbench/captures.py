"""I/Q captures as SigMF recordings (``.sigmf-meta`` + ``.sigmf-data``), read and written with
the ``sigmf`` library.

Absolute scale lives in the ``fivegbench:`` extension (DESIGN.md §5): ``fivegbench:iq_units`` =
``"V"`` and ``fivegbench:impedance_ohms`` = R, so instantaneous power is |x|²/R watts. A capture
without them (another project's, say) is read without absolute scale: results that need it are
given in dBFS (dB re |x|² = 1) and flagged.

A capture a run takes (:mod:`fivegbench.measure.rf_iq`) also records, in the same extension, what
``fivegbench analyze`` needs to reproduce the run's value from the file alone:

``fivegbench:path_loss_db``
    Loss from the gNB antenna connector to the analyzer input, dB. The samples are as the analyzer
    recorded them (volts at its input); ``analyze`` adds this loss to every power it reports, so
    powers and masks are at the antenna connector, as in the run.
``fivegbench:bandwidth_hz``, ``fivegbench:scs_hz``
    The NR carrier (channel bandwidth and subcarrier spacing), Hz.
``fivegbench:test_model``, ``fivegbench:tdd_pattern``, ``fivegbench:special_slot``
    What the gNB transmitted: its TS 38.141-1 test model (``NR-FR1-TM3.1``) and slot pattern
    (``DDDSU`` and ``"10:2:2"``; absent for FDD). ``analyze evm`` measures the test model's known
    PDSCH allocations from them.
``fivegbench:reference_level_dbm``, ``fivegbench:attenuation_db``, ``fivegbench:overload``
    The analyzer settings the capture was taken with (read back) and the overload conditions it
    reported (a list; empty: none). For the record only.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sigmf import SigMFFile, sigmffile

from fivegbench.errors import FivegbenchError

EXTENSION = {"name": "fivegbench", "version": "1.0.0", "optional": True}
PREFIX = "fivegbench:"


class CaptureError(FivegbenchError):
    """A capture file that cannot be used; the message names the file."""


@dataclass(frozen=True)
class IqCapture:
    """Complex baseband samples around ``center_hz``; volts when ``impedance_ohms`` is set."""

    iq: np.ndarray
    sample_rate_hz: float
    center_hz: float
    impedance_ohms: float | None
    path: Path
    description: str = ""
    path_loss_db: float = 0.0
    """Loss from the antenna connector to the analyzer input (``fivegbench:path_loss_db``), dB."""
    metadata: Mapping[str, Any] = field(default_factory=dict)
    """Every ``fivegbench:`` key of the recording, without the prefix (``test_model``, ...)."""

    @property
    def absolute(self) -> bool:
        return self.impedance_ohms is not None


def _meta_path(path: Path) -> Path:
    if path.suffix == ".sigmf-data":
        return path.with_suffix(".sigmf-meta")
    if path.suffix != ".sigmf-meta":
        return path.with_name(path.name + ".sigmf-meta")
    return path


def read_capture(path: Path) -> IqCapture:
    """Read a ``cf32_le`` SigMF recording (the meta file, the data file or their common stem)."""
    meta = _meta_path(Path(path))
    if not meta.is_file():
        raise CaptureError(f"{meta}: no such SigMF metadata file")
    try:
        raw = json.loads(meta.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CaptureError(f"{meta}: not readable SigMF metadata: {exc}") from None
    glob = raw.get("global", {}) if isinstance(raw, dict) else {}
    if glob.get("core:datatype") != "cf32_le":
        raise CaptureError(
            f"{meta}: core:datatype is {glob.get('core:datatype')!r}; only cf32_le is supported"
        )
    rate = glob.get("core:sample_rate")
    if not isinstance(rate, int | float) or rate <= 0:
        raise CaptureError(f"{meta}: core:sample_rate is missing or not positive")
    captures = raw.get("captures") or [{}]
    center = captures[0].get("core:frequency")
    if not isinstance(center, int | float):
        raise CaptureError(f"{meta}: the first capture segment has no core:frequency (the carrier centre)")
    data = meta.with_suffix(".sigmf-data")
    if data.is_file() and data.stat().st_size == 0:  # sigmf cannot map an empty file
        raise CaptureError(f"{meta}: the recording has no samples")
    try:
        recording = sigmffile.fromfile(str(meta))
        iq = recording.read_samples()
    except Exception as exc:  # sigmf raises its own error types and OSErrors
        raise CaptureError(f"{meta}: cannot read the recording: {exc}") from None
    if iq.size == 0:
        raise CaptureError(f"{meta}: the recording has no samples")
    return IqCapture(
        iq=np.asarray(iq, dtype=np.complex64),
        sample_rate_hz=float(rate),
        center_hz=float(center),
        impedance_ohms=_impedance(glob, meta),
        path=meta,
        description=str(glob.get("core:description", "")),
        path_loss_db=_path_loss(glob, meta),
        metadata={k.removeprefix(PREFIX): v for k, v in glob.items() if k.startswith(PREFIX)},
    )


def _impedance(glob: dict[str, object], meta: Path) -> float | None:
    units, ohms = glob.get("fivegbench:iq_units"), glob.get("fivegbench:impedance_ohms")
    if units is None and ohms is None:
        return None
    if units != "V" or not isinstance(ohms, int | float) or ohms <= 0:
        raise CaptureError(
            f'{meta}: fivegbench:iq_units must be "V" with a positive fivegbench:impedance_ohms'
        )
    return float(ohms)


def _path_loss(glob: dict[str, object], meta: Path) -> float:
    loss = glob.get(PREFIX + "path_loss_db", 0.0)
    if isinstance(loss, bool) or not isinstance(loss, int | float) or not math.isfinite(loss):
        raise CaptureError(f"{meta}: fivegbench:path_loss_db must be a finite number of dB")
    return float(loss)


def write_capture(
    stem: Path,
    iq: np.ndarray,
    sample_rate_hz: float,
    center_hz: float,
    impedance_ohms: float | None = 50.0,
    description: str = "",
    metadata: Mapping[str, object] | None = None,
) -> Path:
    """Write ``stem.sigmf-data`` and ``stem.sigmf-meta``; returns the meta path. Refuses (before
    writing anything) to replace an existing recording.

    ``metadata`` holds further ``fivegbench:`` keys, named without the prefix (``path_loss_db``;
    see the module docstring); they need ``impedance_ohms`` (the extension is declared with it).
    """
    if metadata and impedance_ohms is None:
        raise ValueError("fivegbench metadata needs the absolute scale (impedance_ohms)")
    data = stem.with_name(stem.name + ".sigmf-data")
    meta = stem.with_name(stem.name + ".sigmf-meta")
    for existing in (data, meta):
        if existing.exists():
            raise CaptureError(f"{existing}: already exists; captures are never overwritten")
    np.asarray(iq, dtype="<c8").tofile(data)
    info: dict[str, object] = {
        "core:datatype": "cf32_le",
        "core:sample_rate": float(sample_rate_hz),
        "core:version": "1.0.0",
        "core:description": description,
    }
    if impedance_ohms is not None:
        info.update(
            {
                "core:extensions": [EXTENSION],
                "fivegbench:iq_units": "V",
                "fivegbench:impedance_ohms": float(impedance_ohms),
            }
        )
        info.update({PREFIX + key: value for key, value in (metadata or {}).items()})
    recording = SigMFFile(data_file=str(data), global_info=info)
    recording.add_capture(0, metadata={"core:frequency": float(center_hz)})
    recording.tofile(str(meta))
    return meta
