"""The robot-side profile every node shares: which joints and cameras the robot has, by name.

Nodes declare these as ``robot.*`` parameters; ``config/robots/<profile>.yaml`` sets them for all nodes
at once (``/**`` wildcard), so MuJoCo, Isaac Sim and a real Franka differ by a profile file, not code.
Order matters: joint ``i`` of every action vector is ``joint_names[i]`` (7 arm joints, then 2 fingers).
"""

from __future__ import annotations

from dataclasses import dataclass, field

PANDA_JOINT_NAMES: tuple[str, ...] = (
    "panda_joint1",
    "panda_joint2",
    "panda_joint3",
    "panda_joint4",
    "panda_joint5",
    "panda_joint6",
    "panda_joint7",
    "panda_finger_joint1",
    "panda_finger_joint2",
)
ARM_DOF = 7


@dataclass(frozen=True)
class RobotProfile:
    name: str = field(default="panda_mujoco", metadata={"help": "profile name, for logs and recordings"})
    joint_names: tuple[str, ...] = field(
        default=PANDA_JOINT_NAMES,
        metadata={"help": "commanded joints in action order: 7 arm joints, then the 2 finger joints"},
    )
    cameras: tuple[str, ...] = field(
        default=("front", "wrist"), metadata={"help": "camera names; images on /camera/<name>/image_raw"}
    )

    def __post_init__(self) -> None:
        if len(self.joint_names) != ARM_DOF + 2:
            raise ValueError(
                f"robot.joint_names must list {ARM_DOF} arm joints and 2 finger joints, "
                f"got {len(self.joint_names)}: {list(self.joint_names)}"
            )
        if len(set(self.joint_names)) != len(self.joint_names):
            raise ValueError(f"robot.joint_names has duplicates: {list(self.joint_names)}")
        if not self.cameras:
            raise ValueError("robot.cameras must name at least one camera")

    @classmethod
    def from_dict(cls, values: dict) -> RobotProfile:
        unknown = set(values) - {"name", "joint_names", "cameras"}
        if unknown:
            raise ValueError(f"unknown robot profile keys: {sorted(unknown)}")
        return cls(**{k: tuple(v) if isinstance(v, list | tuple) else v for k, v in values.items()})
