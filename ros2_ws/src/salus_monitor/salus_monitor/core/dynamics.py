"""A learned one-step dynamics model: (joint state, commanded target) -> next joint state. Plain torch.

The robot tracks position targets through its own controller, so the next state depends on the current
state and the target in a way that is close to, but not, "the target is reached": the model predicts the
change of state, standardized, from both. Its validation error is reported against two baselines that need
no learning (``persistence``: the state does not move; ``target``: the state jumps to the command), so a
reader sees what learning bought.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from salus_monitor.core.manifold import Standardizer, mlp


@dataclass(frozen=True)
class DynamicsConfig:
    state_dim: int
    action_dim: int
    hidden: tuple[int, ...] = (128, 128)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["hidden"] = list(self.hidden)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> DynamicsConfig:
        return cls(**{**d, "hidden": tuple(d["hidden"])})


class DynamicsModel(nn.Module):
    def __init__(self, config: DynamicsConfig) -> None:
        super().__init__()
        self.config = config
        self.state_norm = Standardizer(config.state_dim)
        self.action_norm = Standardizer(config.action_dim)
        self.delta_norm = Standardizer(config.state_dim)
        self.net = mlp([config.state_dim + config.action_dim, *config.hidden, config.state_dim])

    def fit_normalization(self, state: torch.Tensor, action: torch.Tensor, next_state: torch.Tensor) -> None:
        self.state_norm.fit(state)
        self.action_norm.fit(action)
        self.delta_norm.fit(next_state - state)

    def normalized_delta(self, state: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([self.state_norm(state), self.action_norm(action)], dim=-1))

    def forward(self, state: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        """The predicted next state."""
        return state + self.delta_norm.inverse(self.normalized_delta(state, action))

    def loss(self, state: torch.Tensor, action: torch.Tensor, next_state: torch.Tensor) -> torch.Tensor:
        target = self.delta_norm(next_state - state)
        return nn.functional.mse_loss(self.normalized_delta(state, action), target)


def rmse_per_joint(predicted: torch.Tensor, actual: torch.Tensor) -> torch.Tensor:
    return (predicted - actual).pow(2).mean(dim=0).sqrt()
