"""Franka Emika Panda as MJCF, generated from Franka's published modified-DH table (no meshes, no downloads).

Body frames come straight from the DH parameters, so link lengths match the real arm; collision shapes are
capsules along each link plus boxes for the hand and fingers. The arm never collides with itself (contype
bits), only with the world (table, bin, obstacle) and the cube. The fragments here are assembled into a full
scene by `scene.py`; `standalone_xml()` gives an arm-only model for kinematics.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from salus_common import robot_profile as franka

# Names and limits are the Panda robot profile's (salus_common.robot_profile), stated once for all nodes.
ARM_JOINT_NAMES: tuple[str, ...] = franka.PANDA_JOINT_NAMES[: franka.ARM_DOF]
FINGER_JOINT_NAMES: tuple[str, ...] = franka.PANDA_JOINT_NAMES[franka.ARM_DOF :]
LINK_NAMES: tuple[str, ...] = tuple(f"panda_link{i}" for i in range(8))
HAND_BODY = "panda_hand"
FINGER_BODIES: tuple[str, str] = ("panda_leftfinger", "panda_rightfinger")
GRIP_SITE = "grip_site"

# Craig's modified DH as published by Franka: row i is (a_{i-1}, d_i, alpha_{i-1}) for joint i.
DH_TABLE: tuple[tuple[float, float, float], ...] = (
    (0.0, 0.333, 0.0),
    (0.0, 0.0, -math.pi / 2),
    (0.0, 0.316, math.pi / 2),
    (0.0825, 0.0, math.pi / 2),
    (-0.0825, 0.384, -math.pi / 2),
    (0.0, 0.0, math.pi / 2),
    (0.088, 0.0, math.pi / 2),
)
FLANGE_D = 0.107
HAND_YAW = -math.pi / 4  # the hand is mounted rotated -45 deg about the flange z axis
FINGER_BASE_Z = 0.0584  # finger joints' origin along the hand z axis
GRIP_Z = 0.1034  # fingertip center along the hand z axis
FINGER_OPEN = franka.PANDA_POSITION_UPPER[franka.ARM_DOF]  # each finger's stroke (m)

# Limits (rad, rad/s, N*m; fingers m, m/s, N).
ARM_RANGE: tuple[tuple[float, float], ...] = tuple(
    zip(
        franka.PANDA_POSITION_LOWER[: franka.ARM_DOF],
        franka.PANDA_POSITION_UPPER[: franka.ARM_DOF],
        strict=True,
    )
)
ARM_VELOCITY_LIMIT: tuple[float, ...] = franka.PANDA_VELOCITY_LIMIT[: franka.ARM_DOF]
ARM_TORQUE_LIMIT: tuple[float, ...] = (87.0, 87.0, 87.0, 87.0, 12.0, 12.0, 12.0)
FINGER_VELOCITY_LIMIT = franka.PANDA_VELOCITY_LIMIT[franka.ARM_DOF]
# Weak on purpose: with friction 1 it holds ~1.2 kg, so a cube >~13x the nominal mass, or with <~0.07x the
# nominal friction, slides out of the grasp.
FINGER_FORCE_LIMIT = 7.0

# Position servo gains: stiff enough to track 10 Hz targets, damped for the implicit integrator.
ARM_KP: tuple[float, ...] = (3000.0, 3000.0, 3000.0, 3000.0, 600.0, 600.0, 600.0)
ARM_KV: tuple[float, ...] = (150.0, 150.0, 120.0, 120.0, 25.0, 25.0, 20.0)
ARM_ARMATURE: tuple[float, ...] = (0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05)
ARM_DAMPING = 1.0
FINGER_KP = 1000.0
FINGER_KV = 10.0

# Masses (kg) of links 1..7 and the hand, close to Franka's published values.
LINK_MASS: tuple[float, ...] = (4.97, 0.65, 3.23, 3.59, 1.23, 1.67, 0.74)
HAND_MASS = 0.73
FINGER_MASS = 0.015
# Capsule radius per link (0 = base); the wrist is slimmer than the shoulder.
LINK_RADIUS: tuple[float, ...] = (0.07, 0.06, 0.06, 0.055, 0.055, 0.05, 0.045, 0.045)

HOME_ARM_QPOS: tuple[float, ...] = (0.0, -math.pi / 4, 0.0, -3 * math.pi / 4, 0.0, math.pi / 2, math.pi / 4)
HOME_QPOS: tuple[float, ...] = HOME_ARM_QPOS + (FINGER_OPEN, FINGER_OPEN)

# Collision bits: contype & conaffinity must match in either direction for a contact. The arm has type 2 and
# affinity 1, so arm-arm pairs never collide; world geoms and the cube have type 1 and affinity 1.
ARM_CONTYPE, ARM_CONAFFINITY = 2, 1
WORLD_CONTYPE, WORLD_CONAFFINITY = 1, 1

_ARM_RGBA = "0.92 0.92 0.92 1"
_JOINT_RGBA = "0.25 0.25 0.28 1"
_FINGER_RGBA = "0.15 0.15 0.15 1"


def _fmt(values: Sequence[float]) -> str:
    return " ".join(f"{v:.10g}" for v in values)


def dh_frame(a: float, d: float, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Joint i's frame in frame i-1 at theta=0: RotX(alpha) TransX(a) TransZ(d) -> (pos, quat wxyz)."""
    pos = np.array([a, -d * math.sin(alpha), d * math.cos(alpha)])
    quat = np.array([math.cos(alpha / 2), math.sin(alpha / 2), 0.0, 0.0])
    return pos, quat


