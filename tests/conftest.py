"""Shared test fixtures: an isolated ROS 2 domain per test session, and helpers to start graph processes."""

from __future__ import annotations

import os
import random

import pytest

# Every DDS participant of this test session lives in its own domain and on localhost only, so parallel
# runs (or a user's running graph) never cross-talk with the tests. Set before anything imports rclpy.
os.environ.setdefault("ROS_DOMAIN_ID", str(random.Random(os.getpid()).randint(1, 100)))
os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
os.environ.setdefault("MUJOCO_GL", "egl")


@pytest.fixture(scope="session")
def ros_domain_id() -> str:
    return os.environ["ROS_DOMAIN_ID"]
