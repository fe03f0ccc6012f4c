"""salus-package-policy: turn a training checkpoint into a self-contained policy folder that can ship.

Usage::

    salus-package-policy runs/default/checkpoints/last/pretrained_model models/default
    salus-package-policy CKPT OUT --dtype float32          # keep full-precision weights

Writes ``OUT/pretrained_model/`` (lerobot's checkpoint files: ``config.json``, ``model.safetensors``,
both processors and their statistics) and ``OUT/backbone/`` (the local SmolVLM backbone: VLM config and
tokenizer; there are no backbone weights, the policy's own weights hold the whole VLM). Every path inside is
relative: ``config.json``'s ``vlm_model_name`` and the preprocessor's ``tokenizer_name`` become
``../backbone``, which :func:`salus_vla.core.policy_loader.load_policy` resolves against the checkpoint
folder, so the folder loads from any clone, on any machine, with no network.

``--dtype float16`` (default) stores the floating-point weights in half precision, halving the file;
``load_policy`` loads them back into the float32 modules (loading casts), so CPU inference runs in float32
as before. Normalisation statistics stay float32. The packaged policy is then loaded and compared with the
source checkpoint on the same observation and noise; the largest difference is printed (float16 rounding).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from salus_common.build_beside import BuildBeside

RELATIVE_BACKBONE = "../backbone"
POLICY_FOLDER = "pretrained_model"
TRAIN_CONFIG = "train_config.json"
BACKBONE_FOLDER = "backbone"
_DTYPES = ("float16", "bfloat16", "float32")


def package(checkpoint: Path, out: Path, dtype: str = "float16", backbone_dir: Path | None = None) -> Path:
    """Write the packaged folder at ``out`` (replaced whole when complete); returns the policy folder."""
    import torch
    from safetensors.torch import load_file, save_file

    from salus_vla.core.policy_loader import POSTPROCESSOR_FILE, PREPROCESSOR_FILE, check_checkpoint_files

    check_checkpoint_files(checkpoint)
    config = json.loads((checkpoint / "config.json").read_text())
    backbone = Path(backbone_dir or resolve_relative(config["vlm_model_name"], checkpoint))
    if not (backbone / "config.json").is_file():
        raise FileNotFoundError(f"backbone {backbone} has no config.json; pass --backbone-dir")
    with BuildBeside(out) as build:
        policy_dir = build.path / POLICY_FOLDER
        shutil.copytree(checkpoint, policy_dir)
        shutil.copytree(backbone, build.path / BACKBONE_FOLDER)
        config["vlm_model_name"] = RELATIVE_BACKBONE
        (policy_dir / "config.json").write_text(json.dumps(config, indent=4) + "\n")
        pre_path = policy_dir / PREPROCESSOR_FILE
        pre = json.loads(pre_path.read_text())
        for step in pre.get("steps", []):
            if "tokenizer_name" in step.get("config", {}):
                step["config"]["tokenizer_name"] = RELATIVE_BACKBONE
        pre_path.write_text(json.dumps(pre, indent=4) + "\n")
        weights = load_file(policy_dir / "model.safetensors")
        target = getattr(torch, dtype)
        cast = {k: v.to(target) if v.is_floating_point() else v for k, v in weights.items()}
        save_file(cast, policy_dir / "model.safetensors", metadata={"format": "pt"})
        redact_train_config(policy_dir / TRAIN_CONFIG)
        for json_file in (
            policy_dir / "config.json",
            pre_path,
            policy_dir / POSTPROCESSOR_FILE,
            policy_dir / TRAIN_CONFIG,
        ):
            if not json_file.is_file():
                continue
            if found := absolute_paths(json.loads(json_file.read_text())):
                raise RuntimeError(f"{json_file.name} still names host paths: {found}")
        build.swap_in()
    return out / POLICY_FOLDER


def redact_train_config(path: Path) -> None:
    """lerobot's record of the training run names the training machine's folders: keep only their names.

    (It is provenance for the model card; loading the policy never reads it.)
    """
    if not path.is_file():
        return

    def redact(value: object) -> object:
        if isinstance(value, str) and value.startswith(("/", "~")):
            return f"<training host>/{Path(value).name}"
        if isinstance(value, dict):
            return {k: redact(v) for k, v in value.items()}
        if isinstance(value, list):
            return [redact(v) for v in value]
        return value

    path.write_text(json.dumps(redact(json.loads(path.read_text())), indent=4) + "\n")


def absolute_paths(value: object) -> list[str]:
    """Every string in a JSON value that is an absolute or home-relative path."""
    if isinstance(value, str):
        return [value] if value.startswith(("/", "~")) else []
    if isinstance(value, dict):
        return [p for v in value.values() for p in absolute_paths(v)]
    if isinstance(value, list):
        return [p for v in value for p in absolute_paths(v)]
    return []


def resolve_relative(name: str, checkpoint: Path) -> str:
    """A ``./`` or ``../`` path recorded in a checkpoint, resolved against the checkpoint folder."""
    if name.startswith(("./", "../")):
        return str((Path(checkpoint) / name).resolve())
    return name


def compare(source: Path, packaged: Path, num_samples: int = 3, seed: int = 0) -> float:
    """Largest absolute action difference between the two policies on one observation and one noise."""
    import numpy as np

    from salus_vla.core.ensemble import EnsembleSampler, make_observation
    from salus_vla.core.policy_loader import load_policy

    a, b = load_policy(source), load_policy(packaged)
    rng = np.random.default_rng(seed)
    images = {
        camera: rng.integers(0, 256, size=(int(f.shape[1]), int(f.shape[2]), 3), dtype=np.uint8)
        for camera, f in zip(a.camera_names, a.config.image_features.values(), strict=True)
    }
    state = rng.normal(0.0, 0.3, size=a.state_dim).astype(np.float32)
    observation = make_observation(images, state, "pick up the red cube and place it in the blue bin")
    sampler = EnsembleSampler(a, num_samples, seed=seed)
    noise = sampler.draw_noise()
    first = sampler.sample(observation, noise=noise).samples
    second = EnsembleSampler(b, num_samples).sample(observation, noise=noise).samples
    return float(np.max(np.abs(first - second)))


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="salus-package-policy", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("checkpoint", type=Path, help="a pretrained_model folder (lerobot-train's)")
    parser.add_argument("out", type=Path, help="the folder to write (replaced when complete)")
    parser.add_argument("--dtype", default="float16", choices=_DTYPES, help="stored weight dtype")
    parser.add_argument("--backbone-dir", type=Path, help="backbone folder (default: the checkpoint's)")
    args = parser.parse_args(argv)
    try:
        policy = package(args.checkpoint, args.out, args.dtype, args.backbone_dir)
    except (FileNotFoundError, RuntimeError, ValueError) as err:
        print(f"salus-package-policy: {err}", file=sys.stderr)
        return 2
    diff = compare(args.checkpoint, policy)
    print(
        f"salus-package-policy: {policy} ({folder_size(args.out) / 1e6:.1f} MB, weights {args.dtype}); "
        f"max action difference to the source on one observation: {diff:.2e}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
