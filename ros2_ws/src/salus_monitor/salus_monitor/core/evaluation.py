"""Numbers of the predictor report, computed from per-step probabilities of held-out episodes.

Step-level metrics (per horizon x type, and "any failure" = the largest type probability against the
label of any type) use the steps before each failure's onset and every step of successful episodes:
a step at or after the onset is a failure already happened, not predicted (see ``horizon_labels``).
Episode-level metrics follow SAFE: an episode's score is the running maximum of ``max_risk`` up to its
onset; AUROC over episodes (failed = positive). Alerts use the conformal threshold: false-positive rate on
held-out successes, detection rate and lead time (onset - first alert) on failures.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from salus_monitor.core.episodes import Episode
from salus_monitor.core.metrics import auroc, average_precision, counts_at
from salus_monitor.core.training import episode_score, max_risk, peak_before_onset

ANY = "any"


@dataclass
class ScoredEpisode:
    episode: Episode
    probs: np.ndarray  # (T, H, K); NaN rows where no prediction was made

    @property
    def risk(self) -> np.ndarray:
        """max_risk per step (NaN where withheld)."""
        return max_risk(self.probs)


@dataclass
class CellMetrics:
    auroc: float
    pr_auc: float
    f1: float
    precision: float
    recall: float
    positives: int
    steps: int


@dataclass
class AlertMetrics:
    threshold: float
    fpr: float  # share of held-out successful episodes with an alert
    num_success: int
    detection_rate: float  # share of failed episodes alerted before the onset
    num_failed: int
    lead_times_s: list[float] = field(default_factory=list)

    @property
    def median_lead_s(self) -> float:
        return float(np.median(self.lead_times_s)) if self.lead_times_s else float("nan")


def step_rows(scored: Sequence[ScoredEpisode]) -> tuple[np.ndarray, np.ndarray]:
    """Stacked (N, H, K) probabilities and labels of the evaluated steps (valid, before any onset)."""
    probs, labels = [], []
    for s in scored:
        keep = np.all(np.isfinite(s.probs.reshape(len(s.probs), -1)), axis=1) & ~s.episode.post_onset
        probs.append(s.probs[keep])
        labels.append(s.episode.labels[keep])
    if not probs:
        raise ValueError("no scored episodes")
    return np.concatenate(probs), np.concatenate(labels).astype(bool)


def cell_metrics(scores: np.ndarray, labels: np.ndarray, threshold: float) -> CellMetrics:
    c = counts_at(scores, labels, threshold)
    return CellMetrics(
        auroc=auroc(scores, labels),
        pr_auc=average_precision(scores, labels),
        f1=c.f1,
        precision=c.precision,
        recall=c.recall,
        positives=int(labels.sum()),
        steps=int(labels.size),
    )


def step_metrics(
    scored: Sequence[ScoredEpisode],
    cell_thresholds: Sequence[Sequence[float]],
    any_thresholds: Sequence[float],
    failure_types: Sequence[str],
) -> dict[tuple[int, str], CellMetrics]:
    """Per (horizon index, type name or ``any``), F1 etc. at the validation F1-optimal thresholds."""
    probs, labels = step_rows(scored)
    out: dict[tuple[int, str], CellMetrics] = {}
    for h in range(probs.shape[1]):
        for k, name in enumerate(failure_types):
            out[(h, name)] = cell_metrics(probs[:, h, k], labels[:, h, k], cell_thresholds[h][k])
        out[(h, ANY)] = cell_metrics(probs[:, h].max(axis=1), labels[:, h].any(axis=1), any_thresholds[h])
    return out


def episode_auroc(scored: Sequence[ScoredEpisode]) -> float:
    scores = [episode_score(s.probs, s.episode) for s in scored]
    return auroc(np.asarray(scores), np.asarray([s.episode.failed for s in scored]))


def episode_auroc_by_type(scored: Sequence[ScoredEpisode], failure_types: Sequence[str]) -> dict[str, float]:
    """Episode AUROC of each failure type's episodes against all successful ones (NaN for a type with none):
    which failures the score separates from successes and which it does not."""
    success = [s for s in scored if not s.episode.failed]
    out = {}
    for name in failure_types:
        of_type = [s for s in scored if s.episode.outcome == name]
        out[name] = episode_auroc(success + of_type) if of_type and success else math.nan
    return out


def episode_auroc_of(values: Sequence[np.ndarray], episodes: Sequence[Episode]) -> float:
    """Episode AUROC of any per-step score (e.g. one raw signal): running max up to the onset."""
    scores = [peak_before_onset(v, ep) for v, ep in zip(values, episodes, strict=True)]
    return auroc(np.asarray(scores), np.asarray([ep.failed for ep in episodes]))


def alert_metrics(scored: Sequence[ScoredEpisode], threshold: float) -> AlertMetrics:
    success = [s for s in scored if not s.episode.failed]
    failed = [s for s in scored if s.episode.failed]
    false_alarms = sum(episode_score(s.probs, s.episode) >= threshold for s in success)
    leads = []
    for s in failed:
        risk = s.risk
        pre = ~s.episode.post_onset & np.isfinite(risk) & (risk >= threshold)
        hits = np.flatnonzero(pre)
        if hits.size:
            leads.append(float(s.episode.onset_s - s.episode.t[hits[0]]))
    return AlertMetrics(
        threshold=threshold,
        fpr=false_alarms / len(success) if success else math.nan,
        num_success=len(success),
        detection_rate=len(leads) / len(failed) if failed else math.nan,
        num_failed=len(failed),
        lead_times_s=leads,
    )
