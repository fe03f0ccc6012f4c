"""Local SmolVLM backbone folders: idempotent builds, preset sizes, the policy config, the CLI."""

from __future__ import annotations

import pytest

from salus_vla.build_backbone import main as build_backbone_main
from salus_vla.core.backbone import MARKER_FILE, build_backbone, folder_digest, read_marker
from salus_vla.core.param_count import count_parameters
from salus_vla.core.policy_factory import make_smolvla_config
from salus_vla.core.presets import PRESETS


def test_build_is_idempotent(tiny_backbone, tmp_path):
    digest = folder_digest(tiny_backbone)
    mtimes = {p.name: p.stat().st_mtime_ns for p in tiny_backbone.iterdir()}
    assert build_backbone(tiny_backbone, "tiny") == tiny_backbone
    assert folder_digest(tiny_backbone) == digest
    assert {p.name: p.stat().st_mtime_ns for p in tiny_backbone.iterdir()} == mtimes  # left untouched
    other = build_backbone(tmp_path / "again", "tiny")  # a second, independent build: same bytes
    assert folder_digest(other) == digest


def test_folder_holds_what_smolvla_reads(tiny_backbone):
    from transformers import AutoConfig, AutoProcessor

    names = {p.name for p in tiny_backbone.iterdir()}
    assert {"config.json", "tokenizer.json", "tokenizer_config.json", "processor_config.json"} <= names
    assert MARKER_FILE in names
    config = AutoConfig.from_pretrained(tiny_backbone)
    assert config.model_type == "smolvlm"
    assert config.vision_config.image_size == 96 and config.text_config.hidden_size == 128
    tokenizer = AutoProcessor.from_pretrained(tiny_backbone).tokenizer
    assert tokenizer.convert_tokens_to_ids("<image>") == config.image_token_id
    assert tokenizer.fake_image_token_id != tokenizer.global_image_token_id
    assert tokenizer.pad_token_id is not None
    assert len(tokenizer) <= config.text_config.vocab_size
    assert read_marker(tiny_backbone)["preset"] == "tiny"


def test_build_errors(tiny_backbone, tmp_path):
    with pytest.raises(ValueError, match="unknown backbone preset"):
        build_backbone(tmp_path / "x", "huge")
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not built by salus-build-backbone"):
        build_backbone(foreign, "tiny")
    with pytest.raises(FileExistsError, match="holds backbone preset 'tiny'"):
        build_backbone(tiny_backbone, "small")
    a_file = tmp_path / "file"
    a_file.write_text("")
    with pytest.raises(FileExistsError, match="not a directory"):
        build_backbone(a_file, "tiny")


@pytest.mark.parametrize(
    ("preset", "low", "high"),
    [("tiny", 0.8e6, 2e6), ("small", 10e6, 99e6), ("smolvla-450m", 400e6, 500e6)],
)
def test_preset_parameter_counts(preset, low, high):
    assert low <= count_parameters(preset)["total"] <= high


def test_parameter_count_matches_a_built_policy(random_policy):
    built = sum(p.numel() for p in random_policy.policy.parameters())
    assert built == count_parameters("tiny")["total"]


def test_smolvla_450m_preset_is_the_published_architecture():
    p = PRESETS["smolvla-450m"]
    vision = (p.vision_hidden, p.vision_layers, p.image_size, p.patch_size, p.scale_factor)
    text = (p.text_hidden, p.text_heads, p.text_kv_heads, p.head_dim, p.text_intermediate)
    assert vision == (768, 12, 512, 16, 4) and text == (960, 15, 5, 64, 2560)
    assert (p.vocab_size, p.num_vlm_layers, p.image_seq_len) == (49280, 16, 64)


def test_smolvla_config_for_our_robot(tiny_backbone):
    config = make_smolvla_config(tiny_backbone, device="cpu", camera_hw=(224, 224), chunk_size=20)
    assert config.vlm_model_name == str(tiny_backbone) and config.load_vlm_weights is False
    assert list(config.image_features) == ["observation.images.front", "observation.images.wrist"]
    assert config.image_features["observation.images.front"].shape == (3, 224, 224)
    assert config.robot_state_feature.shape == (9,) and config.action_feature.shape == (9,)
    assert (config.chunk_size, config.n_action_steps, config.num_steps) == (20, 10, 10)  # override applied
    assert config.resize_imgs_with_padding == (96, 96) and config.num_vlm_layers == 4
    with pytest.raises(ValueError, match="holds backbone preset 'tiny'"):
        make_smolvla_config(tiny_backbone, "small")


def test_smolvla_config_needs_a_backbone(tmp_path):
    with pytest.raises(FileNotFoundError, match="salus-build-backbone"):
        make_smolvla_config(tmp_path / "missing", "tiny")


def test_cli(tmp_path, capsys):
    assert build_backbone_main(["--list"]) == 0
    assert "smolvla-450m" in capsys.readouterr().out
    assert build_backbone_main([str(tmp_path / "b")]) == 0
    assert build_backbone_main([str(tmp_path / "b"), "--preset", "small"]) == 2
    assert "overwrite" in capsys.readouterr().err
    assert build_backbone_main([]) == 2
