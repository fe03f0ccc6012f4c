"""lerobot_writer against real lerobot 0.6.1: write, load back with LeRobotDataset, crash and recover.

Kills use subprocesses that SIGKILL themselves at a chosen point, so what is checked is what a killed
recorder really leaves on disk.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

lerobot_dataset = pytest.importorskip("lerobot.datasets.lerobot_dataset")
pytest.importorskip("av")

from salus_monitor.recording.lerobot_writer import (  # noqa: E402
    SIDECAR,
    BackgroundWriter,
    DatasetMismatchError,
    DemoDatasetWriter,
    read_episode_log,
    recover_dataset,
    signals_deferred,
)

JOINTS = [f"panda_joint{i}" for i in range(1, 8)] + ["panda_finger_joint1", "panda_finger_joint2"]
CAMERAS = ("front", "wrist")
SHAPE = (24, 32, 3)  # not square: catches a swapped height/width
TASK = "pick up the red cube and place it in the blue bin"
REPO = "local/test_demos"
COLORS = {"red": (220, 40, 40), "green": (40, 220, 40), "blue": (40, 40, 220)}


def make_writer(root: Path, shape=SHAPE, **kwargs) -> DemoDatasetWriter:
    return DemoDatasetWriter(root, REPO, 10, CAMERAS, shape, JOINTS, TASK, **kwargs)


def add_episode(writer: DemoDatasetWriter, episode: int, frames: int, color: str) -> None:
    """Frames whose state encodes (episode, frame) and whose images are a flat color plus a moving bar."""
    for i in range(frames):
        pixels = np.empty(writer.image_shape, np.uint8)
        pixels[:] = COLORS[color]
        pixels[i % writer.image_shape[0], :, :] = 255
        state = np.array([episode, i, 0, -1, 0, 1, 0.5, 0.02, 0.02], np.float32)
        action = state + np.float32(0.25)
        writer.add_frame({"front": pixels, "wrist": pixels[::-1].copy()}, state, action)


def load(root: Path):
    return lerobot_dataset.LeRobotDataset(REPO, root=root, video_backend="pyav")


# --------------------------------------------------------------------------- round trip


def test_episodes_round_trip_through_lerobot_and_a_discarded_one_is_absent(tmp_path: Path) -> None:
    root = tmp_path / "demos"
    with make_writer(root, robot_type="panda_mujoco") as writer:
        add_episode(writer, 0, 6, "red")
        assert writer.save_episode({"seed": 10, "outcome": "success"}) == 0
        add_episode(writer, 1, 4, "green")
        assert writer.discard_episode() == 4
        add_episode(writer, 2, 5, "blue")
        assert writer.save_episode({"seed": 12, "outcome": "success"}) == 1
        assert (writer.num_episodes, writer.num_frames, writer.pending_frames) == (2, 11, 0)

    dataset = load(root)
    assert (dataset.num_episodes, dataset.num_frames, dataset.fps) == (2, 11, 10)
    features = dataset.features
    assert features["observation.state"]["names"] == JOINTS == features["action"]["names"]
    assert tuple(features["observation.state"]["shape"]) == (9,) and features["action"]["dtype"] == "float32"
    for camera in CAMERAS:
        spec = features[f"observation.images.{camera}"]
        assert spec["dtype"] == "video" and tuple(spec["shape"]) == SHAPE
        assert spec["info"]["video.codec"] == "av1"

    items = [dataset[i] for i in range(len(dataset))]
    episodes = [int(item["episode_index"]) for item in items]
    assert episodes == [0] * 6 + [1] * 5
    states = np.stack([item["observation.state"].numpy() for item in items])
    assert states.dtype == np.float32 and set(states[:, 0]) == {0.0, 2.0}, "the discarded episode leaked"
    assert states[:6, 1].tolist() == list(range(6)) and states[6:, 1].tolist() == list(range(5))
    np.testing.assert_allclose(np.stack([i["action"].numpy() for i in items]), states + 0.25)
    assert all(item["task"] == TASK for item in items)
    for item, color in ((items[2], "red"), (items[8], "blue")):
        front = item["observation.images.front"]
        assert tuple(front.shape) == (3, SHAPE[0], SHAPE[1]) and front.dtype.is_floating_point
        means = front.mean(dim=(1, 2)).numpy() * 255  # lossy AV1: compare mean colors
        expected = (np.array(COLORS[color]) * (SHAPE[0] - 1) + 255) / SHAPE[0]  # one white row
        assert np.abs(means - expected).max() < 25, (means, expected)
    assert [r["seed"] for r in read_episode_log(root)] == [10, 12]
    assert [r["frames"] for r in read_episode_log(root)] == [6, 5]
    assert not (root / "images").exists() and not (root / ".salus_journal").exists()


def test_image_mode_round_trip(tmp_path: Path) -> None:
    root = tmp_path / "png"
    with make_writer(root, shape=(16, 16, 3), use_videos=False) as writer:
        add_episode(writer, 0, 3, "blue")
        writer.save_episode()
    dataset = load(root)
    assert dataset.features["observation.images.wrist"]["dtype"] == "image"
    pixels = dataset[1]["observation.images.front"].numpy()
    assert pixels.shape == (3, 16, 16) and abs(pixels[2].mean() * 255 - 220 * 15 / 16 - 255 / 16) < 3


def test_appending_needs_matching_settings(tmp_path: Path) -> None:
    root = tmp_path / "demos"
    with make_writer(root) as writer:
        add_episode(writer, 0, 3, "red")
        writer.save_episode({"seed": 0})
    with make_writer(root) as writer:  # a second session appends
        assert writer.num_episodes == 1
        add_episode(writer, 1, 4, "blue")
        assert writer.save_episode({"seed": 1}) == 1
    assert load(root).num_episodes == 2 and [r["episode_index"] for r in read_episode_log(root)] == [0, 1]

    with pytest.raises(DatasetMismatchError, match=r"shape \[24, 32, 3\]"):
        make_writer(root, shape=(64, 64, 3))
    with pytest.raises(DatasetMismatchError, match="dtype video"):
        make_writer(root, use_videos=False)
    other = tmp_path / "not_a_dataset"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(DatasetMismatchError, match="not a LeRobot dataset"):
        make_writer(other)


def test_bad_frames_are_refused_before_reaching_lerobot(tmp_path: Path) -> None:
    with make_writer(tmp_path / "demos") as writer:
        good = np.zeros(SHAPE, np.uint8)
        state = np.zeros(9, np.float32)
        with pytest.raises(ValueError, match="cameras"):
            writer.add_frame({"front": good}, state, state)
        with pytest.raises(ValueError, match="expected"):
            writer.add_frame({"front": good, "wrist": np.zeros((32, 24, 3), np.uint8)}, state, state)
        with pytest.raises(ValueError, match="finite"):
            writer.add_frame({"front": good, "wrist": good}, np.full(9, np.nan), state)
        with pytest.raises(ValueError, match="no frames"):
            writer.save_episode()
        assert writer.pending_frames == 0


# --------------------------------------------------------------------------- kills


CRASH_SCRIPT = """
import os, signal, sys
from pathlib import Path
import numpy as np
sys.path.insert(0, sys.argv[3])
from test_lerobot_writer import CAMERAS, JOINTS, REPO, SHAPE, add_episode, make_writer
from lerobot.datasets.lerobot_dataset import LeRobotDataset
from salus_monitor.recording.lerobot_writer import build_features, image_key

