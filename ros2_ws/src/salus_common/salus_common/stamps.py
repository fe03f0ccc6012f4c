"""Time stamps, one convention: integer nanoseconds as the key, seconds only for display and arithmetic.

Why integers: the streams of one control tick (joint state, images, command) carry the same header stamp,
and matching them by float seconds invites rounding mismatches; ``sec * 1e9 + nanosec`` is exact.
Pure Python: ``builtin_interfaces/Time`` is only imported by :func:`time_msg`.
"""

from __future__ import annotations

from typing import Any, Protocol

NS_PER_S = 1_000_000_000


class StampLike(Protocol):
    """``builtin_interfaces/Time`` or anything with the same two fields (rosbags' messages too)."""

    sec: int
    nanosec: int


def stamp_ns(stamp: StampLike) -> int:
    """The exact integer nanoseconds of a ``builtin_interfaces/Time``."""
    return int(stamp.sec) * NS_PER_S + int(stamp.nanosec)


def stamp_seconds(stamp: StampLike) -> float:
    """A ``builtin_interfaces/Time`` in seconds (for display and durations, not for matching)."""
    return stamp_ns(stamp) / NS_PER_S


def seconds_to_ns(seconds: float) -> int:
    """Seconds to integer nanoseconds, rounded to the nearest nanosecond."""
    return round(seconds * NS_PER_S)


def split_ns(nanoseconds: int) -> tuple[int, int]:
    """``(sec, nanosec)`` of a non-negative time in nanoseconds."""
    if nanoseconds < 0:
        raise ValueError(f"stamps must not be negative, got {nanoseconds} ns")
    return nanoseconds // NS_PER_S, nanoseconds % NS_PER_S


def time_msg(seconds: float) -> Any:
    """``builtin_interfaces/Time`` for a non-negative time in seconds."""
    from builtin_interfaces.msg import Time

    sec, nanosec = split_ns(seconds_to_ns(seconds))
    return Time(sec=sec, nanosec=nanosec)


def time_msg_ns(nanoseconds: int) -> Any:
    """``builtin_interfaces/Time`` for a non-negative time in integer nanoseconds (exact)."""
    from builtin_interfaces.msg import Time

    sec, nanosec = split_ns(int(nanoseconds))
    return Time(sec=sec, nanosec=nanosec)
