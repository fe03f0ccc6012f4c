"""Per-control-step VLA control: chunk scheduling, the K-sample ensemble and the 12 signals, free of ROS.

The VLA is queried for a chunk of actions; :class:`~salus_vla.core.chunk_schedule.ChunkSchedule` decides
when the next chunk is asked for (``lookahead`` actions before the planned ones run out) and which action
each control step executes. Two ways to drive it, the same policy either way:

- lockstep (:meth:`VlaController.step`): a chunk is sampled and used at once, the caller waits for it
  (offline evaluation, and the graph's synchronous mode);
- asynchronous (:meth:`VlaController.request` in a worker thread, :meth:`accept` and :meth:`act` on the
  control thread): the ROS node, where the robot needs a target every tick while the model thinks.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from salus_vla.core.chunk_schedule import ChunkSchedule, ScheduleConfig, TimedChunk
from salus_vla.core.ensemble import EnsembleSampler, make_observation
from salus_vla.core.extended_signals import ExtendedSignalExtractor
from salus_vla.core.policy_loader import LoadedPolicy
from salus_vla.core.signals import SignalExtractor


class NonFiniteActionError(ValueError):
    """The chunk's action for this step is not finite (NaN or inf): nothing may be commanded from it."""


@dataclass(frozen=True)
class ControlStep:
    """What the VLA proposes for one control step, with the ensemble's spread and the runtime signals."""

    action: np.ndarray  # (action_dim,) ensemble mean (cross-faded at a chunk switch): joint targets
    std: np.ndarray  # (action_dim,) ensemble standard deviation
    samples: np.ndarray  # (K, action_dim) the K sampled actions for this step
    signals: np.ndarray  # (12,) in SIGNAL_NAMES order
    chunk_index: int  # chunks used since reset, 0-based
    step_in_chunk: int
    inference_ms: float  # lockstep: time spent sampling a chunk at this step (0 when none was sampled)
    source_stamp_ns: int  # stamp of the observation the chunk came from
    queue_left: int  # actions of the current chunk after this one
    prefix_embedding: np.ndarray | None = None  # (hidden,) the chunk's mean final prefix hidden state
    extended: np.ndarray | None = None  # (4,) in EXTENDED_SIGNAL_NAMES order, with extended signals on


