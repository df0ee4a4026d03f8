"""The lock files pin what pyproject.toml asks for, and what the tests run with is what they pin.

``make`` installs ``requirements-dev.lock`` (hashes checked) and the Docker image
``requirements.lock``; ``make lock`` refreshes both after a dependency change.
"""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9_.\-\[\]]+)==([^\s\\;]+)", re.MULTILINE)


def _locked(name: str) -> dict[str, str]:
    text = (ROOT / name).read_text()
    assert "--hash=sha256:" in text, f"{name} must carry hashes"
    return {canonicalize_name(m[1].split("[")[0]): m[2] for m in PIN.finditer(text)}


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


@pytest.mark.parametrize(("lock", "extras"), [("requirements.lock", ()), ("requirements-dev.lock", ("dev",))])
def test_every_dependency_is_locked_within_its_range(lock, extras):
    locked = _locked(lock)
    project = _project()
    wanted = [Requirement(r) for r in project["dependencies"]]
    for extra in extras:
        wanted += [Requirement(r) for r in project["optional-dependencies"][extra]]
    for requirement in wanted:
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{requirement} is not in {lock}"
        assert requirement.specifier.contains(locked[name], prereleases=True), (requirement, locked[name])


def test_runtime_lock_agrees_with_the_dev_lock():
    runtime, dev = _locked("requirements.lock"), _locked("requirements-dev.lock")
    assert {name: version for name, version in dev.items() if name in runtime} == runtime


def test_the_tests_run_with_the_locked_versions():
    locked = _locked("requirements-dev.lock")
    installed = {canonicalize_name(d.metadata["Name"]): d.version for d in importlib.metadata.distributions()}
    wrong = {name: (version, installed.get(name)) for name, version in locked.items() if installed.get(name) != version}
    assert wrong == {}


def test_make_and_the_image_install_from_the_locks():
    makefile = (ROOT / "Makefile").read_text()
    assert "--require-hashes -r requirements-dev.lock" in makefile and "--no-deps --editable ." in makefile
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "--require-hashes -r requirements.lock" in dockerfile and "--no-deps ." in dockerfile


def test_urllib3_is_the_locked_urllib3_not_a_fork_behind_its_name():
    """urllib3-future's .pth copies the fork over ``urllib3`` at every start; the metadata still says
    the locked version, so the package itself is asked (deploy/fence_urllib3.py keeps it out)."""
    import sysconfig

    import urllib3

    assert urllib3.__version__ == _locked("requirements-dev.lock")["urllib3"]
    assert not (Path(sysconfig.get_paths()["purelib"]) / "urllib3_future.pth").exists()
    import niquests._compat  # grafana-client's HTTP goes through the fork under its own name

    assert niquests._compat.urllib3_future is not None


def test_the_image_and_make_fence_urllib3():
    assert "deploy/fence_urllib3.py requirements-dev.lock" in (ROOT / "Makefile").read_text()
    assert "deploy/fence_urllib3.py requirements.lock" in (ROOT / "Dockerfile").read_text()
