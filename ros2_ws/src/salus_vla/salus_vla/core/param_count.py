"""Parameter counts of a SmolVLA policy on a backbone preset, from its sizes alone (nothing instantiated)."""

from __future__ import annotations

from salus_vla.core.presets import BackbonePreset, get_preset


def _linear(i: int, o: int, bias: bool) -> int:
    return i * o + (o if bias else 0)


def _expert_intermediate(hidden: int) -> int:
    # lerobot's SmolVLMWithExpertModel sizes the expert MLP as 4 * (2/3) * hidden rounded up to 256.
    h = int(4 * int(2 * hidden / 3))
    return 256 * ((h + 255) // 256)


def count_parameters(
    preset: str | BackbonePreset, *, max_state_dim: int = 32, max_action_dim: int = 32
) -> dict:
    """Parameters of the SmolVLA policy built on ``preset``, counted from sizes (nothing instantiated).

    Mirrors the modules transformers (SmolVLM vision tower, connector, Llama text model, lm_head) and lerobot
    0.6.1 (text model cut to ``num_vlm_layers``, a narrower expert with cross-attention K/V projections
    from the VLM's KV width on every other layer, the state/action/time projections) create. The test
    suite checks this against a real model for the tiny preset.
    """
    p = get_preset(preset) if isinstance(preset, str) else preset
    v, t = p.vision_hidden, p.text_hidden
    n_patches = (p.image_size // p.patch_size) ** 2
    vision = (
        (3 * p.patch_size**2 + 1) * v  # patch embedding (conv with bias)
        + n_patches * v  # position embedding
        + p.vision_layers
        * (
            4 * _linear(v, v, True)  # q, k, v, out
            + _linear(v, p.vision_intermediate, True)
            + _linear(p.vision_intermediate, v, True)
            + 4 * v  # two layer norms
        )
        + 2 * v  # post layer norm
    )
    connector = _linear(v * p.scale_factor**2, t, False)
    q_out, kv_out = p.text_heads * p.head_dim, p.text_kv_heads * p.head_dim

    def llama_layer(h: int, inter: int) -> int:
        return (
            _linear(h, q_out, False)
            + 2 * _linear(h, kv_out, False)
            + _linear(q_out, h, False)
            + (3 * h * inter)
            + 2 * h
        )

    text = p.vocab_size * t + p.num_vlm_layers * llama_layer(t, p.text_intermediate) + t
    lm_head = t * p.vocab_size
    e = int(t * p.expert_width_multiplier)
    e_inter = _expert_intermediate(e)
    expert = 0
    for i in range(p.num_vlm_layers):
        layer = llama_layer(e, e_inter)
        if i % 2 == 1:  # cross-attention layer: K/V read the VLM's KV width instead of the expert hidden
            layer += 2 * (_linear(kv_out, kv_out, False) - _linear(e, kv_out, False))
        expert += layer
    expert += e  # final norm
    projections = (
        _linear(max_state_dim, t, True)
        + _linear(max_action_dim, e, True)
        + _linear(e, max_action_dim, True)
        + _linear(2 * e, e, True)
        + _linear(e, e, True)
    )
    total = vision + connector + text + lm_head + expert + projections
    return {
        "vision": vision,
        "connector": connector,
        "text": text,
        "lm_head": lm_head,
        "expert": expert,
        "projections": projections,
        "total": total,
    }
