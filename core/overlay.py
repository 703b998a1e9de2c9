"""The overlay drawn on frames: skeletons, boxes, track IDs and predicted labels.

The GUI and ``main.py render`` both call :func:`draw_overlay`, so the exported video shows exactly
what the player shows.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .layouts import get_layout
from .pose.base import FramePoses

#: Text shown instead of a label while no classifier checkpoint is loaded.
NO_MODEL = "no model"

# 20 well-separated BGR colours (Tableau 20), picked by track ID.
_PALETTE = [
    (180, 119, 31), (14, 127, 255), (44, 160, 44), (40, 39, 214), (189, 103, 148), (75, 86, 140),
    (194, 119, 227), (127, 127, 127), (34, 189, 188), (207, 190, 23), (232, 199, 174), (120, 187, 255),
    (138, 223, 152), (150, 152, 255), (213, 176, 197), (148, 156, 196), (210, 182, 247), (199, 199, 199),
    (141, 219, 219), (229, 218, 158),
]


def track_colour(track_id: int) -> tuple[int, int, int]:
    """BGR colour of a track (stable per ID)."""
    return _PALETTE[(track_id - 1) % len(_PALETTE)] if track_id >= 0 else (200, 200, 200)


@dataclass
class OverlayOptions:
    """What to draw.

    Attributes:
        skeleton, boxes, ids, labels: layer toggles.
        min_score: keypoints and bones below this score are not drawn.
        thickness: line width in pixels at 720 px frame height (scaled with the frame).
    """

    skeleton: bool = True
    boxes: bool = True
    ids: bool = True
    labels: bool = True
    min_score: float = 0.3
    thickness: int = 2


#: The label shown where a model cannot judge (too few detections for its window, a person seen too poorly).
UNCERTAIN = "uncertain"


@dataclass
class TrackLabel:
    """A predicted label for one track: ``name`` and probability ``prob`` in [0, 1]."""

    name: str
    prob: float


#: BGR colour of a joint a labeller corrected (drawn as a larger ring over the joint).
CORRECTED_COLOUR = (255, 0, 255)


def draw_overlay(image: np.ndarray, poses: FramePoses, labels: dict[int, TrackLabel] | None = None,
                 options: OverlayOptions | None = None, corrected: dict[int, np.ndarray] | None = None) -> np.ndarray:
    """Draw the overlay on a copy of ``image``.

    Args:
        image: ``(H, W, 3)`` uint8 BGR frame (not modified).
        poses: the frame's persons (keypoints in pixels of ``image``).
        labels: predicted label per track ID; ``None`` means no classifier is loaded, and the overlay
            says :data:`NO_MODEL` instead of a label.
        options: layer toggles.
        corrected: per track ID, ``(V,)`` bool: joints a labeller corrected (drawn in :data:`CORRECTED_COLOUR`).

    Returns:
        ``(H, W, 3)`` uint8 BGR image with the overlay.
    """
    opt = options or OverlayOptions()
    out = image.copy()
    h = out.shape[0]
    scale = max(0.5, h / 720.0)
    th = max(1, int(round(opt.thickness * scale)))
    font_scale = 0.5 * scale
    layout = get_layout(poses.layout) if poses.persons else None
    for p in poses.persons:
        col = track_colour(p.track_id)
        kp = p.keypoints
        if opt.skeleton and layout is not None:
            ok = kp[:, 2] >= opt.min_score
            for a, b in layout.bones:
                if ok[a] and ok[b]:
                    cv2.line(out, (int(kp[a, 0]), int(kp[a, 1])), (int(kp[b, 0]), int(kp[b, 1])), col, th, cv2.LINE_AA)
            for j in np.flatnonzero(ok):
                cv2.circle(out, (int(kp[j, 0]), int(kp[j, 1])), th + 1, (255, 255, 255), -1, cv2.LINE_AA)
                cv2.circle(out, (int(kp[j, 0]), int(kp[j, 1])), th + 1, col, 1, cv2.LINE_AA)
            fixed = corrected.get(p.track_id) if corrected else None
            if fixed is not None:
                for j in np.flatnonzero(fixed & ok):
                    cv2.circle(out, (int(kp[j, 0]), int(kp[j, 1])), th + 4, CORRECTED_COLOUR, max(1, th), cv2.LINE_AA)
        x1, y1, x2, y2 = (int(v) for v in p.bbox)
        if opt.boxes:
            cv2.rectangle(out, (x1, y1), (x2, y2), col, th)
        parts = []
        if opt.ids:
            parts.append(f"#{p.track_id}")
        if opt.labels:
            if labels is None:
                parts.append(NO_MODEL)
            elif p.track_id in labels:
                lab = labels[p.track_id]
                parts.append(lab.name if lab.name == UNCERTAIN else f"{lab.name} {lab.prob:.2f}")
            else:
                parts.append("…")
        if parts:
            text = " ".join(parts)
            (tw, tht), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, font_scale, 1)
            ty = max(tht + base + 2, y1)
            # inside the frame: a person at its right (or left) edge keeps a readable label
            tx = max(0, min(x1, out.shape[1] - 1 - tw - 4))  # the box is drawn to tx + tw + 4, inclusive
            cv2.rectangle(out, (tx, ty - tht - base - 2), (tx + tw + 4, ty), col, -1)
            cv2.putText(out, text, (tx + 2, ty - base - 1), cv2.FONT_HERSHEY_SIMPLEX, font_scale, (255, 255, 255), 1,
                        cv2.LINE_AA)
    return out
