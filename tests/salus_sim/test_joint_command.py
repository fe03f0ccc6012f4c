import math

import numpy as np
import pytest

from salus_sim.core.joint_command import JointCommandError, JointLimits, parse_joint_command

NAMES = ("j1", "j2", "f1")
LIMITS = JointLimits(names=NAMES, lower=(-1.0, -2.0, 0.0), upper=(1.0, 2.0, 0.04))


def test_reorders_by_name_and_clamps_small_overshoot():
    targets = parse_joint_command(["f1", "j2", "j1"], [0.045, 1.5, -1.02], LIMITS)
    np.testing.assert_allclose(targets, [-1.0, 1.5, 0.04])


@pytest.mark.parametrize(
    ("names", "positions", "reason"),
    [
        (["j1", "j2"], [0.0, 0.0, 0.0], "count_mismatch"),
        (["j1", "j2"], [0.0, 0.0], "missing_joints"),
        (["j1", "j2", "f1", "extra"], [0.0] * 4, "unknown_joints"),
        (["j1", "j1", "f1"], [0.0] * 3, "duplicate_joints"),
        (["j1", "j2", "f1"], [0.0, math.nan, 0.0], "non_finite"),
        (["j1", "j2", "f1"], [0.0, math.inf, 0.0], "non_finite"),
        (["j1", "j2", "f1"], [3.0, 0.0, 0.0], "out_of_range"),
    ],
)
def test_rejects_malformed_commands_with_a_reason(names, positions, reason):
    with pytest.raises(JointCommandError) as caught:
        parse_joint_command(names, positions, LIMITS)
    assert caught.value.reason == reason
    assert reason in str(caught.value)
