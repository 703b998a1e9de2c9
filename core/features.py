"""Per-window skeleton normalisation for classifiers.

Methods:

- ``"none"``: an unchanged float32 copy (pixels; missing joints keep their values).
- ``"minmax"``: x and y each scaled to [0, 1] over the window's joints with score > 0 (the seed
  yololstm recipe min-max-scaled its 26 coordinates).
- ``"hip_torso"``: centred on the hip midpoint of each frame and divided by the window's median
  torso length (hip midpoint to shoulder midpoint), a scale- and position-invariant form common in
  skeleton action recognition (e.g. ST-GCN's preprocessing centres on a root joint).
"""

from __future__ import annotations

import numpy as np

from .layouts import COMMON_JOINTS

NORMALISATIONS = ("none", "minmax", "hip_torso")
_J = {j: i for i, j in enumerate(COMMON_JOINTS)}


def normalise_window(x: np.ndarray, method: str) -> np.ndarray:
    """Normalise one window of common-joint skeletons.

    Args:
        x: ``(T, 13, 3)`` float32: x, y in pixels, score in [0, 1] (score 0 = missing joint).
        method: one of :data:`NORMALISATIONS`.

    Returns:
        ``(T, 13, 3)`` float32; missing joints get coordinates 0 (``"none"``: a copy, unchanged).

    Raises:
        ValueError: unknown method or wrong shape.
    """
    if x.ndim != 3 or x.shape[1:] != (len(COMMON_JOINTS), 3):
        raise ValueError(f"expected (T, {len(COMMON_JOINTS)}, 3) keypoints, got {x.shape}")
    out = x.astype(np.float32, copy=True)
    if method == "none":
        return out
    xy = out[..., :2]
    valid = (out[..., 2] > 0) & np.isfinite(xy).all(-1)
    if method == "minmax":
        if valid.any():
            lo = xy[valid].min(0)
            span = np.maximum(xy[valid].max(0) - lo, 1e-6)
            xy[:] = (xy - lo) / span
    elif method == "hip_torso":
        hips = (xy[:, _J["HIP_LEFT"]] + xy[:, _J["HIP_RIGHT"]]) / 2
        hip_ok = valid[:, _J["HIP_LEFT"]] & valid[:, _J["HIP_RIGHT"]]
        if hip_ok.any():  # frames without both hips use the window's mean hip midpoint
            hips[~hip_ok] = hips[hip_ok].mean(0)
        else:
            hips[:] = xy[valid].mean(0) if valid.any() else 0.0
        shoulders = (xy[:, _J["SHOULDER_LEFT"]] + xy[:, _J["SHOULDER_RIGHT"]]) / 2
        torso = np.linalg.norm(shoulders - hips, axis=-1)
        ok = valid[:, [_J["HIP_LEFT"], _J["HIP_RIGHT"], _J["SHOULDER_LEFT"], _J["SHOULDER_RIGHT"]]].all(1)
        scale = float(np.median(torso[ok])) if ok.any() else 1.0
        xy[:] = (xy - hips[:, None, :]) / max(scale, 1e-6)
    else:
        raise ValueError(f"unknown normalisation '{method}'; choose one of {', '.join(NORMALISATIONS)}")
    xy[~valid] = 0.0
    return out
