"""The graph contract: one entry per topic, QoS by the rule, and the rclpy profiles built from it."""

from __future__ import annotations

import pytest

from salus_common import contract
from salus_common.contract import QOS_SETTINGS, QosKind


def test_every_topic_is_listed_once_with_a_full_type_name():
    topics = contract.graph_topics(("front", "wrist"))
    names = [t.name for t in topics]
    assert len(names) == len(set(names))
    assert all(t.msgtype.count("/") == 2 and "/msg/" in t.msgtype for t in topics)
    assert {"/joint_states", "/joint_command", "/clock", "/camera/wrist/image_raw"} <= set(names)


def test_the_qos_rule_holds():
    by_name = {t.name: t for t in contract.graph_topics(("front",))}
    image = by_name["/camera/front/image_raw"]
    assert QOS_SETTINGS[image.publish].reliability == "best_effort"
    states = by_name[contract.JOINT_STATES_TOPIC]
    assert QOS_SETTINGS[states.publish].reliability == "reliable"  # serves reliable and best-effort readers
    assert QOS_SETTINGS[states.subscribe].reliability == "best_effort"  # accepts any publisher
    for name in (contract.PROPOSAL_TOPIC, contract.SIGNALS_TOPIC):
        assert by_name[name].publish is by_name[name].subscribe is QosKind.RELIABLE
    for name in (contract.JOINT_COMMAND_TOPIC, contract.VLA_COMMAND_TOPIC, contract.PREDICTION_TOPIC):
        assert QOS_SETTINGS[by_name[name].publish].reliable and QOS_SETTINGS[by_name[name].subscribe].reliable
    for name in (contract.EPISODE_TOPIC, contract.RECORDER_ACK_TOPIC):
        assert QOS_SETTINGS[by_name[name].publish].durability == "transient_local"


def test_recorded_topics_leave_out_clock_diagnostics_and_acks():
    recorded = {t.name for t in contract.recorded_topics(("front",))}
    assert contract.CLOCK_TOPIC not in recorded and contract.DIAGNOSTICS_TOPIC not in recorded
    assert contract.RECORDER_ACK_TOPIC not in recorded and contract.JOINT_COMMAND_TOPIC in recorded


def test_lookup_by_name_covers_any_camera_and_refuses_unknown_topics():
    assert contract.topic("/camera/left/image_raw").msgtype == "sensor_msgs/msg/Image"
    assert contract.topic("/camera/left/camera_info").msgtype == "sensor_msgs/msg/CameraInfo"
    assert contract.camera_of("/camera/left/image_raw") == "left"
    assert contract.camera_of("/camera/left/camera_info") is None
    with pytest.raises(KeyError, match="/chatter"):
        contract.topic("/chatter")
    with pytest.raises(ValueError, match="unique"):
        contract.graph_topics(("front", "front"))


def test_rclpy_profiles_follow_the_table():
    from rclpy.qos import DurabilityPolicy, ReliabilityPolicy

    from salus_common.qos import publisher_qos, subscriber_qos

    episode = subscriber_qos(contract.EPISODE_TOPIC)
    assert episode.durability == DurabilityPolicy.TRANSIENT_LOCAL and episode.depth == 20
    assert publisher_qos("/camera/front/image_raw").reliability == ReliabilityPolicy.BEST_EFFORT
    assert subscriber_qos(contract.JOINT_STATES_TOPIC, depth=3).depth == 3


def test_the_command_chain_is_watched_by_deadline_and_liveliness():
    from salus_common.contract import COMMAND_DEADLINE_S, JOINT_COMMAND_TOPIC, LIVELINESS_LEASE_S, topic

    watched = QOS_SETTINGS[QosKind.WATCHED]
    assert (watched.deadline_s, watched.liveliness_lease_s) == (COMMAND_DEADLINE_S, LIVELINESS_LEASE_S)
    assert LIVELINESS_LEASE_S < 0.1  # a killed VLA is seen within the 100 ms
    for name in ("/salus/vla_command", "/salus/prediction"):
        assert topic(name).publish == topic(name).subscribe == QosKind.WATCHED
    # the robot side asks for no more than reliable: Isaac Sim's bridge or any commander is accepted
    assert topic(JOINT_COMMAND_TOPIC).publish == QosKind.WATCHED
    assert topic(JOINT_COMMAND_TOPIC).subscribe == QosKind.RELIABLE
    override = watched.as_override()
    assert override["deadline"] == {"sec": 0, "nsec": 200_000_000}
    assert override["liveliness"] == "automatic"
    assert override["liveliness_lease_duration"] == {"sec": 0, "nsec": 75_000_000}


def test_the_rclpy_profile_carries_the_deadline_and_lease():
    pytest.importorskip("rclpy")
    from rclpy.qos import LivelinessPolicy

    from salus_common.qos import subscriber_qos

    qos = subscriber_qos("/salus/vla_command")
    assert qos.deadline.nanoseconds == 200_000_000
    assert qos.liveliness == LivelinessPolicy.AUTOMATIC
    assert qos.liveliness_lease_duration.nanoseconds == 75_000_000
