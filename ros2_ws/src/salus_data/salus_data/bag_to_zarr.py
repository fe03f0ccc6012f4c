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
    data/signals           (T, S) float32        SALUS signals (the 12, then the extended ones when the VLA
                                                 published them: attrs signal_names); NaN rows where none
    data/prefix_embedding  (T, D) float16        VLA prefix embedding (only with extended signals); NaN rows
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

Parallel over bags (``--workers``), in two passes through one process pool, written through zarr's own
API only. Pass 1 (plan): a worker reads a bag, aligns its episodes to their steps and returns their small
arrays, labels and image shapes (no pixels). The parent then knows every episode's offset, creates the
store with all its arrays (images included, still empty) and writes the small arrays. Pass 2 (frames): a
worker reads the bag again and writes its episodes' frames into the store's image arrays at their
offsets, ``array[offset:offset + T] = frames``. An image chunk holds one frame, so no two workers ever
touch the same chunk (zarr supports concurrent writes to distinct chunks). The store is built in a
temporary folder next to the output and swapped in at the end (build_beside.py): a rerun over the same
bags writes the same store, and an interrupted run leaves the previous store intact.

A bag that cannot be read (truncated, corrupted, no complete episode) is reported with its path and the
last good timestamp and left out; all other episodes are converted (exit code 1 tells that some failed).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

from salus_common.build_beside import BuildBeside
from salus_common.names import FAILURE_TYPES, HORIZONS_S, SIGNAL_NAMES
from salus_data.bag_reader import BagReadError, find_bags, read_episodes, read_frames
from salus_data.episode_steps import MATCH_FRACTION, EpisodeSteps, align_episode
from salus_data.horizon_labels import horizon_steps
from salus_data.zarr_layout import FORMAT, FORMAT_VERSION, META_DTYPES, PREFIX_EMBEDDING_KEY, image_key

EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE = 0, 1, 2
VECTOR_CHUNK = 1024  # steps per chunk of the small per-step arrays
# A storage choice handed to create_array, nothing this module relies on: zarr's default v3 chunk keys
# with "." separators keep one flat file per chunk instead of a folder per dimension, which is much
# cheaper for per-frame image chunks.
FLAT_CHUNK_KEYS = {"name": "default", "separator": "."}
# zarr 3.4's synchronous codec pipeline (opt-in, documented in zarr's config): the same chunk bytes as the
# default asynchronous one, about twice as fast for many small chunks (one frame each). Measured:
# docs/BENCHMARKS.md.
FAST_PIPELINE = {"codec_pipeline.path": "zarr.core.codec_pipeline.FusedCodecPipeline"}


@dataclass(frozen=True)
class ConvertConfig:
    """Options of one conversion (stored in the store's ``config`` attribute)."""

    horizons_s: tuple[float, ...] = HORIZONS_S
    failure_types: tuple[str, ...] = FAILURE_TYPES
    cameras: tuple[str, ...] = ()  # default: every camera of the first converted episode
    image_clevel: int = 3  # Blosc zstd level of images (1 = faster, 5 = smaller)
    workers: int = 1
    images: bool = True  # False: no camera arrays (a signals-and-labels store for the failure predictor)


def _blosc(clevel: int, shuffle: str):
    from zarr.codecs import BloscCodec

    return BloscCodec(cname="zstd", clevel=clevel, shuffle=shuffle)


# --------------------------------------------------------------------------- pass 1: plan (in workers)


@dataclass(frozen=True)
class PlanJob:
    bag: str
    horizons_s: tuple[float, ...]
    failure_types: tuple[str, ...]


@dataclass
class PlannedBag:
    """Pass 1's answer for one bag: its episodes on their step grids (no pixels), or why it failed."""

    bag: str
    episodes: list[EpisodeSteps] = field(default_factory=list)
    error: str | None = None


