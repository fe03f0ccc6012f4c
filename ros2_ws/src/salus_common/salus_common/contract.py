"""The SALUS graph contract as data: every topic's name, message type and QoS, defined once. Pure Python.

Topic names on the robot side follow the Isaac Sim ROS 2 bridge (``/joint_states``, ``/joint_command``,
camera images, ``/clock``), so swapping MuJoCo for Isaac Sim or a real Franka is a config profile. The rclpy
profiles are built from this table in :mod:`salus_common.qos`; the recorder and ``ros2 bag`` read it too.

QoS rule: publishers are RELIABLE unless the data is bulky (images), because a reliable publisher serves
both reliable and best-effort subscribers; subscribers of sensor streams are BEST_EFFORT, because a
best-effort subscriber accepts both kinds of publisher (Isaac Sim's, a driver's, ours). Commands,
proposals, signals, predictions and interventions are reliable end to end; episode events and recorder
acknowledgments are latched (reliable + transient local) so a node that starts late still sees them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

JOINT_STATES_TOPIC = "/joint_states"
JOINT_COMMAND_TOPIC = "/joint_command"
VLA_COMMAND_TOPIC = "/salus/vla_command"  # what the VLA would command; the action filter decides
CLOCK_TOPIC = "/clock"
EPISODE_TOPIC = "/salus/episode"
PROPOSAL_TOPIC = "/salus/proposal"
SIGNALS_TOPIC = "/salus/signals"
PREDICTION_TOPIC = "/salus/prediction"
INTERVENTION_TOPIC = "/salus/intervention"
RISK_MARKERS_TOPIC = "/salus/risk_markers"
CUBE_POSE_TOPIC = "/salus/sim/cube_pose"
BIN_POSE_TOPIC = "/salus/sim/bin_pose"
RECORDER_ACK_TOPIC = "/salus/recorder/episode_saved"
DIAGNOSTICS_TOPIC = "/diagnostics"
RESET_SERVICE = "/salus/sim/reset"
RESET_SERVICE_TYPE = "salus_msgs/srv/ResetEpisode"


def camera_image_topic(camera: str) -> str:
    return f"/camera/{camera}/image_raw"


def camera_info_topic(camera: str) -> str:
    return f"/camera/{camera}/camera_info"


def camera_of(topic: str) -> str | None:
    """The camera name of a ``/camera/<name>/image_raw`` topic, else None."""
    parts = topic.split("/")
    if len(parts) == 4 and parts[1] == "camera" and parts[3] == "image_raw" and parts[2]:
        return parts[2]
    return None


class QosKind(StrEnum):
    """The few QoS profiles the graph uses; settings in :data:`QOS_SETTINGS`."""

    SENSOR = "sensor"  # best effort, volatile, keep last 10: images, and subscribers of sensor streams
    STATE = "state"  # reliable, volatile, keep last 10: publishers of joint states and poses
    RELIABLE = "reliable"  # reliable, volatile, keep last 10: commands, proposals, signals, predictions
    LATCHED = "latched"  # reliable, transient local, keep last 20: episode events, acknowledgments
    CLOCK = "clock"  # reliable, volatile, keep last 1: /clock
    # reliable, volatile, keep last 10, with a deadline and an automatic liveliness lease: the command chain
    # (VLA -> filter -> robot) and the predictions the filter waits for, so a silent or dead node is seen
    WATCHED = "watched"


@dataclass(frozen=True)
class QosSettings:
    """A keep-last QoS profile, in the words of ``ros2 bag``'s QoS override files."""

    reliability: str  # "reliable" | "best_effort"
    durability: str  # "volatile" | "transient_local"
    depth: int
    deadline_s: float | None = None  # longest expected gap between messages (None: no deadline)
    liveliness_lease_s: float | None = None  # automatic liveliness lease (None: the DDS default, infinite)

    @property
    def reliable(self) -> bool:
        return self.reliability == "reliable"

    @property
    def latched(self) -> bool:
        """Transient local: late subscribers get the last ``depth`` messages."""
        return self.durability == "transient_local"

    def as_override(self, depth: int | None = None) -> dict[str, object]:
        """A ``--qos-profile-overrides-path`` entry."""
        override: dict[str, object] = {
            "history": "keep_last",
            "depth": depth or self.depth,
            "reliability": self.reliability,
            "durability": self.durability,
        }
        if self.deadline_s is not None:
            override["deadline"] = _duration(self.deadline_s)
        if self.liveliness_lease_s is not None:
            override["liveliness"] = "automatic"
            override["liveliness_lease_duration"] = _duration(self.liveliness_lease_s)
        return override


def _duration(seconds: float) -> dict[str, int]:
    sec = int(seconds)
    return {"sec": sec, "nsec": round((seconds - sec) * 1e9)}


# The command chain's timing facts. A command is expected every control step (0.1 s at 10 Hz): a gap past
# COMMAND_DEADLINE_S is a deadline miss (counted) and, in real time, makes the action filter hold the joints.
# A publisher whose process died loses its liveliness after LIVELINESS_LEASE_S (DDS asserts it from its own
# thread, so a slow chunk does not lose it): the filter holds at once instead of waiting for the deadline.
COMMAND_DEADLINE_S = 0.2
LIVELINESS_LEASE_S = 0.075


