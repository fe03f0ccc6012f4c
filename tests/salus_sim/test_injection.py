"""Injection config validation and per-episode sampling (no simulator)."""

import json
import math

import numpy as np
import pytest

from salus_sim.core.injection import INJECTION_TYPES, InjectionConfig, sample_perturbations
from salus_sim.core.pick_place import SimConfig
from salus_sim.core.scene import BIN_POS

ALL_ON = InjectionConfig().with_enabled(*INJECTION_TYPES)


def sample(config: InjectionConfig, seed: int):
    return sample_perturbations(config, np.random.default_rng(seed))


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"push": {"magnitude": [1, 2]}}, "injection.push.magnitude"),
        ({"pushh": {}}, "injection.pushh"),
        ({"push": {"enabled": "yes"}}, "injection.push.enabled"),
        ({"push": {"target": "table"}}, "injection.push.target"),
        ({"push": {"magnitude_range_n": [5, 1]}}, "injection.push.magnitude_range_n"),
        ({"push": {"time_window_s": [1.0]}}, "injection.push.time_window_s"),
        ({"mass": {"scale_range": [0, 2]}}, "injection.mass.scale_range"),
        ({"friction": {"scale_range": "low"}}, "injection.friction.scale_range"),
        ({"action_noise": {"std_rad": -0.1}}, "injection.action_noise.std_rad"),
        ({"action_delay": {"steps": 1.5}}, "injection.action_delay.steps"),
        ({"action_delay": {"steps": -1}}, "injection.action_delay.steps"),
        ({"obstacle": {"half_size": [0.01, 0.1]}}, "injection.obstacle.half_size"),
        ({"gripper_fault": {"delay_range_s": [math.nan, 1.0]}}, "injection.gripper_fault.delay_range_s"),
        ({"cube_pose": {"x_range": [0.0, 2.0]}}, "injection.cube_pose.x_range"),
    ],
)
def test_from_dict_rejects_unknown_keys_and_bad_values_naming_the_key(data, key):
    with pytest.raises(ValueError, match=key.replace(".", r"\.")):
        InjectionConfig.from_dict(data)


def test_sim_config_from_dict_names_nested_keys():
    with pytest.raises(ValueError, match=r"label\.max_duration_s"):
        SimConfig.from_dict({"label": {"max_duration_s": 0}})
    with pytest.raises(ValueError, match="physics_dtt"):
        SimConfig.from_dict({"physics_dtt": 0.001})
    with pytest.raises(ValueError, match="control_dt"):
        SimConfig.from_dict({"control_dt": 0.0033})
    with pytest.raises(ValueError, match=r"injection\.obstacle\.enabled"):
        SimConfig.from_dict({"injection": {"obstacle": {"enabled": 1}}})
    with pytest.raises(ValueError, match="cameras"):
        SimConfig.from_dict({"cameras": ["front", "side"]})


def test_config_round_trips_through_plain_dicts():
    config = InjectionConfig.from_dict(
        {"push": {"enabled": True, "target": "arm", "magnitude_range_n": [1, 3]}}
    )
    assert config.push.magnitude_range_n == (1.0, 3.0)
    assert InjectionConfig.from_dict(config.to_dict()) == config
    sim_config = SimConfig(injection=config, image_width=64)
    assert SimConfig.from_dict(json.loads(json.dumps(sim_config.to_dict()))) == sim_config


def test_same_seed_same_perturbations_and_different_seeds_differ():
    first, again = sample(ALL_ON, 7), sample(ALL_ON, 7)
    assert first == again
    assert json.dumps(first.to_dict()) == json.dumps(again.to_dict())
    assert sample(ALL_ON, 8).to_dict() != first.to_dict()


def test_enabling_a_type_does_not_change_the_cube_pose_of_a_seed():
    nominal, injected = sample(InjectionConfig(), 3), sample(ALL_ON, 3)
    assert nominal.cube_xy == injected.cube_xy and nominal.cube_yaw == injected.cube_yaw


def test_defaults_inject_nothing_but_the_nominal_cube_pose():
    pert = sample(InjectionConfig(), 0)
    assert pert.active_types() == []
    assert (pert.push, pert.obstacle, pert.gripper_fault_delay_s) == (None, None, None)
    assert (pert.friction_scale, pert.mass_scale, pert.action_noise_std_rad, pert.action_delay_steps) == (
        1.0,
        1.0,
        0.0,
        0,
    )


def test_active_types_and_json_of_everything_enabled():
    pert = sample(ALL_ON, 1)
    assert pert.active_types() == [t for t in INJECTION_TYPES if t != "cube_pose"]
    decoded = json.loads(json.dumps(pert.to_dict()))
    assert decoded["push"]["target"] == "cube" and len(decoded["obstacle"]["pos"]) == 3


def test_cube_pose_disabled_uses_the_middle_of_the_ranges():
    config = InjectionConfig.from_dict({"cube_pose": {"enabled": False, "x_range": [0.4, 0.6]}})
    pert = sample(config, 5)
    assert pert.cube_xy[0] == pytest.approx(0.5) and pert.cube_yaw == pytest.approx(0.0)


def within(value: float, bounds) -> bool:
    return bounds[0] - 1e-12 <= value <= bounds[1] + 1e-12


def test_every_type_samples_within_its_ranges():
    config = ALL_ON.with_enabled(
        push={"time_window_s": [1.0, 2.0], "magnitude_range_n": [3.0, 4.0], "duration_s": 0.3},
        friction={"scale_range": [0.2, 0.3]},
        mass={"scale_range": [2.0, 5.0]},
        action_noise={"std_rad": 0.05},
        action_delay={"steps": 3},
        obstacle={"path_fraction_range": [0.4, 0.6], "lateral_offset_range": [-0.01, 0.01]},
        gripper_fault={"delay_range_s": [0.5, 0.7]},
    )
    angles = []
    for seed in range(60):
        p = sample(config, seed)
        assert within(p.cube_xy[0], config.cube_pose.x_range) and within(
            p.cube_xy[1], config.cube_pose.y_range
        )
        assert within(p.cube_yaw, config.cube_pose.yaw_range)
        assert within(p.push.start_s, (1.0, 2.0)) and p.push.duration_s == 0.3
        assert within(math.hypot(*p.push.force_xy), (3.0, 4.0))
        angles.append(math.atan2(p.push.force_xy[1], p.push.force_xy[0]))
        assert within(p.friction_scale, (0.2, 0.3)) and within(p.mass_scale, (2.0, 5.0))
        assert p.action_noise_std_rad == 0.05 and p.action_delay_steps == 3
        assert within(p.gripper_fault_delay_s, (0.5, 0.7))
        check_obstacle_on_the_path(p, config)
    assert max(angles) - min(angles) > 4.0  # directions cover the circle, not one fixed push


def check_obstacle_on_the_path(p, config):
    start, end = np.array(p.cube_xy), np.array(BIN_POS[:2])
    path = end - start
    rel = np.array(p.obstacle.pos[:2]) - start
    fraction = rel @ path / (path @ path)
    unit = path / np.linalg.norm(path)
    lateral = abs(unit[0] * rel[1] - unit[1] * rel[0])
    assert within(fraction, (0.4, 0.6)) and lateral <= 0.01 + 1e-9
    assert p.obstacle.pos[2] == pytest.approx(config.obstacle.half_size[2])  # standing on the table
    assert p.obstacle.yaw == pytest.approx(math.atan2(path[1], path[0]))


def test_with_enabled_rejects_unknown_types():
    with pytest.raises(ValueError, match="gravity"):
        InjectionConfig().with_enabled("gravity")
