"""Robot profiles: the Panda defaults, and every inconsistency refused naming the field."""

from __future__ import annotations

import numpy as np
import pytest

from salus_common.robot_profile import PANDA_JOINT_NAMES, RobotProfile


def test_the_default_profile_is_the_panda_at_10_hz():
    profile = RobotProfile()
    assert profile.joint_names == PANDA_JOINT_NAMES and len(profile.joint_names) == 9
    assert profile.control_rate_hz == pytest.approx(10.0)
    np.testing.assert_allclose(profile.max_step[:4], 0.2175)
    assert np.all(profile.lower < profile.upper)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"joint_names": list(PANDA_JOINT_NAMES[:8])}, "joint_names must list 7 arm joints"),
        ({"joint_names": [*PANDA_JOINT_NAMES[:8], PANDA_JOINT_NAMES[0]]}, "duplicates"),
        ({"position_lower": [0.0] * 8}, "position_lower must have one value per joint"),
        ({"position_lower": [5.0] * 9}, "position_lower must be below position_upper"),
        ({"velocity_limit": [0.0] * 9}, "velocity_limit must be positive"),
        ({"cameras": []}, "cameras must name at least one camera"),
        ({"control_dt": 0.0}, "robot.control_dt must be >= 0.001"),
        ({"contol_dt": 0.1}, "unknown key(s) robot.contol_dt"),
    ],
)
def test_inconsistent_profiles_fail_naming_the_field(values, message):
    with pytest.raises(ValueError) as caught:
        RobotProfile.from_dict(values)
    assert message in str(caught.value)
