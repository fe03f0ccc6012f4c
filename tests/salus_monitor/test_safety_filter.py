"""The safety filter's learned parts on synthetic episodes with a known rule: triplet mining, the manifold
separating unsafe from safe actions, the dynamics model against its baselines, MPC scoring and the limited
decision, and the checkpoint round trip."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from salus_common.names import FAILURE_TYPES
from salus_monitor.core.episodes import Episode
from salus_monitor.core.filter_data import mine_triplets, nearest, transitions, unsafe_pairs
from salus_monitor.core.mpc import MpcConfig, score_candidates
from salus_monitor.core.safety_filter import FilterTrainConfig, SafetyFilter, triplet_accuracy

J = 3
GAIN = 0.5  # the synthetic robot moves half way to its target each step


def episode(i: int, rng: np.random.Generator, failed: bool, steps: int = 40) -> Episode:
    """A robot that reaches for a goal; a failing one commands targets pushed +0.4 rad along joint 0 in
    its last second (the rule the manifold must find), and the failure begins at the last step."""
    state = np.zeros((steps, J), np.float32)
    action = np.zeros((steps, J), np.float32)
    goal = rng.uniform(-1.0, 1.0, J)
    s = rng.uniform(-1.0, 1.0, J)
    t = np.arange(steps) / 10.0
    onset = t[-1] if failed else math.nan
    for k in range(steps):
        a = s + np.clip(goal - s, -0.1, 0.1) + rng.normal(0.0, 0.01, J)
        if failed and t[k] >= onset - 1.0:
            a[0] += 0.4
        state[k], action[k] = s, a
        s = s + GAIN * (a - s)
    post = t >= onset if failed else np.zeros(steps, bool)
    return Episode(
        episode_id=f"ep{i}", seed=i, outcome="collision" if failed else "success",
        failure_type=FAILURE_TYPES.index("collision") if failed else -1, onset_s=float(onset),
        perturbations=(), t=t, signals=np.zeros((steps, 12), np.float32),
        labels=np.zeros((steps, 4, 4), np.uint8), post_onset=post, action=action, state=state,
    )  # fmt: skip


@pytest.fixture(scope="module")
def episodes() -> list[Episode]:
    rng = np.random.default_rng(0)
    return [episode(i, rng, failed=i % 2 == 1) for i in range(120)]


@pytest.fixture(scope="module")
def trained(episodes) -> SafetyFilter:
    ids = [ep.episode_id for ep in episodes]
    cfg = FilterTrainConfig(epochs=15, batch_size=256, hidden=(64, 64), seed=0)
    return SafetyFilter.train(episodes, set(ids[:90]), set(ids[90:]), cfg)


def test_nearest_is_exact() -> None:
    rng = np.random.default_rng(1)
    bank, queries = rng.normal(size=(500, 4)), rng.normal(size=(30, 4))
    brute = np.argsort(((queries[:, None] - bank[None]) ** 2).sum(-1), axis=1)[:, :2]
    np.testing.assert_array_equal(nearest(bank, queries, k=2, block=7), brute)


def test_triplets_pair_each_unsafe_step_with_the_successes_nearest_states(episodes) -> None:
    unsafe = unsafe_pairs(episodes, window_s=1.0)
    assert len(unsafe) == 60 * 10  # 60 failed episodes x the 10 steps of their last second before onset
    triplets = mine_triplets(episodes)
    gap = np.linalg.norm(triplets.anchor.state - triplets.negative.state, axis=1)
    second = np.linalg.norm(triplets.positive.state - triplets.negative.state, axis=1)
    assert np.all(gap <= second + 1e-6)  # the anchor is the nearest, the positive the second nearest
    # the unsafe actions carry the planted offset on joint 0; the safe ones at the same states do not
    offset = triplets.negative.action[:, 0] - triplets.anchor.action[:, 0]
    assert np.median(offset) > 0.3
    with pytest.raises(ValueError, match="failed and successful"):
        mine_triplets([ep for ep in episodes if not ep.failed])


def test_the_manifold_puts_unsafe_actions_far_from_the_safe_cluster(episodes, trained) -> None:
    x = trained.extra
    assert x["val_triplet_accuracy"] > 0.9
    assert x["val_median_distance"]["unsafe"] > 1.5 * x["val_median_distance"]["safe"]
    assert triplet_accuracy(trained.manifold, mine_triplets(episodes[90:])) == pytest.approx(
        x["val_triplet_accuracy"]
    )


def test_dynamics_beats_both_baselines(trained) -> None:
    rmse = {k: np.mean(v) for k, v in trained.extra["val_dynamics_rmse"].items()}
    assert rmse["model"] < 0.5 * min(rmse["persistence"], rmse["target"])


def test_mpc_prefers_safe_candidates_and_the_proposal_when_both_are_safe(episodes, trained) -> None:
    ep = next(e for e in episodes[90:] if e.failed)
    k = int(np.searchsorted(ep.t, ep.onset_s - 0.5))
    state, unsafe = ep.state[k], ep.action[k]
    safe = unsafe.copy()
    safe[0] -= 0.4  # the same action without the planted offset
    scores = score_candidates(
        state,
        np.stack([unsafe, safe]),
        unsafe,
        trained.manifold,
        trained.dynamics,
        MpcConfig(track_scale=1.0),
    )
    assert scores.safe[1] < scores.safe[0] and scores.best == 1  # safety outweighs 0.4 rad of tracking
    near = safe + 0.01
    scores = score_candidates(
        state, np.stack([near, safe]), safe, trained.manifold, trained.dynamics, MpcConfig(track_scale=0.001)
    )
    assert scores.best == 1  # among safe ones, the proposal itself wins when tracking weighs much


def test_decide_is_limited_and_says_where_the_action_came_from(episodes, trained) -> None:
    ep = next(e for e in episodes[90:] if e.failed)
    k = int(np.searchsorted(ep.t, ep.onset_s - 0.5))
    lower, upper, step = np.full(J, -0.2), np.full(J, 0.2), np.full(J, 0.05)
    ensemble = np.stack([ep.action[k]] * 5)
    decision = trained.decide(
        ep.state[k], ep.action[k], ensemble, lower, upper, step, generator=torch.Generator().manual_seed(0)
    )
    assert decision.candidates == 16 + 5 and decision.source in ("manifold", "ensemble")
    assert np.all(decision.action >= lower) and np.all(decision.action <= upper)
    # at most one velocity step from the measured state, then inside the joint range
    low, high = np.clip(ep.state[k] - step, lower, upper), np.clip(ep.state[k] + step, lower, upper)
    assert np.all(decision.action >= low - 1e-9) and np.all(decision.action <= high + 1e-9)


def test_checkpoint_round_trip(tmp_path, episodes, trained) -> None:
    loaded = SafetyFilter.load(trained.save(tmp_path / "filter"))
    state = torch.as_tensor(episodes[0].state[:5])
    action = torch.as_tensor(episodes[0].action[:5])
    torch.testing.assert_close(
        loaded.manifold.distance_to_safe(state, action), trained.manifold.distance_to_safe(state, action)
    )
    torch.testing.assert_close(loaded.dynamics(state, action), trained.dynamics(state, action))
    assert loaded.extra["val_triplet_accuracy"] == trained.extra["val_triplet_accuracy"]
    with pytest.raises(FileNotFoundError, match="salus-train-filter"):
        SafetyFilter.load(tmp_path / "nowhere")


def test_transitions_stop_at_the_onset(episodes) -> None:
    data = transitions(episodes[:2])  # one success (40 steps), one failure (onset at its last step)
    assert len(data.state) == 39 + 38
