"""Synthetic episodes with a planted precursor: the failure type's signal ramps up before the onset.

Labels come from the real label code (salus_data.horizon_labels), so the predictor is trained on exactly
the definition the Zarr store uses.
"""

from __future__ import annotations

import numpy as np

from salus_common.names import FAILURE_TYPES, HORIZONS_S, SIGNAL_NAMES
from salus_data.horizon_labels import horizon_labels
from salus_monitor.core.episodes import Episode

RATE_HZ = 10.0
PRECURSOR_SIGNAL = {0: 0, 1: 3, 2: 6}  # failure type index -> signal index that ramps before the onset


def synthetic_episode(i: int, rng: np.random.Generator, outcome_index: int, steps: int = 60) -> Episode:
    """outcome_index -1 = success, else a FAILURE_TYPES index with an onset near the end."""
    t_ns = np.arange(1, steps + 1, dtype=np.int64) * 100_000_000
    signals = rng.lognormal(mean=-2.0, sigma=0.3, size=(steps, len(SIGNAL_NAMES))).astype(np.float32)
    signals[:2] = np.nan  # no signals before the first chunk, as in recordings
    onset = float("nan")
    if outcome_index >= 0:
        onset_step = int(rng.integers(steps - 20, steps - 2))
        onset = (onset_step + 1) / RATE_HZ
        ramp = np.clip((np.arange(steps) - (onset_step - 10)) / 10.0, 0.0, None)
        signals[:, PRECURSOR_SIGNAL[outcome_index]] += (2.0 * ramp).astype(np.float32)
    labels, post = horizon_labels(
        t_ns, None if np.isnan(onset) else onset, outcome_index, HORIZONS_S, RATE_HZ, len(FAILURE_TYPES)
    )
    outcome = "success" if outcome_index < 0 else FAILURE_TYPES[outcome_index]
    return Episode(
        episode_id=f"ep{i:06d}-seed{i}",
        seed=i,
        outcome=outcome,
        failure_type=outcome_index,
        onset_s=onset,
        perturbations=("push",) if i % 3 == 0 else ("action_noise",),
        t=t_ns / 1e9,
        signals=signals,
        labels=labels,
        post_onset=post,
        action=np.zeros((steps, 9), dtype=np.float32),
    )


def synthetic_episodes(n: int = 120, seed: int = 0) -> list[Episode]:
    rng = np.random.default_rng(seed)
    outcomes = [-1, -1, 0, 1, 2]  # 40 % success
    return [synthetic_episode(i, rng, outcomes[i % len(outcomes)]) for i in range(n)]
