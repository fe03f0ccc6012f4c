"""The robot-side contract every SALUS node shares: topic names and QoS profiles, defined once.

Topic names follow the Isaac Sim ROS 2 bridge (``/joint_states``, ``/joint_command``, camera images,
``/clock``), so swapping MuJoCo for Isaac Sim or a real Franka is a remapping or a config profile.

QoS rule: publishers are RELIABLE unless the data is bulky (images), because a reliable publisher serves
both reliable and best-effort subscribers; subscribers of sensor streams are BEST_EFFORT, because a
best-effort subscriber accepts both kinds of publisher (Isaac Sim's, a driver's, ours).
"""

from rclpy.qos import (
    DurabilityPolicy,
    HistoryPolicy,
    QoSProfile,
    ReliabilityPolicy,
    qos_profile_sensor_data,
)

JOINT_STATES_TOPIC = "/joint_states"
JOINT_COMMAND_TOPIC = "/joint_command"
CLOCK_TOPIC = "/clock"
EPISODE_TOPIC = "/salus/episode"
CUBE_POSE_TOPIC = "/salus/sim/cube_pose"
BIN_POSE_TOPIC = "/salus/sim/bin_pose"
RESET_SERVICE = "/salus/sim/reset"
DIAGNOSTICS_TOPIC = "/diagnostics"


def camera_image_topic(camera: str) -> str:
    return f"/camera/{camera}/image_raw"


def camera_info_topic(camera: str) -> str:
    return f"/camera/{camera}/camera_info"


# Images: newest frame wins, drops are fine.
IMAGE_PUB_QOS = qos_profile_sensor_data
SENSOR_SUB_QOS = qos_profile_sensor_data

# Joint states and small per-step state: reliable publisher, keep the last few.
STATE_PUB_QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE, history=HistoryPolicy.KEEP_LAST)

# Commands, proposals, predictions: every message matters.
COMMAND_QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE, history=HistoryPolicy.KEEP_LAST)

# Episode events: reliable and kept for late joiners, so a recorder started mid-episode still sees the start.
EVENT_QOS = QoSProfile(
    depth=20,
    reliability=ReliabilityPolicy.RELIABLE,
    durability=DurabilityPolicy.TRANSIENT_LOCAL,
    history=HistoryPolicy.KEEP_LAST,
)

CLOCK_QOS = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE, history=HistoryPolicy.KEEP_LAST)
