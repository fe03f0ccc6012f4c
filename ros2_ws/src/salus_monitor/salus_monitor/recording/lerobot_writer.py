"""Write demonstrations as LeRobot v3.0 datasets, one crash-safe episode at a time. Pure Python (no rclpy).

:class:`DemoDatasetWriter` wraps ``LeRobotDataset.create`` / ``resume``, ``add_frame``, ``save_episode``,
``clear_episode_buffer`` and ``finalize`` (lerobot 0.6.1) with the SALUS feature layout::

    observation.images.<camera>  (H, W, 3) uint8, AV1 video (or PNG images with use_videos=False)
    observation.state            (9,) float32  measured joint positions, names = robot.joint_names
    action                       (9,) float32  commanded joint position targets, same names and order
    task                         the language instruction (one per dataset)

Why every saved episode is finalized at once: LeRobot keeps the data parquet file open (its footer is
written by ``finalize``) and buffers episode metadata in memory (``metadata_buffer_size``), so a process
killed with SIGKILL before ``finalize`` leaves a dataset that no longer loads — every episode is lost,
not only the last one. Here ``save_episode`` = LeRobot ``save_episode`` + ``finalize`` + ``resume``:
each episode gets its own data, metadata and video files, and between episodes everything on disk is
complete. The save itself is a small transaction: a journal (``.salus_journal/``) lists the files that
existed before and keeps copies of the files LeRobot rewrites in place (``meta/info.json``,
``meta/stats.json``, ``meta/tasks.parquet``, our ``meta/salus_episodes.jsonl``); opening a writer on a
dataset whose last save was cut short rolls that save back (:func:`recover_dataset`), so the previous
episodes load again. ``signals_deferred`` keeps Ctrl-C and SIGTERM from cutting a save short.

``meta/salus_episodes.jsonl`` holds one JSON line per kept episode (episode index, SALUS episode id,
seed, outcome, perturbations, ...): provenance that LeRobot's own metadata has no place for.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import re
import shutil
import signal
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

STATE_KEY = "observation.state"
ACTION_KEY = "action"
IMAGE_KEY_PREFIX = "observation.images."
SIDECAR = Path("meta") / "salus_episodes.jsonl"
JOURNAL = ".salus_journal"
_JOURNAL_TMP = ".salus_journal.tmp"
_JOURNAL_DONE = ".salus_journal.done"
_TRACKED_DIRS = ("data", "meta", "videos")
_REWRITTEN = (
    Path("meta") / "info.json",
    Path("meta") / "stats.json",
    Path("meta") / "tasks.parquet",
    SIDECAR,
)
_STAGING_DIRS = ("images",)  # LeRobot's per-episode PNG staging
_TEMP_DIR_RE = re.compile(r"^tmp[A-Za-z0-9_]{6,}$")  # tempfile.mkdtemp(dir=root) of the video encoder
VIDEO_BACKEND = "pyav"  # torchcodec needs system FFmpeg libraries; PyAV wheels bundle their own
# SVT-AV1 prints ~20 info lines per encoded video to stderr; keep its errors only (unless set already).
_SVT_LOG_LEVEL = "1"


class DatasetMismatchError(ValueError):
    """The folder holds something other than a dataset this writer can append to."""


def image_key(camera: str) -> str:
    return f"{IMAGE_KEY_PREFIX}{camera}"


def build_features(
    camera_names: Sequence[str],
    image_shape: Sequence[int],
    joint_names: Sequence[str],
    use_videos: bool = True,
) -> dict[str, dict[str, Any]]:
    """The LeRobot ``features`` dict of a SALUS demonstration dataset."""
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
    for key in (STATE_KEY, ACTION_KEY):
        features[key] = {"dtype": "float32", "shape": (len(joint_names),), "names": list(joint_names)}
    return features


# --------------------------------------------------------------------------- signals


@contextlib.contextmanager
def signals_deferred(
    signums: Iterable[int] = (signal.SIGINT, signal.SIGTERM), redeliver: bool = True
) -> Iterator[list[int]]:
    """Hold SIGINT/SIGTERM while the body runs (e.g. while an episode is written), then deliver them.

    The signals are blocked in the calling thread with ``signal.pthread_sigmask``. That alone is not
    enough in a process with other threads (DDS, rclpy): the kernel hands a process-directed signal to
    any thread that does not block it, and CPython then runs the Python-level handler in the main thread
    anyway. So on the main thread the Python-level handlers are also replaced, for the duration, by one
    that only records the signal. On exit the previous handlers and mask are restored and each held
    signal is raised once more (``redeliver=False`` drops them, for a process that is stopping anyway).
    Yields the list of held signal numbers.

    Off the main thread only the mask applies: Python handlers never run there, so the body cannot be
    interrupted by KeyboardInterrupt, but the main thread can still end the process; make it wait.
    Handlers installed outside Python (``signal.getsignal`` returns None) are left alone. Replacing a
    Python handler re-installs CPython's C-level handler, which displaces one a C extension such as rclpy
    installed on top; use this on the main thread of an rclpy process only once it is shutting down.
    """
    signums = tuple(signums)
    held: list[int] = []
    swapped: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for signum in signums:
            previous = signal.getsignal(signum)
            if previous is None:
                continue
            swapped[signum] = previous
            signal.signal(signum, lambda number, _frame: held.append(number))
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, signums)
    try:
        yield held
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)  # pending ones reach the recorder now
        for signum, previous in swapped.items():
            signal.signal(signum, previous)  # runs pending Python handlers first, then restores
        if redeliver:
            for signum in dict.fromkeys(held):
                signal.raise_signal(signum)


# --------------------------------------------------------------------------- crash recovery


def _tracked_files(root: Path) -> list[str]:
    files = []
    for folder in _TRACKED_DIRS:
        base = root / folder
        if base.is_dir():
            files += [p.relative_to(root).as_posix() for p in base.rglob("*") if p.is_file()]
    return sorted(files)


def _begin_journal(root: Path) -> None:
    """Record what a rollback must restore; valid only once renamed into place (atomic)."""
    tmp = root / _JOURNAL_TMP
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "saved").mkdir(parents=True)
    existing = []
    for rel in _REWRITTEN:
        if (root / rel).is_file():
            target = tmp / "saved" / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(root / rel, target)
            existing.append(rel.as_posix())
    manifest = {"files": _tracked_files(root), "saved": existing}
    (tmp / "manifest.json").write_text(json.dumps(manifest))
    os.replace(tmp, root / JOURNAL)


def _commit_journal(root: Path) -> None:
    done = root / _JOURNAL_DONE
    shutil.rmtree(done, ignore_errors=True)
    os.replace(root / JOURNAL, done)  # the save is committed from here on
    shutil.rmtree(done, ignore_errors=True)


def recover_dataset(root: str | os.PathLike[str]) -> list[str]:
    """Make a dataset folder consistent after a crash; returns what was done (empty: nothing to do).

    * A save cut short (``.salus_journal/`` present): files created since the save began are deleted and
      the rewritten metadata files are restored, so the dataset holds exactly the episodes it held before.
    * Leftovers of an unsaved episode (LeRobot's ``images/`` staging, the video encoder's ``tmp*`` folders)
      and of journal bookkeeping are removed.

    Needs no LeRobot import; run it before loading a dataset whose recorder was killed (opening a
    :class:`DemoDatasetWriter` runs it too). Only one writer may use a folder at a time.
    """
    root = Path(root)
    actions: list[str] = []
    if not root.is_dir():
        return actions
    journal = root / JOURNAL
    if (journal / "manifest.json").is_file():
        manifest = json.loads((journal / "manifest.json").read_text())
        before = set(manifest["files"])
        removed = [rel for rel in _tracked_files(root) if rel not in before]
        for rel in removed:
            (root / rel).unlink()
        for rel in _REWRITTEN:
            saved = journal / "saved" / rel
            if rel.as_posix() in manifest["saved"]:
                shutil.copy2(saved, root / rel)
            elif (root / rel).exists():
                (root / rel).unlink()
        actions.append(f"rolled back an interrupted episode save ({len(removed)} new files removed)")
    for name in (JOURNAL, _JOURNAL_TMP, _JOURNAL_DONE):
        shutil.rmtree(root / name, ignore_errors=True)
    for folder in _TRACKED_DIRS:  # empty folders left by a rollback
        base = root / folder
        if base.is_dir():
            for path in sorted(base.rglob("*"), key=lambda p: len(p.parts), reverse=True):
                if path.is_dir() and not any(path.iterdir()):
                    path.rmdir()
    for entry in root.iterdir():
        if entry.is_dir() and (entry.name in _STAGING_DIRS or _TEMP_DIR_RE.match(entry.name)):
            if any(p.is_file() for p in entry.rglob("*")):
                actions.append(f"removed unsaved frames in {entry.name}/")
            shutil.rmtree(entry)
    return actions


def preload_lerobot() -> None:
    """Import LeRobot's dataset stack now (torch, datasets, PyAV: seconds on a small machine).

    The writer imports it lazily so that :func:`recover_dataset` and :func:`signals_deferred` stay
    light; a process that will write should pay the import at start-up, not inside its first callback.
    """
    from lerobot.datasets.lerobot_dataset import LeRobotDataset  # noqa: F401
    from lerobot.utils.utils import SuppressProgressBars  # noqa: F401


def read_episode_log(root: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The ``meta/salus_episodes.jsonl`` records of a dataset (empty if it has none)."""
    path = Path(root) / SIDECAR
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


