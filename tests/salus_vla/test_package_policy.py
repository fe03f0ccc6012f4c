"""salus-package-policy: a self-contained half-precision policy folder that loads from anywhere."""

from __future__ import annotations

import json
import shutil

import pytest

from salus_vla.core.policy_loader import load_policy
from salus_vla.package_policy import absolute_paths, compare, package


@pytest.fixture(scope="module")
def source(saved_checkpoint):
    return saved_checkpoint


def test_packaged_folder_is_relative_half_precision_and_loads_after_a_move(source, tmp_path):
    from safetensors import safe_open

    policy = package(source, tmp_path / "built" / "default")
    for name in ("config.json", "policy_preprocessor.json", "policy_postprocessor.json"):
        assert absolute_paths(json.loads((policy / name).read_text())) == []
    with safe_open(policy / "model.safetensors", "pt") as f:
        assert {str(f.get_tensor(k).dtype) for k in f.keys()} == {"torch.float16"}  # noqa: SIM118

    moved = tmp_path / "elsewhere" / "default"
    shutil.move(tmp_path / "built" / "default", moved)
    loaded = load_policy(moved / "pretrained_model")
    assert {p.dtype for p in loaded.policy.parameters()} == {__import__("torch").float32}
    assert compare(source, moved / "pretrained_model") < 1e-2  # float16 rounding only


def test_a_missing_backbone_is_named(source, tmp_path):
    policy = package(source, tmp_path / "default")
    shutil.rmtree(tmp_path / "default" / "backbone")
    with pytest.raises(FileNotFoundError, match="backbone"):
        load_policy(policy)
