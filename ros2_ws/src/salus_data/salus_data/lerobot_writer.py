"""Build a LeRobot v3.0 dataset of SALUS episodes through LeRobot's own API. Pure Python (no rclpy).

:class:`LeRobotDatasetBuilder` writes a whole dataset in one go (lerobot 0.6.1)::

    with LeRobotDatasetBuilder(root, repo_id, fps, cameras, (H, W, 3), joint_names, task) as builder:
        for each episode:
            for each step: builder.add_frame({camera: image}, state, action)
            builder.save_episode({"seed": ..., "outcome": ...})
        summary = builder.finish()        # finalize, load back with LeRobotDataset, swap in at root

``LeRobotDataset.create(..., root=<tmp>)`` builds it in a hidden folder beside ``root``
(``.<name>.tmp-<pid>``, build_beside.py); :meth:`LeRobotDatasetBuilder.finish` calls ``finalize``, loads
the result with ``LeRobotDataset`` (episode and frame counts, the first and last frame decode) and only
then replaces ``root`` with it. Leaving the block without ``finish`` (an error, Ctrl-C) deletes the
temporary folder: the dataset that was at ``root`` stays as it was. Datasets are exports of episode bags
(``salus-bag2lerobot``), re-runnable at any time, so there is no crash journal and no appending: a
SIGKILLed build leaves only its hidden temporary folder behind. A non-empty ``root`` that is not a
LeRobot dataset (no ``meta/info.json``) is refused before anything is built.

Features (keys from ``lerobot.utils.constants``)::

    observation.images.<camera>  (H, W, 3) uint8, AV1 video (or PNG images with use_videos=False)
    observation.state            (J,) float32  measured joint positions, names = the robot's joints
    action                       (J,) float32  commanded joint position targets, same names and order
    task                         the language instruction (one per dataset)

``meta/salus_episodes.jsonl`` holds one JSON line per episode (``episode_index``, ``frames`` and what the
caller passes: bag, SALUS episode id, seed, outcome, perturbations, ...): provenance that LeRobot's own
metadata has no place for.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from lerobot.utils.constants import ACTION, OBS_STATE

from salus_common.build_beside import BuildBeside
from salus_common.lerobot_keys import image_key

SIDECAR = Path("meta") / "salus_episodes.jsonl"
VIDEO_BACKEND = "pyav"  # torchcodec needs system FFmpeg libraries; PyAV wheels bundle their own
# SVT-AV1 prints ~20 info lines per encoded video to stderr; keep its errors only (unless set already).
_SVT_LOG_LEVEL = "1"


class NotADatasetError(ValueError):
    """The output folder holds something other than a LeRobot dataset: it is not replaced."""


def build_features(
    camera_names: Sequence[str],
    image_shape: Sequence[int],
    joint_names: Sequence[str],
    use_videos: bool = True,
) -> dict[str, dict[str, Any]]:
    """The LeRobot ``features`` dict of a SALUS dataset."""
    height, width, channels = (int(v) for v in image_shape)
    if channels != 3 or height <= 0 or width <= 0:
        raise ValueError(f"image_shape must be (H, W, 3), got {tuple(image_shape)}")
    if not camera_names or len(set(camera_names)) != len(camera_names):
        raise ValueError(f"camera_names must be unique and non-empty, got {list(camera_names)}")
    if not joint_names or len(set(joint_names)) != len(joint_names):
        raise ValueError(f"joint_names must be unique and non-empty, got {list(joint_names)}")
    features: dict[str, dict[str, Any]] = {}
    for camera in camera_names:
        features[image_key(camera)] = {
            "dtype": "video" if use_videos else "image",
            "shape": (height, width, 3),
            "names": ["height", "width", "channels"],
        }
    for key in (OBS_STATE, ACTION):
        features[key] = {"dtype": "float32", "shape": (len(joint_names),), "names": list(joint_names)}
    return features


def read_episode_log(root: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The ``meta/salus_episodes.jsonl`` records of a dataset (empty if it has none)."""
    path = Path(root) / SIDECAR
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def check_replaceable(root: str | os.PathLike[str]) -> None:
    """Raise :class:`NotADatasetError` if ``root`` is a non-empty folder without ``meta/info.json``."""
    root = Path(root).expanduser()
    if root.is_dir() and any(root.iterdir()) and not (root / "meta" / "info.json").is_file():
        raise NotADatasetError(
            f"{root} exists and is not a LeRobot dataset (no meta/info.json): not replacing it; "
            "choose a new or empty folder, or a dataset written before"
        )
    if root.exists() and not root.is_dir():
        raise NotADatasetError(f"{root} is a file, not a dataset folder")


def load_dataset(repo_id: str, root: str | os.PathLike[str]):
    """The dataset at ``root`` opened read-only with LeRobot's ``LeRobotDataset`` (PyAV video decoding)."""
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    return LeRobotDataset(repo_id, root=root, video_backend=VIDEO_BACKEND)


