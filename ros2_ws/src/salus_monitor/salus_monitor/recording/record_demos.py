"""salus-record-demos: record expert demonstrations through the real graph into a LeRobot v3.0 dataset.

Runs ``salus-launch record:=lerobot`` (sim, scripted expert, episode runner, recorder) with a generated
parameter file for the image size, real-time factor and injections, then loads the result with LeRobot's
own ``LeRobotDataset(repo_id, root=DIR)`` and prints what it holds.

    salus-record-demos --episodes 100 --root data/demos --image-size 128 --real-time-factor 3
    salus-record-demos --episodes 20 --root data/demos_push --inject push --keep success
    salus-record-demos --root data/demos --verify-only

Appending: an existing dataset at ``--root`` is appended to (same image size, cameras and fps, else the
command refuses). Without ``--seed`` the run continues after the highest seed already in the dataset;
an explicit ``--seed`` whose range overlaps seeds already recorded is refused (the same seed would record
the same demonstration twice). A dataset whose recorder was killed mid-save is repaired first.

Exit codes: 0 recorded and verified; 1 the graph failed, nothing new was kept, or verification failed;
2 bad arguments or a dataset that cannot be appended to.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

import yaml

from salus_monitor.recording.lerobot_writer import (
    ACTION_KEY,
    IMAGE_KEY_PREFIX,
    STATE_KEY,
    VIDEO_BACKEND,
    read_episode_log,
    recover_dataset,
)

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
DEFAULT_REPO_ID = "local/salus_demos"


def injection_types() -> list[str]:
    """Injections the sim can switch on (the cube-pose variation is on by default, not an injection)."""
    from salus_sim.core.injection import InjectionConfig

    return [f.name for f in fields(InjectionConfig) if f.name != "cube_pose"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="salus-record-demos",
        description="Record scripted-expert demonstrations through the SALUS graph as a LeRobot dataset.",
        epilog="See docs/RECORDING.md. Episode i uses seed S+i; kept episodes are appended to --root.",
    )
    parser.add_argument("--episodes", type=int, default=10, help="episodes to run (default 10)")
    parser.add_argument(
        "--seed", type=int, default=None, help="first seed (default: 0, or after the highest seed in --root)"
    )
    parser.add_argument(
        "--root", type=Path, default=Path("data/demos"), help="dataset folder (default data/demos)"
    )
    parser.add_argument("--image-size", type=int, default=128, help="square camera images, px (default 128)")
    parser.add_argument(
        "--real-time-factor", type=float, default=3.0, help="sim seconds per wall second, 0 = max (default 3)"
    )
    parser.add_argument(
        "--inject",
        action="extend",
        nargs="+",
        default=[],
        metavar="TYPE",
        help=f"switch on injections: {', '.join(injection_types())}",
    )
    parser.add_argument(
        "--keep",
        action="extend",
        nargs="+",
        default=None,
        metavar="OUTCOME",
        help="outcomes to keep (default: success)",
    )
    parser.add_argument(
        "--task", default=None, help="language instruction (default: config/lerobot_recorder.yaml)"
    )
    parser.add_argument(
        "--repo-id", default=DEFAULT_REPO_ID, help=f"LeRobot repo id (default {DEFAULT_REPO_ID})"
    )
    parser.add_argument("--no-videos", action="store_true", help="store PNG images instead of AV1 videos")
    parser.add_argument("--log-dir", type=Path, help="also write each node's output to DIR/<node>.log")
    parser.add_argument("--verify-only", action="store_true", help="repair and verify --root, record nothing")
    return parser


def graph_params(opts: argparse.Namespace) -> dict[str, Any]:
    """The node-keyed parameter file this run adds to the graph's defaults."""
    size = opts.image_size
    sim: dict[str, Any] = {
        "image_width": size,
        "image_height": size,
        "real_time_factor": opts.real_time_factor,
    }
    if opts.inject:
        sim["injection"] = {name: {"enabled": True} for name in opts.inject}
    recorder: dict[str, Any] = {
        "image_width": size,
        "image_height": size,
        "repo_id": opts.repo_id,
        "use_videos": not opts.no_videos,
        "keep_outcomes": list(opts.keep or ["success"]),
    }
    if opts.task:
        recorder["task"] = opts.task
    return {
        "salus_sim": {"ros__parameters": sim},
        "lerobot_recorder": {"ros__parameters": recorder},
    }


