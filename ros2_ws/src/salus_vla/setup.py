from setuptools import find_packages, setup

PACKAGE = "salus_vla"

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
    description="VLA (SmolVLA via lerobot) ensemble node and runtime signal extraction.",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "vla_ensemble_node = salus_vla.vla_ensemble_node:main",
            "salus-build-backbone = salus_vla.build_backbone:main",
            "salus-train-vla = salus_vla.train:main",
            "salus-eval-vla = salus_vla.evaluate:main",
        ],
    },
)
