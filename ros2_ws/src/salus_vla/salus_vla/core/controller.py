"""Per-control-step VLA control: chunking, the K-sample ensemble and the 12 signals, free of ROS.

The VLA is queried once per chunk (every ``n_action_steps`` control steps); in between, the chunk's mean
actions are executed one per step. Both the ROS node (``vla_ensemble_node``) and offline closed-loop
evaluation drive the policy through this class, so what is evaluated is what runs on the robot.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from salus_vla.core.ensemble import EnsembleChunk, EnsembleSampler, make_observation
from salus_vla.core.policy_loader import LoadedPolicy
from salus_vla.core.signals import SignalExtractor


@dataclass(frozen=True)
class ControlStep:
    """What the VLA proposes for one control step, with the ensemble's spread and the runtime signals."""

    action: np.ndarray  # (action_dim,) ensemble mean: joint targets [rad], fingers [m]
    std: np.ndarray  # (action_dim,) ensemble standard deviation
    samples: np.ndarray  # (K, action_dim) the K sampled actions for this step
    signals: np.ndarray  # (12,) in SIGNAL_NAMES order
    chunk_index: int  # chunks queried since reset, 0-based
    step_in_chunk: int
    inference_ms: float  # time spent sampling a new chunk at this step (0 when none was sampled)


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
    ) -> None:
        steps = loaded.n_action_steps if n_action_steps is None else int(n_action_steps)
        if num_flow_steps is not None:
            if int(num_flow_steps) < 1:
                raise ValueError(f"num_flow_steps must be >= 1, got {num_flow_steps}")
            # The flow integration reads the policy config at every chunk: fewer steps, faster chunks.
            loaded.policy.config.num_steps = int(num_flow_steps)
        if not 1 <= steps <= loaded.chunk_size:
            raise ValueError(f"n_action_steps must be in [1, chunk_size={loaded.chunk_size}], got {steps}")
        if not task.strip():
            raise ValueError("task must be a non-empty instruction")
        self.loaded = loaded
        self.task = task
        self.n_action_steps = steps
        self.sampler = EnsembleSampler(loaded, num_samples, seed)
        self.signals = SignalExtractor(window=signal_window)
        self._chunk: EnsembleChunk | None = None
        self._step_in_chunk = 0
        self._chunk_index = -1

    @property
    def num_samples(self) -> int:
        return self.sampler.num_samples

    def reset(self) -> None:
        """Episode start: forget the chunk in flight and the signal history."""
        self._chunk = None
        self._step_in_chunk = 0
        self._chunk_index = -1
        self.signals.reset()

    def step(self, images: Mapping[str, np.ndarray], state: np.ndarray) -> ControlStep:
        """The action for this control step; samples a new chunk when the current one is used up."""
        inference_ms = 0.0
        if self._chunk is None or self._step_in_chunk >= self.n_action_steps:
            started = time.perf_counter()
            self._chunk = self.sampler.sample(make_observation(images, state, self.task))
            inference_ms = (time.perf_counter() - started) * 1e3
            self._chunk_index += 1
            self._step_in_chunk = 0
        chunk, index = self._chunk, self._step_in_chunk
        signals = self.signals.update(chunk, index, np.asarray(state, dtype=np.float64))
        self._step_in_chunk += 1
        return ControlStep(
            action=chunk.mean[index].copy(),
            std=chunk.std[index].copy(),
            samples=chunk.samples[:, index].copy(),
            signals=signals,
            chunk_index=self._chunk_index,
            step_in_chunk=index,
            inference_ms=inference_ms,
        )
