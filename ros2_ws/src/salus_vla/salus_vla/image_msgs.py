"""``sensor_msgs/Image`` → numpy without cv_bridge (not installable from pip), with input validation."""

from __future__ import annotations

import numpy as np

_CHANNELS = {"rgb8": 3, "bgr8": 3, "rgba8": 4, "bgra8": 4}


class ImageRejectedError(ValueError):
    """An image that cannot be used; ``reason`` is a short key for counting."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


def image_to_array(msg) -> np.ndarray:
    """(H, W, 3) uint8 RGB view of an 8-bit colour image message (rgb8, bgr8, rgba8, bgra8)."""
    channels = _CHANNELS.get(msg.encoding)
    if channels is None:
        raise ImageRejectedError(
            "bad_encoding", f"unsupported encoding {msg.encoding!r}; want one of {sorted(_CHANNELS)}"
        )
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    if height <= 0 or width <= 0 or step < width * channels:
        raise ImageRejectedError("bad_geometry", f"{width}x{height} with step {step} for {msg.encoding}")
    data = np.frombuffer(bytes(msg.data), dtype=np.uint8)
    if data.size != height * step:
        raise ImageRejectedError("bad_size", f"{data.size} bytes, expected {height * step}")
    pixels = data.reshape(height, step)[:, : width * channels].reshape(height, width, channels)
    if msg.encoding.startswith("bgr"):
        pixels = pixels[..., 2::-1]
    return np.ascontiguousarray(pixels[..., :3])
