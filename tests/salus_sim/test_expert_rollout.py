"""The scripted expert solves unperturbed episodes in the closed loop, also with one step of latency."""

import math

import numpy as np
import pytest

from salus_sim.core import panda_model as pm
from salus_sim.core.expert import ExpertConfig, Phase, ScriptedExpert, grasp_yaw
from salus_sim.core.labels import Outcome
from salus_sim.core.pick_place import PickPlaceSim, SimConfig
from salus_sim.core.rollout import run_episode


@pytest.fixture(scope="module")
def sim():
    with PickPlaceSim(SimConfig(image_width=32, image_height=32)) as s:
        yield s


@pytest.fixture(scope="module")
def expert():
    return ScriptedExpert()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_expert_succeeds_in_6_to_12_seconds(sim, expert, seed):
    result = run_episode(sim, expert, seed)
    assert result.outcome is Outcome.SUCCESS
    assert 6.0 <= result.duration <= 12.0
    assert result.onset_time <= result.duration
    assert result.steps == round(result.duration / sim.config.control_dt)
    cube, _ = sim.cube_pose()
    assert np.linalg.norm(cube[:2] - sim.bin_position()[:2]) < 0.08


@pytest.mark.parametrize("seed", [10, 11])
def test_expert_succeeds_with_one_step_of_observation_latency(sim, expert, seed):
    assert run_episode(sim, expert, seed, latency_steps=1).outcome is Outcome.SUCCESS


def test_max_steps_cuts_an_episode_short(sim, expert):
    result = run_episode(sim, expert, 0, max_steps=5)
    assert result.outcome is None and result.steps == 5 and result.duration == pytest.approx(0.5)
    assert result.to_dict()["outcome"] is None


def test_expert_targets_are_smooth_within_limits_and_walk_through_the_phases(sim):
    expert = ScriptedExpert()
    sim.reset(5)
    phases, previous = [], None
    lower, upper = np.array(sim.joint_limits()[1]), np.array(sim.joint_limits()[2])
    while sim.outcome is None:
        cube_pos, cube_quat = sim.cube_pose()
        targets = expert.act(sim.joint_positions(), cube_pos, cube_quat, sim.bin_position())
        assert targets.shape == (9,) and np.all(targets >= lower - 1e-9) and np.all(targets <= upper + 1e-9)
        if previous is not None:
            assert np.abs(targets[:7] - previous[:7]).max() < 0.25  # bounded Cartesian speed -> small steps
        previous = targets
        if not phases or phases[-1] != expert.phase:
            phases.append(expert.phase)
        sim.step(targets)
    assert sim.outcome is Outcome.SUCCESS
    assert phases[:7] == [
        Phase.APPROACH,
        Phase.DESCEND,
        Phase.CLOSE,
        Phase.LIFT,
        Phase.CARRY,
        Phase.LOWER,
        Phase.OPEN,
    ]


def test_grasp_yaw_folds_cube_symmetry_into_plus_minus_45_degrees():
    def quat(yaw: float) -> np.ndarray:
        return np.array([math.cos(yaw / 2), 0.0, 0.0, math.sin(yaw / 2)])

    assert grasp_yaw(quat(0.3)) == pytest.approx(0.3)
    assert grasp_yaw(quat(0.3 + math.pi / 2)) == pytest.approx(0.3)
    assert grasp_yaw(quat(-1.2)) == pytest.approx(-1.2 + math.pi / 2)
    assert abs(grasp_yaw(quat(2.9))) <= math.pi / 4 + 1e-12


def test_expert_config_is_strict():
    assert ExpertConfig.from_dict({"travel_speed_mps": 0.3}).travel_speed_mps == 0.3
    with pytest.raises(ValueError, match="travel_speed"):
        ExpertConfig.from_dict({"travel_speed": 0.3})
    with pytest.raises(ValueError, match="fine_speed_mps"):
        ExpertConfig(fine_speed_mps=0.0)


def test_expert_opens_the_gripper_at_start(expert):
    expert.reset()
    q = np.array(pm.HOME_QPOS)
    targets = expert.act(
        q, np.array([0.5, 0.0, 0.0225]), np.array([1.0, 0, 0, 0]), np.array([0.45, 0.3, 0.0])
    )
    assert targets[7] == targets[8] == pm.FINGER_OPEN
    assert expert.phase is Phase.APPROACH
