"""Panda model kinematics (against the published DH numbers) and the grip-site IK."""

import math

import numpy as np
import pytest

from salus_sim.core import panda_model as pm
from salus_sim.core.kinematics import PandaKinematics, grip_down_rotation, orientation_error


@pytest.fixture(scope="module")
def kin() -> PandaKinematics:
    return PandaKinematics()


def test_zero_posture_matches_the_dh_table(kin):
    # All joints at 0: the flange sits at x = a7 = 0.088, z = d1 + d3 + d5 - d_flange, pointing down.
    pos, rot = kin.forward(np.zeros(7))
    np.testing.assert_allclose(pos, [0.088, 0.0, 0.333 + 0.316 + 0.384 - 0.107 - pm.GRIP_Z], atol=1e-9)
    np.testing.assert_allclose(rot[:, 2], [0.0, 0.0, -1.0], atol=1e-9)


def test_home_posture_points_down_with_yaw_zero(kin):
    pos, rot = kin.forward(np.array(pm.HOME_ARM_QPOS))
    np.testing.assert_allclose(rot, grip_down_rotation(0.0), atol=1e-6)
    assert 0.25 < pos[0] < 0.35 and abs(pos[1]) < 1e-9 and 0.4 < pos[2] < 0.55


def test_grip_down_rotation_is_a_rotation_pointing_down():
    for yaw in (-1.0, 0.0, 0.7):
        rot = grip_down_rotation(yaw)
        np.testing.assert_allclose(rot @ rot.T, np.eye(3), atol=1e-12)
        assert np.linalg.det(rot) == pytest.approx(1.0)
        np.testing.assert_allclose(rot[:, 2], [0, 0, -1])
        assert math.atan2(rot[1, 0], rot[0, 0]) == pytest.approx(yaw)


def test_ik_reaches_workspace_targets_within_a_millimetre(kin):
    rng = np.random.default_rng(0)
    home = np.array(pm.HOME_ARM_QPOS)
    for _ in range(25):
        target = np.array([rng.uniform(0.35, 0.65), rng.uniform(-0.25, 0.35), rng.uniform(0.02, 0.35)])
        yaw = rng.uniform(-0.8, 0.8)
        result = kin.solve(target, yaw, home)
        assert result.converged
        pos, rot = kin.forward(result.q)
        assert np.linalg.norm(pos - target) < 1e-3
        assert np.linalg.norm(orientation_error(rot, grip_down_rotation(yaw))) < 1e-2
        assert np.all(result.q >= kin.lower) and np.all(result.q <= kin.upper)


def test_ik_respects_joint_limits_for_unreachable_targets(kin):
    result = kin.solve(np.array([1.5, 0.0, 0.2]), 0.0, np.array(pm.HOME_ARM_QPOS))
    assert not result.converged
    assert np.all(result.q >= kin.lower) and np.all(result.q <= kin.upper)


def test_null_space_pull_keeps_the_home_posture_for_the_home_target(kin):
    home = np.array(pm.HOME_ARM_QPOS)
    pos, _ = kin.forward(home)
    start = home + np.array([0.3, 0.0, -0.3, 0.0, 0.3, 0.0, 0.0])  # same task is reachable with a twist
    solutions = [kin.solve(pos, 0.0, start).q]
    for _ in range(30):  # repeated solves (as the expert does each step) drift back towards home
        solutions.append(kin.solve(pos, 0.0, solutions[-1]).q)
    assert np.linalg.norm(solutions[-1] - home) < np.linalg.norm(start - home) / 2
