"""Classification metrics written out (numpy only), so the report does not depend on scikit-learn.

AUROC is the Mann-Whitney probability that a positive outranks a negative (ties count half); PR-AUC is
average precision (the step-wise area under the precision-recall curve, as scikit-learn defines it).
Both return NaN when a class is absent, and the report prints "n/a" there rather than a made-up number.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def rankdata(values: np.ndarray) -> np.ndarray:
    """1-based ranks, ties given their average rank."""
    order = np.argsort(values, kind="mergesort")
    sorted_values = values[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_values)) + 1]
    ends = np.r_[starts[1:], values.size]
    average = (starts + ends + 1) / 2.0  # mean of the 1-based ranks starts+1 .. ends
    ranks = np.empty(values.size, dtype=np.float64)
    ranks[order] = np.repeat(average, ends - starts)
    return ranks


def _check(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(scores, dtype=np.float64).ravel()
    y = np.asarray(labels).astype(bool).ravel()
    if s.shape != y.shape:
        raise ValueError(f"scores {s.shape} and labels {y.shape} differ")
    return s, y


def auroc(scores: np.ndarray, labels: np.ndarray) -> float:
    s, y = _check(scores, labels)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(s)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def threshold_counts(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """At each distinct score, highest first, alerting on every score >= it: (threshold, tp, fp)."""
    s, y = _check(scores, labels)
    order = np.argsort(-s, kind="mergesort")
    s, y = s[order], y[order]
    distinct = np.r_[np.flatnonzero(np.diff(s)), y.size - 1]
    tp = np.cumsum(y)[distinct]
    return s[distinct], tp, (distinct + 1) - tp


def roc_curve(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(false-positive rate, true-positive rate) at every distinct threshold, from (0, 0) to (1, 1)."""
    _, y = _check(scores, labels)
    _, tp, fp = threshold_counts(scores, labels)
    n_pos, n_neg = max(int(y.sum()), 1), max(int((~y).sum()), 1)
    return np.r_[0.0, fp / n_neg], np.r_[0.0, tp / n_pos]


def pr_curve(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(recall, precision) at every distinct threshold, highest threshold first."""
    _, y = _check(scores, labels)
    _, tp, fp = threshold_counts(scores, labels)
    return tp / max(int(y.sum()), 1), tp / (tp + fp)


def average_precision(scores: np.ndarray, labels: np.ndarray) -> float:
    s, y = _check(scores, labels)
    if y.sum() == 0:
        return float("nan")
    recall, precision = pr_curve(s, y)
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


@dataclass(frozen=True)
class BinaryCounts:
    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else float("nan")

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else float("nan")

    @property
    def f1(self) -> float:
        denom = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / denom if denom else float("nan")

    @property
    def fpr(self) -> float:
        return self.fp / (self.fp + self.tn) if self.fp + self.tn else float("nan")


def counts_at(scores: np.ndarray, labels: np.ndarray, threshold: float) -> BinaryCounts:
    s, y = _check(scores, labels)
    pred = s >= threshold
    return BinaryCounts(
        tp=int(np.sum(pred & y)),
        fp=int(np.sum(pred & ~y)),
        fn=int(np.sum(~pred & y)),
        tn=int(np.sum(~pred & ~y)),
    )


def best_f1_threshold(scores: np.ndarray, labels: np.ndarray) -> float:
    """The threshold that maximizes F1 on (validation) data; 0.5 when there are no positives."""
    _, y = _check(scores, labels)
    if y.sum() == 0:
        return 0.5
    thresholds, tp, fp = threshold_counts(scores, labels)
    f1 = 2 * tp / (2 * tp + fp + (y.sum() - tp))
    return float(thresholds[int(np.argmax(f1))])
