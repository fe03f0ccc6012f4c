"""Local SmolVLM backbone folders, so that a SmolVLA policy builds without the Hugging Face hub.

lerobot's SmolVLA reads three things from ``SmolVLAConfig.vlm_model_name``: the VLM config
(``AutoConfig``), the processor (``AutoProcessor``, of which it uses the tokenizer's
``fake_image_token_id`` / ``global_image_token_id``), and, through its pre-processor, the tokenizer
(``AutoTokenizer``). With ``load_vlm_weights=False`` it never reads weights: the VLM is built from the
config with random initial weights. :func:`build_backbone` writes exactly those files into a local folder:

* ``config.json`` — a ``SmolVLMConfig`` (SigLIP-style vision tower + Llama text model) of a preset size;
* a byte-level BPE tokenizer trained here with ``tokenizers`` on a fixed built-in corpus of manipulation
  instructions, wrapped in ``PreTrainedTokenizerFast`` with SmolVLM's special tokens (``<image>``,
  ``<fake_token_around_image>``, ``<global-img>``, ``<end_of_utterance>``, row/column tokens);
* the ``SmolVLMProcessor`` files (image processor, video processor, processor config);
* ``salus_backbone.json`` — what was built (preset, sizes), which marks the folder as ours.

Nothing in it is random (BPE training is deterministic), so building twice gives byte-identical folders.
The tokenizer is NOT SmolVLM2's: token ids differ from the real model, so a folder built here must never be
paired with real SmolVLA weights. Policy weights come from :func:`make_policy` (seeded random init) or from
training.

Presets: ``tiny`` (CI/CPU, ~1 M parameters for the whole policy), ``small`` (GPU training, tens of M),
``smolvla-450m`` (the published SmolVLM2-500M-Video-Instruct architecture cut to 16 VLM layers as SmolVLA
does, ~450 M parameters, random weights: for performance measurement only).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

MARKER_FILE = "salus_backbone.json"
MARKER_FORMAT = 1

# Feature keys of our robot (lerobot naming). The order of cameras is the order SmolVLA embeds them.
CAMERA_NAMES: tuple[str, ...] = ("front", "wrist")
IMAGE_KEY_PREFIX = "observation.images."
STATE_KEY = "observation.state"
ACTION_KEY = "action"
STATE_DIM = 9  # 7 Panda joints + 2 finger joints
ACTION_DIM = 9  # next joint position targets, fingers included

# SmolVLM's special tokens (names as its processor reads them from the tokenizer).
BOS_TOKEN = "<|im_start|>"
PAD_TOKEN = "<|im_end|>"
UNK_TOKEN = "<|endoftext|>"
FAKE_IMAGE_TOKEN = "<fake_token_around_image>"
IMAGE_TOKEN = "<image>"
GLOBAL_IMAGE_TOKEN = "<global-img>"
END_OF_UTTERANCE_TOKEN = "<end_of_utterance>"
ROW_COL_TOKENS: tuple[str, ...] = tuple(f"<row_{r}_col_{c}>" for r in range(1, 7) for c in range(1, 7))
SPECIAL_TOKENS: tuple[str, ...] = (
    UNK_TOKEN,
    BOS_TOKEN,
    PAD_TOKEN,
    FAKE_IMAGE_TOKEN,
    IMAGE_TOKEN,
    GLOBAL_IMAGE_TOKEN,
    END_OF_UTTERANCE_TOKEN,
    *ROW_COL_TOKENS,
)


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
        BackbonePreset(
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
        ),
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

# Fixed training corpus of the tokenizer: every combination of the parts below, in this order.
_VERBS = (
    "pick up",
    "place",
    "put",
    "move",
    "push",
    "stack",
    "grasp",
    "lift",
    "open",
    "close",
    "slide",
    "drop",
)
_COLORS = ("red", "green", "blue", "yellow", "white", "black", "orange")
_OBJECTS = ("cube", "block", "cup", "bowl", "drawer", "lid", "bottle", "box", "sponge", "plate")
_PLACES = ("on the table", "in the bin", "on the plate", "to the left", "to the right", "into the box")
_EXTRA = (
    "carefully pick the cube and place it in the target area",
    "the robot arm moves its gripper towards the object",
    "stop if anything unexpected happens",
    "joint 1 2 3 4 5 6 7 and both fingers",
    "Task: 0 1 2 3 4 5 6 7 8 9 . , ; : ! ? ( ) - _ / ' \"",
)


def _corpus() -> list[str]:
    lines = [f"{v} the {c} {o} {p}" for v in _VERBS for c in _COLORS for o in _OBJECTS for p in _PLACES]
    return lines + [s + "\n" for s in _EXTRA]


def get_preset(name: str) -> BackbonePreset:
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown backbone preset {name!r}; choose one of {sorted(PRESETS)}") from None


def _train_tokenizer(preset: BackbonePreset):
    """Byte-level BPE trained on the fixed corpus, wrapped with SmolVLM's special tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE(unk_token=None))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=preset.vocab_size,
        min_frequency=2,
        show_progress=False,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    bpe.train_from_iterator(_corpus(), trainer=trainer)
    if bpe.get_vocab_size() > preset.vocab_size:
        raise RuntimeError(
            f"tokenizer has {bpe.get_vocab_size()} tokens, more than vocab {preset.vocab_size}"
        )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        bos_token=BOS_TOKEN,
        eos_token=END_OF_UTTERANCE_TOKEN,
        pad_token=PAD_TOKEN,
        unk_token=UNK_TOKEN,
        extra_special_tokens={
            "fake_image_token": FAKE_IMAGE_TOKEN,
            "image_token": IMAGE_TOKEN,
            "global_image_token": GLOBAL_IMAGE_TOKEN,
            "end_of_utterance_token": END_OF_UTTERANCE_TOKEN,
        },
        model_max_length=preset.max_position_embeddings,
        padding_side="right",
    )
    return tokenizer


