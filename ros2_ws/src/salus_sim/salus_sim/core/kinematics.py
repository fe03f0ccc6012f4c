"""Forward and inverse kinematics of the Panda's `grip_site` (fingertip center), on an arm-only MuJoCo model.

IK is damped least squares on position + orientation, with a null-space pull towards a home posture (the arm
has one redundant joint) and clipping to the joint limits. The target orientation is "gripper pointing down"
with a yaw about world z, which is all top-down pick and place needs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import mujoco
import numpy as np

from salus_sim.core import panda_model as pm


def grip_down_rotation(yaw: float) -> np.ndarray:
    """Rotation of the grip site pointing down: its z axis is world -z, its x axis at `yaw` in the xy plane.

    At the home posture the site's x axis is world +x, i.e. yaw 0. The fingers close along the site's y axis.
    """
    c, s = math.cos(yaw), math.sin(yaw)
    x_axis = np.array([c, s, 0.0])
    z_axis = np.array([0.0, 0.0, -1.0])
    y_axis = np.cross(z_axis, x_axis)
    return np.column_stack([x_axis, y_axis, z_axis])


def orientation_error(current: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Rotation vector (world frame) that takes `current` to `target` (both 3x3)."""
    delta = target @ current.T
    quat = np.empty(4)
    mujoco.mju_mat2Quat(quat, delta.ravel())
    vel = np.empty(3)
    mujoco.mju_quat2Vel(vel, quat, 1.0)
    return vel


@dataclass(frozen=True)
class IKConfig:
    max_iterations: int = 60
    damping: float = 0.05  # DLS damping lambda
    orientation_weight: float = 0.3  # metres per radian: how much an orientation error counts vs position
    nullspace_gain: float = 0.2  # fraction of the home-posture error pulled per iteration
    tolerance_m: float = 5e-4
    tolerance_rad: float = 5e-3
    max_step_rad: float = 0.2  # per-iteration joint change cap, keeps the linearization honest
    limit_margin_rad: float = 0.02


@dataclass(frozen=True)
class IKResult:
    q: np.ndarray  # (7,) arm joint positions
    position_error: float  # m
    orientation_error: float  # rad
    converged: bool


class PandaKinematics:
    """FK/IK for the grip site; owns its own MjModel/MjData, so it never touches a simulator's state."""

    def __init__(self, config: IKConfig | None = None, home: tuple[float, ...] = pm.HOME_ARM_QPOS) -> None:
        self.config = config or IKConfig()
        self.model = mujoco.MjModel.from_xml_string(pm.standalone_xml())
        self.data = mujoco.MjData(self.model)
        self._site = self.model.site(pm.GRIP_SITE).id
        self._qadr = np.array([self.model.joint(n).qposadr[0] for n in pm.ARM_JOINT_NAMES])
        self._dofs = np.array([self.model.joint(n).dofadr[0] for n in pm.ARM_JOINT_NAMES])
        margin = self.config.limit_margin_rad
        self.lower = np.array([lo for lo, _ in pm.ARM_RANGE]) + margin
        self.upper = np.array([hi for _, hi in pm.ARM_RANGE]) - margin
        self.home = np.asarray(home, dtype=float)
        self._jacp = np.zeros((3, self.model.nv))
        self._jacr = np.zeros((3, self.model.nv))

    def forward(self, q_arm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Grip site (position (3,), rotation (3,3)) in the base frame for 7 arm joint positions."""
        self._set(q_arm)
        return self.data.site_xpos[self._site].copy(), self.data.site_xmat[self._site].reshape(3, 3).copy()

    def solve(self, position: np.ndarray, yaw: float, q_init: np.ndarray) -> IKResult:
        """Arm joints putting the grip site at `position`, pointing down with `yaw`, from `q_init`."""
        cfg = self.config
        target_rot = grip_down_rotation(yaw)
        q = np.clip(np.asarray(q_init, dtype=float)[:7], self.lower, self.upper)
        pos_err, rot_err = np.inf, np.inf
        for _ in range(cfg.max_iterations):
            self._set(q)
            err_p = np.asarray(position) - self.data.site_xpos[self._site]
            err_r = orientation_error(self.data.site_xmat[self._site].reshape(3, 3), target_rot)
            pos_err, rot_err = float(np.linalg.norm(err_p)), float(np.linalg.norm(err_r))
            if pos_err < cfg.tolerance_m and rot_err < cfg.tolerance_rad:
                break
            q = np.clip(q + self._step(err_p, err_r, q), self.lower, self.upper)
        converged = pos_err < 10 * cfg.tolerance_m and rot_err < 10 * cfg.tolerance_rad
        return IKResult(q=q, position_error=pos_err, orientation_error=rot_err, converged=converged)

    def _step(self, err_p: np.ndarray, err_r: np.ndarray, q: np.ndarray) -> np.ndarray:
        cfg = self.config
        mujoco.mj_jacSite(self.model, self.data, self._jacp, self._jacr, self._site)
        w = cfg.orientation_weight
        jac = np.vstack([self._jacp[:, self._dofs], w * self._jacr[:, self._dofs]])
        err = np.concatenate([err_p, w * err_r])
        jjt = jac @ jac.T + cfg.damping**2 * np.eye(6)
        pinv = jac.T @ np.linalg.solve(jjt, np.eye(6))
        dq = pinv @ err
        # The exact pseudo-inverse gives a true null-space projector (a damped one leaks into the task).
        null = np.eye(7) - np.linalg.pinv(jac, rcond=1e-4) @ jac
        dq += null @ (cfg.nullspace_gain * (self.home - q))
        scale = np.max(np.abs(dq)) / cfg.max_step_rad
        return dq / scale if scale > 1.0 else dq

    def _set(self, q_arm: np.ndarray) -> None:
        self.data.qpos[self._qadr] = q_arm[:7]
        mujoco.mj_kinematics(self.model, self.data)
        mujoco.mj_comPos(self.model, self.data)