def plan_seeds(opts: argparse.Namespace, log: list[dict[str, Any]]) -> int:
    """The first seed of this run; ``ValueError`` when it would re-record seeds already in the dataset."""
    recorded = {int(r["seed"]) for r in log if "seed" in r}
    if opts.seed is None:
        return max(recorded) + 1 if recorded else 0
    overlap = sorted(recorded & set(range(opts.seed, opts.seed + opts.episodes)))
    if overlap:
        shown = ", ".join(map(str, overlap[:10])) + (" ..." if len(overlap) > 10 else "")
        raise ValueError(
            f"{opts.root} already holds demonstrations from seeds {shown}; the same seed records the same "
            f"episode again. Pass --seed {max(recorded) + 1} (or leave --seed out) to append new ones."
        )
    return opts.seed


def check_appendable(root: Path, opts: argparse.Namespace) -> None:
    """Refuse early (before minutes of simulation) when the recorder could not append to ``root``."""
    info_path = root / "meta" / "info.json"
    if not info_path.is_file():
        if root.exists() and any(root.iterdir()):
            raise ValueError(f"{root} exists and is not a LeRobot dataset; choose an empty or new folder")
        return
    info = json.loads(info_path.read_text())
    images = {k: v for k, v in info.get("features", {}).items() if k.startswith(IMAGE_KEY_PREFIX)}
    want = [opts.image_size, opts.image_size, 3]
    wrong = {k: v.get("shape") for k, v in images.items() if list(v.get("shape", [])) != want}
    if wrong:
        raise ValueError(f"{root} holds images of shape {wrong}, this run records {want}; use another --root")
    dtype = "image" if opts.no_videos else "video"
    if any(v.get("dtype") != dtype for v in images.values()):
        raise ValueError(
            f"{root} stores camera frames as {images and next(iter(images.values()))['dtype']}; "
            f"this run would store {dtype} (--no-videos must match)"
        )


def dataset_size_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def verify(root: Path, repo_id: str, image_size: int | None, new_records: list[dict[str, Any]]) -> list[str]:
    """Load with LeRobot's own class and check what we promise; the problems found (empty: all good)."""
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    dataset = LeRobotDataset(repo_id, root=root, video_backend=VIDEO_BACKEND)
    problems = []
    log = read_episode_log(root)
    if dataset.num_episodes != len(log):
        problems.append(
            f"LeRobot sees {dataset.num_episodes} episodes, meta/salus_episodes.jsonl lists {len(log)}"
        )
    if dataset.num_frames != sum(int(r["frames"]) for r in log):
        problems.append(f"LeRobot sees {dataset.num_frames} frames, the episode log sums to another count")
    features = dataset.features
    for key in (STATE_KEY, ACTION_KEY):
        if key not in features or tuple(features[key]["shape"]) != (9,):
            problems.append(f"{key}: expected shape (9,), got {features.get(key, {}).get('shape')}")
    cameras = [k for k in features if k.startswith(IMAGE_KEY_PREFIX)]
    if not cameras:
        problems.append("no camera features")
    if new_records:  # decode the first and last frame of the newest episode
        last = new_records[-1]["episode_index"]
        episode = dataset.meta.episodes[last]
        for index in (episode["dataset_from_index"], episode["dataset_to_index"] - 1):
            item = dataset[int(index)]
            for key in cameras:
                shape = tuple(item[key].shape)
                if image_size is not None and shape != (3, image_size, image_size):
                    problems.append(f"{key} frame {index} decodes to {shape}")
            if tuple(item[STATE_KEY].shape) != (9,) or tuple(item[ACTION_KEY].shape) != (9,):
                problems.append(f"frame {index}: state/action are not 9-D")
    return problems


