"""The MuJoCo pick-and-place sim as a :class:`salus_common.lockstep_env.LockstepEnv` (entry point ``mujoco``).

Same scene, labels and seeded injections as ``sim_node``; the caller steps it once per control period.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from salus_common.lockstep_env import EnvEpisode, EnvOutcome
from salus_common.robot_profile import RobotProfile
from salus_sim.core.injection import injection_from_cli
from salus_sim.core.pick_place import JOINT_NAMES, PickPlaceSim, SimConfig


class MujocoLockstepEnv:
    def __init__(self, config: SimConfig) -> None:
        self.sim = PickPlaceSim(config)
        self.cameras = tuple(config.cameras)
        self.joint_names = JOINT_NAMES
        self.control_dt = config.control_dt
        self.max_steps = math.ceil(config.label.max_duration_s / config.control_dt) + 1

    @property
    def time(self) -> float:
        return self.sim.time

    def reset(self, seed: int) -> EnvEpisode:
        perturbations = self.sim.reset(seed)
        return EnvEpisode(tuple(perturbations.active_types()), perturbations.to_dict())

    def render(self, camera: str) -> np.ndarray:
        return self.sim.render(camera)

    def joint_positions(self) -> np.ndarray:
        return self.sim.joint_positions()

    def step(self, action: np.ndarray) -> EnvOutcome | None:
        self.sim.step(action)
        if self.sim.outcome is None:
            return None
        outcome = self.sim.outcome.value
        onset = self.sim.onset_time if outcome != "success" and self.sim.onset_time is not None else math.nan
        return EnvOutcome(outcome, onset)

    def close(self) -> None:
        self.sim.close()


def make_env(
    image_hw: tuple[int, int], inject: Sequence[str] = (), overrides: Sequence[str] = ()
) -> MujocoLockstepEnv:
    """The lockstep sim with the default robot profile's cameras and control rate."""
    profile = RobotProfile()
    height, width = image_hw
    config = SimConfig(
        image_width=width,
        image_height=height,
        cameras=profile.cameras,
        control_dt=profile.control_dt,
        injection=injection_from_cli(list(inject), list(overrides)),
    )
    return MujocoLockstepEnv(config)
