import pytest

from fivegbench.nr.arfcn import arfcn_to_hz, hz_to_arfcn


@pytest.mark.parametrize(
    ("arfcn", "hz"),
    [
        (0, 0.0),
        (510000, 2550e6),
        (599999, 2999.995e6),
        (600000, 3000e6),
        (650000, 3750e6),
        (2016667, 24250.08e6),
    ],
)
def test_arfcn_and_frequency_follow_table_5_4_2_1_1(arfcn, hz):
    # F_REF = F_REF-Offs + ΔF_Global (N_REF - N_REF-Offs), TS 38.104 Table 5.4.2.1-1
    assert arfcn_to_hz(arfcn) == pytest.approx(hz, abs=1e-3)
    assert hz_to_arfcn(hz) == arfcn


def test_off_the_global_raster_and_out_of_range_are_refused():
    with pytest.raises(ValueError, match="not on the NR global raster"):
        hz_to_arfcn(3700e6 + 7e3)  # 15 kHz raster above 3 GHz
    with pytest.raises(ValueError, match="outside"):
        arfcn_to_hz(3_279_166)
