"""A SmolVLA config for our robot on a local backbone folder, and a seeded random-init policy from it.

The config's features are the robot's (``salus_common.robot_profile``): one image per camera, the joint
state (7 Panda joints + 2 fingers), the next joint targets as the action; the keys are lerobot's
(``lerobot.utils.constants``). Per-preset settings come from :mod:`salus_vla.core.presets`. A trained or
saved policy is loaded with :func:`salus_vla.core.policy_loader.load_policy` instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lerobot.utils.constants import ACTION, OBS_STATE

from salus_common.lerobot_keys import image_key
from salus_common.robot_profile import RobotProfile
from salus_vla.core.backbone import MARKER_FILE, read_marker
from salus_vla.core.policy_loader import LoadedPolicy
from salus_vla.core.presets import get_preset

# The default robot: its cameras (in the order SmolVLA embeds them) and its joints (state and action).
_ROBOT = RobotProfile()


def make_smolvla_config(
    backbone_dir: str | Path,
    preset: str | None = None,
    *,
    cameras: tuple[str, ...] = _ROBOT.cameras,
    camera_hw: tuple[int, int] | None = None,
    state_dim: int = len(_ROBOT.joint_names),
    action_dim: int = len(_ROBOT.joint_names),
    **overrides: Any,
):
    """A ``SmolVLAConfig`` on the local backbone in ``backbone_dir`` with sane per-preset settings.

    Inputs: one ``observation.images.<camera>`` feature (3 x H x W, H x W = ``camera_hw``, by default the
    backbone's image size) per camera (by default the robot profile's cameras), and ``observation.state``
    (``state_dim``, by default one per robot profile joint: 7 Panda joints + 2 fingers). Output: ``action``
    (``action_dim``, next joint position targets, fingers included, by default one per joint).

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
            OBS_STATE: PolicyFeature(type=FeatureType.STATE, shape=(state_dim,)),
        },
        "output_features": {ACTION: PolicyFeature(type=FeatureType.ACTION, shape=(action_dim,))},
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

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        policy = SmolVLAPolicy(config)
    device = torch.device(config.device)
    policy.to(device)
    policy.eval()
    pre, post = make_pre_post_processors(config, dataset_stats=dataset_stats)
    dtype = next(policy.model.vlm_with_expert.vlm.parameters()).dtype
    return LoadedPolicy(policy, pre, post, device, dtype, source=f"random-init(seed={seed})")
