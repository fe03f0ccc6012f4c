import itertools

import numpy as np
import pytest

from salus_monitor.core.metrics import (
    auroc,
    average_precision,
    best_f1_threshold,
    counts_at,
    rankdata,
    roc_curve,
)


def brute_auroc(scores, labels):
    pos = [s for s, y in zip(scores, labels, strict=True) if y]
    neg = [s for s, y in zip(scores, labels, strict=True) if not y]
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p, n in itertools.product(pos, neg))
    return wins / (len(pos) * len(neg))


def test_auroc_matches_pairwise_definition_with_ties():
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 5, size=200).astype(float)  # many ties
    labels = rng.random(200) < 0.3
    assert auroc(scores, labels) == pytest.approx(brute_auroc(scores, labels))


def test_auroc_extremes_and_missing_class():
    assert auroc([0.1, 0.2, 0.9, 0.8], [0, 0, 1, 1]) == 1.0
    assert auroc([0.9, 0.8, 0.1, 0.2], [0, 0, 1, 1]) == 0.0
    assert np.isnan(auroc([0.1, 0.2], [0, 0]))


def test_rankdata_averages_ties():
    assert rankdata(np.array([3.0, 1.0, 3.0, 2.0])).tolist() == [3.5, 1.0, 3.5, 2.0]


def test_average_precision_known_value():
    # ranked: 1 (pos), 2 (neg), 3 (pos): AP = (1/1 + 2/3) / 2
    assert average_precision([0.9, 0.8, 0.7], [1, 0, 1]) == pytest.approx((1 + 2 / 3) / 2)


def test_roc_curve_ends_at_corners():
    fpr, tpr = roc_curve([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])
    assert (fpr[0], tpr[0]) == (0.0, 0.0) and (fpr[-1], tpr[-1]) == (1.0, 1.0)


def test_best_f1_threshold_separates_perfectly_separable_data():
    scores = np.array([0.1, 0.2, 0.3, 0.7, 0.8])
    labels = np.array([0, 0, 0, 1, 1])
    t = best_f1_threshold(scores, labels)
    assert counts_at(scores, labels, t).f1 == 1.0