def summarize(root: Path, new_records: list[dict[str, Any]], total: list[dict[str, Any]]) -> str:
    info = json.loads((root / "meta" / "info.json").read_text())
    size_mib = dataset_size_bytes(root) / 2**20
    lines = [
        f"dataset {root}: {info['total_episodes']} episodes ({len(new_records)} new), "
        f"{info['total_frames']} frames at {info['fps']} fps, {size_mib:.1f} MiB on disk"
    ]
    for key, spec in info["features"].items():
        if key.startswith(IMAGE_KEY_PREFIX) or key in (STATE_KEY, ACTION_KEY):
            codec = spec.get("info", {}).get("video.codec")
            lines.append(f"  {key}: {spec['dtype']}{f' ({codec})' if codec else ''} {tuple(spec['shape'])}")
    for record in new_records:
        lines.append(
            f"  + episode {record['episode_index']}: {record.get('episode_id', '?')} "
            f"seed {record.get('seed')}, {record['frames']} frames, {record.get('outcome', '?')}"
        )
    if total and new_records:
        per_episode = dataset_size_bytes(root) / len(total)
        lines.append(f"  about {per_episode / 2**10:.0f} KiB per episode")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    opts = build_parser().parse_args(argv)
    root = opts.root.expanduser().resolve()
    opts.root = root
    try:
        if opts.episodes < 1 and not opts.verify_only:
            raise ValueError("--episodes must be >= 1")
        if opts.image_size < 16:
            raise ValueError("--image-size must be >= 16 px")
        if opts.real_time_factor < 0:
            raise ValueError("--real-time-factor must be >= 0 (0 = as fast as possible)")
        unknown = sorted(set(opts.inject) - set(injection_types()))
        if unknown:
            raise ValueError(f"unknown --inject {unknown}; choose from {injection_types()}")
        for action in recover_dataset(root):
            print(f"salus-record-demos: repaired {root}: {action}", flush=True)
        before = read_episode_log(root)
        if not opts.verify_only:
            check_appendable(root, opts)
            seed = plan_seeds(opts, before)
    except ValueError as err:
        print(f"salus-record-demos: error: {err}", file=sys.stderr)
        return EXIT_USAGE

    if not opts.verify_only:
        from salus_monitor.bringup import launcher

        if before:
            print(f"salus-record-demos: appending to {root} ({len(before)} episodes there)", flush=True)
        with tempfile.TemporaryDirectory(prefix="salus-record-") as tmp:
            params = Path(tmp) / "record_params.yaml"
            params.write_text(yaml.safe_dump(graph_params(opts), sort_keys=False))
            arguments = [
                "record:=lerobot",
                "policy:=expert",
                f"episodes:={opts.episodes}",
                f"seed:={seed}",
                f"dataset_root:={root}",
                f"params_file:={params}",
            ]
            if opts.log_dir:
                arguments = ["--log-dir", str(opts.log_dir), *arguments]
            code = launcher.main(arguments)
        for action in recover_dataset(root):
            print(f"salus-record-demos: repaired {root}: {action}", flush=True)
        if code != 0:
            print(
                f"salus-record-demos: the graph failed (exit {code}); saved episodes stay in {root}",
                file=sys.stderr,
            )
            return EXIT_FAILED

    if not (root / "meta" / "info.json").is_file():
        print(f"salus-record-demos: no dataset at {root}", file=sys.stderr)
        return EXIT_FAILED
    log = read_episode_log(root)
    new_records = log[len(before) :] if not opts.verify_only else []
    image_size = None if opts.verify_only else opts.image_size
    problems = verify(root, opts.repo_id, image_size, new_records or log[-1:])
    print(summarize(root, new_records, log), flush=True)
    if problems:
        print("salus-record-demos: verification FAILED:\n  " + "\n  ".join(problems), file=sys.stderr)
        return EXIT_FAILED
    print(
        f"verified with lerobot LeRobotDataset('{opts.repo_id}', root='{root}'): loads and decodes",
        flush=True,
    )
    if not opts.verify_only and not new_records:
        print("salus-record-demos: no episode of this run was kept", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
