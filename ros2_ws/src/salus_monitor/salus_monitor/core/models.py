"""The failure predictor's networks: logits of shape (B, horizons, failure types) from signal windows.

* ``mlp`` — the seed design, 12 -> 64 -> 128 -> 16: reads the last step of the window only. With no
  hidden layers it is a linear (logistic) probe, the report's baseline.
* ``gru`` — a temporal variant: a one-layer GRU over the window, then a linear head.

Both take (B, W, S) normalized windows, so the trainer, the evaluation and the node treat them alike.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

MODEL_KINDS = ("mlp", "gru")


@dataclass(frozen=True)
class ModelConfig:
    kind: str = "mlp"
    num_signals: int = 12
    num_horizons: int = 4
    num_types: int = 4
    window: int = 1
    hidden: tuple[int, ...] = (64, 128)
    dropout: float = 0.1

    def __post_init__(self) -> None:
        if self.kind not in MODEL_KINDS:
            raise ValueError(f"model kind {self.kind!r} is not one of {MODEL_KINDS}")
        if self.window < 1 or self.num_signals < 1 or (self.kind == "gru" and not self.hidden):
            raise ValueError(f"bad model config {self}")

    def as_dict(self) -> dict:
        d = asdict(self)
        d["hidden"] = list(self.hidden)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> ModelConfig:
        return cls(**{**d, "hidden": tuple(d["hidden"])})


class SignalMLP(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = cfg.num_signals
        for h in cfg.hidden:
            layers += [nn.Linear(width, h), nn.ReLU(), nn.Dropout(cfg.dropout)]
            width = h
        layers.append(nn.Linear(width, cfg.num_horizons * cfg.num_types))
        self.net = nn.Sequential(*layers)
        self.out_shape = (cfg.num_horizons, cfg.num_types)

    def forward(self, windows: torch.Tensor) -> torch.Tensor:
        return self.net(windows[:, -1]).view(-1, *self.out_shape)


class SignalGRU(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.gru = nn.GRU(cfg.num_signals, cfg.hidden[0], batch_first=True)
        self.head = nn.Sequential(
            nn.Dropout(cfg.dropout), nn.Linear(cfg.hidden[0], cfg.num_horizons * cfg.num_types)
        )
        self.out_shape = (cfg.num_horizons, cfg.num_types)

    def forward(self, windows: torch.Tensor) -> torch.Tensor:
        _, last = self.gru(windows)
        return self.head(last[-1]).view(-1, *self.out_shape)


def build_model(cfg: ModelConfig) -> nn.Module:
    return SignalMLP(cfg) if cfg.kind == "mlp" else SignalGRU(cfg)


def focal_loss(
    logits: torch.Tensor, targets: torch.Tensor, type_weights: torch.Tensor, gamma: float = 2.0
) -> torch.Tensor:
    """Sigmoid focal loss (Lin et al. 2017) per (horizon, type) cell, averaged.

    ``type_weights`` (K,) scales the positive term of each failure type (rare types get more), the
    negative term keeps weight 1; ``gamma`` down-weights the many easy negatives of calm steps."""
    p = torch.sigmoid(logits)
    bce = nn.functional.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    weight = targets * type_weights.view(1, 1, -1) + (1 - targets)
    return (weight * (1 - p_t).pow(gamma) * bce).mean()


def positive_type_weights(labels: torch.Tensor, max_weight: float = 20.0) -> torch.Tensor:
    """Per-type weight = (negatives / positives) ** 0.5 over (N, H, K) labels, clipped to
    [1, max_weight]; the square root keeps rare types from swamping the loss."""
    pos = labels.float().sum(dim=(0, 1))
    neg = labels[:, :, :].numel() / labels.shape[-1] - pos
    w = torch.sqrt(neg / pos.clamp(min=1.0))
    return w.clamp(1.0, max_weight)
