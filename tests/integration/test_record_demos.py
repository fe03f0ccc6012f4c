"""Demonstration recording over real DDS: salus-record-demos through the whole graph, and the recorder
node alone against hand-made (partly malformed) messages. Results are loaded with LeRobot's own class."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from .graph_harness import Observer, require_workspace, start_node, stop, write_params

pytestmark = pytest.mark.ros

REPO_ID = "local/salus_demos"


@pytest.fixture(scope="module", autouse=True)
def _workspace() -> None:
    require_workspace()
    pytest.importorskip("lerobot.datasets.lerobot_dataset")


def record_demos(*args: str, timeout: float = 240.0) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "salus_monitor.recording.record_demos", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout)


def test_record_two_demos_through_the_graph_and_load_them_with_lerobot(tmp_path: Path) -> None:
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    from salus_monitor.recording.lerobot_writer import read_episode_log

    root = tmp_path / "demos"
    args = ["--root", str(root), "--image-size", "64", "--real-time-factor", "3"]
    result = record_demos("--episodes", "2", "--seed", "0", *args)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "verified with lerobot LeRobotDataset" in output

    dataset = LeRobotDataset(REPO_ID, root=root, video_backend="pyav")
    assert dataset.num_episodes == 2, output
    log = read_episode_log(root)
    assert [r["seed"] for r in log] == [0, 1] and all(r["outcome"] == "success" for r in log)
    for record in log:  # one frame per 0.1 s control period of the episode
        assert abs(record["frames"] - record["duration_s"] * 10) <= 2, record
        assert 40 <= record["frames"] <= 200
    assert dataset.num_frames == sum(r["frames"] for r in log)
    for key in ("observation.state", "action"):
        assert tuple(dataset.features[key]["shape"]) == (9,)
        assert dataset.features[key]["names"][7:] == ["panda_finger_joint1", "panda_finger_joint2"]
    last = dataset[len(dataset) - 1]
    for camera in ("front", "wrist"):
        pixels = last[f"observation.images.{camera}"]
        assert tuple(pixels.shape) == (3, 64, 64) and float(pixels.std()) > 0.02, "blank image"
    states = np.stack([dataset[i]["observation.state"].numpy() for i in range(log[0]["frames"])])
    actions = np.stack([dataset[i]["action"].numpy() for i in range(log[0]["frames"])])
    assert np.ptp(states[:, :7], axis=0).max() > 0.3, "the arm did not move"
    # the action of frame t is the target the arm then moves towards: it leads the measured state
    lead = np.abs(actions[:-1, :7] - states[1:, :7]).mean()
    assert lead < np.abs(actions[1:, :7] - states[:-1, :7]).mean()

    refused = record_demos("--episodes", "1", "--seed", "1", *args)  # seed 1 is already in the dataset
    assert refused.returncode == 2 and "--seed 2" in refused.stderr, refused.stderr
    verified = record_demos("--verify-only", "--root", str(root))
    assert verified.returncode == 0 and "2 episodes (0 new)" in verified.stdout, verified.stdout


def _image(width: int, height: int, encoding: str = "rgb8", value: int = 90):
    from sensor_msgs.msg import Image

    data = bytes([value]) * (width * height * 3)
    return Image(height=height, width=width, encoding=encoding, step=width * 3, data=data)


def test_recorder_node_rejects_malformed_input_keeps_running_and_acknowledges(tmp_path: Path) -> None:
    from sensor_msgs.msg import Image, JointState
    from std_msgs.msg import String

    from salus_msgs.msg import EpisodeEvent
    from salus_sim import contract
    from salus_sim.episode_runner_node import RECORDER_ACK_QOS, RECORDER_ACK_TOPIC
    from salus_sim.node_common import time_msg

    root = tmp_path / "demos"
    params = write_params(
        tmp_path / "rec.yaml",
        {"lerobot_recorder": {"root": str(root), "image_width": 32, "image_height": 24, "end_grace_s": 0.5}},
    )
    log_path = tmp_path / "recorder.log"
    recorder = start_node("salus_monitor", "lerobot_recorder", log_path, [params])
    observer = Observer("salus_test_recorder_driver")
    try:
        node = observer.node
        observer.watch(String, RECORDER_ACK_TOPIC, RECORDER_ACK_QOS)
        images = {
            cam: node.create_publisher(Image, contract.camera_image_topic(cam), contract.IMAGE_PUB_QOS)
            for cam in ("front", "wrist")
        }
        states = node.create_publisher(JointState, contract.JOINT_STATES_TOPIC, contract.STATE_PUB_QOS)
        commands = node.create_publisher(JointState, contract.JOINT_COMMAND_TOPIC, contract.COMMAND_QOS)
        events = node.create_publisher(EpisodeEvent, contract.EPISODE_TOPIC, contract.EVENT_QOS)
        assert observer.spin_until(
            lambda: (
                node.count_subscribers(contract.JOINT_COMMAND_TOPIC) > 0
                and node.count_publishers(RECORDER_ACK_TOPIC) > 0
            ),
            60.0,
            alive=lambda: recorder.poll() is None,
        ), log_path.read_text()
        observer.spin_until(lambda: False, 0.5)  # let every endpoint match
        names = [f"panda_joint{i}" for i in range(1, 8)] + ["panda_finger_joint1", "panda_finger_joint2"]

        def publish_tick(t: int, image=None, joint_names=names) -> None:
            stamp = time_msg(t * 0.1)
            for pub in images.values():
                msg = image if image is not None else _image(32, 24, value=40 + t)
                msg.header.stamp = stamp
                pub.publish(msg)
            positions = [0.1 * t] * 9
            states.publish(JointState(name=joint_names, position=positions, header=msg.header))
            commands.publish(JointState(name=joint_names, position=positions, header=msg.header))
            observer.spin_until(lambda: False, 0.03)

        events.publish(EpisodeEvent(episode_id="ep1", event="start", header=_header(time_msg(0.0))))
        observer.spin_until(lambda: False, 0.3)
        for t in range(1, 11):
            publish_tick(t)
        publish_tick(11, image=_image(32, 24, encoding="bgr8"))  # wrong encoding
        publish_tick(12, image=_image(64, 64))  # wrong size
        publish_tick(13, joint_names=[n.replace("panda", "fr3") for n in names])  # wrong joints
        end = EpisodeEvent(
            episode_id="ep1",
            event="end",
            outcome="success",
            seed=5,
            duration=1.0,
            header=_header(time_msg(1.0)),
        )
        events.publish(end)
        assert observer.spin_until(lambda: observer.messages[RECORDER_ACK_TOPIC], 30.0), log_path.read_text()
        assert observer.messages[RECORDER_ACK_TOPIC][0].data == "ep1"
        assert recorder.poll() is None, "the recorder died on malformed input"
    finally:
        observer.close()
        code = stop(recorder, timeout=30.0)
    log = log_path.read_text()
    assert code == 0, log
    assert "rejected /camera/" in log and "(encoding)" in log, log  # later ones are throttled
    assert "ep1: success, 10 frames (0 missing) → saved" in log, log
    (summary,) = [line for line in log.splitlines() if "dataset finalized" in line]
    for counted in (
        "'/camera/front/image_raw:encoding': 1",
        "'/camera/wrist/image_raw:image_size': 1",
        "'/joint_states:unknown_joints': 1",
        "'/joint_command:unknown_joints': 1",
    ):
        assert counted in summary, summary

    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    dataset = LeRobotDataset(REPO_ID, root=root, video_backend="pyav")
    assert (dataset.num_episodes, dataset.num_frames) == (1, 10)
    assert tuple(dataset[0]["observation.images.front"].shape) == (3, 24, 32)


def _header(stamp):
    from std_msgs.msg import Header

    return Header(stamp=stamp)


def test_runner_waiting_for_the_recorder_fails_when_an_episode_is_not_acknowledged(tmp_path: Path) -> None:
    from std_msgs.msg import String

    from salus_sim.episode_runner_node import RECORDER_ACK_QOS, RECORDER_ACK_TOPIC

    params = write_params(
        tmp_path / "graph.yaml",
        {
            "salus_sim": {"image_width": 32, "image_height": 32, "real_time_factor": 4.0},
            "episode_runner": {"num_episodes": 2, "wait_for_recorder": True, "recorder_wait_s": 5.0},
        },
    )
    observer = Observer("salus_test_silent_recorder")
    # A "recorder" that is up (its acknowledgment publisher exists) but never acknowledges anything.
    observer.node.create_publisher(String, RECORDER_ACK_TOPIC, RECORDER_ACK_QOS)
    nodes = [
        start_node("salus_sim", "sim_node", tmp_path / "sim.log", [params]),
        start_node("salus_sim", "expert_node", tmp_path / "expert.log", [params]),
    ]
    runner = start_node("salus_sim", "episode_runner", tmp_path / "runner.log", [params])
    try:
        observer.spin_until(lambda: runner.poll() is not None, 90.0)
        code = runner.wait(5)
    finally:
        observer.close()
        for process in (*nodes, runner):
            stop(process)
    log = (tmp_path / "runner.log").read_text()
    assert code == 1, log
    assert "recorder found" in log and "did not acknowledge ep000001-seed0" in log, log
    assert "episode   2/2" not in log
