from setuptools import find_packages, setup

PACKAGE = "salus_data"

setup(
    name=PACKAGE,
    version="0.2.0",
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
        "SALUS recording: the rosbag2 episode recorder node, bag writing and reading, bag to Zarr "
        "and bag to LeRobot exports, verification, collection."
    ),
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "salus-episode-video = salus_data.episode_video:main",
            "bag_recorder = salus_data.bag_recorder_node:main",
            "salus-collect = salus_data.collect:main",
            "salus-eval-filter = salus_data.evaluate_filter:main",
            "salus-bag2zarr = salus_data.bag_to_zarr:main",
            "salus-verify-zarr = salus_data.verify_zarr:main",
            "salus-bag2lerobot = salus_data.bag_to_lerobot:main",
            "salus-record-topics = salus_data.bag_topics:main",
        ],
    },
)
