"""MuJoCo Franka Panda pick-and-place simulator node, speaking the Isaac Sim ROS 2 bridge contract.

Publishes ``/joint_states``, ``/camera/<name>/image_raw`` + ``camera_info``, ``/clock`` (the sim is the
time source), ground-truth ``/salus/episode`` events and privileged object poses; applies ``/joint_command``
position targets; starts episodes through the ``/salus/sim/reset`` service.

    ros2 run salus_sim sim_node --ros-args --params-file config/sim.yaml
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter
from dataclasses import dataclass
from typing import Literal

import numpy as np
from builtin_interfaces.msg import Time
from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import PoseStamped
from rclpy.clock import Clock, ClockType
from rclpy.node import Node
from rosgraph_msgs.msg import Clock as ClockMsg
from sensor_msgs.msg import CameraInfo, Image, JointState
from std_msgs.msg import Header

from salus_common import contract
from salus_common.config import setting
from salus_common.diagnostics import diagnostic_array
from salus_common.image_codec import encode_rgb8
from salus_common.joint_vector import JointVectorError, clamp_to_limits, joint_vector
from salus_common.node_runner import run_node
from salus_common.parameters import (
    check_no_unknown_parameters,
    declare_config,
    declare_config_parameters,
    declare_robot_profile,
    read_config_dict,
)
from salus_common.qos import create_publisher, create_subscription
from salus_common.stamps import stamp_ns, time_msg
from salus_msgs.msg import EpisodeEvent
from salus_msgs.srv import ResetEpisode
from salus_sim.core.pick_place import PickPlaceSim, SimConfig

# Stated by the robot profile for every node, not again by the simulator.
_FROM_PROFILE = frozenset({"cameras", "control_dt"})
# Commands this far beyond a joint limit are clamped (as a joint controller would); farther ones rejected.
COMMAND_LIMIT_TOLERANCE = 0.05


@dataclass(frozen=True)
class Pacing:
    """How the node runs the simulator against the wall clock."""

    real_time_factor: float = setting(
        1.0, "sim seconds per wall second; 0 runs as fast as the CPU allows", low=0.0
    )
    camera_every_n_steps: int = setting(
        1, "render and publish camera images every N control steps (1 = every step)", low=1
    )
    stepping: Literal["realtime", "sync"] = setting(
        "realtime",
        "realtime: step on the wall-clock timer whatever the policy does (latency-honest); sync: during an "
        "episode, step only once the /joint_command stamped with the latest observation has arrived, so a "
        "seed replays exactly however slow the policy is",
    )
    sync_warn_s: float = setting(
        10.0, "sync: warn when the command for an observation takes this long [s]", low=0.1
    )
    command_timeout_s: float = setting(
        0.5,
        "realtime: once the last /joint_command is older than this (sim time), stop following it and hold "
        "the joints where they are, as a robot's command deadline does [s] (0 = follow it forever)",
        low=0.0,
    )


class SimNode(Node):
    """Thin adapter: parameters → :class:`PickPlaceSim`, ROS messages in and out, wall-clock pacing."""

    def __init__(self) -> None:
        super().__init__("salus_sim")
        self.profile = declare_robot_profile(self)
        declare_config_parameters(self, SimConfig, exclude=_FROM_PROFILE)
        pacing = declare_config(self, Pacing)
        check_no_unknown_parameters(self)
        config = read_config_dict(self, SimConfig, exclude=_FROM_PROFILE)
        config.update(cameras=self.profile.cameras, control_dt=self.profile.control_dt)
        self.config = SimConfig.from_dict(config)
        self.real_time_factor = pacing.real_time_factor
        self.synchronous = pacing.stepping == "sync"
        self.sync_warn_s = pacing.sync_warn_s
        self.command_timeout_s = pacing.command_timeout_s
        self.command_time = 0.0  # sim time the last command arrived [s]
        self.stale_hold: np.ndarray | None = None  # the joints held while the last command is stale
        self.stale_steps = 0  # steps held on a stale command, this episode
        self.awaiting_ns: int | None = None  # sync: the observation whose command the sim waits for
        self.command_ns: int | None = None  # stamp of the last accepted command
        self.waiting_since = 0.0
        self.camera_every_n = pacing.camera_every_n_steps
        self.sim = PickPlaceSim(self.config)
        check_profile_matches_model(self.profile, *self.sim.joint_limits())
        self.joint_names = self.profile.joint_names
        self.clock_time = 0.0  # monotonic sim clock across episodes [s]
        self.target: np.ndarray | None = None
        self.episode_active = False
        self.episode_index = 0
        self.episode_id = ""
        self.seed = -1
        self.rejections: Counter[str] = Counter()
        self.steps = 0
        self.render_ms: dict[str, float] = {}
        self.wall_start = time.monotonic()
        self.sim_start = 0.0

        self.pub_clock = create_publisher(self, ClockMsg, contract.CLOCK_TOPIC)
        self.pub_joints = create_publisher(self, JointState, contract.JOINT_STATES_TOPIC)
        self.pub_episode = create_publisher(self, EpisodeEvent, contract.EPISODE_TOPIC)
        self.pub_cube = create_publisher(self, PoseStamped, contract.CUBE_POSE_TOPIC)
        self.pub_bin = create_publisher(self, PoseStamped, contract.BIN_POSE_TOPIC)
        self.pub_diag = create_publisher(self, DiagnosticArray, contract.DIAGNOSTICS_TOPIC)
        self.pub_images = {
            cam: create_publisher(self, Image, contract.camera_image_topic(cam))
            for cam in self.config.cameras
        }
        self.pub_infos = {
            cam: create_publisher(self, CameraInfo, contract.camera_info_topic(cam))
            for cam in self.config.cameras
        }
        create_subscription(self, JointState, contract.JOINT_COMMAND_TOPIC, self.on_joint_command)
        self.create_service(ResetEpisode, contract.RESET_SERVICE, self.on_reset)

        # The sim is the time source, so it paces itself on the steady wall clock, never on /clock.
        wall_period = self.config.control_dt / self.real_time_factor if self.real_time_factor > 0 else 0.0
        steady = Clock(clock_type=ClockType.STEADY_TIME)
        self.create_timer(max(wall_period, 1e-4), self.on_tick, clock=steady)
        self.create_timer(1.0, self.publish_diagnostics, clock=steady)
        self.get_logger().info(
            f"MuJoCo pick-place ready: control {1.0 / self.config.control_dt:.1f} Hz, physics "
            f"{self.config.physics_dt * 1e3:.1f} ms, cameras {list(self.config.cameras)} "
            f"{self.config.image_width}x{self.config.image_height}, real-time factor "
            f"{self.real_time_factor or 'max'}; waiting for {contract.RESET_SERVICE}"
        )

    # --- inputs ----------------------------------------------------------------------------------------
    def on_joint_command(self, msg: JointState) -> None:
        try:
            positions = joint_vector(msg.name, msg.position, self.joint_names)
            self.target = clamp_to_limits(
                positions,
                self.joint_names,
                self.profile.position_lower,
                self.profile.position_upper,
                COMMAND_LIMIT_TOLERANCE,
            )
            self.command_ns = stamp_ns(msg.header.stamp)
            self.command_time = self.clock_time
            self.stale_hold = None
        except JointVectorError as err:
            self.rejections[err.reason] += 1
            self.get_logger().warning(
                f"rejected /joint_command ({err.reason}): {err.detail} "
                f"[{sum(self.rejections.values())} rejected so far]",
                throttle_duration_sec=1.0,
            )

    def on_reset(
        self, request: ResetEpisode.Request, response: ResetEpisode.Response
    ) -> ResetEpisode.Response:
        if self.episode_active:
            self.end_episode(aborted=True)
        self.seed = request.seed if request.seed >= 0 else self.seed + 1
        try:
            perturbations = self.sim.reset(int(self.seed))
        except Exception as err:  # a bad sampled scene must not kill the node
            response.success = False
            response.message = f"reset with seed {self.seed} failed: {err}"
            self.get_logger().error(response.message)
            return response
        self.episode_index += 1
        self.episode_id = f"ep{self.episode_index:06d}-seed{self.seed}"
        self.target = None
        self.stale_hold = None
        self.stale_steps = 0
        self.awaiting_ns = None
        self.episode_active = True
        self.publish_episode_event(EpisodeEvent.EVENT_START, "", math.nan)
        response.success = True
        response.episode_id = self.episode_id
        response.message = f"started {self.episode_id} with perturbations {perturbations.active_types()}"
        self.get_logger().info(response.message)
        return response

    # --- loop -------------------------------------------------------------------------------------------
    def on_tick(self) -> None:
        if self.episode_active and self.synchronous and not self.command_arrived():
            return
        if self.episode_active:
            hold = self.sim.joint_positions() if self.target is None else self.followed_target()
            self.sim.step(hold)
            self.steps += 1
            if self.sim.outcome is not None:
                self.end_episode(aborted=False)
        self.clock_time += self.config.control_dt
        stamp = time_msg(self.clock_time)
        self.awaiting_ns = stamp_ns(stamp) if self.episode_active else None
        self.waiting_since = time.monotonic()
        self.pub_clock.publish(ClockMsg(clock=stamp))
        self.publish_joint_states(stamp)
        self.publish_object_poses(stamp)
        if self.steps % self.camera_every_n == 0:
            self.publish_cameras(stamp)

    def followed_target(self) -> np.ndarray:
        """The last command, or the joints where they were once it became older than command_timeout_s."""
        age = self.clock_time - self.command_time
        if self.synchronous or self.command_timeout_s <= 0 or age <= self.command_timeout_s:
            return self.target
        if self.stale_hold is None:
            self.stale_hold = self.sim.joint_positions()
            self.get_logger().warning(
                f"{self.episode_id}: last /joint_command is {age:.2f} s old (> command_timeout_s "
                f"{self.command_timeout_s:g} s): holding the joints where they are",
                throttle_duration_sec=1.0,
            )
        self.stale_steps += 1
        return self.stale_hold

    def command_arrived(self) -> bool:
        """Sync stepping: whether the command answering the last observation is here (warns if it is late)."""
        if self.awaiting_ns is None or self.command_ns == self.awaiting_ns:
            return True
        waited = time.monotonic() - self.waiting_since
        if waited > self.sync_warn_s:
            self.get_logger().warning(
                f"sync stepping: no /joint_command stamped {self.awaiting_ns * 1e-9:.3f} s "
                f"after {waited:.0f} s",
                throttle_duration_sec=self.sync_warn_s,
            )
        return False

    def end_episode(self, aborted: bool) -> None:
        outcome = "other" if aborted else self.sim.outcome.value
        onset = self.sim.onset_time if self.sim.onset_time is not None else math.nan
        if outcome == "success":
            onset = math.nan
        self.episode_active = False
        self.publish_episode_event(EpisodeEvent.EVENT_END, outcome, onset)
        reason = " (aborted by a new reset)" if aborted else ""
        self.get_logger().info(
            f"{self.episode_id} ended: {outcome}{reason} after {self.sim.time:.2f} s"
            + (f", onset {onset:.2f} s" if not math.isnan(onset) else "")
        )

    # --- outputs ----------------------------------------------------------------------------------------
    def publish_episode_event(self, event: str, outcome: str, onset: float) -> None:
        perturbations = self.sim.perturbations
        self.pub_episode.publish(
            EpisodeEvent(
                header=make_header(time_msg(self.clock_time)),
                episode_id=self.episode_id,
                seed=int(self.seed),
                event=event,
                outcome=outcome,
                failure_onset_time=float(onset),
                duration=float(self.sim.time) if event == EpisodeEvent.EVENT_END else 0.0,
                perturbations=list(perturbations.active_types()),
                perturbation_params_json=json.dumps(perturbations.to_dict(), sort_keys=True),
            )
        )

    def publish_joint_states(self, stamp: Time) -> None:
        self.pub_joints.publish(
            JointState(
                header=make_header(stamp),
                name=list(self.joint_names),
                position=self.sim.joint_positions().tolist(),
                velocity=self.sim.joint_velocities().tolist(),
                effort=self.sim.joint_efforts().tolist(),
            )
        )

    def publish_object_poses(self, stamp: Time) -> None:
        pos, quat = self.sim.cube_pose()
        self.pub_cube.publish(pose_msg(make_header(stamp, "world"), pos, quat))
        self.pub_bin.publish(pose_msg(make_header(stamp, "world"), self.sim.bin_position(), (1.0, 0, 0, 0)))

    def publish_cameras(self, stamp: Time) -> None:
        for cam in self.config.cameras:
            started = time.perf_counter()
            pixels = self.sim.render(cam)
            self.render_ms[cam] = (time.perf_counter() - started) * 1e3
            height, width = pixels.shape[:2]
            frame = f"{cam}_camera_optical_frame"
            self.pub_images[cam].publish(Image(header=make_header(stamp, frame), **encode_rgb8(pixels)))
            fx, fy, cx, cy = self.sim.camera_intrinsics(cam)
            info = CameraInfo(header=make_header(stamp, frame), height=height, width=width)
            info.distortion_model = "plumb_bob"
            info.d = [0.0] * 5
            info.k = [fx, 0.0, cx, 0.0, fy, cy, 0.0, 0.0, 1.0]
            info.r = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
            info.p = [fx, 0.0, cx, 0.0, 0.0, fy, cy, 0.0, 0.0, 0.0, 1.0, 0.0]
            self.pub_infos[cam].publish(info)

    def publish_diagnostics(self) -> None:
        wall = time.monotonic() - self.wall_start
        values = {
            "episode_id": self.episode_id,
            "control_steps": str(self.steps),
            "sim_time_s": f"{self.clock_time:.2f}",
            "achieved_real_time_factor": f"{self.clock_time / wall:.2f}" if wall > 0 else "0",
            "rejected_commands": str(sum(self.rejections.values())),
            "stale_command_steps": str(self.stale_steps),
            "holding_stale_command": str(self.stale_hold is not None).lower(),
        }
        values.update({f"rejected_{reason}": str(n) for reason, n in sorted(self.rejections.items())})
        values.update({f"render_ms_{cam}": f"{ms:.1f}" for cam, ms in self.render_ms.items()})
        problem = "rejected commands" if self.rejections else None
        stamp = time_msg(self.clock_time)
        self.pub_diag.publish(diagnostic_array("salus_sim", values, problem, stamp, "mujoco"))

    def destroy_node(self) -> None:
        self.sim.close()
        super().destroy_node()


def check_profile_matches_model(profile, names, lower, upper) -> None:
    """Fail start-up when the robot profile describes another robot than the MuJoCo model."""
    if tuple(profile.joint_names) != tuple(names):
        raise ValueError(
            f"robot profile '{profile.name}' names joints {list(profile.joint_names)}, but the MuJoCo model "
            f"has {list(names)}; use config/robots/mujoco.yaml with the sim node"
        )
    for label, stated, model in (
        ("position_lower", profile.position_lower, lower),
        ("position_upper", profile.position_upper, upper),
    ):
        if not np.allclose(stated, model, atol=1e-6):
            raise ValueError(
                f"robot profile '{profile.name}': robot.{label} {list(stated)} differs from the MuJoCo "
                f"model's "
                f"{[round(v, 4) for v in model]}"
            )


def make_header(stamp: Time, frame_id: str = "") -> Header:
    return Header(stamp=stamp, frame_id=frame_id)


def pose_msg(header: Header, position, quat_wxyz) -> PoseStamped:
    msg = PoseStamped(header=header)
    msg.pose.position.x, msg.pose.position.y, msg.pose.position.z = (float(v) for v in position)
    w, x, y, z = (float(v) for v in quat_wxyz)
    msg.pose.orientation.w, msg.pose.orientation.x = w, x
    msg.pose.orientation.y, msg.pose.orientation.z = y, z
    return msg


def main(args: list[str] | None = None) -> None:
    run_node(SimNode, args)


if __name__ == "__main__":
    main()
