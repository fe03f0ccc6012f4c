"""bag_to_lerobot: bags -> LeRobot v3.0 through the demo recorder's writer; reruns add nothing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from .bag_fixtures import DT_NS, Episode, image_pixels, state_at, write_bags


def test_bags_become_a_lerobot_dataset_and_reruns_add_nothing(tmp_path: Path) -> None:
    pytest.importorskip("lerobot")
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    from salus_monitor.recording.bag_to_lerobot import convert
    from salus_monitor.recording.lerobot_writer import VIDEO_BACKEND, read_episode_log

    episodes = [
        Episode(1, steps=6, image_size=32),
        Episode(2, steps=5, outcome="drop", onset=0.3, image_size=32),
    ]
    write_bags(tmp_path / "bags", episodes)
    root = tmp_path / "dataset"
    saved, skipped, errors = convert(
        [tmp_path / "bags"], root, keep=["all"], use_videos=False, log=lambda m: None
    )
    assert (saved, skipped, errors) == (2, 0, [])
    log = read_episode_log(root)
    assert [(r["seed"], r["outcome"], r["frames"], r["bag"]) for r in log] == [
        (1, "success", 6, "seed000001"),
        (2, "drop", 5, "seed000002"),
    ]
    assert log[1]["failure_onset_s"] == pytest.approx(0.3)

    dataset = LeRobotDataset("local/salus_bags", root=root, video_backend=VIDEO_BACKEND)
    assert (dataset.num_episodes, dataset.num_frames, dataset.fps) == (2, 11, 10)
    item = dataset[2]  # episode 0, third frame: step 3
    np.testing.assert_allclose(item["observation.state"].numpy(), state_at(3), rtol=1e-6)
    np.testing.assert_allclose(item["action"].numpy(), state_at(3) + 0.05, rtol=1e-6)
    front = (item["observation.images.front"].numpy().transpose(1, 2, 0) * 255).round().astype(np.uint8)
    assert np.array_equal(front, image_pixels(Episode(1).start_ns + 3 * DT_NS, "front", 32))

    assert convert([tmp_path / "bags"], root, keep=["all"], use_videos=False, log=lambda m: None) == (
        0,
        2,
        [],
    )
    assert len(read_episode_log(root)) == 2
