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

from .choices import NORMALISATIONS  # noqa: E402  (re-exported)
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


# ---------------------------------------------------------------------------------------- model inputs
#: Default feature spec of new classifiers (see :func:`make_features`).
DEFAULT_FEATURES: dict = {"normalisation": "hip_torso", "velocity": True, "score": False}
#: Keys of a feature spec.
FEATURE_KEYS = ("normalisation", "velocity", "score")
#: Keys of a scene spec (:mod:`core.scene`): ``scene`` True, ``span_s`` seconds of the window summed up,
#: ``rate`` scene vectors per second in training (the live detector computes one per frame), ``motion`` (bool:
#: the vector also holds optical-flow statistics, :mod:`core.motion`), ``gate`` (bool: no score while no frame of
#: the window holds two people; a motion model judges scenes whose people the pose model missed, so it has none).
SCENE_KEYS = ("scene", "span_s", "rate", "motion", "gate", "bones")


def feature_spec(spec: dict | None = None, **overrides) -> dict:
    """A complete, validated FeatureSpec dict: ``normalisation`` (one of :data:`NORMALISATIONS`),
    ``velocity`` (bool), ``score`` (bool); missing keys take :data:`DEFAULT_FEATURES`. A scene spec
    (``scene`` true: the input is :func:`core.scene.scene_features`, not skeleton windows) also holds ``span_s``
    (default 1.0) and ``rate`` (default 15.0); other specs never hold the :data:`SCENE_KEYS`.

    Raises:
        ValueError: unknown key or normalisation, or a scene spec whose span or rate is not positive.
    """
    out = dict(DEFAULT_FEATURES)
    out.update(spec or {})
    out.update(overrides)
    if out.get("scene"):
        out["scene"] = True
        out["span_s"] = float(out.get("span_s") or 1.0)
        out["rate"] = float(out.get("rate") or 15.0)
        out["motion"] = bool(out.get("motion", False))
        out["gate"] = bool(out.get("gate", True))
        out["bones"] = bool(out.get("bones", False))
        if not (out["span_s"] > 0 and out["rate"] > 0):
            raise ValueError(f"a scene feature spec needs a positive span_s and rate, got {out['span_s']}, {out['rate']}")
    else:
        for k in SCENE_KEYS:
            out.pop(k, None)
    unknown = set(out) - set(FEATURE_KEYS) - set(SCENE_KEYS)
    if unknown:
        raise ValueError(f"unknown feature option(s) {', '.join(sorted(unknown))}; known: {', '.join(FEATURE_KEYS)}")
    if out["normalisation"] not in NORMALISATIONS:
        raise ValueError(f"unknown normalisation '{out['normalisation']}'; choose one of {', '.join(NORMALISATIONS)}")
    out["velocity"], out["score"] = bool(out["velocity"]), bool(out["score"])
    return out


#: FeatureSpec is a plain dict (see :func:`feature_spec`); the alias names it in signatures.
FeatureSpec = dict


def feature_channels(spec: dict) -> int:
    """Number of channels C :func:`make_features` gives for ``spec``: 2 (x, y) [+1 score] [+2 dx, dy]; a scene
    spec: :func:`core.scene.scene_size` (the :data:`core.scene.SCENE_FEATURES`, plus motion statistics)."""
    s = feature_spec(spec)
    if s.get("scene"):
        from .scene import scene_size

        return scene_size(bool(s.get("motion")), bool(s.get("bones")))
    return 2 + int(s["score"]) + 2 * int(s["velocity"])


