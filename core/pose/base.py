"""Pose-estimation result types and the estimator interface shared by all backends."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Person:
    """One person in one frame.

    Attributes:
        track_id: tracker identity, stable across frames (>= 1); -1 if untracked.
        bbox: ``(4,)`` float32 ``x1, y1, x2, y2`` in pixels of the original frame.
        keypoints: ``(V, 3)`` float32: x, y in pixels of the original frame, score in [0, 1].
        score: detection confidence in [0, 1].
        layout: skeleton layout name of ``keypoints`` (see :mod:`core.layouts`).
    """

    track_id: int
    bbox: np.ndarray
    keypoints: np.ndarray
    score: float
    layout: str


@dataclass
class FramePoses:
    """All persons found in one frame.

    Attributes:
        frame_index: 0-based frame index.
        time_s: timestamp in seconds.
        persons: list of :class:`Person` (possibly empty).
        layout: skeleton layout name shared by all persons.
        width, height: frame size in pixels.
    """

    frame_index: int
    time_s: float
    layout: str
    width: int
    height: int
    persons: list[Person] = field(default_factory=list)

    def track_ids(self) -> list[int]:
        """Track IDs present in this frame."""
        return [p.track_id for p in self.persons]

    def by_track(self, track_id: int) -> Person | None:
        """The person with ``track_id``, or None."""
        for p in self.persons:
            if p.track_id == track_id:
                return p
        return None


class PoseEstimator(ABC):
    """A pose backend: frames in, tracked :class:`FramePoses` out.

    Frames must be passed in playback order; call :meth:`reset` before a new video or after a seek
    (tracker state and temporal smoothing start afresh). Close it (or use ``with``) to free the model.
    """

    #: backend name (``yolo``, ``mediapipe``)
    name: str = ""
    #: skeleton layout of the keypoints it returns
    layout: str = ""

    @abstractmethod
    def process(self, image: np.ndarray, frame_index: int, time_s: float) -> FramePoses:
        """Estimate and track poses in one frame.

        Args:
            image: ``(H, W, 3)`` uint8 BGR.
            frame_index: 0-based index (stored in the result).
            time_s: timestamp in seconds (MediaPipe's VIDEO mode needs it increasing).
        """

    @abstractmethod
    def reset(self) -> None:
        """Forget tracker state (new video or seek)."""

    def describe(self) -> dict:
        """Settings that determine the output (backend, model, image size, tracker…), for cache keys."""
        return {"backend": self.name, "layout": self.layout}

    def close(self) -> None:
        """Release model resources."""

    def __enter__(self) -> "PoseEstimator":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def track_detections(tracker, boxes: np.ndarray, scores: np.ndarray, keypoints: np.ndarray, image: np.ndarray,
                     frame_index: int, time_s: float, layout: str) -> FramePoses:
    """Run a tracker on one frame's detections and build its :class:`FramePoses` (persons sorted by track ID).

    Args:
        tracker: a :class:`core.pose.tracking.Tracker`.
        boxes: ``(N, 4)`` float32 x1, y1, x2, y2 in pixels of ``image``; scores: ``(N,)`` float32 in [0, 1].
        keypoints: ``(N, V, 3)`` float32 x, y pixels, score in [0, 1]; image: ``(H, W, 3)`` uint8 BGR.
        frame_index, time_s, layout: stored in the result.
    """
    h, w = image.shape[:2]
    out = FramePoses(frame_index, time_s, layout, w, h)
    for det, tid in tracker.update(boxes, scores, image):
        out.persons.append(Person(tid, boxes[det], keypoints[det], float(scores[det]), layout))
    out.persons.sort(key=lambda p: p.track_id)
    return out


def rescale_person(person: Person, scale: float, inverse: bool = False) -> Person:
    """A copy of ``person`` with its box and keypoint x, y multiplied by ``scale`` (``inverse``: divided by it, e.g.
    back to original pixels from a frame downscaled by ``scale``); scores unchanged. Arrays stay float32."""
    s = np.float32(scale)
    kp = np.array(person.keypoints, np.float32, copy=True)
    if inverse:
        box = np.asarray(person.bbox, np.float32) / s
        kp[:, :2] /= s
    else:
        box = np.asarray(person.bbox, np.float32) * s
        kp[:, :2] *= s
    return Person(person.track_id, box, kp, person.score, person.layout)


def rescale_poses(poses: FramePoses, scale: float, inverse: bool = False,
                  size: tuple[int, int] | None = None) -> FramePoses:
    """``poses`` with every person rescaled by :func:`rescale_person` (the input is not changed; ``scale == 1``
    returns it as it is).

    Args:
        poses: one frame's persons.
        scale: factor (``(0, inf)``).
        inverse: divide by ``scale`` instead of multiplying.
        size: ``(width, height)`` in pixels of the result (default: ``poses``' size scaled the same way, rounded).
    """
    if scale == 1.0:
        return poses
    if size is None:
        f = 1.0 / scale if inverse else scale
        size = (int(round(poses.width * f)), int(round(poses.height * f)))
    out = FramePoses(poses.frame_index, poses.time_s, poses.layout, int(size[0]), int(size[1]))
    out.persons = [rescale_person(p, scale, inverse) for p in poses.persons]
    return out
