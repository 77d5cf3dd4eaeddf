"""I/Q captures as SigMF recordings (``.sigmf-meta`` + ``.sigmf-data``), read and written with
the ``sigmf`` library.

Absolute scale lives in the ``fivegbench:`` extension (DESIGN.md §5): ``fivegbench:iq_units`` =
``"V"`` and ``fivegbench:impedance_ohms`` = R, so instantaneous power is |x|²/R watts. A capture
without them (another project's, say) is read without absolute scale: results that need it are
given in dBFS (dB re |x|² = 1) and flagged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sigmf import SigMFFile, sigmffile

from fivegbench.errors import FivegbenchError

EXTENSION = {"name": "fivegbench", "version": "1.0.0", "optional": True}


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


def write_capture(
    stem: Path,
    iq: np.ndarray,
    sample_rate_hz: float,
    center_hz: float,
    impedance_ohms: float | None = 50.0,
    description: str = "",
) -> Path:
    """Write ``stem.sigmf-data`` and ``stem.sigmf-meta``; returns the meta path. Refuses (before
    writing anything) to replace an existing recording."""
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
    recording = SigMFFile(data_file=str(data), global_info=info)
    recording.add_capture(0, metadata={"core:frequency": float(center_hz)})
    recording.tofile(str(meta))
    return meta