def plan_bag(job: PlanJob) -> PlannedBag:
    """Read one bag, align its episodes to their steps; every frame is decoded once to check it.

    Errors are returned, never raised: one bad bag must not stop the others.
    """
    result = PlannedBag(job.bag)
    try:
        for episode in read_episodes(job.bag, images="pixels"):
            try:
                steps = align_episode(episode, job.horizons_s, job.failure_types)
            except ValueError as err:
                raise BagReadError(Path(job.bag), str(err)) from err
            for camera, stream in episode.images.items():
                shapes = {frame.shape for frame in stream.values}
                if len(shapes) != 1:
                    raise BagReadError(
                        Path(job.bag),
                        f"episode {steps.episode_id}: {camera} images change size {sorted(shapes)}",
                    )
            result.episodes.append(steps)
    except BagReadError as err:
        result.error, result.episodes = str(err), []
    except Exception as err:  # noqa: BLE001 - one bad bag must not stop the others
        result.error, result.episodes = f"{job.bag}: {type(err).__name__}: {err}", []
    return result


# --------------------------------------------------------------------------- pass 2: frames (in workers)


@dataclass(frozen=True)
class FrameJob:
    """Pass 2 for one bag: which frames go where. ``episodes``: (episode id, first row in data/*,
    camera -> (T,) header stamps of the frames of rows offset .. offset + T - 1)."""

    bag: str
    store: str
    cameras: tuple[str, ...]
    episodes: tuple[tuple[str, int, dict[str, np.ndarray]], ...]


def write_frames(job: FrameJob) -> str | None:
    """Read one bag again and write its episodes' frames into the store's image arrays at their offsets.

    Returns None, or the error (the parent fails the conversion: pass 1 read this bag without one).
    """
    import zarr

    try:
        with zarr.config.set(FAST_PIPELINE):
            _write_frames(job)
    except Exception as err:  # noqa: BLE001 - reported by the parent
        return f"{job.bag}: {type(err).__name__}: {err}"
    return None


def _write_frames(job: FrameJob) -> None:
    import zarr

    # Every frame is written once and none is blank, so zarr's per-chunk "is it all fill value?" scan
    # (a full pass over each frame, a third of the encode time) only costs: skip it.
    arrays = {
        camera: zarr.open_array(
            job.store, path=f"data/{image_key(camera)}", mode="r+", config={"write_empty_chunks": True}
        )
        for camera in job.cameras
    }
    wanted = {
        camera: np.concatenate([stamps[camera] for _id, _offset, stamps in job.episodes])
        for camera in job.cameras
    }
    frames = read_frames(job.bag, wanted)
    for episode_id, offset, stamps in job.episodes:
        for camera in job.cameras:
            missing = [s for s in stamps[camera].tolist() if s not in frames[camera]]
            if missing:
                raise RuntimeError(
                    f"episode {episode_id}: no {camera} image stamped {missing[0]} ns any more "
                    "(was the bag changed meanwhile?)"
                )
            rows = np.stack([frames[camera][s] for s in stamps[camera].tolist()])
            arrays[camera][offset : offset + len(rows)] = rows


# --------------------------------------------------------------------------- the store (in the parent)


@dataclass
class ConvertReport:
    output: Path
    bags: int
    episodes: int
    steps: int
    errors: list[str]
    image_bytes: int  # raw pixel bytes written (T x H x W x 3 per camera)
    seconds: float
    plan_seconds: float  # pass 1: read bags, align steps (parallel)
    frames_seconds: float  # pass 2: read bags again, encode and write frames (parallel)

    @property
    def store_seconds(self) -> float:
        """The parent's part: the store's arrays and small data, consolidated metadata, the swap."""
        return self.seconds - self.plan_seconds - self.frames_seconds

    @property
    def image_mb_per_s(self) -> float:
        return self.image_bytes / 1e6 / self.seconds if self.seconds > 0 else 0.0


