"""The pick-and-place simulator: Panda + cube + bin in MuJoCo, with perturbations and online outcome labels.

`PickPlaceSim` is ROS-free. A node (or `rollout.run_episode`) calls `reset(seed)`, then `step(joint_targets)`
once per control period and reads joint states, the cube pose and camera images between steps. Perturbations
are applied inside `step`, so the policy only ever sees their effects, as it would on a real robot.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import mujoco
import numpy as np

from salus_common import config as config_util
from salus_common.config import setting
from salus_sim.core import panda_model as pm
from salus_sim.core import scene as sc
from salus_sim.core.injection import EpisodePerturbations, InjectionConfig, sample_perturbations
from salus_sim.core.labels import LabelConfig, LabelObservation, Outcome, OutcomeLabeler

JOINT_NAMES: tuple[str, ...] = pm.ARM_JOINT_NAMES + pm.FINGER_JOINT_NAMES
CAMERA_NAMES: tuple[str, ...] = ("front", "wrist")

_LOWER = np.array([lo for lo, _ in pm.ARM_RANGE] + [0.0, 0.0])
_UPPER = np.array([hi for _, hi in pm.ARM_RANGE] + [pm.FINGER_OPEN, pm.FINGER_OPEN])
_VELOCITY_LIMIT = np.array(pm.ARM_VELOCITY_LIMIT + (pm.FINGER_VELOCITY_LIMIT,) * 2)
_ARM_BODIES = pm.LINK_NAMES + (pm.HAND_BODY,) + pm.FINGER_BODIES


@dataclass(frozen=True)
class SimConfig:
    physics_dt: float = setting(0.002, "MuJoCo timestep (s)", low=1e-4, high=0.01)
    control_dt: float = setting(0.1, "control period: one step() call (s); a whole multiple of physics_dt")
    image_width: int = setting(224, "camera image width (px)", low=16, high=4096)
    image_height: int = setting(224, "camera image height (px)", low=16, high=4096)
    cameras: tuple[str, ...] = setting(CAMERA_NAMES, f"cameras to render, from {list(CAMERA_NAMES)}")
    shadows: bool = setting(False, "render shadows and reflections (about 10x slower on a CPU)")
    label: LabelConfig = field(default_factory=LabelConfig)
    injection: InjectionConfig = field(default_factory=InjectionConfig)

    def __post_init__(self) -> None:
        if not 1e-4 <= self.physics_dt <= 0.01:
            raise ValueError(f"physics_dt must be in [1e-4, 0.01] s, got {self.physics_dt!r}")
        ratio = self.control_dt / self.physics_dt
        if self.control_dt < self.physics_dt or abs(ratio - round(ratio)) > 1e-6:
            raise ValueError(f"control_dt must be a whole multiple of physics_dt, got {self.control_dt!r}")
        for name in ("image_width", "image_height"):
            if not 16 <= getattr(self, name) <= 4096:
                raise ValueError(f"{name} must be in [16, 4096], got {getattr(self, name)!r}")
        unknown = [c for c in self.cameras if c not in CAMERA_NAMES]
        if unknown or len(set(self.cameras)) != len(self.cameras):
            raise ValueError(
                f"cameras must be distinct names from {list(CAMERA_NAMES)}, got {list(self.cameras)}"
            )

    @property
    def substeps(self) -> int:
        """Physics steps per control step."""
        return round(self.control_dt / self.physics_dt)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> SimConfig:
        """Strict: unknown keys or bad values raise ValueError naming the key (e.g. label.max_duration_s)."""
        return config_util.from_dict(cls, data, "")

    def to_dict(self) -> dict[str, Any]:
        return config_util.to_dict(self)


class _SceneIndex:
    """Ids and masks resolved once per compiled model."""

    def __init__(self, model: mujoco.MjModel) -> None:
        self.arm_qpos = np.array([model.joint(n).qposadr[0] for n in JOINT_NAMES])
        self.arm_dofs = np.array([model.joint(n).dofadr[0] for n in JOINT_NAMES])
        self.actuators = np.array([model.actuator(n).id for n in JOINT_NAMES])
        self.cube_body = model.body(sc.CUBE_BODY).id
        self.cube_geom = model.geom(sc.CUBE_GEOM).id
        self.cube_qpos = model.joint(sc.CUBE_JOINT).qposadr[0]
        self.cube_dof = model.joint(sc.CUBE_JOINT).dofadr[0]
        self.hand_body = model.body(pm.HAND_BODY).id
        self.grip_site = model.site(pm.GRIP_SITE).id
        arm_body_ids = {model.body(n).id for n in _ARM_BODIES}
        names = [model.geom(g).name for g in range(model.ngeom)]
        self.is_arm = np.array([model.geom_bodyid[g] in arm_body_ids for g in range(model.ngeom)])
        self.is_world = np.array([n.startswith(sc.COLLISION_GEOM_PREFIXES) for n in names])
        self.is_finger = [np.array(model.geom_bodyid == model.body(b).id) for b in pm.FINGER_BODIES]


class PickPlaceSim:
    """Panda pick-and-place episode simulator. Constructing it resets to seed 0, so it is always valid."""

    def __init__(self, config: SimConfig | None = None) -> None:
        self.config = config or SimConfig()
        self._renderer: mujoco.Renderer | None = None
        self._labeler = OutcomeLabeler(self.config.label)
        self._obstacle: sc.ObstacleSpec | None = None
        self._build(None)
        self.reset(0)

    # ----------------------------------------------------------------------------------------- lifecycle
    def _build(self, obstacle: sc.ObstacleSpec | None) -> None:
        """Compile the scene; needed only when the obstacle changes (everything else is set in place)."""
        self._close_renderer()
        cfg = self.config
        xml = sc.scene_xml(cfg.physics_dt, obstacle, cfg.image_width, cfg.image_height)
        self.model = mujoco.MjModel.from_xml_string(xml)
        self.data = mujoco.MjData(self.model)
        self._obstacle = obstacle
        self._ix = _SceneIndex(self.model)
        self._cube_mass = float(self.model.body_mass[self._ix.cube_body])
        self._cube_inertia = self.model.body_inertia[self._ix.cube_body].copy()
        self._cube_friction = self.model.geom_friction[self._ix.cube_geom].copy()

    def reset(self, seed: int) -> EpisodePerturbations:
        """Start an episode: sample perturbations from `seed`, arm at home with the gripper open."""
        rng = np.random.default_rng(seed)
        pert = sample_perturbations(self.config.injection, rng)
        self._noise_rng = np.random.default_rng(int(rng.integers(0, np.iinfo(np.int64).max)))
        if pert.obstacle != self._obstacle:
            self._build(pert.obstacle)
        self._perturbations = pert
        self._apply_cube_properties(pert)
        mujoco.mj_resetData(self.model, self.data)
        home = np.array(pm.HOME_QPOS)
        self.data.qpos[self._ix.arm_qpos] = home
        self.data.ctrl[self._ix.actuators] = home
        self._place_cube(pert.cube_xy, pert.cube_yaw)
        mujoco.mj_forward(self.model, self.data)
        self._labeler.reset()
        self._physics_steps = 0
        self._ctrl = home.copy()
        self._pending: deque[np.ndarray] = deque([home.copy()] * pert.action_delay_steps)
        self._in_gripper = False
        self._grasp_time: float | None = None
        self._fault_time: float | None = None
        self._fault_started = False
        return pert

    def _apply_cube_properties(self, pert: EpisodePerturbations) -> None:
        ix = self._ix
        self.model.body_mass[ix.cube_body] = self._cube_mass * pert.mass_scale
        self.model.body_inertia[ix.cube_body] = self._cube_inertia * pert.mass_scale
        self.model.geom_friction[ix.cube_geom] = self._cube_friction * pert.friction_scale
        # Recompute the compile-time constants derived from masses (constraint inverse weights), or the
        # contacts of a much heavier cube are mis-scaled and the simulation blows up.
        mujoco.mj_setConst(self.model, self.data)

    def _place_cube(self, xy: tuple[float, float], yaw: float) -> None:
        adr = self._ix.cube_qpos
        self.data.qpos[adr : adr + 3] = (xy[0], xy[1], sc.TABLE_TOP_Z + sc.CUBE_HALF + 1e-4)
        self.data.qpos[adr + 3 : adr + 7] = (math.cos(yaw / 2), 0.0, 0.0, math.sin(yaw / 2))

    def close(self) -> None:
        """Free the renderer (its GL context); the sim stays usable and re-creates it when needed."""
        self._close_renderer()

    def _close_renderer(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None

    def __enter__(self) -> PickPlaceSim:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------------------------------ stepping
    def step(self, joint_targets: np.ndarray) -> None:
        """Advance one control period towards `joint_targets` (9,): 7 arm joints (rad), 2 fingers (m each).

        Targets are clipped to the joint ranges, perturbed (noise, delay), then reached by linear
        interpolation over the period within the joint velocity limits, like a joint trajectory controller.
        """
        target = self._perturb_command(self._validate(joint_targets))
        start = self._ctrl.copy()
        max_step = np.minimum(
            np.abs(target - start) / self.config.substeps, _VELOCITY_LIMIT * self.config.physics_dt
        )
        for _ in range(self.config.substeps):
            goal, limit = self._fault_override(target, max_step)
            self._ctrl += np.clip(goal - self._ctrl, -limit, limit)
            self.data.ctrl[self._ix.actuators] = self._ctrl
            self._apply_push()
            mujoco.mj_step(self.model, self.data)
            self._physics_steps += 1
            self._observe()

    def _validate(self, joint_targets: np.ndarray) -> np.ndarray:
        target = np.asarray(joint_targets, dtype=float)
        if target.shape != (len(JOINT_NAMES),):
            raise ValueError(f"joint_targets must have shape ({len(JOINT_NAMES)},), got {target.shape}")
        if not np.all(np.isfinite(target)):
            raise ValueError("joint_targets must be finite")
        return np.clip(target, _LOWER, _UPPER)

    def _perturb_command(self, target: np.ndarray) -> np.ndarray:
        std = self._perturbations.action_noise_std_rad
        if std > 0:
            target = target.copy()
            target[:7] += self._noise_rng.normal(0.0, std, size=7)
            target = np.clip(target, _LOWER, _UPPER)
        if self._pending:  # action delay: a FIFO holding `delay` commands
            self._pending.append(target)
            target = self._pending.popleft()
        return target

    def _fault_override(self, target: np.ndarray, max_step: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """After the injected fault time the fingers open at their speed limit, whatever the command."""
        if self._fault_time is None or self.time < self._fault_time:
            return target, max_step
        if not self._fault_started:  # release from the current width, not from a squeezing setpoint
            fingers = self.data.qpos[self._ix.arm_qpos[7:]]
            self._ctrl[7:] = np.maximum(self._ctrl[7:], fingers)
            self._fault_started = True
        goal, limit = target.copy(), max_step.copy()
        goal[7:] = pm.FINGER_OPEN
        limit[7:] = pm.FINGER_VELOCITY_LIMIT * self.config.physics_dt
        return goal, limit

    def _apply_push(self) -> None:
        push = self._perturbations.push
        if push is None:
            return
        body = self._ix.cube_body if push.target == "cube" else self._ix.hand_body
        active = push.start_s <= self.time < push.start_s + push.duration_s
        self.data.xfrc_applied[body, :2] = push.force_xy if active else (0.0, 0.0)

    # ------------------------------------------------------------------------------------------ labeling
    def _observe(self) -> None:
        in_gripper, arm_force = self._contact_summary()
        self._in_gripper = in_gripper
        t = self.time
        if in_gripper and self._grasp_time is None:
            self._grasp_time = t
            delay = self._perturbations.gripper_fault_delay_s
            if delay is not None:
                self._fault_time = t + delay
        self._labeler.update(self._label_observation(t, in_gripper, arm_force))

    def _label_observation(self, t: float, in_gripper: bool, arm_force: float) -> LabelObservation:
        ix = self._ix
        cube = self.data.xpos[ix.cube_body]
        bin_x, bin_y, _ = sc.BIN_POS
        over_bin = abs(cube[0] - bin_x) < sc.BIN_INNER_HALF and abs(cube[1] - bin_y) < sc.BIN_INNER_HALF
        in_bin = over_bin and sc.TABLE_TOP_Z < cube[2] < sc.TABLE_TOP_Z + sc.BIN_HEIGHT
        finite = self.data.warning[mujoco.mjtWarning.mjWARN_BADQACC].number == 0 and bool(
            np.isfinite(self.data.qpos).all()
        )
        return LabelObservation(
            time=t,
            cube_pos=(float(cube[0]), float(cube[1]), float(cube[2])),
            cube_height=float(cube[2] - sc.TABLE_TOP_Z),
            cube_speed=float(np.linalg.norm(self.data.qvel[ix.cube_dof : ix.cube_dof + 3])),
            cube_in_gripper=in_gripper,
            cube_grip_distance=float(np.linalg.norm(self.data.site_xpos[ix.grip_site] - cube)),
            cube_over_bin=bool(over_bin),
            cube_in_bin=bool(in_bin),
            arm_contact_force=arm_force,
            finite=finite,
        )

    def _contact_summary(self) -> tuple[bool, float]:
        """(both fingers touch the cube, max normal force of arm/gripper contacts with table/bin/obstacle)."""
        ncon = self.data.ncon
        if ncon == 0:
            return False, 0.0
        ix = self._ix
        g1, g2 = self.data.contact.geom1[:ncon], self.data.contact.geom2[:ncon]
        cube1, cube2 = g1 == ix.cube_geom, g2 == ix.cube_geom
        in_gripper = all(bool(np.any((cube1 & f[g2]) | (cube2 & f[g1]))) for f in ix.is_finger)
        hits = np.flatnonzero((ix.is_arm[g1] & ix.is_world[g2]) | (ix.is_world[g1] & ix.is_arm[g2]))
        force = 0.0
        wrench = np.zeros(6)
        for i in hits:
            mujoco.mj_contactForce(self.model, self.data, int(i), wrench)
            force = max(force, float(wrench[0]))
        return in_gripper, force

    # ------------------------------------------------------------------------------------------ reading
    @property
    def time(self) -> float:
        """Sim seconds since reset, counted here (MuJoCo's own clock restarts if the physics blows up)."""
        return self._physics_steps * self.config.physics_dt

    def joint_positions(self) -> np.ndarray:
        return self.data.qpos[self._ix.arm_qpos].copy()

    def joint_velocities(self) -> np.ndarray:
        return self.data.qvel[self._ix.arm_dofs].copy()

    def joint_limits(self) -> tuple[tuple[str, ...], tuple[float, ...], tuple[float, ...]]:
        """(names, lower, upper) position limits in JOINT_NAMES order (rad; fingers m)."""
        return JOINT_NAMES, tuple(float(v) for v in _LOWER), tuple(float(v) for v in _UPPER)

    def joint_efforts(self) -> np.ndarray:
        """Actuator torques (N*m) for the arm joints and forces (N) for the fingers."""
        return self.data.actuator_force[self._ix.actuators].copy()

    def cube_pose(self) -> tuple[np.ndarray, np.ndarray]:
        """(position (3,), quaternion wxyz (4,)) in the base frame."""
        adr = self._ix.cube_qpos
        return self.data.qpos[adr : adr + 3].copy(), self.data.qpos[adr + 3 : adr + 7].copy()

    def bin_position(self) -> np.ndarray:
        """Center of the bin's bottom face on the table (base frame)."""
        return np.array(sc.BIN_POS, dtype=float)

    @property
    def outcome(self) -> Outcome | None:
        return self._labeler.outcome

    @property
    def onset_time(self) -> float | None:
        return self._labeler.onset_time

    @property
    def decided_time(self) -> float | None:
        """When the outcome became certain (>= onset_time): the time an episode runner can stop."""
        return self._labeler.decided_time

    @property
    def perturbations(self) -> EpisodePerturbations:
        return self._perturbations

    @property
    def grasped(self) -> bool:
        """Both fingers touch the cube (at the last physics step)."""
        return self._in_gripper

    @property
    def grasp_time(self) -> float | None:
        return self._grasp_time

    @property
    def gripper_fault_time(self) -> float | None:
        """When the injected gripper fault opens the fingers (known once the grasp is established)."""
        return self._fault_time

    # ------------------------------------------------------------------------------------------ cameras
    def render(self, camera: str) -> np.ndarray:
        """RGB image (H, W, 3) uint8 from `camera`."""
        self._check_camera(camera)
        renderer = self._get_renderer()
        renderer.update_scene(self.data, camera=camera)
        return renderer.render()

    def camera_intrinsics(self, camera: str) -> tuple[float, float, float, float]:
        """(fx, fy, cx, cy) in pixels: pinhole, pixel centers at integer coordinates (as ROS CameraInfo)."""
        self._check_camera(camera)
        fovy = math.radians(float(self.model.cam_fovy[self.model.camera(camera).id]))
        width, height = self.config.image_width, self.config.image_height
        focal = 0.5 * height / math.tan(fovy / 2)
        return focal, focal, (width - 1) / 2, (height - 1) / 2

    def camera_pose(self, camera: str) -> tuple[np.ndarray, np.ndarray]:
        """(position (3,), quaternion wxyz (4,)) of the camera in the base frame, MuJoCo/OpenGL convention:
        the camera looks along its -z with +y up (the ROS optical frame is this rotated by pi about x)."""
        self._check_camera(camera)
        cam = self.model.camera(camera).id
        quat = np.empty(4)
        mujoco.mju_mat2Quat(quat, self.data.cam_xmat[cam])
        return self.data.cam_xpos[cam].copy(), quat

    def _check_camera(self, camera: str) -> None:
        if camera not in self.config.cameras:
            raise ValueError(f"unknown camera {camera!r}; configured: {list(self.config.cameras)}")

    def _get_renderer(self) -> mujoco.Renderer:
        if self._renderer is None:
            renderer = mujoco.Renderer(self.model, self.config.image_height, self.config.image_width)
            renderer.scene.flags[mujoco.mjtRndFlag.mjRND_SHADOW] = self.config.shadows
            renderer.scene.flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = self.config.shadows
            self._renderer = renderer
        return self._renderer
