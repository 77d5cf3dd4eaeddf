"""PDSCH modulation and coding scheme tables, TS 38.214 §5.1.3.1 (Tables 5.1.3.1-1 and 5.1.3.1-2).

Each table maps the MCS index I_MCS to the modulation order Q_m and the target code rate R x 1024;
the spectral efficiency is SE = Q_m x R / 1024 bit/s/Hz per layer (the spec prints it rounded to
four decimals, e.g. 2.4063 and 7.4063). The highest indices (29..31 in Table 1, 28..31 in Table 2)
are reserved: they carry only Q_m and are used for retransmissions, so link adaptation never picks
them.

Source status [V2]: nr-standards.md §2.2, transcribed from NVlabs/sionna ``sionna/nr/utils.py``
(``select_mcs``) and catkira/py3gpp ``py3gpp/nrPDSCHMCSTables.py``, which agree. Check the ETSI
PDF before citing a value in a trial report.

PUSCH with transform precoding disabled (CP-OFDM) uses the same tables (TS 38.214 §6.1.4.1) [U:
the clause is not in the reference notes].
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt

from fivegbench.nr.datarate import QM

__all__ = ["MCS_TABLES", "PDSCH_MCS_TABLE_1", "PDSCH_MCS_TABLE_2", "McsTable", "mcs_table"]


@dataclass(frozen=True)
class McsTable:
    """One TS 38.214 MCS index table.

    Attributes
    ----------
    number : the table's number in the ``mcs-Table`` choice: 1 (``qam64``, Table 5.1.3.1-1) or
        2 (``qam256``, Table 5.1.3.1-2).
    clause : the TS 38.214 table it transcribes.
    status : the reference's status tag of the values ([V2]: secondary sources).
    entries : (Q_m, R x 1024) for I_MCS = 0, 1, ... up to the last non-reserved index.
    reserved_qm : Q_m of the reserved indices that follow, in order (code rate "reserved").
    """

    number: int
    clause: str
    status: str
    entries: tuple[tuple[int, float], ...]
    reserved_qm: tuple[int, ...]

    def __len__(self) -> int:
        """Number of usable (non-reserved) MCS indices."""
        return len(self.entries)

    def _entry(self, index: int) -> tuple[int, float]:
        if not (isinstance(index, int | np.integer) and 0 <= index < len(self.entries)):
            raise ValueError(
                f"I_MCS {index!r} is not a usable index of {self.clause} (0..{len(self.entries) - 1})"
            )
        return self.entries[int(index)]

    def qm(self, index: int) -> int:
        """Modulation order Q_m (bits per symbol) of I_MCS ``index``."""
        return self._entry(index)[0]

    def r_x1024(self, index: int) -> float:
        """Target code rate R x 1024 of I_MCS ``index`` (682.5 and 916.5 are not integers)."""
        return self._entry(index)[1]

    def spectral_efficiency(self, index: int) -> float:
        """SE = Q_m x R / 1024 of I_MCS ``index``, bit/s/Hz per layer."""
        qm, r = self._entry(index)
        return qm * r / 1024

    @property
    def max_modulation(self) -> str:
        """The table's highest modulation, named as in :data:`fivegbench.nr.datarate.QM`
        (``"64qam"`` or ``"256qam"``): the Q_m of the TS 38.306 peak rate for this table."""
        top = max(qm for qm, _ in self.entries)
        return next(name for name, bits in QM.items() if bits == top)

    @cached_property
    def spectral_efficiencies(self) -> npt.NDArray[np.float64]:
        """SE of every usable index, bit/s/Hz per layer, indexed by I_MCS (read-only array)."""
        se = np.array([qm * r / 1024 for qm, r in self.entries], dtype=np.float64)
        se.setflags(write=False)
        return se


# fmt: off
PDSCH_MCS_TABLE_1 = McsTable(
    number=1,
    clause="TS 38.214 Table 5.1.3.1-1 (MCS index table 1, up to 64QAM)",
    status="[V2]",
    # I_MCS:  0..9 QPSK, 10..16 16QAM, 17..28 64QAM
    entries=(
        (2, 120), (2, 157), (2, 193), (2, 251), (2, 308), (2, 379), (2, 449), (2, 526), (2, 602), (2, 679),
        (4, 340), (4, 378), (4, 434), (4, 490), (4, 553), (4, 616), (4, 658),
        (6, 438), (6, 466), (6, 517), (6, 567), (6, 616), (6, 666), (6, 719), (6, 772), (6, 822),
        (6, 873), (6, 910), (6, 948),
    ),
    reserved_qm=(2, 4, 6),  # I_MCS 29, 30, 31
)
"""TS 38.214 Table 5.1.3.1-1 [V2]: I_MCS -> (Q_m, R x 1024)."""
# fmt: on

# fmt: off
PDSCH_MCS_TABLE_2 = McsTable(
    number=2,
    clause="TS 38.214 Table 5.1.3.1-2 (MCS index table 2, up to 256QAM)",
    status="[V2]",
    # I_MCS:  0..4 QPSK, 5..10 16QAM, 11..19 64QAM, 20..27 256QAM
    entries=(
        (2, 120), (2, 193), (2, 308), (2, 449), (2, 602),
        (4, 378), (4, 434), (4, 490), (4, 553), (4, 616), (4, 658),
        (6, 466), (6, 517), (6, 567), (6, 616), (6, 666), (6, 719), (6, 772), (6, 822), (6, 873),
        (8, 682.5), (8, 711), (8, 754), (8, 797), (8, 841), (8, 885), (8, 916.5), (8, 948),
    ),
    reserved_qm=(2, 4, 6, 8),  # I_MCS 28, 29, 30, 31
)
"""TS 38.214 Table 5.1.3.1-2 [V2]: I_MCS -> (Q_m, R x 1024)."""
# fmt: on

MCS_TABLES: dict[int, McsTable] = {1: PDSCH_MCS_TABLE_1, 2: PDSCH_MCS_TABLE_2}
"""Table number -> table."""


def mcs_table(number: int) -> McsTable:
    """The MCS table numbered ``number`` (1: 64QAM, 2: 256QAM).

    Raises ValueError for any other number (tables 3 and 4 are not transcribed here).
    """
    try:
        return MCS_TABLES[number]
    except (KeyError, TypeError):
        raise ValueError(f"MCS table must be 1 (64QAM) or 2 (256QAM), got {number!r}") from None