def _normalise_batch(x: np.ndarray, method: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Vectorised :func:`normalise_window` over ``(N, T, 13, 3)``.

    Returns ``(xy, valid, centre, scale)``: normalised coordinates ``(N, T, V, 2)`` (0 at missing joints),
    validity ``(N, T, V)``, the per-frame centre ``(N, T, 2)`` subtracted and the per-window scale
    ``(N,)`` divided by (identity for ``none``; ``minmax`` gives per-axis spans ``(N, 2)``)."""
    n, t, v, _ = x.shape
    xy = x[..., :2].astype(np.float32, copy=True)
    valid = (x[..., 2] > 0) & np.isfinite(xy).all(-1)
    if method == "none":
        return xy, valid, np.zeros((n, t, 2), np.float32), np.ones(n, np.float32)
    xyv = np.where(valid[..., None], xy, np.nan)
    if method == "minmax":
        with np.errstate(invalid="ignore"), _quiet():
            lo = np.nanmin(xyv.reshape(n, -1, 2), axis=1)
            hi = np.nanmax(xyv.reshape(n, -1, 2), axis=1)
        lo = np.nan_to_num(lo, nan=0.0)
        span = np.maximum(np.nan_to_num(hi, nan=1.0) - lo, 1e-6)
        out = (xy - lo[:, None, None, :]) / span[:, None, None, :]
        out[~valid] = 0.0
        return out.astype(np.float32), valid, np.broadcast_to(lo[:, None, :], (n, t, 2)), span
    if method != "hip_torso":
        raise ValueError(f"unknown normalisation '{method}'; choose one of {', '.join(NORMALISATIONS)}")
    hl, hr, sl, sr = _J["HIP_LEFT"], _J["HIP_RIGHT"], _J["SHOULDER_LEFT"], _J["SHOULDER_RIGHT"]
    hips = (xy[:, :, hl] + xy[:, :, hr]) / 2  # (N, T, 2)
    hip_ok = valid[:, :, hl] & valid[:, :, hr]
    any_hip = hip_ok.any(1)
    with _quiet():
        mean_hip = np.nanmean(np.where(hip_ok[..., None], hips, np.nan), axis=1)  # (N, 2)
        mean_all = np.nanmean(xyv.reshape(n, -1, 2), axis=1)
    fill = np.where(any_hip[:, None], mean_hip, np.nan_to_num(mean_all, nan=0.0))
    hips = np.where(hip_ok[..., None], hips, fill[:, None, :]).astype(np.float32)
    shoulders = (xy[:, :, sl] + xy[:, :, sr]) / 2
    torso = np.linalg.norm(shoulders - hips, axis=-1)
    ok = valid[:, :, [hl, hr, sl, sr]].all(-1)
    with _quiet():
        scale = np.nanmedian(np.where(ok, torso, np.nan), axis=1)
    scale = np.where(ok.any(1), scale, 1.0)
    scale = np.maximum(scale, 1e-6).astype(np.float32)
    out = (xy - hips[:, :, None, :]) / scale[:, None, None, None]
    out[~valid] = 0.0
    return out.astype(np.float32), valid, hips, scale


class _quiet:
    """Silence numpy's all-NaN warnings inside a block."""

    def __enter__(self):
        import warnings

        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        self._w.__exit__(*exc)


def make_features(windows: np.ndarray, spec: dict | None = None) -> np.ndarray:
    """Model input of skeleton windows: the ONE function training and inference share.

    Channels, in order: x, y normalised with ``spec["normalisation"]`` (per frame centred on the hip
    midpoint and divided by the window's median torso length for ``hip_torso``, as
    :func:`normalise_window`); the joint score if ``spec["score"]``; if ``spec["velocity"]``, dx, dy:
    the frame-to-frame displacement of each joint in the same units (divided by the window's scale,
    *not* re-centred per frame, so whole-body motion is kept), 0 at the first frame and where the
    joint is missing in either frame.

    Args:
        windows: ``(N, T, 13, 3)`` float32: x, y in pixels (or any consistent unit), score in [0, 1]
            (0: missing joint; NaN coordinates count as missing).
        spec: FeatureSpec dict (see :func:`feature_spec`); None: :data:`DEFAULT_FEATURES`.

    Returns:
        ``(N, C, T, 13)`` float32, C = :func:`feature_channels` ``(spec)``.

    Raises:
        ValueError: wrong shape or bad spec.
    """
    s = feature_spec(spec)
    if s.get("scene"):
        raise ValueError("a scene model's input is core.scene.scene_features, not skeleton windows")
    w = np.asarray(windows)
    if w.ndim != 4 or w.shape[2:] != (len(COMMON_JOINTS), 3):
        raise ValueError(f"expected (N, T, {len(COMMON_JOINTS)}, 3) windows, got {w.shape}")
    xy, valid, centre, scale = _normalise_batch(w, s["normalisation"])
    if s["normalisation"] == "none":
        xy = np.where(valid[..., None], np.nan_to_num(xy), 0.0).astype(np.float32)
    chans = [xy[..., 0], xy[..., 1]]
    if s["score"]:
        chans.append(np.where(valid, np.nan_to_num(w[..., 2].astype(np.float32)), 0.0).astype(np.float32))
    if s["velocity"]:
        raw = np.where(valid[..., None], w[..., :2].astype(np.float32), 0.0)
        d = np.zeros_like(raw)
        d[:, 1:] = raw[:, 1:] - raw[:, :-1]
        both = np.zeros_like(valid)
        both[:, 1:] = valid[:, 1:] & valid[:, :-1]
        sc = scale if scale.ndim == 2 else np.stack([scale, scale], -1)  # (N, 2)
        d = d / sc[:, None, None, :]
        d[~both] = 0.0
        chans += [d[..., 0], d[..., 1]]
    return np.ascontiguousarray(np.stack(chans, axis=1), dtype=np.float32)
