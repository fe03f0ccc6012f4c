"""In-process closed loop of `PickPlaceSim` and `ScriptedExpert`, for tests, benchmarks and sweeps.

The ROS graph runs the same loop across processes; here `latency_steps` reproduces its observation latency.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

from salus_sim.core.expert import ScriptedExpert
from salus_sim.core.injection import EpisodePerturbations
from salus_sim.core.labels import Outcome
from salus_sim.core.pick_place import PickPlaceSim


@dataclass(frozen=True)
class EpisodeResult:
    seed: int
    outcome: Outcome | None  # None only if max_steps ended the episode before any label
    onset_time: float | None
    duration: float  # sim seconds simulated
    steps: int  # control steps
    perturbations: EpisodePerturbations

    def to_dict(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "outcome": None if self.outcome is None else self.outcome.value,
            "onset_time": self.onset_time,
            "duration": self.duration,
            "steps": self.steps,
            "perturbations": self.perturbations.to_dict(),
        }


def run_episode(
    sim: PickPlaceSim, expert: ScriptedExpert, seed: int, max_steps: int | None = None, latency_steps: int = 0
) -> EpisodeResult:
    """Reset, then step expert and sim until an outcome is decided (or `max_steps` control steps).

    The expert sees observations `latency_steps` control steps old, as it would across a transport.
    """
    perturbations = sim.reset(seed)
    expert.reset()
    if max_steps is None:  # the labeler's timeout always ends the episode before this
        max_steps = math.ceil(sim.config.label.max_duration_s / sim.config.control_dt) + 1
    bin_pos = sim.bin_position()
    history: deque[tuple[np.ndarray, np.ndarray, np.ndarray]] = deque(maxlen=latency_steps + 1)
    steps = 0
    while sim.outcome is None and steps < max_steps:
        history.append((sim.joint_positions(), *sim.cube_pose()))
        q, cube_pos, cube_quat = history[0]
        sim.step(expert.act(q, cube_pos, cube_quat, bin_pos))
        steps += 1
    return EpisodeResult(
        seed=seed,
        outcome=sim.outcome,
        onset_time=sim.onset_time,
        duration=sim.time,
        steps=steps,
        perturbations=perturbations,
    )
