"""Pair each joint state with the camera frames of the same control tick, without ROS types.

Stamps are integer nanoseconds (``salus_common.stamps.stamp_ns``), so equal header stamps match exactly.

``exact``: an observation is ready when the joint state and every camera carry the same stamp (our sim
publishes them together each tick; deterministic). ``latest``: ready on each joint state, with the newest
frame of every camera no older than ``max_image_age_s`` (robots whose cameras run at their own rates).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np

from salus_common.stamps import seconds_to_ns

_KEEP = 8  # ticks of history per stream; enough for a few ticks of jitter between streams


@dataclass(frozen=True)
class Observation:
    stamp: int  # ns
    state: np.ndarray
    images: dict[str, np.ndarray]
    header: Any


class StampedFrames:
    def __init__(self, cameras: tuple[str, ...], exact: bool = True, max_image_age_s: float = 0.25) -> None:
        self.cameras = tuple(cameras)
        self.exact = exact
        self.max_image_age_ns = seconds_to_ns(max_image_age_s)
        self.clear()

    def clear(self) -> None:
        self._states: OrderedDict[int, tuple[np.ndarray, Any]] = OrderedDict()
        self._images: dict[str, OrderedDict[int, np.ndarray]] = {c: OrderedDict() for c in self.cameras}
        self._last_used: int | None = None

    def add_state(self, stamp: int, state: np.ndarray, header: Any = None) -> None:
        _put(self._states, stamp, (state, header))

    def add_image(self, camera: str, stamp: int, image: np.ndarray) -> None:
        _put(self._images[camera], stamp, image)

    def pop_ready(self) -> Observation | None:
        """The newest complete observation not used before, or None; older pending ticks are dropped."""
        for stamp in reversed(self._states):
            if self._last_used is not None and stamp <= self._last_used:
                return None
            images = self._images_for(stamp)
            if images is not None:
                state, header = self._states[stamp]
                self._last_used = stamp
                return Observation(stamp, state, images, header)
        return None

    def _images_for(self, stamp: int) -> dict[str, np.ndarray] | None:
        images = {}
        for camera, frames in self._images.items():
            if self.exact:
                if stamp not in frames:
                    return None
                images[camera] = frames[stamp]
            else:
                usable = [s for s in frames if stamp - self.max_image_age_ns <= s <= stamp]
                if not usable:
                    return None
                images[camera] = frames[max(usable)]
        return images


def _put(buffer: OrderedDict, stamp: float, value: Any) -> None:
    buffer[stamp] = value
    buffer.move_to_end(stamp)
    while len(buffer) > _KEEP:
        buffer.popitem(last=False)
