"""Pose estimation behind one interface: :class:`PoseEstimator` → :class:`FramePoses` per frame.

Backends are kept in a registry (:data:`BACKENDS`, :func:`register_backend`): ``yolo`` (ultralytics
YOLO-pose, COCO-17, default) and ``mediapipe`` (PoseLandmarker, MediaPipe-33). Both track persons with
ultralytics' ByteTrack/BoT-SORT (:mod:`.tracking`). The lean ONNX Runtime YOLO-pose estimator the live
detector runs on the CPU is :class:`core.pose.yolo_onnx.OnnxPoseEstimator` (same model and layout as
``yolo``), with its INT8 variant in :mod:`core.pose.int8`.

Adding a backend: write a :class:`PoseEstimator` subclass (``process(image, frame_index, time_s)`` →
tracked :class:`FramePoses` in original pixels, ``reset()``, ``describe()``) and a settings function that
returns what ``describe()`` would without loading the model (the skeleton-cache key), then::

    register_backend("mybackend", "mypkg.pose:MyEstimator", "mypkg.pose:my_settings", layout="coco17",
                     description="…")

The CLI's ``--backend`` choices, the GUI's backend menus and :func:`create_estimator` read the registry.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

from .base import FramePoses, Person, PoseEstimator


@dataclass(frozen=True)
class PoseBackend:
    """One registered pose backend.

    Attributes:
        name: registry name (``--backend NAME``).
        estimator: ``"module:Class"`` of its :class:`PoseEstimator` (imported on first use, so listing
            backends loads no model library).
        settings: ``"module:function"`` returning the settings ``describe()`` would return, without
            loading the model (keyword arguments as the estimator's).
        layout: skeleton layout of its keypoints (:mod:`core.layouts`).
        description: one line for menus and ``--help``.
    """

    name: str
    estimator: str
    settings: str
    layout: str
    description: str = ""

    def estimator_class(self) -> type[PoseEstimator]:
        """The estimator class (imports its module)."""
        return _load(self.estimator)

    def settings_function(self) -> Callable[..., dict]:
        """The settings function (imports its module)."""
        return _load(self.settings)


def _load(target: str):
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


#: The registered backends by name, in the order menus show them.
BACKENDS: dict[str, PoseBackend] = {}
DEFAULT_BACKEND = "yolo"


def register_backend(name: str, estimator: str, settings: str, layout: str, description: str = "") -> PoseBackend:
    """Add (or replace) pose backend ``name``; see :class:`PoseBackend` for the arguments. Returns the entry."""
    entry = PoseBackend(name, estimator, settings, layout, description)
    BACKENDS[name] = entry
    return entry


def get_backend(name: str) -> PoseBackend:
    """The registry entry of ``name``.

    Raises:
        ValueError: unknown backend (the message lists the known ones).
    """
    try:
        return BACKENDS[name]
    except KeyError:
        raise ValueError(f"unknown pose backend '{name}'; choose one of {', '.join(BACKENDS)}") from None


register_backend("yolo", "core.pose.yolo:YoloPoseEstimator", "core.pose.yolo:yolo_settings", "coco17",
                 "YOLO-pose (COCO-17, multi-person)")
register_backend("mediapipe", "core.pose.mp_landmarker:MediaPipePoseEstimator",
                 "core.pose.mp_landmarker:mediapipe_settings", "mediapipe33",
                 "MediaPipe PoseLandmarker (33 landmarks)")


def create_estimator(backend: str = DEFAULT_BACKEND, **kwargs) -> PoseEstimator:
    """Create a pose estimator of a registered backend.

    Args:
        backend: a name in :data:`BACKENDS` (``"yolo"``, ``"mediapipe"``).
        **kwargs: passed to the backend's estimator (e.g. ``model``, ``tracker``, ``frame_rate``; see
            :class:`~core.pose.yolo.YoloPoseEstimator`, :class:`~core.pose.mp_landmarker.MediaPipePoseEstimator`).

    Raises:
        ValueError: unknown backend.
        ModelError: the model file is missing or corrupt.
    """
    return get_backend(backend).estimator_class()(**kwargs)


def estimator_settings(backend: str = DEFAULT_BACKEND, **kwargs) -> dict:
    """What :meth:`PoseEstimator.describe` of ``create_estimator(backend, **kwargs)`` would return,
    without loading the model (cheap: used to find a skeleton cache before loading anything).

    Raises:
        ValueError: unknown backend; ModelError: missing or corrupt model file.
    """
    return get_backend(backend).settings_function()(**kwargs)


__all__ = ["BACKENDS", "DEFAULT_BACKEND", "FramePoses", "Person", "PoseBackend", "PoseEstimator", "create_estimator",
           "estimator_settings", "get_backend", "register_backend"]
