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

import numpy as np
from builtin_interfaces.msg import Time
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from geometry_msgs.msg import PoseStamped
from rcl_interfaces.msg import ParameterDescriptor, ParameterType
from rclpy.clock import Clock, ClockType
from rclpy.node import Node
from rosgraph_msgs.msg import Clock as ClockMsg
from sensor_msgs.msg import CameraInfo, Image, JointState
from std_msgs.msg import Header

from salus_msgs.msg import EpisodeEvent
from salus_msgs.srv import ResetEpisode
from salus_sim import contract
from salus_sim.config_params import declare_config_parameters, read_config_dict
from salus_sim.core.joint_command import JointCommandError, JointLimits, parse_joint_command
from salus_sim.core.pick_place import JOINT_NAMES, PickPlaceSim, SimConfig
from salus_sim.node_common import check_no_unknown_parameters, declare_robot_profile, run_node, time_msg

_FROM_PROFILE = frozenset({"cameras"})


class SimNode(Node):
    """Thin adapter: parameters → :class:`PickPlaceSim`, ROS messages in and out, wall-clock pacing."""

    def __init__(self) -> None:
        super().__init__("salus_sim")
        self.profile = declare_robot_profile(self)
        # Cameras come from the shared robot profile, not from a second sim-only list.
        declare_config_parameters(self, SimConfig, exclude=_FROM_PROFILE)
        self.declare_parameter(
            "real_time_factor",
            1.0,
            ParameterDescriptor(
                type=ParameterType.PARAMETER_DOUBLE,
                description="sim seconds per wall second; 0 runs as fast as the CPU allows",
                read_only=True,
            ),
        )
        self.declare_parameter(
            "camera_every_n_steps",
            1,
            ParameterDescriptor(
                type=ParameterType.PARAMETER_INTEGER,
                description="render and publish camera images every N control steps (1 = every step)",
                read_only=True,
            ),
        )
        check_no_unknown_parameters(self)
        config = read_config_dict(self, SimConfig, exclude=_FROM_PROFILE)
        config["cameras"] = self.profile.cameras
        self.config = SimConfig.from_dict(config)
        if tuple(self.profile.joint_names) != tuple(JOINT_NAMES):
            raise ValueError(
                f"robot profile '{self.profile.name}' names joints {list(self.profile.joint_names)}, but the "
                f"MuJoCo model has {list(JOINT_NAMES)}; use config/robots/mujoco.yaml with the sim node"
            )
        self.real_time_factor = float(self.get_parameter("real_time_factor").value)
        self.camera_every_n = int(self.get_parameter("camera_every_n_steps").value)
        if self.real_time_factor < 0 or self.camera_every_n < 1:
            raise ValueError("real_time_factor must be >= 0 and camera_every_n_steps >= 1")

        self.sim = PickPlaceSim(self.config)
        self.limits = JointLimits(*self.sim.joint_limits())
        self.joint_names = self.limits.names
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

        self.pub_clock = self.create_publisher(ClockMsg, contract.CLOCK_TOPIC, contract.CLOCK_QOS)
        self.pub_joints = self.create_publisher(
            JointState, contract.JOINT_STATES_TOPIC, contract.STATE_PUB_QOS
        )
        self.pub_episode = self.create_publisher(EpisodeEvent, contract.EPISODE_TOPIC, contract.EVENT_QOS)
        self.pub_cube = self.create_publisher(PoseStamped, contract.CUBE_POSE_TOPIC, contract.STATE_PUB_QOS)
        self.pub_bin = self.create_publisher(PoseStamped, contract.BIN_POSE_TOPIC, contract.STATE_PUB_QOS)
        self.pub_diag = self.create_publisher(DiagnosticArray, contract.DIAGNOSTICS_TOPIC, 10)
        self.pub_images = {
            cam: self.create_publisher(Image, contract.camera_image_topic(cam), contract.IMAGE_PUB_QOS)
            for cam in self.config.cameras
        }
        self.pub_infos = {
            cam: self.create_publisher(CameraInfo, contract.camera_info_topic(cam), contract.IMAGE_PUB_QOS)
            for cam in self.config.cameras
        }
        self.create_subscription(
            JointState, contract.JOINT_COMMAND_TOPIC, self.on_joint_command, contract.COMMAND_QOS
        )
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
            self.target = parse_joint_command(msg.name, msg.position, self.limits)
        except JointCommandError as err:
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
        self.episode_active = True
        self.publish_episode_event(EpisodeEvent.EVENT_START, "", math.nan)
        response.success = True
        response.episode_id = self.episode_id
        response.message = f"started {self.episode_id} with perturbations {perturbations.active_types()}"
        self.get_logger().info(response.message)
        return response

    # --- loop -------------------------------------------------------------------------------------------
    def on_tick(self) -> None:
        if self.episode_active:
            hold = self.sim.joint_positions() if self.target is None else self.target
            self.sim.step(hold)
            self.steps += 1
            if self.sim.outcome is not None:
                self.end_episode(aborted=False)
        self.clock_time += self.config.control_dt
        stamp = time_msg(self.clock_time)
        self.pub_clock.publish(ClockMsg(clock=stamp))
        self.publish_joint_states(stamp)
        self.publish_object_poses(stamp)
        if self.steps % self.camera_every_n == 0:
            self.publish_cameras(stamp)

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
            self.pub_images[cam].publish(
                Image(
                    header=make_header(stamp, frame),
                    height=height,
                    width=width,
                    encoding="rgb8",
                    is_bigendian=0,
                    step=width * 3,
                    data=pixels.tobytes(),
                )
            )
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
        }
        values.update({f"rejected_{reason}": str(n) for reason, n in sorted(self.rejections.items())})
        values.update({f"render_ms_{cam}": f"{ms:.1f}" for cam, ms in self.render_ms.items()})
        level = DiagnosticStatus.WARN if self.rejections else DiagnosticStatus.OK
        status = DiagnosticStatus(
            level=level,
            name="salus_sim",
            message="rejected commands" if self.rejections else "ok",
            hardware_id="mujoco",
            values=[KeyValue(key=k, value=v) for k, v in values.items()],
        )
        self.pub_diag.publish(DiagnosticArray(header=make_header(time_msg(self.clock_time)), status=[status]))

    def destroy_node(self) -> None:
        self.sim.close()
        super().destroy_node()


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