mode, root = sys.argv[1], Path(sys.argv[2])
if mode == "between":
    # plain LeRobot: two saved episodes, no finalize() before the kill
    raw = LeRobotDataset.create(REPO, fps=10, features=build_features(CAMERAS, SHAPE, JOINTS),
                                root=root / "raw", video_backend="pyav")
    writer = make_writer(root / "ours")
    for episode, color in ((0, "red"), (1, "blue")):
        add_episode(writer, episode, 5, color)
        writer.save_episode({"seed": episode})
        for i in range(5):
            frame = {image_key(c): np.zeros(SHAPE, np.uint8) for c in CAMERAS}
            vector = np.zeros(9, np.float32)
            raw.add_frame({**frame, "observation.state": vector, "action": vector, "task": "t"})
        raw.save_episode()
    add_episode(writer, 2, 3, "green")  # a third episode is being recorded
elif mode == "during":
    writer = make_writer(root / "ours")
    add_episode(writer, 0, 5, "red")
    writer.save_episode({"seed": 0})
    from lerobot.datasets import dataset_metadata
    original = dataset_metadata.LeRobotDatasetMetadata.save_episode
    def save_then_die(self, *args, **kwargs):
        original(self, *args, **kwargs)  # data parquet + video written, info.json says one more episode
        os.kill(os.getpid(), signal.SIGKILL)
    dataset_metadata.LeRobotDatasetMetadata.save_episode = save_then_die
    add_episode(writer, 1, 4, "blue")
    writer.save_episode({"seed": 1})
