"""Episode bookkeeping of the recorder: which frames belong to which episode, and which episodes to keep.

Pure Python (no rclpy). The simulator stamps an episode's start event with the sim time ``S`` of the last
tick before the reset and its end event with the stamp ``E`` of the last observation the policy answered,
so the frames of an episode are exactly those with ``S < stamp <= E``, one per control period:
``expected = round((E - S) * fps)``.

Streams on separate topics may arrive after the end event, so an ended episode stays open ("closing")
until its last frame (stamp ``E``) is assembled or ``end_grace_s`` wall seconds pass. Then it is closed
with an :class:`EpisodeReport` that says whether to keep it: its outcome is one of ``keep_outcomes``, it
has frames, and at most ``max_missing_frames`` of the expected ones are missing (a recorder that joined
mid-episode, or dropped frames, would otherwise store a demonstration with holes; LeRobot timestamps
assume one frame per period).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from salus_monitor.recording.frame_sync import Frame, FrameAssembler


@dataclass(frozen=True)
class EpisodeReport:
    """How one episode ended on the recorder's side, and whether its frames are kept."""

    episode_id: str
    outcome: str
    frames: int
    expected_frames: int
    keep: bool
    reason: str  # "kept", or why the episode is discarded
    info: Mapping[str, Any] = field(default_factory=dict)  # stored with a kept episode (seed, ...)

    @property
    def missing(self) -> int:
        return max(0, self.expected_frames - self.frames)


@dataclass
class _Episode:
    episode_id: str
    start_ns: int
    info: dict[str, Any]
    frames: int = 0
    refused: int = 0  # frames assembled but refused by the sink (writer queue full)
    end_ns: int | None = None
    outcome: str = ""
    deadline: float = math.inf
    last_frame_ns: int | None = None


