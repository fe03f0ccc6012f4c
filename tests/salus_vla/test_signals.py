"""Signal definitions on hand-made chunks (pure numpy, no policy)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from salus_common.names import SIGNAL_NAMES
from salus_vla.core.signals import SignalExtractor


def make_chunk(samples, entropy=(1.0, 2.0), hidden=None):
    if hidden is None:
        hidden = np.array([[1.0, 0.0], [3.0, 2.0]])
    return SimpleNamespace(
        samples=np.asarray(samples, float),
        attention_entropy=np.asarray(entropy, float),
        prefix_hidden=np.asarray(hidden, float),
    )


def test_names_and_order():
    assert SignalExtractor.names == SIGNAL_NAMES and len(SIGNAL_NAMES) == 12
    assert SIGNAL_NAMES[0] == "action_variance" and SIGNAL_NAMES[-1] == "joint4_variance"


def test_first_update_definitions():
    # K = 2 samples, 3 steps, 9 dims: sample 0 all zeros, sample 1 = 2 on joint 1 and 4 on joint 3.
    samples = np.zeros((2, 3, 9))
    samples[1, :, 0] = 2.0
    samples[1, :, 2] = 4.0
    state = np.zeros(9)
    ex = SignalExtractor()
    sig = ex.update(make_chunk(samples), 0, state)
    named = ex.as_dict(sig)
    assert sig.shape == (12,) and sig.dtype == np.float64 and list(named) == list(SIGNAL_NAMES)
    assert named["joint1_variance"] == pytest.approx(1.0)  # var of {0, 2}
    assert named["joint3_variance"] == pytest.approx(4.0)  # var of {0, 4}
    assert named["joint2_variance"] == named["joint4_variance"] == 0.0
    assert named["action_variance"] == pytest.approx(5.0 / 9)
    assert named["attention_entropy"] == pytest.approx(1.5)
    assert named["hidden_state_norm"] == pytest.approx(np.hypot(2.0, 1.0))  # mean token (2, 1)
    assert named["hidden_state_variance"] == pytest.approx(1.0)  # per-feature variances 1 and 1
    assert named["action_magnitude"] == pytest.approx(np.hypot(1.0, 2.0))  # mean action (1, 0, 2, 0...)
    # No history yet: the change signals are 0 by definition.
    assert named["attention_change"] == named["action_change"] == named["trajectory_divergence"] == 0.0


def test_history_signals_and_reset():
    ex = SignalExtractor(window=2)
    state = np.zeros(9)
    samples = np.zeros((3, 4, 9))
    samples[:, 1, 0] = 1.0
    samples[:, 2, 0] = 3.0
    chunk = make_chunk(samples)
    s0 = ex.update(chunk, 0, state)
    s1 = ex.update(chunk, 1, state)
    s2 = ex.update(chunk, 2, state)
    assert s1[6] == pytest.approx(1.0) and s2[6] == pytest.approx(2.0)  # action_change
    assert s1[7] == pytest.approx(1.0)  # distance from mean of {0}
    assert s2[7] == pytest.approx(2.5)  # distance of 3 from mean of {0, 1}
    assert s0[2] == s1[2] == s2[2] == 0.0  # one chunk: no attention change
    new_chunk = make_chunk(samples, entropy=(2.0, 3.0))
    s3 = ex.update(new_chunk, 0, state)
    assert s3[2] == pytest.approx(1.0)  # |2.5 - 1.5|, held for the chunk
    assert ex.update(new_chunk, 1, state)[2] == pytest.approx(1.0)
    ex.reset()
    s4 = ex.update(new_chunk, 0, state)
    assert s4[2] == s4[6] == s4[7] == 0.0


def test_outputs_finite_for_random_inputs():
    rng = np.random.default_rng(0)
    ex = SignalExtractor()
    for step in range(25):
        chunk = make_chunk(rng.normal(size=(5, 10, 9)), rng.uniform(0, 3, 4), rng.normal(size=(30, 16)))
        sig = ex.update(chunk, step % 10, rng.normal(size=9))
        assert sig.shape == (12,) and np.all(np.isfinite(sig))
        assert np.all(sig[[0, 1, 2, 3, 4, 5, 6, 7]] >= 0) and np.all(sig[8:] >= 0)


def test_single_sample_has_zero_variance():
    sig = SignalExtractor().update(make_chunk(np.ones((1, 2, 9))), 1, np.zeros(9))
    assert sig[0] == 0.0 and np.all(sig[8:] == 0.0)


@pytest.mark.parametrize(
    ("chunk", "step", "state", "match"),
    [
        (make_chunk(np.zeros((2, 3, 9))), 3, np.zeros(9), "outside the chunk"),
        (make_chunk(np.zeros((2, 3, 9))), -1, np.zeros(9), "outside the chunk"),
        (make_chunk(np.zeros((3, 9))), 0, np.zeros(9), r"\(K, chunk_size, action_dim\)"),
        (make_chunk(np.full((2, 3, 9), np.nan)), 0, np.zeros(9), "samples holds non-finite"),
        (make_chunk(np.zeros((2, 3, 9))), 0, np.full(9, np.inf), "current_state holds non-finite"),
        (make_chunk(np.zeros((2, 3, 9)), entropy=(np.nan,)), 0, np.zeros(9), "attention_entropy"),
        (make_chunk(np.zeros((2, 3, 9)), hidden=np.zeros((0, 4))), 0, np.zeros(9), "prefix_hidden"),
    ],
)
def test_bad_inputs_raise(chunk, step, state, match):
    with pytest.raises(ValueError, match=match):
        SignalExtractor().update(chunk, step, state)


def test_signals_from_a_real_chunk(random_policy):
    from salus_vla.core.ensemble import EnsembleSampler

    from .helpers import observation

    obs = observation()
    chunk = EnsembleSampler(random_policy, 4, seed=0).sample(obs)
    ex = SignalExtractor()
    for step in range(chunk.chunk_size):
        sig = ex.update(chunk, step, obs["observation.state"].numpy())
        assert sig.shape == (12,) and np.all(np.isfinite(sig))
    assert sig[0] == pytest.approx(float(chunk.variance[-1].mean()), rel=1e-5)
