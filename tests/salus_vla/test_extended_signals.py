"""The extended signals (chunk disagreement, reversal rate, hidden-state Mahalanobis, episode time) and the
hidden-state statistics behind the Mahalanobis distance. Pure numpy, no model."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from salus_common.names import EXTENDED_SIGNAL_NAMES
from salus_vla.core.extended_signals import ExtendedSignalExtractor, HiddenStats

DT = 0.1


@dataclass
class FakeChunk:
    samples: np.ndarray  # (K, chunk, D)


def chunk_of(mean: np.ndarray, k: int = 3) -> FakeChunk:
    """A chunk whose K samples all equal ``mean`` (chunk, D)."""
    return FakeChunk(np.repeat(np.asarray(mean, dtype=np.float64)[None], k, axis=0))


def identity_stats(dim: int = 4) -> HiddenStats:
    return HiddenStats(np.zeros(dim), np.eye(dim), 0.0, 10, {})


def test_hidden_stats_distance_is_small_in_distribution_and_large_outside() -> None:
    rng = np.random.default_rng(0)
    scales = np.linspace(0.5, 3.0, 8)
    train = rng.normal(size=(2000, 8)) * scales + 5.0
    stats = HiddenStats.fit(train)
    inside = np.array([stats.distance(x) for x in rng.normal(size=(500, 8)) * scales + 5.0])
    assert abs(np.median(inside) - np.sqrt(8)) < 0.5  # chi with 8 degrees of freedom: median ~2.7
    # 3 standard deviations along the narrowest axis is far; the same offset along the widest is not.
    narrow, wide = np.full(8, 5.0), np.full(8, 5.0)
    narrow[0] += 3 * scales[0]
    wide[-1] += 3 * scales[0]
    assert stats.distance(narrow) > 2.5 > stats.distance(wide)


def test_ledoit_wolf_shrinks_little_with_plenty_of_data_and_more_with_little() -> None:
    rng = np.random.default_rng(1)
    scales = np.geomspace(0.1, 10.0, 20)  # far from a scaled identity: shrinking costs
    plenty = HiddenStats.fit(rng.normal(size=(5000, 20)) * scales)
    few = HiddenStats.fit(rng.normal(size=(10, 20)) * scales)  # fewer samples than features
    assert 0.0 <= plenty.shrinkage < 0.05
    assert few.shrinkage > plenty.shrinkage
    assert np.all(np.isfinite(few.precision))  # invertible although the sample covariance is singular
    round_data = HiddenStats.fit(rng.normal(size=(5000, 20)))  # already a scaled identity
    assert round_data.shrinkage > 0.5


def test_hidden_stats_round_trip_and_a_missing_file_names_the_fix(tmp_path: Path) -> None:
    stats = HiddenStats.fit(np.random.default_rng(2).normal(size=(50, 5)), {"episodes": 3})
    loaded = HiddenStats.load(stats.save(tmp_path / "stats.safetensors"))
    np.testing.assert_allclose(loaded.precision, stats.precision, rtol=1e-6)  # stored as float32
    assert (loaded.samples, loaded.info, loaded.shrinkage) == (50, {"episodes": 3}, stats.shrinkage)
    with pytest.raises(FileNotFoundError, match="salus-fit-hidden-stats"):
        HiddenStats.load(tmp_path / "missing.safetensors")
    with pytest.raises(ValueError, match="features"):
        stats.distance(np.zeros(4))


def test_chunk_disagreement_compares_the_overlap_on_the_same_control_steps() -> None:
    ext = ExtendedSignalExtractor(identity_stats(), DT)
    old = chunk_of(np.zeros((6, 2)))
    # The new chunk arrives at step 3, sampled at step 1: its action 2 is for step 3. It differs from the
    # old chunk by 1.0 in dim 0 on old steps 3..5 (its actions 2..4), then runs on past the old chunk.
    new_mean = np.zeros((6, 2))
    new_mean[:, 0] = 1.0
    new = chunk_of(new_mean)
    embedding = np.zeros(4)
    for step in range(3):
        out = ext.update(old, step, np.zeros(2), step, embedding)
        assert out[0] == 0.0  # the first chunk: nothing to disagree with
    out = ext.update(new, 2, np.zeros(2), 3, embedding)
    assert out[0] == pytest.approx(1.0)  # overlap: old actions 3..5 vs new actions 2..4
    assert ext.update(new, 3, np.zeros(2), 4, embedding)[0] == pytest.approx(1.0)  # held for the chunk


def test_reversal_rate_counts_sign_flips_of_moving_joints_only() -> None:
    ext = ExtendedSignalExtractor(identity_stats(), DT, reversal_window=6, deadband=1e-3)
    chunk, emb = chunk_of(np.zeros((50, 2))), np.zeros(4)
    zigzag = [np.array([0.01 * (-1) ** t, 0.0]) for t in range(8)]  # joint 0 dithers, joint 1 still
    rates = [ext.update(chunk, t, c, t, emb)[1] for t, c in enumerate(zigzag)]
    assert rates[-1] == pytest.approx(1.0)  # every moving pair flipped; the still joint does not count
    ext.reset()
    ramp = [np.array([0.01 * t, -0.02 * t]) for t in range(8)]
    assert max(ext.update(chunk, t, c, t, emb)[1] for t, c in enumerate(ramp)) == 0.0
    ext.reset()
    tremor = [np.array([1e-4 * (-1) ** t, 0.0]) for t in range(8)]  # below the deadband: not motion
    assert max(ext.update(chunk, t, c, t, emb)[1] for t, c in enumerate(tremor)) == 0.0


def test_mahalanobis_per_chunk_and_episode_time_from_the_first_step() -> None:
    stats = HiddenStats(np.ones(4), np.diag([4.0, 1.0, 1.0, 1.0]), 0.0, 10, {})
    ext = ExtendedSignalExtractor(stats, DT)
    chunk = chunk_of(np.zeros((10, 2)))
    first = ext.update(chunk, 0, np.zeros(2), 5, np.array([2.0, 1.0, 1.0, 1.0]))
    assert first.shape == (len(EXTENDED_SIGNAL_NAMES),)
    assert first[2] == pytest.approx(2.0)  # sqrt(4 * 1^2)
    assert first[3] == 0.0
    later = ext.update(chunk, 3, np.zeros(2), 8, np.zeros(4))  # same chunk: the distance is held
    assert later[2] == pytest.approx(2.0) and later[3] == pytest.approx(0.3)
    with pytest.raises(ValueError, match="non-finite"):
        ext.update(chunk, 4, np.array([np.nan, 0.0]), 9, np.zeros(4))
