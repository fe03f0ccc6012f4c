"""Load a SmolVLA checkpoint and its lerobot pre/post-processors, and check it fits the robot.

A checkpoint is what lerobot writes (``lerobot-train``'s ``pretrained_model/`` folder, or
``policy.save_pretrained(d)`` + ``preprocessor.save_pretrained(d)`` + ``postprocessor.save_pretrained(d)``):
``config.json``, ``model.safetensors``, ``policy_preprocessor.json``, ``policy_postprocessor.json`` and the
normalisation statistics. It is loaded the lerobot way (``SmolVLAPolicy.from_pretrained`` and
``make_pre_post_processors(pretrained_path=...)``), from a local folder or a hub id; a hub id always goes
through ``from_pretrained`` (which needs the hub to be reachable).

Example::

    loaded = load_policy("outputs/train/pretrained_model", device="cuda", dtype="bfloat16")
    check_features(loaded, camera_names=["front", "wrist"], state_dim=9)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from salus_common.lerobot_keys import as_image_key, camera_name
from salus_vla.core.backbone import MARKER_FILE, read_marker

PREPROCESSOR_FILE = "policy_preprocessor.json"
POSTPROCESSOR_FILE = "policy_postprocessor.json"
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_DTYPES = {"float32": "float32", "fp32": "float32", "bfloat16": "bfloat16", "bf16": "bfloat16"}
_DTYPES.update({"float16": "float16", "fp16": "float16"})


@dataclass
class LoadedPolicy:
    """A SmolVLA policy with the processors it was trained with.

    Attributes:
        policy: the ``SmolVLAPolicy`` (eval mode, on ``device``).
        preprocessor: lerobot pipeline: raw observation dict -> normalised, tokenised batch on ``device``.
        postprocessor: lerobot pipeline: normalised action tensor -> robot action space, on the CPU.
        device: where the policy runs.
        vlm_dtype: dtype of the VLM (vision tower, connector, text model); the action expert and the
            state/action projections stay float32, as lerobot loads SmolVLA.
        source: the local folder or hub id it came from.
    """

    policy: Any
    preprocessor: Any
    postprocessor: Any
    device: Any
    vlm_dtype: Any
    source: str

    @property
    def config(self):
        return self.policy.config

    @property
    def camera_keys(self) -> tuple[str, ...]:
        """Image feature keys in the order the policy embeds them (``observation.images.<camera>``)."""
        return tuple(self.config.image_features)

    @property
    def camera_names(self) -> tuple[str, ...]:
        return tuple(camera_name(k) for k in self.camera_keys)

    @property
    def state_dim(self) -> int:
        feature = self.config.robot_state_feature
        return int(feature.shape[0]) if feature is not None else 0

    @property
    def action_dim(self) -> int:
        return int(self.config.action_feature.shape[0])

    @property
    def chunk_size(self) -> int:
        return int(self.config.chunk_size)

    @property
    def n_action_steps(self) -> int:
        return int(self.config.n_action_steps)


def resolve_dtype(dtype: Any):
    """``None`` / ``"float32"`` / ``"bfloat16"`` / ``"float16"`` (or a ``torch.dtype``) -> ``torch.dtype``."""
    import torch

    if dtype is None:
        return torch.float32
    if isinstance(dtype, torch.dtype):
        return dtype
    name = _DTYPES.get(str(dtype).lower().removeprefix("torch."))
    if name is None:
        raise ValueError(f"unsupported dtype {dtype!r}; use float32, bfloat16 or float16")
    return getattr(torch, name)


def check_checkpoint_files(folder: Path) -> None:
    """Raise FileNotFoundError unless ``folder`` holds a whole lerobot policy checkpoint."""
    if not folder.is_dir():
        raise FileNotFoundError(f"policy checkpoint {folder} is not a directory")
    missing = [
        f
        for f in ("config.json", "model.safetensors", PREPROCESSOR_FILE, POSTPROCESSOR_FILE)
        if not (folder / f).is_file()
    ]
    if missing:
        raise FileNotFoundError(
            f"{folder} is not a complete lerobot policy checkpoint: missing {', '.join(missing)} (save the "
            "policy and both processors with save_pretrained, or point at lerobot-train's pretrained_model/)"
        )


def _looks_like_path(s: str) -> bool:
    return s.startswith(("/", ".", "~")) or not _HUB_ID.match(s)


def _check_backbone(config, source: str) -> None:
    """A checkpoint built on a local backbone folder needs that folder (its tokenizer and VLM config)."""
    name = str(config.vlm_model_name)
    if name.startswith(("/", ".", "~")) and not (Path(name).expanduser() / "config.json").is_file():
        raise FileNotFoundError(
            f"checkpoint {source} was built on the local VLM backbone {name}, which is missing; rebuild it "
            f"with `salus-build-backbone --preset <preset> {name}` or pass backbone_dir= to load_policy"
        )


def load_policy(
    path_or_hub_id: str | Path,
    device: Any = "cpu",
    dtype: Any = None,
    *,
    backbone_dir: str | Path | None = None,
    revision: str | None = None,
    local_files_only: bool = False,
) -> LoadedPolicy:
    """Load a SmolVLA checkpoint with its processors, the lerobot way.

    Args:
        path_or_hub_id: a local checkpoint folder, or a hub id (``owner/name``) for users who have the hub.
        device: ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ... (or a ``torch.device``).
        dtype: dtype of the VLM part (``None`` keeps what the checkpoint loads as: float32 for policies on a
            local backbone). Casting the whole policy is not supported by SmolVLA (its action projection
            expects float32), so only the VLM is cast, as ``from_pretrained`` does for pretrained VLMs.
        backbone_dir: use this local SmolVLM backbone folder instead of the one recorded in the checkpoint
            (for checkpoints moved between machines); it replaces both the VLM config and the tokenizer.
        revision: hub revision (hub ids only).
        local_files_only: hub ids only: use the local hub cache, never the network.

    Raises:
        FileNotFoundError: no checkpoint there (missing folder or files, hub unreachable or repo absent),
            or the checkpoint's local backbone folder is gone.
        ValueError: the checkpoint is not a SmolVLA policy, or an unsupported dtype.
    """
    import torch
    from lerobot.configs.policies import PreTrainedConfig
    from lerobot.policies.factory import make_pre_post_processors
    from lerobot.policies.smolvla.configuration_smolvla import SmolVLAConfig
    from lerobot.policies.smolvla.modeling_smolvla import SmolVLAPolicy

    source = str(path_or_hub_id)
    local = Path(source).expanduser()
    torch_device = torch.device(device)
    vlm_dtype = resolve_dtype(dtype) if dtype is not None else None
    if backbone_dir is not None:
        backbone = Path(backbone_dir).expanduser().resolve()
        if not (backbone / "config.json").is_file():
            raise FileNotFoundError(f"backbone_dir {backbone} has no config.json (and no {MARKER_FILE})")
        if read_marker(backbone) is None and not (backbone / "tokenizer.json").is_file():
            raise FileNotFoundError(f"backbone_dir {backbone} has no tokenizer")

    if local.exists():
        check_checkpoint_files(local)
        source = str(local.resolve())
    elif _looks_like_path(source):
        raise FileNotFoundError(f"no policy checkpoint at {local} (the folder does not exist)")

    hub_kwargs = {"revision": revision, "local_files_only": local_files_only}
    if local.exists():
        config = PreTrainedConfig.from_pretrained(source)
    else:
        try:
            config = PreTrainedConfig.from_pretrained(source, **hub_kwargs)
        except Exception as e:  # hub errors come in many types (offline, repo missing, gated, ...)
            raise FileNotFoundError(
                f"could not load policy {source!r}: it is not a local folder and the hub did not provide it "
                f"({type(e).__name__}: {e})"
            ) from e
    if not isinstance(config, SmolVLAConfig):
        raise ValueError(f"{source} holds a {config.type!r} policy; SALUS's ensemble needs a SmolVLA policy")
    config.device = torch_device.type if torch_device.index is None else str(torch_device)
    if backbone_dir is None and local.exists() and str(config.vlm_model_name).startswith(("./", "../")):
        # A packaged policy (salus-package-policy) names its backbone relative to its own folder.
        backbone_dir = backbone = (local / str(config.vlm_model_name)).resolve()
    if backbone_dir is not None:
        config.vlm_model_name = str(backbone)
    _check_backbone(config, source)

    policy = SmolVLAPolicy.from_pretrained(source, config=config, **hub_kwargs)
    policy.to(torch_device)
    if vlm_dtype is not None:
        policy.model.vlm_with_expert.vlm.to(dtype=vlm_dtype)
    policy.eval()
    pre_overrides: dict[str, Any] = {"device_processor": {"device": str(torch_device)}}
    if backbone_dir is not None:
        pre_overrides["tokenizer_processor"] = {"tokenizer_name": str(backbone)}
    try:
        preprocessor, postprocessor = make_pre_post_processors(
            config,
            pretrained_path=source,
            pretrained_revision=revision,
            preprocessor_overrides=pre_overrides,
        )
    except FileNotFoundError as e:
        raise FileNotFoundError(f"{source}: the policy's processors could not be loaded ({e})") from e
    resolved_dtype = next(policy.model.vlm_with_expert.vlm.parameters()).dtype
    return LoadedPolicy(policy, preprocessor, postprocessor, torch_device, resolved_dtype, source)


def check_features(
    loaded: LoadedPolicy,
    camera_names: list[str] | tuple[str, ...],
    state_dim: int,
    action_dim: int | None = None,
) -> None:
    """Raise ValueError, naming the mismatch, unless the caller provides exactly what the policy expects.

    ``camera_names`` are camera names (``front``) or full keys (``observation.images.front``); their order
    does not matter (the observation is a dict). ``state_dim`` is the length of the state vector the caller
    sends; ``action_dim``, if given, the length of the action vector it can execute.
    """
    provided = {as_image_key(c) for c in camera_names}
    if len(provided) != len(camera_names):
        raise ValueError(f"duplicate camera names in {list(camera_names)}")
    expected = set(loaded.camera_keys)
    problems = []
    if missing := sorted(expected - provided):
        problems.append(f"cameras the policy needs but the caller does not provide: {missing}")
    if extra := sorted(provided - expected):
        problems.append(f"cameras the caller provides that the policy does not know: {extra}")
    if int(state_dim) != loaded.state_dim:
        problems.append(f"state has {state_dim} dims, the policy expects {loaded.state_dim}")
    if action_dim is not None and int(action_dim) != loaded.action_dim:
        problems.append(f"robot executes {action_dim}-dim actions, the policy outputs {loaded.action_dim}")
    if problems:
        raise ValueError(f"policy {loaded.source} does not match the robot: " + "; ".join(problems))
