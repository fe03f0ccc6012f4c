"""The safety manifold: a contrastive autoencoder of (state, action) pairs with an 8-D latent. Plain torch.

The encoder maps a state and an action to a latent ``z``; the decoder maps ``z`` back to the action, given
the state. Training (``losses``) combines

* a triplet margin loss on the latents of (anchor = safe, positive = safe, negative = unsafe) samples from
  nearby states (filter_data.py): safe actions close together, unsafe ones at least ``margin`` further;
* reconstruction of every action from its latent (so that decoded samples are actions the robot took);
* a latent regularizer ``mean ||z||^2`` that keeps the latent compact (sampling around the safe centre
  stays on the data).

At run time ``centre`` (the mean latent of the safe training samples) and ``spread`` (their per-dimension
standard deviation) define where safe actions live: :meth:`SafetyManifold.candidates` samples latents
around the centre, decodes them for the current state and keeps the ones whose re-encoded latent is
nearest the centre. Inputs are standardized with the training data's moments, stored in the module.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812


@dataclass(frozen=True)
class ManifoldConfig:
    state_dim: int
    action_dim: int
    latent_dim: int = 8
    hidden: tuple[int, ...] = (128, 128)
    margin: float = 1.0
    recon_weight: float = 1.0
    latent_weight: float = 1e-2

    def as_dict(self) -> dict:
        d = asdict(self)
        d["hidden"] = list(self.hidden)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> ManifoldConfig:
        return cls(**{**d, "hidden": tuple(d["hidden"])})


def mlp(sizes: list[int]) -> nn.Sequential:
    """Linear layers with SiLU between them (none after the last)."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.SiLU())
    return nn.Sequential(*layers)


class Standardizer(nn.Module):
    """``(x - mean) / std`` with the moments as buffers (saved with the weights)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("std", torch.ones(dim))

    def fit(self, x: torch.Tensor) -> None:
        self.mean.copy_(x.mean(dim=0))
        self.std.copy_(x.std(dim=0).clamp_min(1e-6))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std

    def inverse(self, z: torch.Tensor) -> torch.Tensor:
        return z * self.std + self.mean


class SafetyManifold(nn.Module):
    def __init__(self, config: ManifoldConfig) -> None:
        super().__init__()
        self.config = config
        s, a, z = config.state_dim, config.action_dim, config.latent_dim
        self.state_norm = Standardizer(s)
        self.action_norm = Standardizer(a)
        self.encoder = mlp([s + a, *config.hidden, z])
        self.decoder = mlp([z + s, *config.hidden, a])
        self.register_buffer("centre", torch.zeros(z))
        self.register_buffer("spread", torch.ones(z))

    def encode(self, state: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        return self.encoder(torch.cat([self.state_norm(state), self.action_norm(action)], dim=-1))

    def decode(self, z: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        return self.action_norm.inverse(self.decoder(torch.cat([z, self.state_norm(state)], dim=-1)))

    def distance_to_safe(self, state: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        """Distance of the pair's latent from the safe centre, in units of the safe spread."""
        return torch.linalg.vector_norm((self.encode(state, action) - self.centre) / self.spread, dim=-1)

    def losses(
        self,
        anchor: tuple[torch.Tensor, torch.Tensor],
        positive: tuple[torch.Tensor, torch.Tensor],
        negative: tuple[torch.Tensor, torch.Tensor],
    ) -> dict[str, torch.Tensor]:
        """Triplet + reconstruction + latent terms and their weighted ``total`` (for one batch)."""
        za, zp, zn = self.encode(*anchor), self.encode(*positive), self.encode(*negative)
        triplet = F.triplet_margin_loss(za, zp, zn, margin=self.config.margin)
        recon = (
            sum(
                F.mse_loss(self.action_norm(self.decode(z, s)), self.action_norm(a))
                for z, (s, a) in ((za, anchor), (zp, positive), (zn, negative))
            )
            / 3.0
        )
        latent = torch.cat([za, zp, zn]).pow(2).sum(dim=-1).mean()
        total = triplet + self.config.recon_weight * recon + self.config.latent_weight * latent
        return {"total": total, "triplet": triplet, "recon": recon, "latent": latent}

    @torch.no_grad()
    def fit_safe_cluster(self, state: torch.Tensor, action: torch.Tensor) -> None:
        """Centre and spread of the safe samples' latents (call after training)."""
        z = self.encode(state, action)
        self.centre.copy_(z.mean(dim=0))
        self.spread.copy_(z.std(dim=0).clamp_min(1e-6))

    @torch.no_grad()
    def candidates(
        self, state: torch.Tensor, num: int, keep: int, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``keep`` decoded actions of ``num`` latents drawn around the safe centre for one ``state`` (J,),
        nearest the centre first; and their distances (re-encoded, in spread units)."""
        if not 1 <= keep <= num:
            raise ValueError(f"need 1 <= keep <= num, got keep={keep}, num={num}")
        noise = torch.randn(num, self.config.latent_dim, generator=generator, dtype=self.centre.dtype)
        z = self.centre + noise * self.spread
        states = state.reshape(1, -1).expand(num, -1)
        actions = self.decode(z, states)
        distance = self.distance_to_safe(states, actions)
        order = torch.argsort(distance)[:keep]
        return actions[order], distance[order]
