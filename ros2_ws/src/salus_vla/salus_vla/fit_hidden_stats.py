"""salus-fit-hidden-stats: the prefix-embedding statistics behind the ``hidden_mahalanobis`` signal.

Usage::

    salus-fit-hidden-stats --checkpoint models/default/pretrained_model --episodes 30 --seed 500
    salus-fit-hidden-stats --checkpoint CKPT --out stats.safetensors --device cuda

Runs the checkpoint in lockstep (as ``salus-eval-vla``: the same K-sample ensemble and chunking) on
unperturbed episodes of the lockstep environment, keeps the prefix embedding of every chunk of the episodes
that succeed (nominal operation, the distribution the policy was trained to produce), and fits their mean
and Ledoit-Wolf-shrunk precision. Written beside the weights (``salus_hidden_stats.safetensors``) unless
``--out`` says otherwise; the VLA node reads it when ``extended_signals`` is on. Why the policy's own
successful rollouts and not the demonstrations: the demonstrations are not shipped with a checkpoint, and
the rollouts are what the policy sees when it works, from the same sim seeds' distribution.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

from salus_common.lockstep_env import make_env
from salus_common.names import TASK_INSTRUCTION
from salus_vla.core.controller import ControlStep, VlaController
from salus_vla.core.extended_signals import HIDDEN_STATS_FILE, HiddenStats, hidden_stats_path
from salus_vla.core.policy_loader import check_features, load_policy
from salus_vla.evaluate import camera_hw, run_episode


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="salus-fit-hidden-stats",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--checkpoint", required=True, help="pretrained_model folder")
    p.add_argument("--backbone-dir", help="local SmolVLM backbone replacing the checkpoint's")
    p.add_argument("--episodes", type=int, default=30)
    p.add_argument("--seed", type=int, default=500, help="episode i uses seed + i (keep clear of eval seeds)")
    p.add_argument("--env", default="mujoco", help="lockstep environment (default: mujoco)")
    p.add_argument("--num-samples", type=int, default=5, help="K, as the node")
    p.add_argument("--device", default="cpu")
    p.add_argument(
        "--include-failures",
        action="store_true",
        help="keep the chunks of failed episodes too (a policy under development; tests)",
    )
    p.add_argument("--out", type=Path, help=f"output file (default: CHECKPOINT/{HIDDEN_STATS_FILE})")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    out = args.out or hidden_stats_path(args.checkpoint)
    try:
        loaded = load_policy(args.checkpoint, device=args.device, backbone_dir=args.backbone_dir)
        env = make_env(args.env, camera_hw(loaded), [], [])
        joints = len(env.joint_names)
        check_features(loaded, env.cameras, state_dim=joints, action_dim=joints)
    except (FileNotFoundError, ValueError) as err:
        print(f"salus-fit-hidden-stats: {err}", file=sys.stderr)
        return 2
    controller = VlaController(loaded, TASK_INSTRUCTION, num_samples=args.num_samples, blend_steps=3)
    kept: list[np.ndarray] = []
    successes = 0
    with contextlib.closing(env), tqdm(total=args.episodes, unit="ep", dynamic_ncols=True) as bar:
        for i in range(args.episodes):
            chunks: dict[int, np.ndarray] = {}

            def keep(step: ControlStep, chunks: dict[int, np.ndarray] = chunks) -> None:
                if step.prefix_embedding is not None:
                    chunks.setdefault(step.chunk_index, step.prefix_embedding)

            record, _ = run_episode(env, controller, args.seed + i, on_step=keep)
            successes += record.outcome == "success"
            if record.outcome == "success" or args.include_failures:
                kept.extend(chunks.values())
            bar.update()
            bar.set_postfix(success=f"{successes}/{i + 1}", chunks=len(kept))
    if len(kept) < 2:
        print(
            f"salus-fit-hidden-stats: {successes} of {args.episodes} episodes succeeded, {len(kept)} chunks: "
            "too few to fit (more --episodes, or a policy that works)",
            file=sys.stderr,
        )
        return 1
    info = {
        "checkpoint": str(args.checkpoint),
        "episodes": args.episodes,
        "seeds": [args.seed, args.seed + args.episodes - 1],
        "successful_episodes": successes,
        "includes_failures": args.include_failures,
        "env": args.env,
        "num_samples": args.num_samples,
    }
    stats = HiddenStats.fit(np.stack(kept), info)
    in_sample = np.array([stats.distance(h) for h in kept])
    stats.save(out)
    print(
        f"{len(kept)} chunks of {successes} successful episodes, {stats.dim} features, Ledoit-Wolf shrinkage "
        f"{stats.shrinkage:.3f}; in-sample distance median {np.median(in_sample):.1f} "
        f"(p95 {np.percentile(in_sample, 95):.1f}); wrote {out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
