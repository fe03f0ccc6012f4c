"""The safety filter's learned parts as one object: training, the checkpoint folder, and the decision.

Checkpoint folder: ``manifold.safetensors``, ``dynamics.safetensors`` and ``filter.json`` (configs, the
split it was trained on, training and validation metrics). :meth:`SafetyFilter.decide` is the whole
per-step decision once the predictor has said "intervene": candidates from the manifold (sampled around the
safe centre for the current state) plus the VLA's own K ensemble samples (free), scored by the MPC rollout,
the best one limited to the robot's joint range and per-step velocity.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from salus_common.joint_vector import limit_target
from salus_monitor.core.dynamics import DynamicsConfig, DynamicsModel, rmse_per_joint
from salus_monitor.core.episodes import Episode
from salus_monitor.core.filter_data import Triplets, mine_triplets, safe_pairs, transitions
from salus_monitor.core.manifold import ManifoldConfig, SafetyManifold
from salus_monitor.core.mpc import MpcConfig, score_candidates

CONFIG_FILE = "filter.json"
MANIFOLD_FILE = "manifold.safetensors"
DYNAMICS_FILE = "dynamics.safetensors"
FORMAT = "salus-safety-filter"


@dataclass
class FilterTrainConfig:
    unsafe_window_s: float = 1.0
    latent_dim: int = 8
    hidden: tuple[int, ...] = (128, 128)
    margin: float = 1.0
    epochs: int = 30
    batch_size: int = 512
    lr: float = 1e-3
    seed: int = 0


@dataclass(frozen=True)
class Decision:
    action: np.ndarray  # the limited target to command
    source: str  # "manifold" or "ensemble": where the chosen candidate came from
    candidates: int
    cost: float
    safe_distance: float  # of the chosen candidate, spread units
    limited: bool


def _t(x: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x, dtype=np.float32))


def triplet_accuracy(manifold: SafetyManifold, triplets: Triplets) -> float:
    """Share of triplets whose anchor is nearer the positive than the negative in latent space."""
    with torch.no_grad():
        za = manifold.encode(_t(triplets.anchor.state), _t(triplets.anchor.action))
        zp = manifold.encode(_t(triplets.positive.state), _t(triplets.positive.action))
        zn = manifold.encode(_t(triplets.negative.state), _t(triplets.negative.action))
        closer = torch.linalg.vector_norm(za - zp, dim=-1) < torch.linalg.vector_norm(za - zn, dim=-1)
    return float(closer.float().mean())


def _batches(n: int, size: int, generator: torch.Generator) -> list[torch.Tensor]:
    return list(torch.randperm(n, generator=generator).split(size))


def train_manifold(
    train: Triplets,
    safe_state: np.ndarray,
    safe_action: np.ndarray,
    cfg: FilterTrainConfig,
    progress: Callable[[int, dict], None] | None = None,
) -> tuple[SafetyManifold, list[dict]]:
    torch.manual_seed(cfg.seed)
    generator = torch.Generator().manual_seed(cfg.seed)
    j = train.anchor.state.shape[1]
    manifold = SafetyManifold(
        ManifoldConfig(j, train.anchor.action.shape[1], cfg.latent_dim, cfg.hidden, cfg.margin)
    )
    every_state = np.concatenate([train.anchor.state, train.negative.state])
    every_action = np.concatenate([train.anchor.action, train.negative.action])
    manifold.state_norm.fit(_t(every_state))
    manifold.action_norm.fit(_t(every_action))
    parts = [(_t(p.state), _t(p.action)) for p in (train.anchor, train.positive, train.negative)]
    optimizer = torch.optim.AdamW(manifold.parameters(), lr=cfg.lr, weight_decay=1e-4)
    history = []
    for epoch in range(cfg.epochs):
        sums: dict[str, float] = {}
        batches = _batches(len(train), cfg.batch_size, generator)
        for idx in batches:
            losses = manifold.losses(*((s[idx], a[idx]) for s, a in parts))
            optimizer.zero_grad()
            losses["total"].backward()
            optimizer.step()
            for key, value in losses.items():
                sums[key] = sums.get(key, 0.0) + value.item() / len(batches)
        history.append({"epoch": epoch + 1, **sums})
        if progress is not None:
            progress(epoch + 1, history[-1])
    manifold.eval()
    manifold.fit_safe_cluster(_t(safe_state), _t(safe_action))
    return manifold, history


def train_dynamics(
    episodes: Sequence[Episode], cfg: FilterTrainConfig, progress: Callable[[int, dict], None] | None = None
) -> tuple[DynamicsModel, list[dict]]:
    torch.manual_seed(cfg.seed)
    generator = torch.Generator().manual_seed(cfg.seed)
    data = transitions(episodes)
    s, a, nxt = _t(data.state), _t(data.action), _t(data.next_state)
    model = DynamicsModel(DynamicsConfig(s.shape[1], a.shape[1], cfg.hidden))
    model.fit_normalization(s, a, nxt)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=1e-4)
    history = []
    for epoch in range(cfg.epochs):
        total, batches = 0.0, _batches(len(s), cfg.batch_size, generator)
        for idx in batches:
            loss = model.loss(s[idx], a[idx], nxt[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() / len(batches)
        history.append({"epoch": epoch + 1, "loss": total})
        if progress is not None:
            progress(epoch + 1, history[-1])
    return model.eval(), history


def dynamics_errors(model: DynamicsModel, episodes: Sequence[Episode]) -> dict[str, list[float]]:
    """Per-joint RMSE of the next state on ``episodes``: the model and the two baselines."""
    data = transitions(episodes)
    s, a, nxt = _t(data.state), _t(data.action), _t(data.next_state)
    with torch.no_grad():
        predicted = model(s, a)
    return {
        "model": rmse_per_joint(predicted, nxt).tolist(),
        "persistence": rmse_per_joint(s, nxt).tolist(),
        "target": rmse_per_joint(a, nxt).tolist(),
    }


@dataclass
class SafetyFilter:
    manifold: SafetyManifold
    dynamics: DynamicsModel
    mpc: MpcConfig = field(default_factory=MpcConfig)
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def train(
        cls,
        episodes: Sequence[Episode],
        train_ids: set[str],
        val_ids: set[str],
        cfg: FilterTrainConfig,
        progress: Callable[[str, int, dict], None] | None = None,
    ) -> SafetyFilter:
        """Manifold and dynamics on the ``train_ids`` episodes; metrics on the ``val_ids`` ones.
        ``progress(part, epoch, record)`` is called after every epoch of each part."""
        train_eps = [ep for ep in episodes if ep.episode_id in train_ids]
        val_eps = [ep for ep in episodes if ep.episode_id in val_ids]
        triplets = mine_triplets(train_eps, cfg.unsafe_window_s)
        safe = safe_pairs(train_eps)

        def report(part: str) -> Callable[[int, dict], None] | None:
            return None if progress is None else lambda epoch, record: progress(part, epoch, record)

        manifold, manifold_history = train_manifold(
            triplets, safe.state, safe.action, cfg, report("manifold")
        )
        dynamics, dynamics_history = train_dynamics(train_eps, cfg, report("dynamics"))
        val_triplets = mine_triplets(val_eps, cfg.unsafe_window_s)
        with torch.no_grad():
            unsafe_d = manifold.distance_to_safe(
                _t(val_triplets.negative.state), _t(val_triplets.negative.action)
            )
            safe_d = manifold.distance_to_safe(_t(val_triplets.anchor.state), _t(val_triplets.anchor.action))
        extra = {
            "train_config": {**cfg.__dict__, "hidden": list(cfg.hidden)},
            "triplets": {"train": len(triplets), "val": len(val_triplets)},
            "val_triplet_accuracy": triplet_accuracy(manifold, val_triplets),
            "val_median_distance": {"safe": float(safe_d.median()), "unsafe": float(unsafe_d.median())},
            "val_dynamics_rmse": dynamics_errors(dynamics, val_eps),
            "history": {"manifold": manifold_history, "dynamics": dynamics_history},
            "train_episodes": sorted(train_ids),
            "val_episodes": sorted(val_ids),
        }
        return cls(manifold, dynamics, MpcConfig(), extra)

    # ------------------------------------------------------------------ persistence
    def save(self, folder: str | Path) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        save_file(dict(self.manifold.state_dict()), str(folder / MANIFOLD_FILE))
        save_file(dict(self.dynamics.state_dict()), str(folder / DYNAMICS_FILE))
        meta = {
            "format": FORMAT,
            "manifold": self.manifold.config.as_dict(),
            "dynamics": self.dynamics.config.as_dict(),
            "mpc": self.mpc.__dict__,
            **self.extra,
        }
        (folder / CONFIG_FILE).write_text(json.dumps(meta, indent=1) + "\n")
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> SafetyFilter:
        folder = Path(folder)
        files = [folder / name for name in (CONFIG_FILE, MANIFOLD_FILE, DYNAMICS_FILE)]
        missing = [f.name for f in files if not f.is_file()]
        if missing:
            raise FileNotFoundError(f"{folder}: missing {missing} (train with salus-train-filter)")
        meta = json.loads(files[0].read_text())
        if meta.get("format") != FORMAT:
            raise ValueError(f"{files[0]}: not a SALUS safety filter (format {meta.get('format')!r})")
        manifold = SafetyManifold(ManifoldConfig.from_dict(meta["manifold"]))
        manifold.load_state_dict(load_file(str(files[1])))
        dynamics = DynamicsModel(DynamicsConfig.from_dict(meta["dynamics"]))
        dynamics.load_state_dict(load_file(str(files[2])))
        known = {"format", "manifold", "dynamics", "mpc"}
        extra = {k: v for k, v in meta.items() if k not in known}
        return cls(manifold.eval(), dynamics.eval(), MpcConfig(**meta["mpc"]), extra)

    # ------------------------------------------------------------------ decision
    def decide(
        self,
        state: np.ndarray,
        proposal: np.ndarray,
        ensemble: np.ndarray,
        lower: np.ndarray,
        upper: np.ndarray,
        max_step: np.ndarray,
        num_samples: int = 64,
        keep: int = 16,
        generator: torch.Generator | None = None,
    ) -> Decision:
        """The replacement for a risky ``proposal`` (J,) from ``state`` (J,): the best-scored of ``keep``
        manifold candidates and the VLA's ``ensemble`` samples (K, J), limited to the joint range and the
        per-step velocity ``max_step`` from the current state."""
        manifold_actions, _ = self.manifold.candidates(_t(state), num_samples, keep, generator)
        ensemble = np.asarray(ensemble, dtype=np.float32).reshape(-1, len(proposal))
        candidates = np.concatenate([manifold_actions.numpy(), ensemble])
        scores = score_candidates(state, candidates, proposal, self.manifold, self.dynamics, self.mpc)
        best = scores.best
        target, limited = limit_target(candidates[best].astype(np.float64), state, lower, upper, max_step)
        return Decision(
            action=target,
            source="manifold" if best < keep else "ensemble",
            candidates=len(candidates),
            cost=float(scores.cost[best]),
            safe_distance=float(scores.safe[best]),
            limited=bool(limited),
        )