# --------------------------------------------------------------------------- the writer


class DemoDatasetWriter:
    """Appends demonstration episodes to a LeRobot v3.0 dataset at ``root`` (created if absent).

    An existing dataset is appended to if its fps and features match, else
    :class:`DatasetMismatchError`. Frames go to :meth:`add_frame`; :meth:`save_episode` keeps them as one
    episode (finalized on disk when it returns), :meth:`discard_episode` drops them. :meth:`finalize`
    (or leaving a ``with`` block) drops an unsaved episode and closes the dataset.
    """

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
        self.root = Path(root).expanduser().resolve()
        self.repo_id = repo_id
        self.fps = int(fps)
        self.camera_names = tuple(camera_names)
        self.image_shape = tuple(int(v) for v in image_shape)
        self.joint_names = tuple(joint_names)
        self.task = task
        self.use_videos = use_videos
        self.robot_type = robot_type
        self.features = build_features(self.camera_names, self.image_shape, self.joint_names, use_videos)
        os.environ.setdefault("SVT_LOG", _SVT_LOG_LEVEL)
        self.recovered = recover_dataset(self.root)
        for action in self.recovered:
            logger.warning("%s: %s", self.root, action)
        self._pending = 0
        self._dataset = self._open()

    # -- properties

    @property
    def num_episodes(self) -> int:
        """Episodes saved in the dataset (earlier sessions included)."""
        return int(self._meta_info()["total_episodes"])

    @property
    def num_frames(self) -> int:
        return int(self._meta_info()["total_frames"])

    @property
    def pending_frames(self) -> int:
        """Frames added since the last save or discard."""
        return self._pending

    @property
    def closed(self) -> bool:
        return self._dataset is None

    # -- recording

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
        for key, vector in ((STATE_KEY, state), (ACTION_KEY, action)):
            vector = np.asarray(vector, dtype=np.float32)
            if vector.shape != (len(self.joint_names),) or not np.all(np.isfinite(vector)):
                raise ValueError(f"{key} must be {len(self.joint_names)} finite values, got {vector!r}")
            frame[key] = vector
        dataset.add_frame(frame)
        self._pending += 1

    def save_episode(self, info: Mapping[str, Any] | None = None) -> int:
        """Keep the pending frames as one episode, complete on disk on return; its episode index.

        ``info`` (JSON-serialisable) goes to ``meta/salus_episodes.jsonl``. SIGINT/SIGTERM are held
        while writing. On failure the save is rolled back and the error re-raised.
        """
        dataset = self._require_open()
        if self._pending == 0:
            raise ValueError("no frames to save: add_frame() first")
        index = self.num_episodes
        record = {"episode_index": index, "frames": self._pending, **dict(info or {})}
        line = json.dumps(record, sort_keys=True) + "\n"
        from lerobot.utils.utils import SuppressProgressBars

        with signals_deferred(), SuppressProgressBars():
            _begin_journal(self.root)
            try:
                dataset.save_episode(parallel_encoding=False)  # no process pool forked from a ROS process
                dataset.finalize()
                with (self.root / SIDECAR).open("a") as stream:
                    stream.write(line)
            except BaseException:
                self._dataset = None
                self._pending = 0
                recover_dataset(self.root)
                self._dataset = self._open()
                raise
            _commit_journal(self.root)
            self._pending = 0
            self._dataset = self._resume()
        return index

    def discard_episode(self) -> int:
        """Drop the pending frames (and their staged images); how many were dropped."""
        dataset = self._require_open()
        dropped = self._pending
        dataset.clear_episode_buffer(delete_images=True)
        self._pending = 0
        return dropped

    def finalize(self) -> None:
        """Drop an unsaved episode and close the dataset; idempotent. Saved episodes are already final."""
        if self._dataset is None:
            return
        if self._pending:
            logger.warning("%s: discarding %d frames of an unsaved episode", self.root, self._pending)
            self.discard_episode()
        dataset, self._dataset = self._dataset, None
        dataset.finalize()
        shutil.rmtree(self.root / "images", ignore_errors=True)

    def __enter__(self) -> DemoDatasetWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.finalize()

    # -- internals

    def _require_open(self):
        if self._dataset is None:
            raise RuntimeError(f"the dataset writer for {self.root} is closed")
        return self._dataset

    def _meta_info(self) -> dict[str, Any]:
        return json.loads((self.root / "meta" / "info.json").read_text())

    def _open(self):
        from lerobot.datasets.lerobot_dataset import LeRobotDataset

        if (self.root / "meta" / "info.json").is_file():
            self._check_compatible()
            return self._resume()
        if self.root.exists():
            if any(self.root.iterdir()):
                raise DatasetMismatchError(
                    f"{self.root} exists and is not a LeRobot dataset (no meta/info.json); "
                    "choose an empty or new folder"
                )
            self.root.rmdir()  # LeRobot creates the folder itself
        return LeRobotDataset.create(
            self.repo_id,
            fps=self.fps,
            features=self.features,
            root=self.root,
            robot_type=self.robot_type,
            use_videos=self.use_videos,
            video_backend=VIDEO_BACKEND,
        )

    def _resume(self):
        from lerobot.datasets.lerobot_dataset import LeRobotDataset

        return LeRobotDataset.resume(self.repo_id, root=self.root, video_backend=VIDEO_BACKEND)

    def _check_compatible(self) -> None:
        info = self._meta_info()
        problems = []
        if int(info.get("fps", -1)) != self.fps:
            problems.append(f"fps {info.get('fps')} (this writer: {self.fps})")
        stored = info.get("features", {})
        for key, spec in self.features.items():
            have = stored.get(key)
            if have is None:
                problems.append(f"no feature {key!r}")
                continue
            for field in ("dtype", "shape", "names"):
                want = list(spec[field]) if field == "shape" else spec[field]
                if (list(have.get(field) or []) if field == "shape" else have.get(field)) != want:
                    problems.append(f"{key}.{field} {have.get(field)} (this writer: {want})")
        extra = [k for k in stored if k.startswith(IMAGE_KEY_PREFIX) and k not in self.features]
        problems += [f"feature {k!r} this writer does not record" for k in extra]
        if problems:
            raise DatasetMismatchError(
                f"cannot append to the dataset at {self.root}: "
                + "; ".join(problems)
                + ". Record into a new folder, or match the existing settings."
            )


