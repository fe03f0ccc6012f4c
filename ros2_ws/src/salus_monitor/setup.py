from setuptools import find_packages, setup

PACKAGE = "salus_monitor"

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
        "SALUS runtime monitoring: the failure predictor, the safety filter and visualization (next issues)."
    ),
    license="Apache-2.0",
)