def _vlm_config(preset: BackbonePreset, tokenizer) -> Any:
    from transformers import SmolVLMConfig

    image_token_id = tokenizer.convert_tokens_to_ids(IMAGE_TOKEN)
    pad_token_id = tokenizer.convert_tokens_to_ids(PAD_TOKEN)
    return SmolVLMConfig(
        image_token_id=image_token_id,
        scale_factor=preset.scale_factor,
        pad_token_id=pad_token_id,
        tie_word_embeddings=False,
        vision_config={
            "model_type": "smolvlm_vision",
            "hidden_size": preset.vision_hidden,
            "intermediate_size": preset.vision_intermediate,
            "num_hidden_layers": preset.vision_layers,
            "num_attention_heads": preset.vision_heads,
            "image_size": preset.image_size,
            "patch_size": preset.patch_size,
        },
        text_config={
            "model_type": "llama",
            "hidden_size": preset.text_hidden,
            "intermediate_size": preset.text_intermediate,
            "num_hidden_layers": preset.text_layers,
            "num_attention_heads": preset.text_heads,
            "num_key_value_heads": preset.text_kv_heads,
            "head_dim": preset.head_dim,
            "vocab_size": max(preset.vocab_size, len(tokenizer)),
            "max_position_embeddings": preset.max_position_embeddings,
            "rope_theta": preset.rope_theta,
            "rms_norm_eps": 1e-5,
            "pad_token_id": pad_token_id,
            "bos_token_id": tokenizer.convert_tokens_to_ids(BOS_TOKEN),
            "eos_token_id": tokenizer.convert_tokens_to_ids(END_OF_UTTERANCE_TOKEN),
            "tie_word_embeddings": False,
        },
    )


def _processor(preset: BackbonePreset, tokenizer) -> Any:
    from transformers import SmolVLMImageProcessor, SmolVLMProcessor, SmolVLMVideoProcessor

    image_processor = SmolVLMImageProcessor(
        do_resize=True,
        size={"longest_edge": preset.image_size},
        max_image_size={"longest_edge": preset.image_size},
        do_image_splitting=False,
        image_mean=[0.5, 0.5, 0.5],
        image_std=[0.5, 0.5, 0.5],
    )
    video_processor = SmolVLMVideoProcessor(
        size={"longest_edge": preset.image_size},
        max_image_size={"longest_edge": preset.image_size},
    )
    return SmolVLMProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        video_processor=video_processor,
        image_seq_len=preset.image_seq_len,
    )


