"""Demonstration recorder: camera images, joint states and joint commands → a LeRobot v3.0 dataset.

Subscribes ``/camera/<name>/image_raw`` for every profile camera and ``/joint_states`` (sensor QoS),
``/joint_command`` (reliable) and ``/salus/episode`` (reliable, transient local). Frames are matched by
stamp (:mod:`frame_sync`), grouped into episodes by the episode events (:mod:`session`) and written by a
writer thread (:mod:`lerobot_writer`), so a save (video encoding) never stalls the subscriptions. An
episode whose outcome is in ``keep_outcomes`` is saved, any other is discarded; either way the episode id
is then published on ``/salus/recorder/episode_saved`` (the episode runner's hand-shake). Malformed
messages are rejected with a reason and counted; the dataset is finalized on shutdown, after any save in
progress completes (SIGINT/SIGTERM are held meanwhile).

    ros2 run salus_monitor lerobot_recorder --ros-args --params-file config/lerobot_recorder.yaml
    salus-launch record:=lerobot dataset_root:=data/demos episodes:=20
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path

import rclpy
from rclpy.clock import Clock, ClockType
from rclpy.node import Node
from sensor_msgs.msg import Image, JointState

from salus_monitor.recording.frame_sync import (
    Frame,
    FrameInputError,
    image_array,
    joint_vector,
    stamp_ns,
)
from salus_monitor.recording.lerobot_writer import (
    BackgroundWriter,
    DemoDatasetWriter,
    preload_lerobot,
    signals_deferred,
)
from salus_monitor.recording.readiness import AckWhenMatched
from salus_monitor.recording.session import EpisodeReport, EpisodeSession
from salus_msgs.msg import EpisodeEvent
from salus_sim import contract
from salus_sim.node_common import (
    check_no_unknown_parameters,
    declare_read_only,
    declare_robot_profile,
    run_node,
)


class LerobotRecorder(Node):
    """Thin adapter: messages → validated arrays → :class:`EpisodeSession` → :class:`BackgroundWriter`."""

    def __init__(self) -> None:
        super().__init__("lerobot_recorder")
        self.profile = declare_robot_profile(self)
        self.root = Path(self._declare("root", "data/demos", "dataset folder (created, or appended to)"))
        self.repo_id = self._declare("repo_id", "local/salus_demos", "LeRobot repo id stored with the data")
        self.task = self._declare(
            "task", "pick up the red cube and place it in the blue bin", "language instruction of every frame"
        )
        self.fps = self._declare("fps", 10, "frames per second; must equal the robot's control rate")
        self.keep_outcomes = self._declare(
            "keep_outcomes", ["success"], "episode outcomes whose frames are kept; others are discarded"
        )
        self.use_videos = self._declare("use_videos", True, "store camera frames as AV1 videos (else PNG)")
        width = self._declare("image_width", 0, "expected image width in px; 0 = take the first image's")
        height = self._declare("image_height", 0, "expected image height in px; 0 = take the first image's")
        max_missing = self._declare(
            "max_missing_frames", 2, "episodes missing more frames than this are discarded as incomplete"
        )
        end_grace_s = self._declare(
            "end_grace_s", 1.0, "wall seconds to wait for an ended episode's last frame"
        )
        self.max_queued = self._declare("max_queued_frames", 256, "frames queued for the writer before drops")
        check_no_unknown_parameters(self)
        if self.fps <= 0 or width < 0 or height < 0 or (width == 0) != (height == 0) or self.max_queued < 1:
            raise ValueError(
                "fps and max_queued_frames must be > 0; image_width and image_height both 0 or both > 0"
            )
        if not self.keep_outcomes:
            raise ValueError("keep_outcomes is empty: nothing would ever be kept")
        self.root = self.root.expanduser().resolve()

        self.session = EpisodeSession(
            self.profile.cameras,
            self.fps,
            sink=self._write_frame,
            keep_outcomes=self.keep_outcomes,
            max_missing_frames=max_missing,
            end_grace_s=end_grace_s,
        )
        self.image_hw: tuple[int, int] | None = (height, width) if width else None
        self.writer: BackgroundWriter | None = None
        # Every per-episode resume makes LeRobot re-read all episode metadata through Hugging Face
        # `datasets`, which caches a fresh Arrow copy each time (N episodes: O(N^2) bytes in
        # ~/.cache). A private cache, deleted at shutdown, keeps that off the user's disk.
        if "HF_DATASETS_CACHE" not in os.environ:
            os.environ["HF_DATASETS_CACHE"] = cache = tempfile.mkdtemp(prefix="salus-recorder-cache-")
            atexit.register(shutil.rmtree, cache, ignore_errors=True)
        preload_lerobot()  # seconds of imports: here, not in the first image callback
        if self.image_hw is not None:
            self._open_writer()  # fail at start-up on a folder we cannot append to
        self.rejected: Counter[str] = Counter()
        self.saved = self.discarded = 0

        required = {
            contract.camera_image_topic(camera): self.create_subscription(
                Image,
                contract.camera_image_topic(camera),
                lambda msg, camera=camera: self.on_image(camera, msg),
                contract.SENSOR_SUB_QOS,
            )
            for camera in self.profile.cameras
        }
        required[contract.JOINT_STATES_TOPIC] = self.create_subscription(
            JointState, contract.JOINT_STATES_TOPIC, self.on_joint_states, contract.SENSOR_SUB_QOS
        )
        self.create_subscription(
            JointState, contract.JOINT_COMMAND_TOPIC, self.on_joint_command, contract.COMMAND_QOS
        )
        required[contract.EPISODE_TOPIC] = self.create_subscription(
            EpisodeEvent, contract.EPISODE_TOPIC, self.on_episode, contract.EVENT_QOS
        )
        self.ready = AckWhenMatched(self, required)
        self.create_timer(0.05, self.on_timer, clock=Clock(clock_type=ClockType.STEADY_TIME))
        size = f"{width}x{height}" if width else "size of the first image"
        existing = f", {self.writer.writer.num_episodes} episodes already there" if self.writer else ""
        self.get_logger().info(
            f"recording {list(self.profile.cameras)} ({size}) + {len(self.profile.joint_names)} joints at "
            f"{self.fps} fps into {self.root}{existing}; keeping {list(self.keep_outcomes)}"
        )

    def _declare(self, name: str, default, description: str):
        return declare_read_only(self, name, default, description)

    def _open_writer(self) -> None:
        height, width = self.image_hw
        writer = DemoDatasetWriter(
            self.root,
            self.repo_id,
            self.fps,
            self.profile.cameras,
            (height, width, 3),
            self.profile.joint_names,
            self.task,
            use_videos=self.use_videos,
            robot_type=self.profile.name,
        )
        for action in writer.recovered:
            self.get_logger().warning(f"{self.root}: {action}")
        self.writer = BackgroundWriter(writer, max_queued_frames=self.max_queued)

    # --- inputs -----------------------------------------------------------------------------------------
    def on_image(self, camera: str, msg: Image) -> None:
        try:
            pixels = image_array(msg.height, msg.width, msg.encoding, msg.step, msg.data, self.image_hw)
        except FrameInputError as err:
            self._reject(contract.camera_image_topic(camera), err)
            return
        if self.writer is None:  # image size from the first valid image
            self.image_hw = pixels.shape[:2]
            self._open_writer()
        self._handle(
            self.session.image(camera, stamp_ns(msg.header.stamp.sec, msg.header.stamp.nanosec), pixels)
        )

    def on_joint_states(self, msg: JointState) -> None:
        self._on_joints(msg, contract.JOINT_STATES_TOPIC, self.session.state)

    def on_joint_command(self, msg: JointState) -> None:
        self._on_joints(msg, contract.JOINT_COMMAND_TOPIC, self.session.action)

    def _on_joints(self, msg: JointState, topic: str, consume) -> None:
        if not self.session.recording:
            return  # between episodes: nothing to validate or keep
        try:
            vector = joint_vector(msg.name, msg.position, self.profile.joint_names)
        except FrameInputError as err:
            self._reject(topic, err)
            return
        self._handle(consume(stamp_ns(msg.header.stamp.sec, msg.header.stamp.nanosec), vector))

    def on_episode(self, msg: EpisodeEvent) -> None:
        stamp = stamp_ns(msg.header.stamp.sec, msg.header.stamp.nanosec)
        if msg.event == EpisodeEvent.EVENT_START:
            self._handle(self.session.start(msg.episode_id, stamp))
        elif msg.event == EpisodeEvent.EVENT_END:
            info = {
                "episode_id": msg.episode_id,
                "seed": int(msg.seed),
                "outcome": msg.outcome,
                "duration_s": round(float(msg.duration), 3),
                "perturbations": list(msg.perturbations),
                "robot": self.profile.name,
            }
            self._handle(self.session.end(msg.episode_id, msg.outcome, stamp, time.monotonic(), info))

    def on_timer(self) -> None:
        self.ready.poll()
        self._handle(self.session.poll(time.monotonic()))
        if self.writer is None:
            return
        for result in self.writer.results():
            if result.error is not None:
                raise RuntimeError(f"writing the dataset at {self.root} failed: {result.error}")
            self._report(result.tag, result.saved, result.total_episodes, result.total_frames, result.seconds)
            self.ready.acknowledge(result.tag.episode_id)

    # --- internals --------------------------------------------------------------------------------------
    def _write_frame(self, frame: Frame) -> bool:
        return self.writer.add_frame(frame.images, frame.state, frame.action)

    def _handle(self, reports: list[EpisodeReport]) -> None:
        for report in reports:
            if self.writer is None:  # nothing was ever written: handled at once
                self._report(report, False, 0, 0, 0.0)
                self.ready.acknowledge(report.episode_id)
            elif report.keep:
                self.writer.save_episode(report, dict(report.info))
            else:
                self.writer.discard_episode(report)

    def _log_late(self, message: str) -> None:
        """Log during shutdown: after Ctrl-C the context is gone and /rosout cannot take the line."""
        if rclpy.ok(context=self.context):
            self.get_logger().info(message)
        else:
            print(f"[INFO] [{self.get_name()}]: {message}", flush=True)

    def _report(self, report: EpisodeReport, saved: bool, episodes: int, frames: int, seconds: float) -> None:
        if saved:
            self.saved += 1
            verdict = f"saved in {seconds:.1f} s"
        else:
            self.discarded += 1
            verdict = f"discarded ({report.reason})"
        self._log_late(
            f"{report.episode_id}: {report.outcome or '?'}, {report.frames} frames "
            f"({report.missing} missing) → {verdict}; dataset {episodes} episodes / {frames} frames; "
            f"this run {self.saved} saved, {self.discarded} discarded"
        )

    def _reject(self, topic: str, err: FrameInputError) -> None:
        self.rejected[f"{topic}:{err.reason}"] += 1
        self.get_logger().warning(
            f"rejected {topic} ({err.reason}): {err.detail} [{sum(self.rejected.values())} rejected so far]",
            throttle_duration_sec=2.0,
        )

    def destroy_node(self) -> None:
        """Close the open episode, let the writer finish (signals held), finalize the dataset."""
        try:
            if self.writer is not None:
                for report in self.session.shutdown():
                    if report.keep:
                        self.writer.save_episode(report, dict(report.info))
                    else:
                        self.writer.discard_episode(report)
                with signals_deferred(redeliver=False):
                    for result in self.writer.close():
                        if result.error is None:
                            self._report(
                                result.tag,
                                result.saved,
                                result.total_episodes,
                                result.total_frames,
                                result.seconds,
                            )
                if self.writer.error:
                    self._log_late(f"dataset writer error: {self.writer.error}")
                self._log_late(
                    f"dataset finalized at {self.root}: {self.writer.writer.num_episodes} episodes; "
                    f"rejected messages {dict(self.rejected) or 'none'}"
                )
        finally:
            super().destroy_node()


def main(args: list[str] | None = None) -> None:
    run_node(LerobotRecorder, args)


if __name__ == "__main__":
    main()
