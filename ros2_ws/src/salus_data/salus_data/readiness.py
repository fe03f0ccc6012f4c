"""The recorders' "ready" hand-shake with the episode runner, defined once.

The runner takes the appearance of the acknowledgment publisher as "the recorder is ready", so it is
created only once the streams an episode cannot do without are matched with their publishers: a recorder
whose subscriptions DDS has not matched yet would miss the beginning of the first episode.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from rclpy.node import Node
from rclpy.publisher import Publisher
from rclpy.subscription import Subscription
from std_msgs.msg import String

from salus_common.contract import RECORDER_ACK_TOPIC
from salus_common.qos import create_publisher

_WARN_AFTER_S = 10.0


class AckWhenMatched:
    """Creates the acknowledgment publisher once every required subscription has a matched publisher."""

    def __init__(self, node: Node, required: Mapping[str, Subscription]) -> None:
        self.node = node
        self.required = dict(required)
        self.publisher: Publisher | None = None
        self.started = time.monotonic()
        self.warned = False

    def poll(self) -> Publisher | None:
        """Call periodically; returns the publisher once ready (and from then on)."""
        if self.publisher is not None:
            return self.publisher
        unmatched = [topic for topic, sub in self.required.items() if sub.get_publisher_count() == 0]
        waited = time.monotonic() - self.started
        if not unmatched:
            self.publisher = create_publisher(self.node, String, RECORDER_ACK_TOPIC)
            self.node.get_logger().info(f"ready after {waited:.1f} s: {', '.join(self.required)} matched")
        elif waited > _WARN_AFTER_S and not self.warned:
            self.warned = True
            self.node.get_logger().warning(f"still waiting for publishers of {unmatched} (is the robot up?)")
        return self.publisher

    def acknowledge(self, episode_id: str) -> None:
        if self.publisher is not None:
            self.publisher.publish(String(data=episode_id))
