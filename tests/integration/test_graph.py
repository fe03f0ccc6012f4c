"""The real graph over real DDS: sim node, expert and runner as separate processes, watched from here."""

from __future__ import annotations

import json
import math
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from .graph_harness import (
    Observer,
    launcher_command,
    require_workspace,
    run_until_exit,
    start_node,
    stop,
    write_params,
)

pytestmark = pytest.mark.ros

FAST_SIM = {"image_width": 64, "image_height": 64, "real_time_factor": 3.0}


@pytest.fixture(scope="module", autouse=True)
def _workspace() -> None:
    require_workspace()


@pytest.fixture
def observer():
    obs = Observer()
    yield obs
    obs.close()


def run_launcher(tmp_path: Path, observer: Observer, *arguments: str, timeout: float = 240.0):
    """Run ``salus-launch`` to completion while spinning the observer; return (exit code, output)."""
    log_path = tmp_path / "launch.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(launcher_command(*arguments), stdout=log, stderr=subprocess.STDOUT)
        try:
            observer.spin_until(lambda: process.poll() is not None, timeout)
        finally:
            code = stop(process)
    return code, log_path.read_text()


def test_main_job_runs_episodes_and_an_independent_node_sees_well_formed_messages(tmp_path, observer):
    from sensor_msgs.msg import Image, JointState

    from salus_common import contract
    from salus_common.qos import subscriber_qos
    from salus_msgs.msg import EpisodeEvent

    observer.watch(JointState, contract.JOINT_STATES_TOPIC, subscriber_qos(contract.JOINT_STATES_TOPIC))
    observer.watch(
        Image, contract.camera_image_topic("front"), subscriber_qos(contract.camera_image_topic("front"))
    )
    observer.watch(
        Image, contract.camera_image_topic("wrist"), subscriber_qos(contract.camera_image_topic("wrist"))
    )
    observer.watch(EpisodeEvent, contract.EPISODE_TOPIC, subscriber_qos(contract.EPISODE_TOPIC))
    results = tmp_path / "episodes.jsonl"
    params = write_params(
        tmp_path / "fast.yaml", {"salus_sim": FAST_SIM, "episode_runner": {"results_path": str(results)}}
    )
    code, output = run_launcher(
        tmp_path, observer, "policy:=expert", "episodes:=3", "seed:=7", f"params_file:={params}"
    )

    assert code == 0, output
    records = [json.loads(line) for line in results.read_text().splitlines()]
    assert [r["seed"] for r in records] == [7, 8, 9]
    assert [r["outcome"] for r in records] == ["success"] * 3, output
    assert "success rate 3/3 = 100.0%" in output

    states = observer.messages[contract.JOINT_STATES_TOPIC]
    assert len(states) > 50
    for msg in states[-20:]:
        assert list(msg.name)[:7] == [f"panda_joint{i}" for i in range(1, 8)]
        assert len(msg.position) == len(msg.velocity) == len(msg.effort) == 9
        assert np.all(np.isfinite(msg.position))
    for camera in ("front", "wrist"):
        images = observer.messages[contract.camera_image_topic(camera)]
        assert images, f"no {camera} images"
        image = images[-1]
        assert (image.width, image.height, image.encoding, image.step) == (64, 64, "rgb8", 64 * 3)
        pixels = np.frombuffer(bytes(image.data), dtype=np.uint8).reshape(64, 64, 3)
        assert pixels.std() > 5, "image is blank"
    events = observer.messages[contract.EPISODE_TOPIC]
    assert [e.event for e in events] == ["start", "end"] * 3
    for end in events[1::2]:
        assert end.outcome == "success" and math.isnan(end.failure_onset_time) and end.duration > 1.0
        assert list(end.perturbations) == []  # the nominal cube-pose variation is not an injection
        assert "cube_xy" in json.loads(end.perturbation_params_json)


def test_forced_gripper_fault_ends_in_drop_with_onset(tmp_path, observer):
    # The runner's record is the source here: this graph lives ~3 s, too short to rely on this process's
    # DDS discovery of the sim before it exits.
    results = tmp_path / "episodes.jsonl"
    fault = {"injection": {"gripper_fault": {"enabled": True, "delay_range_s": [1.0, 1.0]}}}
    params = write_params(
        tmp_path / "fault.yaml",
        {"salus_sim": {**FAST_SIM, **fault}, "episode_runner": {"results_path": str(results)}},
    )
    code, output = run_launcher(
        tmp_path, observer, "policy:=expert", "episodes:=1", "seed:=3", f"params_file:={params}"
    )

    assert code == 0, output
    (record,) = [json.loads(line) for line in results.read_text().splitlines()]
    assert record["outcome"] == "drop", output
    assert record["perturbations"] == ["gripper_fault"]
    assert 0.0 < record["failure_onset_s"] <= record["duration_s"]
    assert record["perturbation_params"]["gripper_fault_delay_s"] == pytest.approx(1.0)


