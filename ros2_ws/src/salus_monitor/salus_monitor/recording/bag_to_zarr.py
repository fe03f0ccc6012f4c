"""salus-bag2zarr: episode bags -> one Zarr v3 store in the replay-buffer layout (``data/<key>`` + ``meta``).

Usage::

    salus-bag2zarr data/bags -o data/episodes.zarr                 # every bag under data/bags
    salus-bag2zarr data/bags -o data/episodes.zarr --workers 2     # convert episodes in 2 processes
    salus-bag2zarr session.mcap other_bag/ -o out.zarr --horizons 0.2 0.3 0.4 0.5
    salus-verify-zarr data/episodes.zarr                          # check it (verify_zarr.py)

Layout (``T`` = steps of all episodes concatenated, ``E`` = episodes; per-key details in docs/RECORDING.md)::

    data/camera_<name>     (T, H, W, 3) uint8    one chunk per frame, Blosc zstd
    data/state             (T, J) float32        measured joint positions (/joint_states)
    data/joint_velocity    (T, J) float32
    data/action            (T, J) float32        executed joint position targets (/joint_command)
    data/proposal_mean     (T, J) float32        VLA ensemble mean; NaN rows where no proposal
    data/proposal_std      (T, J) float32        VLA ensemble std; NaN rows where no proposal
    data/signals           (T, 12) float32       SALUS signals; NaN rows where none
    data/labels            (T, 4, 4) uint8       horizon x failure type (horizon_labels.py)
    data/post_onset        (T,) bool             the step is at/after the failure onset
    data/t                 (T,) float64          seconds since the episode's start event
    data/stamp_ns          (T,) int64            header stamp of the step (sim time) [ns]
    meta/episode_ends      (E,) int64            end index (exclusive) of each episode in data/*
    meta/episode_id, seed, outcome, failure_type, failure_onset_s, duration_s, perturbations,
    meta/perturbation_params_json, control_rate_hz, has_proposal, has_signals, bag, metadata_json,
    meta/fill_json

Steps: the episode's control steps are the observations stamped in ``(S, E]`` (start and end event
stamps), one per control period ``dt`` (the median spacing of ``/joint_states`` stamps; the control rate
is ``1/dt``). A step whose message is missing on a stream takes the previous step's value (images, state,
velocity, action; the first step takes the next one) and is counted in ``meta/fill_json``; proposal and
signal rows stay NaN (episodes without a VLA have no proposals at all: ``meta/has_proposal`` false).

Parallel over bags (``--workers``), each bag read once: a worker reads a bag, builds its episodes' small
arrays and labels, and encodes their frames into staged per-episode image arrays (the store's codecs, one
chunk per frame). The parent then writes the small arrays and moves each staged chunk file into the
store's image arrays at the episode's offset: a rename, since a chunk's bytes do not depend on where the
frame lands. The store is built in a temporary folder next to the output and swapped in at the end: a
rerun over the same bags writes the same store, and an interrupted run leaves the previous store intact.

A bag that cannot be read (truncated, corrupted, no complete episode) is reported with its path and the
last good timestamp and left out; all other episodes are converted (exit code 1 tells that some failed).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

from salus_monitor.recording.bag_reader import (
    BagReadError,
    EpisodeData,
    Stream,
    find_bags,
    read_episodes,
)
from salus_monitor.recording.horizon_labels import DEFAULT_HORIZONS_S, horizon_labels, horizon_steps

FORMAT = "salus-replay-buffer"
FORMAT_VERSION = 1
EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE = 0, 1, 2
IMAGE_PREFIX = "camera_"
VECTOR_CHUNK = 1024  # steps per chunk of the small per-step arrays
MATCH_FRACTION = 0.25  # a message matches a step if its stamp is within this fraction of dt
# Zarr v3 "default" chunk keys with "." separators: one flat file per chunk (c.<i>.0.0.0) instead of a
# folder per dimension, which makes per-frame chunks much cheaper to create and delete.
CHUNK_KEYS = {"name": "default", "separator": "."}
IMAGE_CONFIG = {"write_empty_chunks": True}  # a runtime setting (not stored): passed when opening


def image_key(camera: str) -> str:
    return f"{IMAGE_PREFIX}{camera}"


@dataclass(frozen=True)
class ConvertConfig:
    """Options of one conversion (stored in the store's ``config`` attribute)."""

    horizons_s: tuple[float, ...] = DEFAULT_HORIZONS_S
    failure_types: tuple[str, ...] = ()  # default: the simulator's (collision, drop, timeout, other)
    cameras: tuple[str, ...] = ()  # default: every camera of the first converted episode
    image_clevel: int = 3  # Blosc zstd level of images (1 = faster, 5 = smaller)
    workers: int = 1

    def resolved_failure_types(self) -> tuple[str, ...]:
        if self.failure_types:
            return self.failure_types
        from salus_monitor.recording.horizon_labels import default_failure_types

        return default_failure_types()


# --------------------------------------------------------------------------- episodes -> arrays


@dataclass
class EpisodePlan:
    """Everything about one episode except its pixels (staged on disk by :func:`convert_bag`)."""

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
    arrays: dict[str, np.ndarray]  # data/<key> -> (T, ...) for every non-image key
    fills: dict[str, int]
    joint_names: list[str]
    signal_names: list[str]
    has_proposal: bool
    has_signals: bool
    start_ns: int
    end_ns: int
    staging: str = ""  # where convert_bag staged the episode's encoded frames
    image_bytes: int = 0  # raw pixel bytes of the staged frames

    @property
    def steps(self) -> int:
        return int(self.arrays["t"].shape[0])


@dataclass
class BagResult:
    bag: str
    plans: list[EpisodePlan] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0


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


def plan_episode(
    episode: EpisodeData,
    horizons_s: Sequence[float],
    failure_types: Sequence[str],
) -> EpisodePlan:
    """The step grid, every non-image array and the labels of one episode."""
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
    state_index, fills["state"] = fill_hold(state_index)
    action_index, fills["action"] = fill_hold(match_steps(grid, episode.action.stamps, tolerance))
    if episode.action.empty:
        raise ValueError(f"episode {info.episode_id}: no /joint_command inside the episode")
    joints = len(episode.joint_names)
    image_index: dict[str, np.ndarray] = {}
    image_shapes: dict[str, list[int]] = {}
    for camera, stream in episode.images.items():
        if stream.empty:
            raise ValueError(f"episode {info.episode_id}: no {camera} images inside the episode")
        image_index[camera], fills[f"camera_{camera}"] = fill_hold(
            match_steps(grid, stream.stamps, tolerance)
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
        episode.signals.stack().shape[1] if not episode.signals.empty else 12
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
    custom = episode.custom_data
    return EpisodePlan(
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
        arrays=arrays,
        fills=fills,
        joint_names=list(episode.joint_names),
        signal_names=list(episode.signal_names),
        has_proposal=not episode.proposal_mean.empty,
        has_signals=not episode.signals.empty,
        start_ns=info.start_ns,
        end_ns=info.end_ns,
    )


@dataclass(frozen=True)
class BagJob:
    """One bag for a worker: where to stage its frames and how to label its episodes."""

    bag: str
    staging: str  # folder for this bag's staged image arrays
    horizons_s: tuple[float, ...]
    failure_types: tuple[str, ...]
    image_clevel: int


def image_array_spec(shape: Sequence[int], clevel: int) -> dict[str, Any]:
    """``create_array`` arguments of an image array: one frame per chunk, Blosc zstd, "." chunk keys.

    Staged per-episode arrays and the store's arrays share it, so a staged chunk file is byte-for-byte the
    chunk of the store's array (chunk bytes depend on the codecs and chunk shape, not the array's length).
    """
    height, width, channels = (int(v) for v in shape[1:])
    return {
        "shape": tuple(int(v) for v in shape),
        "chunks": (1, height, width, channels),
        "dtype": "uint8",
        "compressors": _codecs(clevel, "noshuffle"),
        "fill_value": 0,
        "dimension_names": ("step", "height", "width", "channel"),
        "chunk_key_encoding": CHUNK_KEYS,
        "config": IMAGE_CONFIG,
    }


def frame_chunk_key(index: int) -> str:
    """The file name of frame ``index``'s chunk: Zarr v3 default chunk keys, "." separator."""
    return f"c.{index}.0.0.0"


def convert_bag(job: BagJob) -> BagResult:
    """One bag, in a worker: read it once, plan its episodes, stage their frames (encoded) on disk.

    Frames of episode ``i`` go to ``STAGING/<i>/camera_<name>`` (one chunk file per frame); the parent
    moves the chunk files into the store at the episode's offset. Errors are returned, never raised.
    """
    import zarr

    started = time.perf_counter()
    result = BagResult(job.bag)
    try:
        for i, episode in enumerate(read_episodes(job.bag, images="pixels")):
            try:
                plan = plan_episode(episode, job.horizons_s, job.failure_types)
            except ValueError as err:
                raise BagReadError(Path(job.bag), str(err)) from err
            plan.staging = str(Path(job.staging) / str(i))
            for camera, index in plan.image_index.items():
                frames = episode.images[camera].values
                shapes = {frame.shape for frame in frames}
                if len(shapes) != 1:
                    raise BagReadError(
                        Path(job.bag),
                        f"episode {plan.episode_id}: {camera} images change size {sorted(shapes)}",
                    )
                stack = np.stack([frames[k] for k in index])
                staged = zarr.create_array(
                    Path(plan.staging) / image_key(camera), **image_array_spec(stack.shape, job.image_clevel)
                )
                staged[...] = stack
                plan.image_bytes += stack.nbytes
            result.plans.append(plan)
    except BagReadError as err:
        result.error = str(err)
        result.plans = []
    except Exception as err:  # noqa: BLE001 - one bad bag must not stop the others
        result.error = f"{job.bag}: {type(err).__name__}: {err}"
        result.plans = []
    if result.error:
        shutil.rmtree(job.staging, ignore_errors=True)
    result.seconds = time.perf_counter() - started
    return result


def move_staged_frames(plan: EpisodePlan, store: Path, offset: int, cameras: Sequence[str]) -> None:
    """Move an episode's staged chunk files into the store's image arrays at ``offset`` (renames only)."""
    for camera in cameras:
        source = Path(plan.staging) / image_key(camera)
        target = store / "data" / image_key(camera)
        for step in range(plan.steps):
            staged = source / frame_chunk_key(step)
            if not staged.is_file():  # zarr wrote its chunks elsewhere: fail loudly, never silently
                raise RuntimeError(f"staged chunk {staged} is missing (unexpected zarr chunk layout)")
            os.replace(staged, target / frame_chunk_key(offset + step))


# --------------------------------------------------------------------------- the store


@dataclass
class ConvertReport:
    output: Path
    bags: int
    episodes: int
    steps: int
    errors: list[str]
    image_bytes: int
    seconds: float
    read_seconds: float  # the parallel part: read, plan, encode frames
    assemble_seconds: float  # the store: small arrays, staged frames moved in, metadata

    @property
    def image_mb_per_s(self) -> float:
        return self.image_bytes / 1e6 / self.seconds if self.seconds > 0 else 0.0


def _codecs(clevel: int, shuffle: str):
    from zarr.codecs import BloscCodec

    return BloscCodec(cname="zstd", clevel=clevel, shuffle=shuffle)


def _create_store(
    tmp: Path,
    plans: Sequence[EpisodePlan],
    cameras: Sequence[str],
    config: ConvertConfig,
    snapshot: dict[str, Any],
) -> None:
    import zarr

    total = sum(p.steps for p in plans)
    root = zarr.open_group(tmp, mode="w", zarr_format=3)
    data = root.require_group("data")
    meta = root.require_group("meta")
    chunk = max(1, min(VECTOR_CHUNK, total))
    for camera in cameras:  # metadata only: the chunk files are moved in from the staging folders
        shape = (total, *plans[0].image_shapes[camera])
        data.create_array(image_key(camera), **image_array_spec(shape, config.image_clevel))
    for key in plans[0].arrays:
        values = np.concatenate([p.arrays[key] for p in plans])
        data.create_array(
            key,
            shape=values.shape,
            chunks=(chunk, *values.shape[1:]),
            dtype=values.dtype,
            compressors=_codecs(5, "shuffle"),
            fill_value=np.nan if values.dtype.kind == "f" else 0,
            chunk_key_encoding=CHUNK_KEYS,
        )[...] = values
    ends = np.cumsum([p.steps for p in plans]).astype(np.int64)
    meta_values: dict[str, Any] = {
        "episode_ends": ends,
        "episode_id": np.array([p.episode_id for p in plans], dtype=object),
        "seed": np.array([p.seed for p in plans], dtype=np.int64),
        "outcome": np.array([p.outcome for p in plans], dtype=object),
        "failure_type": np.array([p.failure_type for p in plans], dtype=np.int8),
        "failure_onset_s": np.array([p.failure_onset_s for p in plans], dtype=np.float64),
        "duration_s": np.array([p.duration_s for p in plans], dtype=np.float64),
        "perturbations": np.array([json.dumps(p.perturbations) for p in plans], dtype=object),
        "perturbation_params_json": np.array([p.perturbation_params_json for p in plans], dtype=object),
        "control_rate_hz": np.array([p.control_rate_hz for p in plans], dtype=np.float64),
        "has_proposal": np.array([p.has_proposal for p in plans], dtype=bool),
        "has_signals": np.array([p.has_signals for p in plans], dtype=bool),
        "bag": np.array([Path(p.bag).name for p in plans], dtype=object),
        "metadata_json": np.array([p.metadata_json for p in plans], dtype=object),
        "fill_json": np.array([json.dumps(p.fills, sort_keys=True) for p in plans], dtype=object),
    }
    for key, values in meta_values.items():
        dtype = str if values.dtype == object else values.dtype
        meta.create_array(
            key, shape=values.shape, dtype=dtype, chunks=values.shape, chunk_key_encoding=CHUNK_KEYS
        )[...] = values
    rates = sorted({round(p.control_rate_hz, 6) for p in plans})
    first = plans[0]
    root.attrs.update(
        {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "layout": "data/<key> concatenated over episodes; meta/episode_ends (exclusive end indices)",
            "cameras": list(cameras),
            "image_keys": [f"data/{image_key(c)}" for c in cameras],
            "joint_names": first.joint_names,
            "signal_names": _signal_names(plans),
            "failure_types": list(config.resolved_failure_types()),
            "horizons_s": list(config.horizons_s),
            "control_rate_hz": rates[0] if len(rates) == 1 else rates,
            "horizon_steps": horizon_steps(config.horizons_s, rates[0]).tolist() if len(rates) == 1 else None,
            "labels": (
                "labels[t, h, k] = 1 iff failure type k of the episode has onset o <= t_s + "
                "horizon_steps[h] / control_rate_hz (t_s = data/t); i.e. onset in (t_s, t_s + H] before the "
                "onset, and 1 at and after it (data/post_onset marks those steps); success episodes are 0"
            ),
            "nan_policy": (
                "data/proposal_mean, data/proposal_std and data/signals hold NaN rows at steps without a "
                "message (all steps of episodes recorded without a VLA: meta/has_proposal, meta/has_signals "
                "false); every other key is finite"
            ),
            "config": snapshot,
        }
    )


def _signal_names(plans: Sequence[EpisodePlan]) -> list[str]:
    for plan in plans:
        if plan.signal_names:
            return plan.signal_names
    try:
        from salus_vla.signal_names import SIGNAL_NAMES

        return list(SIGNAL_NAMES)
    except ImportError:
        width = plans[0].arrays["signals"].shape[1]
        return [f"signal_{i}" for i in range(width)]


def _config_snapshot(
    config: ConvertConfig, plans: Sequence[EpisodePlan], bags: Sequence[str]
) -> dict[str, Any]:
    recorders = sorted({p.recorder_json for p in plans})
    collections = sorted({p.metadata_json for p in plans})
    return {
        "converter": {
            **{
                k: list(v) if isinstance(v, tuple) else v for k, v in asdict(config).items() if k != "workers"
            },
            "failure_types": list(config.resolved_failure_types()),
            "vector_chunk_steps": VECTOR_CHUNK,
            "match_fraction_of_dt": MATCH_FRACTION,
        },
        "sources": sorted(Path(b).name for b in bags),
        "recorder": [json.loads(r) for r in recorders if r and r != "{}"],
        "collection": [json.loads(c) for c in collections if c and c != "{}"],
        "versions": _versions(),
    }


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("zarr", "rosbags", "numpy"):
        with contextlib.suppress(PackageNotFoundError):
            out[name] = version(name)
    return out


def _map(function: Callable[[Any], Any], items: Sequence[Any], workers: int) -> list[Any]:
    if workers <= 1 or len(items) <= 1:
        return [function(item) for item in items]
    with ProcessPoolExecutor(max_workers=min(workers, len(items)), mp_context=get_context("spawn")) as pool:
        return list(pool.map(function, items))


def _swap_into_place(tmp: Path, output: Path) -> None:
    old = output.with_name(f".{output.name}.old-{os.getpid()}")
    if output.exists():
        os.rename(output, old)
    os.rename(tmp, output)
    shutil.rmtree(old, ignore_errors=True)


def convert(
    inputs: Iterable[str | Path],
    output: str | Path,
    config: ConvertConfig = ConvertConfig(),
    log: Callable[[str], None] = print,
) -> ConvertReport:
    """Convert every bag under ``inputs`` into the store at ``output`` (replaced atomically)."""
    import warnings

    import zarr

    started = time.perf_counter()
    output = Path(output).expanduser().resolve()
    bags = [str(b) for b in find_bags(inputs)]
    if not bags:
        raise FileNotFoundError(f"no bags found under {', '.join(map(str, inputs))}")
    failure_types = tuple(config.resolved_failure_types())
    tmp = output.with_name(f".{output.name}.tmp-{os.getpid()}")
    staging = output.with_name(f".{output.name}.staging-{os.getpid()}")  # same file system: renames
    for folder in (tmp, staging):
        shutil.rmtree(folder, ignore_errors=True)
    staging.mkdir(parents=True)
    jobs = [
        BagJob(bag, str(staging / str(i)), tuple(config.horizons_s), failure_types, config.image_clevel)
        for i, bag in enumerate(bags)
    ]
    try:
        results = _map(convert_bag, jobs, config.workers)
        read_seconds = time.perf_counter() - started
        errors = [r.error for r in results if r.error]
        plans = [p for r in results for p in r.plans]
        cameras = list(config.cameras) or (plans[0].cameras if plans else [])
        plans, rejected = _compatible(plans, cameras)
        errors += rejected
        for error in errors:
            log(f"error: {error}")
        if not plans:
            raise RuntimeError(f"no episode could be converted from {len(bags)} bags")
        plans.sort(key=lambda p: (Path(p.bag).name, p.start_ns))
        _create_store(tmp, plans, cameras, config, _config_snapshot(config, plans, bags))
        offset = 0
        for plan in plans:
            move_staged_frames(plan, tmp, offset, cameras)
            offset += plan.steps
        shutil.rmtree(staging)
        with warnings.catch_warnings():  # "consolidated metadata is not part of the v3 spec (yet)"
            warnings.filterwarnings("ignore", message="Consolidated metadata")
            zarr.consolidate_metadata(tmp)
        _swap_into_place(tmp, output)
    finally:
        for folder in (tmp, staging):
            shutil.rmtree(folder, ignore_errors=True)
    return ConvertReport(
        output=output,
        bags=len(bags),
        episodes=len(plans),
        steps=sum(p.steps for p in plans),
        errors=errors,
        image_bytes=sum(p.image_bytes for p in plans),
        seconds=time.perf_counter() - started,
        read_seconds=read_seconds,
        assemble_seconds=time.perf_counter() - started - read_seconds,
    )


def _compatible(plans: list[EpisodePlan], cameras: Sequence[str]) -> tuple[list[EpisodePlan], list[str]]:
    """Episodes whose cameras, image sizes and joints match the first one's; errors for the others."""
    if not plans:
        return plans, []
    ref = plans[0]
    keep, errors = [], []
    for plan in plans:
        problems = [f"no camera {c!r}" for c in cameras if c not in plan.image_shapes]
        problems += [
            f"{c} images are {plan.image_shapes[c]} (store: {ref.image_shapes.get(c)})"
            for c in cameras
            if c in plan.image_shapes and plan.image_shapes[c] != ref.image_shapes.get(c)
        ]
        if plan.joint_names != ref.joint_names:
            problems.append(f"joints {plan.joint_names} differ from {ref.joint_names}")
        if plan.arrays["signals"].shape[1] != ref.arrays["signals"].shape[1]:
            problems.append("a different number of signals")
        if problems:
            errors.append(f"{plan.bag}: episode {plan.episode_id} left out: {'; '.join(problems)}")
        else:
            keep.append(plan)
    return keep, errors


# --------------------------------------------------------------------------- command line


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="salus-bag2zarr",
        description="Convert SALUS episode bags (rosbag2 MCAP) into one Zarr v3 replay-buffer store.",
        epilog="See docs/RECORDING.md for the layout and the label definition.",
    )
    parser.add_argument("inputs", nargs="+", type=Path, help="bag folders, .mcap files, or folders of bags")
    parser.add_argument("-o", "--output", type=Path, required=True, help="the .zarr store to (re)write")
    parser.add_argument("--workers", type=int, default=1, help="processes (default 1; 0 = one per core)")
    parser.add_argument(
        "--horizons", type=float, nargs="+", default=list(DEFAULT_HORIZONS_S), help="label horizons [s]"
    )
    parser.add_argument("--cameras", nargs="+", default=None, help="cameras to store (default: all)")
    parser.add_argument(
        "--image-clevel", type=int, default=3, help="Blosc zstd level of images, 1-9 (default 3)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    opts = build_parser().parse_args(argv)
    workers = opts.workers if opts.workers > 0 else len(os.sched_getaffinity(0))
    if not 1 <= opts.image_clevel <= 9:
        print("salus-bag2zarr: error: --image-clevel must be 1..9", file=sys.stderr)
        return EXIT_USAGE
    config = ConvertConfig(
        horizons_s=tuple(opts.horizons),
        cameras=tuple(opts.cameras or ()),
        image_clevel=opts.image_clevel,
        workers=workers,
    )
    try:
        horizon_steps(config.horizons_s, 10.0)  # validate early
        report = convert(
            opts.inputs, opts.output, config, log=lambda m: print(m, file=sys.stderr, flush=True)
        )
    except (FileNotFoundError, ValueError) as err:
        print(f"salus-bag2zarr: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except RuntimeError as err:
        print(f"salus-bag2zarr: error: {err}", file=sys.stderr)
        return EXIT_SOME_FAILED
    print(
        f"wrote {report.output}: {report.episodes} episodes, {report.steps} steps from {report.bags} bags in "
        f"{report.seconds:.1f} s ({report.image_mb_per_s:.0f} MB/s of raw image data, "
        f"{report.episodes / report.seconds:.1f} episodes/s)"
    )
    if report.errors:
        print(
            f"salus-bag2zarr: {len(report.errors)} bag(s)/episode(s) left out (see errors above)",
            file=sys.stderr,
        )
        return EXIT_SOME_FAILED
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
