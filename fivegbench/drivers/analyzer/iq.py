"""What every analyzer driver returns from an I/Q capture: an :class:`IqAcquisition`.

The samples are complex baseband volts at the analyzer input (|x|^2 / 50 ohm is watts), as both
families deliver them (R&S ``TRAC:IQ:DATA:MEM?`` in IQP format, Keysight ``WAV0`` in the I/Q
Analyzer basic mode). Every setting is the value read back from the instrument after configuring,
not the value asked for.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class IqAcquisition:
    """One I/Q capture and the instrument settings it was taken with (read back).

    Attributes
    ----------
    samples : complex64, volts at the analyzer input.
    sample_rate_hz : the instrument's sample rate, Hz.
    center_hz : the instrument's centre frequency, Hz.
    reference_level_dbm : reference level (the ADC full scale follows it), dBm.
    attenuation_db : RF input attenuation, dB.
    overload : the overload conditions the analyzer reported during the capture; empty: none.
    """

    samples: np.ndarray
    sample_rate_hz: float
    center_hz: float
    reference_level_dbm: float
    attenuation_db: float
    overload: tuple[str, ...]

    @property
    def duration_s(self) -> float:
        return self.samples.size / self.sample_rate_hz
