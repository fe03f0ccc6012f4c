"""salus-topic (the pip-mode stand-in for ``ros2 topic``) against a real sim node."""

from __future__ import annotations

import subprocess
import sys

import pytest

from .graph_harness import Observer, require_workspace, start_node, stop, write_params

pytestmark = pytest.mark.ros


def salus_topic(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "salus_bringup.topic", "--wait", "20", *args],
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


def test_echo_started_after_the_episode_began_still_prints_the_latched_start_event(tmp_path):
    """The sim publishes EpisodeEvent transient local: echo must ask for that history to see the start."""
    require_workspace()
    from salus_common import contract
    from salus_msgs.srv import ResetEpisode

    params = write_params(tmp_path / "sim.yaml", {"salus_sim": {"image_width": 32, "image_height": 32}})
    sim = start_node("salus_sim", "sim_node", tmp_path / "sim.log", [params])
    observer = Observer()
    try:
        client = observer.node.create_client(ResetEpisode, contract.RESET_SERVICE)
        assert client.wait_for_service(timeout_sec=30.0), (tmp_path / "sim.log").read_text()
        future = client.call_async(ResetEpisode.Request(seed=11))
        assert observer.spin_until(future.done, 15.0) and future.result().success
        episode_id = future.result().episode_id
        echoed = salus_topic("echo", contract.EPISODE_TOPIC, "--once")
    finally:
        observer.close()
        stop(sim)
    assert echoed.returncode == 0, echoed.stderr
    assert "event: 'start'" in echoed.stdout, echoed.stdout
    assert f"episode_id: '{episode_id}'" in echoed.stdout, echoed.stdout
    assert "seed: 11" in echoed.stdout
