import numpy as np
import pytest

from salus_monitor.core.conformal import conformal_threshold, guarantee_holds


def test_threshold_is_the_conformal_order_statistic():
    scores = np.arange(1, 20) / 20.0  # 19 scores: rank ceil(20 * 0.9) = 18
    assert conformal_threshold(scores, 0.1) == pytest.approx(18 / 20.0)


def test_too_few_scores_give_a_threshold_above_all():
    assert not guarantee_holds(5, 0.1)
    assert conformal_threshold([0.2, 0.3, 0.4, 0.5, 0.6], 0.1) > 0.6


def test_false_alarm_rate_is_at_most_alpha_on_exchangeable_scores():
    rng = np.random.default_rng(1)
    alpha, rates = 0.1, []
    for _ in range(300):
        cal, new = rng.beta(2, 5, size=50), rng.beta(2, 5, size=200)
        rates.append(np.mean(new >= conformal_threshold(cal, alpha)))
    assert np.mean(rates) <= alpha + 0.01  # marginal guarantee (averaged over calibration draws)
    assert np.mean(rates) >= alpha - 0.04  # and not wastefully conservative


def test_bad_alpha_is_rejected():
    with pytest.raises(ValueError, match="alpha"):
        conformal_threshold([0.1], 1.5)
