"""load_policy round trip through lerobot's save/from_pretrained, and its errors."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from salus_vla.core.ensemble import EnsembleSampler
from salus_vla.core.policy_loader import check_features, load_policy

from .helpers import observation


@pytest.fixture(scope="module")
def checkpoint(saved_checkpoint):
    return saved_checkpoint


def test_round_trip_gives_the_same_actions(random_policy, checkpoint):
    loaded = load_policy(checkpoint, device="cpu")
    assert loaded.camera_names == ("front", "wrist") and loaded.state_dim == 9 and loaded.action_dim == 9
    assert (loaded.chunk_size, loaded.n_action_steps) == (10, 10)
    obs = observation(seed=4)
    original = EnsembleSampler(random_policy, 3, seed=5)
    noise = original.draw_noise()
    expected = original.sample(obs, noise=noise).samples
    got = EnsembleSampler(loaded, 3).sample(obs, noise=noise).samples
    np.testing.assert_array_equal(got, expected)  # same weights, same statistics, same numbers


def test_backbone_dir_override_and_vlm_dtype(checkpoint, tiny_backbone, tmp_path):
    moved = tmp_path / "moved-backbone"
    shutil.copytree(tiny_backbone, moved)
    loaded = load_policy(checkpoint, device="cpu", dtype="bfloat16", backbone_dir=moved)
    assert loaded.config.vlm_model_name == str(moved.resolve())
    import torch

    assert loaded.vlm_dtype == torch.bfloat16
    assert next(loaded.policy.model.action_out_proj.parameters()).dtype == torch.float32
    samples = EnsembleSampler(loaded, 2, seed=0).sample(observation()).samples
    assert samples.shape == (2, 10, 9) and np.all(np.isfinite(samples))


def test_missing_checkpoint_errors(checkpoint, tmp_path):
    with pytest.raises(FileNotFoundError, match="no policy checkpoint at"):
        load_policy(tmp_path / "nothing-here")
    partial = tmp_path / "partial"
    partial.mkdir()
    shutil.copy(checkpoint / "config.json", partial)
    with pytest.raises(FileNotFoundError, match=r"missing model\.safetensors, policy_preprocessor\.json"):
        load_policy(partial)
    # A hub id still goes through from_pretrained (here with the local cache only, so no network wait).
    with pytest.raises(FileNotFoundError, match="hub did not provide it"):
        load_policy("salus-test/no-such-policy", local_files_only=True)
    with pytest.raises(ValueError, match="unsupported dtype"):
        load_policy(checkpoint, dtype="int8")


def test_missing_backbone_is_named(checkpoint, tmp_path):
    import json

    moved = tmp_path / "ckpt"
    shutil.copytree(checkpoint, moved)
    config = json.loads((moved / "config.json").read_text())
    config["vlm_model_name"] = str(tmp_path / "gone-backbone")
    (moved / "config.json").write_text(json.dumps(config))
    with pytest.raises(FileNotFoundError, match="gone-backbone, which is missing"):
        load_policy(moved)


def test_check_features(random_policy):
    check_features(random_policy, ["wrist", "front"], 9)
    check_features(random_policy, ["observation.images.front", "observation.images.wrist"], 9, action_dim=9)
    with pytest.raises(
        ValueError, match=r"needs but the caller does not provide: \['observation.images.wrist'\]"
    ):
        check_features(random_policy, ["front"], 9)
    with pytest.raises(ValueError, match=r"does not know: \['observation.images.top'\]"):
        check_features(random_policy, ["front", "wrist", "top"], 9)
    with pytest.raises(ValueError, match="state has 7 dims, the policy expects 9"):
        check_features(random_policy, ["front", "wrist"], 7)
    with pytest.raises(ValueError, match="outputs 9"):
        check_features(random_policy, ["front", "wrist"], 9, action_dim=8)
