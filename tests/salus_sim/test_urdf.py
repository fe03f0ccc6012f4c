"""The URDF (rviz, robot_state_publisher) describes the same arm as the MuJoCo model the sim runs."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import mujoco
import numpy as np
import yaml

from salus_common.robot_profile import PANDA_JOINT_NAMES, PANDA_POSITION_LOWER, PANDA_POSITION_UPPER
from salus_sim.core import panda_model as pm
from salus_sim.core.urdf import panda_urdf, robot_description_params

CONFIG = Path(__file__).resolve().parents[2] / "config"


def rot(axis: str, angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    if axis == "x":
        return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])
    if axis == "y":
        return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def urdf_fk(urdf: str, q: dict[str, float]) -> dict[str, np.ndarray]:
    """World pose (4x4) of every link, composing the URDF's joint origins and motions."""
    root = ET.fromstring(urdf)
    poses = {"panda_link0": np.eye(4)}
    joints = root.findall("joint")
    while len(poses) < len(joints) + 1:
        for j in joints:
            parent, child = j.find("parent").get("link"), j.find("child").get("link")
            if parent not in poses or child in poses:
                continue
            origin = j.find("origin")
            xyz = np.array([float(v) for v in origin.get("xyz", "0 0 0").split()])
            r, p, y = (float(v) for v in origin.get("rpy", "0 0 0").split())
            t = np.eye(4)
            t[:3, :3] = rot("z", y) @ rot("y", p) @ rot("x", r)
            t[:3, 3] = xyz
            motion = np.eye(4)
            axis = (
                np.array([float(v) for v in j.find("axis").get("xyz").split()])
                if j.find("axis") is not None
                else None
            )
            value = q.get(j.get("name"), 0.0)
            if j.get("type") == "revolute":
                motion[:3, :3] = rot("z", value) if axis[2] == 1 else np.eye(3)
            elif j.get("type") == "prismatic":
                motion[:3, 3] = axis * value
            poses[child] = poses[parent] @ t @ motion
    return poses


def test_urdf_forward_kinematics_equals_the_mujoco_model():
    model = mujoco.MjModel.from_xml_string(pm.standalone_xml())
    data = mujoco.MjData(model)
    rng = np.random.default_rng(0)
    urdf = panda_urdf()
    for _ in range(5):
        q = rng.uniform(PANDA_POSITION_LOWER, PANDA_POSITION_UPPER)
        for name, value in zip(PANDA_JOINT_NAMES, q, strict=True):
            data.qpos[model.joint(name).qposadr[0]] = value
        mujoco.mj_forward(model, data)
        poses = urdf_fk(urdf, dict(zip(PANDA_JOINT_NAMES, q, strict=True)))
        for body in (*pm.LINK_NAMES[1:], pm.HAND_BODY, *pm.FINGER_BODIES):
            np.testing.assert_allclose(poses[body][:3, 3], data.body(body).xpos, atol=1e-6, err_msg=body)
            np.testing.assert_allclose(poses[body][:3, :3], data.body(body).xmat.reshape(3, 3), atol=1e-6)
        np.testing.assert_allclose(poses["panda_grip"][:3, 3], data.site(pm.GRIP_SITE).xpos, atol=1e-6)


def test_joint_names_and_limits_are_the_robot_profile():
    root = ET.fromstring(panda_urdf())
    movable = [j for j in root.findall("joint") if j.get("type") != "fixed"]
    assert [j.get("name") for j in movable] == list(PANDA_JOINT_NAMES)
    for j, lo, hi in zip(movable, PANDA_POSITION_LOWER, PANDA_POSITION_UPPER, strict=True):
        assert float(j.find("limit").get("lower")) == lo and float(j.find("limit").get("upper")) == hi


def test_shipped_files_equal_the_generator():
    """config/panda.urdf and robot_description.yaml are generated: rerun salus-panda-urdf after a change."""
    urdf = panda_urdf()
    assert (CONFIG / "panda.urdf").read_text() == urdf
    assert (CONFIG / "robot_description.yaml").read_text() == robot_description_params(urdf)
    params = yaml.safe_load((CONFIG / "robot_description.yaml").read_text())
    assert params["robot_state_publisher"]["ros__parameters"]["robot_description"] == urdf
