"""salus-bag2lerobot: episode bags -> a LeRobot v3.0 dataset, so recorded runs can train lerobot policies.

Usage::

    salus-bag2lerobot data/bags --root data/lerobot_from_bags                 # successes only (default)
    salus-bag2lerobot data/bags --root data/all_runs --keep all --no-videos
    salus-bag2lerobot data/bags more_bags/ --root data/demos --task "put the cube in the bin"

Frames are the same control steps as in ``salus-bag2zarr`` (episode_steps.py: observations stamped in
``(S, E]``, missing messages filled from the previous step), written with LeRobot's own API
(lerobot_writer.py: ``observation.images.<camera>``, ``observation.state`` = measured joint positions,
``action`` = executed joint targets, one task string); ``meta/salus_episodes.jsonl`` keeps each
episode's bag, seed, outcome, onset, injections, scenario and policy.

``--root`` is rebuilt, not appended to: the dataset is an export of the bags given, so every run writes
it from scratch (in a hidden folder beside ``--root``), loads it with ``LeRobotDataset`` and only then
replaces what was at ``--root``. Rerunning over the same bags gives the same episodes; to add bags, run
again with all of them. An interrupted run leaves the previous dataset as it was; a non-empty
``--root`` that is not a LeRobot dataset is refused. A bag that cannot be read is reported with its path
and last good timestamp and left out, as are episodes whose fps, cameras, image size or joints differ
from the first kept episode's; the others are exported (exit code 1 tells that some were left out).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from salus_common.names import FAILURE_TYPES, HORIZONS_S, TASK_INSTRUCTION
from salus_data.bag_reader import BagReadError, EpisodeData, find_bags, read_episodes
from salus_data.episode_steps import EpisodeSteps, align_episode

if TYPE_CHECKING:  # lerobot (and torch) load only when an export runs, not for --help
    from salus_data.lerobot_writer import LeRobotDatasetBuilder

EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE = 0, 1, 2
DEFAULT_TASK = TASK_INSTRUCTION
DEFAULT_REPO_ID = "local/salus_bags"


@dataclass
class ExportReport:
    root: Path
    saved: int = 0  # episodes in the new dataset
    skipped: int = 0  # episodes whose outcome is not kept
    errors: list[str] = field(default_factory=list)  # bags and episodes left out
    summary: dict[str, Any] = field(default_factory=dict)  # what LeRobotDataset loaded (empty: not checked)


def episode_info(steps: EpisodeSteps) -> dict[str, Any]:
    """What ``meta/salus_episodes.jsonl`` keeps about an episode (JSON-serialisable)."""
    metadata = json.loads(steps.metadata_json or "{}")
    return {
        "bag": Path(steps.bag).name,
        "episode_id": steps.episode_id,
        "seed": steps.seed,
        "outcome": steps.outcome,
        "failure_onset_s": None if np.isnan(steps.failure_onset_s) else round(steps.failure_onset_s, 4),
        "duration_s": round(steps.duration_s, 3),
        "perturbations": steps.perturbations,
        "scenario": metadata.get("scenario"),
        "policy": metadata.get("policy"),
    }


def convert(
    inputs: Sequence[str | Path],
    root: str | Path,
    repo_id: str = DEFAULT_REPO_ID,
    task: str = DEFAULT_TASK,
    keep: Sequence[str] = ("success",),
    use_videos: bool = True,
    verify: bool = True,
    log: Callable[[str], None] = print,
) -> ExportReport:
    """Build the dataset at ``root`` from the kept episodes of ``inputs`` (replacing what was there).

    With no episode to export, ``root`` is left alone (``report.saved == 0``).
    """
    from salus_data.lerobot_writer import LeRobotDatasetBuilder, check_replaceable

    report = ExportReport(Path(root).expanduser().resolve())
    check_replaceable(report.root)  # before reading any bag
    bags = find_bags(inputs)
    if not bags:
        raise FileNotFoundError(f"no bags found under {', '.join(map(str, inputs))}")
    keep_all = "all" in keep

    def left_out(error: str) -> None:
        report.errors.append(error)
        log(f"error: {error}")

    with contextlib.ExitStack() as stack:
        builder: LeRobotDatasetBuilder | None = None
        for bag in bags:
            try:
                episodes = read_episodes(bag, images="pixels")
            except BagReadError as err:
                left_out(str(err))
                continue
            for episode in episodes:
                if not (keep_all or episode.info.outcome in keep):
                    report.skipped += 1
                    continue
                try:
                    steps = align_episode(episode, HORIZONS_S, FAILURE_TYPES)
                    fps, shape = _fps_and_image_shape(episode, steps)
                except ValueError as err:
                    left_out(f"{bag}: {err}")
                    continue
                if builder is None:
                    builder = stack.enter_context(
                        LeRobotDatasetBuilder(
                            report.root,
                            repo_id,
                            fps,
                            steps.cameras,
                            shape,
                            steps.joint_names,
                            task,
                            use_videos=use_videos,
                            robot_type=_robot_name(episode.custom_data),
                        )
                    )
                problems = _differences(builder, steps, fps, shape)
                if problems:
                    left_out(f"{bag}: episode {steps.episode_id} left out: {'; '.join(problems)}")
                    continue
                _add_episode(builder, episode, steps)
                index = builder.save_episode(episode_info(steps))
                log(f"{bag.name}: {steps.episode_id} ({steps.outcome}, {steps.steps} frames) -> {index}")
        if builder is not None:
            report.saved = builder.num_episodes
            report.summary = builder.finish(verify=verify)
    return report


def _fps_and_image_shape(episode: EpisodeData, steps: EpisodeSteps) -> tuple[int, tuple[int, ...]]:
    """The episode's fps (its control rate, a whole number) and the one shape of all its frames."""
    fps = round(steps.control_rate_hz)
    if abs(steps.control_rate_hz - fps) > 1e-3:
        raise ValueError(
            f"episode {steps.episode_id}: control rate {steps.control_rate_hz:.4f} Hz is not a whole fps"
        )
    shapes = {frame.shape for stream in episode.images.values() for frame in stream.values}
    if len(shapes) != 1:
        raise ValueError(f"episode {steps.episode_id}: images of different sizes {sorted(shapes)}")
    return fps, shapes.pop()