def _create_store(
    path: Path,
    episodes: Sequence[EpisodeSteps],
    cameras: Sequence[str],
    config: ConvertConfig,
    snapshot: dict[str, Any],
) -> None:
    """Every array of the store, the small ones filled; image arrays stay empty for pass 2."""
    import zarr

    total = sum(e.steps for e in episodes)
    root = zarr.open_group(path, mode="w", zarr_format=3)
    data = root.require_group("data")
    meta = root.require_group("meta")
    for camera in cameras:
        height, width, channels = episodes[0].image_shapes[camera]
        data.create_array(
            image_key(camera),
            shape=(total, height, width, channels),
            chunks=(1, height, width, channels),  # one frame per chunk: workers never share a chunk
            dtype="uint8",
            compressors=_blosc(config.image_clevel, "noshuffle"),
            fill_value=0,
            dimension_names=("step", "height", "width", "channel"),
            chunk_key_encoding=FLAT_CHUNK_KEYS,
        )
    chunk = max(1, min(VECTOR_CHUNK, total))
    for key in episodes[0].arrays:
        values = np.concatenate([e.arrays[key] for e in episodes])
        data.create_array(
            key,
            shape=values.shape,
            chunks=(chunk, *values.shape[1:]),
            dtype=values.dtype,
            compressors=_blosc(5, "shuffle"),
            fill_value=np.nan if values.dtype.kind == "f" else 0,
            chunk_key_encoding=FLAT_CHUNK_KEYS,
        )[...] = values
    for key, values in _meta_values(episodes).items():
        dtype = META_DTYPES[key]
        meta.create_array(
            key,
            shape=(len(values),),
            dtype=str if dtype == "str" else dtype,
            chunks=(len(values),),
            chunk_key_encoding=FLAT_CHUNK_KEYS,
        )[...] = np.array(values, dtype=object if dtype == "str" else dtype)
    rates = sorted({round(e.control_rate_hz, 6) for e in episodes})
    root.attrs.update(
        {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "layout": "data/<key> concatenated over episodes; meta/episode_ends (exclusive end indices)",
            "cameras": list(cameras),
            "image_keys": [f"data/{image_key(c)}" for c in cameras],
            "joint_names": episodes[0].joint_names,
            "signal_names": next((e.signal_names for e in episodes if e.signal_names), list(SIGNAL_NAMES)),
            "prefix_embedding_dim": (
                int(episodes[0].arrays[PREFIX_EMBEDDING_KEY].shape[1])
                if PREFIX_EMBEDDING_KEY in episodes[0].arrays
                else 0
            ),
            "failure_types": list(config.failure_types),
            "horizons_s": list(config.horizons_s),
            "control_rate_hz": rates[0] if len(rates) == 1 else rates,
            "horizon_steps": horizon_steps(config.horizons_s, rates[0]).tolist() if len(rates) == 1 else None,
            "labels": (
                "labels[t, h, k] = 1 iff failure type k of the episode has onset o <= t_s + "
                "horizon_steps[h] / control_rate_hz (t_s = data/t); i.e. onset in (t_s, t_s + H] before the "
                "onset, and 1 at and after it (data/post_onset marks those steps); success episodes are 0"
            ),
            "nan_policy": (
                "data/proposal_mean, data/proposal_std, data/signals (and data/prefix_embedding) hold NaN "
                "rows at steps without a "
                "message (all steps of episodes recorded without a VLA: meta/has_proposal, meta/has_signals "
                "false); every other key is finite"
            ),
            "config": snapshot,
        }
    )


