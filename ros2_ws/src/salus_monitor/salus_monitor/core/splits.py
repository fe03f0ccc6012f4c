"""Episode-level splits for the failure predictor, seeded and stratified by outcome, plus SAFE's
"unseen task" protocol: every episode with one injection type goes to test, none of them to training.

Four parts: ``train`` (fit), ``val`` (early stopping, per-cell F1 thresholds), ``cal`` (conformal
calibration; only its successful episodes are used) and ``test`` (the report). Steps of one episode never
land in two parts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from salus_monitor.core.episodes import Episode

PARTS = ("train", "val", "cal", "test")
DEFAULT_FRACTIONS = (0.6, 0.1, 0.15, 0.15)


@dataclass(frozen=True)
class Split:
    """Episode ids per part, and what made them (stored in the checkpoint, so evaluation reuses them)."""

    train: tuple[str, ...]
    val: tuple[str, ...]
    cal: tuple[str, ...]
    test: tuple[str, ...]
    seed: int
    holdout_injection: str | None = None

    def part(self, name: str) -> tuple[str, ...]:
        return getattr(self, name)

    def as_dict(self) -> dict:
        return {
            "seed": self.seed,
            "holdout_injection": self.holdout_injection,
            **{p: list(self.part(p)) for p in PARTS},
        }

    @classmethod
    def from_dict(cls, d: dict) -> Split:
        return cls(
            **{p: tuple(d[p]) for p in PARTS}, seed=int(d["seed"]), holdout_injection=d["holdout_injection"]
        )


def _check_fractions(fractions: Sequence[float]) -> np.ndarray:
    f = np.asarray(fractions, dtype=np.float64)
    if f.shape != (4,) or np.any(f < 0) or not np.isclose(f.sum(), 1.0):
        raise ValueError(
            f"split fractions must be 4 non-negative numbers summing to 1, got {list(fractions)}"
        )
    return f


def _stratified(
    episodes: Sequence[Episode], fractions: np.ndarray, rng: np.random.Generator
) -> list[list[str]]:
    parts: list[list[str]] = [[] for _ in fractions]
    by_outcome: dict[str, list[str]] = {}
    for ep in sorted(episodes, key=lambda e: e.episode_id):
        by_outcome.setdefault(ep.outcome, []).append(ep.episode_id)
    for outcome in sorted(by_outcome):
        ids = by_outcome[outcome]
        order = rng.permutation(len(ids))
        bounds = np.round(np.cumsum(fractions) * len(ids)).astype(int)
        start = 0
        for i, end in enumerate(bounds):
            parts[i].extend(ids[j] for j in order[start:end])
            start = end
    return parts


def split_episodes(
    episodes: Sequence[Episode],
    seed: int = 0,
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
    holdout_injection: str | None = None,
) -> Split:
    """Seeded, outcome-stratified episode split. With ``holdout_injection``, every episode that has that
    injection is test data and the others are split into train/val/cal by the first three fractions."""
    f = _check_fractions(fractions)
    rng = np.random.default_rng(seed)
    if holdout_injection is None:
        train, val, cal, test = _stratified(episodes, f, rng)
    else:
        held = [ep for ep in episodes if holdout_injection in ep.perturbations]
        rest = [ep for ep in episodes if holdout_injection not in ep.perturbations]
        if not held:
            raise ValueError(f"no episode has the injection {holdout_injection!r} to hold out")
        train, val, cal = _stratified(rest, f[:3] / f[:3].sum(), rng)
        test = sorted(ep.episode_id for ep in held)
    return Split(tuple(train), tuple(val), tuple(cal), tuple(test), seed, holdout_injection)


def select(episodes: Sequence[Episode], ids: Sequence[str]) -> list[Episode]:
    """The episodes named in ``ids``, in the store's order; an id the store lacks is an error."""
    by_id = {ep.episode_id: ep for ep in episodes}
    missing = [i for i in ids if i not in by_id]
    if missing:
        raise ValueError(f"{len(missing)} episodes of the split are not in the store, e.g. {missing[:3]}")
    wanted = set(ids)
    return [ep for ep in episodes if ep.episode_id in wanted]
