"""The predictor end to end on synthetic episodes with a planted precursor: it learns it, calibrates, and
serves the node and the evaluation with the same numbers."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from salus_common.names import FAILURE_TYPES, HORIZONS_S, SIGNAL_NAMES
from salus_monitor.core.evaluation import (
    ScoredEpisode,
    alert_metrics,
    episode_auroc,
    episode_auroc_by_type,
    step_metrics,
)
from salus_monitor.core.predictor import CONFIG_FILE, WEIGHTS_FILE, CheckpointError, FailurePredictor
from salus_monitor.core.splits import select, split_episodes
from salus_monitor.core.training import TrainConfig, episode_score, train_predictor
from tests.salus_monitor.synthetic import synthetic_episodes

FAST = TrainConfig(epochs=25, patience=25, batch_size=256, lr=3e-3)


@pytest.fixture(scope="module")
def data():
    episodes = synthetic_episodes(150, seed=0)
    return episodes, split_episodes(episodes, seed=0)


@pytest.fixture(scope="module")
def mlp(data):
    episodes, split = data
    return train_predictor(episodes, split, SIGNAL_NAMES, HORIZONS_S, FAILURE_TYPES, FAST)


def scored(predictor, episodes):
    return [ScoredEpisode(ep, predictor.predict_episode(ep.signals)) for ep in episodes]


def test_mlp_learns_the_planted_precursor(data, mlp):
    episodes, split = data
    test = scored(mlp.predictor, select(episodes, split.test))
    assert episode_auroc(test) > 0.9
    meta = mlp.predictor.meta
    cells = step_metrics(test, meta.cell_thresholds, meta.extra["any_thresholds"], FAILURE_TYPES)
    assert cells[(3, "collision")].auroc > 0.9  # the collision precursor is signal 0
    assert np.isnan(cells[(3, "other")].auroc)  # no "other" episodes: reported as n/a, not made up
    by_type = episode_auroc_by_type(test, FAILURE_TYPES)
    assert by_type["collision"] > 0.9 and np.isnan(by_type["other"])


def test_episode_auroc_by_type_tells_the_separated_types_from_the_missed() -> None:
    """Collisions scored above every success, drops below: per type 1.0 and 0.0, overall in between."""
    from salus_monitor.core.episodes import Episode

    def episode(outcome: str, peak: float) -> ScoredEpisode:
        failed = outcome != "success"
        t = np.arange(10) / 10.0
        ep = Episode(
            episode_id=f"{outcome}{peak}", seed=0, outcome=outcome,
            failure_type=FAILURE_TYPES.index(outcome) if failed else -1, onset_s=0.95 if failed else np.nan,
            perturbations=(), t=t, signals=np.zeros((10, 12), np.float32),
            labels=np.zeros((10, 4, 4), np.uint8), post_onset=np.zeros(10, bool), action=np.zeros((10, 9)),
        )  # fmt: skip
        probs = np.full((10, 4, 4), 0.1, np.float32)
        probs[5] = peak
        return ScoredEpisode(ep, probs)

    scored_eps = [episode("success", 0.5), episode("success", 0.6), episode("collision", 0.9)]
    scored_eps += [episode("drop", 0.2), episode("drop", 0.3)]
    by_type = episode_auroc_by_type(scored_eps, FAILURE_TYPES)
    assert by_type["collision"] == 1.0 and by_type["drop"] == 0.0 and np.isnan(by_type["timeout"])
    assert 0.0 < episode_auroc(scored_eps) < 1.0


def test_conformal_threshold_and_alerts_on_held_out_episodes(data, mlp):
    episodes, split = data
    meta = mlp.predictor.meta
    assert meta.threshold == pytest.approx(mlp.predictor.threshold_for(meta.alpha))
    cal_success = [ep for ep in select(episodes, split.cal) if not ep.failed]
    assert len(meta.calibration_scores) == len(cal_success)
    alerts = alert_metrics(scored(mlp.predictor, select(episodes, split.test)), meta.threshold)
    assert alerts.detection_rate > 0.7
    assert all(lead > 0 for lead in alerts.lead_times_s)  # alerts counted only before the onset


def test_save_load_roundtrip_and_the_step_path_equal_the_batch_path(tmp_path, data, mlp):
    episodes, _ = data
    folder = mlp.predictor.save(tmp_path / "ckpt")
    loaded = FailurePredictor.load(folder)
    ep = episodes[2]
    batch = loaded.predict_episode(ep.signals)
    np.testing.assert_array_equal(batch, mlp.predictor.predict_episode(ep.signals))
    loaded.reset()
    for t, row in enumerate(ep.signals):
        if np.all(np.isfinite(row)):
            np.testing.assert_allclose(loaded.step(row), batch[t], rtol=1e-5, atol=1e-6)
        else:
            assert np.all(np.isnan(batch[t]))  # withheld, as the node does


def test_gru_window_step_path_equals_batch_path(data):
    episodes, split = data
    cfg = replace(FAST, kind="gru", window=6, hidden=(32,), epochs=3)
    gru = train_predictor(episodes, split, SIGNAL_NAMES, HORIZONS_S, FAILURE_TYPES, cfg).predictor
    ep = episodes[4]
    batch = gru.predict_episode(ep.signals)
    gru.reset()
    rows = [(t, r) for t, r in enumerate(ep.signals) if np.all(np.isfinite(r))]
    for t, row in rows:
        np.testing.assert_allclose(gru.step(row), batch[t], rtol=1e-4, atol=1e-5)


def test_signal_subset_for_ablations(data):
    episodes, split = data
    cfg = replace(FAST, epochs=2, signals=("action_variance", "joint1_variance"))
    model = train_predictor(episodes, split, SIGNAL_NAMES, HORIZONS_S, FAILURE_TYPES, cfg).predictor
    assert model.meta.model.num_signals == 2
    assert model.predict_episode(episodes[0].signals).shape == (60, 4, 4)
    with pytest.raises(ValueError, match="unknown signals"):
        train_predictor(
            episodes, split, SIGNAL_NAMES, HORIZONS_S, FAILURE_TYPES, replace(cfg, signals=("nope",))
        )


def test_episode_score_ignores_steps_after_the_onset(data):
    episodes, _ = data
    failed = next(ep for ep in episodes if ep.failed)
    probs = np.zeros((len(failed.t), 4, 4), dtype=np.float32)
    probs[failed.post_onset] = 1.0  # certain only once the failure has happened
    assert episode_score(probs, failed) == 0.0


def test_bad_checkpoints_fail_with_the_reason(tmp_path, mlp):
    with pytest.raises(CheckpointError, match="needs"):
        FailurePredictor.load(tmp_path / "missing")
    folder = mlp.predictor.save(tmp_path / "ckpt")
    (folder / CONFIG_FILE).write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(CheckpointError, match="not a SALUS predictor"):
        FailurePredictor.load(folder)
    mlp.predictor.save(folder)
    meta = json.loads((folder / CONFIG_FILE).read_text())
    meta["model"]["hidden"] = [8]
    (folder / CONFIG_FILE).write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="do not fit"):
        FailurePredictor.load(folder)
    assert (folder / WEIGHTS_FILE).is_file()
