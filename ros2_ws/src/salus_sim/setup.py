from setuptools import find_packages, setup

PACKAGE = "salus_sim"

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
        "MuJoCo Franka Panda pick-and-place node speaking the Isaac Sim bridge contract, "
        "ground-truth labels, failure injection, scripted expert."
    ),
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "sim_node = salus_sim.sim_node:main",
            "expert_node = salus_sim.expert_node:main",
            "salus-panda-urdf = salus_sim.core.urdf:main",
        ],
        "salus.lockstep_envs": ["mujoco = salus_sim.lockstep_env:make_env"],
    },
)