def _marker(preset: BackbonePreset) -> dict[str, Any]:
    import transformers

    return {
        "format": MARKER_FORMAT,
        "preset": preset.name,
        "sizes": asdict(preset),
        "image_seq_len": preset.image_seq_len,
        "transformers_version": transformers.__version__,
        "note": "Built by salus-build-backbone. Local tokenizer: never pair with real SmolVLM weights.",
    }


def folder_digest(path: str | Path) -> str:
    """SHA-256 over the relative names and bytes of every file under ``path`` (sorted)."""
    root = Path(path)
    h = hashlib.sha256()
    for f in sorted(p for p in root.rglob("*") if p.is_file()):
        h.update(str(f.relative_to(root)).encode())
        h.update(b"\0")
        h.update(f.read_bytes())
        h.update(b"\0")
    return h.hexdigest()


def _write_into(tmp: Path, preset: BackbonePreset) -> None:
    tokenizer = _train_tokenizer(preset)
    _vlm_config(preset, tokenizer).save_pretrained(tmp)
    _processor(preset, tokenizer).save_pretrained(tmp)
    # Normalise every JSON file (sorted keys, fixed indentation) so the folder is byte-stable.
    for f in sorted(tmp.glob("*.json")):
        data = json.loads(f.read_text())
        f.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    (tmp / MARKER_FILE).write_text(json.dumps(_marker(preset), indent=2, sort_keys=True) + "\n")


def read_marker(path: str | Path) -> dict[str, Any] | None:
    """The ``salus_backbone.json`` of a folder, or None if the folder was not built here."""
    f = Path(path) / MARKER_FILE
    if not f.is_file():
        return None
    return json.loads(f.read_text())


def build_backbone(out_dir: str | Path, preset: str = "tiny", *, overwrite: bool = False) -> Path:
    """Write a local SmolVLM backbone folder for ``preset`` into ``out_dir`` and return its path.

    Idempotent: building the same preset into the same folder again leaves byte-identical content. An
    existing non-empty folder is replaced only if it was built here for the same preset, or if
    ``overwrite`` is True (a folder not built here is never replaced). The folder is written to a temporary
    sibling first and moved into place, so a failed build leaves no half-written backbone.

    Raises:
        ValueError: unknown preset.
        FileExistsError: ``out_dir`` exists and holds something else (another preset without
            ``overwrite``, or files not written by this builder), or is a file.
    """
    p = get_preset(preset)
    p.validate()
    out = Path(out_dir).expanduser().resolve()
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"{out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()):
        marker = read_marker(out)
        if marker is None:
            raise FileExistsError(
                f"{out} is not empty and was not built by salus-build-backbone (no {MARKER_FILE}); "
                "choose an empty or new folder"
            )
        if marker.get("preset") != p.name and not overwrite:
            raise FileExistsError(
                f"{out} holds backbone preset {marker.get('preset')!r}, not {p.name!r}; pass overwrite=True "
                "(--overwrite) to replace it"
            )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        _write_into(tmp, p)
        if out.is_dir():
            if folder_digest(out) == folder_digest(tmp):
                return out  # already up to date: leave it untouched
            old = out.with_name(f".{out.name}.old-{os.getpid()}")
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return out


# ---------------------------------------------------------------------------------------------------------
# Parameter counts from config values alone (no model is instantiated).


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


# ---------------------------------------------------------------------------------------------------------
# SmolVLA policy configuration for our robot on a local backbone.


def image_key(camera: str) -> str:
    """lerobot feature key of a camera, e.g. ``front`` -> ``observation.images.front``."""
    return f"{IMAGE_KEY_PREFIX}{camera}"