def _meta_values(episodes: Sequence[EpisodeSteps]) -> dict[str, list[Any]]:
    """meta/<key> -> one value per episode (the keys of zarr_layout.META_DTYPES, in its order)."""
    values = {
        "episode_ends": np.cumsum([e.steps for e in episodes]).tolist(),
        "episode_id": [e.episode_id for e in episodes],
        "seed": [e.seed for e in episodes],
        "outcome": [e.outcome for e in episodes],
        "failure_type": [e.failure_type for e in episodes],
        "failure_onset_s": [e.failure_onset_s for e in episodes],
        "duration_s": [e.duration_s for e in episodes],
        "perturbations": [json.dumps(e.perturbations) for e in episodes],
        "perturbation_params_json": [e.perturbation_params_json for e in episodes],
        "control_rate_hz": [e.control_rate_hz for e in episodes],
        "has_proposal": [e.has_proposal for e in episodes],
        "has_signals": [e.has_signals for e in episodes],
        "bag": [Path(e.bag).name for e in episodes],
        "metadata_json": [e.metadata_json for e in episodes],
        "fill_json": [json.dumps(e.fills, sort_keys=True) for e in episodes],
    }
    assert list(values) == list(META_DTYPES), "zarr_layout.META_DTYPES and the writer disagree"
    return values


