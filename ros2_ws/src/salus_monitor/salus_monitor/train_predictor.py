"""salus-train-predictor: train the multi-horizon x type failure predictor on a SALUS Zarr store.

Usage::

    salus-train-predictor --store data/vla.zarr --out runs/predictor/mlp
    salus-train-predictor --store data/vla.zarr --out runs/predictor/gru --kind gru --window 10
    salus-train-predictor --store data/vla.zarr --out runs/predictor/gru --kind gru --signal-set base
    salus-train-predictor --store data/vla.zarr --out runs/predictor/unseen_push --holdout-injection push
    salus-train-predictor --store data/vla.zarr --out runs/predictor/mlp --config config/predictor.yaml

Episodes are split by episode (seeded, stratified by outcome) into train / val / cal / test; with
``--holdout-injection TYPE`` every episode with that injection is test data (SAFE's unseen-task protocol).
The checkpoint folder holds ``model.safetensors`` and ``predictor.json`` (model config, normalization,
split, calibration scores, the conformal threshold at ``--alpha``, training history); evaluate it with
``salus-eval-predictor``. Options given on the command line override the ``--config`` file.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
import yaml
from tqdm import tqdm

from salus_common.names import EXTENDED_SIGNAL_NAMES, SIGNAL_NAMES
from salus_monitor.core.episodes import StoreError, load_episodes, outcome_counts
from salus_monitor.core.splits import DEFAULT_FRACTIONS, split_episodes
from salus_monitor.core.training import TrainConfig, train_predictor

SIGNAL_SETS: dict[str, list[str]] = {
    "base": list(SIGNAL_NAMES),
    "extended": [*SIGNAL_NAMES, *EXTENDED_SIGNAL_NAMES],
    "extended-no-time": [*SIGNAL_NAMES, *(n for n in EXTENDED_SIGNAL_NAMES if n != "episode_time")],
}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="salus-train-predictor",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--store", type=Path, required=True, help="Zarr store from salus-bag2zarr")
    p.add_argument(
        "--out", type=Path, required=True, help="checkpoint folder (created; replaced if it holds one)"
    )
    p.add_argument("--config", type=Path, help="YAML with TrainConfig keys (kind, window, epochs, ...)")
    p.add_argument("--kind", choices=["mlp", "gru"])
    p.add_argument("--window", type=int, help="steps the model reads (gru: e.g. 10; mlp: 1)")
    p.add_argument("--hidden", type=int, nargs="*", help="hidden widths (mlp: 64 128; none: a linear probe)")
    p.add_argument("--dropout", type=float, help="dropout between layers (0.1)")
    p.add_argument("--epochs", type=int)
    p.add_argument("--patience", type=int, help="early stopping: epochs without a better val loss")
    p.add_argument("--lr", type=float)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--focal-gamma", type=float)
    p.add_argument("--alpha", type=float, help="target false-alarm rate of the conformal threshold (0.1)")
    p.add_argument("--signals", nargs="*", help="train on these signals only (ablations)")
    p.add_argument(
        "--signal-set",
        choices=sorted(SIGNAL_SETS),
        help="a named input set: base (the 12), extended (all), extended-no-time (all but episode_time)",
    )
    p.add_argument("--seed", type=int, help="training seed (0)")
    p.add_argument("--split-seed", type=int, default=0, help="episode split seed (0)")
    p.add_argument("--fractions", type=float, nargs=4, default=list(DEFAULT_FRACTIONS), metavar="F")
    p.add_argument("--holdout-injection", help="test on every episode with this injection, train on none")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def resolve_config(args: argparse.Namespace) -> TrainConfig:
    values: dict = {}
    if args.config is not None:
        values.update(yaml.safe_load(args.config.read_text()) or {})
    for name in (
        "kind",
        "window",
        "hidden",
        "dropout",
        "epochs",
        "patience",
        "lr",
        "batch_size",
        "focal_gamma",
        "alpha",
        "seed",
        "signals",
    ):
        value = getattr(args, name)
        if value is not None:
            values[name] = value
    if args.signal_set is not None:
        if args.signals:
            raise ValueError("give --signals or --signal-set, not both")
        values["signals"] = SIGNAL_SETS[args.signal_set]
    cfg = TrainConfig.from_dict(values, str(args.config or "the options"))
    if cfg.kind == "mlp" and cfg.window != 1:
        raise ValueError("the mlp reads one step: use --window 1 (or --kind gru for a window)")
    return cfg


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        cfg = resolve_config(args)
        episodes, info = load_episodes(args.store)
        split = split_episodes(episodes, args.split_seed, args.fractions, args.holdout_injection)
    except (StoreError, ValueError, OSError) as exc:
        print(f"salus-train-predictor: error: {exc}", file=sys.stderr)
        return 2
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"{args.store}: {len(episodes)} episodes with signals, outcomes {outcome_counts(episodes)}")
    print(
        "split: "
        + ", ".join(f"{p} {len(split.part(p))}" for p in ("train", "val", "cal", "test"))
        + (f" (test = every '{args.holdout_injection}' episode)" if args.holdout_injection else "")
    )
    bar = tqdm(total=cfg.epochs, desc=f"train {cfg.kind}", unit="epoch", disable=args.quiet)

    def progress(epoch: int, record: dict) -> None:
        bar.update(1)
        bar.set_postfix(train=f"{record['train_loss']:.4f}", val=f"{record['val_loss']:.4f}")

    try:
        result = train_predictor(
            episodes, split, info.signal_names, info.horizons_s, info.failure_types, cfg, progress
        )
    except ValueError as exc:
        bar.close()
        print(f"salus-train-predictor: error: {exc}", file=sys.stderr)
        return 2
    bar.close()
    meta = result.predictor.meta
    meta.extra["store"] = str(args.store)
    result.predictor.save(args.out)
    print(
        f"best epoch {result.best_epoch}/{len(result.history)}; conformal threshold {meta.threshold:.4f} at "
        f"alpha {meta.alpha} from {len(meta.calibration_scores)} successful calibration episodes"
    )
    print(f"checkpoint: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
