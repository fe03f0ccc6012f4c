from setuptools import find_packages, setup

PACKAGE = "salus_vla"

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
        "SmolVLA (via lerobot) K-sample ensemble node, runtime signal extraction, offline "
        "backbones, train and eval commands."
    ),
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "vla_ensemble_node = salus_vla.vla_ensemble_node:main",
            "salus-build-backbone = salus_vla.build_backbone:main",
            "salus-package-policy = salus_vla.package_policy:main",
            "salus-train-vla = salus_vla.train:main",
            "salus-eval-vla = salus_vla.evaluate:main",
            "salus-fit-hidden-stats = salus_vla.fit_hidden_stats:main",
        ],
    },
)
