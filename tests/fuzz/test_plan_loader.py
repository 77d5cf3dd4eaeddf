"""The plan loader: any text gives a plan or one PlanError (file:line), never a crash or a hang."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fivegbench.errors import PlanError
from fivegbench.plan.load import parse_plan
from tests.fuzz.conftest import FUZZ, bounded, corpus, corpus_ids

VALID = """trial: t
dut: {vendor: VHT, model: gNodeB, serial: GNB-1, firmware: 2.3.1}
cell: {band: n78, center_frequency: 3750 MHz, bandwidth: 100 MHz, scs: 30 kHz,
       tdd_pattern: DDDSU, special_slot: "10:2:2", tx_power: 37 dBm, test_model: NR-FR1-TM1.1}
steps:
  - name: power
    measure: rf.power
    sweep: {tx_power: [37 dBm, 40 dBm]}
    limits: {channel_power: {min: 30 dBm, max: 50 dBm}}
"""


def load(text: str) -> None:
    with bounded():
        try:
            parse_plan(text, "fuzz.yaml")
        except PlanError as exc:
            assert str(exc).startswith("fuzz.yaml") and "\n" not in str(exc).strip()


@FUZZ
@given(st.text(max_size=300))
def test_any_text_is_a_plan_or_one_plan_error(text):
    load(text)


@FUZZ
@given(st.integers(0, len(VALID)), st.integers(0, 40), st.text(max_size=20))
def test_a_valid_plan_edited_anywhere_is_a_plan_or_one_plan_error(at, cut, insert):
    load(VALID[:at] + insert + VALID[at + cut :])


def test_the_unedited_plan_is_valid():
    assert parse_plan(VALID, "fuzz.yaml").plan.trial == "t"


@pytest.mark.parametrize("data", corpus("plan"), ids=corpus_ids("plan"))
def test_corpus(data):
    load(data.decode("utf-8", "surrogateescape"))
