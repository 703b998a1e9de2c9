"""Multi-person tracking with ultralytics' trackers (ByteTrack, BoT-SORT), independent of the detector.

Both pose backends hand their per-frame person boxes to :class:`Tracker`, which runs ultralytics'
``BYTETracker`` or ``BOTSORT`` (Zhang et al., ECCV 2022; Aharon et al., 2022) with the defaults of
ultralytics' ``bytetrack.yaml`` / ``botsort.yaml``.
"""

from __future__ import annotations

import numpy as np

from ..choices import TRACKERS  # noqa: E402  (re-exported)


class Tracker:
    """Assigns persistent track IDs to per-frame detections.

    Args:
        kind: ``"bytetrack"`` (default) or ``"botsort"`` (adds camera-motion compensation; ReID off).
        frame_rate: video fps; scales how long lost tracks are kept (``track_buffer`` frames at 30 fps).
    """

    def __init__(self, kind: str = "bytetrack", frame_rate: float = 30.0):
        from ultralytics.trackers import BOTSORT, BYTETracker
        from ultralytics.utils import YAML, IterableSimpleNamespace
        from ultralytics.utils.checks import check_yaml

        if kind not in TRACKERS:
            raise ValueError(f"unknown tracker '{kind}'; choose one of {', '.join(TRACKERS)}")
        self.kind = kind
        cfg = IterableSimpleNamespace(**YAML.load(check_yaml(f"{kind}.yaml")))
        if kind == "botsort":
            cfg.with_reid = False
        self._cfg = cfg
        self._cls = BOTSORT if kind == "botsort" else BYTETracker
        self.frame_rate = frame_rate
        self.reset()

    def reset(self) -> None:
        """Drop all tracks; IDs restart at 1."""
        self._tracker = self._cls(args=self._cfg)
        # track_buffer counts frames at 30 fps; keep lost tracks for the same time at any fps, as the
        # original ByteTrack does (buffer_size = frame_rate / 30 * track_buffer, Zhang et al. 2022)
        self._tracker.max_frames_lost = int(round(self.frame_rate / 30.0 * self._cfg.track_buffer))

    def update(self, boxes: np.ndarray, scores: np.ndarray, image: np.ndarray | None = None) -> list[tuple[int, int]]:
        """Track one frame's detections.

        Args:
            boxes: ``(N, 4)`` float32 x1, y1, x2, y2 in pixels.
            scores: ``(N,)`` float32 confidences in [0, 1].
            image: the BGR frame (BoT-SORT's motion compensation uses it).

        Returns:
            ``[(detection_index, track_id), …]`` for the detections that belong to confirmed tracks.
        """
        from ultralytics.engine.results import Boxes

        n = len(boxes)
        data = np.zeros((n, 6), np.float32)
        if n:
            data[:, :4] = boxes
            data[:, 4] = scores
        h, w = (image.shape[:2] if image is not None else (10_000, 10_000))
        tracks = self._tracker.update(Boxes(data, (h, w)), image)
        if len(tracks) == 0:
            return []
        return [(int(t[-1]), int(t[4])) for t in tracks]
