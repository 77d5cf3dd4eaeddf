"""EVM window length W, TS 38.104 Annex B.5.2 (Tables B.5.2-1 .. B.5.2-4, FR1) and FR2 Annex C.

Source status [V2]: MATLAB ``hNRPDSCHEVM.m::getEVMWindow`` encodes the tables by FFT size
(nr-standards.md §1.6); check the ETSI PDF before citing a value in a trial report. W is in samples
at the FFT size N (sample rate N x SCS). The normal CP at that size is 9 N / 128 samples
(:func:`fivegbench.nr.numerology.cp_lengths`); W is 40-60 % of it.

Where the 25 MHz channel bandwidth has its own W at the same FFT size (512 at 60 kHz, 1024 at 30 kHz,
2048 at 15 kHz), pass ``bandwidth_hz`` to select it.
"""

from __future__ import annotations

import math

__all__ = ["evm_window"]

# (FFT size, SCS kHz) -> W samples, FR1 [V2]
_FR1: dict[tuple[int, int], int] = {
    (512, 15): 14,
    (1024, 15): 28,
    (1536, 15): 44,
    (2048, 15): 58,
    (3072, 15): 108,
    (4096, 15): 144,
    (256, 30): 8,
    (512, 30): 14,
    (768, 30): 22,
    (1024, 30): 28,
    (1536, 30): 54,
    (2048, 30): 72,
    (3072, 30): 130,
    (4096, 30): 172,
    (256, 60): 8,
    (384, 60): 11,
    (512, 60): 14,
    (768, 60): 26,
    (1024, 60): 36,
    (1536, 60): 64,
    (2048, 60): 86,
}
# 25 MHz channels that share an FFT size with a narrower bandwidth but have a wider W [V2]
_FR1_25MHZ: dict[tuple[int, int], int] = {(2048, 15): 72, (1024, 30): 36, (512, 60): 18}
# FR2 [V2]
_FR2: dict[tuple[int, int], int] = {
    (1024, 60): 36,
    (2048, 60): 72,
    (4096, 60): 144,
    (512, 120): 18,
    (1024, 120): 36,
    (2048, 120): 72,
    (4096, 120): 144,
}


def evm_window(fft_size: int, scs_hz: float, bandwidth_hz: float | None = None, fr2: bool = False) -> int:
    """EVM window length W in samples (TS 38.104 Tables B.5.2-1..4; FR2 Annex C) [V2].

    Parameters
    ----------
    fft_size : FFT size N of the carrier (sample rate N x SCS).
    scs_hz : subcarrier spacing, Hz.
    bandwidth_hz : channel bandwidth, Hz; only 25 MHz changes the result (see the module docstring).
    fr2 : use the FR2 values.

    Returns
    -------
    int
        W, samples at the FFT size.

    Raises ValueError for an (FFT size, SCS) pair the tables do not define.
    """
    if not (math.isfinite(scs_hz) and scs_hz > 0):
        raise ValueError(f"scs_hz must be a positive number, got {scs_hz!r}")
    scs_khz = round(scs_hz / 1e3)
    if abs(scs_khz * 1e3 - scs_hz) > 1:
        raise ValueError(f"{scs_hz:g} Hz is not an NR subcarrier spacing")
    key = (int(fft_size), scs_khz)
    if fr2:
        table = _FR2
    else:
        table = _FR1
        if bandwidth_hz is not None and abs(bandwidth_hz - 25e6) < 1 and key in _FR1_25MHZ:
            return _FR1_25MHZ[key]
    try:
        return table[key]
    except KeyError:
        raise ValueError(
            f"no EVM window for FFT size {fft_size} at {scs_khz} kHz SCS in TS 38.104 "
            f"{'Annex C (FR2)' if fr2 else 'Annex B (FR1)'}"
        ) from None
