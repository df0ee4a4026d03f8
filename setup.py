"""Package layout: the owner's top-level folders installed inside the ``gaitstream`` namespace.

``pipelines/``, ``services/`` and ``schemas/`` stay where a reader expects them, but they are
installed (and imported) as ``gaitstream.pipelines``, ``gaitstream.services`` and
``gaitstream.schemas``: nothing with a generic name lands in site-packages (issue 14). Everything
else about the project is in ``pyproject.toml``.
"""

from setuptools import find_packages, setup

FOLDERS = ("pipelines", "services", "schemas")

setup(
    packages=[
        *find_packages(include=["gaitstream", "gaitstream.*"]),
        *(f"gaitstream.{name}" for name in find_packages(include=[*FOLDERS, *(f"{f}.*" for f in FOLDERS)])),
        "gaitstream.schemas.avro",  # the Avro schema files (data only)
    ],
    package_dir={"": ".", **{f"gaitstream.{folder}": folder for folder in FOLDERS}},
)
