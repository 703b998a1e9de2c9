"""The installed stack is the pinned one (one cv2, torch and torchvision a matching pair), and a wheel built from
the project installs with its resources and runs."""

from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path

import pytest
import tomllib

from tests.conftest import ROOT


# Under pytest-xdist (--dist loadgroup) this module's tests run in one worker, so its module fixtures
# (a worker process, a trained model, an export) are made once.
pytestmark = pytest.mark.xdist_group("test_install")


def _lock() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.-]+)==([^\s;]+)", line)
        if m:
            pins[m.group(1).lower()] = m.group(2)
    return pins


def test_pyproject_pins_match_lock_and_environment():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lock = _lock()
    pinned = deps["dependencies"] + deps["optional-dependencies"]["test"]
    for spec in pinned:
        name, ver = spec.split("==")
        assert lock[name.lower()] == ver, f"{name}: pyproject {ver} vs requirements.lock {lock[name.lower()]}"
        assert version(name) == ver, f"{name}: installed {version(name)}, pinned {ver}"
    assert not any(d.lower().startswith("pyside6==") for d in pinned), "use PySide6-Essentials, not the meta-package"


def test_torch_and_torchvision_are_a_matching_pair():
    import torch
    import torchvision

    t = tuple(int(x) for x in torch.__version__.split("+")[0].split(".")[:2])
    tv = tuple(int(x) for x in torchvision.__version__.split("+")[0].split(".")[:2])
    assert tv == (0, t[1] + 15), f"torchvision {torchvision.__version__} does not pair with torch {torch.__version__}"
    # the same CUDA build (local version label, e.g. +cu130), so torchvision's GPU ops load on a GPU worker
    assert torch.__version__.partition("+")[2] == torchvision.__version__.partition("+")[2]


def test_one_distribution_writes_cv2():
    """opencv-python and opencv-contrib-python both install ``cv2``; only one of them may be there (the code
    needs no contrib module), and the lock says the same."""
    from importlib.metadata import packages_distributions

    providers = sorted(set(packages_distributions().get("cv2", [])))
    assert providers == ["opencv-python"], providers
    lock = _lock()
    assert "opencv-python" in lock and "opencv-contrib-python" not in lock


def _declared_packages() -> list[str]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]


def test_the_wheel_lists_every_package_of_the_tree():
    from setuptools import find_packages

    found = set(find_packages(str(ROOT), include=["core*", "gui*", "models*"]))
    assert set(_declared_packages()) - {"posewatch_resources"} == found


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A wheel built from the project (``python -m build``) installed into a fresh venv without its dependencies,
    which come from this venv's site-packages (a .pth file), so nothing is downloaded. Returns the venv folder."""
    import shutil
    import subprocess
    import sys
    import sysconfig

    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "main.py"):
        shutil.copy2(ROOT / name, src / name)
    for name in ("core", "gui", "models", "resources"):
        shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    r = subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp / "dist"),
                        str(src)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    wheel = next((tmp / "dist").glob("posewatch-*.whl"))
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=300)
    py = venv / "bin" / "python"
    purelib = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    Path(purelib, "_posewatch_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    r = subprocess.run([sys.executable, "-m", "uv", "pip", "install", "--no-deps", "--python", str(py), str(wheel)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    return venv


def test_the_wheel_installs_with_its_resources_and_runs_detect(installed, tmp_path):
    import json
    import os
    import subprocess

    from tests.conftest import shared_path

    clip = shared_path("data", "videos", "fight", "fi007.mp4")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "POSEWATCH_RESOURCES")}
    py, exe = installed / "bin" / "python", installed / "bin" / "posewatch"
    where = subprocess.run([str(py), "-c", "import core, gui, models, posewatch_resources as r, core.defaults as d; "
                            "print(core.__file__); print(d.package_resources_dir())"],
                           capture_output=True, text=True, cwd=str(tmp_path), env=env, timeout=120)
    assert where.returncode == 0, where.stderr[-2000:]
    core_file, resources = where.stdout.split()
    assert core_file.startswith(str(installed)) and resources.startswith(str(installed))  # not the source tree
    for f in ("default.yaml", "models/abnormal_default.pt", "models/fall_default.pt", "models/yolo11n-pose.int8.json"):
        assert Path(resources, f).is_file(), f
    r = subprocess.run([str(exe), "--help"], capture_output=True, text=True, cwd=str(tmp_path), env=env, timeout=120)
    assert r.returncode == 0 and "detect" in r.stdout and "--set KEY=VALUE" in r.stdout, r.stderr[-2000:]
    ev = tmp_path / "events.jsonl"
    r = subprocess.run([str(exe), "detect", str(clip), "--model", "abnormal", "--events", str(ev)],
                       capture_output=True, text=True, cwd=str(tmp_path), env=env, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stderr.strip().splitlines()[-1].startswith("44 frames,") and ev.is_file()
    assert all(json.loads(line)["label"] in ("theft", "assault", "vandalism") for line in ev.read_text().splitlines())


def test_the_xdist_groups_take_effect(request):
    """Under the README's ``-n 2 --dist loadgroup`` a module's tests marked ``xdist_group`` run in one worker, so its
    expensive module fixtures (a Ray batch, a worker process, an export) are made once. pytest 9.2 silently stopped
    that (pytest-dev/pytest-xdist#1386): the group's tests were spread over both workers and the fixtures made twice."""
    if not getattr(request.config.option, "loadgroup", False):
        pytest.skip("not run under pytest-xdist --dist loadgroup")
    assert request.node.nodeid.endswith("@test_install"), request.node.nodeid
