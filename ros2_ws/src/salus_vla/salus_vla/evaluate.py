"""salus-eval-vla: closed-loop success rate of a SmolVLA checkpoint in the MuJoCo pick-and-place sim.

Usage::

    salus-eval-vla --checkpoint runs/train/tiny/checkpoints/last/pretrained_model --episodes 20 --seed 1000
    salus-eval-vla --checkpoint CKPT --episodes 50 --inject push mass --device cuda --json runs/eval.jsonl
    salus-eval-vla --checkpoint CKPT --inject gripper_fault --set 'gripper_fault.delay_range_s=[1.0,2.0]'

In-process and in lockstep (no ROS; the sim waits for every action, so figures are upper bounds of what
the graph achieves in real time): the policy acts through :class:`salus_vla.core.controller.VlaController`,
the same K-sample ensemble, chunking and signals the ``vla_ensemble_node`` runs, and the environment is
the lockstep environment named by ``--env`` (``mujoco``: the MuJoCo sim with the same labels and seeded
injections as the sim node, registered by ``salus_sim``; see ``salus_common.lockstep_env``). Cameras
render at the resolution the checkpoint was trained on. Episode i uses seed ``--seed + i``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from tqdm import tqdm

from salus_common.episode_summary import EpisodeRecord, format_episode_line, format_summary
from salus_common.lockstep_env import LockstepEnv, make_env
from salus_common.names import PERTURBATION_TYPES, TASK_INSTRUCTION
from salus_vla.core.controller import ControlStep, VlaController
from salus_vla.core.policy_loader import LoadedPolicy, check_features, load_policy


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="salus-eval-vla", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--checkpoint", required=True, help="pretrained_model folder or hub id")
    parser.add_argument("--backbone-dir", help="local SmolVLM backbone replacing the checkpoint's")
    parser.add_argument("--episodes", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1000, help="episode i uses seed + i")
    parser.add_argument(
        "--env",
        default="mujoco",
        help="lockstep environment: an installed name (default: mujoco) or module:factory",
    )
    parser.add_argument("--inject", nargs="*", default=[], choices=list(PERTURBATION_TYPES))
    parser.add_argument(
        "--set", nargs="*", default=[], metavar="TYPE.KEY=VALUE", help="override an injection parameter"
    )
    parser.add_argument("--num-samples", type=int, default=5, help="K, ensemble size")
    parser.add_argument("--n-action-steps", type=int, help="actions per chunk (default: the checkpoint's)")
    parser.add_argument(
        "--flow-steps", type=int, help="flow-matching steps per chunk (default: the checkpoint's)"
    )
    parser.add_argument(
        "--blend-steps", type=int, default=3, help="cross-fade at a chunk switch (default 3, as the node)"
    )
    parser.add_argument(
        "--noise-seed", type=int, default=0, help="the ensemble's noise seed (default 0, as the node's seed)"
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", help="VLM dtype (default: as loaded)")
    parser.add_argument("--task", default=TASK_INSTRUCTION)
    parser.add_argument("--json", type=Path, help="append one JSON record per episode to this file")
    return parser


def camera_hw(loaded: LoadedPolicy) -> tuple[int, int]:
    shapes = {tuple(feature.shape) for feature in loaded.config.image_features.values()}
    if len(shapes) != 1:
        raise ValueError(f"cameras of different sizes are not supported by the sim: {sorted(shapes)}")
    (_, height, width) = shapes.pop()
    return height, width


def run_episode(
    env: LockstepEnv,
    controller: VlaController,
    seed: int,
    on_step: Callable[[ControlStep], None] | None = None,
) -> tuple[EpisodeRecord, dict]:
    """One lockstep episode; ``on_step`` sees every control step (e.g. to collect embeddings)."""
    started = time.perf_counter()
    drawn = env.reset(seed)
    controller.reset(seed)  # the same noise per episode seed as the node draws
    inference_ms: list[float] = []
    signals: list[np.ndarray] = []
    ended = None
    for _ in range(env.max_steps):
        images = {camera: env.render(camera) for camera in env.cameras}
        step = controller.step(images, env.joint_positions())
        if step.inference_ms:
            inference_ms.append(step.inference_ms)
        signals.append(step.signals)
        if on_step is not None:
            on_step(step)
        ended = env.step(step.action)
        if ended is not None:
            break
    outcome = ended.outcome if ended is not None else "timeout"
    record = EpisodeRecord(
        episode_id=f"eval-seed{seed}",
        seed=seed,
        outcome=outcome,
        duration_s=env.time,
        failure_onset_s=ended.onset_s if ended is not None else math.nan,
        perturbations=drawn.perturbations,
        wall_s=time.perf_counter() - started,
        perturbation_params=drawn.perturbation_params,
    )
    extras = {
        "chunk_ms_mean": float(np.mean(inference_ms)) if inference_ms else None,
        "signals_mean": np.mean(signals, axis=0).round(6).tolist() if signals else None,
    }
    return record, extras


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        loaded = load_policy(
            args.checkpoint, device=args.device, dtype=args.dtype, backbone_dir=args.backbone_dir
        )
        env = make_env(args.env, camera_hw(loaded), args.inject, args.set)
        joints = len(env.joint_names)
        check_features(loaded, env.cameras, state_dim=joints, action_dim=joints)
    except (FileNotFoundError, ValueError) as err:
        print(f"salus-eval-vla: {err}", file=sys.stderr)
        return 2
    controller = VlaController(
        loaded,
        args.task,
        num_samples=args.num_samples,
        seed=args.noise_seed,
        n_action_steps=args.n_action_steps,
        num_flow_steps=args.flow_steps,
        blend_steps=args.blend_steps,
    )
    records: list[EpisodeRecord] = []
    with contextlib.closing(env), tqdm(total=args.episodes, unit="ep", dynamic_ncols=True) as bar:
        for i in range(args.episodes):
            record, extras = run_episode(env, controller, args.seed + i)
            records.append(record)
            bar.write(format_episode_line(i + 1, args.episodes, record))
            bar.update()
            successes = sum(r.outcome == "success" for r in records)
            bar.set_postfix(success=f"{successes}/{len(records)}")
            if args.json:
                args.json.parent.mkdir(parents=True, exist_ok=True)
                with args.json.open("a") as stream:
                    entry = {
                        **record.to_json_dict(),
                        **extras,
                        "checkpoint": args.checkpoint,
                        "num_samples": args.num_samples,
                        "env": args.env,
                        "mode": "lockstep",
                        "inject": args.inject,
                        "set": args.set,
                    }
                    stream.write(json.dumps(entry) + "\n")
    print("\n" + format_summary(records))
    return 0


if __name__ == "__main__":
    sys.exit(main())
