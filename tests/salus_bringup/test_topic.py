"""salus-topic's QoS choice: matched to the publishers like ``ros2 topic echo``; no rclpy.init, no DDS."""

from __future__ import annotations

import pytest

rclpy = pytest.importorskip("rclpy")

from rclpy.qos import (  # noqa: E402
    DurabilityPolicy,
    HistoryPolicy,
    QoSProfile,
    ReliabilityPolicy,
    qos_profile_sensor_data,
)

from salus_bringup.topic import ECHO_DEPTH, subscription_qos  # noqa: E402
from salus_common import contract  # noqa: E402
from salus_common.qos import subscriber_qos  # noqa: E402

RELIABLE, BEST_EFFORT = ReliabilityPolicy.RELIABLE, ReliabilityPolicy.BEST_EFFORT
LATCHED, VOLATILE = DurabilityPolicy.TRANSIENT_LOCAL, DurabilityPolicy.VOLATILE


def offered(reliability: ReliabilityPolicy, durability: DurabilityPolicy, depth: int = 20) -> QoSProfile:
    return QoSProfile(depth=depth, reliability=reliability, durability=durability)


def policies(qos: QoSProfile) -> tuple[ReliabilityPolicy, DurabilityPolicy]:
    return qos.reliability, qos.durability


@pytest.mark.parametrize(
    ("publishers", "expected"),
    [
        ([offered(RELIABLE, LATCHED)], (RELIABLE, LATCHED)),  # /salus/episode: the late start event arrives
        ([offered(RELIABLE, LATCHED), offered(RELIABLE, LATCHED)], (RELIABLE, LATCHED)),
        ([offered(RELIABLE, VOLATILE)], (RELIABLE, VOLATILE)),
        ([offered(BEST_EFFORT, VOLATILE)], (BEST_EFFORT, VOLATILE)),
        ([offered(RELIABLE, LATCHED), offered(BEST_EFFORT, LATCHED)], (BEST_EFFORT, LATCHED)),
        ([offered(RELIABLE, LATCHED), offered(RELIABLE, VOLATILE)], (RELIABLE, VOLATILE)),
    ],
)
def test_echo_matches_every_publisher(publishers: list[QoSProfile], expected: tuple) -> None:
    qos = subscription_qos("/some/topic", publishers)
    assert policies(qos) == expected
    assert qos.history == HistoryPolicy.KEEP_LAST and qos.depth == ECHO_DEPTH
    assert not rclpy.ok(), "the choice must not need rclpy.init"


def test_hz_never_asks_for_latched_history() -> None:
    qos = subscription_qos("/some/topic", [offered(RELIABLE, LATCHED)], history=False)
    assert policies(qos) == (RELIABLE, VOLATILE)
    fallback = subscription_qos(contract.EPISODE_TOPIC, [], history=False)
    assert policies(fallback) == (RELIABLE, VOLATILE)


@pytest.mark.parametrize(
    "topic", [contract.EPISODE_TOPIC, contract.JOINT_STATES_TOPIC, contract.camera_image_topic("front")]
)
def test_without_publishers_a_contract_topic_gets_the_contract_subscriber_qos(topic: str) -> None:
    assert policies(subscription_qos(topic, [])) == policies(subscriber_qos(topic))


def test_without_publishers_a_topic_outside_the_contract_gets_sensor_data_qos() -> None:
    with pytest.raises(KeyError):
        subscriber_qos("/not/in/the/contract")
    qos = subscription_qos("/not/in/the/contract", [])
    assert policies(qos) == policies(qos_profile_sensor_data) == (BEST_EFFORT, VOLATILE)


def test_contract_fallbacks_differ_by_topic() -> None:
    """Guards the fallback test above against a contract where every subscriber asks for the same."""
    assert policies(subscription_qos(contract.EPISODE_TOPIC, [])) == (RELIABLE, LATCHED)
    assert policies(subscription_qos(contract.camera_image_topic("front"), [])) == (BEST_EFFORT, VOLATILE)
