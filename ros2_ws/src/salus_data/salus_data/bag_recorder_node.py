"""Episode bag recorder: the recording profile's topics -> one rosbag2 MCAP bag per episode.

Subscribes every recorded topic of the graph contract (:func:`bag_topics.topic_profile`) for the robot
profile's cameras with ``raw=True``: messages arrive as the CDR bytes DDS delivered and go into the bag
as they are (no deserialize/serialize round trip). :class:`bag_writer.EpisodeBagRecorder` splits them on the
``/salus/episode`` events, writes the open episode under ``BAG_DIR/.tmp-<pid>/`` and renames it to
``BAG_DIR/seed<seed>/`` when the episode has ended and its last step is in; then the episode id is
published on ``/salus/recorder/episode_saved`` (the episode runner waits for it), for discarded
episodes too. Topics of the profile that nobody publishes (e.g. the VLA's proposals while the scripted
expert drives) simply have no messages in the bag.

Bag timestamps are receive times on this node's clock (sim time with ``use_sim_time``, as
``ros2 bag record --use-sim-time``); readers use the header stamps.

    ros2 run salus_data bag_recorder --ros-args --params-file config/bag_recorder.yaml
    salus-launch record:=bag bag_dir:=data/bags episodes:=20
"""

from __future__ import annotations

import importlib
import json
import time
from dataclasses import dataclass
from importlib.metadata import version
from typing import Literal

import rclpy
from rclpy.clock import Clock, ClockType
from rclpy.node import Node

from salus_common import contract
from salus_common.config import setting
from salus_common.node_runner import run_node
from salus_common.parameters import check_no_unknown_parameters, declare_config, declare_robot_profile
from salus_common.qos import profile as qos_profile
from salus_data.bag_topics import recorder_depth, topic_profile
from salus_data.bag_writer import (
    ClosedEpisode,
    EpisodeBagRecorder,
    header_stamp_ns,
    recorder_custom_data,
    remove_stale_partials,
    salus_typestore,
)
from salus_data.readiness import AckWhenMatched


@dataclass(frozen=True)
class BagRecorderConfig:
    """Parameters of ``bag_recorder`` (read once at start-up)."""

    bag_dir: str = setting("data/bags", "folder receiving one bag per episode (seed<seed>/)")
    compression: Literal["zstd", "none"] = setting("zstd", "MCAP chunk compression: 'zstd' or 'none'")
    end_grace_s: float = setting(
        1.0, "wall seconds an ended episode waits for its last step before closing", low=0.0
    )
    preroll_s: float = setting(
        3.0, "wall seconds of messages kept between episodes for the next one's start", low=0.0
    )
    max_missing_steps: int = setting(2, "an episode missing more control steps than this is not saved", low=0)
    metadata_json: str = setting("", "JSON object stored in every bag as custom data 'salus.metadata'")

    def __post_init__(self) -> None:
        if self.metadata_json:
            try:
                if not isinstance(json.loads(self.metadata_json), dict):
                    raise ValueError("not an object")
            except ValueError as err:
                raise ValueError(f"metadata_json must be a JSON object: {err}") from err


def message_class(topic: contract.Topic):
    """The rclpy message class of a ``pkg/msg/Type`` name (needed to subscribe, even raw)."""
    return getattr(importlib.import_module(f"{topic.package}.msg"), topic.type_name)


