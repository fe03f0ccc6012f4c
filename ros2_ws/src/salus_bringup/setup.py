from pathlib import Path

from setuptools import find_packages, setup

PACKAGE = "salus_bringup"

setup(
    name=PACKAGE,
    version="0.2.0",
    packages=find_packages(exclude=["test", "test.*"]),
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/launch", sorted(str(p) for p in Path("launch").glob("*.launch.py"))),
        (
            f"share/{PACKAGE}/config",
            sorted(
                str(p) for pattern in ("*.yaml", "*.urdf", "*.rviz") for p in Path("config").glob(pattern)
            ),
        ),
        (f"share/{PACKAGE}/config/robots", sorted(str(p) for p in Path("config/robots").glob("*.yaml"))),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="SALUS developers",
    maintainer_email="salus-dev@example.com",
    description=(
        "SALUS bring-up: the launch file, the parameter files and graph spec, the pip-mode "
        "launcher, the episode runner and the topic tool."
    ),
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "salus-launch = salus_bringup.launcher:main",
            "salus-topic = salus_bringup.topic:main",
            "episode_runner = salus_bringup.episode_runner_node:main",
        ],
    },
)
