"""Settings read from the environment, with per-user defaults (platformdirs).

Environment variables:

- ``POSEWATCH_MODEL_DIR``: directory searched first for model files (e.g. ``../shared/models``).
- ``POSEWATCH_CACHE_DIR``: root of PoseWatch's per-user cache (downloaded weights, ONNX exports,
  skeleton caches). Default: ``platformdirs.user_cache_dir("posewatch")``.
- ``POSEWATCH_OFFLINE``: if ``1``, never download model files (tests set it).
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs


def cache_root() -> Path:
    """Root directory of the per-user cache; created if missing."""
    root = Path(os.environ.get("POSEWATCH_CACHE_DIR") or platformdirs.user_cache_dir("posewatch"))
    root.mkdir(parents=True, exist_ok=True)
    return root


def model_dirs() -> list[Path]:
    """Directories searched for model files, in order: ``POSEWATCH_MODEL_DIR`` then the download cache."""
    dirs = []
    env = os.environ.get("POSEWATCH_MODEL_DIR")
    if env:
        dirs.append(Path(env).expanduser())
    dirs.append(cache_root() / "models")
    return dirs


def offline() -> bool:
    """True when downloads are disabled (``POSEWATCH_OFFLINE=1``)."""
    return os.environ.get("POSEWATCH_OFFLINE", "0").lower() in ("1", "true", "yes")
