"""The VLA node over DDS with the sim: exact replays in sync mode, and output safety in real time.

The policy is a seeded random tiny SmolVLA saved as lerobot saves a trained one (nothing here needs it to
solve the task). Its action statistics are edited on disk to make it misbehave on purpose: shifted far
beyond the joint limits (every target must still be limited), or NaN (nothing may be published).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from .graph_harness import REPO, Observer, launcher_command, require_workspace, stop, write_params

pytestmark = pytest.mark.ros

SHORT = {
    "salus_sim": {
        "real_time_factor": 1.0,
        "image_width": 96,
        "image_height": 96,
        "label": {"max_duration_s": 4.0},
    }
}


@pytest.fixture(scope="module")
def random_checkpoint(tmp_path_factory) -> Path:
    require_workspace()
    pytest.importorskip("lerobot.policies.smolvla.modeling_smolvla")
    sys.path.insert(0, str(REPO / "tests" / "salus_vla"))
    from helpers import action_stats, write_hidden_stats

    from salus_vla.core.backbone import build_backbone
    from salus_vla.core.policy_factory import make_policy, make_smolvla_config

    work = tmp_path_factory.mktemp("random_vla")
    backbone = build_backbone(work / "backbone", "tiny")
    config = make_smolvla_config(backbone, device="cpu")
    policy = make_policy(config, seed=0, dataset_stats=action_stats())
    folder = work / "checkpoint"
    for part in (policy.policy, policy.preprocessor, policy.postprocessor):
        part.save_pretrained(folder)
    write_hidden_stats(folder, backbone)
    return folder


def edited_checkpoint(source: Path, folder: Path, mean: float) -> Path:
    """A copy whose action un-normalisation mean is ``mean`` for every joint (far off, or NaN)."""
    import shutil

    from safetensors.torch import load_file, save_file

    shutil.copytree(source, folder)
    (stats_file,) = folder.glob("policy_postprocessor_step_*_unnormalizer_processor.safetensors")
    stats = load_file(stats_file)
    stats["action.mean"] = stats["action.mean"].clone().fill_(mean)
    save_file(stats, stats_file)
    return folder


def run_graph(
    tmp_path: Path, *arguments: str, watch=(), publish_bad_states: bool = False
) -> tuple[str, dict]:
    """Run the graph to its end; returns its output and the messages of the watched topics."""
    from salus_common.qos import subscriber_qos

    observer = Observer()
    try:
        for msg_type, topic in watch:
            observer.watch(msg_type, topic, subscriber_qos(topic))
        if publish_bad_states:
            from sensor_msgs.msg import JointState

            from salus_common.contract import JOINT_STATES_TOPIC
            from salus_common.qos import publisher_qos

            pub = observer.node.create_publisher(
                JointState, JOINT_STATES_TOPIC, publisher_qos(JOINT_STATES_TOPIC)
            )
            names = ["panda_joint1"] * 9  # duplicates
            observer.node.create_timer(0.2, lambda: pub.publish(JointState(name=names, position=[0.0] * 9)))
        log_path = tmp_path / "launch.log"
        with log_path.open("w") as log:
            launcher = subprocess.Popen(launcher_command(*arguments), stdout=log, stderr=subprocess.STDOUT)
            observer.spin_until(lambda: launcher.poll() is not None, 240.0)
            code = stop(launcher)
        observer.spin_until(lambda: False, 0.5)
    finally:
        observer.close()
    output = log_path.read_text()
    assert code == 0, output[-3000:]
    return output, dict(observer.messages)


def run_one_episode(tmp_path: Path, checkpoint: Path, **options) -> tuple[str, dict, dict]:
    """One short real-time episode with ``checkpoint``: output, watched messages, the VLA's final report."""
    results = tmp_path / "episodes.jsonl"
    params = write_params(
        tmp_path / "params.yaml", {**SHORT, "episode_runner": {"results_path": str(results)}}
    )
    output, messages = run_graph(
        tmp_path, "episodes:=1", f"checkpoint:={checkpoint}", f"params_file:={params}", **options
    )
    return output, messages, final_policy_report(results)


def final_policy_report(results: Path) -> dict:
    (record,) = [json.loads(line) for line in results.read_text().splitlines()]
    return record["policy_timing"]


def test_sync_mode_replays_a_perturbed_episode_exactly(random_checkpoint, tmp_path):
    from salus_data.bag_reader import read_episodes

    perturbed = {
        "salus_sim": {
            **SHORT["salus_sim"],
            "injection": {
                "action_noise": {"enabled": True},
                "push": {"enabled": True, "time_window_s": [0.5, 1.0]},
            },
        }
    }
    runs = []
    for attempt in ("first", "second"):
        folder = tmp_path / attempt
        folder.mkdir()
        params = write_params(folder / "params.yaml", perturbed)
        run_graph(
            folder,
            "episodes:=1",
            "seed:=7",
            "timing:=sync",
            "record:=bag",
            f"bag_dir:={folder / 'bags'}",
            f"checkpoint:={random_checkpoint}",
            f"params_file:={params}",
        )
        (episode,) = read_episodes(next((folder / "bags").glob("seed*")))
        runs.append(episode)
    first, second = runs
    assert first.info.perturbations == second.info.perturbations
    assert set(first.info.perturbations) == {"action_noise", "push"}
    assert (first.info.outcome, first.info.duration_s) == (second.info.outcome, second.info.duration_s)
    assert len(first.action.values) >= 5
    # The sim clock runs between episodes (model loading takes wall time), so compare times in the episode.
    np.testing.assert_array_equal(
        first.action.stamps - first.info.start_ns, second.action.stamps - second.info.start_ns
    )
    np.testing.assert_array_equal(np.stack(first.action.values), np.stack(second.action.values))
    np.testing.assert_array_equal(np.stack(first.state.values), np.stack(second.state.values))
    # Sync stepping: every observation of the episode was answered before the sim stepped on.
    assert len(first.action.values) == len(first.state.values)


def test_targets_beyond_the_limits_are_limited_and_bad_joint_states_counted(random_checkpoint, tmp_path):
    from sensor_msgs.msg import JointState

    from salus_common.contract import JOINT_COMMAND_TOPIC
    from salus_common.robot_profile import RobotProfile

    far = edited_checkpoint(random_checkpoint, tmp_path / "far", mean=100.0)
    output, messages, report = run_one_episode(
        tmp_path, far, watch=[(JointState, JOINT_COMMAND_TOPIC)], publish_bad_states=True
    )
    robot = RobotProfile()
    commands = np.array([m.position for m in messages[JOINT_COMMAND_TOPIC]])
    assert len(commands) >= 10, output[-3000:]
    assert np.all(commands >= robot.lower - 1e-9) and np.all(commands <= robot.upper + 1e-9)
    assert np.all(np.abs(np.diff(commands, axis=0)) <= robot.max_step + 1e-9)
    assert int(report["limited_targets"]) >= len(commands) - 1
    assert "rejected input (duplicate_joints)" in output
    assert "missed ticks" in output  # the runner's summary reports the policy's timing


def test_a_non_finite_policy_publishes_no_command(random_checkpoint, tmp_path):
    from sensor_msgs.msg import JointState

    from salus_common.contract import JOINT_COMMAND_TOPIC

    broken = edited_checkpoint(random_checkpoint, tmp_path / "nan", mean=float("nan"))
    output, messages, report = run_one_episode(tmp_path, broken, watch=[(JointState, JOINT_COMMAND_TOPIC)])
    assert messages.get(JOINT_COMMAND_TOPIC, []) == [], output[-3000:]
    assert int(report["non_finite_actions"]) >= 1
    assert "not published" in output
