"""Pose estimation behind one interface: :class:`PoseEstimator` → :class:`FramePoses` per frame.

Backends: ``yolo`` (ultralytics YOLO-pose, COCO-17, default) and ``mediapipe`` (PoseLandmarker,
MediaPipe-33). Both track persons with ultralytics' ByteTrack/BoT-SORT (:mod:`.tracking`).
"""

from __future__ import annotations

from .base import FramePoses, Person, PoseEstimator

BACKENDS = ("yolo", "mediapipe")
DEFAULT_BACKEND = "yolo"


def create_estimator(backend: str = DEFAULT_BACKEND, **kwargs) -> PoseEstimator:
    """Create a pose estimator.

    Args:
        backend: ``"yolo"`` or ``"mediapipe"``.
        **kwargs: passed to :class:`~core.pose.yolo.YoloPoseEstimator` or
            :class:`~core.pose.mp_landmarker.MediaPipePoseEstimator` (e.g. ``model``, ``tracker``,
            ``frame_rate``).

    Raises:
        ValueError: unknown backend.
        ModelError: the model file is missing or corrupt.
    """
    if backend == "yolo":
        from .yolo import YoloPoseEstimator

        return YoloPoseEstimator(**kwargs)
    if backend == "mediapipe":
        from .mp_landmarker import MediaPipePoseEstimator

        return MediaPipePoseEstimator(**kwargs)
    raise ValueError(f"unknown pose backend '{backend}'; choose one of {', '.join(BACKENDS)}")


def estimator_settings(backend: str = DEFAULT_BACKEND, **kwargs) -> dict:
    """What :meth:`PoseEstimator.describe` of ``create_estimator(backend, **kwargs)`` would return,
    without loading the model (cheap: used to find a skeleton cache before loading anything).

    Raises:
        ValueError: unknown backend; ModelError: missing or corrupt model file.
    """
    if backend == "yolo":
        from .yolo import yolo_settings

        return yolo_settings(**kwargs)
    if backend == "mediapipe":
        from .mp_landmarker import mediapipe_settings

        return mediapipe_settings(**kwargs)
    raise ValueError(f"unknown pose backend '{backend}'; choose one of {', '.join(BACKENDS)}")


__all__ = ["BACKENDS", "DEFAULT_BACKEND", "FramePoses", "Person", "PoseEstimator", "create_estimator", "estimator_settings"]