class EpisodeSession:
    """Feeds stream items to a :class:`FrameAssembler` while an episode is open; closes episodes.

    Complete frames of the open episode go to ``sink`` as they are assembled; ``sink`` returns False
    when it cannot take one (a full writer queue), which counts as a missing frame. Every method
    returns the :class:`EpisodeReport` s it produced (save or discard what the sink received since the
    previous report). ``now`` arguments are wall-clock seconds (any monotonic clock).
    """

    def __init__(
        self,
        cameras: Sequence[str],
        fps: float,
        sink: Callable[[Frame], bool],
        keep_outcomes: Iterable[str],
        max_missing_frames: int = 2,
        end_grace_s: float = 1.0,
        max_pending: int = 16,
    ) -> None:
        if fps <= 0:
            raise ValueError(f"fps must be > 0, got {fps}")
        if max_missing_frames < 0 or end_grace_s < 0:
            raise ValueError("max_missing_frames and end_grace_s must be >= 0")
        self.fps = float(fps)
        self.sink = sink
        self.keep_outcomes = frozenset(keep_outcomes)
        self.max_missing_frames = int(max_missing_frames)
        self.end_grace_s = float(end_grace_s)
        self.assembler = FrameAssembler(cameras, max_pending=max_pending)
        self.episode: _Episode | None = None
        self.ignored = 0  # stream items outside any episode (between episodes, after an end stamp)
        self._closed_ids: deque[str] = deque(maxlen=64)

    @property
    def recording(self) -> bool:
        return self.episode is not None

    # -- episode events

    def start(
        self, episode_id: str, stamp: int, info: Mapping[str, Any] | None = None
    ) -> list[EpisodeReport]:
        """A start event: closes any open episode first (an unfinished one is discarded)."""
        out: list[EpisodeReport] = []
        if self.episode is not None:
            out += self._close(interrupted=f"a new episode ({episode_id}) started before its end")
        if episode_id in self._closed_ids:  # a replay of history (transient-local events)
            return out
        self.episode = _Episode(episode_id=episode_id, start_ns=stamp, info=dict(info or {}))
        self.assembler.reset(floor_ns=stamp)
        return out

    def end(
        self, episode_id: str, outcome: str, stamp: int, now: float, info: Mapping[str, Any] | None = None
    ) -> list[EpisodeReport]:
        """An end event: the episode closes once its last frame is in, or after the grace period."""
        episode = self.episode
        if episode is None or episode.episode_id != episode_id:
            if episode_id in self._closed_ids:
                return []
            # Its start was never seen (recorder started late): nothing recorded, but report it as handled.
            self._closed_ids.append(episode_id)
            report = EpisodeReport(episode_id, outcome, 0, 0, False, "start not seen by the recorder")
            return [report]
        episode.end_ns = stamp
        episode.outcome = outcome
        episode.info.update(info or {})
        episode.deadline = now + self.end_grace_s
        if episode.last_frame_ns is not None and episode.last_frame_ns >= stamp:
            return self._close()
        return []

    def poll(self, now: float) -> list[EpisodeReport]:
        """Close an ended episode whose grace period is over."""
        if self.episode is not None and self.episode.end_ns is not None and now >= self.episode.deadline:
            return self._close()
        return []

    def shutdown(self) -> list[EpisodeReport]:
        """Close whatever is open: an ended episode normally, a running one as discarded."""
        if self.episode is None:
            return []
        if self.episode.end_ns is not None:
            return self._close()
        return self._close(interrupted="the recorder shut down before the episode ended")

    # -- stream items

    def image(self, camera: str, stamp: int, image: np.ndarray) -> list[EpisodeReport]:
        if not self._accepts(stamp):
            return []
        return self._emit(self.assembler.add_image(camera, stamp, image))

    def state(self, stamp: int, state: np.ndarray) -> list[EpisodeReport]:
        if not self._accepts(stamp):
            return []
        return self._emit(self.assembler.add_state(stamp, state))

    def action(self, stamp: int, action: np.ndarray) -> list[EpisodeReport]:
        if not self._accepts(stamp):
            return []
        return self._emit(self.assembler.add_action(stamp, action))

    # -- internals

    def _accepts(self, stamp: int) -> bool:
        episode = self.episode
        inside = episode is not None and stamp > episode.start_ns
        inside = inside and (episode.end_ns is None or stamp <= episode.end_ns)
        if not inside:
            self.ignored += 1
        return inside

    def _emit(self, frame: Frame | None) -> list[EpisodeReport]:
        if frame is None:
            return []
        episode = self.episode
        episode.last_frame_ns = frame.stamp_ns
        if self.sink(frame):
            episode.frames += 1
        else:
            episode.refused += 1
        if episode.end_ns is not None and frame.stamp_ns >= episode.end_ns:
            return self._close()
        return []

    def _close(self, interrupted: str | None = None) -> list[EpisodeReport]:
        episode = self.episode
        self.episode = None
        self._closed_ids.append(episode.episode_id)
        self.assembler.reset(floor_ns=self.assembler.floor_ns)
        end_ns = episode.end_ns if episode.end_ns is not None else episode.last_frame_ns
        expected = 0 if end_ns is None else max(0, round((end_ns - episode.start_ns) * 1e-9 * self.fps))
        missing = max(0, expected - episode.frames)
        info = {**episode.info, "frames_missing": missing, "frames_refused": episode.refused}
        if interrupted is not None:
            keep, reason = False, interrupted
        elif episode.outcome not in self.keep_outcomes:
            keep, reason = False, f"outcome '{episode.outcome}' is not kept"
        elif episode.frames == 0:
            keep, reason = False, "no frames recorded"
        elif missing > self.max_missing_frames:
            keep, reason = (
                False,
                (
                    f"incomplete: {missing} of {expected} frames missing (max_missing_frames "
                    f"{self.max_missing_frames})"
                ),
            )
        elif episode.frames > expected + 1:
            keep, reason = (
                False,
                (
                    f"{episode.frames} frames but only {expected} control periods: does fps ({self.fps:g}) "
                    "match the robot's control rate?"
                ),
            )
        else:
            keep, reason = True, "kept"
        return [
            EpisodeReport(episode.episode_id, episode.outcome, episode.frames, expected, keep, reason, info)
        ]
