"""Helpers of the salus_vla tests: synthetic observations and normalisation statistics for our robot."""

from __future__ import annotations

import numpy as np

# 7 Panda joints + 2 fingers: the nominal "ready" pose the synthetic observations scatter around.
Q_READY = np.array([0.0, -0.785, 0.0, -2.356, 0.0, 1.571, 0.785, 0.04, 0.04], dtype=np.float32)
TASK = "pick up the red cube and place it in the bin"


def action_stats(scale: float = 0.5) -> dict:
    """Normalisation statistics for a random policy: state around Q_READY, actions with std ``scale``."""
    import torch

    q = torch.from_numpy(Q_READY)
    return {
        "observation.state": {"mean": q.clone(), "std": torch.full((9,), 0.2)},
        "action": {"mean": q.clone(), "std": torch.full((9,), scale)},
    }


def observation(seed: int = 0, hw: tuple[int, int] = (72, 96)) -> dict:
    """A raw observation: two random uint8 frames of size ``hw``, a state near Q_READY, the task."""
    from salus_vla.core.ensemble import make_observation

    rng = np.random.default_rng(seed)
    frames = {name: rng.integers(0, 256, (*hw, 3), dtype=np.uint8) for name in ("front", "wrist")}
    state = Q_READY + rng.normal(0.0, 0.1, 9).astype(np.float32)
    return make_observation(frames, state, TASK)


def write_hidden_stats(checkpoint, backbone_dir, seed: int = 0):
    """Statistics for the hidden_mahalanobis signal of an untrained checkpoint: random rows of the width of
    the backbone's text model (the prefix embedding's width). Trained checkpoints fit real ones with
    salus-fit-hidden-stats."""
    import json
    from pathlib import Path

    from salus_vla.core.extended_signals import HiddenStats, hidden_stats_path

    config = json.loads((Path(backbone_dir) / "config.json").read_text())
    rows = np.random.default_rng(seed).normal(size=(64, int(config["text_config"]["hidden_size"])))
    return HiddenStats.fit(rows, {"note": "random rows for tests"}).save(hidden_stats_path(checkpoint))
