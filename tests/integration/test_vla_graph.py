"""The tiny SmolVLA, trained here on demonstrations recorded through the graph, drives the sim over DDS.

One module-scoped fixture takes the demonstration path a user takes: 3 expert episodes (64 px) recorded
through the graph as bags (salus-collect), exported to a LeRobot dataset (salus-bag2lerobot), and the tiny
policy trained on it for a few dozen steps with salus-train-vla (lerobot's training loop): enough to
exercise the whole path, not to solve the task.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from .graph_harness import Observer, launcher_command, require_workspace, run_until_exit, stop, write_params

pytestmark = pytest.mark.ros

SHORT_EPISODES = {"salus_sim": {"real_time_factor": 2.0, "label": {"max_duration_s": 3.0}}}


def run(argv: list[str], log: Path, timeout: float) -> None:
    with log.open("w") as stream:
        code = subprocess.run(argv, stdout=stream, stderr=subprocess.STDOUT, timeout=timeout).returncode
    assert code == 0, log.read_text()[-3000:]


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory) -> Path:
    require_workspace()
    pytest.importorskip("lerobot.policies.smolvla.modeling_smolvla")
    work = tmp_path_factory.mktemp("tiny_vla")
    bags, demos = work / "bags", work / "demos"
    collect = ["--policy", "expert", "--bag-dir", str(bags), "--episodes", "3", "--image-size", "64"]
    run(
        [sys.executable, "-m", "salus_data.collect", *collect, "--real-time-factor", "3", "--no-progress"],
        work / "collect.log",
        timeout=300,
    )
    run(
        [sys.executable, "-m", "salus_data.bag_to_lerobot", str(bags), "--root", str(demos)],
        work / "export.log",
        timeout=300,
    )
    run(
        [
            sys.executable,
            "-m",
            "salus_vla.train",
            "--dataset-root",
            str(demos),
            "--preset",
            "tiny",
            "--backbone-dir",
            str(work / "backbone"),
            "--steps",
            "40",
            "--batch-size",
            "4",
            "--num-workers",
            "0",
            "--output-dir",
            str(work / "run"),
        ],
        work / "train.log",
        timeout=300,
    )
    checkpoint = work / "run" / "checkpoints" / "last" / "pretrained_model"
    assert (checkpoint / "model.safetensors").is_file()
    # The statistics behind hidden_mahalanobis, by the real command (a 40-step policy rarely succeeds).
    run(
        [
            sys.executable,
            "-m",
            "salus_vla.fit_hidden_stats",
            "--checkpoint",
            str(checkpoint),
            "--episodes",
            "1",
            "--include-failures",
        ],
        work / "stats.log",
        timeout=300,
    )
    assert (checkpoint / "salus_hidden_stats.safetensors").is_file()
    return checkpoint


def test_tiny_policy_drives_the_sim_and_publishes_proposals_and_signals(tiny_checkpoint, tmp_path):
    from salus_common import contract
    from salus_common.contract import PROPOSAL_TOPIC, SIGNALS_TOPIC
    from salus_common.names import EXTENDED_SIGNAL_NAMES, SIGNAL_NAMES
    from salus_common.qos import subscriber_qos
    from salus_msgs.msg import ActionProposal, SalusSignals

    results = tmp_path / "episodes.jsonl"
    params = write_params(
        tmp_path / "short.yaml", {**SHORT_EPISODES, "episode_runner": {"results_path": str(results)}}
    )
    observer = Observer()
    try:
        observer.watch(ActionProposal, contract.PROPOSAL_TOPIC, subscriber_qos(contract.PROPOSAL_TOPIC))
        observer.watch(SalusSignals, contract.SIGNALS_TOPIC, subscriber_qos(contract.SIGNALS_TOPIC))
        log_path = tmp_path / "launch.log"
        with log_path.open("w") as log:
            launcher = subprocess.Popen(
                launcher_command("episodes:=2", f"checkpoint:={tiny_checkpoint}", f"params_file:={params}"),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            observer.spin_until(lambda: launcher.poll() is not None, 240.0)
            code = stop(launcher)
        # Drain what is still in flight to this process.
        observer.spin_until(lambda: False, 0.5)
    finally:
        observer.close()
    output = log_path.read_text()
    assert code == 0, output[-3000:]
    records = [json.loads(line) for line in results.read_text().splitlines()]
    assert len(records) == 2 and all(
        r["outcome"] in {"success", "collision", "drop", "timeout", "other"} for r in records
    )

    proposals = observer.messages[PROPOSAL_TOPIC]
    assert len(proposals) >= 20, output[-3000:]
    for msg in proposals:
        assert (msg.num_samples, msg.action_dim) == (5, 9)
        samples = np.asarray(msg.samples).reshape(5, 9)
        np.testing.assert_allclose(samples.mean(axis=0), msg.mean, atol=1e-5)
        np.testing.assert_allclose(samples.std(axis=0), msg.std, atol=1e-5)
        assert np.all(np.isfinite(samples)) and msg.step_in_chunk < 10
        assert msg.model_id == str(tiny_checkpoint)
    assert {p.chunk_index for p in proposals} >= {0, 1, 2}
    signals = observer.messages[SIGNALS_TOPIC]
    assert len(signals) == len(proposals)
    for msg in signals:
        assert tuple(msg.names) == SIGNAL_NAMES
        assert np.all(np.isfinite(msg.values))
        assert tuple(msg.extended_names) == EXTENDED_SIGNAL_NAMES  # on by default (config/vla.yaml)
        assert np.all(np.isfinite(msg.extended_values)) and len(msg.prefix_embedding) > 0
        # hidden_state_norm is the norm of the published embedding
        assert np.linalg.norm(msg.prefix_embedding) == pytest.approx(msg.values[3], rel=1e-4)
    assert max(s.values[0] for s in signals) > 0.0  # the ensemble's actions differ: its variance is positive
    extended = np.array([s.extended_values for s in signals])
    assert extended[:, EXTENDED_SIGNAL_NAMES.index("hidden_mahalanobis")].min() > 0.0
    times = extended[:, EXTENDED_SIGNAL_NAMES.index("episode_time")]
    assert times.min() == 0.0 and times.max() > 1.0


def test_missing_checkpoint_fails_at_start_up_naming_it(tmp_path):
    require_workspace()
    code, log = run_until_exit(
        "salus_vla",
        "vla_ensemble_node",
        tmp_path / "vla.log",
        overrides={"checkpoint": str(tmp_path / "nowhere")},
    )
    assert code == 1, log
    assert "nowhere" in log


def test_cameras_the_checkpoint_does_not_know_fail_at_start_up(tiny_checkpoint, tmp_path):
    params = write_params(
        tmp_path / "robot.yaml", {"vla_ensemble": {"robot": {"cameras": ["front", "side"]}}}
    )
    code, log = run_until_exit(
        "salus_vla", "vla_ensemble_node", tmp_path / "vla.log", [params], {"checkpoint": str(tiny_checkpoint)}
    )
    assert code == 1, log
    assert "observation.images.side" in log and "observation.images.wrist" in log
