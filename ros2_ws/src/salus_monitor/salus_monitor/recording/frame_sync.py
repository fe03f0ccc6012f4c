"""Assemble training frames from separate ROS streams matched by header stamp. Pure Python (no rclpy).

Each control tick the robot side publishes ``/joint_states`` and one image per camera with the SAME stamp
``t``; the policy (expert or VLA) answers with one ``/joint_command`` stamped ``t`` as well (the action
taken for that observation). A frame is therefore::

    images(t) for every camera + state(t) + action(t)

The streams arrive in any order (separate DDS topics, best-effort images), so :class:`FrameAssembler`
keeps partial frames keyed by stamp until they are complete. Frames come out in stamp order; a partial
frame older than one just completed can never be completed in order and is dropped, and so is anything
arriving for a stamp at or before the newest emitted one ("late"). Pending partial frames are bounded
(oldest evicted first), so a stream that stops never makes memory grow.

Message fields are validated into arrays by :func:`image_array` and :func:`joint_vector`, which raise
:class:`FrameInputError` with a short ``reason`` (a stable key for counting) and a human ``detail``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

IMAGE_ENCODING = "rgb8"


class FrameInputError(ValueError):
    """A message that cannot become part of a frame; ``reason`` is a short key for counting."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def stamp_ns(sec: int, nanosec: int) -> int:
    """An exact integer key for a ``builtin_interfaces/Time`` (no float rounding between streams)."""
    return int(sec) * 1_000_000_000 + int(nanosec)


def image_array(
    height: int,
    width: int,
    encoding: str,
    step: int,
    data: bytes | bytearray | memoryview | Sequence[int] | Iterable[int],
    expected_hw: tuple[int, int] | None = None,
) -> np.ndarray:
    """The pixels of an rgb8 ``sensor_msgs/Image`` as an (H, W, 3) uint8 array (a copy).

    Rejects other encodings (``encoding``), a size other than ``expected_hw`` (``image_size``) and
    buffers too short for ``step * height`` or rows narrower than ``width * 3`` (``image_data``).
    Row padding (``step > width * 3``) is removed.
    """
    if encoding != IMAGE_ENCODING:
        raise FrameInputError("encoding", f"encoding {encoding!r}, expected {IMAGE_ENCODING!r}")
    if height <= 0 or width <= 0:
        raise FrameInputError("image_size", f"empty image {width}x{height}")
    if expected_hw is not None and (height, width) != tuple(expected_hw):
        raise FrameInputError(
            "image_size", f"image is {width}x{height}, expected {expected_hw[1]}x{expected_hw[0]}"
        )
    row = width * 3
    if step < row:
        raise FrameInputError("image_data", f"step {step} is less than width*3 = {row}")
    try:  # bytes, array.array('B') (what rclpy hands over), memoryview: no copy yet
        buffer = np.frombuffer(data, dtype=np.uint8)
    except TypeError:  # a plain list of ints
        buffer = np.asarray(data, dtype=np.uint8).ravel()
    if buffer.size < step * height:
        raise FrameInputError("image_data", f"{buffer.size} bytes, expected step*height = {step * height}")
    rows = buffer[: step * height].reshape(height, step)
    return np.ascontiguousarray(rows[:, :row]).reshape(height, width, 3)


def joint_vector(names: Sequence[str], values: Sequence[float], expected: Sequence[str]) -> np.ndarray:
    """``values`` reordered to ``expected`` joint order as float32; every expected joint exactly once.

    Reasons: ``count_mismatch``, ``duplicate_joints``, ``unknown_joints``, ``missing_joints``,
    ``non_finite``.
    """
    names = list(names)
    if len(names) != len(values):
        raise FrameInputError("count_mismatch", f"{len(names)} names but {len(values)} values")
    if len(set(names)) != len(names):
        duplicates = sorted({n for n in names if names.count(n) > 1})
        raise FrameInputError("duplicate_joints", f"joints named more than once: {duplicates}")
    unknown = [n for n in names if n not in expected]
    if unknown:
        raise FrameInputError("unknown_joints", f"unknown joints {unknown}; expected {list(expected)}")
    missing = [n for n in expected if n not in names]
    if missing:
        raise FrameInputError("missing_joints", f"lacks joints {missing}")
    index = {name: i for i, name in enumerate(names)}
    vector = np.array([float(values[index[name]]) for name in expected], dtype=np.float32)
    if not all(math.isfinite(v) for v in vector):
        raise FrameInputError("non_finite", f"non-finite value in {vector.tolist()}")
    return vector


