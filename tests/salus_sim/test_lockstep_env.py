"""The MuJoCo sim offered as a lockstep environment through its entry point (what salus-eval-vla uses)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from salus_common.lockstep_env import available_envs, make_env


def test_the_installed_mujoco_env_steps_and_reports_its_episode():
    if "mujoco" not in available_envs():
        pytest.skip(
            "salus_sim is not installed as a package here (entry points come with the built workspace)"
        )
    env = make_env("mujoco", image_hw=(32, 48), inject=["mass"], overrides=["mass.scale_range=[2.0, 2.0]"])
    try:
        drawn = env.reset(3)
        assert "mass" in drawn.perturbations and drawn.perturbation_params
        assert env.render("front").shape == (32, 48, 3)
        start = env.joint_positions()
        assert start.shape == (len(env.joint_names),)
        outcome = None
        for _ in range(5):
            outcome = env.step(start)
        assert outcome is None and env.time == pytest.approx(5 * env.control_dt)
        assert env.max_steps == math.ceil(20.0 / env.control_dt) + 1
        np.testing.assert_allclose(env.joint_positions()[:7], start[:7], atol=0.05)
    finally:
        env.close()


def test_a_module_path_works_without_installation_and_unknown_names_list_the_installed():
    env = make_env("salus_sim.lockstep_env:make_env", image_hw=(16, 16))
    env.close()
    with pytest.raises(ValueError, match="no lockstep environment 'isaac'"):
        make_env("isaac", image_hw=(16, 16))
