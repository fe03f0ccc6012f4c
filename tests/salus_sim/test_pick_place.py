"""PickPlaceSim: reset/step/render contracts, determinism, limits and model structure."""

import numpy as np
import pytest

from salus_sim.core import panda_model as pm
from salus_sim.core.injection import InjectionConfig
from salus_sim.core.pick_place import CAMERA_NAMES, JOINT_NAMES, PickPlaceSim, SimConfig

SMALL = SimConfig(image_width=64, image_height=48)
HOME = np.array(pm.HOME_QPOS)


@pytest.fixture(scope="module")
def sim():
    with PickPlaceSim(SMALL) as s:
        yield s


def test_names_defined_once():
    arm = tuple(f"panda_joint{i}" for i in range(1, 8))
    assert (*arm, "panda_finger_joint1", "panda_finger_joint2") == JOINT_NAMES
    assert CAMERA_NAMES == ("front", "wrist")


def test_defaults():
    c = SimConfig()
    assert (c.physics_dt, c.control_dt, c.image_width, c.image_height, c.shadows) == (
        0.002,
        0.1,
        224,
        224,
        False,
    )
    assert c.substeps == 50 and c.label.max_duration_s == 20.0


def test_reset_puts_the_arm_home_and_the_cube_on_the_table(sim):
    pert = sim.reset(3)
    assert sim.time == 0.0 and sim.outcome is None and sim.onset_time is None and not sim.grasped
    np.testing.assert_allclose(sim.joint_positions(), HOME)
    pos, quat = sim.cube_pose()
    assert pos.shape == (3,) and quat.shape == (4,)
    np.testing.assert_allclose(pos[:2], pert.cube_xy)
    assert np.linalg.norm(quat) == pytest.approx(1.0)
    assert sim.perturbations is pert
    np.testing.assert_allclose(sim.bin_position(), [0.45, 0.30, 0.0])


def test_step_shapes_and_time(sim):
    sim.reset(0)
    sim.step(HOME)
    assert sim.time == pytest.approx(0.1)
    for values in (sim.joint_positions(), sim.joint_velocities(), sim.joint_efforts()):
        assert values.shape == (9,) and values.dtype == np.float64 and np.all(np.isfinite(values))
    names, lower, upper = sim.joint_limits()
    assert names == JOINT_NAMES and len(lower) == len(upper) == 9 and upper[7] == pm.FINGER_OPEN


def test_holding_home_keeps_everything_still(sim):
    sim.reset(1)
    cube_before = sim.cube_pose()[0]
    for _ in range(10):
        sim.step(HOME)
    assert np.abs(sim.joint_positions() - HOME).max() < 1e-3
    assert np.linalg.norm(sim.cube_pose()[0] - cube_before) < 2e-3
    assert sim.outcome is None


@pytest.mark.parametrize("bad", [np.zeros(7), np.zeros((9, 1)), np.full(9, np.nan)])
def test_step_rejects_malformed_targets(sim, bad):
    sim.reset(0)
    with pytest.raises(ValueError, match="joint_targets"):
        sim.step(bad)


def test_joint_velocity_limit_bounds_a_large_target_jump(sim):
    sim.reset(0)
    target = HOME.copy()
    target[0] += 1.5
    sim.step(target)
    moved = sim.joint_positions()[0] - HOME[0]
    assert 0.05 < moved <= pm.ARM_VELOCITY_LIMIT[0] * 0.1 + 1e-3


def test_render_shapes_dtype_and_content(sim):
    sim.reset(0)
    for camera in CAMERA_NAMES:
        image = sim.render(camera)
        assert image.shape == (48, 64, 3) and image.dtype == np.uint8
        assert image.std() > 5  # a scene, not a blank frame
    with pytest.raises(ValueError, match="side"):
        sim.render("side")


def test_front_camera_sees_the_red_cube(sim):
    sim.reset(0)
    image = sim.render("front").astype(int)
    red = (image[..., 0] > 150) & (image[..., 1] < 80) & (image[..., 2] < 80)
    assert red.sum() >= 2


def test_camera_intrinsics(sim):
    fx, fy, cx, cy = sim.camera_intrinsics("front")
    assert fx == fy and fx > 0 and (cx, cy) == (31.5, 23.5)
    pos, quat = sim.camera_pose("wrist")
    assert pos.shape == (3,) and np.linalg.norm(quat) == pytest.approx(1.0)


def test_close_frees_the_renderer_and_rendering_recreates_it():
    sim = PickPlaceSim(SMALL)
    first = sim.render("wrist")
    sim.close()
    assert sim._renderer is None
    np.testing.assert_array_equal(sim.render("wrist"), first)
    sim.close()


def rollout_states(sim: PickPlaceSim, seed: int, steps: int = 15) -> np.ndarray:
    sim.reset(seed)
    rng = np.random.default_rng(123)
    states = []
    for _ in range(steps):
        sim.step(HOME + np.concatenate([rng.normal(0, 0.05, 7), [0.0, 0.0]]))
        states.append(np.concatenate([sim.joint_positions(), sim.cube_pose()[0]]))
    return np.array(states)


def test_same_seed_and_commands_give_identical_trajectories_regardless_of_history():
    config = SimConfig(
        image_width=32, image_height=32, injection=InjectionConfig().with_enabled("action_noise")
    )
    a, b = PickPlaceSim(config), PickPlaceSim(config)
    reference = rollout_states(a, 4)
    rollout_states(b, 9)  # a different episode first
    np.testing.assert_array_equal(rollout_states(b, 4), reference)
    assert not np.array_equal(rollout_states(a, 5), reference)  # the seed matters (noise, cube pose)


def test_model_is_rebuilt_only_when_the_obstacle_changes():
    plain = PickPlaceSim(SimConfig(image_width=32, image_height=32))
    model = plain.model
    plain.reset(1)
    plain.reset(2)
    assert plain.model is model
    with_obstacle = PickPlaceSim(SimConfig(injection=InjectionConfig().with_enabled("obstacle")))
    with_obstacle.reset(1)
    first = with_obstacle.model
    with_obstacle.reset(1)
    assert with_obstacle.model is first
    with_obstacle.reset(2)
    assert with_obstacle.model is not first
    assert with_obstacle.model.body("obstacle").id > 0


def test_arm_geoms_never_collide_with_each_other_but_do_with_the_world(sim):
    m = sim.model
    arm_bodies = {m.body(n).id for n in (*pm.LINK_NAMES, pm.HAND_BODY, *pm.FINGER_BODIES)}
    arm = [g for g in range(m.ngeom) if m.geom_bodyid[g] in arm_bodies]
    world = [m.geom(n).id for n in ("table_top", "bin_wall_px", "cube_geom")]

    def collide(a: int, b: int) -> bool:
        return bool(
            (m.geom_contype[a] & m.geom_conaffinity[b]) or (m.geom_contype[b] & m.geom_conaffinity[a])
        )

    assert len(arm) >= 15
    assert not any(collide(a, b) for a in arm for b in arm)
    assert all(collide(a, w) for a in arm for w in world)


def test_arm_bodies_are_gravity_compensated(sim):
    m = sim.model
    for name in (*pm.LINK_NAMES[1:], pm.HAND_BODY):
        assert m.body_gravcomp[m.body(name).id] == 1.0
