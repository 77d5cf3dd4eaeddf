"""identity.mismatches: the bench's serials against what instruments answer, the plan's DUT
against what the gNB reports."""

from types import SimpleNamespace

import pytest

from fivegbench.drivers.gnb.console import CellStatus
from fivegbench.identity import mismatches, readback

DUT = SimpleNamespace(serial="GNB-0042", firmware="2.3.1")
GNB = {"model": "VHT gNodeB 8T8R", "serial": "GNB-0042", "software": "2.3.1"}


@pytest.mark.parametrize(
    ("serial", "identity"),
    [
        ("101234", "Rohde&Schwarz,FSW-26,1312.8000K26/101234,5.00"),  # R&S: material number/serial
        ("MY12345678", "Keysight Technologies,N9020B,MY12345678,A.33.03"),
        ("11912070001", "Mini-Circuits,RCDAT-6000-110,SN 11912070001"),
        ("356938035643809", "Quectel, RM500Q-GL, Revision: RM500QGLABR11A06M4G, 356938035643809"),
    ],
)
def test_each_family_names_its_serial(serial, identity):
    assert mismatches({"x": serial}, {"x": identity}, None, DUT) == []


@pytest.mark.parametrize(
    ("serial", "identity"),
    [
        ("101234", "Rohde&Schwarz,FSW-26,1312.8000K26/1101234,5.00"),  # a longer serial is another unit
        ("101234", "Rohde&Schwarz,FSW-26,1312.8000K26/101234A,5.00"),
        ("MY12345678", "Keysight Technologies,N9020B,MY12345679,A.33.03"),
    ],
)
def test_another_unit_of_the_same_family_is_a_mismatch(serial, identity):
    assert mismatches({"analyzer": serial}, {"analyzer": identity}, None, DUT) == [
        f"analyzer: the bench declares serial {serial}, the instrument answers {identity!r}"
    ]


def test_an_undeclared_serial_is_not_checked():
    assert mismatches({"traffic": None}, {"traffic": "iperf 3.12"}, None, DUT) == []


def test_the_dut_must_be_the_plans():
    assert mismatches({}, {}, GNB, DUT) == []
    swapped = {**GNB, "serial": "GNB-0043", "software": "2.3.2"}
    assert mismatches({}, {}, swapped, DUT) == [
        "gnb: the plan's DUT serial is GNB-0042, the gNB reports 'GNB-0043'",
        "gnb: the plan's DUT firmware is 2.3.1, the gNB reports '2.3.2'",
    ]
    assert mismatches({}, {}, {**GNB, "software": "2.3.1-rc1"}, DUT) == [
        "gnb: the plan's DUT firmware is 2.3.1, the gNB reports '2.3.1-rc1'"
    ]
    assert (
        mismatches({}, {}, {"model": "x"}, DUT)[0]
        == "gnb: the plan's DUT serial is GNB-0042, the gNB reports nothing"
    )
    assert mismatches({}, {}, swapped, SimpleNamespace(serial=None, firmware=None)) == []


class _Console:
    def __init__(self, version: dict, cell: CellStatus | Exception) -> None:
        self.version, self.cell = version, cell

    def version_info(self) -> dict:
        return self.version

    def cell_status(self) -> CellStatus:
        if isinstance(self.cell, Exception):
            raise self.cell
        return self.cell


PLAN = SimpleNamespace(
    dut=DUT,
    cell=SimpleNamespace(
        model_dump=lambda mode: {
            "band": "n78",
            "center_frequency": 3750e6,
            "arfcn": None,
            "bandwidth": 100e6,
            "scs": 30e3,
            "tdd_pattern": "DDDSU",
            "special_slot": [10, 2, 2],
        }
    ),
)


def test_the_read_back_cell_agrees_with_the_plan():
    same = CellStatus(
        rf_on=False,
        band="n78",
        center_frequency_hz=3750e6,
        arfcn=650000,
        bandwidth_hz=100e6,
        scs_hz=30e3,
        tdd_pattern="DDDSU",
        special_slot="10:2:2",
    )
    found = readback(PLAN, _Console(GNB, same))
    assert found is not None and found["differences"] == []
    assert found["version"] == GNB and found["cell"]["arfcn"] == 650000


def test_every_difference_from_the_plan_is_listed():
    other = CellStatus(
        rf_on=False,
        band="N78",
        center_frequency_hz=3749.97e6,
        bandwidth_hz=80e6,
        scs_hz=30e3,
        tdd_pattern="DDSUU",
        special_slot="6:4:4",
    )
    found = readback(PLAN, _Console({**GNB, "software": "2.4.0"}, other))
    assert found is not None and found["differences"] == [
        "the plan's DUT firmware is 2.3.1, the gNB reports '2.4.0'",
        "cell center_frequency: the plan says 3750000000.0, the gNB reports 3749970000.0",
        "cell bandwidth: the plan says 100000000.0, the gNB reports 80000000.0",
        "cell tdd_pattern: the plan says DDDSU, the gNB reports DDSUU",
        "cell special_slot: the plan says 10:2:2, the gNB reports 6:4:4",
    ]  # the band's case does not matter; what the gNB does not report is not compared


def test_a_console_that_cannot_say_gives_no_readback():
    assert readback(PLAN, _Console(GNB, TimeoutError("no prompt"))) is None
