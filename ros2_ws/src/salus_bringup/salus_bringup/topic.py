"""salus-topic: list, echo and measure topics where ``ros2 topic`` is not installed (pip-mode ROS 2).

Usage::

    salus-topic list                          # topics and types seen on the graph
    salus-topic echo /salus/episode           # print messages as YAML-like text (Ctrl-C to stop)
    salus-topic echo /joint_states --once
    salus-topic hz /camera/front/image_raw    # message rate over a sliding window

``echo`` and ``hz`` adapt their QoS to the topic's publishers as ``ros2 topic echo`` does: reliable when
every publisher is reliable, transient local when every publisher is (so ``echo /salus/episode`` started
mid-episode still prints the latched start event; ``hz`` stays volatile: it counts new messages); with no
publisher known yet, they ask for what the graph contract's subscribers use (sensor data outside the
contract). Large arrays are abbreviated when echoed. On a full ROS 2 install, ``ros2 topic`` does the
same and more.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data

from salus_common.qos import subscriber_qos

_MAX_ARRAY_ITEMS = 16
ECHO_DEPTH = 10  # queue of echo/hz subscriptions (and the latched history asked for)


def message_class(type_name: str) -> type:
    """``sensor_msgs/msg/JointState`` → the generated Python class."""
    package, kind, name = type_name.split("/")
    return getattr(importlib.import_module(f"{package}.{kind}"), name)


def to_text(value: Any, indent: int = 0) -> str:
    """Readable, YAML-like rendering of a message; long arrays shortened."""
    pad = "  " * indent
    if hasattr(value, "get_fields_and_field_types"):
        lines = []
        for field in value.get_fields_and_field_types():
            child = getattr(value, field)
            if hasattr(child, "get_fields_and_field_types"):
                lines.append(f"{pad}{field}:\n{to_text(child, indent + 1)}")
            else:
                lines.append(f"{pad}{field}: {to_text(child, indent + 1)}")
        return "\n".join(lines)
    if isinstance(value, bytes | bytearray) or (hasattr(value, "__len__") and not isinstance(value, str)):
        items = list(value)
        shown = ", ".join(str(v) for v in items[:_MAX_ARRAY_ITEMS])
        more = f", ... ({len(items)} items)" if len(items) > _MAX_ARRAY_ITEMS else ""
        return f"[{shown}{more}]"
    return repr(value) if isinstance(value, str) else str(value)


def subscription_qos(
    topic: str, offered: Sequence[QoSProfile], depth: int = ECHO_DEPTH, history: bool = True
) -> QoSProfile:
    """The QoS to subscribe to ``topic`` with, given the profiles its known publishers ``offered``.

    Pure (no ``rclpy.init`` needed): ``echo`` passes ``history=True``, ``hz`` ``history=False``.

    Reliable only if every publisher is (a reliable reader does not match a best-effort writer);
    transient local only if every publisher is (a transient-local reader does not match a volatile
    writer) and ``history`` is wanted (``hz`` measures new messages, not a burst of latched ones). No
    publisher known: the contract's subscriber QoS, or sensor data for a topic outside the contract.
    """
    if not offered:
        try:
            offered = [subscriber_qos(topic)]
        except KeyError:
            offered = [qos_profile_sensor_data]
    reliable = all(q.reliability == ReliabilityPolicy.RELIABLE for q in offered)
    latched = history and all(q.durability == DurabilityPolicy.TRANSIENT_LOCAL for q in offered)
    return QoSProfile(
        history=HistoryPolicy.KEEP_LAST,
        depth=depth,
        reliability=ReliabilityPolicy.RELIABLE if reliable else ReliabilityPolicy.BEST_EFFORT,
        durability=DurabilityPolicy.TRANSIENT_LOCAL if latched else DurabilityPolicy.VOLATILE,
    )


def subscribe(node: Node, topic: str, callback: Callable[[Any], None], wait: float, history: bool) -> None:
    """Subscribe to ``topic`` once its type is known, with QoS matched to its publishers."""
    msg_type = message_class(wait_for_type(node, topic, wait))
    offered = [info.qos_profile for info in node.get_publishers_info_by_topic(topic)]
    node.create_subscription(msg_type, topic, callback, subscription_qos(topic, offered, history=history))


def wait_for_type(node: Node, topic: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        types = dict(node.get_topic_names_and_types())
        if topic in types:
            return types[topic][0]
        rclpy.spin_once(node, timeout_sec=0.1)
    raise SystemExit(f"salus-topic: no publisher of {topic} appeared within {timeout:.0f} s")


def cmd_list(node: Node, args: argparse.Namespace) -> None:
    deadline = time.monotonic() + args.wait
    while time.monotonic() < deadline:
        rclpy.spin_once(node, timeout_sec=0.1)
    for name, types in sorted(node.get_topic_names_and_types()):
        print(f"{name} [{', '.join(types)}]")


def cmd_echo(node: Node, args: argparse.Namespace) -> None:
    done = []

    def on_message(msg: Any) -> None:
        print(to_text(msg) + "\n---", flush=True)
        if args.once:
            done.append(True)

    subscribe(node, args.topic, on_message, args.wait, history=True)
    while not done:
        rclpy.spin_once(node, timeout_sec=0.1)


def cmd_hz(node: Node, args: argparse.Namespace) -> None:
    stamps: deque[float] = deque(maxlen=args.window)
    subscribe(node, args.topic, lambda _m: stamps.append(time.monotonic()), args.wait, history=False)
    next_report = time.monotonic() + 1.0
    while True:
        rclpy.spin_once(node, timeout_sec=0.05)
        if time.monotonic() >= next_report:
            next_report += 1.0
            if len(stamps) >= 2:
                periods = [b - a for a, b in zip(stamps, list(stamps)[1:], strict=False)]
                mean = sum(periods) / len(periods)
                print(
                    f"average rate: {1.0 / mean:.3f} Hz  min {min(periods) * 1e3:.1f} ms  "
                    f"max {max(periods) * 1e3:.1f} ms  window {len(stamps)}",
                    flush=True,
                )
            else:
                print("no new messages", flush=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="salus-topic", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--wait", type=float, default=5.0, help="seconds to wait for discovery")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list topics and their types")
    echo = sub.add_parser("echo", help="print messages of a topic")
    echo.add_argument("topic")
    echo.add_argument("--once", action="store_true", help="print one message and exit")
    hz = sub.add_parser("hz", help="measure the rate of a topic")
    hz.add_argument("topic")
    hz.add_argument("--window", type=int, default=100, help="messages in the sliding window")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    rclpy.init()
    node = Node("salus_topic", start_parameter_services=False)
    try:
        {"list": cmd_list, "echo": cmd_echo, "hz": cmd_hz}[args.command](node, args)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
