"""bag_to_lerobot: bags -> LeRobot v3.0 through LeRobot's own API; reruns rebuild, bad bags are left out."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from .bag_fixtures import DT_NS, Episode, image_pixels, state_at, truncate_bag, write_bags

pytest.importorskip("lerobot")

EPISODES = [
    Episode(1, steps=6, image_size=32),
    Episode(2, steps=5, outcome="drop", onset=0.3, image_size=32),
]


def export(bags: Path, root: Path, **kwargs):
    from salus_data.bag_to_lerobot import convert

    return convert([bags], root, use_videos=False, log=lambda m: None, **kwargs)


def test_bags_become_a_lerobot_dataset(tmp_path: Path) -> None:
    from salus_data.lerobot_writer import load_dataset, read_episode_log

    write_bags(tmp_path / "bags", EPISODES)
    root = tmp_path / "dataset"
    report = export(tmp_path / "bags", root, keep=["all"])
    assert (report.saved, report.skipped, report.errors) == (2, 0, [])
    assert report.summary["frames"] == 11 and "observation.state" in report.summary["last_frame"]
    log = read_episode_log(root)
    assert [(r["seed"], r["outcome"], r["frames"], r["bag"]) for r in log] == [
        (1, "success", 6, "seed000001"),
        (2, "drop", 5, "seed000002"),
    ]
    assert log[1]["failure_onset_s"] == pytest.approx(0.3)

    dataset = load_dataset("local/salus_bags", root)
    assert (dataset.num_episodes, dataset.num_frames, dataset.fps) == (2, 11, 10)
    item = dataset[2]  # episode 0, third frame: step 3
    np.testing.assert_allclose(item["observation.state"].numpy(), state_at(3), rtol=1e-6)
    np.testing.assert_allclose(item["action"].numpy(), state_at(3) + 0.05, rtol=1e-6)
    front = (item["observation.images.front"].numpy().transpose(1, 2, 0) * 255).round().astype(np.uint8)
    assert np.array_equal(front, image_pixels(Episode(1).start_ns + 3 * DT_NS, "front", 32))


def test_reruns_rebuild_from_the_bags_given(tmp_path: Path) -> None:
    from salus_data.lerobot_writer import load_dataset, read_episode_log

    bags, root = tmp_path / "bags", tmp_path / "dataset"
    write_bags(bags, EPISODES)
    assert (export(bags, root).saved, export(bags, root).saved) == (1, 1)  # successes only, twice
    assert [r["seed"] for r in read_episode_log(root)] == [1]
    write_bags(bags, [Episode(3, steps=4, image_size=32)])
    report = export(bags, root)
    assert (report.saved, report.skipped) == (2, 1)
    assert [r["seed"] for r in read_episode_log(root)] == [1, 3]
    assert load_dataset("local/salus_bags", root).num_frames == 10
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bags", "dataset"]  # no temporary folders


def test_unreadable_bags_and_mismatched_episodes_are_left_out(tmp_path: Path) -> None:
    from salus_data.bag_to_lerobot import EXIT_SOME_FAILED, main
    from salus_data.lerobot_writer import read_episode_log

    bags = tmp_path / "bags"
    write_bags(bags, [*EPISODES, Episode(4, steps=40, image_size=64), Episode(5, steps=3, image_size=16)])
    truncate_bag(bags / "seed000004", 0.5)
    root = tmp_path / "dataset"
    assert main([str(bags), "--root", str(root), "--keep", "all", "--no-videos"]) == EXIT_SOME_FAILED
    report = export(bags, root, keep=["all"])
    assert report.saved == 2
    assert any(str(bags / "seed000004") in e and "last good message" in e for e in report.errors)
    assert any("seed000005" in e and "images (16, 16, 3)" in e for e in report.errors)
    assert [r["seed"] for r in read_episode_log(root)] == [1, 2]


def test_a_folder_that_is_not_a_dataset_is_left_alone(tmp_path: Path, capsys) -> None:
    from salus_data.bag_to_lerobot import EXIT_SOME_FAILED, EXIT_USAGE, main

    write_bags(tmp_path / "bags", EPISODES)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    assert main([str(tmp_path / "bags"), "--root", str(mine)]) == EXIT_USAGE
    assert "not a LeRobot dataset" in capsys.readouterr().err
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]
    empty = tmp_path / "empty"
    assert main([str(tmp_path / "bags"), "--root", str(empty), "--keep", "timeout"]) == EXIT_SOME_FAILED
    assert "no episode to export" in capsys.readouterr().err and not empty.exists()
