"""risk_markers_node: FailurePrediction -> visualization_msgs/MarkerArray for rviz.

The horizons x types grid (a cube per cell coloured by probability, its value as text, row and column
labels) and an alert marker, all in ``frame_id`` (default the Panda's hand, so the grid follows the
end-effector through TF where robot_state_publisher runs). Predictions with a malformed probability
array are counted on ``/diagnostics`` and drawn as nothing.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
from builtin_interfaces.msg import Duration
from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import Point, Vector3
from rclpy.clock import Clock, ClockType
from rclpy.node import Node
from std_msgs.msg import ColorRGBA
from visualization_msgs.msg import Marker, MarkerArray

from salus_common import contract
from salus_common.config import setting
from salus_common.diagnostics import diagnostic_array
from salus_common.node_runner import run_node
from salus_common.parameters import check_no_unknown_parameters, declare_config, declare_robot_profile
from salus_common.qos import create_publisher, create_subscription
from salus_monitor.core.risk_grid import GridLayout, grid_cells, header_positions
from salus_msgs.msg import FailurePrediction

NODE_NAME = "risk_markers"
NAMESPACE_CELLS, NAMESPACE_TEXT, NAMESPACE_LABELS, NAMESPACE_ALERT = (
    "risk_cells",
    "risk_values",
    "risk_labels",
    "alert",
)


@dataclass
class RiskMarkersConfig:
    frame_id: str = setting("panda_hand", "frame the grid is anchored in (the end-effector's)")
    cell_m: float = setting(0.05, "cell edge [m]", low=0.005)
    lifetime_s: float = setting(1.0, "markers disappear this long after the last prediction [s]", low=0.0)
    diagnostics_period_s: float = setting(1.0, "period of the /diagnostics status [s]", low=0.05)


def _marker(ns: int | str, mid: int, kind: int, frame_id: str, stamp, lifetime: Duration) -> Marker:
    m = Marker(ns=str(ns), id=mid, type=kind, action=Marker.ADD, lifetime=lifetime, frame_locked=True)
    m.header.frame_id = frame_id
    m.header.stamp = stamp
    m.pose.orientation.w = 1.0
    return m


def prediction_markers(msg: FailurePrediction, cfg: RiskMarkersConfig) -> MarkerArray:
    """The whole MarkerArray for one prediction (ValueError on a malformed probability array)."""
    horizons, types = list(msg.horizons), list(msg.failure_types)
    probs = np.asarray(msg.probabilities, dtype=np.float64)
    if probs.size != len(horizons) * len(types) or probs.size == 0 or not np.all(np.isfinite(probs)):
        raise ValueError(f"{probs.size} probabilities for {len(horizons)} horizons x {len(types)} types")
    layout = GridLayout(cell_m=cfg.cell_m)
    secs = int(cfg.lifetime_s)
    lifetime = Duration(sec=secs, nanosec=int((cfg.lifetime_s - secs) * 1e9))
    stamp = msg.header.stamp
    out = MarkerArray()
    for i, cell in enumerate(grid_cells(probs.reshape(len(horizons), len(types)), horizons, types, layout)):
        cube = _marker(NAMESPACE_CELLS, i, Marker.CUBE, cfg.frame_id, stamp, lifetime)
        cube.pose.position = Point(x=cell.position[0], y=cell.position[1], z=cell.position[2])
        cube.scale = Vector3(x=0.005, y=cfg.cell_m, z=cfg.cell_m)
        cube.color = ColorRGBA(r=cell.rgba[0], g=cell.rgba[1], b=cell.rgba[2], a=cell.rgba[3])
        text = _marker(NAMESPACE_TEXT, i, Marker.TEXT_VIEW_FACING, cfg.frame_id, stamp, lifetime)
        text.pose.position = Point(x=cell.position[0] - 0.01, y=cell.position[1], z=cell.position[2])
        text.scale.z = cfg.cell_m * 0.4
        text.color = ColorRGBA(r=1.0, g=1.0, b=1.0, a=1.0)
        text.text = cell.text
        out.markers += [cube, text]
    labels = header_positions(horizons, types, layout)
    for i, (label, pos) in enumerate(labels):
        m = _marker(NAMESPACE_LABELS, i, Marker.TEXT_VIEW_FACING, cfg.frame_id, stamp, lifetime)
        m.pose.position = Point(x=pos[0], y=pos[1], z=pos[2])
        m.scale.z = cfg.cell_m * 0.35
        m.color = ColorRGBA(r=0.9, g=0.9, b=0.9, a=1.0)
        m.text = label
        out.markers.append(m)
    alert = _marker(NAMESPACE_ALERT, 0, Marker.TEXT_VIEW_FACING, cfg.frame_id, stamp, lifetime)
    top = max(p[2] for _, p in labels)
    alert.pose.position = Point(x=layout.offset[0], y=layout.offset[1], z=top + cfg.cell_m)
    alert.scale.z = cfg.cell_m * 0.6
    if msg.alert:
        alert.text = f"ALERT  risk {msg.max_risk:.2f} >= {msg.threshold:.2f}"
        alert.color = ColorRGBA(r=1.0, g=0.1, b=0.1, a=1.0)
    else:
        alert.text = f"risk {msg.max_risk:.2f} < {msg.threshold:.2f}"
        alert.color = ColorRGBA(r=0.6, g=0.9, b=0.6, a=0.9)
    out.markers.append(alert)
    return out


class RiskMarkersNode(Node):
    def __init__(self) -> None:
        super().__init__(NODE_NAME)
        # The robot profile applies to every node of the graph; the markers need none of its facts.
        declare_robot_profile(self)
        self.cfg = declare_config(self, RiskMarkersConfig)
        check_no_unknown_parameters(self)
        self.rejected: Counter[str] = Counter()
        self.published = 0
        self.pub = create_publisher(self, MarkerArray, contract.RISK_MARKERS_TOPIC)
        self.pub_diag = create_publisher(self, DiagnosticArray, contract.DIAGNOSTICS_TOPIC)
        create_subscription(self, FailurePrediction, contract.PREDICTION_TOPIC, self.on_prediction)
        steady = Clock(clock_type=ClockType.STEADY_TIME)
        self.create_timer(self.cfg.diagnostics_period_s, self.publish_diagnostics, clock=steady)

    def on_prediction(self, msg: FailurePrediction) -> None:
        try:
            markers = prediction_markers(msg, self.cfg)
        except ValueError as err:
            self.rejected["malformed_prediction"] += 1
            self.get_logger().warning(f"prediction not drawn: {err}", throttle_duration_sec=2.0)
            return
        self.pub.publish(markers)
        self.published += 1

    def publish_diagnostics(self) -> None:
        values = {"published": str(self.published), "rejected": str(self.rejected.total())}
        values.update({f"rejected_{k}": str(v) for k, v in self.rejected.items()})
        problem = "malformed predictions" if self.rejected else None
        self.pub_diag.publish(diagnostic_array(NODE_NAME, values, problem, self.get_clock().now().to_msg()))


def main(args: list[str] | None = None) -> None:
    run_node(RiskMarkersNode, args)
