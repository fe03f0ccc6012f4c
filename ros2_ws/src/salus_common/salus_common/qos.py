"""The rclpy QoS profiles of the graph, built from the contract's table (:mod:`salus_common.contract`).

Nodes create their endpoints through :func:`create_publisher` / :func:`create_subscription`, so a topic's
QoS is looked up in the contract, never written at the call site.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rclpy.duration import Duration
from rclpy.node import Node
from rclpy.publisher import Publisher
from rclpy.qos import DurabilityPolicy, HistoryPolicy, LivelinessPolicy, QoSProfile, ReliabilityPolicy
from rclpy.subscription import Subscription

from salus_common.contract import QOS_SETTINGS, QosKind, topic


def profile(kind: QosKind, depth: int | None = None) -> QoSProfile:
    """The rclpy profile of a contract QoS kind (``depth`` overrides the queue length)."""
    settings = QOS_SETTINGS[kind]
    qos = QoSProfile(
        history=HistoryPolicy.KEEP_LAST,
        depth=depth or settings.depth,
        reliability=ReliabilityPolicy.RELIABLE if settings.reliable else ReliabilityPolicy.BEST_EFFORT,
        durability=DurabilityPolicy.TRANSIENT_LOCAL if settings.latched else DurabilityPolicy.VOLATILE,
    )
    if settings.deadline_s is not None:
        qos.deadline = Duration(nanoseconds=round(settings.deadline_s * 1e9))
    if settings.liveliness_lease_s is not None:
        qos.liveliness = LivelinessPolicy.AUTOMATIC
        qos.liveliness_lease_duration = Duration(nanoseconds=round(settings.liveliness_lease_s * 1e9))
    return qos


def publisher_qos(name: str, depth: int | None = None) -> QoSProfile:
    """What a publisher of contract topic ``name`` offers."""
    return profile(topic(name).publish, depth)


def subscriber_qos(name: str, depth: int | None = None) -> QoSProfile:
    """What a subscriber of contract topic ``name`` asks for."""
    return profile(topic(name).subscribe, depth)


def create_publisher(node: Node, msg_type: Any, name: str, depth: int | None = None) -> Publisher:
    """A publisher of contract topic ``name`` with the QoS its publishers offer."""
    return node.create_publisher(msg_type, name, publisher_qos(name, depth))


def create_subscription(
    node: Node,
    msg_type: Any,
    name: str,
    callback: Callable[[Any], None],
    depth: int | None = None,
    **kwargs: Any,
) -> Subscription:
    """A subscription to contract topic ``name`` with the QoS its subscribers ask for (``kwargs``, e.g.
    ``event_callbacks`` for deadline and liveliness events, go to rclpy)."""
    return node.create_subscription(msg_type, name, callback, subscriber_qos(name, depth), **kwargs)
