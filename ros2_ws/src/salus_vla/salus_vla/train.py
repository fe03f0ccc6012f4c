"""salus-train-vla: train SmolVLA on our demonstrations with lerobot's own training loop.

Usage::

    salus-train-vla --dataset-root data/demos --preset tiny --steps 300 --output-dir runs/train/tiny
    salus-train-vla --dataset-root data/demos --preset small --steps 20000 --batch-size 64 \\
        --device cuda --output-dir runs/train/small --seed 0

The SmolVLM backbone is built offline into ``--backbone-dir`` (default ``models/backbones/<preset>``) when it
is not there yet; the policy config comes from :func:`salus_vla.core.policy_factory.make_smolvla_config`, and
training, checkpoints (``<output-dir>/checkpoints/<step>/pretrained_model``, lerobot's format, loadable with
``SmolVLAPolicy.from_pretrained``) and logging are lerobot's ``lerobot_train.train``. Nothing is pushed to
the hub.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from salus_common.lerobot_keys import IMAGE_KEY_PREFIX, camera_name, is_image_key
from salus_vla.core.backbone import build_backbone
from salus_vla.core.policy_factory import make_smolvla_config
from salus_vla.core.presets import PRESETS


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="salus-train-vla", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dataset-root", type=Path, required=True, help="LeRobotDataset v3 folder")
    parser.add_argument("--repo-id", default="local/salus_demos", help="dataset repo id (local name)")
    parser.add_argument("--preset", default="tiny", choices=sorted(PRESETS))
    parser.add_argument("--backbone-dir", type=Path, help="local SmolVLM folder (built if missing)")
    parser.add_argument("--output-dir", type=Path, required=True, help="run folder (must not exist)")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--lr", type=float, help="optimizer learning rate (default: SmolVLA's preset)")
    parser.add_argument(
        "--decay-steps",
        type=int,
        help="cosine learning-rate decay length (default: --steps, so the rate reaches its floor at the end "
        "of the run; lerobot's SmolVLA preset decays over 30000 steps)",
    )
    parser.add_argument(
        "--warmup-steps", type=int, help="learning-rate warm-up (default: lerobot's 1000, at most steps / 10)"
    )
    parser.add_argument("--device", default="cpu", help="cpu | cuda | cuda:N")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--num-workers", type=int, default=2, help="dataloader workers")
    parser.add_argument("--save-freq", type=int, help="checkpoint every N steps (default: only the last)")
    parser.add_argument("--log-freq", type=int, help="log every N steps (default: steps/20)")
    parser.add_argument("--video-backend", default="pyav", help="lerobot video backend for decoding")
    return parser


def camera_shapes(repo_id: str, root: Path) -> dict[str, tuple[int, int, int]]:
    """Camera name → (H, W, C) from the dataset's own metadata, so the policy matches the recording."""
    from lerobot.datasets.lerobot_dataset import LeRobotDatasetMetadata

    meta = LeRobotDatasetMetadata(repo_id, root=root)
    shapes = {
        camera_name(key): tuple(feature["shape"])
        for key, feature in meta.features.items()
        if is_image_key(key)
    }
    if not shapes:
        raise ValueError(f"dataset at {root} has no {IMAGE_KEY_PREFIX}* features")
    return shapes


def make_train_config(args: argparse.Namespace):
    from lerobot.configs.default import DatasetConfig, WandBConfig
    from lerobot.configs.train import TrainPipelineConfig

    if args.output_dir.exists():
        raise FileExistsError(f"{args.output_dir} exists; choose a new --output-dir")
    backbone = build_backbone(args.backbone_dir or Path("models/backbones") / args.preset, args.preset)
    shapes = camera_shapes(args.repo_id, args.dataset_root)
    (height, width, _channels) = next(iter(shapes.values()))
    overrides = {"device": args.device}
    if args.lr is not None:
        overrides["optimizer_lr"] = args.lr
    overrides["scheduler_decay_steps"] = args.decay_steps or args.steps
    overrides["scheduler_warmup_steps"] = (
        args.warmup_steps if args.warmup_steps is not None else min(1000, max(1, args.steps // 10))
    )
    policy = make_smolvla_config(
        backbone, args.preset, cameras=tuple(shapes), camera_hw=(height, width), **overrides
    )
    return TrainPipelineConfig(
        dataset=DatasetConfig(
            repo_id=args.repo_id, root=str(args.dataset_root), video_backend=args.video_backend
        ),
        policy=policy,
        output_dir=args.output_dir,
        job_name=f"salus-{args.preset}",
        seed=args.seed,
        steps=args.steps,
        batch_size=args.batch_size,
        num_workers=args.num_workers,
        log_freq=args.log_freq or max(1, args.steps // 20),
        save_freq=args.save_freq or args.steps,
        env_eval_freq=0,
        wandb=WandBConfig(enable=False),
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        cfg = make_train_config(args)
    except (FileExistsError, FileNotFoundError, ValueError) as err:
        print(f"salus-train-vla: {err}", file=sys.stderr)
        return 2
    from lerobot.scripts.lerobot_train import train

    train(cfg)
    last = args.output_dir / "checkpoints" / "last" / "pretrained_model"
    print(f"salus-train-vla: done; checkpoint {last}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
