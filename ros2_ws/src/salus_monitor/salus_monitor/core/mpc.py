"""Short-horizon MPC scoring of candidate actions through the learned dynamics and the safety manifold.

Each candidate is a joint-position target held for ``horizon`` control steps (how a position-controlled arm
executes it). Its rollout ``s_{h+1} = f(s_h, a)`` goes through the dynamics model; at every step the
manifold says how far ``(s_h, a)`` is from the safe cluster (in units of the safe spread). The cost is

    cost(a) = safe_weight * mean_h d_safe(s_h, a) + track_weight * ||a - a_vla|| / track_scale

so the chosen action is safe by the manifold and stays close to the VLA's proposal (on task). The failure
predictor's risk is not in the sum: its signals describe the VLA's ensemble and internals, not a candidate
action, so it decides *whether* to intervene (the threshold), and the manifold *how*.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from salus_monitor.core.dynamics import DynamicsModel
from salus_monitor.core.manifold import SafetyManifold


@dataclass(frozen=True)
class MpcConfig:
    horizon: int = 3
    safe_weight: float = 1.0
    track_weight: float = 1.0
    track_scale: float = 0.05  # [rad] this far from the proposal costs as much as one spread unit of safety

    def __post_init__(self) -> None:
        if self.horizon < 1 or self.track_scale <= 0:
            raise ValueError(f"bad MPC config {self}")


@dataclass(frozen=True)
class Scores:
    cost: np.ndarray  # (N,)
    safe: np.ndarray  # (N,) mean distance to the safe cluster along the rollout
    track: np.ndarray  # (N,) distance to the proposal / track_scale

    @property
    def best(self) -> int:
        return int(np.argmin(self.cost))


@torch.no_grad()
def score_candidates(
    state: np.ndarray,
    candidates: np.ndarray,
    proposal: np.ndarray,
    manifold: SafetyManifold,
    dynamics: DynamicsModel,
    config: MpcConfig,
) -> Scores:
    """Costs of ``candidates`` (N, J) from ``state`` (J,) against the VLA's ``proposal`` (J,)."""
    cand = torch.as_tensor(np.asarray(candidates, dtype=np.float32))
    if cand.ndim != 2 or cand.shape[0] < 1:
        raise ValueError(f"candidates must be (N >= 1, J), got {tuple(cand.shape)}")
    s = torch.as_tensor(np.asarray(state, dtype=np.float32)).reshape(1, -1).expand(len(cand), -1)
    safe = torch.zeros(len(cand))
    for _ in range(config.horizon):
        safe += manifold.distance_to_safe(s, cand)
        s = dynamics(s, cand)
    safe /= config.horizon
    track = torch.linalg.vector_norm(cand - torch.as_tensor(np.asarray(proposal, np.float32)), dim=-1)
    track = track / config.track_scale
    cost = config.safe_weight * safe + config.track_weight * track
    return Scores(cost.numpy(), safe.numpy(), track.numpy())