def _child_offsets() -> list[np.ndarray]:
    """Offset of each link's child origin (link2..7, then the flange) in the link's own frame."""
    offsets = [dh_frame(*row)[0] for row in DH_TABLE[1:]]
    offsets.append(np.array([0.0, 0.0, FLANGE_D]))
    return offsets


def _capsule(
    name: str, p0: Sequence[float], p1: Sequence[float], radius: float, mass: float, rgba: str
) -> str:
    return (
        f'<geom name="{name}" type="capsule" fromto="{_fmt(list(p0) + list(p1))}" size="{radius:.4g}" '
        f'mass="{mass:.4g}" rgba="{rgba}" contype="{ARM_CONTYPE}" conaffinity="{ARM_CONAFFINITY}"/>'
    )


def _link_geoms(index: int, offset: np.ndarray) -> str:
    """A joint housing along the link's z axis plus a capsule towards the next joint (unless coincident)."""
    radius, mass = LINK_RADIUS[index], LINK_MASS[index - 1]
    name = LINK_NAMES[index]
    half = 0.9 * radius
    housing_radius = 1.08 * radius  # slightly proud of the segment, so coincident surfaces do not flicker
    geoms = []
    if np.linalg.norm(offset) > 1e-6:
        geoms.append(
            _capsule(f"{name}_housing", (0, 0, -half), (0, 0, half), housing_radius, 0.4 * mass, _JOINT_RGBA)
        )
        geoms.append(_capsule(f"{name}_segment", (0, 0, 0), offset, radius, 0.6 * mass, _ARM_RGBA))
    else:
        geoms.append(
            _capsule(f"{name}_housing", (0, 0, -half), (0, 0, half), housing_radius, mass, _JOINT_RGBA)
        )
    if index == 1:  # link1 also reaches down to the base's top
        geoms.append(_capsule(f"{name}_column", (0, 0, -0.13), (0, 0, 0), radius, 0.0, _ARM_RGBA))
    return "\n".join(geoms)


def _finger_xml(body: str, joint: str, side: float) -> str:
    """A finger body on a slide joint; side=+1 moves along +y of the hand, -1 along -y (mirror)."""
    half = (0.01, 0.009, 0.027)
    box = (
        f'<geom name="{body}_pad" type="box" pos="0 {side * half[1]:.4g} {half[2]:.4g}" '
        f'size="{_fmt(half)}" mass="{FINGER_MASS}" rgba="{_FINGER_RGBA}" friction="1 0.005 0.0001" '
        f'condim="4" contype="{ARM_CONTYPE}" conaffinity="{ARM_CONAFFINITY}"/>'
    )
    joint_xml = (
        f'<joint name="{joint}" type="slide" axis="0 {side:g} 0" range="0 {FINGER_OPEN}" '
        f'damping="2" armature="0.01"/>'
    )
    return f'<body name="{body}" pos="0 0 {FINGER_BASE_Z}" gravcomp="1">{joint_xml}{box}</body>'


