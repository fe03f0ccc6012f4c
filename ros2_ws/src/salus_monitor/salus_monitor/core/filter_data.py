"""Training data of the safety filter from recorded episodes: triplets for the manifold, transitions for the
dynamics model. Pure numpy.

* **Unsafe** samples: the (state, executed action) pairs of failed episodes in the ``unsafe_window_s``
  before the failure's onset (what the robot did just before things went wrong).
* **Safe** samples: for each unsafe sample, the successful episodes' steps at the nearest states (Euclidean
  in joint space): what the robot did from nearly the same configuration when things went well.
* **Triplet**: anchor = the nearest safe sample, positive = the second nearest, negative = the unsafe one;
  the manifold learns to put the two safe actions together and the unsafe one away.
* **Transitions**: (state_t, action_t) -> state_{t+1} for every consecutive pair of steps before an onset.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from salus_monitor.core.episodes import Episode


@dataclass(frozen=True)
class Pairs:
    """(state, action) samples: (N, J) each."""

    state: np.ndarray
    action: np.ndarray

    def __len__(self) -> int:
        return len(self.state)


@dataclass(frozen=True)
class Triplets:
    anchor: Pairs
    positive: Pairs
    negative: Pairs

    def __len__(self) -> int:
        return len(self.anchor)


@dataclass(frozen=True)
class Transitions:
    state: np.ndarray  # (N, J)
    action: np.ndarray  # (N, J)
    next_state: np.ndarray  # (N, J)


def _state(ep: Episode) -> np.ndarray:
    if ep.state is None:
        raise ValueError(f"episode {ep.episode_id} has no joint states (load it with load_episodes)")
    return ep.state


def unsafe_pairs(episodes: Sequence[Episode], window_s: float = 1.0) -> Pairs:
    """Steps of failed episodes in ``[onset - window_s, onset)``."""
    states, actions = [], []
    for ep in episodes:
        if not ep.failed:
            continue
        keep = (ep.t >= ep.onset_s - window_s) & (ep.t < ep.onset_s) & ~ep.post_onset
        states.append(_state(ep)[keep])
        actions.append(ep.action[keep])
    return _stack(states, actions)


def safe_pairs(episodes: Sequence[Episode]) -> Pairs:
    """Every step of the successful episodes."""
    done = [ep for ep in episodes if not ep.failed]
    return _stack([_state(ep) for ep in done], [ep.action for ep in done])


def _stack(states: list[np.ndarray], actions: list[np.ndarray]) -> Pairs:
    if not states:
        return Pairs(np.zeros((0, 0), np.float32), np.zeros((0, 0), np.float32))
    return Pairs(np.concatenate(states).astype(np.float32), np.concatenate(actions).astype(np.float32))


def nearest(bank: np.ndarray, queries: np.ndarray, k: int = 2, block: int = 2048) -> np.ndarray:
    """(Q, k) indices of the ``k`` nearest rows of ``bank`` for each query (exact, in blocks)."""
    if len(bank) < k:
        raise ValueError(f"need at least {k} safe samples, got {len(bank)}")
    bank_sq = np.sum(bank.astype(np.float64) ** 2, axis=1)
    out = np.empty((len(queries), k), dtype=np.int64)
    for start in range(0, len(queries), block):
        q = queries[start : start + block].astype(np.float64)
        d = bank_sq[None, :] - 2.0 * q @ bank.T.astype(np.float64)  # + |q|^2, the same for every row
        part = np.argpartition(d, k - 1, axis=1)[:, :k]
        order = np.take_along_axis(d, part, axis=1).argsort(axis=1)
        out[start : start + block] = np.take_along_axis(part, order, axis=1)
    return out


def mine_triplets(episodes: Sequence[Episode], window_s: float = 1.0) -> Triplets:
    """Triplets (module docstring) from the episodes; raises ValueError without failures or successes."""
    unsafe, safe = unsafe_pairs(episodes, window_s), safe_pairs(episodes)
    if len(unsafe) == 0 or len(safe) < 2:
        raise ValueError(
            f"triplets need failed and successful episodes: {len(unsafe)} unsafe, {len(safe)} safe steps"
        )
    idx = nearest(safe.state, unsafe.state, k=2)
    pick = lambda i: Pairs(safe.state[idx[:, i]], safe.action[idx[:, i]])  # noqa: E731
    return Triplets(anchor=pick(0), positive=pick(1), negative=unsafe)


def transitions(episodes: Sequence[Episode]) -> Transitions:
    """Consecutive steps before any onset, all episodes."""
    states, actions, nexts = [], [], []
    for ep in episodes:
        state = _state(ep)
        ok = ~ep.post_onset[:-1] & ~ep.post_onset[1:]
        states.append(state[:-1][ok])
        actions.append(ep.action[:-1][ok])
        nexts.append(state[1:][ok])
    cat = lambda xs: np.concatenate(xs).astype(np.float32)  # noqa: E731
    return Transitions(cat(states), cat(actions), cat(nexts))
