"""identity.mismatches: the bench's serials against what instruments answer, the plan's DUT
against what the gNB reports."""

from types import SimpleNamespace

import pytest

from fivegbench.identity import mismatches

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
