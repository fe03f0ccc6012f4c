"""One episode's control-step grid: every stream of a bag episode aligned to the steps, with labels.

Both exports of a bag (``salus-bag2zarr`` and ``salus-bag2lerobot``) see an episode through
:func:`align_episode`, so their steps are the same: the observations stamped in ``(S, E]`` (start and end
event stamps), one per control period ``dt`` (the median spacing of ``/joint_states`` stamps; the control
rate is ``1/dt``). A step whose message is missing on a stream takes the previous step's value (images,
state, velocity, action; the first step takes the next one) and is counted in ``fills``; proposal and
signal rows stay NaN. Pixels stay in the :class:`~salus_data.bag_reader.EpisodeData`: an
:class:`EpisodeSteps` says which image message each step shows. Pure numpy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from salus_common.contract import JOINT_COMMAND_TOPIC, JOINT_STATES_TOPIC
from salus_common.names import NUM_SIGNALS
from salus_data.bag_reader import EpisodeData, Stream
from salus_data.horizon_labels import horizon_labels
from salus_data.zarr_layout import PREFIX_EMBEDDING_KEY, image_key

MATCH_FRACTION = 0.25  # a message matches a step if its stamp is within this fraction of dt


@dataclass
class EpisodeSteps:
    """One episode on its control-step grid: per-step arrays and labels, provenance, and for each camera
    which image message each step shows (the pixels themselves stay with the episode's messages)."""

    bag: str
    episode_id: str
    seed: int
    outcome: str
    failure_type: int
    failure_onset_s: float
    duration_s: float
    perturbations: list[str]
    perturbation_params_json: str
    control_rate_hz: float
    metadata_json: str
    recorder_json: str
    cameras: list[str]
    image_shapes: dict[str, list[int]]
    image_index: dict[str, np.ndarray]  # camera -> (T,) index into the episode's image messages
    image_stamps: dict[str, np.ndarray]  # camera -> (T,) header stamp of that message [ns]
    arrays: dict[str, np.ndarray]  # data/<key> -> (T, ...) for every non-image key
    fills: dict[str, int]
    joint_names: list[str]
    signal_names: list[str]
    has_proposal: bool
    has_signals: bool
    start_ns: int
    end_ns: int

    @property
    def steps(self) -> int:
        return int(self.arrays["t"].shape[0])


def control_period_ns(stamps: np.ndarray) -> int:
    """The control period: median spacing of consecutive distinct stamps [ns]."""
    diffs = np.diff(np.unique(stamps))
    if diffs.size == 0:
        raise ValueError("fewer than two joint states: cannot tell the control rate")
    return int(np.median(diffs))


def match_steps(grid: np.ndarray, stamps: np.ndarray, tolerance_ns: float) -> np.ndarray:
    """Per grid step, the index of the message stamped within ``tolerance_ns`` of it, else -1."""
    if stamps.size == 0:
        return np.full(grid.shape, -1, dtype=np.int64)
    pos = np.clip(np.searchsorted(stamps, grid), 0, stamps.size - 1)
    before = np.clip(pos - 1, 0, stamps.size - 1)
    nearest = np.where(np.abs(stamps[before] - grid) < np.abs(stamps[pos] - grid), before, pos)
    ok = np.abs(stamps[nearest] - grid) <= tolerance_ns
    return np.where(ok, nearest, -1)


def fill_hold(index: np.ndarray) -> tuple[np.ndarray, int]:
    """Replace -1 by the previous valid index (the next one before the first); how many were filled."""
    missing = int(np.count_nonzero(index < 0))
    if missing == 0 or missing == index.size:
        return index, missing
    out = index.copy()
    valid = np.flatnonzero(out >= 0)
    out[: valid[0]] = out[valid[0]]
    last = out[valid[0]]
    for i in range(valid[0], out.size):
        if out[i] < 0:
            out[i] = last
        else:
            last = out[i]
    return out, missing


def _rows(stream: Stream, index: np.ndarray, width: int) -> np.ndarray:
    """Stream values at ``index`` as float32 rows; NaN rows where index is -1."""
    out = np.full((index.size, width), np.nan, dtype=np.float32)
    if stream.empty:
        return out
    values = np.asarray(stream.stack(width), dtype=np.float32)
    ok = index >= 0
    out[ok] = values[index[ok]]
    return out


def align_episode(
    episode: EpisodeData,
    horizons_s: Sequence[float],
    failure_types: Sequence[str],
) -> EpisodeSteps:
    """Align every stream of ``episode`` to its control steps and label them (module docstring)."""
    info = episode.info
    dt = control_period_ns(episode.state.stamps)
    rate = 1e9 / dt
    steps = int(round((info.end_ns - info.start_ns) / dt))
    if steps < 1:
        raise ValueError(f"episode {info.episode_id} is shorter than one control step")
    ideal = info.start_ns + dt * np.arange(1, steps + 1, dtype=np.int64)
    tolerance = dt * MATCH_FRACTION
    state_index = match_steps(ideal, episode.state.stamps, tolerance)
    grid = np.where(state_index >= 0, episode.state.stamps[np.maximum(state_index, 0)], ideal)
    fills: dict[str, int] = {}

    def held(key: str, index: np.ndarray, what: str) -> np.ndarray:
        index, fills[key] = fill_hold(index)
        if fills[key] == steps:
            raise ValueError(f"episode {info.episode_id}: no {what} matches any of its {steps} steps")
        return index

    state_index = held("state", state_index, JOINT_STATES_TOPIC)
    if episode.action.empty:
        raise ValueError(f"episode {info.episode_id}: no {JOINT_COMMAND_TOPIC} inside the episode")
    action_index = held("action", match_steps(grid, episode.action.stamps, tolerance), JOINT_COMMAND_TOPIC)
    joints = len(episode.joint_names)
    image_index: dict[str, np.ndarray] = {}
    image_shapes: dict[str, list[int]] = {}
    for camera, stream in episode.images.items():
        if stream.empty:
            raise ValueError(f"episode {info.episode_id}: no {camera} images inside the episode")
        image_index[camera] = held(
            image_key(camera), match_steps(grid, stream.stamps, tolerance), f"{camera} image"
        )
        image_shapes[camera] = list(episode.image_shapes.get(camera, ()))
    proposal_index = match_steps(grid, episode.proposal_mean.stamps, tolerance)
    signal_index = match_steps(grid, episode.signals.stamps, tolerance)
    fills["proposal_missing"] = int(np.count_nonzero(proposal_index < 0))
    fills["signals_missing"] = int(np.count_nonzero(signal_index < 0))
    times = grid - info.start_ns
    failed = info.outcome in failure_types
    failure_index = failure_types.index(info.outcome) if failed else -1
    onset = info.failure_onset_s if failed else None
    if failed and not math.isfinite(info.failure_onset_s):
        raise ValueError(f"episode {info.episode_id}: outcome {info.outcome!r} without an onset time")
    if not failed and info.outcome != "success":
        raise ValueError(
            f"episode {info.episode_id}: outcome {info.outcome!r} is neither success nor one of "
            f"{list(failure_types)}"
        )
    labels, post_onset = horizon_labels(times, onset, failure_index, horizons_s, rate, len(failure_types))
    num_signals = len(episode.signal_names) or (
        episode.signals.stack().shape[1] if not episode.signals.empty else NUM_SIGNALS
    )
    arrays = {
        "state": _rows(episode.state, state_index, joints),
        "joint_velocity": _rows(episode.velocity, state_index, joints),
        "action": _rows(episode.action, action_index, joints),
        "proposal_mean": _rows(episode.proposal_mean, proposal_index, joints),
        "proposal_std": _rows(episode.proposal_std, proposal_index, joints),
        "signals": _rows(episode.signals, signal_index, num_signals),
        "labels": labels,
        "post_onset": post_onset,
        "t": times.astype(np.float64) * 1e-9,
        "stamp_ns": grid.astype(np.int64),
    }
    if not episode.prefix_embedding.empty:
        embedding_index = match_steps(grid, episode.prefix_embedding.stamps, tolerance)
        width = len(episode.prefix_embedding.values[0])
        arrays[PREFIX_EMBEDDING_KEY] = _rows(episode.prefix_embedding, embedding_index, width).astype(
            np.float16
        )
    custom = episode.custom_data
    return EpisodeSteps(
        bag=str(episode.bag),
        episode_id=info.episode_id,
        seed=info.seed,
        outcome=info.outcome,
        failure_type=failure_index,
        failure_onset_s=info.failure_onset_s if failed else math.nan,
        duration_s=info.duration_s,
        perturbations=list(info.perturbations),
        perturbation_params_json=info.perturbation_params_json or "{}",
        control_rate_hz=rate,
        metadata_json=custom.get("salus.metadata", "{}"),
        recorder_json=custom.get("salus.recorder", "{}"),
        cameras=list(episode.images),
        image_shapes=image_shapes,
        image_index=image_index,
        image_stamps={camera: episode.images[camera].stamps[index] for camera, index in image_index.items()},
        arrays=arrays,
        fills=fills,
        joint_names=list(episode.joint_names),
        signal_names=list(episode.signal_names),
        has_proposal=not episode.proposal_mean.empty,
        has_signals=not episode.signals.empty,
        start_ns=info.start_ns,
        end_ns=info.end_ns,
    )
