from setuptools import find_packages, setup

PACKAGE = "salus_monitor"

setup(
    name=PACKAGE,
    version="0.3.0",
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
        "SALUS runtime monitoring: the multi-horizon failure predictor (train, evaluate, node) and its "
        "rviz markers; the safety filter comes next."
    ),
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "failure_predictor_node = salus_monitor.failure_predictor_node:main",
            "risk_markers_node = salus_monitor.risk_markers_node:main",
            "salus-train-predictor = salus_monitor.train_predictor:main",
            "salus-train-filter = salus_monitor.train_filter:main",
            "action_filter_node = salus_monitor.action_filter_node:main",
            "salus-eval-predictor = salus_monitor.evaluate_predictor:main",
        ],
    },
)
