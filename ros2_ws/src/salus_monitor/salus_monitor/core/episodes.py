"""Episodes of a SALUS Zarr store (``salus-bag2zarr``) as the failure predictor sees them: signals, labels,
outcome and onset per episode. Reads only the small arrays (never the camera frames)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from salus_common.names import EXTENDED_SIGNAL_NAMES, FAILURE_TYPES, HORIZONS_S, SIGNAL_NAMES


class StoreError(ValueError):
    """A store that is not a SALUS replay buffer, or holds no episode the predictor can use."""


@dataclass(frozen=True)
class Episode:
    """One recorded episode; arrays are per control step (T rows)."""

    episode_id: str
    seed: int
    outcome: str
    failure_type: int  # index into FAILURE_TYPES, -1 for success
    onset_s: float  # NaN for success
    perturbations: tuple[str, ...]
    t: np.ndarray  # (T,) seconds since the start event
    signals: np.ndarray  # (T, S) float32; NaN rows where the VLA published no signals
    labels: np.ndarray  # (T, H, K) uint8
    post_onset: np.ndarray  # (T,) bool
    action: np.ndarray  # (T, J) executed joint targets
    embedding: np.ndarray | None = None  # (T, D) float32 prefix embedding, when loaded and recorded
    state: np.ndarray | None = None  # (T, J) measured joint positions (the safety filter's observation)

    @property
    def failed(self) -> bool:
        return self.failure_type >= 0


@dataclass(frozen=True)
class StoreInfo:
    signal_names: tuple[str, ...]
    failure_types: tuple[str, ...]
    horizons_s: tuple[float, ...]
    control_rate_hz: float


def _strings(array) -> list[str]:
    return [str(v) for v in array[:]]


def load_episodes(store: str | Path, embedding: bool = False) -> tuple[list[Episode], StoreInfo]:
    """Every episode of ``store`` that has SALUS signals, with the store's names checked against ours.

    Signals are the 12 and, in stores recorded with the extended signals, those after them. With
    ``embedding``, the prefix embedding too (None where the store has none).
    """
    import zarr  # imported here so that the pure modules stay importable without zarr

    path = Path(store)
    if not path.exists():
        raise StoreError(f"{path}: no such Zarr store (make one with salus-bag2zarr)")
    try:
        root = zarr.open_consolidated(str(path), mode="r")
    except Exception as exc:  # zarr raises several types for a folder that is not a store
        raise StoreError(f"{path}: not a consolidated Zarr store ({exc})") from exc
    attrs = dict(root.attrs)
    if attrs.get("format") != "salus-replay-buffer":
        raise StoreError(f"{path}: format {attrs.get('format')!r} is not 'salus-replay-buffer'")
    info = StoreInfo(
        signal_names=tuple(attrs["signal_names"]),
        failure_types=tuple(attrs["failure_types"]),
        horizons_s=tuple(float(h) for h in attrs["horizons_s"]),
        control_rate_hz=float(attrs["control_rate_hz"]),
    )
    names = info.signal_names
    extended_ok = all(n in EXTENDED_SIGNAL_NAMES for n in names[len(SIGNAL_NAMES) :])
    if names[: len(SIGNAL_NAMES)] != SIGNAL_NAMES or not extended_ok or info.failure_types != FAILURE_TYPES:
        raise StoreError(
            f"{path}: signal names {info.signal_names} / failure types {info.failure_types} differ from "
            f"salus_common.names"
        )
    if tuple(info.horizons_s) != tuple(HORIZONS_S):
        raise StoreError(f"{path}: horizons {info.horizons_s} differ from salus_common.names {HORIZONS_S}")
    meta, data = root["meta"], root["data"]
    ends = meta["episode_ends"][:]
    starts = np.concatenate([[0], ends[:-1]])
    has_signals = meta["has_signals"][:]
    signals, labels, post_onset, t, action, state = (
        data["signals"][:],
        data["labels"][:],
        data["post_onset"][:],
        data["t"][:],
        data["action"][:],
        data["state"][:],
    )
    embeddings = (
        data["prefix_embedding"][:] if embedding and "prefix_embedding" in data.array_keys() else None
    )
    ids, outcomes, perturbations = (
        _strings(meta["episode_id"]),
        _strings(meta["outcome"]),
        _strings(meta["perturbations"]),
    )
    seeds, failure_types, onsets = meta["seed"][:], meta["failure_type"][:], meta["failure_onset_s"][:]
    episodes = []
    for e, (a, b) in enumerate(zip(starts, ends, strict=True)):
        if not has_signals[e]:
            continue
        episodes.append(
            Episode(
                episode_id=ids[e],
                seed=int(seeds[e]),
                outcome=outcomes[e],
                failure_type=int(failure_types[e]),
                onset_s=float(onsets[e]),
                perturbations=tuple(json.loads(perturbations[e])),
                t=t[a:b],
                signals=signals[a:b].astype(np.float32),
                labels=labels[a:b],
                post_onset=post_onset[a:b],
                action=action[a:b],
                state=state[a:b],
                embedding=None if embeddings is None else embeddings[a:b].astype(np.float32),
            )
        )
    if not episodes:
        raise StoreError(f"{path}: no episode with SALUS signals (was it recorded with policy:=vla?)")
    return episodes, info


def outcome_counts(episodes: list[Episode]) -> dict[str, int]:
    """Episodes per outcome, in OUTCOMES order of first appearance."""
    counts: dict[str, int] = {}
    for ep in episodes:
        counts[ep.outcome] = counts.get(ep.outcome, 0) + 1
    return counts


def scenario_name(episode: Episode) -> str:
    """``none`` or the injected types joined by ``+`` (sorted), as salus-collect names scenarios."""
    return "+".join(sorted(episode.perturbations)) or "none"
