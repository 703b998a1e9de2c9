"""Skip pose inference on frames where nothing moves (the live detector's *motion gate*).

A camera pointed at a shop or a corridor shows the same picture most of the time; posing it again gives the same
skeletons. :class:`MotionGate` compares each frame with the last frame that was *posed*, on a small grey copy
(:data:`GATE_HEIGHT` pixels high, blurred): where fewer than ``min_pixels`` of its pixels changed by more than
``threshold`` grey levels, the frame is *still* and the detector reuses the last poses (same tracks, boxes and
keypoints, stamped with the new frame's index and time) instead of running the pose model; the classifier, the
tracker's clock and the alerts still see every frame. Comparing with the last posed frame rather than the
previous one means slow motion adds up until it is seen, so a reused skeleton never differs from the picture by
more than the threshold allows. At most ``refresh_s`` seconds pass between two posed frames, whatever the picture
does.

The method and its defaults follow Frigate's motion detector, which gates its object detector the same way
(``motion.threshold: 30`` grey levels, ``motion.frame_height: 100`` pixels, ``motion.contour_area: 10``;
https://docs.frigate.video/configuration/motion_detection). ``bench/multicam.py`` measures what it saves (posed
frames per camera) and what it costs (how far reused keypoints lie from fresh ones).
"""

from __future__ import annotations

import cv2
import numpy as np

#: Height in pixels of the grey copy frames are compared on (Frigate's ``motion.frame_height``).
GATE_HEIGHT = 100


class MotionGate:
    """Decides per frame whether the picture moved since the last posed frame.

    Args:
        threshold: grey-level change (0-255) that counts a pixel of the small copy as changed.
        min_pixels: changed pixels of the small copy (``GATE_HEIGHT`` high) that make a frame moving.
        refresh_s: longest time in seconds between two posed frames (0: no limit).

    Raises:
        ValueError: a threshold outside 1-254, a negative ``min_pixels`` or ``refresh_s``.
    """

    def __init__(self, threshold: int = 30, min_pixels: int = 10, refresh_s: float = 1.0):
        if not 1 <= int(threshold) <= 254:
            raise ValueError(f"motion gate threshold must be 1-254 grey levels, got {threshold}")
        if int(min_pixels) < 0 or float(refresh_s) < 0:
            raise ValueError("motion gate min_pixels and refresh_s must be >= 0")
        self.threshold, self.min_pixels, self.refresh_s = int(threshold), int(min_pixels), float(refresh_s)
        self._ref: np.ndarray | None = None
        self._ref_time = 0.0
        self.posed = 0
        self.reused = 0

    def reset(self) -> None:
        """Forget the reference frame: the next frame is posed."""
        self._ref = None

    @staticmethod
    def small(image: np.ndarray) -> np.ndarray:
        """The grey copy frames are compared on: ``(GATE_HEIGHT, W', ) uint8`` of a BGR ``(H, W, 3)`` uint8 image."""
        h, w = image.shape[:2]
        sw = max(1, int(round(w * GATE_HEIGHT / max(1, h))))
        if h > 2 * GATE_HEIGHT:  # bilinear to twice the size, then pixel areas: 0.3 ms for 720p, area alone 4 ms
            image = cv2.resize(image, (2 * sw, 2 * GATE_HEIGHT), interpolation=cv2.INTER_LINEAR)
        grey = cv2.cvtColor(cv2.resize(image, (sw, GATE_HEIGHT), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2GRAY)
        return cv2.GaussianBlur(grey, (3, 3), 0)

    def changed_pixels(self, image: np.ndarray) -> int:
        """Pixels of the small copy of ``image`` that differ from the reference by more than ``threshold``
        (the whole copy when there is no reference or the size changed)."""
        return self._changed(self.small(image))

    def _changed(self, s: np.ndarray) -> int:
        """:meth:`changed_pixels` of an already made small copy ``s``."""
        if self._ref is None or self._ref.shape != s.shape:
            return int(s.size)
        return int(np.count_nonzero(cv2.absdiff(s, self._ref) > self.threshold))

    def moved(self, image: np.ndarray, time_s: float) -> bool:
        """True when ``image`` must be posed (it moved, or it is the first frame, or ``refresh_s`` has passed);
        that frame becomes the new reference. False: reuse the last poses.

        Args:
            image: BGR ``(H, W, 3)`` uint8 frame.
            time_s: the frame's time in seconds (video or wall clock; only differences are used).
        """
        s = self.small(image)
        stale = self.refresh_s > 0 and abs(time_s - self._ref_time) >= self.refresh_s
        if self._ref is None or self._ref.shape != s.shape or stale or self._changed(s) >= self.min_pixels:
            self._ref, self._ref_time = s, float(time_s)
            self.posed += 1
            return True
        self.reused += 1
        return False
