"""The installed stack is the pinned one, and torch/torchvision are a matching pair."""

from __future__ import annotations

import re
from importlib.metadata import version

import tomllib

from tests.conftest import ROOT


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
