"""The shared-prefix ensemble: equal to K separate policy calls, shapes, internals, no side effects."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from salus_vla.core.ensemble import EnsembleChunk, EnsembleSampler, make_observation

from .helpers import Q_READY, TASK, observation

# Batched (K rows) and single-row matrix products may round differently; the measured gap on this CPU is
# ~2e-7 on actions of scale ~1 (K = 1 is bit-identical).
ATOL = 1e-5


@pytest.mark.parametrize("k", [1, 5])
def test_batched_ensemble_equals_separate_calls(random_policy, k):
    sampler = EnsembleSampler(random_policy, k, seed=3)
    obs = observation(seed=k)
    noise = sampler.draw_noise()
    batched = sampler.sample(obs, noise=noise).samples
    separate = sampler.sample_separately(obs, noise=noise)
    assert batched.shape == separate.shape == (k, 10, 9)
    np.testing.assert_allclose(batched, separate, rtol=0, atol=ATOL)
    if k == 1:
        np.testing.assert_array_equal(batched, separate)


def test_samples_differ_across_noise_and_match_for_equal_noise(random_policy):
    sampler = EnsembleSampler(random_policy, 4, seed=0)
    obs = observation()
    noise = sampler.draw_noise()
    noise[1] = noise[0]
    samples = sampler.sample(obs, noise=noise).samples
    np.testing.assert_allclose(samples[0], samples[1], atol=ATOL)
    assert np.abs(samples[0] - samples[2]).max() > 1e-3


def test_chunk_shapes_dtypes_and_internals(random_policy):
    k = 5
    sampler = EnsembleSampler(random_policy, k, seed=1, capture_attention_probs=True)
    chunk = sampler.sample(observation())
    assert isinstance(chunk, EnsembleChunk)
    assert chunk.samples.shape == (k, 10, 9) and chunk.samples.dtype == np.float32
    assert chunk.mean.shape == chunk.std.shape == (10, 9)
    np.testing.assert_allclose(chunk.mean, chunk.samples.mean(axis=0), rtol=1e-6)
    assert np.all(chunk.std >= 0) and chunk.std.max() > 0
    np.testing.assert_allclose(chunk.variance, chunk.samples.var(axis=0), rtol=1e-5, atol=1e-10)
    # Internals of the same pass: one entropy per VLM layer, between 0 and log(prefix length).
    config = random_policy.policy.config
    assert chunk.attention_entropy.shape == (config.num_vlm_layers,)
    prefix_len = chunk.attention_probs[0].shape[-1]
    assert np.all(chunk.attention_entropy > 0)
    assert np.all(chunk.attention_entropy <= np.log(prefix_len) + 1e-5)
    assert len(chunk.attention_probs) == config.num_vlm_layers
    np.testing.assert_allclose(chunk.attention_probs[0].sum(axis=-1), 1.0, atol=1e-5)
    # 2 cameras x 9 image tokens + the task tokens + 1 state token, all valid, 128 features.
    assert chunk.prefix_hidden.shape[0] > 2 * 9 + 1 and chunk.prefix_hidden.shape[1] == 128
    assert chunk.expert_hidden.shape == (k, 96)
    for arr in (chunk.samples, chunk.attention_entropy, chunk.prefix_hidden, chunk.expert_hidden):
        assert np.all(np.isfinite(arr))
    assert {"preprocess", "prefix", "denoise", "postprocess", "total"} <= set(chunk.timing_ms)


def test_capture_leaves_the_policy_unchanged(random_policy):
    vwe = random_policy.policy.model.vlm_with_expert
    sampler = EnsembleSampler(random_policy, 2, seed=0)
    sampler.sample(observation())
    assert "eager_attention_forward" not in vars(vwe)  # the per-instance override is gone
    assert not vwe.lm_expert.norm._forward_hooks


def test_seeded_sampler_is_reproducible(random_policy):
    obs = observation(seed=7)
    a = EnsembleSampler(random_policy, 3, seed=11).sample(obs).samples
    b = EnsembleSampler(random_policy, 3, seed=11).sample(obs).samples
    np.testing.assert_array_equal(a, b)


def test_bad_inputs(random_policy):
    with pytest.raises(ValueError, match="num_samples"):
        EnsembleSampler(random_policy, 0)
    sampler = EnsembleSampler(random_policy, 2)
    with pytest.raises(ValueError, match="noise must have shape"):
        sampler.sample(observation(), noise=torch.zeros(3, 10, 32))
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        make_observation({"front": np.zeros((3, 8, 8), np.uint8)}, Q_READY, TASK)
    with pytest.raises(ValueError, match="non-finite"):
        make_observation({"front": np.zeros((8, 8, 3), np.uint8)}, np.full(9, np.nan), TASK)
    with pytest.raises(ValueError, match="task"):
        make_observation({"front": np.zeros((8, 8, 3), np.uint8)}, Q_READY, " ")


def test_observation_format():
    frame = np.full((4, 6, 3), 255, np.uint8)
    obs = make_observation({"front": frame, "observation.images.wrist": frame}, Q_READY, TASK)
    assert set(obs) == {"observation.images.front", "observation.images.wrist", "observation.state", "task"}
    assert obs["observation.images.front"].shape == (3, 4, 6)
    front = obs["observation.images.front"]
    assert front.dtype == torch.float32 and float(front.max()) == 1.0
    assert obs["observation.state"].shape == (9,)