class LeRobotDatasetBuilder:
    """Builds the LeRobot dataset at ``root`` from scratch and swaps it in (module docstring)."""

    def __init__(
        self,
        root: str | os.PathLike[str],
        repo_id: str,
        fps: int,
        camera_names: Sequence[str],
        image_shape: Sequence[int],
        joint_names: Sequence[str],
        task: str,
        use_videos: bool = True,
        robot_type: str | None = None,
    ) -> None:
        if int(fps) != fps or fps <= 0:
            raise ValueError(f"fps must be a positive integer, got {fps}")
        if not task.strip():
            raise ValueError("task must be a non-empty instruction")
        self.repo_id = repo_id
        self.fps = int(fps)
        self.camera_names = tuple(camera_names)
        self.image_shape = tuple(int(v) for v in image_shape)
        self.joint_names = tuple(joint_names)
        self.task = task
        self.use_videos = use_videos
        self.robot_type = robot_type
        self.features = build_features(self.camera_names, self.image_shape, self.joint_names, use_videos)
        self._build = BuildBeside(root)
        self.root = self._build.output
        self._dataset = None
        self._cleanup = contextlib.ExitStack()
        self._pending = 0  # frames added since the last save_episode
        self._log: list[str] = []  # meta/salus_episodes.jsonl lines
        self.num_frames = 0  # frames of the saved episodes

    @property
    def num_episodes(self) -> int:
        return len(self._log)

    def __enter__(self) -> LeRobotDatasetBuilder:
        from lerobot.datasets.lerobot_dataset import LeRobotDataset

        check_replaceable(self.root)
        os.environ.setdefault("SVT_LOG", _SVT_LOG_LEVEL)
        with contextlib.ExitStack() as stack:
            stack.enter_context(self._build)
            self._dataset = LeRobotDataset.create(
                self.repo_id,
                fps=self.fps,
                features=self.features,
                root=self._build.path,  # LeRobot creates the folder
                robot_type=self.robot_type,
                use_videos=self.use_videos,
                video_backend=VIDEO_BACKEND,
            )
            self._cleanup = stack.pop_all()
        return self

    def add_frame(self, images: Mapping[str, np.ndarray], state: np.ndarray, action: np.ndarray) -> None:
        """Append one frame to the current episode (images per camera, state and action vectors)."""
        dataset = self._require_open()
        if set(images) != set(self.camera_names):
            raise ValueError(f"images for cameras {sorted(images)}, expected {sorted(self.camera_names)}")
        frame: dict[str, Any] = {"task": self.task}
        for camera in self.camera_names:
            image = np.asarray(images[camera])
            if image.shape != self.image_shape or image.dtype != np.uint8:
                raise ValueError(
                    f"camera {camera!r}: image {image.shape} {image.dtype}, expected {self.image_shape} uint8"
                )
            frame[image_key(camera)] = image
        for key, vector in ((OBS_STATE, state), (ACTION, action)):
            vector = np.asarray(vector, dtype=np.float32)
            if vector.shape != (len(self.joint_names),) or not np.all(np.isfinite(vector)):
                raise ValueError(f"{key} must be {len(self.joint_names)} finite values, got {vector!r}")
            frame[key] = vector
        dataset.add_frame(frame)
        self._pending += 1

    def save_episode(self, info: Mapping[str, Any] | None = None) -> int:
        """Keep the frames added since the last save as one episode; its episode index.

        ``info`` (JSON-serialisable) goes to ``meta/salus_episodes.jsonl``.
        """
        from lerobot.utils.utils import SuppressProgressBars

        dataset = self._require_open()
        if self._pending == 0:
            raise ValueError("no frames to save: add_frame() first")
        index = self.num_episodes
        with SuppressProgressBars():
            # In this process: LeRobot's parallel encoding forks a process pool per episode.
            dataset.save_episode(parallel_encoding=False)
        record = {"episode_index": index, "frames": self._pending, **dict(info or {})}
        self._log.append(json.dumps(record, sort_keys=True))
        self.num_frames += self._pending
        self._pending = 0
        return index

    def finish(self, verify: bool = True) -> dict[str, Any]:
        """Finalize, check the dataset with ``LeRobotDataset`` (unless ``verify`` is false), swap it in.

        Returns what the check saw: episodes, frames, and the last frame's feature shapes.
        """
        dataset = self._require_open()
        if self.num_episodes == 0:
            raise ValueError("no episode saved: nothing to write")
        if self._pending:
            raise ValueError(f"{self._pending} frames added after the last save_episode()")
        dataset.finalize()
        self._dataset = None
        built = self._build.path
        shutil.rmtree(built / "images", ignore_errors=True)  # LeRobot's per-episode PNG staging
        (built / SIDECAR).write_text("".join(line + "\n" for line in self._log))
        summary: dict[str, Any] = {"episodes": self.num_episodes, "frames": self.num_frames}
        if verify:
            summary.update(self._verify(built))
        self._build.swap_in()
        return summary

    def __exit__(self, *exc: object) -> None:
        if self._dataset is not None:  # not finished: close LeRobot's open files, then drop the folder
            dataset, self._dataset = self._dataset, None
            with contextlib.suppress(Exception):
                dataset.finalize()
        self._cleanup.close()  # deletes the temporary folder unless finish() swapped it in

    def _require_open(self):
        if self._dataset is None:
            raise RuntimeError(f"the dataset builder for {self.root} is not open (use it in a with block)")
        return self._dataset

    def _verify(self, built: Path) -> dict[str, Any]:
        dataset = load_dataset(self.repo_id, built)
        if (dataset.num_episodes, dataset.num_frames) != (self.num_episodes, self.num_frames):
            raise RuntimeError(
                f"LeRobot loads {dataset.num_episodes} episodes / {dataset.num_frames} frames from {built}, "
                f"{self.num_episodes} / {self.num_frames} were written"
            )
        first, last = dataset[0], dataset[dataset.num_frames - 1]
        for camera in self.camera_names:
            for item in (first, last):
                shape = tuple(item[image_key(camera)].shape)
                if shape != (3, *self.image_shape[:2]):
                    raise RuntimeError(f"{image_key(camera)} decodes as {shape}, expected (3, H, W)")
        return {"last_frame": {k: tuple(v.shape) for k, v in last.items() if hasattr(v, "shape")}}
