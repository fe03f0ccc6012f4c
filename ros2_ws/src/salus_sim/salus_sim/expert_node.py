"""Scripted expert: solves pick-and-place over the same topics a policy uses, plus privileged cube pose.

Subscribes ``/joint_states``, ``/salus/sim/cube_pose``, ``/salus/sim/bin_pose`` and ``/salus/episode``;
publishes ``/joint_command`` once per received joint state while an episode runs. It generates
demonstrations, so it sees nothing a recorder could not record.

    ros2 run salus_sim expert_node --ros-args --params-file config/expert.yaml
"""

from __future__ import annotations

import numpy as np
from geometry_msgs.msg import PoseStamped
from rclpy.node import Node
from sensor_msgs.msg import JointState

from salus_msgs.msg import EpisodeEvent
from salus_sim import contract
from salus_sim.config_params import declare_config_parameters, read_config_dict
from salus_sim.core.expert import ExpertConfig, ScriptedExpert
from salus_sim.node_common import check_no_unknown_parameters, declare_robot_profile, run_node


class ExpertNode(Node):
    """Thin adapter around :class:`ScriptedExpert`: latest poses in, one joint command per state out."""

    def __init__(self) -> None:
        super().__init__("expert")
        self.joint_names = declare_robot_profile(self).joint_names
        declare_config_parameters(self, ExpertConfig)
        check_no_unknown_parameters(self)
        self.expert = ScriptedExpert(ExpertConfig.from_dict(read_config_dict(self, ExpertConfig)))
        self.cube: tuple[np.ndarray, np.ndarray] | None = None
        self.bin_position: np.ndarray | None = None
        self.active = False
        self.command_pub = self.create_publisher(
            JointState, contract.JOINT_COMMAND_TOPIC, contract.COMMAND_QOS
        )
        self.create_subscription(PoseStamped, contract.CUBE_POSE_TOPIC, self.on_cube, contract.SENSOR_SUB_QOS)
        self.create_subscription(PoseStamped, contract.BIN_POSE_TOPIC, self.on_bin, contract.SENSOR_SUB_QOS)
        self.create_subscription(EpisodeEvent, contract.EPISODE_TOPIC, self.on_episode, contract.EVENT_QOS)
        self.create_subscription(
            JointState, contract.JOINT_STATES_TOPIC, self.on_joint_states, contract.SENSOR_SUB_QOS
        )

    def on_episode(self, msg: EpisodeEvent) -> None:
        if msg.event == EpisodeEvent.EVENT_START:
            self.expert.reset()
            self.cube = None
            self.active = True
        else:
            self.active = False

    def on_cube(self, msg: PoseStamped) -> None:
        p, q = msg.pose.position, msg.pose.orientation
        self.cube = (np.array([p.x, p.y, p.z]), np.array([q.w, q.x, q.y, q.z]))

    def on_bin(self, msg: PoseStamped) -> None:
        p = msg.pose.position
        self.bin_position = np.array([p.x, p.y, p.z])

    def on_joint_states(self, msg: JointState) -> None:
        if not self.active or self.cube is None or self.bin_position is None:
            return
        by_name = dict(zip(msg.name, msg.position, strict=False))
        missing = [name for name in self.joint_names if name not in by_name]
        if missing:
            self.get_logger().warning(f"joint_states lacks {missing}; skipping", throttle_duration_sec=5.0)
            return
        positions = np.array([by_name[name] for name in self.joint_names])
        targets = self.expert.act(positions, self.cube[0], self.cube[1], self.bin_position)
        self.command_pub.publish(
            JointState(header=msg.header, name=list(self.joint_names), position=[float(v) for v in targets])
        )


def main(args: list[str] | None = None) -> None:
    run_node(ExpertNode, args)


if __name__ == "__main__":
    main()
