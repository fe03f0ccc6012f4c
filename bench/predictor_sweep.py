"""Choose the failure predictor's model and inputs on the *validation* episodes, never the test episodes.

    ./salus exec python bench/predictor_sweep.py --store data/vla.zarr [--out runs/predictor_sweep.md]

Trains each candidate (kind, window, width, input set) on the same seeded split as salus-train-predictor
and prints, per candidate, the validation episode-level AUROC (running max, SAFE's protocol) and the
validation step AUROC / F1 for any failure within 0.3 s. The report's test numbers then come from the
chosen candidate alone (bench/predictor_report.sh), so the choice does not leak the test set.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from salus_common.names import EXTENDED_SIGNAL_NAMES, SIGNAL_NAMES
from salus_monitor.core.episodes import load_episodes
from salus_monitor.core.evaluation import ANY, ScoredEpisode, episode_auroc, step_metrics
from salus_monitor.core.splits import select, split_episodes
from salus_monitor.core.training import TrainConfig, train_predictor

NO_TIME = tuple(n for n in EXTENDED_SIGNAL_NAMES if n != "episode_time")
INPUT_SETS = {
    "base": SIGNAL_NAMES,
    "extended": SIGNAL_NAMES + EXTENDED_SIGNAL_NAMES,
    "extended-no-time": SIGNAL_NAMES + NO_TIME,
}
CANDIDATES = [
    # (name, input set, TrainConfig overrides)
    ("mlp base", "base", {"kind": "mlp"}),
    ("mlp extended", "extended", {"kind": "mlp"}),
    ("gru10 base", "base", {"kind": "gru", "window": 10, "hidden": (64,)}),
    ("gru10 extended-no-time", "extended-no-time", {"kind": "gru", "window": 10, "hidden": (64,)}),
    ("gru10 extended", "extended", {"kind": "gru", "window": 10, "hidden": (64,)}),
    ("gru20 extended", "extended", {"kind": "gru", "window": 20, "hidden": (64,)}),
    ("gru10x32 extended", "extended", {"kind": "gru", "window": 10, "hidden": (32,), "dropout": 0.3}),
    ("linear extended", "extended", {"kind": "mlp", "hidden": (), "dropout": 0.0}),
]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--store", type=Path, default=Path("data/vla.zarr"))
    parser.add_argument("--split-seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="also write the table here (Markdown)")
    args = parser.parse_args()
    torch.set_num_threads(2)
    episodes, info = load_episodes(args.store)
    split = split_episodes(episodes, args.split_seed)
    val = select(episodes, split.val)
    lines = [
        f"Validation episodes: {len(val)} of {len(episodes)} (split seed {args.split_seed}); "
        f"store {args.store}",
        "",
        "| candidate | inputs | val episode AUROC | val AUROC any@0.3 s | val F1 any@0.3 s | train s |",
        "|---|---|---|---|---|---|",
    ]
    for name, inputs, overrides in CANDIDATES:
        cfg = TrainConfig(**overrides, signals=INPUT_SETS[inputs])
        started = time.perf_counter()
        result = train_predictor(episodes, split, info.signal_names, info.horizons_s, info.failure_types, cfg)
        seconds = time.perf_counter() - started
        predictor = result.predictor
        scored = [ScoredEpisode(ep, predictor.predict_episode(ep.signals)) for ep in val]
        meta = predictor.meta
        cells = step_metrics(scored, meta.cell_thresholds, meta.extra["any_thresholds"], info.failure_types)
        c300 = cells[(1, ANY)]
        line = (
            f"| {name} | {len(cfg.signals)} | {episode_auroc(scored):.3f} | {c300.auroc:.3f} | {c300.f1:.3f} "
            f"| {seconds:.0f} |"
        )
        lines.append(line)
        print(line, flush=True)
    if args.out:
        args.out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
