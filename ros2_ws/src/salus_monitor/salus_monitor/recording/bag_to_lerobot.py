"""salus-bag2lerobot: episode bags -> a LeRobot v3.0 dataset, so recorded runs can train lerobot policies.

Usage::

    salus-bag2lerobot data/bags --root data/lerobot_from_bags                 # successes only (default)
    salus-bag2lerobot data/bags --root data/all_runs --keep all --no-videos
    salus-bag2lerobot data/bags --root data/demos --task "put the cube in the bin"

Frames are the same control steps as in ``salus-bag2zarr`` (observations stamped in ``(S, E]``, missing
messages filled from the previous step), written through the demo recorder's
:class:`~salus_monitor.recording.lerobot_writer.DemoDatasetWriter` (``observation.images.<camera>``,
``observation.state`` = measured joint positions, ``action`` = executed joint targets, one task string);
``meta/salus_episodes.jsonl`` keeps each episode's bag, seed, outcome, onset and injections.

Appending and reruns: an existing dataset is appended to (same fps, cameras, image size and joints, else
the writer refuses); episodes already listed in its ``meta/salus_episodes.jsonl`` (same bag and episode
id) are skipped, so a rerun over the same bags adds nothing. A bag that cannot be read is reported with
its path and last good timestamp and skipped; the others are converted (exit code 1 tells).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from salus_monitor.recording.bag_reader import BagReadError, find_bags, read_episodes
from salus_monitor.recording.bag_to_zarr import EpisodePlan, plan_episode
from salus_monitor.recording.horizon_labels import DEFAULT_HORIZONS_S, default_failure_types

EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE = 0, 1, 2
DEFAULT_TASK = "pick up the red cube and place it in the blue bin"
DEFAULT_REPO_ID = "local/salus_bags"


def episode_info(plan: EpisodePlan) -> dict[str, Any]:
    """What ``meta/salus_episodes.jsonl`` keeps about an episode (JSON-serialisable)."""
    import json

    metadata = json.loads(plan.metadata_json or "{}")
    return {
        "bag": Path(plan.bag).name,
        "episode_id": plan.episode_id,
        "seed": plan.seed,
        "outcome": plan.outcome,
        "failure_onset_s": None if np.isnan(plan.failure_onset_s) else round(plan.failure_onset_s, 4),
        "duration_s": round(plan.duration_s, 3),
        "perturbations": plan.perturbations,
        "scenario": metadata.get("scenario"),
        "policy": metadata.get("policy"),
    }


def convert(
    inputs: Sequence[str | Path],
    root: Path,
    repo_id: str = DEFAULT_REPO_ID,
    task: str = DEFAULT_TASK,
    keep: Sequence[str] = ("success",),
    use_videos: bool = True,
    log=print,
) -> tuple[int, int, list[str]]:
    """Append the episodes of ``inputs`` to the dataset at ``root``; (saved, skipped, errors)."""
    from salus_monitor.recording.lerobot_writer import DemoDatasetWriter, read_episode_log, recover_dataset

    root = Path(root).expanduser().resolve()
    for action in recover_dataset(root):
        log(f"repaired {root}: {action}")
    done = {(r.get("bag"), r.get("episode_id")) for r in read_episode_log(root)}
    failure_types = default_failure_types()
    keep_all = "all" in keep
    writer: DemoDatasetWriter | None = None
    saved = skipped = 0
    errors: list[str] = []
    try:
        for bag in find_bags(inputs):
            try:
                episodes = read_episodes(bag, images="pixels")
            except BagReadError as err:
                errors.append(str(err))
                log(f"error: {err}")
                continue
            for episode in episodes:
                key = (bag.name, episode.info.episode_id)
                if key in done or not (keep_all or episode.info.outcome in keep):
                    skipped += 1
                    continue
                try:
                    plan = plan_episode(episode, DEFAULT_HORIZONS_S, failure_types)
                except ValueError as err:
                    errors.append(f"{bag}: {err}")
                    log(f"error: {bag}: {err}")
                    continue
                fps = round(plan.control_rate_hz)
                if abs(plan.control_rate_hz - fps) > 1e-3:
                    errors.append(f"{bag}: control rate {plan.control_rate_hz:.4f} Hz is not a whole fps")
                    continue
                if writer is None:
                    shape = next(iter(episode.image_shapes.values()))
                    writer = DemoDatasetWriter(
                        root,
                        repo_id,
                        fps,
                        list(episode.images),
                        shape,
                        episode.joint_names,
                        task,
                        use_videos=use_videos,
                        robot_type=_robot_name(episode.custom_data),
                    )
                elif fps != writer.fps:
                    errors.append(f"{bag}: {fps} fps, the dataset has {writer.fps}")
                    continue
                for step in range(plan.steps):
                    images = {
                        camera: episode.images[camera].values[int(plan.image_index[camera][step])]
                        for camera in episode.images
                    }
                    writer.add_frame(images, plan.arrays["state"][step], plan.arrays["action"][step])
                index = writer.save_episode(episode_info(plan))
                done.add(key)
                saved += 1
                log(
                    f"{bag.name}: {episode.info.episode_id} ({episode.info.outcome}, {plan.steps} frames)"
                    f" -> episode {index}"
                )
    finally:
        if writer is not None:
            writer.finalize()
    return saved, skipped, errors


def _robot_name(custom: dict[str, str]) -> str | None:
    import json

    robot = custom.get("salus.robot")
    return json.loads(robot).get("name") if robot else None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="salus-bag2lerobot",
        description="Append SALUS episode bags to a LeRobot v3.0 dataset (lerobot policies train on it).",
    )
    parser.add_argument("inputs", nargs="+", type=Path, help="bag folders, .mcap files, or folders of bags")
    parser.add_argument("--root", type=Path, required=True, help="dataset folder (created or appended to)")
    parser.add_argument(
        "--repo-id", default=DEFAULT_REPO_ID, help=f"LeRobot repo id (default {DEFAULT_REPO_ID})"
    )
    parser.add_argument("--task", default=DEFAULT_TASK, help="language instruction of every frame")
    parser.add_argument(
        "--keep", nargs="+", default=["success"], help="outcomes to keep, or 'all' (default: success)"
    )
    parser.add_argument("--no-videos", action="store_true", help="store PNG images instead of AV1 videos")
    parser.add_argument("--no-verify", action="store_true", help="skip loading the result with LeRobot")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    opts = build_parser().parse_args(argv)
    log = lambda message: print(message, flush=True)  # noqa: E731
    try:
        saved, skipped, errors = convert(
            opts.inputs, opts.root, opts.repo_id, opts.task, opts.keep, not opts.no_videos, log
        )
    except (FileNotFoundError, ValueError) as err:
        print(f"salus-bag2lerobot: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    root = opts.root.expanduser().resolve()
    print(f"{root}: {saved} episodes added, {skipped} skipped (already there or outcome not kept)")
    if not opts.no_verify and (root / "meta" / "info.json").is_file():
        from lerobot.datasets.lerobot_dataset import LeRobotDataset

        from salus_monitor.recording.lerobot_writer import VIDEO_BACKEND

        dataset = LeRobotDataset(opts.repo_id, root=root, video_backend=VIDEO_BACKEND)
        item = dataset[dataset.num_frames - 1] if dataset.num_frames else None
        shapes = {k: tuple(v.shape) for k, v in (item or {}).items() if hasattr(v, "shape")}
        print(f"loaded with LeRobotDataset: {dataset.num_episodes} episodes, {dataset.num_frames} frames")
        print(f"last frame: {shapes}")
    if errors:
        print(f"salus-bag2lerobot: {len(errors)} bag(s)/episode(s) left out:", file=sys.stderr)
        for error in errors:
            print(f"  - {error}", file=sys.stderr)
        return EXIT_SOME_FAILED
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
