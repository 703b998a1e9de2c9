"""MediaPipe PoseLandmarker backend (Tasks API, VIDEO mode): 33 BlazePose landmarks per person.

PoseLandmarker gives no identities, so persons are tracked by ultralytics' ByteTrack/BoT-SORT on
the boxes around their visible landmarks, as for YOLO-pose. Keypoint score is the landmark's
``visibility`` in [0, 1]. MediaPipe's VIDEO mode needs strictly increasing timestamps: a frame at or
before the last timestamp (a seek back) restarts the landmarker.
"""

from __future__ import annotations

import numpy as np

from ..errors import ModelError, one_line
from ..modelfiles import resolve_model, sha256_file
from .base import FramePoses, Person, PoseEstimator
from .tracking import Tracker

DEFAULT_MODEL = "pose_landmarker_lite.task"
MIN_VISIBILITY_FOR_BOX = 0.3
BOX_MARGIN = 0.05  # fraction of the landmark extent added on each side of the box


def mediapipe_settings(model: str = DEFAULT_MODEL, num_poses: int = 2, min_confidence: float = 0.5,
                       tracker: str = "bytetrack", **_ignored) -> dict:
    """The settings that determine PoseLandmarker output (the skeleton-cache key), without loading it.

    Raises:
        ModelError: the model file is missing or corrupt.
    """
    path = resolve_model(model)
    return {"backend": MediaPipePoseEstimator.name, "layout": MediaPipePoseEstimator.layout, "model": path.name,
            "sha": sha256_file(path)[:16], "num_poses": num_poses, "min_confidence": min_confidence,
            "tracker": tracker}


class MediaPipePoseEstimator(PoseEstimator):
    """MediaPipe PoseLandmarker.

    Args:
        model: ``pose_landmarker_lite.task`` (default), ``pose_landmarker_full.task`` or a path.
        num_poses: maximum persons per frame (MediaPipe finds few people in crowds; 1–4 typical).
        min_confidence: detection, presence and tracking confidence thresholds.
        tracker: ``bytetrack`` or ``botsort``.
        frame_rate: video fps, for the tracker.

    Raises:
        ModelError: the bundle is missing, corrupt or cannot be loaded.
    """

    name = "mediapipe"
    layout = "mediapipe33"

    def __init__(self, model: str = DEFAULT_MODEL, num_poses: int = 2, min_confidence: float = 0.5,
                 tracker: str = "bytetrack", frame_rate: float = 30.0):
        self._settings = mediapipe_settings(model, num_poses, min_confidence, tracker)
        path = resolve_model(model)
        self.model_path = path
        self.model_name = path.name
        self.num_poses = num_poses
        self.min_confidence = min_confidence
        self._landmarker = None
        self._last_ts = -1
        self._open()
        self.tracker = Tracker(tracker, frame_rate)

    def _open(self) -> None:
        from mediapipe.tasks.python import BaseOptions, vision

        self.close()
        opts = vision.PoseLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(self.model_path)),
            running_mode=vision.RunningMode.VIDEO,
            num_poses=self.num_poses,
            min_pose_detection_confidence=self.min_confidence,
            min_pose_presence_confidence=self.min_confidence,
            min_tracking_confidence=self.min_confidence,
        )
        try:
            self._landmarker = vision.PoseLandmarker.create_from_options(opts)
        except Exception as e:
            raise ModelError(f"cannot load MediaPipe model {self.model_path}: {one_line(e)}") from None
        self._last_ts = -1

    def describe(self) -> dict:
        return dict(self._settings)

    def reset(self) -> None:
        self._open()
        self.tracker.reset()

    def process(self, image: np.ndarray, frame_index: int, time_s: float) -> FramePoses:
        import cv2
        import mediapipe as mp

        h, w = image.shape[:2]
        ts = int(round(time_s * 1000))
        if ts <= self._last_ts:
            self._open()  # VIDEO mode needs increasing timestamps: a seek back starts afresh
        self._last_ts = ts
        rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        result = self._landmarker.detect_for_video(mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb), ts)
        kpts, boxes, scores = [], [], []
        for lms in result.pose_landmarks:
            k = np.array([[lm.x * w, lm.y * h, lm.visibility if lm.visibility is not None else 1.0] for lm in lms],
                         np.float32)
            vis = k[:, 2] >= MIN_VISIBILITY_FOR_BOX
            pts = k[vis, :2] if vis.sum() >= 2 else k[:, :2]
            x1, y1 = pts.min(0)
            x2, y2 = pts.max(0)
            mx, my = (x2 - x1) * BOX_MARGIN, (y2 - y1) * BOX_MARGIN
            boxes.append([max(0, x1 - mx), max(0, y1 - my), min(w, x2 + mx), min(h, y2 + my)])
            kpts.append(k)
            scores.append(float(np.mean(k[:, 2])))
        boxes_a = np.array(boxes, np.float32).reshape(-1, 4)
        scores_a = np.array(scores, np.float32)
        out = FramePoses(frame_index, time_s, self.layout, w, h)
        for det, tid in self.tracker.update(boxes_a, scores_a, image):
            out.persons.append(Person(tid, boxes_a[det], kpts[det], scores[det], self.layout))
        out.persons.sort(key=lambda p: p.track_id)
        return out

    def close(self) -> None:
        if self._landmarker is not None:
            self._landmarker.close()
            self._landmarker = None