class VlaController:
    """Runs a loaded SmolVLA as a K-sample ensemble, one control step at a time."""

    def __init__(
        self,
        loaded: LoadedPolicy,
        task: str,
        num_samples: int = 5,
        seed: int = 0,
        n_action_steps: int | None = None,
        signal_window: int = 10,
        num_flow_steps: int | None = None,
        lookahead: int = 0,
        blend_steps: int = 0,
        max_age_steps: int = 0,
        extended: ExtendedSignalExtractor | None = None,
    ) -> None:
        steps = loaded.n_action_steps if n_action_steps is None else int(n_action_steps)
        if num_flow_steps is not None:
            if int(num_flow_steps) < 1:
                raise ValueError(f"num_flow_steps must be >= 1, got {num_flow_steps}")
            # The flow integration reads the policy config at every chunk: fewer steps, faster chunks.
            loaded.policy.config.num_steps = int(num_flow_steps)
        if not task.strip():
            raise ValueError("task must be a non-empty instruction")
        self.schedule = ChunkSchedule(
            ScheduleConfig(steps, loaded.chunk_size, int(lookahead), int(blend_steps), int(max_age_steps))
        )
        self.loaded = loaded
        self.task = task
        self.n_action_steps = steps
        self.seed = int(seed)
        self.sampler = EnsembleSampler(loaded, num_samples, seed)
        self.signals = SignalExtractor(window=signal_window)
        self.extended = extended
        self._next_step = 0

    @property
    def num_samples(self) -> int:
        return self.sampler.num_samples

    def reset(self, episode_seed: int | None = None) -> None:
        """Episode start: forget chunks and signal history; with a seed, restart the noise (exact replays)."""
        self.schedule.reset()
        self.signals.reset()
        if self.extended is not None:
            self.extended.reset()
        self._next_step = 0
        if episode_seed is not None:
            self.sampler.reseed(self.noise_seed(episode_seed))

    def noise_seed(self, episode_seed: int) -> int:
        """The noise generator's seed for one episode: a function of the node seed and the episode seed."""
        return self.seed * 1_000_003 + int(episode_seed)

    # --- lockstep ----------------------------------------------------------------------------------------
    def step(self, images: Mapping[str, np.ndarray], state: np.ndarray, stamp_ns: int = 0) -> ControlStep:
        """This step's action; samples a chunk first (and waits for it) when the schedule asks for one."""
        step = self._next_step
        self._next_step += 1
        inference_ms = 0.0
        if self.schedule.wants_chunk(step):
            timed = self.request(images, state, step, stamp_ns)()
            inference_ms = timed.latency_ms
            self.accept(timed, step)
        control = self.act(step, state)
        if control is None:  # only when a chunk was dropped as too old, which lockstep never makes
            raise RuntimeError(f"no action for step {step}")
        return ControlStep(**{**control.__dict__, "inference_ms": inference_ms})

    def warm_up(self) -> float:
        """Sample one chunk from a blank observation and forget it; returns its latency [ms].

        The first chunk a process samples is slower than the rest (torch allocates and picks its kernels),
        so a node warms up at start-up and the first episode's first chunk is not the slow one. The
        schedule and the signals are untouched; the noise generator is consumed (episodes reseed it).
        """
        features = self.loaded.config.image_features
        images = {
            key: np.zeros((feature.shape[1], feature.shape[2], 3), dtype=np.uint8)
            for key, feature in features.items()
        }
        state = np.zeros(self.loaded.state_dim, dtype=np.float32)
        return self.request(images, state, step=0, stamp_ns=0)().latency_ms

    # --- asynchronous ------------------------------------------------------------------------------------
    def wants_chunk(self, step: int) -> bool:
        return self.schedule.wants_chunk(step)

    def request(
        self, images: Mapping[str, np.ndarray], state: np.ndarray, step: int, stamp_ns: int
    ) -> Callable[[], TimedChunk]:
        """A job sampling a chunk from this observation; run it anywhere (a worker thread), once."""
        observation = make_observation(images, state, self.task)

        def sample() -> TimedChunk:
            started = time.perf_counter()
            chunk = self.sampler.sample(observation)
            return TimedChunk(chunk, step, int(stamp_ns), (time.perf_counter() - started) * 1e3)

        return sample

    def accept(self, timed: TimedChunk, step: int) -> bool:
        """Use a finished chunk from control step ``step`` on; False when it was too old (dropped)."""
        return self.schedule.accept(timed, step)

    def act(self, step: int, state: np.ndarray) -> ControlStep | None:
        """The action of control step ``step``, or None when no chunk covers it (a missed tick).

        Raises :class:`NonFiniteActionError` when the chunk holds NaN or inf for this step.
        """
        chosen = self.schedule.action(step)
        if chosen is None:
            return None
        if not (np.all(np.isfinite(chosen.samples)) and np.all(np.isfinite(chosen.action))):
            raise NonFiniteActionError(f"step {step}: the chunk's action is not finite")
        chunk = chosen.source.chunk
        signals = self.signals.update(chunk, chosen.index, np.asarray(state, dtype=np.float64))
        embedding = self.signals.prefix_embedding
        extended = None
        if self.extended is not None:
            extended = self.extended.update(chunk, chosen.index, chosen.action, step, embedding)
        return ControlStep(
            action=chosen.action,
            std=chosen.std,
            samples=chosen.samples,
            signals=signals,
            chunk_index=chosen.chunk_index,
            step_in_chunk=chosen.index,
            inference_ms=0.0,
            source_stamp_ns=chosen.source.stamp_ns,
            queue_left=chosen.left,
            prefix_embedding=embedding,
            extended=extended,
        )