@dataclass(frozen=True)
class Frame:
    """One training sample: what the robot saw and measured at ``stamp_ns``, and what it was told to do."""

    stamp_ns: int
    images: Mapping[str, np.ndarray]
    state: np.ndarray
    action: np.ndarray


@dataclass
class SyncCounters:
    """What happened to the items given to a :class:`FrameAssembler` (monotonic counts)."""

    frames: int = 0  # complete frames emitted
    incomplete: int = 0  # partial frames dropped (superseded by a newer complete one, evicted, reset)
    late: int = 0  # items for a stamp at or before the newest emitted / evicted one
    duplicates: int = 0  # a second item of the same kind for the same pending stamp (the first is kept)

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class _Partial:
    images: dict[str, np.ndarray] = field(default_factory=dict)
    state: np.ndarray | None = None
    action: np.ndarray | None = None


class FrameAssembler:
    """Matches images, state and action by exact stamp; emits complete frames in stamp order.

    ``max_pending`` bounds the partial frames kept (oldest evicted first). Every ``add_*`` returns the
    frame its item completed, or None.
    """

    def __init__(self, cameras: Sequence[str], max_pending: int = 16) -> None:
        if not cameras:
            raise ValueError("FrameAssembler needs at least one camera")
        if len(set(cameras)) != len(cameras):
            raise ValueError(f"camera names must be unique, got {list(cameras)}")
        if max_pending < 1:
            raise ValueError(f"max_pending must be >= 1, got {max_pending}")
        self.cameras = tuple(cameras)
        self.max_pending = max_pending
        self.counters = SyncCounters()
        self._pending: dict[int, _Partial] = {}
        self._floor: int | None = None  # items at or before this stamp are late

    @property
    def pending(self) -> int:
        """Partial frames currently held (always <= ``max_pending``)."""
        return len(self._pending)

    @property
    def floor_ns(self) -> int | None:
        return self._floor

    def reset(self, floor_ns: int | None = None) -> None:
        """Drop partial frames (counted incomplete); items at or before ``floor_ns`` are late from now."""
        self.counters.incomplete += len(self._pending)
        self._pending.clear()
        self._floor = floor_ns

    def add_image(self, camera: str, stamp: int, image: np.ndarray) -> Frame | None:
        if camera not in self.cameras:
            raise ValueError(f"unknown camera {camera!r}; expected one of {list(self.cameras)}")
        partial = self._slot(stamp)
        if partial is None:
            return None
        if camera in partial.images:
            self.counters.duplicates += 1
            return None
        partial.images[camera] = image
        return self._complete_if_ready(stamp, partial)

    def add_state(self, stamp: int, state: np.ndarray) -> Frame | None:
        return self._add_vector(stamp, "state", state)

    def add_action(self, stamp: int, action: np.ndarray) -> Frame | None:
        return self._add_vector(stamp, "action", action)

    # -- internals

    def _add_vector(self, stamp: int, kind: str, vector: np.ndarray) -> Frame | None:
        partial = self._slot(stamp)
        if partial is None:
            return None
        if getattr(partial, kind) is not None:
            self.counters.duplicates += 1
            return None
        setattr(partial, kind, vector)
        return self._complete_if_ready(stamp, partial)

    def _slot(self, stamp: int) -> _Partial | None:
        """The partial frame for ``stamp`` (created if needed), or None when the item is late."""
        if self._floor is not None and stamp <= self._floor:
            self.counters.late += 1
            return None
        partial = self._pending.get(stamp)
        if partial is None:
            if len(self._pending) >= self.max_pending:
                oldest = min(self._pending)
                if stamp < oldest:  # older than everything held: it would be evicted first anyway
                    self.counters.late += 1
                    return None
                del self._pending[oldest]
                self.counters.incomplete += 1
                self._floor = oldest
            partial = self._pending[stamp] = _Partial()
        return partial

    def _complete_if_ready(self, stamp: int, partial: _Partial) -> Frame | None:
        if partial.state is None or partial.action is None or len(partial.images) < len(self.cameras):
            return None
        del self._pending[stamp]
        older = [s for s in self._pending if s < stamp]
        for s in older:
            del self._pending[s]
        self.counters.incomplete += len(older)
        self.counters.frames += 1
        self._floor = stamp
        images = {camera: partial.images[camera] for camera in self.cameras}
        return Frame(stamp_ns=stamp, images=images, state=partial.state, action=partial.action)