def test_malformed_joint_commands_are_rejected_counted_and_the_sim_keeps_running(tmp_path, observer):
    from diagnostic_msgs.msg import DiagnosticArray
    from sensor_msgs.msg import JointState

    from salus_common import contract
    from salus_common.qos import publisher_qos, subscriber_qos
    from salus_msgs.srv import ResetEpisode

    params = write_params(tmp_path / "sim.yaml", {"salus_sim": FAST_SIM})
    sim = start_node("salus_sim", "sim_node", tmp_path / "sim.log", [params])
    try:
        observer.watch(JointState, contract.JOINT_STATES_TOPIC, subscriber_qos(contract.JOINT_STATES_TOPIC))
        observer.watch(DiagnosticArray, contract.DIAGNOSTICS_TOPIC, 10)
        client = observer.node.create_client(ResetEpisode, contract.RESET_SERVICE)
        assert client.wait_for_service(timeout_sec=30.0), (tmp_path / "sim.log").read_text()
        future = client.call_async(ResetEpisode.Request(seed=1))
        assert observer.spin_until(future.done, 15.0) and future.result().success

        publisher = observer.node.create_publisher(
            JointState, contract.JOINT_COMMAND_TOPIC, publisher_qos(contract.JOINT_COMMAND_TOPIC)
        )
        names = [f"panda_joint{i}" for i in range(1, 8)] + ["panda_finger_joint1", "panda_finger_joint2"]
        good = [0.0, -0.3, 0.0, -2.2, 0.0, 2.0, 0.8, 0.04, 0.04]
        malformed = [
            JointState(name=names[:8], position=good[:8]),  # wrong joint count
            JointState(name=names, position=good[:3] + [math.nan] + good[4:]),  # NaN
            JointState(name=[n.replace("panda", "ur5") for n in names], position=good),  # unknown names
        ]
        observer.spin_until(lambda: publisher.get_subscription_count() > 0, 10.0)
        for msg in malformed:
            publisher.publish(msg)
            observer.spin_until(lambda: False, 0.2)
        publisher.publish(JointState(name=names, position=good))

        def rejected_counts() -> dict[str, str]:
            diagnostics = observer.messages[contract.DIAGNOSTICS_TOPIC]
            if not diagnostics:
                return {}
            return {kv.key: kv.value for kv in diagnostics[-1].status[0].values}

        assert observer.spin_until(lambda: rejected_counts().get("rejected_commands") == "3", 10.0), (
            rejected_counts()
        )
        counts = rejected_counts()
        assert counts["rejected_missing_joints"] == "1"
        assert counts["rejected_non_finite"] == "1"
        assert counts["rejected_unknown_joints"] == "1"
        seen = len(observer.messages[contract.JOINT_STATES_TOPIC])
        assert observer.spin_until(
            lambda: len(observer.messages[contract.JOINT_STATES_TOPIC]) > seen + 5, 10.0
        )
        assert sim.poll() is None, "the sim died on malformed input"
    finally:
        assert stop(sim) == 0
    log = (tmp_path / "sim.log").read_text()
    assert "rejected /joint_command (missing_joints)" in log


def test_bad_config_fails_at_start_up_naming_the_parameter(tmp_path):
    params = write_params(tmp_path / "bad.yaml", {"salus_sim": {"injection": {"push": {"enabld": True}}}})
    code, log = run_until_exit("salus_sim", "sim_node", tmp_path / "bad.log", [params])
    assert code == 1, log
    assert "injection.push.enabld" in log


def test_launcher_stops_the_graph_when_a_required_node_fails(tmp_path, observer):
    params = write_params(tmp_path / "bad.yaml", {"salus_sim": {"physics_dt": -1.0}})
    started = time.monotonic()
    code, output = run_launcher(
        tmp_path, observer, "policy:=expert", "episodes:=1", f"params_file:={params}", timeout=90.0
    )
    assert code != 0
    assert "salus_sim" in output and "physics_dt" in output
    assert time.monotonic() - started < 60.0
