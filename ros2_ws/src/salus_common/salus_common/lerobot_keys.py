"""Camera names ⇄ lerobot image feature keys (``front`` ⇄ ``observation.images.front``).

The keys themselves are lerobot's (``lerobot.utils.constants``: ``OBS_IMAGES``, ``OBS_STATE``, ``ACTION``);
this module only maps our camera names onto them, in one place, for the policy (salus_vla) and the
dataset export (salus_data). It imports lerobot: only packages that use lerobot import it.
"""

from __future__ import annotations

from lerobot.utils.constants import OBS_IMAGES

IMAGE_KEY_PREFIX = f"{OBS_IMAGES}."


def image_key(camera: str) -> str:
    """lerobot feature key of a camera, e.g. ``front`` -> ``observation.images.front``."""
    return f"{IMAGE_KEY_PREFIX}{camera}"


def as_image_key(camera_or_key: str) -> str:
    """A camera name (``front``) or an image key (``observation.images.front``) as the image key."""
    return camera_or_key if is_image_key(camera_or_key) else image_key(camera_or_key)


def is_image_key(key: str) -> bool:
    return key.startswith(IMAGE_KEY_PREFIX)


def camera_name(key: str) -> str:
    """The camera of an image key, e.g. ``observation.images.front`` -> ``front`` (other keys unchanged)."""
    return key.removeprefix(IMAGE_KEY_PREFIX)
