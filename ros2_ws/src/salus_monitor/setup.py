from setuptools import find_packages, setup

PACKAGE = "salus_monitor"

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(exclude=["test", "test.*"]),
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="SALUS developers",
    maintainer_email="salus-dev@example.com",
    description=(
        "SALUS failure predictor, safety filter, visualization, recording, training, and the graph launcher."
    ),
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "salus-launch = salus_monitor.bringup.launcher:main",
            "salus-topic = salus_monitor.tools.topic:main",
            "lerobot_recorder = salus_monitor.recording.lerobot_recorder_node:main",
            "salus-record-demos = salus_monitor.recording.record_demos:main",
            "bag_recorder = salus_monitor.recording.bag_recorder_node:main",
            "salus-collect = salus_monitor.recording.collect:main",
            "salus-bag2zarr = salus_monitor.recording.bag_to_zarr:main",
            "salus-verify-zarr = salus_monitor.recording.verify_zarr:main",
            "salus-bag2lerobot = salus_monitor.recording.bag_to_lerobot:main",
        ],
    },
)