QOS_SETTINGS: dict[QosKind, QosSettings] = {
    QosKind.SENSOR: QosSettings("best_effort", "volatile", 10),
    QosKind.STATE: QosSettings("reliable", "volatile", 10),
    QosKind.RELIABLE: QosSettings("reliable", "volatile", 10),
    QosKind.LATCHED: QosSettings("reliable", "transient_local", 20),
    QosKind.CLOCK: QosSettings("reliable", "volatile", 1),
    QosKind.WATCHED: QosSettings("reliable", "volatile", 10, COMMAND_DEADLINE_S, LIVELINESS_LEASE_S),
}


@dataclass(frozen=True)
class Topic:
    """One topic of the graph: who offers what, who asks for what, and whether it is recorded."""

    name: str
    msgtype: str  # ROS 2 type name, e.g. "sensor_msgs/msg/Image"
    publish: QosKind
    subscribe: QosKind
    description: str
    recorded: bool = True
    per_step: bool = False  # one message per control step, stamped with its observation's stamp

    @property
    def package(self) -> str:
        return self.msgtype.split("/", 1)[0]

    @property
    def type_name(self) -> str:
        return self.msgtype.rsplit("/", 1)[1]


def graph_topics(cameras: Sequence[str]) -> tuple[Topic, ...]:
    """Every topic of the graph for a robot with these cameras, in a fixed order."""
    if not cameras or len(set(cameras)) != len(cameras):
        raise ValueError(f"cameras must be unique and non-empty, got {list(cameras)}")
    sensor, state, reliable, latched = QosKind.SENSOR, QosKind.STATE, QosKind.RELIABLE, QosKind.LATCHED
    # Commands and predictions are offered with a deadline and a liveliness lease. The robot side asks for
    # plain reliable (any commander is accepted: Isaac Sim's bridge and ros2_control ask for no more); the
    # filter asks for both on its inputs, so it learns when the VLA or the predictor is gone.
    watched = QosKind.WATCHED
    topics: list[Topic] = []
    for camera in cameras:
        topics += [
            Topic(
                camera_image_topic(camera),
                "sensor_msgs/msg/Image",
                sensor,
                sensor,
                f"{camera} camera",
                per_step=True,
            ),
            Topic(
                camera_info_topic(camera),
                "sensor_msgs/msg/CameraInfo",
                sensor,
                sensor,
                f"{camera} camera intrinsics",
            ),
        ]
    topics += [
        Topic(
            JOINT_STATES_TOPIC,
            "sensor_msgs/msg/JointState",
            state,
            sensor,
            "measured joints (state)",
            per_step=True,
        ),
        Topic(
            JOINT_COMMAND_TOPIC,
            "sensor_msgs/msg/JointState",
            watched,
            reliable,
            "executed joint position targets (action)",
            per_step=True,
        ),
        Topic(
            VLA_COMMAND_TOPIC,
            "sensor_msgs/msg/JointState",
            watched,
            watched,
            "the VLA's command before the action filter (its /joint_command, remapped)",
            per_step=True,
        ),
        Topic(
            PROPOSAL_TOPIC,
            "salus_msgs/msg/ActionProposal",
            reliable,
            reliable,
            "VLA ensemble proposal: mean, std, samples",
            per_step=True,
        ),
        Topic(
            SIGNALS_TOPIC,
            "salus_msgs/msg/SalusSignals",
            reliable,
            reliable,
            "the runtime signals",
            per_step=True,
        ),
        Topic(
            PREDICTION_TOPIC,
            "salus_msgs/msg/FailurePrediction",
            watched,
            watched,
            "multi-horizon failure probabilities",
            per_step=True,
        ),
        Topic(
            INTERVENTION_TOPIC,
            "salus_msgs/msg/SafetyIntervention",
            reliable,
            reliable,
            "what the safety filter executed",
            per_step=True,
        ),
        Topic(
            RISK_MARKERS_TOPIC,
            "visualization_msgs/msg/MarkerArray",
            reliable,
            reliable,
            "the risk grid and alert for rviz",
            recorded=False,
        ),
        Topic(EPISODE_TOPIC, "salus_msgs/msg/EpisodeEvent", latched, latched, "episode start/end, labels"),
        Topic(
            CUBE_POSE_TOPIC,
            "geometry_msgs/msg/PoseStamped",
            state,
            sensor,
            "cube pose (sim only, privileged)",
        ),
        Topic(
            BIN_POSE_TOPIC, "geometry_msgs/msg/PoseStamped", state, sensor, "bin pose (sim only, privileged)"
        ),
        Topic(
            CLOCK_TOPIC, "rosgraph_msgs/msg/Clock", QosKind.CLOCK, QosKind.CLOCK, "sim time", recorded=False
        ),
        Topic(
            RECORDER_ACK_TOPIC,
            "std_msgs/msg/String",
            latched,
            latched,
            "episode ids whose recording is complete",
            recorded=False,
        ),
        Topic(
            DIAGNOSTICS_TOPIC,
            "diagnostic_msgs/msg/DiagnosticArray",
            reliable,
            reliable,
            "node health and counters",
            recorded=False,
        ),
    ]
    return tuple(topics)


def topic(name: str) -> Topic:
    """The contract entry of one topic; the camera topics of any camera name resolve too."""
    parts = name.split("/")
    camera = parts[2] if len(parts) == 4 and parts[1] == "camera" and parts[2] else "front"
    for entry in graph_topics((camera,)):
        if entry.name == name:
            return entry
    raise KeyError(f"{name!r} is not a topic of the SALUS graph contract")


def recorded_topics(cameras: Sequence[str]) -> tuple[Topic, ...]:
    """The topics an episode bag holds, in a fixed order."""
    return tuple(t for t in graph_topics(cameras) if t.recorded)
