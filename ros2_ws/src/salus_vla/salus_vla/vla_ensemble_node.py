"""VLA ensemble node: SmolVLA proposes each control step's action as a K-sample ensemble, with signals.

Subscribes the robot's cameras, ``/joint_states`` and ``/salus/episode``; per control step publishes
``/salus/proposal`` (ActionProposal: mean, std, the K samples), ``/salus/signals`` (the 12 SALUS signals)
and the mean action as a ``/joint_command``. The safety filter, when present, sits in the command path by
remapping this node's ``/joint_command`` (the VLA proposes; the filter alone commands).

    ros2 run salus_vla vla_ensemble_node --ros-args \
        -p checkpoint:=runs/train/tiny/checkpoints/last/pretrained_model
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Literal

import numpy as np
from rclpy.node import Node
from sensor_msgs.msg import Image, JointState

from salus_common import contract
from salus_common.config import setting
from salus_common.image_codec import ImageCodecError, image_to_rgb8
from salus_common.joint_vector import JointVectorError, joint_vector
from salus_common.names import SIGNAL_NAMES, TASK_INSTRUCTION
from salus_common.node_runner import run_node
from salus_common.parameters import check_no_unknown_parameters, declare_config, declare_robot_profile
from salus_common.qos import create_publisher, create_subscription
from salus_common.stamps import stamp_ns
from salus_msgs.msg import ActionProposal, EpisodeEvent, SalusSignals
from salus_vla.core.controller import ControlStep, VlaController
from salus_vla.core.policy_loader import check_features, load_policy
from salus_vla.observation_sync import StampedFrames


@dataclass(frozen=True)
class VlaNodeConfig:
    """Parameters of ``vla_ensemble`` (all read once at start-up)."""

    checkpoint: str = setting(
        "", "SmolVLA checkpoint: a local pretrained_model folder or a hub id (required)"
    )
    backbone_dir: str = setting(
        "", "local SmolVLM backbone replacing the checkpoint's (checkpoints moved between machines)"
    )
    task: str = setting(TASK_INSTRUCTION, "language instruction given to the VLA")
    num_samples: int = setting(5, "K: action samples per chunk, sharing one VLM prefix pass", low=1, high=256)
    n_action_steps: int = setting(
        0, "actions executed per chunk before the VLA is queried again (0 = checkpoint's)", low=0
    )
    num_flow_steps: int = setting(
        0, "flow-matching (Euler) steps per chunk (0 = checkpoint's, usually 10)", low=0
    )
    device: str = setting("cpu", "torch device: cpu, cuda, cuda:N")
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = setting(
        "auto", "VLM dtype: auto (as loaded), float32, bfloat16, float16"
    )
    seed: int = setting(0, "seed of the ensemble's noise generator", low=0)
    signal_window: int = setting(10, "steps in the trajectory-divergence window", low=1)
    sync: Literal["exact", "latest"] = setting(
        "exact",
        "exact: act when joint states and every camera share a stamp; latest: act on joint states with the "
        "newest images no older than max_image_age_s",
    )
    max_image_age_s: float = setting(0.25, "with sync=latest, the oldest image still used [s]", low=0.0)

    def __post_init__(self) -> None:
        if not self.checkpoint:
            raise ValueError("checkpoint is required (a pretrained_model folder or a hub id)")


class VlaEnsembleNode(Node):
    """Thin adapter: messages → :class:`VlaController` → proposal, signals and command messages."""

    def __init__(self) -> None:
        super().__init__("vla_ensemble")
        self.robot = declare_robot_profile(self)
        p = declare_config(self, VlaNodeConfig)
        check_no_unknown_parameters(self)
        loaded = load_policy(
            p.checkpoint,
            device=p.device,
            dtype=None if p.dtype == "auto" else p.dtype,
            backbone_dir=p.backbone_dir or None,
        )
        check_features(
            loaded,
            self.robot.cameras,
            state_dim=len(self.robot.joint_names),
            action_dim=len(self.robot.joint_names),
        )
        self.controller = VlaController(
            loaded,
            p.task,
            num_samples=p.num_samples,
            seed=p.seed,
            n_action_steps=p.n_action_steps or None,
            num_flow_steps=p.num_flow_steps or None,
            signal_window=p.signal_window,
        )
        self.model_id = str(p.checkpoint)
        self.frames = StampedFrames(
            self.robot.cameras, exact=p.sync == "exact", max_image_age_s=p.max_image_age_s
        )
        self.active = False
        self.rejected: Counter[str] = Counter()

        self.pub_proposal = create_publisher(self, ActionProposal, contract.PROPOSAL_TOPIC)
        self.pub_signals = create_publisher(self, SalusSignals, contract.SIGNALS_TOPIC)
        self.pub_command = create_publisher(self, JointState, contract.JOINT_COMMAND_TOPIC)
        create_subscription(self, EpisodeEvent, contract.EPISODE_TOPIC, self.on_episode)
        create_subscription(self, JointState, contract.JOINT_STATES_TOPIC, self.on_joint_states)
        for camera in self.robot.cameras:
            topic = contract.camera_image_topic(camera)
            create_subscription(self, Image, topic, lambda msg, cam=camera: self.on_image(cam, msg))
        self.get_logger().info(
            f"SmolVLA from {self.model_id} on {loaded.device} ({loaded.vlm_dtype}); "
            f"K={self.controller.num_samples}, {self.controller.n_action_steps} actions per chunk, "
            f"cameras {list(self.robot.cameras)}"
        )

    # --- inputs ----------------------------------------------------------------------------------------
    def on_episode(self, msg: EpisodeEvent) -> None:
        if msg.event == EpisodeEvent.EVENT_START:
            self.controller.reset()
            self.frames.clear()
            self.active = True
        else:
            self.active = False

    def on_image(self, camera: str, msg: Image) -> None:
        try:
            self.frames.add_image(camera, stamp_ns(msg.header.stamp), image_to_rgb8(msg))
        except ImageCodecError as err:
            self.reject(err.reason, f"{camera}: {err}")
            return
        self.act_if_ready()

    def on_joint_states(self, msg: JointState) -> None:
        try:
            state = joint_vector(msg.name, msg.position, self.robot.joint_names)
        except JointVectorError as err:
            self.reject(err.reason, f"/joint_states: {err.detail}")
            return
        self.frames.add_state(stamp_ns(msg.header.stamp), state, msg.header)
        self.act_if_ready()

    def reject(self, reason: str, detail: str) -> None:
        self.rejected[reason] += 1
        self.get_logger().warning(
            f"rejected input ({reason}): {detail} [{self.rejected.total()} so far]", throttle_duration_sec=2.0
        )

    # --- acting ----------------------------------------------------------------------------------------
    def act_if_ready(self) -> None:
        if not self.active:
            return
        frame = self.frames.pop_ready()
        if frame is None:
            return
        step = self.controller.step(frame.images, frame.state)
        self.publish(step, frame.header)

    def publish(self, step: ControlStep, header) -> None:
        names = list(self.robot.joint_names)
        k, dim = step.samples.shape
        self.pub_proposal.publish(
            ActionProposal(
                header=header,
                joint_names=names,
                mean=step.action.astype(np.float32).tolist(),
                std=step.std.astype(np.float32).tolist(),
                samples=step.samples.astype(np.float32).ravel().tolist(),
                num_samples=k,
                action_dim=dim,
                chunk_index=step.chunk_index,
                step_in_chunk=step.step_in_chunk,
                model_id=self.model_id,
            )
        )
        self.pub_signals.publish(
            SalusSignals(
                header=header,
                names=list(SIGNAL_NAMES),
                values=step.signals.astype(np.float32).tolist(),
                chunk_index=step.chunk_index,
            )
        )
        self.pub_command.publish(
            JointState(header=header, name=names, position=[float(v) for v in step.action])
        )
        if step.inference_ms > 0 and step.inference_ms > 1e3 * 0.5:
            self.get_logger().warning(f"chunk took {step.inference_ms:.0f} ms", throttle_duration_sec=5.0)


def main(args: list[str] | None = None) -> None:
    run_node(VlaEnsembleNode, args)


if __name__ == "__main__":
    main()
