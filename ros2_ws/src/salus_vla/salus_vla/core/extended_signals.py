"""The optional extended SALUS signals, per control step, in pure numpy (``EXTENDED_SIGNAL_NAMES`` order).

Cheap signals the recent failure-prediction literature found strong, computed beside the 12 of
:mod:`salus_vla.core.signals` (which stay unchanged). Notation as there: ``m_c[i]`` is the ensemble mean of
action ``i`` of chunk ``c``; ``u_t`` the commanded target of control step ``t`` (cross-faded at a switch).

1. ``chunk_disagreement`` — at a chunk switch, the mean over the steps where the new chunk and the old one
   overlap (the old chunk's not yet executed actions) of ``||m_new[i] - m_old[j]||_2``, both aligned to the
   same control steps; held for the new chunk's steps, 0 for the first chunk (VLA-FAIL's inter-chunk
   disagreement: a policy that changes its mind about the same future) [rad; finger dims in m].
2. ``reversal_rate`` — over the last ``reversal_window`` steps, the share of consecutive commanded joint
   velocities ``u_t - u_{t-1}`` (per joint, both above ``deadband`` in magnitude) whose sign flipped: a
   dithering arm (SafeContract finds direction reversals more telling than jerk) [1, in 0..1].
3. ``hidden_mahalanobis`` — ``sqrt((h - mu)^T P (h - mu))`` of the chunk's prefix embedding ``h`` (the
   mean over valid prefix tokens of the final prefix hidden state) under :class:`HiddenStats` fitted on
   nominal operation (``salus-fit-hidden-stats``): how far the VLA's view of the scene is from what it
   saw when things went well [unitless; about sqrt(D) in distribution].
4. ``episode_time`` — ``t * control_dt`` for control step ``t`` since the episode's first step [s]: the
   context the ``timeout`` type depends on (a slow grasp at 2 s is not a slow grasp at 28 s).
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from salus_common.names import EXTENDED_SIGNAL_NAMES

HIDDEN_STATS_FILE = "salus_hidden_stats.safetensors"


@dataclass(frozen=True)
class HiddenStats:
    """Mean and (shrunk) precision of the prefix embedding in nominal operation."""

    mean: np.ndarray  # (D,)
    precision: np.ndarray  # (D, D)
    shrinkage: float  # Ledoit-Wolf weight of the scaled identity, in [0, 1]
    samples: int
    info: dict[str, Any]

    @classmethod
    def fit(cls, rows: np.ndarray, info: dict[str, Any] | None = None) -> HiddenStats:
        """Fit on (N, D) embeddings with the Ledoit-Wolf (2004) shrinkage towards ``trace(S)/D * I``.

        Why shrinkage: a few hundred chunks give a singular sample covariance in D = 384 (SmolVLM-tiny) or
        960 (SmolVLM2-500M) dimensions; the optimal linear shrinkage makes it invertible and well-conditioned
        without a tuning knob.
        """
        x = np.asarray(rows, dtype=np.float64)
        if x.ndim != 2 or x.shape[0] < 2 or not np.all(np.isfinite(x)):
            raise ValueError(f"HiddenStats.fit needs (N >= 2, D) finite rows, got shape {x.shape}")
        n, d = x.shape
        mean = x.mean(axis=0)
        xc = x - mean
        cov = xc.T @ xc / n
        mu = np.trace(cov) / d
        target_gap = float(np.sum((cov - mu * np.eye(d)) ** 2)) / d
        norms = np.sum(xc**2, axis=1)
        spread = float(np.sum(norms**2 - 2.0 * np.einsum("ni,ij,nj->n", xc, cov, xc)) + n * np.sum(cov**2))
        spread = spread / (n * n) / d
        shrinkage = 1.0 if target_gap <= 0 else min(max(spread, 0.0), target_gap) / target_gap
        shrunk = shrinkage * mu * np.eye(d) + (1.0 - shrinkage) * cov
        precision = np.linalg.inv(shrunk)
        return cls(mean, precision, float(shrinkage), n, dict(info or {}))

    def distance(self, embedding: np.ndarray) -> float:
        vector = np.asarray(embedding, dtype=np.float64).reshape(-1)
        if vector.shape != self.mean.shape:
            raise ValueError(f"embedding of {vector.size} features, the statistics have {self.mean.size}")
        diff = vector - self.mean
        return float(np.sqrt(max(diff @ self.precision @ diff, 0.0)))

    @property
    def dim(self) -> int:
        return int(self.mean.size)

    def save(self, path: str | Path) -> Path:
        from safetensors.numpy import save_file

        path = Path(path)
        meta = {"shrinkage": str(self.shrinkage), "samples": str(self.samples), "info": json.dumps(self.info)}
        save_file(
            {"mean": self.mean.astype(np.float64), "precision": self.precision.astype(np.float32)},
            str(path),
            metadata=meta,
        )
        return path

    @classmethod
    def load(cls, path: str | Path) -> HiddenStats:
        from safetensors import safe_open

        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(
                f"{path}: no hidden-state statistics (fit them with salus-fit-hidden-stats, or switch the "
                "extended signals off)"
            )
        with safe_open(str(path), framework="numpy") as f:
            meta = f.metadata() or {}
            mean, precision = f.get_tensor("mean"), f.get_tensor("precision")
        if precision.shape != (mean.size, mean.size):
            raise ValueError(f"{path}: precision {precision.shape} does not fit a mean of {mean.size}")
        shrinkage, samples = float(meta.get("shrinkage", "nan")), int(meta.get("samples", "0"))
        return cls(mean, precision.astype(np.float64), shrinkage, samples, json.loads(meta.get("info", "{}")))


def hidden_stats_path(checkpoint: str | Path) -> Path:
    """Where a checkpoint folder keeps its statistics (beside ``model.safetensors``)."""
    return Path(checkpoint) / HIDDEN_STATS_FILE


class ExtendedSignalExtractor:
    """Stateful per-episode extraction of the extended signals (definitions in the module docstring)."""

    names: tuple[str, ...] = EXTENDED_SIGNAL_NAMES

    def __init__(
        self,
        stats: HiddenStats,
        control_dt: float,
        reversal_window: int = 10,
        deadband: float = 1e-3,
    ) -> None:
        if reversal_window < 2:
            raise ValueError(f"reversal_window must be >= 2, got {reversal_window}")
        if control_dt <= 0:
            raise ValueError(f"control_dt must be > 0, got {control_dt}")
        self.stats = stats
        self.control_dt = float(control_dt)
        self.reversal_window = int(reversal_window)
        self.deadband = float(deadband)
        self.reset()

    def reset(self) -> None:
        """Forget the episode's history (call at episode start)."""
        self._chunk: Any = None
        self._chunk_mean: np.ndarray | None = None
        self._index: int | None = None  # index into the current chunk at the last update
        self._step: int | None = None  # control step of the last update
        self._disagreement = 0.0
        self._mahalanobis = 0.0
        self._commands: deque[np.ndarray] = deque(maxlen=self.reversal_window + 1)
        self._first_step: int | None = None

    def _on_new_chunk(
        self, chunk: Any, mean: np.ndarray, index: int, step: int, embedding: np.ndarray
    ) -> None:
        disagreement = 0.0
        if self._chunk_mean is not None and self._index is not None and self._step is not None:
            old_index = self._index + (step - self._step)  # the old chunk's action for this step
            overlap = min(len(self._chunk_mean) - old_index, len(mean) - index)
            if overlap > 0 and old_index >= 0:
                gap = mean[index : index + overlap] - self._chunk_mean[old_index : old_index + overlap]
                disagreement = float(np.linalg.norm(gap, axis=1).mean())
        self._disagreement = disagreement
        self._mahalanobis = self.stats.distance(embedding)
        self._chunk, self._chunk_mean = chunk, mean

    def _reversal_rate(self) -> float:
        if len(self._commands) < 3:
            return 0.0
        velocity = np.diff(np.stack(self._commands), axis=0)  # (n, D)
        moving = np.abs(velocity) > self.deadband
        sign = np.sign(velocity)
        both = moving[1:] & moving[:-1]
        pairs = int(both.sum())
        if pairs == 0:
            return 0.0
        return float(np.count_nonzero((sign[1:] * sign[:-1] < 0) & both) / pairs)

    def update(
        self, chunk: Any, step_in_chunk: int, command: np.ndarray, step: int, embedding: np.ndarray
    ) -> np.ndarray:
        """The extended signals (float64, ``EXTENDED_SIGNAL_NAMES`` order) at control step ``step``.

        ``chunk`` has ``samples`` (K, chunk, D); ``command`` is the step's commanded target and
        ``embedding`` the chunk's prefix embedding (``SignalExtractor.prefix_embedding``).
        """
        command = np.asarray(command, dtype=np.float64).reshape(-1)
        if not np.all(np.isfinite(command)):
            raise ValueError("command holds non-finite values")
        if chunk is not self._chunk:
            mean = np.asarray(chunk.samples, dtype=np.float64).mean(axis=0)
            self._on_new_chunk(chunk, mean, int(step_in_chunk), int(step), embedding)
        self._index, self._step = int(step_in_chunk), int(step)
        if self._first_step is None:
            self._first_step = int(step)
        self._commands.append(command)
        out = np.empty(len(self.names), dtype=np.float64)
        out[0] = self._disagreement
        out[1] = self._reversal_rate()
        out[2] = self._mahalanobis
        out[3] = (int(step) - self._first_step) * self.control_dt
        return out