class BagRecorder(Node):
    """Thin adapter: raw messages -> :class:`EpisodeBagRecorder`; closed episodes -> acknowledgments."""

    def __init__(self) -> None:
        super().__init__("bag_recorder")
        self.profile = declare_robot_profile(self)
        config = declare_config(self, BagRecorderConfig)
        check_no_unknown_parameters(self)
        bag_dir, compression, metadata_json = config.bag_dir, config.compression, config.metadata_json
        end_grace_s, preroll_s, max_missing = config.end_grace_s, config.preroll_s, config.max_missing_steps

        self.specs = topic_profile(self.profile.cameras)
        custom = recorder_custom_data(
            robot={
                "name": self.profile.name,
                "joint_names": list(self.profile.joint_names),
                "cameras": list(self.profile.cameras),
            },
            recorder={
                "node": self.get_name(),
                "compression": compression,
                "end_grace_s": end_grace_s,
                "preroll_s": preroll_s,
                "max_missing_steps": max_missing,
                "topics": {s.name: s.msgtype for s in self.specs},
                "rosbags": version("rosbags"),
            },
        )
        if metadata_json:
            custom["salus.metadata"] = metadata_json
        self.recorder = EpisodeBagRecorder(
            bag_dir,
            self.specs,
            salus_typestore(),
            compression=compression,
            end_grace_s=end_grace_s,
            preroll_s=preroll_s,
            max_missing_steps=max_missing,
            custom_data=custom,
        )
        for leftover in remove_stale_partials(self.recorder.bag_dir):
            self.get_logger().warning(f"removed the unfinished bag of a recorder that died: {leftover}")
        self.subscriptions_by_topic = {}
        for spec in self.specs:
            self.subscriptions_by_topic[spec.name] = self.create_subscription(
                message_class(spec),
                spec.name,
                lambda raw, topic=spec.name: self.on_message(topic, raw),
                qos_profile(spec.subscribe, recorder_depth(spec)),
                raw=True,
            )
        required = [
            contract.EPISODE_TOPIC,
            contract.JOINT_STATES_TOPIC,
            *(contract.camera_image_topic(c) for c in self.profile.cameras),
        ]
        self.ready = AckWhenMatched(self, {t: self.subscriptions_by_topic[t] for t in required})
        self.create_timer(0.05, self.on_timer, clock=Clock(clock_type=ClockType.STEADY_TIME))
        self.get_logger().info(
            f"recording {len(self.specs)} topics (cameras {list(self.profile.cameras)}) into "
            f"{self.recorder.bag_dir}, one MCAP bag per episode ({compression})"
        )

    # --- inputs -----------------------------------------------------------------------------------------
    def on_message(self, topic: str, raw: bytes) -> None:
        log_ns = self.get_clock().now().nanoseconds
        if log_ns <= 0:  # no /clock yet: fall back to the message's own stamp, then wall time
            log_ns = header_stamp_ns(raw) or time.time_ns()
        self._handle(self.recorder.message(topic, raw, log_ns, time.monotonic()))

    def on_timer(self) -> None:
        self.ready.poll()
        self._handle(self.recorder.poll(time.monotonic()))

    # --- internals --------------------------------------------------------------------------------------
    def _handle(self, closed: list[ClosedEpisode]) -> None:
        for episode in closed:
            self._report(episode)
            if rclpy.ok(context=self.context):
                self.ready.acknowledge(episode.episode_id)

    def _report(self, episode: ClosedEpisode) -> None:
        if episode.saved:
            messages = sum(episode.counts.values())
            verdict = (
                f"saved {episode.path} ({messages} messages, {episode.size_bytes / 2**20:.1f} MiB, closed "
                f"{episode.seconds:.2f} s after its end)"
            )
        else:
            verdict = f"not saved: {episode.reason}"
        message = (
            f"{episode.episode_id}: {episode.outcome or '?'} -> {verdict}; this run "
            f"{self.recorder.saved} saved, {self.recorder.discarded} discarded"
        )
        if rclpy.ok(context=self.context):
            self.get_logger().info(message)
        else:  # during shutdown /rosout is gone
            print(f"[INFO] [{self.get_name()}]: {message}", flush=True)

    def destroy_node(self) -> None:
        """Save an ended episode; a running one is discarded (its bag never appears)."""
        try:
            for episode in self.recorder.shutdown(time.monotonic()):
                self._report(episode)
        finally:
            super().destroy_node()


def main(args: list[str] | None = None) -> None:
    run_node(BagRecorder, args)


if __name__ == "__main__":
    main()
