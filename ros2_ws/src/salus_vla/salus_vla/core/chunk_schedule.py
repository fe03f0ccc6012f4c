"""Which action each control step executes, when chunks arrive late: asynchronous chunking, free of ROS.

A chunk sampled from the observation of control step ``s`` holds actions for steps ``s, s+1, ...``. In real
time the model is slower than a control period, so the next chunk is requested while the current one is
still being executed: when at most ``lookahead`` of the current chunk's ``n_action_steps`` planned actions
are left. When it arrives, ``latency`` steps later, its first ``latency`` actions are already in the past
and are skipped: step ``t`` takes action ``t - s`` of the chunk that covers it. Until then the current
chunk goes on, up to its last action (``chunk_size`` of them), so a slow chunk costs a missed tick only when
it is later than the current chunk is long.

Consecutive chunks disagree a little where they overlap; ``blend_steps`` > 0 cross-fades from the old
chunk's remaining actions to the new chunk's over that many steps (weights ``1/(b+1) ... b/(b+1)``), so the
command does not jump at a chunk switch. A chunk older than ``max_age_steps`` when it arrives (its
observation that many steps in the past) is dropped and counted. Everything is counted for diagnostics:
missed ticks (no chunk covers the step), dropped chunks, latency per chunk.

lerobot 0.6.1 has real-time chunking (RTC) for SmolVLA, which guides the new chunk's denoising towards the
old chunk's leftover; it lives inside lerobot's own sampling loop, while SALUS samples K noises on one shared
prefix with its own loop (ensemble.py), so RTC's guidance does not apply as is; the cross-fade is the
overlap handling here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from salus_vla.core.ensemble import EnsembleChunk


@dataclass(frozen=True)
class ScheduleConfig:
    n_action_steps: int  # planned actions per chunk
    chunk_size: int  # actions in a chunk (the most that can be executed from one)
    lookahead: int = 0  # request the next chunk when this many planned actions are left (0: when used up)
    blend_steps: int = 0  # cross-fade length at a chunk switch
    max_age_steps: int = 0  # drop a chunk whose observation is older than this on arrival (0: never)

    def __post_init__(self) -> None:
        if not 1 <= self.n_action_steps <= self.chunk_size:
            raise ValueError(f"n_action_steps must be in [1, {self.chunk_size}], got {self.n_action_steps}")
        if not 0 <= self.lookahead < self.n_action_steps:
            raise ValueError(f"lookahead must be in [0, n_action_steps - 1], got {self.lookahead}")
        if self.blend_steps < 0 or self.max_age_steps < 0:
            raise ValueError("blend_steps and max_age_steps must be >= 0")


@dataclass(frozen=True)
class TimedChunk:
    """A chunk and the control step (and stamp) of the observation it was sampled from."""

    chunk: EnsembleChunk
    start_step: int
    stamp_ns: int
    latency_ms: float


@dataclass(frozen=True)
class StepAction:
    """The action of one control step and where it came from."""

    action: np.ndarray  # (action_dim,) what to command (cross-faded at a switch)
    std: np.ndarray  # (action_dim,) ensemble std of the chunk's action
    samples: np.ndarray  # (K, action_dim) the chunk's K samples for this step
    source: TimedChunk
    index: int  # step - source.start_step
    chunk_index: int  # chunks accepted this episode, 0-based
    left: int  # actions of the current chunk after this one (the queue depth)


@dataclass
class ScheduleStats:
    missed_ticks: int = 0
    chunks: int = 0
    dropped_chunks: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    min_left: int | None = None

    def percentile_ms(self, q: float) -> float:
        return float(np.percentile(self.latencies_ms, q)) if self.latencies_ms else float("nan")


class ChunkSchedule:
    """The chunk in use, the one it replaces while blending, and the counts of one episode."""

    def __init__(self, config: ScheduleConfig) -> None:
        self.config = config
        self.reset()

    def reset(self) -> None:
        self.current: TimedChunk | None = None
        self.previous: TimedChunk | None = None
        self.switch_step = 0
        self.chunk_index = -1
        self.stats = ScheduleStats()

    def wants_chunk(self, step: int) -> bool:
        """Whether a chunk should be requested from step ``step``'s observation (none in flight assumed)."""
        if self.current is None:
            return True
        planned_end = self.current.start_step + self.config.n_action_steps
        return planned_end - step <= self.config.lookahead

    def accept(self, timed: TimedChunk, step: int) -> bool:
        """Take a finished chunk at control step ``step``; False (and counted) when it is too old to use."""
        age = step - timed.start_step
        self.stats.latencies_ms.append(timed.latency_ms)
        too_old = self.config.max_age_steps and age > self.config.max_age_steps
        if too_old or age >= self.config.chunk_size:
            self.stats.dropped_chunks += 1
            return False
        self.previous, self.current = self.current, timed
        self.switch_step = step
        self.chunk_index += 1
        self.stats.chunks += 1
        return True

    def action(self, step: int) -> StepAction | None:
        """The action for ``step``, or None (a missed tick, counted) when no chunk covers it."""
        current = self.current
        if current is None or not 0 <= step - current.start_step < self.config.chunk_size:
            self.stats.missed_ticks += 1
            return None
        index = step - current.start_step
        chunk = current.chunk
        action = np.array(chunk.mean[index], dtype=np.float64)
        blended = self._blend(step, action)
        left = self.config.chunk_size - index - 1
        self.stats.min_left = left if self.stats.min_left is None else min(self.stats.min_left, left)
        return StepAction(
            action=blended,
            std=np.array(chunk.std[index]),
            samples=np.array(chunk.samples[:, index]),
            source=current,
            index=index,
            chunk_index=self.chunk_index,
            left=left,
        )

    def _blend(self, step: int, action: np.ndarray) -> np.ndarray:
        b, previous = self.config.blend_steps, self.previous
        since = step - self.switch_step
        if not b or previous is None or since >= b:
            return action
        old_index = step - previous.start_step
        if not 0 <= old_index < self.config.chunk_size:
            return action
        weight = (since + 1) / (b + 1)
        return (1.0 - weight) * np.asarray(previous.chunk.mean[old_index], dtype=np.float64) + weight * action
