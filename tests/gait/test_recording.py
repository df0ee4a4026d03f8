import numpy as np
import pytest

from gaitstream.gait.exceptions import RecordingError, TooShortError
from gaitstream.gait.recording import load_recording_csv, parse_axes, to_body_frame


def _write(tmp_path, text, name="rec.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def _good_rows(n=300, fs=100.0):
    t = np.arange(n) / fs
    return "\n".join(f"{x:.3f},0.1,0.2,9.81,1,2,3" for x in t)


HEADER = "time_s,acc_x,acc_y,acc_z,gyr_x,gyr_y,gyr_z\n"


def test_parse_axes_identity_and_permutation():
    assert np.array_equal(parse_axes("x=forward,y=left,z=up"), np.eye(3))
    m = parse_axes("x=up,y=right,z=forward")
    assert np.allclose(m @ [1, 0, 0], [0, 0, 1])  # sensor x is body up
    assert np.allclose(m @ [0, 1, 0], [0, -1, 0])  # sensor y is body right
    assert np.allclose(m @ [0, 0, 1], [1, 0, 0])


@pytest.mark.parametrize(
    "spec", ["x=forward,y=left", "x=forward,y=forward,z=up", "x=forward,y=left,z=down", "x=fwd,y=left,z=up"]
)
def test_parse_axes_rejects_bad_specs(spec):
    with pytest.raises(ValueError):
        parse_axes(spec)


def test_units_g_and_rads():
    acc, gyr = to_body_frame(np.array([[0, 0, 1.0]]), np.array([[np.pi, 0, 0]]), acc_unit="g", gyr_unit="rads")
    assert acc[0, 2] == pytest.approx(9.80665)
    assert gyr[0, 0] == pytest.approx(180.0)


def test_load_good_file_and_extra_columns_ignored(tmp_path):
    path = _write(
        tmp_path,
        "time_s,acc_x,acc_y,acc_z,gyr_x,gyr_y,gyr_z,other\n"
        + "\n".join(row + ",7" for row in _good_rows().splitlines()),
    )
    rec = load_recording_csv(path)
    assert rec.sampling_rate_hz == pytest.approx(100.0)
    assert rec.acc_mps2.shape == (300, 3) and rec.trunk_acc_mps2 is None
    assert rec.source == str(path)


def test_missing_column_is_named(tmp_path):
    path = _write(tmp_path, "time_s,acc_x,acc_y,acc_z,gyr_x,gyr_y\n1,2,3,4,5,6\n")
    with pytest.raises(RecordingError, match="gyr_z") as info:
        load_recording_csv(path)
    assert str(path) in str(info.value) and info.value.column == "gyr_z"


def test_non_monotonic_time_names_row(tmp_path):
    rows = _good_rows().splitlines()
    rows[10:20] = rows[10:20][::-1]  # lines 12-21 reversed: decreasing from line 13, not a few corrupt samples
    path = _write(tmp_path, HEADER + "\n".join(rows))
    with pytest.raises(RecordingError, match="non-monotonic") as info:
        load_recording_csv(path)
    assert info.value.row == 13


def test_a_few_corrupt_times_are_kept_for_the_engine_with_a_warning(tmp_path):
    rows = _good_rows().splitlines()
    rows[10] = rows[10].replace("0.100", "0.050", 1)  # line 12 of the file
    rows[40] = "nan" + rows[40][5:]
    path = _write(tmp_path, HEADER + "\n".join(rows))
    with pytest.warns(UserWarning, match="row 12"):
        rec = load_recording_csv(path)
    assert len(rec.time_s) == 300 and rec.sampling_rate_hz == pytest.approx(100.0)


def test_non_numeric_value_names_row_and_column(tmp_path):
    rows = _good_rows().splitlines()
    rows[4] = "0.040,0.1,abc,9.81,1,2,3"
    path = _write(tmp_path, HEADER + "\n".join(rows))
    with pytest.raises(RecordingError) as info:
        load_recording_csv(path)
    assert (info.value.row, info.value.column) == (6, "acc_y")
    assert "row 6" in str(info.value) and "acc_y" in str(info.value)


def test_too_short(tmp_path):
    path = _write(tmp_path, HEADER + _good_rows(50))
    with pytest.raises(TooShortError, match="too short"):
        load_recording_csv(path)


def test_empty_cells_become_nan_and_duplicate_times_are_left_to_the_engine(tmp_path):
    rows = _good_rows().splitlines()
    rows[20] = "0.200,,0.2,9.81,1,2,3"
    rows.insert(30, rows[29])
    path = _write(tmp_path, HEADER + "\n".join(rows))
    with pytest.warns(UserWarning, match="repeat the previous"):
        rec = load_recording_csv(path)
    assert np.isnan(rec.acc_mps2[20, 0]) and len(rec.time_s) == 301


def test_axes_option_applies(tmp_path):
    path = _write(tmp_path, HEADER + "\n".join(f"{i / 100:.2f},9.81,0,0,0,0,5" for i in range(300)))
    rec = load_recording_csv(path, axes="x=up,y=left,z=backward")
    assert np.allclose(rec.acc_mps2[0], [0, 0, 9.81])
    assert np.allclose(rec.gyr_dps[0], [-5, 0, 0])