def _hand_xml(hand_extra: str) -> str:
    yaw_quat = (math.cos(HAND_YAW / 2), 0.0, 0.0, math.sin(HAND_YAW / 2))
    palm = (
        f'<geom name="panda_hand_palm" type="box" pos="0 0 0.03" size="0.022 0.095 0.03" '
        f'mass="{HAND_MASS}" rgba="{_ARM_RGBA}" contype="{ARM_CONTYPE}" conaffinity="{ARM_CONAFFINITY}"/>'
    )
    site = f'<site name="{GRIP_SITE}" pos="0 0 {GRIP_Z}" size="0.006" rgba="0 1 0 0.5" group="4"/>'
    fingers = _finger_xml(FINGER_BODIES[0], FINGER_JOINT_NAMES[0], 1.0) + _finger_xml(
        FINGER_BODIES[1], FINGER_JOINT_NAMES[1], -1.0
    )
    return (
        f'<body name="{HAND_BODY}" pos="0 0 {FLANGE_D}" quat="{_fmt(yaw_quat)}" gravcomp="1">'
        f"{palm}{site}{hand_extra}{fingers}</body>"
    )


def _joint_xml(i: int) -> str:
    lo, hi = ARM_RANGE[i]
    return (
        f'<joint name="{ARM_JOINT_NAMES[i]}" type="hinge" axis="0 0 1" range="{lo} {hi}" '
        f'armature="{ARM_ARMATURE[i]}" damping="{ARM_DAMPING}" actuatorfrcrange="{-ARM_TORQUE_LIMIT[i]} '
        f'{ARM_TORQUE_LIMIT[i]}"/>'
    )


def body_xml(hand_extra: str = "") -> str:
    """The arm's body tree (base at the world origin); `hand_extra` goes into the hand body (cameras)."""
    base = (
        f'<body name="{LINK_NAMES[0]}">'
        f'<geom name="panda_link0_base" type="cylinder" fromto="0 0 0 0 0 0.2" size="{LINK_RADIUS[0]}" '
        f'rgba="{_ARM_RGBA}" contype="{ARM_CONTYPE}" conaffinity="{ARM_CONAFFINITY}"/>'
    )
    offsets = _child_offsets()
    inner = _hand_xml(hand_extra)
    for i in reversed(range(7)):
        pos, quat = dh_frame(*DH_TABLE[i])
        inner = (
            f'<body name="{LINK_NAMES[i + 1]}" pos="{_fmt(pos)}" quat="{_fmt(quat)}" gravcomp="1">'
            f"{_joint_xml(i)}{_link_geoms(i + 1, offsets[i])}{inner}</body>"
        )
    return base + inner + "</body>"


def actuator_xml() -> str:
    """One position servo per joint; finger force is limited (see FINGER_FORCE_LIMIT)."""
    lines = []
    for i, name in enumerate(ARM_JOINT_NAMES):
        lo, hi = ARM_RANGE[i]
        lines.append(
            f'<position name="{name}" joint="{name}" kp="{ARM_KP[i]}" kv="{ARM_KV[i]}" '
            f'ctrlrange="{lo} {hi}" forcerange="{-ARM_TORQUE_LIMIT[i]} {ARM_TORQUE_LIMIT[i]}"/>'
        )
    for name in FINGER_JOINT_NAMES:
        lines.append(
            f'<position name="{name}" joint="{name}" kp="{FINGER_KP}" kv="{FINGER_KV}" '
            f'ctrlrange="0 {FINGER_OPEN}" forcerange="{-FINGER_FORCE_LIMIT} {FINGER_FORCE_LIMIT}"/>'
        )
    return "<actuator>" + "".join(lines) + "</actuator>"


def standalone_xml() -> str:
    """Arm alone in an empty world, for kinematics (no scene, no contacts needed)."""
    return (
        '<mujoco model="panda"><compiler angle="radian" autolimits="true"/>'
        '<option integrator="implicitfast"/>'
        f"<worldbody>{body_xml()}</worldbody>{actuator_xml()}</mujoco>"
    )
