"""lerobot_writer against real lerobot 0.6.1: build, load back with LeRobotDataset, replace, interrupt.

The kill test uses a subprocess that SIGKILLs itself mid-build, so what is checked is what a killed
export really leaves on disk.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("lerobot.datasets.lerobot_dataset")
pytest.importorskip("av")

from salus_data.lerobot_writer import (  # noqa: E402
    LeRobotDatasetBuilder,
    NotADatasetError,
    load_dataset,
    read_episode_log,
)

JOINTS = [f"panda_joint{i}" for i in range(1, 8)] + ["panda_finger_joint1", "panda_finger_joint2"]
CAMERAS = ("front", "wrist")
SHAPE = (24, 32, 3)  # not square: catches a swapped height/width
TASK = "pick up the red cube and place it in the blue bin"
REPO = "local/test_demos"
COLORS = {"red": (220, 40, 40), "green": (40, 220, 40), "blue": (40, 40, 220)}


def make_builder(root: Path, shape=SHAPE, **kwargs) -> LeRobotDatasetBuilder:
    return LeRobotDatasetBuilder(root, REPO, 10, CAMERAS, shape, JOINTS, TASK, **kwargs)


def add_episode(builder: LeRobotDatasetBuilder, episode: int, frames: int, color: str) -> None:
    """Frames whose state encodes (episode, frame) and whose images are a flat color plus a moving bar."""
    for i in range(frames):
        pixels = np.empty(builder.image_shape, np.uint8)
        pixels[:] = COLORS[color]
        pixels[i % builder.image_shape[0], :, :] = 255
        state = np.array([episode, i, 0, -1, 0, 1, 0.5, 0.02, 0.02], np.float32)
        action = state + np.float32(0.25)
        builder.add_frame({"front": pixels, "wrist": pixels[::-1].copy()}, state, action)


def build(root: Path, episodes: list[tuple[int, int, str]], **kwargs) -> dict:
    """A dataset of (episode, frames, color) episodes; the builder's summary."""
    with make_builder(root, **kwargs) as builder:
        for episode, frames, color in episodes:
            add_episode(builder, episode, frames, color)
            builder.save_episode({"seed": 10 + episode, "outcome": "success"})
        return builder.finish()


def siblings(root: Path) -> list[str]:
    return sorted(p.name for p in root.parent.iterdir())


# --------------------------------------------------------------------------- round trip


def test_episodes_round_trip_through_lerobot(tmp_path: Path) -> None:
    root = tmp_path / "demos"
    summary = build(root, [(0, 6, "red"), (2, 5, "blue")], robot_type="panda_mujoco")
    assert (summary["episodes"], summary["frames"]) == (2, 11)
    assert summary["last_frame"]["observation.images.front"] == (3, SHAPE[0], SHAPE[1])

    dataset = load_dataset(REPO, root)
    assert (dataset.num_episodes, dataset.num_frames, dataset.fps) == (2, 11, 10)
    features = dataset.features
    assert features["observation.state"]["names"] == JOINTS == features["action"]["names"]
    assert tuple(features["observation.state"]["shape"]) == (9,) and features["action"]["dtype"] == "float32"
    for camera in CAMERAS:
        spec = features[f"observation.images.{camera}"]
        assert spec["dtype"] == "video" and tuple(spec["shape"]) == SHAPE
        assert spec["info"]["video.codec"] == "av1"

    items = [dataset[i] for i in range(len(dataset))]
    assert [int(item["episode_index"]) for item in items] == [0] * 6 + [1] * 5
    states = np.stack([item["observation.state"].numpy() for item in items])
    assert states.dtype == np.float32 and set(states[:, 0]) == {0.0, 2.0}
    assert states[:6, 1].tolist() == list(range(6)) and states[6:, 1].tolist() == list(range(5))
    np.testing.assert_allclose(np.stack([i["action"].numpy() for i in items]), states + 0.25)
    assert all(item["task"] == TASK for item in items)
    for item, color in ((items[2], "red"), (items[8], "blue")):
        front = item["observation.images.front"]
        assert tuple(front.shape) == (3, SHAPE[0], SHAPE[1]) and front.dtype.is_floating_point
        means = front.mean(dim=(1, 2)).numpy() * 255  # lossy AV1: compare mean colors
        expected = (np.array(COLORS[color]) * (SHAPE[0] - 1) + 255) / SHAPE[0]  # one white row
        assert np.abs(means - expected).max() < 25, (means, expected)
    log = read_episode_log(root)
    assert [(r["episode_index"], r["seed"], r["frames"]) for r in log] == [(0, 10, 6), (1, 12, 5)]
    assert not (root / "images").exists()
    assert siblings(root) == ["demos"], "the temporary build folder was left behind"


