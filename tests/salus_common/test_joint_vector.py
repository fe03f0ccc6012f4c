import math

import numpy as np
import pytest

from salus_common.joint_vector import JointVectorError, clamp_to_limits, joint_vector, limit_target

NAMES = ("j1", "j2", "f1")
LOWER, UPPER = (-1.0, -2.0, 0.0), (1.0, 2.0, 0.04)


def test_reorders_by_name():
    np.testing.assert_allclose(joint_vector(["f1", "j2", "j1"], [0.04, 1.5, -0.5], NAMES), [-0.5, 1.5, 0.04])


def test_clamps_small_overshoot_and_refuses_large_one():
    vector = joint_vector(["f1", "j2", "j1"], [0.045, 1.5, -1.02], NAMES)
    np.testing.assert_allclose(
        clamp_to_limits(vector, NAMES, LOWER, UPPER, tolerance=0.05), [-1.0, 1.5, 0.04]
    )
    with pytest.raises(JointVectorError) as caught:
        clamp_to_limits(np.array([3.0, 0.0, 0.0]), NAMES, LOWER, UPPER, tolerance=0.05)
    assert caught.value.reason == "out_of_range" and "j1" in caught.value.detail


@pytest.mark.parametrize(
    ("names", "positions", "reason"),
    [
        (["j1", "j2"], [0.0, 0.0, 0.0], "count_mismatch"),
        (["j1", "j2"], [0.0, 0.0], "missing_joints"),
        (["j1", "j2", "f1", "extra"], [0.0] * 4, "unknown_joints"),
        (["j1", "j1", "f1"], [0.0] * 3, "duplicate_joints"),
        (["j1", "j2", "f1"], [0.0, math.nan, 0.0], "non_finite"),
        (["j1", "j2", "f1"], [0.0, math.inf, 0.0], "non_finite"),
    ],
)
def test_rejects_malformed_vectors_with_a_reason(names, positions, reason):
    with pytest.raises(JointVectorError) as caught:
        joint_vector(names, positions, NAMES)
    assert caught.value.reason == reason
    assert reason in str(caught.value)


def test_non_finite_values_pass_where_nan_means_not_measured():
    vector = joint_vector(["j1", "j2", "f1"], [0.0, math.nan, 0.0], NAMES, require_finite=False)
    assert math.isnan(vector[1])


def test_targets_are_clamped_to_the_range_and_rate_limited():
    lower, upper, step = np.array([-1.0, 0.0]), np.array([1.0, 0.04]), np.array([0.2, 0.01])
    target, changed = limit_target(np.array([5.0, 0.035]), np.array([0.9, 0.03]), lower, upper, step)
    np.testing.assert_allclose(target, [1.0, 0.035])  # range wins over the reachable 1.1
    assert changed
    target, changed = limit_target(np.array([-0.5, 0.0]), np.array([0.0, 0.03]), lower, upper, step)
    np.testing.assert_allclose(target, [-0.2, 0.02])  # one period's travel from the reference
    assert changed
    target, changed = limit_target(np.array([0.1, 0.03]), np.array([0.0, 0.03]), lower, upper, step)
    np.testing.assert_array_equal(target, [0.1, 0.03])
    assert not changed
