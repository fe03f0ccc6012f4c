"""The robot profile every node shares: joints (names, limits), cameras and the control rate, stated once.

Nodes declare these as ``robot.*`` parameters; ``config/robots/<profile>.yaml`` sets them for all nodes at
once (``/**`` wildcard), so MuJoCo, Isaac Sim and a real Franka differ by a profile file, not code.
Order matters: joint ``i`` of every state and action vector is ``joint_names[i]`` (7 arm joints, then 2
fingers), and so are the limit lists.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from salus_common.config import from_dict, setting

ARM_DOF = 7
FINGER_DOF = 2

# Franka Panda, from Franka's published datasheet (rad, rad/s; fingers m, m/s).
PANDA_JOINT_NAMES: tuple[str, ...] = (
    *(f"panda_joint{i}" for i in range(1, ARM_DOF + 1)),
    "panda_finger_joint1",
    "panda_finger_joint2",
)
PANDA_POSITION_LOWER: tuple[float, ...] = (
    -2.8973,
    -1.7628,
    -2.8973,
    -3.0718,
    -2.8973,
    -0.0175,
    -2.8973,
    0.0,
    0.0,
)
PANDA_POSITION_UPPER: tuple[float, ...] = (
    2.8973,
    1.7628,
    2.8973,
    -0.0698,
    2.8973,
    3.7525,
    2.8973,
    0.04,
    0.04,
)
PANDA_VELOCITY_LIMIT: tuple[float, ...] = (2.175, 2.175, 2.175, 2.175, 2.61, 2.61, 2.61, 0.1, 0.1)


@dataclass(frozen=True)
class RobotProfile:
    name: str = setting("panda_mujoco", "profile name, for logs and recordings")
    joint_names: tuple[str, ...] = setting(
        PANDA_JOINT_NAMES, "commanded joints in action order: 7 arm joints, then the 2 finger joints"
    )
    position_lower: tuple[float, ...] = setting(
        PANDA_POSITION_LOWER, "lower position limit per joint, in joint_names order (rad; fingers m)"
    )
    position_upper: tuple[float, ...] = setting(
        PANDA_POSITION_UPPER, "upper position limit per joint, in joint_names order (rad; fingers m)"
    )
    velocity_limit: tuple[float, ...] = setting(
        PANDA_VELOCITY_LIMIT, "speed limit per joint, in joint_names order (rad/s; fingers m/s)"
    )
    cameras: tuple[str, ...] = setting(("front", "wrist"), "camera names; images on /camera/<name>/image_raw")
    control_dt: float = setting(
        0.1,
        "control period (s): one observation and one command per period, for every node",
        low=0.001,
        high=1.0,
    )

    def __post_init__(self) -> None:
        joints = len(self.joint_names)
        if joints != ARM_DOF + FINGER_DOF:
            raise ValueError(
                f"joint_names must list {ARM_DOF} arm joints and {FINGER_DOF} finger joints, "
                f"got {joints}: {list(self.joint_names)}"
            )
        if len(set(self.joint_names)) != joints:
            raise ValueError(f"joint_names has duplicates: {list(self.joint_names)}")
        for field_name in ("position_lower", "position_upper", "velocity_limit"):
            if len(getattr(self, field_name)) != joints:
                raise ValueError(f"{field_name} must have one value per joint ({joints})")
        bad = [
            n
            for n, lo, hi in zip(self.joint_names, self.position_lower, self.position_upper, strict=True)
            if lo >= hi
        ]
        if bad:
            raise ValueError(f"position_lower must be below position_upper, not for {bad}")
        if any(v <= 0 for v in self.velocity_limit):
            raise ValueError(f"velocity_limit must be positive, got {list(self.velocity_limit)}")
        if not self.cameras or len(set(self.cameras)) != len(self.cameras):
            raise ValueError(f"cameras must name at least one camera, each once, got {list(self.cameras)}")

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None) -> RobotProfile:
        return from_dict(cls, values, "robot")

    @property
    def control_rate_hz(self) -> float:
        return 1.0 / self.control_dt

    @property
    def lower(self) -> np.ndarray:
        return np.asarray(self.position_lower, dtype=np.float64)

    @property
    def upper(self) -> np.ndarray:
        return np.asarray(self.position_upper, dtype=np.float64)

    @property
    def max_step(self) -> np.ndarray:
        """The largest position change per control period each joint can make [rad or m]."""
        return np.asarray(self.velocity_limit, dtype=np.float64) * self.control_dt
