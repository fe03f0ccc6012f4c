"""Each injection type, set strongly enough, produces its failure label with a sensible onset."""

import numpy as np
import pytest

from salus_sim.core.expert import ScriptedExpert
from salus_sim.core.injection import InjectionConfig
from salus_sim.core.labels import Outcome
from salus_sim.core.pick_place import PickPlaceSim, SimConfig
from salus_sim.core.rollout import EpisodeResult, run_episode


@pytest.fixture(scope="module")
def expert():
    return ScriptedExpert()


def make_sim(kind: str, **params) -> PickPlaceSim:
    injection = InjectionConfig().with_enabled(kind, **{kind: params})
    return PickPlaceSim(SimConfig(image_width=32, image_height=32, injection=injection))


def episode(expert, kind: str, seed: int = 0, **params) -> tuple[EpisodeResult, PickPlaceSim]:
    sim = make_sim(kind, **params)
    return run_episode(sim, expert, seed), sim


@pytest.mark.parametrize("seed", [0, 1])
def test_gripper_fault_drops_the_cube_right_after_the_fault(expert, seed):
    result, sim = episode(expert, "gripper_fault", seed, delay_range_s=[1.2, 1.2])
    assert result.outcome is Outcome.DROP
    assert sim.gripper_fault_time == pytest.approx(sim.grasp_time + 1.2)
    assert 0.0 <= result.onset_time - sim.gripper_fault_time <= 0.3


def test_twenty_times_heavier_cube_is_not_a_success(expert):
    result, _ = episode(expert, "mass", scale_range=[20.0, 20.0])
    assert result.outcome not in (None, Outcome.SUCCESS)


def test_a_cube_just_too_heavy_for_the_grip_slips_out_during_the_carry(expert):
    result, sim = episode(expert, "mass", scale_range=[13.5, 13.5])
    assert result.outcome is Outcome.DROP
    assert result.onset_time > sim.grasp_time + 0.5  # lifted first, then lost


def test_very_slippery_cube_is_not_a_success(expert):
    result, _ = episode(expert, "friction", scale_range=[0.03, 0.03])
    assert result.outcome not in (None, Outcome.SUCCESS)


@pytest.mark.parametrize("seed", [0, 3])
def test_obstacle_in_the_path_is_hit_during_the_carry(expert, seed):
    result, sim = episode(expert, "obstacle", seed)
    assert result.outcome is Outcome.COLLISION
    assert result.onset_time > sim.grasp_time  # on the way to the bin, not at the grasp


def test_strong_push_on_the_held_cube_knocks_it_out_of_the_grasp(expert):
    result, sim = episode(expert, "push", magnitude_range_n=[30.0, 30.0], time_window_s=[5.5, 6.5])
    assert result.outcome in (Outcome.DROP, Outcome.OTHER)
    push = sim.perturbations.push
    assert push.start_s <= result.onset_time <= push.start_s + 0.3


def test_push_on_the_free_cube_before_the_grasp_knocks_it_off_the_table(expert):
    result, sim = episode(expert, "push", magnitude_range_n=[10.0, 10.0], time_window_s=[0.5, 1.0])
    assert result.outcome is Outcome.OTHER
    assert result.onset_time > sim.perturbations.push.start_s


def test_hard_shove_of_the_arm_during_the_descent_hits_the_table(expert):
    result, sim = episode(
        expert,
        "push",
        target="arm",
        magnitude_range_n=[300.0, 300.0],
        time_window_s=[2.6, 2.8],
        duration_s=0.3,
    )
    assert result.outcome is Outcome.COLLISION
    assert 0.0 <= result.onset_time - sim.perturbations.push.start_s <= 1.0


def test_large_action_noise_causes_failures(expert):
    sim = make_sim("action_noise", std_rad=0.1)
    outcomes = [run_episode(sim, expert, seed).outcome for seed in range(2)]
    assert all(o not in (None, Outcome.SUCCESS) for o in outcomes)


def test_action_delay_shifts_the_arm_motion_by_the_delay():
    delayed, plain = (
        make_sim("action_delay", steps=3),
        PickPlaceSim(SimConfig(image_width=32, image_height=32)),
    )
    expert_a, expert_b = ScriptedExpert(), ScriptedExpert()
    for sim in (delayed, plain):
        sim.reset(0)
    expert_a.reset()
    expert_b.reset()
    moved = {}
    for name, sim, exp in (("delayed", delayed, expert_a), ("plain", plain, expert_b)):
        start = sim.joint_positions()
        for step in range(8):
            cube_pos, cube_quat = sim.cube_pose()
            sim.step(exp.act(sim.joint_positions(), cube_pos, cube_quat, sim.bin_position()))
            if name not in moved and np.abs(sim.joint_positions() - start).max() > 1e-3:
                moved[name] = step
    assert moved["delayed"] - moved["plain"] == 3


def test_action_delay_alone_does_not_defeat_the_expert_but_slows_it(expert):
    delayed, _ = episode(expert, "action_delay", steps=3)
    assert delayed.outcome is Outcome.SUCCESS
    plain = run_episode(PickPlaceSim(SimConfig(image_width=32, image_height=32)), expert, 0)
    assert delayed.duration > plain.duration + 0.5


def test_cube_placed_at_the_far_corner_of_the_reachable_range_times_out(expert):
    result, _ = episode(
        expert, "cube_pose", x_range=[0.74, 0.75], y_range=[-0.45, -0.40], yaw_range=[0.7, 0.78]
    )
    assert result.outcome is Outcome.TIMEOUT


def test_action_delay_far_beyond_the_episode_pace_times_out(expert):
    result, _ = episode(expert, "action_delay", steps=120)
    assert result.outcome is Outcome.TIMEOUT
