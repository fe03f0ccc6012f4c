"""Scripted expert: solves pick-and-place over the same topics a policy uses, plus privileged cube pose.

Subscribes ``/joint_states``, ``/salus/sim/cube_pose``, ``/salus/sim/bin_pose`` and ``/salus/episode``;
publishes ``/joint_command`` once per received joint state while an episode runs, computed with the cube
pose of the same tick. It generates demonstrations, so it sees nothing a recorder could not record.

    ros2 run salus_sim expert_node --ros-args --params-file config/expert.yaml
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
from geometry_msgs.msg import PoseStamped
from rclpy.node import Node
from sensor_msgs.msg import JointState

from salus_common import contract
from salus_common.joint_vector import JointVectorError, joint_vector
from salus_common.node_runner import run_node
from salus_common.parameters import (
    check_no_unknown_parameters,
    declare_config_parameters,
    declare_robot_profile,
    read_config_dict,
)
from salus_common.qos import create_publisher, create_subscription
from salus_common.stamps import stamp_ns
from salus_msgs.msg import EpisodeEvent
from salus_sim.core.expert import ExpertConfig, ScriptedExpert

# The expert acts once per control period of the robot profile.
_FROM_PROFILE = frozenset({"control_dt"})


class ExpertNode(Node):
    """Thin adapter around :class:`ScriptedExpert`: latest poses in, one joint command per state out."""

    def __init__(self) -> None:
        super().__init__("expert")
        profile = declare_robot_profile(self)
        self.joint_names = profile.joint_names
        declare_config_parameters(self, ExpertConfig, exclude=_FROM_PROFILE)
        check_no_unknown_parameters(self)
        config = read_config_dict(self, ExpertConfig, exclude=_FROM_PROFILE)
        self.expert = ScriptedExpert(ExpertConfig.from_dict({**config, "control_dt": profile.control_dt}))
        # The expert answers each joint state with the cube pose of the same tick (stamp), whichever of the
        # two arrives last, so the same seed gives the same commands (the graph's sync mode replays exactly).
        self.cubes: OrderedDict[int, tuple[np.ndarray, np.ndarray]] = OrderedDict()  # stamp -> pose
        self.states: OrderedDict[int, JointState] = OrderedDict()  # unanswered joint states by stamp
        self.answered = -1  # newest stamp answered: never answer an older one
        self.bin_position: np.ndarray | None = None
        self.active = False
        self.command_pub = create_publisher(self, JointState, contract.JOINT_COMMAND_TOPIC)
        for topic, msg_type, callback in (
            (contract.CUBE_POSE_TOPIC, PoseStamped, self.on_cube),
            (contract.BIN_POSE_TOPIC, PoseStamped, self.on_bin),
            (contract.EPISODE_TOPIC, EpisodeEvent, self.on_episode),
            (contract.JOINT_STATES_TOPIC, JointState, self.on_joint_states),
        ):
            create_subscription(self, msg_type, topic, callback)

    def on_episode(self, msg: EpisodeEvent) -> None:
        if msg.event == EpisodeEvent.EVENT_START:
            self.expert.reset()
            self.cubes.clear()
            self.states.clear()
            self.answered = -1
            self.active = True
        else:
            self.active = False

    def on_cube(self, msg: PoseStamped) -> None:
        p, q = msg.pose.position, msg.pose.orientation
        _keep(
            self.cubes,
            stamp_ns(msg.header.stamp),
            (np.array([p.x, p.y, p.z]), np.array([q.w, q.x, q.y, q.z])),
        )
        self.act_if_paired()

    def on_bin(self, msg: PoseStamped) -> None:
        p = msg.pose.position
        self.bin_position = np.array([p.x, p.y, p.z])

    def on_joint_states(self, msg: JointState) -> None:
        if self.active:
            _keep(self.states, stamp_ns(msg.header.stamp), msg)
            self.act_if_paired()

    def act_if_paired(self) -> None:
        """Answer the newest joint state whose cube pose is here (a lagging executor catches up)."""
        if self.bin_position is None:
            return
        paired = [stamp for stamp in self.states if stamp in self.cubes and stamp > self.answered]
        if not paired:
            return
        stamp = max(paired)
        msg = self.states[stamp]
        for old in [s for s in self.states if s <= stamp]:
            del self.states[old]
        self.answered = stamp
        try:
            positions = joint_vector(msg.name, msg.position, self.joint_names)
        except JointVectorError as err:
            self.get_logger().warning(f"skipping /joint_states: {err}", throttle_duration_sec=5.0)
            return
        cube_position, cube_orientation = self.cubes[stamp]
        targets = self.expert.act(positions, cube_position, cube_orientation, self.bin_position)
        self.command_pub.publish(
            JointState(header=msg.header, name=list(self.joint_names), position=[float(v) for v in targets])
        )


def _keep(buffer: OrderedDict, stamp: int, value: object, size: int = 8) -> None:
    buffer[stamp] = value
    while len(buffer) > size:
        buffer.popitem(last=False)


def main(args: list[str] | None = None) -> None:
    run_node(ExpertNode, args)


if __name__ == "__main__":
    main()
