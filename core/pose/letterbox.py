"""Letterboxing for YOLO-pose ONNX models: resize to ``imgsz`` on the longest side and pad to a multiple of 32.

Shared by the lean ONNX estimator (:mod:`core.pose.yolo_onnx`) and the INT8 calibration
(:mod:`core.pose.int8`), which must feed the model exactly the same input.
"""

from __future__ import annotations

import cv2
import numpy as np


def letterbox(image: np.ndarray, imgsz: int) -> tuple[np.ndarray, float, float, float]:
    """Resize a BGR ``(H, W, 3)`` uint8 image so its longest side is ``imgsz`` pixels and pad it with grey 114 to
    a multiple of 32 only (ultralytics' "rectangular" inference for dynamic models).

    Returns:
        ``(padded (H', W', 3) uint8 BGR, scale r, left pad dx, top pad dy)``: a model pixel ``(x, y)`` is the
        image pixel ``((x - dx) / r, (y - dy) / r)``.
    """
    h, w = image.shape[:2]
    r = min(imgsz / h, imgsz / w)
    nw, nh = int(round(w * r)), int(round(h * r))
    pw, ph = (-nw) % 32, (-nh) % 32  # rectangular: pad to a multiple of the stride only
    img = image if (nw, nh) == (w, h) else cv2.resize(image, (nw, nh), interpolation=cv2.INTER_LINEAR)
    top, left = ph // 2, pw // 2
    img = cv2.copyMakeBorder(img, top, ph - top, left, pw - left, cv2.BORDER_CONSTANT, value=(114, 114, 114))
    return img, r, float(left), float(top)


def letterbox_blob(image: np.ndarray, imgsz: int) -> tuple[np.ndarray, float, float, float]:
    """:func:`letterbox` as the model input: ``((1, 3, H', W') float32 RGB in [0, 1], r, dx, dy)``."""
    img, r, dx, dy = letterbox(image, imgsz)
    blob = np.ascontiguousarray(img[..., ::-1].transpose(2, 0, 1))[None].astype(np.float32) * (1.0 / 255.0)
    return blob, r, dx, dy
