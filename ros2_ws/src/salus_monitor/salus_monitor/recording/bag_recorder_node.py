"""Episode bag recorder: the recording profile's topics -> one rosbag2 MCAP bag per episode.

Subscribes every topic of :func:`bag_topics.topic_profile` for the robot profile's cameras with
``raw=True``: messages arrive as the CDR bytes DDS delivered and go into the bag as they are (no
deserialize/serialize round trip). :class:`bag_writer.EpisodeBagRecorder` splits them on the
``/salus/episode`` events, writes the open episode under ``BAG_DIR/.tmp-<pid>/`` and renames it to
``BAG_DIR/seed<seed>/`` when the episode has ended and its last step is in; then the episode id is
published on ``/salus/recorder/episode_saved`` (the episode runner's hand-shake, shared with the
LeRobot recorder), for discarded episodes too. Topics of the profile that nobody publishes (e.g. the
VLA's proposals while the scripted expert drives) simply have no messages in the bag.

Bag timestamps are receive times on this node's clock (sim time with ``use_sim_time``, as
``ros2 bag record --use-sim-time``); readers use the header stamps.

    ros2 run salus_monitor bag_recorder --ros-args --params-file config/bag_recorder.yaml
    salus-launch record:=bag bag_dir:=data/bags episodes:=20
"""

from __future__ import annotations

import importlib
import json
import time
from importlib.metadata import version

import rclpy
from rclpy.clock import Clock, ClockType
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

from salus_monitor.recording.bag_topics import (
    EPISODE_TOPIC,
    JOINT_STATES_TOPIC,
    QOS_SETTINGS,
    QosKind,
    TopicSpec,
    camera_image_topic,
    topic_profile,
)
from salus_monitor.recording.bag_writer import (
    ClosedEpisode,
    EpisodeBagRecorder,
    header_stamp_ns,
    recorder_custom_data,
    remove_stale_partials,
    salus_typestore,
)
from salus_monitor.recording.readiness import AckWhenMatched
from salus_sim.node_common import (
    check_no_unknown_parameters,
    declare_read_only,
    declare_robot_profile,
    run_node,
)


def qos_profile(kind: QosKind) -> QoSProfile:
    """The rclpy profile of a :class:`QosKind` (the same settings ros2 bag gets from record_topics.yaml)."""
    settings = QOS_SETTINGS[kind]
    return QoSProfile(
        history=HistoryPolicy.KEEP_LAST,
        depth=int(settings["depth"]),
        reliability=ReliabilityPolicy.RELIABLE
        if settings["reliability"] == "reliable"
        else ReliabilityPolicy.BEST_EFFORT,
        durability=DurabilityPolicy.TRANSIENT_LOCAL
        if settings["durability"] == "transient_local"
        else DurabilityPolicy.VOLATILE,
    )


def message_class(spec: TopicSpec):
    """The rclpy message class of a ``pkg/msg/Type`` name (needed to subscribe, even raw)."""
    return getattr(importlib.import_module(f"{spec.package}.msg"), spec.type_name)


class BagRecorder(Node):
    """Thin adapter: raw messages -> :class:`EpisodeBagRecorder`; closed episodes -> acknowledgments."""

    def __init__(self) -> None:
        super().__init__("bag_recorder")
        self.profile = declare_robot_profile(self)
        bag_dir = self._declare("bag_dir", "data/bags", "folder receiving one bag per episode (seed<seed>/)")
        compression = self._declare("compression", "zstd", "MCAP chunk compression: 'zstd' or 'none'")
        end_grace_s = self._declare(
            "end_grace_s", 1.0, "wall seconds an ended episode waits for its last step before closing"
        )
        preroll_s = self._declare(
            "preroll_s", 3.0, "wall seconds of messages kept between episodes for the next one's start"
        )
        max_missing = self._declare(
            "max_missing_steps", 2, "an episode missing more control steps than this is not saved"
        )
        metadata_json = self._declare(
            "metadata_json", "", "JSON object stored in every bag as custom data 'salus.metadata'"
        )
        check_no_unknown_parameters(self)
        if compression not in ("zstd", "none"):
            raise ValueError(f"parameter compression={compression!r} must be 'zstd' or 'none'")
        if metadata_json:
            try:
                if not isinstance(json.loads(metadata_json), dict):
                    raise ValueError("not an object")
            except ValueError as err:
                raise ValueError(f"parameter metadata_json must be a JSON object: {err}") from err

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
                "topics": {s.topic: s.msgtype for s in self.specs},
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
            self.subscriptions_by_topic[spec.topic] = self.create_subscription(
                message_class(spec),
                spec.topic,
                lambda raw, topic=spec.topic: self.on_message(topic, raw),
                qos_profile(spec.qos),
                raw=True,
            )
        required = [EPISODE_TOPIC, JOINT_STATES_TOPIC, *(camera_image_topic(c) for c in self.profile.cameras)]
        self.ready = AckWhenMatched(self, {t: self.subscriptions_by_topic[t] for t in required})
        self.create_timer(0.05, self.on_timer, clock=Clock(clock_type=ClockType.STEADY_TIME))
        self.get_logger().info(
            f"recording {len(self.specs)} topics (cameras {list(self.profile.cameras)}) into "
            f"{self.recorder.bag_dir}, one MCAP bag per episode ({compression})"
        )

    def _declare(self, name: str, default, description: str):
        return declare_read_only(self, name, default, description)

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
