"""salus-topic (the pip-mode stand-in for ``ros2 topic``) against a real sim node."""

from __future__ import annotations

import subprocess
import sys

import pytest

from .graph_harness import require_workspace, start_node, stop, write_params

pytestmark = pytest.mark.ros


def salus_topic(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "salus_monitor.tools.topic", "--wait", "20", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_list_and_echo_see_the_sim_topics(tmp_path):
    require_workspace()
    params = write_params(tmp_path / "sim.yaml", {"salus_sim": {"image_width": 32, "image_height": 32}})
    sim = start_node("salus_sim", "sim_node", tmp_path / "sim.log", [params])
    try:
        echoed = salus_topic("echo", "/joint_states", "--once")
        listed = salus_topic("--wait", "5", "list")
    finally:
        stop(sim)
    assert echoed.returncode == 0, echoed.stderr
    assert "name: [panda_joint1, panda_joint2" in echoed.stdout.replace("'", "")
    assert "/camera/front/image_raw [sensor_msgs/msg/Image]" in listed.stdout
    assert "/salus/episode [salus_msgs/msg/EpisodeEvent]" in listed.stdout
