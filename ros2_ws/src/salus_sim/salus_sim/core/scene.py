"""The pick-and-place scene as MJCF: table, Panda, red cube, blue open-top bin, optional obstacle, cameras.

The robot base sits at the world origin on the table top (z = TABLE_TOP_Z), so world coordinates are the
robot's base frame. Scene constants live here because the labeler, the injector and the expert all need the
same geometry.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from salus_sim.core import panda_model as pm

TABLE_TOP_Z = 0.0
TABLE_CENTER_XY = (0.35, 0.0)
TABLE_HALF_XY = (0.65, 0.75)
FLOOR_Z = -0.75

CUBE_HALF = 0.0225
CUBE_MASS = 0.1
CUBE_FRICTION = (1.0, 0.005, 0.0001)

BIN_POS = (0.45, 0.30, TABLE_TOP_Z)  # center of the bin's bottom face, on the table
BIN_INNER_HALF = 0.08  # inner half width (square)
BIN_WALL = 0.01  # wall and floor thickness
BIN_HEIGHT = 0.07  # rim height above the table

FRONT_CAMERA_EYE = (1.5, 0.1, 1.0)
FRONT_CAMERA_TARGET = (0.35, 0.08, 0.2)
FRONT_CAMERA_FOVY = 45.0
WRIST_CAMERA_FOVY = 75.0

CUBE_BODY, CUBE_GEOM, CUBE_JOINT = "cube", "cube_geom", "cube_joint"
TABLE_GEOM, BIN_BODY, OBSTACLE_BODY, OBSTACLE_GEOM = "table_top", "bin", "obstacle", "obstacle_geom"
# Geoms whose contact with the arm counts as a collision (by name prefix).
COLLISION_GEOM_PREFIXES = ("table", "bin", "obstacle")


@dataclass(frozen=True)
class ObstacleSpec:
    """A box on the table: center (x, y, z), half sizes (along its x, y, z) and yaw about world z."""

    pos: tuple[float, float, float]
    half_size: tuple[float, float, float]
    yaw: float


def _fmt(values: tuple[float, ...] | list[float] | np.ndarray) -> str:
    return " ".join(f"{v:.10g}" for v in values)


def _world_geom(
    name: str, pos: tuple[float, ...], size: tuple[float, ...], rgba: str, extra: str = ""
) -> str:
    return (
        f'<geom name="{name}" type="box" pos="{_fmt(pos)}" size="{_fmt(size)}" rgba="{rgba}" '
        f'contype="{pm.WORLD_CONTYPE}" conaffinity="{pm.WORLD_CONAFFINITY}" {extra}/>'
    )


def look_at_xyaxes(eye: tuple[float, ...], target: tuple[float, ...]) -> np.ndarray:
    """MuJoCo camera `xyaxes` for a camera at `eye` looking at `target` with world z up."""
    forward = np.asarray(target, float) - np.asarray(eye, float)
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    up = np.cross(right, forward)
    return np.concatenate([right, up])


def _table_xml() -> str:
    cx, cy = TABLE_CENTER_XY
    hx, hy = TABLE_HALF_XY
    top = _world_geom(
        TABLE_GEOM,
        (cx, cy, TABLE_TOP_Z - 0.02),
        (hx, hy, 0.02),
        "0.55 0.42 0.3 1",
        'friction="0.8 0.005 0.0001"',
    )
    leg_h = (TABLE_TOP_Z - 0.04 - FLOOR_Z) / 2
    legs = "".join(
        f'<geom name="table_leg{i}" type="box" '
        f'pos="{_fmt((cx + sx * (hx - 0.05), cy + sy * (hy - 0.05), FLOOR_Z + leg_h))}" '
        f'size="0.03 0.03 {leg_h:.4g}" rgba="0.35 0.27 0.2 1" contype="0" conaffinity="0"/>'
        for i, (sx, sy) in enumerate(((1, 1), (1, -1), (-1, 1), (-1, -1)))
    )
    return f'<body name="table">{top}{legs}</body>'


def _bin_xml() -> str:
    """Open-top bin: a floor and four walls, all boxes, as one static body."""
    inner, wall, height = BIN_INNER_HALF, BIN_WALL, BIN_HEIGHT
    outer = inner + wall
    rgba = "0.15 0.3 0.85 1"
    half_h = height / 2
    parts = [
        _world_geom("bin_floor", (0, 0, wall / 2), (outer, outer, wall / 2), rgba),
        _world_geom("bin_wall_px", (inner + wall / 2, 0, half_h), (wall / 2, outer, half_h), rgba),
        _world_geom("bin_wall_nx", (-inner - wall / 2, 0, half_h), (wall / 2, outer, half_h), rgba),
        _world_geom("bin_wall_py", (0, inner + wall / 2, half_h), (inner, wall / 2, half_h), rgba),
        _world_geom("bin_wall_ny", (0, -inner - wall / 2, half_h), (inner, wall / 2, half_h), rgba),
    ]
    return f'<body name="{BIN_BODY}" pos="{_fmt(BIN_POS)}">{"".join(parts)}</body>'


def _cube_xml() -> str:
    """Free red cube; priority=1 makes its friction govern all its contacts, so scaling it is meaningful."""
    pos = (0.5, 0.0, TABLE_TOP_Z + CUBE_HALF)
    return (
        f'<body name="{CUBE_BODY}" pos="{_fmt(pos)}"><freejoint name="{CUBE_JOINT}"/>'
        f'<geom name="{CUBE_GEOM}" type="box" size="{CUBE_HALF} {CUBE_HALF} {CUBE_HALF}" mass="{CUBE_MASS}" '
        f'rgba="0.85 0.1 0.1 1" friction="{_fmt(CUBE_FRICTION)}" condim="4" priority="1" '
        f'contype="{pm.WORLD_CONTYPE}" conaffinity="{pm.WORLD_CONAFFINITY}"/></body>'
    )


def _obstacle_xml(obstacle: ObstacleSpec | None) -> str:
    if obstacle is None:
        return ""
    quat = (math.cos(obstacle.yaw / 2), 0.0, 0.0, math.sin(obstacle.yaw / 2))
    return (
        f'<body name="{OBSTACLE_BODY}" pos="{_fmt(obstacle.pos)}" quat="{_fmt(quat)}">'
        + _world_geom(OBSTACLE_GEOM, (0, 0, 0), obstacle.half_size, "0.2 0.7 0.25 1")
        + "</body>"
    )


def _wrist_camera_xml() -> str:
    """Camera on the hand beside the palm, looking along the gripper (hand +z), tilted so the fingertips sit
    in the lower part of the image; image right is the fingers' closing axis (hand y)."""
    tilt = math.radians(15.0)
    # xyaxes: camera x = hand y; camera y = up in the image = hand +x tilted; the camera looks along its -z.
    axes = (0.0, 1.0, 0.0, math.cos(tilt), 0.0, math.sin(tilt))
    return f'<camera name="wrist" pos="0.07 0 0.02" xyaxes="{_fmt(axes)}" fovy="{WRIST_CAMERA_FOVY}"/>'


