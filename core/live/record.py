"""Skeletons of a video as the live detector sees them, recorded once and cached.

Training and evaluating a live model (the fight model, :mod:`core.fight`) needs the poses the live path
produces — its pose model and precision (INT8 by default), its inference width, its tracker and its
frame order — not those of offline extraction (float model). :func:`record_live_poses` runs a real
:class:`~core.live.detector.LiveDetector` over a file without a classifier, collects every frame's
:class:`~core.pose.base.FramePoses` and stores them as a :class:`~core.cache.SkeletonCache` under
``<cache>/live-poses/<video key>/<settings key>.npz`` (settings: the :class:`LiveConfig` fields that change
poses), so a second call with the same video and settings reads the file instead.
"""

from __future__ import annotations

import os
from dataclasses import asdict, replace
from pathlib import Path

from .. import config
from ..cache import SkeletonCache, cache_path
from ..errors import PoseWatchError
from .detector import LiveConfig, LiveDetector

#: LiveConfig fields that change the poses (the rest only change classification, pacing or output).
POSE_FIELDS = ("width", "backend", "imgsz", "precision", "pose_model", "tracker", "device", "start_frame",
               "stop_frame")


def live_pose_settings(cfg: LiveConfig) -> dict:
    """The settings key of recorded live poses: the :data:`POSE_FIELDS` of ``cfg`` (plus a format tag)."""
    d = asdict(cfg)
    return {"kind": "live-poses/1", **{k: d[k] for k in POSE_FIELDS}}


def live_poses_dir() -> Path:
    """Root of recorded live poses: ``<cache>/live-poses``."""
    return config.cache_root() / "live-poses"


def record_live_poses(video: str | os.PathLike, cfg: LiveConfig | None = None, *, root: Path | None = None,
                      use_cache: bool = True) -> SkeletonCache:
    """Every frame's tracked persons of ``video`` through the live detector's pose path (cached).

    Args:
        video: a video file.
        cfg: live settings (None: :class:`LiveConfig` defaults); its classifier, pacing and output fields are
            ignored (no classifier, every frame processed in order, no files written).
        root: cache root (None: :func:`live_poses_dir`).
        use_cache: read and write the cache.

    Returns:
        A :class:`SkeletonCache` of all frames (``meta["fps"]`` the video's rate, ``layout`` the pose layout).

    Raises:
        VideoError, ModelError: as :class:`LiveDetector`; PoseWatchError: the detector stopped on an error.
    """
    cfg = replace(cfg or LiveConfig(), classifier=None, realtime=False, loop=False, events_dir=None,
                  events_file=None, pace_fps=None)
    settings = live_pose_settings(cfg)
    path = cache_path(video, settings, root or live_poses_dir())
    if use_cache and path.is_file():
        try:
            return SkeletonCache.load(path)
        except PoseWatchError:
            pass  # unreadable: record again
    frames = []
    det = LiveDetector(str(video), cfg, on_result=lambda r: frames.append(r.poses))
    det.run()
    if det.error:
        raise PoseWatchError(f"{Path(video).name}: {det.error}")
    info = det.info
    layout = frames[0].layout if frames else "coco17"
    meta = {"fps": float(det.fps_source), "layout": layout, "width": info.width if info else 0,
            "height": info.height if info else 0, "frame_count": len(frames), "video": str(video),
            "settings": settings}
    cache = SkeletonCache.from_frames(frames, meta)
    if use_cache:
        path.parent.mkdir(parents=True, exist_ok=True)
        cache.save(path)
    return cache