def make_smolvla_config(
    backbone_dir: str | Path,
    preset: str | None = None,
    *,
    cameras: tuple[str, ...] = CAMERA_NAMES,
    camera_hw: tuple[int, int] | None = None,
    state_dim: int = STATE_DIM,
    action_dim: int = ACTION_DIM,
    **overrides: Any,
):
    """A ``SmolVLAConfig`` on the local backbone in ``backbone_dir`` with sane per-preset settings.

    Inputs: one ``observation.images.<camera>`` feature (3 x H x W, H x W = ``camera_hw``, by default the
    backbone's image size) per camera, and ``observation.state`` (``state_dim``, 7 Panda joints + 2
    fingers). Output: ``action`` (``action_dim``, next joint position targets, fingers included).

    Per preset: ``chunk_size`` (tiny 10, small 20, smolvla-450m 50), ``n_action_steps`` 10 (never more than
    the chunk), ``num_steps`` 10 flow-matching steps, images resized with padding to the backbone's image
    size, ``num_vlm_layers`` (all layers for tiny/small, 16 for smolvla-450m), ``expert_width_multiplier``
    0.75, whether the VLM trains (tiny/small: everything trains, as there are no pretrained VLM weights;
    smolvla-450m: lerobot's defaults), ``load_vlm_weights=False`` and ``push_to_hub=False`` (offline).
    ``preset`` defaults to the one recorded in the folder's ``salus_backbone.json``. Any ``SmolVLAConfig``
    field can be overridden by keyword.

    Raises:
        FileNotFoundError: ``backbone_dir`` has no ``config.json``.
        ValueError: unknown preset, or a preset that does not match the folder's marker.
    """
    from lerobot.configs import FeatureType, PolicyFeature
    from lerobot.policies.smolvla.configuration_smolvla import SmolVLAConfig

    folder = Path(backbone_dir).expanduser().resolve()
    if not (folder / "config.json").is_file():
        raise FileNotFoundError(
            f"no SmolVLM backbone at {folder} (config.json missing); build one with "
            f"`salus-build-backbone --preset {preset or 'tiny'} {folder}`"
        )
    marker = read_marker(folder)
    if preset is None:
        if marker is None:
            raise ValueError(f"{folder} has no {MARKER_FILE}; pass the preset explicitly")
        preset = marker["preset"]
    elif marker is not None and marker.get("preset") != preset:
        raise ValueError(f"{folder} holds backbone preset {marker.get('preset')!r}, not {preset!r}")
    p = get_preset(preset)
    if not cameras:
        raise ValueError("at least one camera is needed")
    h, w = camera_hw if camera_hw is not None else (p.image_size, p.image_size)
    settings: dict[str, Any] = {
        "vlm_model_name": str(folder),
        "load_vlm_weights": False,
        "chunk_size": p.chunk_size,
        "n_action_steps": min(10, p.chunk_size),
        "num_steps": 10,
        "resize_imgs_with_padding": (p.image_size, p.image_size),
        "num_vlm_layers": p.num_vlm_layers,
        "expert_width_multiplier": p.expert_width_multiplier,
        "tokenizer_max_length": p.tokenizer_max_length,
        "train_expert_only": p.train_expert_only,
        "freeze_vision_encoder": p.freeze_vision_encoder,
        "push_to_hub": False,
        "input_features": {
            **{image_key(c): PolicyFeature(type=FeatureType.VISUAL, shape=(3, h, w)) for c in cameras},
            STATE_KEY: PolicyFeature(type=FeatureType.STATE, shape=(state_dim,)),
        },
        "output_features": {ACTION_KEY: PolicyFeature(type=FeatureType.ACTION, shape=(action_dim,))},
    }
    settings.update(overrides)
    return SmolVLAConfig(**settings)


def make_policy(config, *, seed: int = 0, dataset_stats: dict | None = None):
    """A randomly initialised SmolVLA policy (seeded), with its lerobot pre/post-processors.

    Built the lerobot way (``SmolVLAPolicy(config)`` and ``make_pre_post_processors(config,
    dataset_stats=...)``), in eval mode on ``config.device``; the initial weights depend on ``seed`` only
    (they are drawn on the CPU). ``dataset_stats`` (``{"observation.state": {"mean": ..., "std": ...},
    "action": {...}}``) sets the (un)normalisation; without it state and action pass through unchanged.
    Returns a :class:`salus_vla.core.policy_loader.LoadedPolicy`.
    """
    import torch
    from lerobot.policies.factory import make_pre_post_processors
    from lerobot.policies.smolvla.modeling_smolvla import SmolVLAPolicy

    from salus_vla.core.policy_loader import LoadedPolicy

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        policy = SmolVLAPolicy(config)
    device = torch.device(config.device)
    policy.to(device)
    policy.eval()
    pre, post = make_pre_post_processors(config, dataset_stats=dataset_stats)
    dtype = next(policy.model.vlm_with_expert.vlm.parameters()).dtype
    return LoadedPolicy(policy, pre, post, device, dtype, source=f"random-init(seed={seed})")
