"""config/salus.rviz shows what the graph publishes: the robot model, both cameras, the risk markers."""

from pathlib import Path

import yaml

from salus_common import contract
from salus_common.robot_profile import RobotProfile

CONFIG = Path(__file__).resolve().parents[2] / "config"


def test_rviz_config_displays_the_contract_topics():
    config = yaml.safe_load((CONFIG / "salus.rviz").read_text())
    displays = config["Visualization Manager"]["Displays"]
    topics = {d["Class"].split("/")[-1]: [] for d in displays}
    for d in displays:
        if "Topic" in d:
            topics[d["Class"].split("/")[-1]].append(d["Topic"]["Value"])
    assert topics["MarkerArray"] == [contract.RISK_MARKERS_TOPIC]
    assert sorted(topics["Image"]) == sorted(contract.camera_image_topic(c) for c in RobotProfile().cameras)
    robot = next(d for d in displays if d["Class"].endswith("RobotModel"))
    assert robot["Description Topic"]["Value"] == "/robot_description"
    assert config["Visualization Manager"]["Global Options"]["Fixed Frame"] == "panda_link0"
