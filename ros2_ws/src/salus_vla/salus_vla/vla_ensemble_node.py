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

import numpy as np
from rclpy.node import Node
from sensor_msgs.msg import Image, JointState

from salus_msgs.msg import ActionProposal, EpisodeEvent, SalusSignals
from salus_sim import contract
from salus_sim.node_common import (
    check_no_unknown_parameters,
    declare_read_only,
    declare_robot_profile,
    run_node,
)
from salus_vla.core.controller import ControlStep, VlaController
from salus_vla.core.policy_loader import check_features, load_policy
from salus_vla.image_msgs import ImageRejectedError, image_to_array
from salus_vla.signal_names import SIGNAL_NAMES
from salus_vla.sync import StampedFrames

PROPOSAL_TOPIC = "/salus/proposal"
SIGNALS_TOPIC = "/salus/signals"

_PARAMETERS: dict[str, tuple[object, str]] = {
    "checkpoint": ("", "SmolVLA checkpoint: a local pretrained_model folder or a hub id (required)"),
    "backbone_dir": (
        "",
        "local SmolVLM backbone replacing the checkpoint's (checkpoints moved between machines)",
    ),
    "task": ("pick up the red cube and place it in the blue bin", "language instruction given to the VLA"),
    "num_samples": (5, "K: action samples per chunk, sharing one VLM prefix pass"),
    "n_action_steps": (0, "actions executed per chunk before the VLA is queried again (0 = checkpoint's)"),
    "num_flow_steps": (0, "flow-matching (Euler) steps per chunk (0 = checkpoint's, usually 10)"),
    "device": ("cpu", "torch device: cpu, cuda, cuda:N"),
    "dtype": ("auto", "VLM dtype: auto (as loaded), float32, bfloat16, float16"),
    "seed": (0, "seed of the ensemble's noise generator"),
    "signal_window": (10, "steps in the trajectory-divergence window"),
    "sync": (
        "exact",
        "exact: act when joint states and every camera share a stamp; latest: act on joint "
        "states with the newest images no older than max_image_age_s",
    ),
    "max_image_age_s": (0.25, "with sync=latest, the oldest image still used [s]"),
}


class VlaEnsembleNode(Node):
    """Thin adapter: messages → :class:`VlaController` → proposal, signals and command messages."""

    def __init__(self) -> None:
        super().__init__("vla_ensemble")
        self.robot = declare_robot_profile(self)
        p = {name: declare_read_only(self, name, *spec) for name, spec in _PARAMETERS.items()}
        check_no_unknown_parameters(self)
        if not p["checkpoint"]:
            raise ValueError("parameter 'checkpoint' is required (a pretrained_model folder or a hub id)")
        if p["sync"] not in ("exact", "latest"):
            raise ValueError(f"parameter 'sync' must be 'exact' or 'latest', got {p['sync']!r}")
        loaded = load_policy(
            p["checkpoint"],
            device=p["device"],
            dtype=None if p["dtype"] == "auto" else p["dtype"],
            backbone_dir=p["backbone_dir"] or None,
        )
        check_features(
            loaded,
            self.robot.cameras,
            state_dim=len(self.robot.joint_names),
            action_dim=len(self.robot.joint_names),
        )
        self.controller = VlaController(
            loaded,
            p["task"],
            num_samples=p["num_samples"],
            seed=p["seed"],
            n_action_steps=p["n_action_steps"] or None,
            num_flow_steps=p["num_flow_steps"] or None,
            signal_window=p["signal_window"],
        )
        self.model_id = str(p["checkpoint"])
        self.frames = StampedFrames(
            self.robot.cameras, exact=p["sync"] == "exact", max_image_age_s=p["max_image_age_s"]
        )
        self.active = False
        self.rejected: Counter[str] = Counter()

        self.pub_proposal = self.create_publisher(ActionProposal, PROPOSAL_TOPIC, contract.COMMAND_QOS)
        self.pub_signals = self.create_publisher(SalusSignals, SIGNALS_TOPIC, contract.COMMAND_QOS)
        self.pub_command = self.create_publisher(
            JointState, contract.JOINT_COMMAND_TOPIC, contract.COMMAND_QOS
        )
        self.create_subscription(EpisodeEvent, contract.EPISODE_TOPIC, self.on_episode, contract.EVENT_QOS)
        self.create_subscription(
            JointState, contract.JOINT_STATES_TOPIC, self.on_joint_states, contract.SENSOR_SUB_QOS
        )
        for camera in self.robot.cameras:
            self.create_subscription(
                Image,
                contract.camera_image_topic(camera),
                lambda msg, cam=camera: self.on_image(cam, msg),
                contract.SENSOR_SUB_QOS,
            )
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
            self.frames.add_image(camera, stamp_of(msg), image_to_array(msg))
        except ImageRejectedError as err:
            self.reject(err.reason, f"{camera}: {err}")
            return
        self.act_if_ready()

    def on_joint_states(self, msg: JointState) -> None:
        by_name = dict(zip(msg.name, msg.position, strict=False))
        missing = [n for n in self.robot.joint_names if n not in by_name]
        if missing:
            self.reject("missing_joints", f"joint_states lacks {missing}")
            return
        state = np.array([by_name[n] for n in self.robot.joint_names], dtype=np.float64)
        if not np.all(np.isfinite(state)):
            self.reject("non_finite_state", "joint_states holds NaN/inf")
            return
        self.frames.add_state(stamp_of(msg), state, msg.header)
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


def stamp_of(msg) -> float:
    stamp = msg.header.stamp
    return stamp.sec + stamp.nanosec * 1e-9


def main(args: list[str] | None = None) -> None:
    run_node(VlaEnsembleNode, args)


if __name__ == "__main__":
    main()