def _config_snapshot(
    config: ConvertConfig, episodes: Sequence[EpisodeSteps], bags: Sequence[str]
) -> dict[str, Any]:
    recorders = sorted({e.recorder_json for e in episodes})
    collections = sorted({e.metadata_json for e in episodes})
    return {
        "converter": {
            **{
                k: list(v) if isinstance(v, tuple) else v for k, v in asdict(config).items() if k != "workers"
            },
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


@contextlib.contextmanager
def _mapper(workers: int, jobs: int) -> Iterator[Callable[[Callable[[Any], Any], Sequence[Any]], list[Any]]]:
    """``map`` over one process pool for both passes (spawned: zarr runs threads), or in-process."""
    if workers <= 1 or jobs <= 1:
        yield lambda function, items: [function(item) for item in items]
        return
    with ProcessPoolExecutor(max_workers=min(workers, jobs), mp_context=get_context("spawn")) as pool:
        yield lambda function, items: list(pool.map(function, items))


def convert(
    inputs: Iterable[str | Path],
    output: str | Path,
    config: ConvertConfig = ConvertConfig(),
    log: Callable[[str], None] = print,
) -> ConvertReport:
    """Convert every bag under ``inputs`` into the store at ``output`` (replaced whole at the end)."""
    import zarr

    started = time.perf_counter()
    inputs = list(inputs)
    bags = [str(b) for b in find_bags(inputs)]
    if not bags:
        raise FileNotFoundError(f"no bags found under {', '.join(map(str, inputs))}")
    with (
        zarr.config.set(FAST_PIPELINE),
        BuildBeside(output) as build,
        _mapper(config.workers, len(bags)) as map_,
    ):
        planned = map_(
            plan_bag, [PlanJob(b, tuple(config.horizons_s), tuple(config.failure_types)) for b in bags]
        )
        plan_seconds = time.perf_counter() - started
        errors = [p.error for p in planned if p.error]
        episodes = [e for p in planned for e in p.episodes]
        every_camera = episodes[0].cameras if episodes else []
        cameras = (list(config.cameras) or every_camera) if config.images else []
        _widen_signal_less(episodes)
        episodes, rejected = _compatible(episodes, cameras)
        errors += rejected
        for error in errors:
            log(f"error: {error}")
        if not episodes:
            raise RuntimeError(f"no episode could be converted from {len(bags)} bags")
        episodes.sort(key=lambda e: (Path(e.bag).name, e.start_ns))
        _create_store(build.path, episodes, cameras, config, _config_snapshot(config, episodes, bags))
        frames_started = time.perf_counter()
        written = map_(write_frames, _frame_jobs(build.path, episodes, cameras)) if cameras else []
        frames_seconds = time.perf_counter() - frames_started
        failed = [error for error in written if error]
        if failed:  # pass 1 read these bags: a failure now is not a bad bag to leave out
            raise RuntimeError("writing frames failed: " + "; ".join(failed))
        with warnings.catch_warnings():  # "consolidated metadata is not part of the v3 spec (yet)"
            warnings.filterwarnings("ignore", message="Consolidated metadata")
            zarr.consolidate_metadata(build.path)
        build.swap_in()
    return ConvertReport(
        output=build.output,
        bags=len(bags),
        episodes=len(episodes),
        steps=sum(e.steps for e in episodes),
        errors=errors,
        image_bytes=sum(e.steps * int(np.prod(e.image_shapes[c])) for e in episodes for c in cameras),
        seconds=time.perf_counter() - started,
        plan_seconds=plan_seconds,
        frames_seconds=frames_seconds,
    )


def _frame_jobs(store: Path, episodes: Sequence[EpisodeSteps], cameras: Sequence[str]) -> list[FrameJob]:
    """One pass-2 job per bag; episodes in store order, so row offsets follow ``meta/episode_ends``."""
    by_bag: dict[str, list[tuple[str, int, dict[str, np.ndarray]]]] = {}
    offset = 0
    for e in episodes:
        stamps = {camera: e.image_stamps[camera] for camera in cameras}
        by_bag.setdefault(e.bag, []).append((e.episode_id, offset, stamps))
        offset += e.steps
    return [FrameJob(bag, str(store), tuple(cameras), tuple(items)) for bag, items in by_bag.items()]


def _widen_signal_less(episodes: list[EpisodeSteps]) -> None:
    """Episodes recorded without a VLA get NaN signal (and embedding) rows as wide as the VLA episodes'."""
    ref = next((e for e in episodes if e.has_signals), None)
    if ref is None:
        return
    for e in episodes:
        if e.has_signals:
            continue
        for key, dtype in (("signals", np.float32), (PREFIX_EMBEDDING_KEY, np.float16)):
            if key in ref.arrays:
                e.arrays[key] = np.full((e.steps, ref.arrays[key].shape[1]), np.nan, dtype=dtype)


def _compatible(episodes: list[EpisodeSteps], cameras: Sequence[str]) -> tuple[list[EpisodeSteps], list[str]]:
    """Episodes whose cameras, image sizes and joints match the first one's; errors for the others."""
    if not episodes:
        return episodes, []
    ref = episodes[0]
    keep, errors = [], []
    for e in episodes:
        problems = [f"no camera {c!r}" for c in cameras if c not in e.image_shapes]
        problems += [
            f"{c} images are {e.image_shapes[c]} (store: {ref.image_shapes.get(c)})"
            for c in cameras
            if c in e.image_shapes and e.image_shapes[c] != ref.image_shapes.get(c)
        ]
        if e.joint_names != ref.joint_names:
            problems.append(f"joints {e.joint_names} differ from {ref.joint_names}")
        if e.arrays["signals"].shape[1] != ref.arrays["signals"].shape[1]:
            problems.append("a different number of signals (extended signals on in one recording only?)")
        if (PREFIX_EMBEDDING_KEY in e.arrays) != (PREFIX_EMBEDDING_KEY in ref.arrays) or (
            PREFIX_EMBEDDING_KEY in e.arrays
            and e.arrays[PREFIX_EMBEDDING_KEY].shape[1] != ref.arrays[PREFIX_EMBEDDING_KEY].shape[1]
        ):
            problems.append("a different prefix embedding (or none)")
        if problems:
            errors.append(f"{e.bag}: episode {e.episode_id} left out: {'; '.join(problems)}")
        else:
            keep.append(e)
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
        "--horizons", type=float, nargs="+", default=list(HORIZONS_S), help="label horizons [s]"
    )
    parser.add_argument("--cameras", nargs="+", default=None, help="cameras to store (default: all)")
    parser.add_argument(
        "--no-images",
        action="store_true",
        help="store no camera frames: a small store of signals, actions and labels (the failure predictor's)",
    )
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
        images=not opts.no_images,
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
