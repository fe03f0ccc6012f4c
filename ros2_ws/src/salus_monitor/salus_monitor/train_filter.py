"""salus-train-filter: train the safety filter's manifold and dynamics model on a SALUS Zarr store.

Usage::

    salus-train-filter --store data/vla.zarr --out runs/filter
    salus-train-filter --store data/vla.zarr --out runs/filter --epochs 50 --unsafe-window 1.5

The episodes are split as salus-train-predictor splits them (same seed: same train / val episodes), the
manifold learns from triplets mined on the training episodes (unsafe: actions in the window before a
failure onset; safe: the actions taken at the nearest states of successful episodes), the dynamics model
from all their transitions. Printed and stored in ``filter.json``: the validation triplet accuracy, the
median distance of safe and unsafe validation actions to the safe cluster, and the dynamics model's
per-joint RMSE beside the persistence and reach-the-target baselines.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from salus_monitor.core.episodes import StoreError, load_episodes
from salus_monitor.core.safety_filter import FilterTrainConfig, SafetyFilter
from salus_monitor.core.splits import DEFAULT_FRACTIONS, split_episodes


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="salus-train-filter", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--store", type=Path, required=True, help="Zarr store from salus-bag2zarr")
    p.add_argument("--out", type=Path, required=True, help="checkpoint folder (created or replaced)")
    p.add_argument("--epochs", type=int, default=FilterTrainConfig.epochs)
    p.add_argument("--unsafe-window", type=float, default=FilterTrainConfig.unsafe_window_s, metavar="S")
    p.add_argument("--seed", type=int, default=0, help="training seed")
    p.add_argument("--split-seed", type=int, default=0, help="episode split seed (as the predictor's)")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = FilterTrainConfig(epochs=args.epochs, unsafe_window_s=args.unsafe_window, seed=args.seed)
    try:
        episodes, _ = load_episodes(args.store)
        split = split_episodes(episodes, args.split_seed, DEFAULT_FRACTIONS)
        with tqdm(total=2 * cfg.epochs, desc="train filter", unit="epoch") as bar:

            def progress(part: str, epoch: int, record: dict) -> None:
                bar.update(1)
                loss = record.get("total", record.get("loss", float("nan")))
                bar.set_postfix(part=part, loss=f"{loss:.4f}")

            safety_filter = SafetyFilter.train(episodes, set(split.train), set(split.val), cfg, progress)
    except (StoreError, ValueError, OSError) as exc:
        print(f"salus-train-filter: error: {exc}", file=sys.stderr)
        return 2
    safety_filter.extra["store"] = str(args.store)
    safety_filter.save(args.out)
    x = safety_filter.extra
    rmse = {k: float(np.mean(v[:7])) for k, v in x["val_dynamics_rmse"].items()}
    print(
        f"triplets: {x['triplets']['train']} train, {x['triplets']['val']} val; val triplet accuracy "
        f"{x['val_triplet_accuracy']:.3f}; median distance to the safe cluster: safe "
        f"{x['val_median_distance']['safe']:.2f}, unsafe {x['val_median_distance']['unsafe']:.2f}"
    )
    print(
        "dynamics, val RMSE of the next arm-joint state [rad]: "
        + ", ".join(f"{k} {v:.4f}" for k, v in rmse.items())
    )
    print(f"checkpoint: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
