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
paired with real SmolVLA weights. Policy weights come from
:func:`salus_vla.core.policy_factory.make_policy` (seeded random init) or from training. The sizes are
those of a preset (:mod:`salus_vla.core.presets`).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

from salus_vla.core.presets import BackbonePreset, get_preset

MARKER_FILE = "salus_backbone.json"
MARKER_FORMAT = 1

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
