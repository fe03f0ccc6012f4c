"""salus-eval-predictor: the failure predictor's report (Markdown + PNG + JSON) on held-out episodes.

Usage::

    salus-eval-predictor --checkpoint runs/predictor/mlp --store data/vla.zarr --out runs/predictor/mlp_report
    salus-eval-predictor --checkpoint runs/predictor/mlp --store data/vla.zarr --out ... --ablation

The test episodes are the ``test`` part of the split stored in the checkpoint (for an unseen-injection
checkpoint: every episode with the held-out injection). The report gives, per horizon and failure type,
step-level AUROC, PR-AUC, F1, precision and recall (F1 at the validation F1-optimal threshold); episode-level
AUROC on the running maximum (SAFE's protocol); the conformal threshold, the measured false-positive rate on
held-out successful episodes, the detection rate and lead time; baselines (ensemble variance alone, a linear
probe on the same signals, a linear probe on the prefix hidden state where the store has it, chance) and,
with ``--ablation``, each signal alone and the MLP retrained without each signal.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from salus_common.names import SIGNAL_NAMES
from salus_monitor.core.episodes import Episode, StoreError, load_episodes, scenario_name
from salus_monitor.core.evaluation import (
    ANY,
    AlertMetrics,
    ScoredEpisode,
    alert_metrics,
    episode_auroc,
    episode_auroc_by_type,
    episode_auroc_of,
    step_metrics,
    step_rows,
)
from salus_monitor.core.metrics import auroc, average_precision
from salus_monitor.core.predictor import CheckpointError, FailurePredictor
from salus_monitor.core.report_plots import lead_time_figure, roc_pr_figure, timelines_figure, training_figure
from salus_monitor.core.splits import Split, select
from salus_monitor.core.training import TrainConfig, train_predictor

REPORT_HORIZON = 1  # 0.3 s: the horizon of the seed's F1 targets
VARIANCE = SIGNAL_NAMES.index("action_variance")  # the ensemble-variance baseline's signal


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="salus-eval-predictor", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--checkpoint", type=Path, required=True)
    p.add_argument("--store", type=Path, help="Zarr store (default: the one the checkpoint was trained on)")
    p.add_argument("--out", type=Path, required=True, help="report folder (report.md, *.png, metrics.json)")
    p.add_argument("--alpha", type=float, help="alert false-alarm target (default: the checkpoint's)")
    p.add_argument("--ablation", action="store_true", help="also retrain without each signal (minutes)")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    return p


def fmt(x: float, digits: int = 3) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def scored_episodes(predictor: FailurePredictor, episodes: list[Episode]) -> list[ScoredEpisode]:
    return [ScoredEpisode(ep, predictor.predict_episode(ep.signals)) for ep in episodes]


def variance_scores(episodes: list[Episode]) -> list[np.ndarray]:
    """The ensemble-variance baseline: the raw ``action_variance`` signal as the risk of every cell."""
    return [ep.signals[:, VARIANCE].astype(np.float64) for ep in episodes]


def variance_step_rows(episodes: list[Episode], horizon: int) -> tuple[np.ndarray, np.ndarray]:
    scores, labels = [], []
    for ep in episodes:
        keep = np.isfinite(ep.signals[:, VARIANCE]) & ~ep.post_onset
        scores.append(ep.signals[keep, 0])
        labels.append(ep.labels[keep, horizon].any(axis=1))
    return np.concatenate(scores), np.concatenate(labels)


def hidden_state_probe(
    episodes: list[Episode],
    split: Split,
    test: list[Episode],
    probe_cfg: TrainConfig,
    horizons: tuple[float, ...],
    types: tuple[str, ...],
) -> tuple[list[ScoredEpisode], dict, AlertMetrics] | None:
    """The linear probe on the prefix embedding (None when the store has none): scored test episodes,
    step metrics and alert metrics, as for the predictor."""
    if any(ep.embedding is None for ep in episodes):
        return None
    as_signals = [replace(ep, signals=ep.embedding) for ep in episodes]
    dim = as_signals[0].signals.shape[1]
    names = tuple(f"prefix_embedding_{i}" for i in range(dim))
    cfg = replace(probe_cfg, signals=None)
    probe = train_predictor(as_signals, split, names, horizons, types, cfg).predictor
    by_id = {ep.episode_id: ep for ep in as_signals}
    scored = scored_episodes(probe, [by_id[ep.episode_id] for ep in test])
    cells = step_metrics(scored, probe.meta.cell_thresholds, probe.meta.extra["any_thresholds"], types)
    return scored, cells, alert_metrics(scored, probe.meta.threshold)


def sample_episodes(scored: list[ScoredEpisode]) -> list[ScoredEpisode]:
    """One episode per outcome (the first in store order), successes first."""
    chosen: dict[str, ScoredEpisode] = {}
    for s in scored:
        chosen.setdefault(s.episode.outcome, s)
    order = ["success", "collision", "drop", "timeout", "other"]
    return [chosen[o] for o in order if o in chosen]


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        predictor = FailurePredictor.load(args.checkpoint)
        meta = predictor.meta
        store = args.store or Path(meta.extra.get("store", ""))
        episodes, info = load_episodes(store, embedding=True)
        split = Split.from_dict(meta.extra["split"])
        test = select(episodes, split.test)
    except (CheckpointError, StoreError, ValueError, KeyError, OSError) as exc:
        print(f"salus-eval-predictor: error: {exc}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    alpha = args.alpha if args.alpha is not None else meta.alpha
    threshold = predictor.threshold_for(alpha)
    horizons, types = meta.horizons_s, meta.failure_types
    any_thresholds = meta.extra["any_thresholds"]

    scored = scored_episodes(predictor, test)
    cells = step_metrics(scored, meta.cell_thresholds, any_thresholds, types)
    alerts = alert_metrics(scored, threshold)
    ep_auroc = episode_auroc(scored)
    ep_auroc_by_type = episode_auroc_by_type(scored, types)

    # Baselines --------------------------------------------------------------------------------------
    var_ep_auroc = episode_auroc_of(variance_scores(test), test)
    var_scores, var_labels = variance_step_rows(test, REPORT_HORIZON)
    train_cfg = TrainConfig.from_dict(meta.extra["train_config"], f"{args.checkpoint}: train_config")
    probe_cfg = replace(train_cfg, kind="mlp", window=1, hidden=(), dropout=0.0)
    probe = train_predictor(episodes, split, info.signal_names, horizons, types, probe_cfg).predictor
    probe_scored = scored_episodes(probe, test)
    probe_cells = step_metrics(
        probe_scored, probe.meta.cell_thresholds, probe.meta.extra["any_thresholds"], types
    )
    probe_alerts = alert_metrics(probe_scored, probe.meta.threshold)
    hidden_probe = hidden_state_probe(episodes, split, test, probe_cfg, horizons, types)
    probs, labels = step_rows(scored)
    prevalence = float(labels[:, REPORT_HORIZON].any(axis=1).mean())

    # Ablation ---------------------------------------------------------------------------------------
    single, drop_one = {}, {}
    for i, name in enumerate(info.signal_names):
        single[name] = episode_auroc_of([ep.signals[:, i].astype(np.float64) for ep in test], test)
    if args.ablation:
        inputs = list(meta.signal_names)
        for name in tqdm(inputs, desc="ablation: retrain without each signal", unit="signal"):
            cfg = replace(train_cfg, signals=tuple(n for n in inputs if n != name))
            model = train_predictor(episodes, split, info.signal_names, horizons, types, cfg).predictor
            s = scored_episodes(model, test)
            c = step_metrics(s, model.meta.cell_thresholds, model.meta.extra["any_thresholds"], types)
            drop_one[name] = (episode_auroc(s), c[(REPORT_HORIZON, ANY)].f1, c[(REPORT_HORIZON, ANY)].auroc)

    # Figures ----------------------------------------------------------------------------------------
    roc_pr_figure(
        scored,
        REPORT_HORIZON,
        horizons[REPORT_HORIZON],
        types,
        args.out / "roc_pr_300ms.png",
        baselines={"ensemble variance": (var_scores, var_labels)},
    )
    timelines_figure(sample_episodes(scored), threshold, types, args.out / "risk_timelines.png")
    lead_time_figure(alerts.lead_times_s, args.out / "lead_time_hist.png")
    training_figure(meta.extra["history"], args.out / "training.png")

    # Report -----------------------------------------------------------------------------------------
    all_counts = Counter(ep.outcome for ep in episodes)
    test_counts = Counter(ep.outcome for ep in test)
    scenario_counts: dict[str, Counter] = {}
    for ep in episodes:
        scenario_counts.setdefault(scenario_name(ep), Counter())[ep.outcome] += 1
    outcomes = ["success", *types]
    lines = [
        f"# Failure predictor report: `{args.checkpoint}`",
        "",
        f"Model `{meta.model.kind}` (window {meta.model.window}, hidden {list(meta.model.hidden)}), inputs: "
        f"{len(meta.signal_names)} signals; store `{store}`. Generated by `salus-eval-predictor` "
        f"(rerun: `salus-eval-predictor --checkpoint {args.checkpoint} --store {store} --out {args.out}"
        f"{' --ablation' if args.ablation else ''}`).",
        "",
        "## Data",
        "",
        f"{len(episodes)} episodes with signals, {sum(len(ep.t) for ep in episodes)} control steps.",
        "",
        table(
            ["scenario", *outcomes, "episodes"],
            [
                [sc, *(str(c.get(o, 0)) for o in outcomes), str(sum(c.values()))]
                for sc, c in sorted(scenario_counts.items())
            ]
            + [["**all**", *(str(all_counts.get(o, 0)) for o in outcomes), str(len(episodes))]],
        ),
        "",
        f"Split (seed {split.seed}, by episode, stratified by outcome): train {len(split.train)}, val "
        f"{len(split.val)}, cal {len(split.cal)}, test {len(split.test)}"
        + (
            f"; **unseen injection**: every `{split.holdout_injection}` episode is test data and none is in "
            "train/val/cal."
            if split.holdout_injection
            else "."
        ),
        f"Test outcomes: {dict(test_counts)}. "
        f"Best epoch {meta.extra['best_epoch']} of {len(meta.extra['history'])}.",
        "",
        "## Step level (held-out steps before the onset; F1 at the validation F1-optimal threshold)",
        "",
    ]
    rows = []
    for h, hs in enumerate(horizons):
        for name in [*types, ANY]:
            c = cells[(h, name)]
            rows.append(
                [
                    f"{hs:g} s",
                    f"**{name}**" if name == ANY else name,
                    fmt(c.auroc),
                    fmt(c.pr_auc),
                    fmt(c.f1),
                    fmt(c.precision),
                    fmt(c.recall),
                    str(c.positives),
                    str(c.steps),
                ]
            )
    lines += [
        table(
            ["horizon", "type", "AUROC", "PR-AUC", "F1", "precision", "recall", "positives", "steps"], rows
        ),
        "",
    ]
    c300 = cells[(REPORT_HORIZON, ANY)]
    lines += [
        "## Episode level and alerts",
        "",
        f"- Episode-level AUROC (running max of max_risk up to the onset): **{fmt(ep_auroc)}** "
        f"over {len(test)} test episodes; per failure type (its episodes against all successes): "
        + ", ".join(f"{name} {fmt(v)}" for name, v in ep_auroc_by_type.items())
        + ".",
        f"- Conformal threshold: split conformal at the episode level on {len(meta.calibration_scores)} "
        "successful "
        f"calibration episodes, alpha = {alpha}: threshold **{threshold:.4f}**"
        + (
            ""
            if meta.extra["conformal"]["guarantee_holds"]
            else " (too few calibration successes for the guarantee)"
        )
        + ".",
        f"- Measured false-positive rate on {alerts.num_success} held-out successful episodes: "
        f"**{fmt(alerts.fpr)}** "
        f"(target alpha {alpha}).",
        f"- Detection: {fmt(alerts.detection_rate)} of {alerts.num_failed} failed episodes alerted before "
        "the onset; "
        f"median lead time **{fmt(alerts.median_lead_s, 2)} s** (onset - first alert).",
        "",
        "## Baselines (same test episodes)",
        "",
        table(
            [
                "method",
                "episode AUROC",
                "AUROC any@0.3 s",
                "PR-AUC any@0.3 s",
                "F1 any@0.3 s",
                "alert FPR",
                "median lead s",
            ],
            [
                [
                    f"SALUS {meta.model.kind}",
                    fmt(ep_auroc),
                    fmt(c300.auroc),
                    fmt(c300.pr_auc),
                    fmt(c300.f1),
                    fmt(alerts.fpr),
                    fmt(alerts.median_lead_s, 2),
                ],
                [
                    "linear probe on the signals",
                    fmt(episode_auroc(probe_scored)),
                    fmt(probe_cells[(REPORT_HORIZON, ANY)].auroc),
                    fmt(probe_cells[(REPORT_HORIZON, ANY)].pr_auc),
                    fmt(probe_cells[(REPORT_HORIZON, ANY)].f1),
                    fmt(probe_alerts.fpr),
                    fmt(probe_alerts.median_lead_s, 2),
                ],
                *(
                    [
                        [
                            "linear probe on the prefix hidden state",
                            fmt(episode_auroc(hidden_probe[0])),
                            fmt(hidden_probe[1][(REPORT_HORIZON, ANY)].auroc),
                            fmt(hidden_probe[1][(REPORT_HORIZON, ANY)].pr_auc),
                            fmt(hidden_probe[1][(REPORT_HORIZON, ANY)].f1),
                            fmt(hidden_probe[2].fpr),
                            fmt(hidden_probe[2].median_lead_s, 2),
                        ]
                    ]
                    if hidden_probe
                    else []
                ),
                [
                    "ensemble variance alone",
                    fmt(var_ep_auroc),
                    fmt(auroc(var_scores, var_labels)),
                    fmt(average_precision(var_scores, var_labels)),
                    "-",
                    "-",
                    "-",
                ],
                [
                    "chance",
                    "0.500",
                    "0.500",
                    fmt(prevalence),
                    fmt(2 * prevalence / (1 + prevalence)),
                    "-",
                    "-",
                ],
            ],
        ),
        "",
        "Chance: a random score (AUROC 0.5, PR-AUC = the positive rate, F1 of alerting on every step). "
        + (
            "The hidden-state probe is a linear layer (trained as the predictor, focal loss, same split) on "
            "the prefix embedding (data/prefix_embedding: the mean final prefix hidden state of a chunk)."
            if hidden_probe
            else "A linear probe on the VLA's prefix hidden state needs data/prefix_embedding, which this "
            "store does not hold (recorded without the extended signals): not run."
        ),
        "",
        "## Signals",
        "",
        "Each signal alone (episode AUROC of its running maximum; < 0.5 means lower values precede failure)"
        + (", and the model retrained without it:" if drop_one else ":"),
        "",
    ]
    sig_rows = []
    for name in info.signal_names:
        row = [name, fmt(single[name])]
        if drop_one:
            d = drop_one.get(name)
            row += [fmt(d[0]), fmt(d[2]), fmt(d[1])] if d else ["-", "-", "-"]
        sig_rows.append(row)
    header = ["signal", "alone: episode AUROC"]
    if drop_one:
        header += ["without it: episode AUROC", "AUROC any@0.3 s", "F1 any@0.3 s"]
    lines += [table(header, sig_rows), ""]
    lines += [
        "## Figures",
        "",
        "![ROC and PR at 0.3 s](roc_pr_300ms.png)",
        "",
        "![risk timelines](risk_timelines.png)",
        "",
        "![lead time](lead_time_hist.png)",
        "",
        "![training](training.png)",
        "",
    ]
    (args.out / "report.md").write_text("\n".join(lines))
    metrics = {
        "episode_auroc": ep_auroc,
        "episode_auroc_by_type": ep_auroc_by_type,
        "threshold": threshold,
        "alpha": alpha,
        "fpr_heldout_success": alerts.fpr,
        "detection_rate": alerts.detection_rate,
        "median_lead_s": alerts.median_lead_s,
        "f1_any_300ms": c300.f1,
        "auroc_any_300ms": c300.auroc,
        "cells": {f"{horizons[h]:g}s/{name}": vars(c) for (h, name), c in cells.items()},
        "baselines": {
            "linear_probe_episode_auroc": episode_auroc(probe_scored),
            "variance_episode_auroc": var_ep_auroc,
            "hidden_probe_episode_auroc": episode_auroc(hidden_probe[0]) if hidden_probe else None,
        },
        "single_signal_episode_auroc": single,
        "drop_one": {
            k: {"episode_auroc": v[0], "f1_any_300ms": v[1], "auroc_any_300ms": v[2]}
            for k, v in drop_one.items()
        },
        "test_episodes": len(test),
    }
    (args.out / "metrics.json").write_text(json.dumps(metrics, indent=1, default=float) + "\n")
    print(
        f"episode AUROC {fmt(ep_auroc)}; F1 any@0.3 s {fmt(c300.f1)}; "
        f"FPR {fmt(alerts.fpr)} at alpha {alpha}; "
        f"median lead {fmt(alerts.median_lead_s, 2)} s; report {args.out / 'report.md'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
