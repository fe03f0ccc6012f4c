"""Predictor inputs from raw signals: a fitted normalization and fixed-length windows.

Normalization is ``z = (asinh(x / s) - mu) / sd`` per signal, with ``s`` the median of ``|x|`` and ``mu``,
``sd`` the moments of ``asinh(x / s)`` on the training steps. Why asinh: variances and norms of the ensemble
span orders of magnitude between calm and failing steps; asinh is linear near 0 and logarithmic in the
tails, so a few extreme steps neither dominate the moments nor saturate the network.

Windows: the temporal model reads the last ``W`` valid steps; at the start of an episode the first step is
repeated. The same ``Normalizer`` and ``window_rows`` serve training (whole episodes) and the node (one step
at a time through ``StepWindow``), so the two cannot drift apart.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

_EPS = 1e-12


@dataclass(frozen=True)
class Normalizer:
    scale: np.ndarray  # (S,)
    mean: np.ndarray  # (S,)
    std: np.ndarray  # (S,)

    @classmethod
    def fit(cls, rows: np.ndarray) -> Normalizer:
        """Fit on (N, S) finite rows (the training steps)."""
        rows = np.asarray(rows, dtype=np.float64)
        if rows.ndim != 2 or rows.shape[0] < 2 or not np.all(np.isfinite(rows)):
            raise ValueError(f"Normalizer.fit needs (N >= 2, S) finite rows, got shape {rows.shape}")
        scale = np.median(np.abs(rows), axis=0) + _EPS
        squashed = np.arcsinh(rows / scale)
        return cls(scale, squashed.mean(axis=0), squashed.std(axis=0) + 1e-6)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return ((np.arcsinh(np.asarray(x, dtype=np.float64) / self.scale) - self.mean) / self.std).astype(
            np.float32
        )

    def as_dict(self) -> dict[str, list[float]]:
        return {"scale": self.scale.tolist(), "mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> Normalizer:
        return cls(*(np.asarray(d[k], dtype=np.float64) for k in ("scale", "mean", "std")))


def valid_rows(signals: np.ndarray) -> np.ndarray:
    """Steps whose signal row is all finite. Only these are predicted from and enter the windows, in
    training, evaluation and the node alike (the node withholds a prediction for any other row)."""
    return np.all(np.isfinite(np.asarray(signals, dtype=np.float64)), axis=1)


def window_rows(z: np.ndarray, window: int) -> np.ndarray:
    """(T, S) -> (T, W, S): row t holds steps t-W+1..t, the first step repeated before the start."""
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    pad = np.repeat(z[:1], window - 1, axis=0)
    padded = np.concatenate([pad, z], axis=0)
    idx = np.arange(len(z))[:, None] + np.arange(window)[None, :]
    return padded[idx]


class StepWindow:
    """The node's incremental version of ``window_rows`` over normalized rows."""

    def __init__(self, window: int) -> None:
        if window < 1:
            raise ValueError(f"window must be >= 1, got {window}")
        self.window = window
        self._rows: deque[np.ndarray] = deque(maxlen=window)

    def reset(self) -> None:
        self._rows.clear()

    def push(self, z_row: np.ndarray) -> np.ndarray:
        """Add one normalized row; returns the (W, S) window ending at it."""
        if not self._rows:
            self._rows.extend([z_row] * (self.window - 1))
        self._rows.append(z_row)
        return np.stack(self._rows)
