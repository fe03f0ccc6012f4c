"""VlaController (chunking, ensemble, signals per control step) and observation sync."""

from __future__ import annotations

import numpy as np
import pytest

from salus_vla.core.controller import VlaController
from salus_vla.observation_sync import StampedFrames

TASK = "pick up the red cube and place it in the blue bin"


def frames(seed: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
    rng = np.random.default_rng(seed)
    images = {cam: rng.integers(0, 255, (48, 48, 3), dtype=np.uint8) for cam in ("front", "wrist")}
    return images, rng.normal(0.0, 0.3, 9)


def test_a_new_chunk_every_n_action_steps_and_reset_starts_over(random_policy):
    controller = VlaController(random_policy, TASK, num_samples=4, seed=1, n_action_steps=3)
    steps = [controller.step(*frames(i)) for i in range(7)]
    assert [s.chunk_index for s in steps] == [0, 0, 0, 1, 1, 1, 2]
    assert [s.step_in_chunk for s in steps] == [0, 1, 2, 0, 1, 2, 0]
    assert [s.inference_ms > 0 for s in steps] == [True, False, False, True, False, False, True]
    for step in steps:
        assert step.samples.shape == (4, 9) and step.action.shape == step.std.shape == (9,)
        np.testing.assert_allclose(step.samples.mean(axis=0), step.action, atol=1e-6)
        assert step.signals.shape == (12,) and np.all(np.isfinite(step.signals))
    assert steps[0].signals[6] == 0.0  # action_change: no previous action right after construction
    controller.reset()
    again = controller.step(*frames(0))
    assert (again.chunk_index, again.step_in_chunk, again.signals[6]) == (0, 0, 0.0)


def test_warm_up_leaves_the_schedule_and_a_seeded_episode_untouched(random_policy):
    cold = VlaController(random_policy, TASK, num_samples=3, seed=2)
    cold.reset(episode_seed=7)
    expected = cold.step(*frames(1))
    warm = VlaController(random_policy, TASK, num_samples=3, seed=2)
    assert warm.warm_up() > 0.0
    assert warm.schedule.current is None and warm.schedule.stats.chunks == 0
    warm.reset(episode_seed=7)
    got = warm.step(*frames(1))
    np.testing.assert_array_equal(got.samples, expected.samples)
    np.testing.assert_array_equal(got.signals, expected.signals)


def test_bad_settings_are_refused(random_policy):
    with pytest.raises(ValueError, match="n_action_steps"):
        VlaController(random_policy, TASK, n_action_steps=random_policy.chunk_size + 1)
    with pytest.raises(ValueError, match="num_flow_steps"):
        VlaController(random_policy, TASK, num_flow_steps=0)
    with pytest.raises(ValueError, match="task"):
        VlaController(random_policy, "  ")


def test_exact_sync_pairs_only_equal_stamps_and_never_reuses_a_tick():
    sync = StampedFrames(("front", "wrist"), exact=True)
    image = np.zeros((4, 4, 3), np.uint8)
    sync.add_state(1000000000, np.ones(9))
    sync.add_image("front", 1000000000, image)
    assert sync.pop_ready() is None  # wrist missing
    sync.add_image("wrist", 900000000, image)
    assert sync.pop_ready() is None  # wrong stamp
    sync.add_image("wrist", 1000000000, image)
    ready = sync.pop_ready()
    assert ready is not None and ready.stamp == 1_000_000_000 and set(ready.images) == {"front", "wrist"}
    assert sync.pop_ready() is None


def test_latest_sync_uses_recent_images_within_the_age_limit():
    sync = StampedFrames(("front",), exact=False, max_image_age_s=0.2)
    sync.add_image("front", 950000000, np.zeros((4, 4, 3), np.uint8))
    sync.add_state(1000000000, np.ones(9))
    assert sync.pop_ready().stamp == 1_000_000_000
    sync.add_state(1500000000, np.ones(9))
    assert sync.pop_ready() is None  # the only image is 0.55 s old
