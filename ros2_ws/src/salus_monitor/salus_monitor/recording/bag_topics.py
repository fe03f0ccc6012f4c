"""The topic profile SALUS records into rosbag2 bags, defined once. Pure Python (no rclpy).

One :class:`TopicSpec` per recorded topic: name, ROS type, the QoS the recorder subscribes with, and
whether the stream carries one message per control step stamped with the observation it belongs to
(``per_step``; the recorder closes an ended episode once these streams have caught up with its end stamp).

QoS follows ``salus_sim.contract``: camera images are subscribed best-effort (a best-effort subscriber
matches both best-effort and reliable publishers: ours, Isaac Sim's, a driver's); joint states too, for the
same reason. Commands, proposals, signals, predictions and interventions are reliable; episode events are
reliable + transient local (a recorder started late still receives the current episode's start).

The same profile drives ``ros2 bag record`` on a full ROS 2 install: :func:`record_topics_yaml` writes
``config/record_topics.yaml``, a QoS-override file keyed by topic (``--qos-profile-overrides-path``) whose
keys are also the topic list::

    ros2 bag record -s mcap --use-sim-time -o bags/session1 \\
        --qos-profile-overrides-path config/record_topics.yaml \\
        --topics $(python3 -c "import yaml; print(*yaml.safe_load(open('config/record_topics.yaml')))")

(one bag for the whole session; ``salus-bag2zarr`` splits it into episodes by the episode events).
Regenerate the file after changing the profile: ``python -m salus_monitor.recording.bag_topics --write``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

# Topics of the SALUS stack beyond the robot contract (salus_sim.contract holds the robot side).
PROPOSAL_TOPIC = "/salus/proposal"
SIGNALS_TOPIC = "/salus/signals"
PREDICTION_TOPIC = "/salus/prediction"
INTERVENTION_TOPIC = "/salus/intervention"
EPISODE_TOPIC = "/salus/episode"  # = salus_sim.contract.EPISODE_TOPIC (kept import-free of rclpy here)
JOINT_STATES_TOPIC = "/joint_states"
JOINT_COMMAND_TOPIC = "/joint_command"
CUBE_POSE_TOPIC = "/salus/sim/cube_pose"
BIN_POSE_TOPIC = "/salus/sim/bin_pose"

DEFAULT_CAMERAS: tuple[str, ...] = ("front", "wrist")
RECORD_TOPICS_RELPATH = Path("config") / "record_topics.yaml"
# Shell snippet listing the topics of config/record_topics.yaml (its keys), for `ros2 bag record --topics`.
TOPICS_FROM_FILE = "$(python3 -c \"import yaml; print(*yaml.safe_load(open('config/record_topics.yaml')))\")"


def camera_image_topic(camera: str) -> str:
    return f"/camera/{camera}/image_raw"


def camera_info_topic(camera: str) -> str:
    return f"/camera/{camera}/camera_info"


class QosKind(StrEnum):
    """How the recorder subscribes; values map to rclpy profiles in the node and to ros2 bag overrides."""

    SENSOR = "sensor"  # best effort, volatile, keep last 10
    RELIABLE = "reliable"  # reliable, volatile, keep last 100 (a recorder must not drop commands)
    EVENTS = "events"  # reliable, transient local, keep last 20 (contract.EVENT_QOS)


# Depths and policies per kind, as ros2 bag's QoS override keys (also read by the node).
QOS_SETTINGS: dict[QosKind, dict[str, object]] = {
    QosKind.SENSOR: {
        "history": "keep_last",
        "depth": 10,
        "reliability": "best_effort",
        "durability": "volatile",
    },
    QosKind.RELIABLE: {
        "history": "keep_last",
        "depth": 100,
        "reliability": "reliable",
        "durability": "volatile",
    },
    QosKind.EVENTS: {
        "history": "keep_last",
        "depth": 20,
        "reliability": "reliable",
        "durability": "transient_local",
    },
}


@dataclass(frozen=True)
class TopicSpec:
    """One recorded topic."""

    topic: str
    msgtype: str  # ROS 2 type name, e.g. "sensor_msgs/msg/Image"
    qos: QosKind
    per_step: bool  # one message per control step, stamped with the observation's stamp
    description: str

    @property
    def package(self) -> str:
        return self.msgtype.split("/", 1)[0]

    @property
    def type_name(self) -> str:
        return self.msgtype.rsplit("/", 1)[1]


def topic_profile(cameras: Sequence[str] = DEFAULT_CAMERAS) -> tuple[TopicSpec, ...]:
    """Every recorded topic for a robot with these cameras, in a fixed order."""
    if not cameras or len(set(cameras)) != len(cameras):
        raise ValueError(f"cameras must be unique and non-empty, got {list(cameras)}")
    specs: list[TopicSpec] = []
    for camera in cameras:
        specs.append(
            TopicSpec(
                camera_image_topic(camera),
                "sensor_msgs/msg/Image",
                QosKind.SENSOR,
                True,
                f"{camera} camera, rgb8",
            )
        )
        specs.append(
            TopicSpec(
                camera_info_topic(camera),
                "sensor_msgs/msg/CameraInfo",
                QosKind.SENSOR,
                False,
                f"{camera} camera intrinsics",
            )
        )
    specs += [
        TopicSpec(
            JOINT_STATES_TOPIC, "sensor_msgs/msg/JointState", QosKind.SENSOR, True, "measured joints (state)"
        ),
        TopicSpec(
            JOINT_COMMAND_TOPIC,
            "sensor_msgs/msg/JointState",
            QosKind.RELIABLE,
            True,
            "executed joint position targets (action)",
        ),
        TopicSpec(
            PROPOSAL_TOPIC,
            "salus_msgs/msg/ActionProposal",
            QosKind.RELIABLE,
            True,
            "VLA ensemble proposal: mean, std, samples",
        ),
        TopicSpec(
            SIGNALS_TOPIC, "salus_msgs/msg/SalusSignals", QosKind.RELIABLE, True, "the 12 runtime signals"
        ),
        TopicSpec(
            PREDICTION_TOPIC,
            "salus_msgs/msg/FailurePrediction",
            QosKind.RELIABLE,
            True,
            "multi-horizon failure probabilities",
        ),
        TopicSpec(
            INTERVENTION_TOPIC,
            "salus_msgs/msg/SafetyIntervention",
            QosKind.RELIABLE,
            True,
            "what the safety filter executed",
        ),
        TopicSpec(
            EPISODE_TOPIC, "salus_msgs/msg/EpisodeEvent", QosKind.EVENTS, False, "episode start/end, labels"
        ),
        TopicSpec(
            CUBE_POSE_TOPIC, "geometry_msgs/msg/PoseStamped", QosKind.SENSOR, False, "cube pose (sim only)"
        ),
        TopicSpec(
            BIN_POSE_TOPIC, "geometry_msgs/msg/PoseStamped", QosKind.SENSOR, False, "bin pose (sim only)"
        ),
    ]
    return tuple(specs)


def record_topics_yaml(cameras: Sequence[str] = DEFAULT_CAMERAS) -> str:
    """``config/record_topics.yaml``: ros2 bag's QoS override file for the profile; keys = topics."""
    lines = [
        "# The SALUS recording profile for `ros2 bag record` (full ROS 2 installs). Generated by",
        "#   python -m salus_monitor.recording.bag_topics --write",
        "# from salus_monitor/recording/bag_topics.py, which the pip-mode bag_recorder node reads directly.",
        "# This is a --qos-profile-overrides-path file: topic -> QoS; its keys are the topics to record:",
        "#   ros2 bag record -s mcap --use-sim-time -o bags/session1 \\",
        "#     --qos-profile-overrides-path config/record_topics.yaml \\",
        f"#     --topics {TOPICS_FROM_FILE}",
        "# Types (comments): salus_msgs types need the sourced workspace, as for any custom interface.",
    ]
    for spec in topic_profile(cameras):
        settings = QOS_SETTINGS[spec.qos]
        body = ", ".join(f"{key}: {value}" for key, value in settings.items())
        lines.append(f"{spec.topic}: {{{body}}}  # {spec.msgtype}: {spec.description}")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Print or write config/record_topics.yaml (ros2 bag profile)."
    )
    parser.add_argument("--write", action="store_true", help=f"write {RECORD_TOPICS_RELPATH} of this repo")
    parser.add_argument("--cameras", nargs="+", default=list(DEFAULT_CAMERAS), help="camera names")
    parser.add_argument("--output", type=Path, help="write to this file instead")
    opts = parser.parse_args(argv)
    text = record_topics_yaml(opts.cameras)
    target = opts.output
    if opts.write and target is None:
        for folder in (Path.cwd(), *Path.cwd().parents):
            if (folder / "config" / "graph.yaml").is_file():
                target = folder / RECORD_TOPICS_RELPATH
                break
        else:
            print(
                "bag_topics: no config/graph.yaml above the current directory; pass --output", file=sys.stderr
            )
            return 2
    if target is None:
        sys.stdout.write(text)
    else:
        target.write_text(text)
        print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