# --------------------------------------------------------------------------- writing off the caller's thread


@dataclass(frozen=True)
class WriteResult:
    """The outcome of one save or discard request of a :class:`BackgroundWriter`."""

    tag: Any  # what the caller passed with the request
    saved: bool
    frames: int
    episode_index: int | None
    total_episodes: int
    total_frames: int
    seconds: float
    error: str | None = None


_STOP = object()


class BackgroundWriter:
    """Runs a :class:`DemoDatasetWriter` in its own thread, fed through a queue, in order.

    Why: a save encodes videos for a few seconds; on the caller's (ROS executor) thread that would stall
    every subscription. Frames are bounded by ``max_queued_frames`` (``add_frame`` returns False when
    full, and the frame is dropped); save/discard requests are never dropped. :meth:`results` drains the
    finished requests; :meth:`close` writes everything queued, finalizes, and joins the thread.
    """

    def __init__(self, writer: DemoDatasetWriter, max_queued_frames: int = 256) -> None:
        self.writer = writer
        self.max_queued_frames = max_queued_frames
        self.error: str | None = None
        self._queue: queue.Queue[Any] = queue.Queue()
        self._results: queue.Queue[WriteResult] = queue.Queue()
        self._queued_frames = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="dataset-writer", daemon=True)
        self._thread.start()

    @property
    def queued_frames(self) -> int:
        return self._queued_frames

    def add_frame(self, images: Mapping[str, np.ndarray], state: np.ndarray, action: np.ndarray) -> bool:
        with self._lock:
            if self._queued_frames >= self.max_queued_frames:
                return False
            self._queued_frames += 1
        self._queue.put(("frame", (images, state, action)))
        return True

    def save_episode(self, tag: Any, info: Mapping[str, Any] | None = None) -> None:
        self._queue.put(("save", (tag, info)))

    def discard_episode(self, tag: Any) -> None:
        self._queue.put(("discard", (tag, None)))

    def results(self) -> list[WriteResult]:
        done = []
        while True:
            try:
                done.append(self._results.get_nowait())
            except queue.Empty:
                return done

    def close(self) -> list[WriteResult]:
        """Write what is queued, finalize the dataset, stop the thread; the remaining results."""
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join()
        return self.results()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                break
            kind, payload = item
            if kind == "frame":
                with self._lock:
                    self._queued_frames -= 1
                if self.error is None:
                    try:
                        self.writer.add_frame(*payload)
                    except Exception as err:  # keep the thread alive; the caller sees the error
                        self.error = f"add_frame failed: {type(err).__name__}: {err}"
                continue
            self._results.put(self._finish(kind, *payload))
        try:
            self.writer.finalize()
        except Exception as err:
            self.error = self.error or f"finalize failed: {type(err).__name__}: {err}"

    def _finish(self, kind: str, tag: Any, info: Mapping[str, Any] | None) -> WriteResult:
        started = time.monotonic()
        frames = self.writer.pending_frames
        saved, index, error = False, None, self.error
        if error is None:
            try:
                if kind == "save" and frames > 0:
                    index = self.writer.save_episode(info)
                    saved = True
                else:
                    self.writer.discard_episode()
            except Exception as err:
                error = self.error = f"{kind} failed: {type(err).__name__}: {err}"
        return WriteResult(
            tag=tag,
            saved=saved,
            frames=frames,
            episode_index=index,
            total_episodes=self.writer.num_episodes,
            total_frames=self.writer.num_frames,
            seconds=time.monotonic() - started,
            error=error,
        )