def scene_xml(
    physics_dt: float = 0.002,
    obstacle: ObstacleSpec | None = None,
    image_width: int = 224,
    image_height: int = 224,
) -> str:
    """The full MJCF; the offscreen buffer is sized to fit the requested images."""
    front_axes = look_at_xyaxes(FRONT_CAMERA_EYE, FRONT_CAMERA_TARGET)
    off_w, off_h = max(640, image_width), max(480, image_height)
    return f"""
<mujoco model="salus_pick_place">
  <compiler angle="radian" autolimits="true"/>
  <option timestep="{physics_dt}" integrator="implicitfast" cone="elliptic" impratio="10"/>
  <visual>
    <global offwidth="{off_w}" offheight="{off_h}"/>
    <headlight ambient="0.35 0.35 0.35" diffuse="0.5 0.5 0.5" specular="0.1 0.1 0.1"/>
    <quality shadowsize="2048"/>
  </visual>
  <asset>
    <texture name="sky" type="skybox" builtin="gradient" rgb1="0.75 0.8 0.9" rgb2="0.3 0.35 0.45"
             width="64" height="64"/>
    <texture name="grid" type="2d" builtin="checker" rgb1="0.45 0.45 0.48" rgb2="0.4 0.4 0.43"
             width="256" height="256"/>
    <material name="floor" texture="grid" texrepeat="8 8" reflectance="0"/>
  </asset>
  <worldbody>
    <light name="key" pos="0.6 -0.6 1.6" dir="-0.2 0.4 -1" directional="true" diffuse="0.55 0.55 0.55"
           castshadow="true"/>
    <light name="fill" pos="1.2 0.8 1.2" dir="-0.6 -0.4 -0.7" directional="true" diffuse="0.25 0.25 0.25"
           castshadow="false"/>
    <geom name="floor" type="plane" pos="0 0 {FLOOR_Z}" size="3 3 0.1" material="floor"
          contype="{pm.WORLD_CONTYPE}" conaffinity="{pm.WORLD_CONAFFINITY}"/>
    <camera name="front" pos="{_fmt(FRONT_CAMERA_EYE)}" xyaxes="{_fmt(front_axes)}"
            fovy="{FRONT_CAMERA_FOVY}"/>
    {_table_xml()}
    {pm.body_xml(hand_extra=_wrist_camera_xml())}
    {_bin_xml()}
    {_cube_xml()}
    {_obstacle_xml(obstacle)}
  </worldbody>
  {pm.actuator_xml()}
</mujoco>
"""