def test_image_mode_round_trip(tmp_path: Path) -> None:
    root = tmp_path / "png"
    build(root, [(0, 3, "blue")], shape=(16, 16, 3), use_videos=False)
    dataset = load_dataset(REPO, root)
    assert dataset.features["observation.images.wrist"]["dtype"] == "image"
    pixels = dataset[1]["observation.images.front"].numpy()
    assert pixels.shape == (3, 16, 16) and abs(pixels[2].mean() * 255 - 220 * 15 / 16 - 255 / 16) < 3


def test_bad_frames_are_refused_before_reaching_lerobot(tmp_path: Path) -> None:
    with make_builder(tmp_path / "demos") as builder:
        good = np.zeros(SHAPE, np.uint8)
        state = np.zeros(9, np.float32)
        with pytest.raises(ValueError, match="cameras"):
            builder.add_frame({"front": good}, state, state)
        with pytest.raises(ValueError, match="expected"):
            builder.add_frame({"front": good, "wrist": np.zeros((32, 24, 3), np.uint8)}, state, state)
        with pytest.raises(ValueError, match="finite"):
            builder.add_frame({"front": good, "wrist": good}, np.full(9, np.nan), state)
        with pytest.raises(ValueError, match="no frames"):
            builder.save_episode()
        with pytest.raises(ValueError, match="no episode saved"):
            builder.finish()
    assert not (tmp_path / "demos").exists() and siblings(tmp_path / "demos") == []


# --------------------------------------------------------------------------- replacing


def test_a_build_replaces_the_dataset_at_root_whole(tmp_path: Path) -> None:
    root = tmp_path / "demos"
    build(root, [(0, 3, "red"), (1, 4, "green")])
    build(root, [(5, 2, "blue")], use_videos=False)  # other settings are fine: nothing is appended
    dataset = load_dataset(REPO, root)
    assert (dataset.num_episodes, dataset.num_frames) == (1, 2)
    assert dataset.features["observation.images.front"]["dtype"] == "image"
    assert [r["seed"] for r in read_episode_log(root)] == [15]
    assert not (root / "videos").exists(), "files of the previous dataset survived"


def test_an_interrupted_build_leaves_the_previous_dataset(tmp_path: Path) -> None:
    root = tmp_path / "demos"
    build(root, [(0, 3, "red")])
    with pytest.raises(KeyboardInterrupt), make_builder(root) as builder:
        add_episode(builder, 1, 4, "blue")
        builder.save_episode({"seed": 1})
        raise KeyboardInterrupt  # Ctrl-C before finish()
    assert load_dataset(REPO, root).num_episodes == 1
    assert [r["seed"] for r in read_episode_log(root)] == [10]
    assert siblings(root) == ["demos"]


def test_a_folder_that_is_not_a_dataset_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "notes"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(NotADatasetError, match="not a LeRobot dataset"), make_builder(other):
        pytest.fail("the builder opened")
    assert (other / "notes.txt").read_text() == "mine" and siblings(other) == ["notes"]


KILL_SCRIPT = """
import os, signal, sys
from pathlib import Path
sys.path.insert(0, sys.argv[2])
from test_lerobot_writer import add_episode, make_builder

with make_builder(Path(sys.argv[1])) as builder:
    add_episode(builder, 7, 5, "green")
    builder.save_episode({"seed": 7})
    add_episode(builder, 8, 3, "blue")
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_sigkill_mid_build_leaves_the_previous_dataset_loading(tmp_path: Path) -> None:
    root = tmp_path / "out" / "demos"
    build(root, [(0, 3, "red"), (1, 2, "blue")])
    script = tmp_path / "kill.py"
    script.write_text(KILL_SCRIPT)
    command = [sys.executable, str(script), str(root), str(Path(__file__).parent)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == -signal.SIGKILL, result.stdout + result.stderr

    dataset = load_dataset(REPO, root)
    assert (dataset.num_episodes, dataset.num_frames) == (2, 5)
    assert [r["seed"] for r in read_episode_log(root)] == [10, 11]
    leftovers = [name for name in siblings(root) if name != "demos"]
    assert len(leftovers) == 1 and leftovers[0].startswith(".demos.tmp-"), leftovers  # hidden, never read
