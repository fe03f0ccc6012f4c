"""The 12 SALUS runtime signals, from one ensemble chunk and the robot's state, in pure numpy.

The VLA is queried once per chunk; the robot executes the chunk's actions one control step at a time.
:meth:`SignalExtractor.update` is called once per control step with the chunk in use, the index of the
action being executed (``step_in_chunk``) and the current joint state, and returns the 12 signals in
``SIGNAL_NAMES`` order. Notation at an update: ``a_k`` = ``samples[k, step_in_chunk]`` (k = 1..K, the
ensemble's actions for this step), ``m = mean_k a_k`` (the mean action), ``s`` = current state.

1. ``action_variance`` — ``mean_d var_k a_k[d]`` over all action dims d (population variance over the
   K samples) [rad^2; the finger dims are in m^2 and contribute little].
2. ``attention_entropy`` — mean over VLM layers of ``chunk.attention_entropy`` (per layer: the mean entropy
   of the prefix attention distributions over heads and valid query tokens) [nats].
3. ``attention_change`` — ``|H - H_prev|``, H = signal 2 of this chunk, H_prev = signal 2 of the previous
   chunk of the episode; held for all steps of a chunk [nats].
4. ``hidden_state_norm`` — L2 norm of the mean over valid prefix tokens of the VLM's final prefix hidden
   state (``chunk.prefix_hidden``, tokens x features).
5. ``hidden_state_variance`` — mean over features of the variance across valid prefix tokens of that
   hidden state (how different the tokens' representations are).
6. ``action_magnitude`` — ``||m - s||_2`` over the dims action and state share (joint targets vs joint
   positions) [rad].
7. ``action_change`` — ``||m - m_prev||_2``, m_prev = the mean action of the previous update [rad].
8. ``trajectory_divergence`` — ``||m - mean(m_{t-W} .. m_{t-1})||_2``, the distance of the mean action
   from the average of the last W (``window``) mean actions of the episode [rad].
9-12. ``joint{1..4}_variance`` — ``var_k a_k[j]`` for joints j = 1..4 [rad^2].

Signals 2-5 describe the chunk (one VLA pass) and stay constant while its actions are executed. Right after
:meth:`reset` (episode start) there is no history: ``attention_change``, ``action_change`` and
``trajectory_divergence`` are 0 at the first update ("no change observed yet"), and signal 3 stays 0 for the
whole first chunk. Every output is finite: non-finite inputs raise ValueError instead (a VLA producing
NaN/inf is a fault for the caller to handle, not a signal value). A chunk is "new" when a different chunk
object than at the previous update is passed.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Protocol

import numpy as np

from salus_common.names import NUM_SIGNALS, SIGNAL_NAMES

NUM_VARIANCE_JOINTS = 4


class ChunkLike(Protocol):
    """What the extractor reads from a chunk (``EnsembleChunk`` has these, numpy arrays)."""

    samples: np.ndarray  # (K, chunk_size, action_dim)
    attention_entropy: np.ndarray  # (num_layers,)
    prefix_hidden: np.ndarray  # (num_tokens, hidden)


def _finite(name: str, arr: np.ndarray) -> np.ndarray:
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} holds non-finite values")
    return arr


class SignalExtractor:
    """Stateful per-episode extraction of the 12 signals (definitions in the module docstring).

    Args:
        window: W, the number of previous mean actions the trajectory divergence averages (>= 1).
    """

    names: tuple[str, ...] = SIGNAL_NAMES

    def __init__(self, window: int = 10) -> None:
        if int(window) < 1:
            raise ValueError(f"window must be >= 1, got {window}")
        self.window = int(window)
        self.reset()

    def reset(self) -> None:
        """Forget the episode's history (call at episode start)."""
        self._recent: deque[np.ndarray] = deque(maxlen=self.window)
        self._prev_mean: np.ndarray | None = None
        self._chunk: Any = None
        self._chunk_signals: tuple[float, float, float, float] | None = None
        self._prev_entropy: float | None = None
        # The current chunk's prefix embedding (mean over valid tokens of the final prefix hidden state):
        # signal 4 is its norm; the extended signals and offline probes read the vector itself.
        self.prefix_embedding: np.ndarray | None = None

    def _chunk_level(self, chunk: ChunkLike) -> tuple[float, float, float, float]:
        """(attention entropy, attention change, hidden norm, hidden variance) of a new chunk."""
        entropy_per_layer = _finite(
            "attention_entropy", np.asarray(chunk.attention_entropy, dtype=np.float64)
        )
        if entropy_per_layer.size == 0:
            raise ValueError("attention_entropy is empty")
        entropy = float(entropy_per_layer.mean())
        change = 0.0 if self._prev_entropy is None else abs(entropy - self._prev_entropy)
        self._prev_entropy = entropy
        hidden = _finite("prefix_hidden", np.asarray(chunk.prefix_hidden, dtype=np.float64))
        if hidden.ndim != 2 or hidden.shape[0] == 0:
            raise ValueError(f"prefix_hidden must be (tokens, features) with tokens >= 1, got {hidden.shape}")
        self.prefix_embedding = hidden.mean(axis=0)
        norm = float(np.linalg.norm(self.prefix_embedding))
        variance = float(hidden.var(axis=0).mean())
        return entropy, change, norm, variance

    def update(self, chunk: ChunkLike, step_in_chunk: int, current_state: np.ndarray) -> np.ndarray:
        """The 12 signals (float64, ``SIGNAL_NAMES`` order) while executing action ``step_in_chunk``.

        Raises:
            ValueError: bad shapes, ``step_in_chunk`` outside the chunk, or non-finite inputs.
        """
        samples = np.asarray(chunk.samples, dtype=np.float64)
        if samples.ndim != 3 or samples.shape[0] < 1:
            raise ValueError(f"samples must be (K, chunk_size, action_dim), got shape {samples.shape}")
        k, horizon, action_dim = samples.shape
        if not 0 <= int(step_in_chunk) < horizon:
            raise ValueError(f"step_in_chunk {step_in_chunk} outside the chunk of {horizon} steps")
        if action_dim < NUM_VARIANCE_JOINTS:
            raise ValueError(f"need at least {NUM_VARIANCE_JOINTS} action dims, got {action_dim}")
        state = _finite("current_state", np.asarray(current_state, dtype=np.float64).reshape(-1))
        actions = _finite("samples", samples[:, int(step_in_chunk), :])  # (K, action_dim)

        if chunk is not self._chunk or self._chunk_signals is None:
            self._chunk_signals = self._chunk_level(chunk)
            self._chunk = chunk
        entropy, entropy_change, hidden_norm, hidden_var = self._chunk_signals

        per_dim_var = actions.var(axis=0)
        mean_action = actions.mean(axis=0)
        shared = min(action_dim, state.shape[0])
        magnitude = float(np.linalg.norm(mean_action[:shared] - state[:shared]))
        change = 0.0 if self._prev_mean is None else float(np.linalg.norm(mean_action - self._prev_mean))
        divergence = 0.0
        if self._recent:
            divergence = float(np.linalg.norm(mean_action - np.mean(np.stack(self._recent), axis=0)))
        self._prev_mean = mean_action
        self._recent.append(mean_action)

        out = np.empty(NUM_SIGNALS, dtype=np.float64)
        out[0] = per_dim_var.mean()
        out[1] = entropy
        out[2] = entropy_change
        out[3] = hidden_norm
        out[4] = hidden_var
        out[5] = magnitude
        out[6] = change
        out[7] = divergence
        out[8 : 8 + NUM_VARIANCE_JOINTS] = per_dim_var[:NUM_VARIANCE_JOINTS]
        return out

    def as_dict(self, signals: np.ndarray) -> dict[str, float]:
        """``{name: value}`` for a signal vector returned by :meth:`update`."""
        return dict(zip(self.names, (float(v) for v in signals), strict=True))