def _differences(
    builder: LeRobotDatasetBuilder, steps: EpisodeSteps, fps: int, shape: tuple[int, ...]
) -> list[str]:
    """Why an episode does not fit the dataset the first kept episode set up (empty: it fits)."""
    problems = []
    if fps != builder.fps:
        problems.append(f"{fps} fps (dataset: {builder.fps})")
    if tuple(steps.cameras) != builder.camera_names:
        problems.append(f"cameras {list(steps.cameras)} (dataset: {list(builder.camera_names)})")
    if shape != builder.image_shape:
        problems.append(f"images {shape} (dataset: {builder.image_shape})")
    if tuple(steps.joint_names) != builder.joint_names:
        problems.append(f"joints {list(steps.joint_names)} (dataset: {list(builder.joint_names)})")
    return problems


def _add_episode(builder: LeRobotDatasetBuilder, episode: EpisodeData, steps: EpisodeSteps) -> None:
    for step in range(steps.steps):
        images = {
            camera: episode.images[camera].values[int(steps.image_index[camera][step])]
            for camera in steps.cameras
        }
        builder.add_frame(images, steps.arrays["state"][step], steps.arrays["action"][step])


def _robot_name(custom: dict[str, str]) -> str | None:
    robot = custom.get("salus.robot")
    return json.loads(robot).get("name") if robot else None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="salus-bag2lerobot",
        description=(
            "Export SALUS episode bags as a LeRobot v3.0 dataset (lerobot policies train on it). The dataset "
            "at --root is rebuilt from the bags given and replaces what was there once LeRobot loads it; "
            "to add bags, run again with all of them."
        ),
    )
    parser.add_argument("inputs", nargs="+", type=Path, help="bag folders, .mcap files, or folders of bags")
    parser.add_argument(
        "--root",
        type=Path,
        required=True,
        help="dataset folder: created, or rebuilt if it holds a LeRobot dataset (anything else is refused)",
    )
    parser.add_argument(
        "--repo-id", default=DEFAULT_REPO_ID, help=f"LeRobot repo id (default {DEFAULT_REPO_ID})"
    )
    parser.add_argument("--task", default=DEFAULT_TASK, help="language instruction of every frame")
    parser.add_argument(
        "--keep", nargs="+", default=["success"], help="outcomes to keep, or 'all' (default: success)"
    )
    parser.add_argument("--no-videos", action="store_true", help="store PNG images instead of AV1 videos")
    parser.add_argument(
        "--no-verify", action="store_true", help="do not load the new dataset with LeRobot before the swap"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    opts = build_parser().parse_args(argv)
    try:
        report = convert(
            opts.inputs,
            opts.root,
            opts.repo_id,
            opts.task,
            opts.keep,
            use_videos=not opts.no_videos,
            verify=not opts.no_verify,
            log=lambda message: print(message, flush=True),
        )
    except (FileNotFoundError, ValueError) as err:
        print(f"salus-bag2lerobot: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    if report.saved == 0:
        print(f"salus-bag2lerobot: no episode to export; {report.root} left as it was", file=sys.stderr)
        return EXIT_SOME_FAILED
    print(f"wrote {report.root}: {report.saved} episodes, {report.skipped} skipped (outcome not kept)")
    summary = report.summary
    if summary.get("last_frame"):
        print(f"loaded with LeRobotDataset: {summary['episodes']} episodes, {summary['frames']} frames")
        print(f"last frame: {summary['last_frame']}")
    if report.errors:
        print(f"salus-bag2lerobot: {len(report.errors)} bag(s)/episode(s) left out:", file=sys.stderr)
        for error in report.errors:
            print(f"  - {error}", file=sys.stderr)
        return EXIT_SOME_FAILED
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