os.kill(os.getpid(), signal.SIGKILL)
"""


def run_until_killed(tmp_path: Path, mode: str) -> Path:
    script = tmp_path / "crash.py"
    script.write_text(CRASH_SCRIPT)
    root = tmp_path / "crash"
    command = [sys.executable, str(script), mode, str(root), str(Path(__file__).parent)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == -signal.SIGKILL, result.stdout + result.stderr
    return root


def test_sigkill_between_episodes_keeps_every_saved_episode_where_plain_lerobot_loses_all(
    tmp_path: Path,
) -> None:
    import pyarrow.parquet as pq

    root = run_until_killed(tmp_path, "between")

    # Plain LeRobot without finalize(): the data file has no parquet footer and no episode metadata was
    # flushed, so both saved episodes are gone (the loader would fall back to the Hugging Face hub).
    raw_info = json.loads((root / "raw" / "meta" / "info.json").read_text())
    assert raw_info["total_episodes"] == 2
    with pytest.raises(Exception, match="magic bytes|footer"):
        pq.read_metadata(root / "raw" / "data" / "chunk-000" / "file-000.parquet")
    assert not (root / "raw" / "meta" / "episodes").exists()

    # Ours: every saved episode loads as it is; the unsaved third leaves only staging frames.
    ours = root / "ours"
    dataset = load(ours)
    assert (dataset.num_episodes, dataset.num_frames) == (2, 10)
    assert (ours / "images").is_dir()
    assert recover_dataset(ours) == ["removed unsaved frames in images/"]
    assert not (ours / "images").exists() and recover_dataset(ours) == []
    assert load(ours).num_episodes == 2


def test_sigkill_during_a_save_is_rolled_back_on_the_next_open(tmp_path: Path) -> None:
    root = run_until_killed(tmp_path, "during") / "ours"
    info = json.loads((root / "meta" / "info.json").read_text())
    assert info["total_episodes"] == 2, "the kill should land after LeRobot counted the second episode"
    assert (root / ".salus_journal").is_dir()

    actions = recover_dataset(root)
    assert any("rolled back" in a for a in actions), actions
    assert json.loads((root / "meta" / "info.json").read_text())["total_episodes"] == 1
    assert load(root).num_episodes == 1
    assert [r["seed"] for r in read_episode_log(root)] == [0]

    with make_writer(root) as writer:  # recording goes on from there
        add_episode(writer, 1, 4, "blue")
        assert writer.save_episode({"seed": 1}) == 1
    dataset = load(root)
    assert (dataset.num_episodes, dataset.num_frames) == (2, 9)
    assert float(dataset[8]["observation.state"][0]) == 1.0


# --------------------------------------------------------------------------- signals


def test_signals_deferred_holds_sigint_until_the_block_ends() -> None:
    reached_end = False
    with pytest.raises(KeyboardInterrupt), signals_deferred() as held:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)
        for _ in range(10_000):  # bytecode keeps running: no KeyboardInterrupt in here
            pass
        reached_end = True
        assert held == [signal.SIGINT]
    assert reached_end


def test_signals_deferred_also_holds_in_a_process_with_other_threads() -> None:
    """pthread_sigmask alone would not: the kernel hands the signal to the other thread."""
    stop = threading.Event()
    other = threading.Thread(target=stop.wait, daemon=True)
    other.start()
    try:
        with signals_deferred(redeliver=False) as held:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.1)
        assert held == [signal.SIGINT]  # recorded, and dropped on request
    finally:
        stop.set()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_signals_deferred_masks_a_worker_thread() -> None:
    masks = []

    def work() -> None:
        with signals_deferred():
            masks.append(signal.pthread_sigmask(signal.SIG_BLOCK, []))
        masks.append(signal.pthread_sigmask(signal.SIG_BLOCK, []))

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert {signal.SIGINT, signal.SIGTERM} <= masks[0] and signal.SIGINT not in masks[1]


# --------------------------------------------------------------------------- background writer


class SlowWriter:
    """Stands in for DemoDatasetWriter: add_frame blocks until released."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.frames: list[int] = []
        self.pending_frames = 0
        self.num_episodes = self.num_frames = 0
        self.finalized = False

    def add_frame(self, images, state, action) -> None:
        self.release.wait()
        self.frames.append(int(state))
        self.pending_frames += 1

    def save_episode(self, info) -> int:
        self.num_episodes += 1
        self.num_frames += self.pending_frames
        self.pending_frames = 0
        return self.num_episodes - 1

    def discard_episode(self) -> int:
        dropped, self.pending_frames = self.pending_frames, 0
        return dropped

    def finalize(self) -> None:
        self.finalized = True


def test_background_writer_keeps_order_bounds_frames_and_finishes_on_close() -> None:
    slow = SlowWriter()
    writer = BackgroundWriter(slow, max_queued_frames=3)
    accepted = [writer.add_frame({}, i, i) for i in range(6)]
    # one frame may already be inside add_frame (dequeued), so 3 or 4 are accepted
    assert accepted[:3] == [True] * 3 and accepted[-1] is False
    writer.save_episode("ep-a", {"seed": 1})
    writer.discard_episode("ep-b")
    assert writer.results() == []
    slow.release.set()
    results = writer.close()
    assert [(r.tag, r.saved, r.episode_index) for r in results] == [("ep-a", True, 0), ("ep-b", False, None)]
    kept = sum(accepted)
    assert results[0].frames == kept and slow.frames == list(range(kept)) and slow.finalized
    assert results[0].error is None and writer.close() == []


def test_background_writer_reports_errors_instead_of_dying(tmp_path: Path) -> None:
    with make_writer(tmp_path / "demos") as real:
        writer = BackgroundWriter(real)
        writer.add_frame({"front": np.zeros(SHAPE, np.uint8)}, np.zeros(9), np.zeros(9))  # no wrist image
        writer.save_episode("ep")
        (result,) = writer.close()
    assert not result.saved and "add_frame failed" in result.error and "cameras" in result.error
    assert not (tmp_path / "demos" / SIDECAR).exists()
