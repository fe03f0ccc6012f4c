"""A privileged scripted pick-and-place expert: cube pose and bin position in, joint targets out.

It is written to run behind a transport (ROS topics) as well as in-process: each call sees only the joint
positions and the cube pose of that step (possibly one step old) and keeps its own state between calls. A
Cartesian setpoint moves towards the current phase's waypoint at a bounded speed and is converted to joint
targets by IK seeded with the previous solution, so consecutive targets are close and smooth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np

from salus_common import config as config_util
from salus_common.config import setting
from salus_sim.core import panda_model as pm
from salus_sim.core.kinematics import PandaKinematics


class Phase(StrEnum):
    APPROACH = "approach"  # above the cube, yaw aligned with a cube face
    DESCEND = "descend"  # down to grasp height
    CLOSE = "close"  # close the fingers and wait
    LIFT = "lift"  # straight up to carry height
    CARRY = "carry"  # above the bin
    LOWER = "lower"  # down to release height
    OPEN = "open"  # open the fingers and wait
    RETREAT = "retreat"  # up and away
    DONE = "done"


@dataclass(frozen=True)
class ExpertConfig:
    control_dt: float = setting(0.1, "period between act() calls (s)")
    travel_speed_mps: float = setting(0.25, "speed of free-space moves: approach, carry, retreat (m/s)")
    fine_speed_mps: float = setting(0.10, "speed of descend, lift and lower (m/s)")
    yaw_speed_radps: float = setting(1.2, "gripper yaw rate (rad/s)")
    hover_height_m: float = setting(0.10, "grip point above the cube center before descending (m)")
    grasp_height_m: float = setting(0.005, "grip point above the cube center when closing (m)")
    carry_height_m: float = setting(0.20, "grip point height above the table during the carry (m)")
    release_height_m: float = setting(0.125, "grip point height above the bin bottom when opening (m)")
    retreat_height_m: float = setting(0.30, "grip point height above the bin after the release (m)")
    close_time_s: float = setting(0.6, "wait after commanding the fingers closed (s)")
    open_time_s: float = setting(0.4, "wait after commanding the fingers open (s)")
    position_tolerance_m: float = setting(0.01, "measured grip point vs waypoint before moving on (m)")
    settle_timeout_s: float = setting(1.0, "move on anyway after this long at a waypoint (s)")

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if isinstance(value, bool) or not (
                isinstance(value, (int, float)) and math.isfinite(value) and value > 0
            ):
                raise ValueError(f"{name} must be a positive number, got {value!r}")

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> ExpertConfig:
        """Strict: unknown keys or bad values raise ValueError naming the key."""
        return config_util.from_dict(cls, data, "")

    def to_dict(self) -> dict[str, Any]:
        return config_util.to_dict(self)


def _yaw_of(quat_wxyz: np.ndarray) -> float:
    w, x, y, z = quat_wxyz
    return math.atan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))


def grasp_yaw(cube_quat: np.ndarray) -> float:
    """Gripper yaw aligned with a cube face, folded into [-pi/4, pi/4] (the cube is 90-degree symmetric)."""
    yaw = _yaw_of(np.asarray(cube_quat, dtype=float))
    return (yaw + math.pi / 4) % (math.pi / 2) - math.pi / 4


class ScriptedExpert:
    """Phase machine over Cartesian waypoints; call `reset()` at every episode start."""

    def __init__(self, config: ExpertConfig | None = None, kinematics: PandaKinematics | None = None) -> None:
        self.config = config or ExpertConfig()
        self.kinematics = kinematics or PandaKinematics()
        self.reset()

    def reset(self) -> None:
        self.phase = Phase.APPROACH
        self._phase_time = 0.0  # time spent in the current phase
        self._at_waypoint_time = 0.0  # time the setpoint has been sitting on the waypoint
        self._setpoint: np.ndarray | None = None
        self._yaw = 0.0
        self._q_cmd: np.ndarray | None = None
        self._grasp_xy: np.ndarray | None = None
        self._grasp_yaw = 0.0

    def act(
        self, joint_positions: np.ndarray, cube_pos: np.ndarray, cube_quat: np.ndarray, bin_pos: np.ndarray
    ) -> np.ndarray:
        """Joint targets (9,) for this control step from the measured joints (9,) and the object poses."""
        q = np.asarray(joint_positions, dtype=float)
        measured, _ = self.kinematics.forward(q[:7])
        if self._setpoint is None:
            self._start_from(q, measured)
        waypoint, target_yaw, speed, gripper = self._goal(
            np.asarray(cube_pos, float), np.asarray(cube_quat, float), np.asarray(bin_pos, float)
        )
        self._move_setpoint(waypoint, target_yaw, speed)
        self._q_cmd = self.kinematics.solve(self._setpoint, self._yaw, self._q_cmd).q
        self._advance_phase(measured, waypoint, target_yaw)
        return np.concatenate([self._q_cmd, [gripper, gripper]])

    def _start_from(self, q: np.ndarray, measured: np.ndarray) -> None:
        _, rot = self.kinematics.forward(q[:7])
        self._setpoint = measured.copy()
        self._yaw = math.atan2(rot[1, 0], rot[0, 0])
        self._q_cmd = q[:7].copy()

    def _goal(
        self, cube_pos: np.ndarray, cube_quat: np.ndarray, bin_pos: np.ndarray
    ) -> tuple[np.ndarray, float, float, float]:
        """(waypoint, yaw, speed, finger target) of the current phase."""
        cfg, phase = self.config, self.phase
        opened, closed = pm.FINGER_OPEN, 0.0
        if phase in (Phase.APPROACH, Phase.DESCEND):  # track the cube until the fingers close
            self._grasp_xy, self._grasp_yaw = cube_pos[:2].copy(), grasp_yaw(cube_quat)
            height = cfg.hover_height_m if phase is Phase.APPROACH else cfg.grasp_height_m
            speed = cfg.travel_speed_mps if phase is Phase.APPROACH else cfg.fine_speed_mps
            return np.append(cube_pos[:2], cube_pos[2] + height), self._grasp_yaw, speed, opened
        assert self._grasp_xy is not None
        bin_xy, base_z = bin_pos[:2], bin_pos[2]
        hold, yaw = self._setpoint.copy(), self._grasp_yaw
        above = {  # phase -> (xy, height above the table / bin bottom, speed, fingers)
            Phase.LIFT: (self._grasp_xy, cfg.carry_height_m, cfg.fine_speed_mps, closed),
            Phase.CARRY: (bin_xy, cfg.carry_height_m, cfg.travel_speed_mps, closed),
            Phase.LOWER: (bin_xy, cfg.release_height_m, cfg.fine_speed_mps, closed),
            Phase.OPEN: (bin_xy, cfg.release_height_m, cfg.fine_speed_mps, opened),
            Phase.RETREAT: (bin_xy, cfg.retreat_height_m, cfg.fine_speed_mps, opened),
            Phase.DONE: (bin_xy, cfg.retreat_height_m, cfg.fine_speed_mps, opened),
        }
        if phase is Phase.CLOSE:
            return hold, yaw, cfg.fine_speed_mps, closed
        xy, height, speed, fingers = above[phase]
        return np.append(xy, base_z + height), yaw, speed, fingers

    def _move_setpoint(self, waypoint: np.ndarray, yaw: float, speed: float) -> None:
        dt = self.config.control_dt
        delta = waypoint - self._setpoint
        distance = float(np.linalg.norm(delta))
        step = speed * dt
        self._setpoint = waypoint.copy() if distance <= step else self._setpoint + delta * (step / distance)
        yaw_step = self.config.yaw_speed_radps * dt
        self._yaw += float(np.clip(yaw - self._yaw, -yaw_step, yaw_step))

    def _advance_phase(self, measured: np.ndarray, waypoint: np.ndarray, yaw: float) -> None:
        cfg = self.config
        self._phase_time += cfg.control_dt
        on_waypoint = np.allclose(self._setpoint, waypoint) and abs(self._yaw - yaw) < 1e-6
        self._at_waypoint_time = self._at_waypoint_time + cfg.control_dt if on_waypoint else 0.0
        arrived = on_waypoint and (
            np.linalg.norm(measured - waypoint) < cfg.position_tolerance_m
            or self._at_waypoint_time >= cfg.settle_timeout_s
        )
        done = {
            Phase.CLOSE: self._phase_time >= cfg.close_time_s,
            Phase.OPEN: self._phase_time >= cfg.open_time_s,
            Phase.DONE: False,
        }.get(self.phase, arrived)
        if done:
            order = list(Phase)
            self.phase = order[order.index(self.phase) + 1]
            self._phase_time = 0.0
            self._at_waypoint_time = 0.0
