import numpy as np
import pytest

from salus_monitor.core.features import Normalizer, StepWindow, valid_rows, window_rows
from salus_monitor.core.splits import Split, split_episodes
from tests.salus_monitor.synthetic import synthetic_episodes


def test_window_rows_equals_the_incremental_window():
    z = np.random.default_rng(0).normal(size=(7, 3)).astype(np.float32)
    batch = window_rows(z, 4)
    step = StepWindow(4)
    for t in range(len(z)):
        np.testing.assert_array_equal(step.push(z[t]), batch[t])
    assert batch[0].tolist() == [z[0].tolist()] * 4  # the first step is repeated before the start


def test_normalizer_roundtrip_and_scale():
    rows = np.random.default_rng(0).lognormal(size=(500, 4))
    norm = Normalizer.fit(rows)
    z = norm(rows)
    assert np.allclose(z.mean(axis=0), 0, atol=1e-4) and np.allclose(z.std(axis=0), 1, atol=1e-3)
    again = Normalizer.from_dict(norm.as_dict())
    np.testing.assert_array_equal(again(rows), z)
    with pytest.raises(ValueError):
        Normalizer.fit(np.array([[np.nan, 1.0], [1.0, 1.0]]))


def test_valid_rows_flags_any_non_finite_value():
    rows = np.array([[1.0, 2.0], [np.nan, 1.0], [1.0, np.inf]])
    assert valid_rows(rows).tolist() == [True, False, False]


def test_split_is_by_episode_seeded_and_stratified():
    episodes = synthetic_episodes(100)
    split = split_episodes(episodes, seed=3)
    parts = [set(split.part(p)) for p in ("train", "val", "cal", "test")]
    assert sum(len(p) for p in parts) == 100 and len(set().union(*parts)) == 100
    assert split == split_episodes(episodes, seed=3) and split != split_episodes(episodes, seed=4)
    outcomes = {ep.episode_id: ep.outcome for ep in episodes}
    for p in parts:
        assert {outcomes[i] for i in p} == {"success", "collision", "drop", "timeout"}
    assert Split.from_dict(split.as_dict()) == split


def test_unseen_injection_split_keeps_the_injection_out_of_training():
    episodes = synthetic_episodes(60)
    split = split_episodes(episodes, seed=0, holdout_injection="push")
    with_push = {ep.episode_id for ep in episodes if "push" in ep.perturbations}
    assert set(split.test) == with_push
    assert not with_push & set(split.train + split.val + split.cal)
    with pytest.raises(ValueError, match="no episode"):
        split_episodes(episodes, holdout_injection="obstacle")
