"""PNG figures of the predictor report (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from salus_monitor.core.evaluation import ScoredEpisode, step_rows  # noqa: E402
from salus_monitor.core.metrics import pr_curve, roc_curve  # noqa: E402


def roc_pr_figure(
    scored: Sequence[ScoredEpisode],
    horizon: int,
    horizon_s: float,
    failure_types: Sequence[str],
    path: Path,
    baselines: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
) -> Path:
    """ROC and PR curves at one horizon: each failure type, "any failure", and baseline scores."""
    probs, labels = step_rows(scored)
    fig, (ax_roc, ax_pr) = plt.subplots(1, 2, figsize=(11, 4.5))
    curves = [("any failure", probs[:, horizon].max(axis=1), labels[:, horizon].any(axis=1))]
    curves += [(name, probs[:, horizon, k], labels[:, horizon, k]) for k, name in enumerate(failure_types)]
    for name, score, y in curves:
        if y.sum() == 0:
            continue
        fpr, tpr = roc_curve(score, y)
        recall, precision = pr_curve(score, y)
        style = {"lw": 2.5} if name == "any failure" else {"lw": 1.2}
        ax_roc.plot(fpr, tpr, label=name, **style)
        ax_pr.plot(recall, precision, label=name, **style)
    for name, (score, y) in (baselines or {}).items():
        fpr, tpr = roc_curve(score, y)
        recall, precision = pr_curve(score, y)
        ax_roc.plot(fpr, tpr, "--", color="gray", label=f"{name} (any)")
        ax_pr.plot(recall, precision, "--", color="gray", label=f"{name} (any)")
    ax_roc.plot([0, 1], [0, 1], ":", color="black", lw=0.8, label="chance")
    ax_roc.set(
        xlabel="false-positive rate", ylabel="true-positive rate", title=f"ROC, steps, {horizon_s:g} s"
    )
    ax_pr.set(xlabel="recall", ylabel="precision", title=f"precision-recall, steps, {horizon_s:g} s")
    for ax in (ax_roc, ax_pr):
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower right" if ax is ax_roc else "upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def timelines_figure(
    samples: Sequence[ScoredEpisode], threshold: float, failure_types: Sequence[str], path: Path
) -> Path:
    """Risk over time of sample episodes: max_risk, the per-type risk at the longest horizon, the onset."""
    fig, axes = plt.subplots(len(samples), 1, figsize=(10, 2.2 * len(samples)), squeeze=False)
    for ax, s in zip(axes[:, 0], samples, strict=True):
        ep = s.episode
        ax.plot(ep.t, s.risk, color="black", lw=1.8, label="max_risk")
        for k, name in enumerate(failure_types):
            ax.plot(ep.t, s.probs[:, -1, k], lw=0.9, alpha=0.8, label=f"{name} (longest horizon)")
        ax.axhline(threshold, color="red", ls="--", lw=1, label=f"threshold {threshold:.2f}")
        if ep.failed:
            ax.axvline(ep.onset_s, color="purple", lw=1.5, label=f"onset ({ep.outcome})")
        ax.set_ylim(-0.02, 1.02)
        ax.set_ylabel("P")
        scenario = "+".join(ep.perturbations) or "none"
        ax.set_title(f"{ep.episode_id} [{scenario}]: {ep.outcome}", fontsize=9, loc="left")
        ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=7, ncol=3, loc="upper left")
    axes[-1, 0].set_xlabel("time since episode start [s]")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _finish(fig, ax, path: Path, legend: bool = True) -> Path:
    """Grid, legend, tight layout, save, close: the end of every figure here."""
    ax.grid(alpha=0.3)
    if legend:
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def lead_time_figure(lead_times_s: Sequence[float], path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(6, 3.5))
    if lead_times_s:
        ax.hist(lead_times_s, bins=min(30, max(5, len(lead_times_s) // 3)), color="tab:blue", alpha=0.8)
        ax.axvline(float(np.median(lead_times_s)), color="red", ls="--", label="median")
    ax.set(xlabel="lead time: onset - first alert [s]", ylabel="failed episodes", title="alert lead time")
    return _finish(fig, ax, path, legend=bool(lead_times_s))


def training_figure(history: Sequence[dict], path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(6, 3.5))
    epochs = [h["epoch"] for h in history]
    ax.plot(epochs, [h["train_loss"] for h in history], label="train")
    ax.plot(epochs, [h["val_loss"] for h in history], label="validation")
    ax.set(xlabel="epoch", ylabel="focal loss", title="training")
    return _finish(fig, ax, path)
