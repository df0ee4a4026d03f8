import pytest

from gaitstream.gait.classification import Classification, classify
from gaitstream.gait.config import GaitConfig

N = 12


@pytest.mark.parametrize(
    "left,right,lean_l,lean_r,label",
    [
        (3.0, 3.0, None, None, "normal"),
        (7.0, 3.0, None, None, "trendelenburg_left"),
        (3.0, 7.0, None, None, "trendelenburg_right"),
        (7.0, 6.0, None, None, "trendelenburg_bilateral"),
        (2.0, 3.0, 8.0, 2.0, "compensated_trendelenburg_left"),
        (2.0, 3.0, 2.0, 8.0, "compensated_trendelenburg_right"),
        (2.0, 3.0, 7.0, 9.0, "compensated_trendelenburg_right"),
        (7.0, 3.0, 8.0, 2.0, "trendelenburg_left"),
        (3.0, 3.0, 2.0, 2.0, "normal"),
    ],
)
def test_labels(left, right, lean_l, lean_r, label):
    leans_l = None if lean_l is None else [lean_l] * N
    leans_r = None if lean_r is None else [lean_r] * N
    result = classify([left] * N, [right] * N, leans_l, leans_r, GaitConfig())
    assert result == Classification(label) and str(result) == label


def test_insufficient_steps():
    assert classify([7.0] * 9, [3.0] * 20) == Classification.INSUFFICIENT_DATA
    assert classify([], []) == "insufficient_data"


def test_thresholds_are_configurable():
    config = GaitConfig(pelvic_drop_threshold_deg=8.0, min_steps_per_side=3)
    assert classify([7.0] * 3, [3.0] * 3, config=config) == "normal"
    assert classify([7.0] * 3, [3.0] * 3, config=GaitConfig(min_steps_per_side=3)) == "trendelenburg_left"


def test_flags_only_lean_dependent_labels_without_standing():
    from gaitstream.gait.classification import FLAG_TRUNK_LEAN_REFERENCE_WALKING, classification_flags

    for label in ("normal", "compensated_trendelenburg_left", "compensated_trendelenburg_right"):
        assert classification_flags(label, trunk=True, lean_reference="walking") == [FLAG_TRUNK_LEAN_REFERENCE_WALKING]
        assert classification_flags(label, trunk=True, lean_reference="standing") == []
        assert classification_flags(label, trunk=False, lean_reference=None) == []
    for label in ("trendelenburg_left", "trendelenburg_bilateral", "insufficient_data"):
        assert classification_flags(label, trunk=True, lean_reference="walking") == []
