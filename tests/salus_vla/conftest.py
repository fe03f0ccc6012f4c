"""Fixtures of the salus_vla tests: a tiny local backbone and a seeded random SmolVLA on it (CPU)."""

from __future__ import annotations

import pytest

from .helpers import action_stats


@pytest.fixture(scope="module")
def tiny_backbone(tmp_path_factory):
    """The tiny preset built into a fresh folder, once per test module."""
    from salus_vla.core.backbone import build_backbone

    return build_backbone(tmp_path_factory.mktemp("backbone") / "tiny", "tiny")


@pytest.fixture(scope="module")
def random_policy(tiny_backbone):
    """A seeded random-init tiny SmolVLA (CPU, float32) with non-trivial normalisation statistics."""
    from salus_vla.core.policy_factory import make_policy, make_smolvla_config

    config = make_smolvla_config(tiny_backbone, device="cpu")
    return make_policy(config, seed=0, dataset_stats=action_stats())


@pytest.fixture(scope="module")
def saved_checkpoint(random_policy, tmp_path_factory):
    """The random tiny policy saved as lerobot saves a trained one: policy + both processors."""
    folder = tmp_path_factory.mktemp("ckpt")
    random_policy.policy.save_pretrained(folder)
    random_policy.preprocessor.save_pretrained(folder)
    random_policy.postprocessor.save_pretrained(folder)
    return folder
