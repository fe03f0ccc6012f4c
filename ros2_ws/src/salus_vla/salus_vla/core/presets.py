"""Backbone presets: the sizes of a local SmolVLM backbone and the SmolVLA settings that go with each.

``tiny`` (CI/CPU, ~1 M parameters for the whole policy), ``small`` (GPU training, tens of M), ``default``
(the shipped policy, ``models/default``: ``small`` at 128 px, under 50 MB in half precision),
``smolvla-450m`` (the published SmolVLM2-500M-Video-Instruct architecture cut to 16 VLM layers as SmolVLA
does, ~450 M parameters, random weights: for performance measurement only). The folder is built by
:func:`salus_vla.core.backbone.build_backbone`, the policy config by
:func:`salus_vla.core.policy_factory.make_smolvla_config`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class BackbonePreset:
    """Sizes of one backbone (VLM) and the per-preset SmolVLA policy settings that go with it."""

    name: str
    # Vision tower (SigLIP-style).
    vision_hidden: int
    vision_layers: int
    vision_heads: int
    vision_intermediate: int
    image_size: int
    patch_size: int
    scale_factor: int  # pixel-shuffle factor of the connector: tokens per image = (image/patch/scale)^2
    # Text model (Llama).
    text_hidden: int
    text_layers: int
    text_heads: int
    text_kv_heads: int
    head_dim: int
    text_intermediate: int
    vocab_size: int  # embedding rows; the locally trained tokenizer may use fewer
    max_position_embeddings: int
    rope_theta: float
    # Policy settings (see make_smolvla_config).
    num_vlm_layers: int
    expert_width_multiplier: float
    chunk_size: int
    tokenizer_max_length: int
    train_expert_only: bool
    freeze_vision_encoder: bool
    description: str

    @property
    def image_seq_len(self) -> int:
        """Tokens one camera image contributes to the prefix."""
        side = self.image_size // self.patch_size
        return (side // self.scale_factor) ** 2

    def validate(self) -> None:
        side, rem = divmod(self.image_size, self.patch_size)
        if rem or side % self.scale_factor:
            raise ValueError(
                f"preset {self.name!r}: image_size/patch_size = {self.image_size}/{self.patch_size} must "
                f"be an integer divisible by scale_factor {self.scale_factor}"
            )
        if self.text_heads % self.text_kv_heads:
            raise ValueError(f"preset {self.name!r}: text_heads must be a multiple of text_kv_heads")
        if self.vision_hidden % self.vision_heads:
            raise ValueError(f"preset {self.name!r}: vision_hidden must be a multiple of vision_heads")
        if not 0 < self.num_vlm_layers <= self.text_layers:
            raise ValueError(f"preset {self.name!r}: num_vlm_layers must be in 1..{self.text_layers}")


_SMALL = BackbonePreset(
    name="small",
    vision_hidden=256,
    vision_layers=4,
    vision_heads=4,
    vision_intermediate=1024,
    image_size=192,
    patch_size=16,
    scale_factor=2,
    text_hidden=384,
    text_layers=8,
    text_heads=6,
    text_kv_heads=2,
    head_dim=64,
    text_intermediate=1024,
    vocab_size=2048,
    max_position_embeddings=1024,
    rope_theta=100000.0,
    num_vlm_layers=8,
    expert_width_multiplier=0.75,
    chunk_size=20,
    tokenizer_max_length=48,
    train_expert_only=False,
    freeze_vision_encoder=False,
    description="GPU training from scratch: tens of M parameters, 36 tokens per camera",
)
# The shipped policy (models/default): `small` at the 128 px the sim renders for the graph (16 tokens
# per camera instead of 36: a K = 5 chunk fits a 10 Hz loop on 2 CPU cores) and a narrower text MLP,
# so its half-precision weights stay under 50 MB.
_DEFAULT = replace(
    _SMALL,
    name="default",
    image_size=128,
    text_intermediate=896,
    description="the shipped policy: `small` at 128 px with a narrower text MLP, under 50 MB in fp16",
)


PRESETS: dict[str, BackbonePreset] = {
    p.name: p
    for p in (
        BackbonePreset(
            name="tiny",
            vision_hidden=64,
            vision_layers=2,
            vision_heads=2,
            vision_intermediate=128,
            image_size=96,
            patch_size=16,
            scale_factor=2,
            text_hidden=128,
            text_layers=4,
            text_heads=4,
            text_kv_heads=2,
            head_dim=32,
            text_intermediate=256,
            vocab_size=512,
            max_position_embeddings=512,
            rope_theta=100000.0,
            num_vlm_layers=4,
            expert_width_multiplier=0.75,
            chunk_size=10,
            tokenizer_max_length=32,
            train_expert_only=False,
            freeze_vision_encoder=False,
            description="CI/CPU: ~1 M parameters for the whole policy, 9 tokens per camera",
        ),
        _SMALL,
        _DEFAULT,
        # SmolVLM2-500M-Video-Instruct (published config.json): SigLIP base-patch16-512 vision tower
        # (hidden 768, 12 layers, 12 heads, MLP 3072), pixel-shuffle factor 4 (64 tokens per 512 px image),
        # SmolLM2-360M text model (hidden 960, 32 layers, 15 heads, 5 KV heads, head dim 64, MLP 2560,
        # vocab 49280, rope theta 1e5, 8192 positions). SmolVLA keeps the first 16 text layers.
        BackbonePreset(
            name="smolvla-450m",
            vision_hidden=768,
            vision_layers=12,
            vision_heads=12,
            vision_intermediate=3072,
            image_size=512,
            patch_size=16,
            scale_factor=4,
            text_hidden=960,
            text_layers=32,
            text_heads=15,
            text_kv_heads=5,
            head_dim=64,
            text_intermediate=2560,
            vocab_size=49280,
            max_position_embeddings=8192,
            rope_theta=100000.0,
            num_vlm_layers=16,
            expert_width_multiplier=0.75,
            chunk_size=50,
            tokenizer_max_length=48,
            train_expert_only=True,
            freeze_vision_encoder=True,
            description="SmolVLA architecture (SmolVLM2-500M, 16 VLM layers), random weights: timing only",
        ),
    )
}


def get_preset(name: str) -> BackbonePreset:
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown backbone preset {name!r}; choose one of {sorted(PRESETS)}") from None
