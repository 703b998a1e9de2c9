"""Motion features from pixels: dense optical flow of each frame, in the frame and inside the people's boxes.

Skeletons miss much of a fight: people far from the camera or on the floor are not detected (6 of the 25 fight
clips the skeleton scene model scored lowest had no person detected at all), limbs blur, bodies occlude each
other. The pixels still move. :class:`MotionMeter` sums up the optical flow between a frame and the one before it
(Farnebäck's dense flow, OpenCV ``calcOpticalFlowFarneback``, on a grey copy :data:`FLOW_HEIGHT` pixels high)
into the :data:`MOTION_FEATURES`: how fast the frame moves (mean, median, 90th and 99th percentile of the flow
magnitude), how much that changes from one frame to the next — the *violent flows* idea of Hassner, Itcher and
Kliper-Gross (CVPR Workshops 2012): what marks violence is not motion but abrupt changes of its magnitude — where
it concentrates (a 4×4 grid of cells: the busiest cell, the second, its ratio to the median cell), and, inside
each person's box, the motion of the body's parts relative to the body (the flow minus the box's median flow:
arms and legs flailing, not a person walking), its change, and how many directions it takes (entropy of an
8-bin magnitude-weighted direction histogram). Speeds are in frame heights per second (box heights per second
inside boxes), so frame rate and resolution matter less.

The live detector (:class:`core.live.detector.LiveDetector`) feeds each decoded frame and its boxes to a meter;
training, the player and suggestions use :func:`video_motion`, which decodes the file with OpenCV and feeds the
same meter the recorded boxes of every frame (cached on disk next to the skeleton caches), so both sides compute
the same numbers. The scene model's window statistics over these values are made by :class:`core.scene.SceneBuffer`.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

#: Height (pixels) of the grey copy the flow is computed on.
FLOW_HEIGHT = 120

#: Names of the per-frame values :meth:`MotionMeter.update` returns, in order.
MOTION_FEATURES = (
    "mag_mean", "mag_p90", "mag_median", "mag_p99", "vif", "vif_share",
    "cell_max", "cell_second", "cell_ratio", "vif_cell_max",
    "body_motion_max", "body_motion_mean", "body_spread_max", "body_spread_mean", "body_vif_max", "body_vif_mean",
    "box_speed_max", "box_speed_mean", "body_direction_entropy_max", "body_direction_entropy_mean", "persons",
)
#: Version of the motion values (part of :func:`video_motion`'s cache key).
MOTION_VERSION = "motion/1"


class MotionMeter:
    """Per-frame optical-flow features of a video fed frame by frame, in order.

    Args:
        height: height (pixels) of the grey copy the flow is computed on (:data:`FLOW_HEIGHT`).

    Not thread-safe: one meter per video stream.
    """

    def __init__(self, height: int = FLOW_HEIGHT):
        self.height = int(height)
        self._prev: np.ndarray | None = None
        self._prev_mag: np.ndarray | None = None

    def reset(self) -> None:
        """Forget the previous frame (a new source or a reconnect)."""
        self._prev, self._prev_mag = None, None

    def update(self, image: np.ndarray, boxes: np.ndarray | None, fps: float) -> np.ndarray:
        """The :data:`MOTION_FEATURES` of ``image`` against the previous frame.

        Args:
            image: ``(H, W, 3)`` uint8 BGR (or ``(H, W)`` grey) frame, any size.
            boxes: ``(N, 4)`` float32 x1, y1, x2, y2 of the frame's people in pixels of ``image`` (None: none).
            fps: the video's frame rate (frames per second; speeds are per second).

        Returns:
            ``(len(MOTION_FEATURES),)`` float32; all zeros for the first frame (or after :meth:`reset`).
        """
        import cv2

        h0, w0 = image.shape[:2]
        s = self.height / float(h0)
        small = cv2.resize(image, (max(8, int(round(w0 * s))), self.height), interpolation=cv2.INTER_AREA)
        grey = small if small.ndim == 2 else cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
        prev, self._prev = self._prev, grey
        if prev is None or prev.shape != grey.shape:
            self._prev_mag = None
            return np.zeros(len(MOTION_FEATURES), np.float32)
        flow = cv2.calcOpticalFlowFarneback(prev, grey, None, 0.5, 3, 15, 3, 5, 1.2, 0)
        b = np.zeros((0, 4), np.float32) if boxes is None else np.asarray(boxes, np.float32).reshape(-1, 4) * s
        out, self._prev_mag = flow_features(flow, self._prev_mag, b, float(fps) if fps and fps > 0 else 25.0,
                                            self.height)
        return out


def flow_features(flow: np.ndarray, prev_mag: np.ndarray | None, boxes: np.ndarray, fps: float, height: int
                  ) -> tuple[np.ndarray, np.ndarray]:
    """The :data:`MOTION_FEATURES` of one dense flow field.

    Args:
        flow: ``(h, w, 2)`` float32 flow in pixels per frame; prev_mag: the previous field's magnitude (frame
            heights per second) or None; boxes: ``(N, 4)`` float32 boxes in pixels of the flow field;
            fps: frames per second; height: ``h`` (speeds are divided by it).

    Returns:
        ``(features (len(MOTION_FEATURES),) float32, magnitude (h, w) float32 frame heights per second)``.
    """
    fl = flow * (fps / height)
    mag = np.sqrt(fl[..., 0] ** 2 + fl[..., 1] ** 2)
    dm = np.abs(mag - prev_mag) if prev_mag is not None and prev_mag.shape == mag.shape else np.zeros_like(mag)
    hh, ww = mag.shape
    ch, cw = hh // 4, ww // 4
    cells = mag[: ch * 4, : cw * 4].reshape(4, ch, 4, cw).mean((1, 3)).ravel()
    dcells = dm[: ch * 4, : cw * 4].reshape(4, ch, 4, cw).mean((1, 3)).ravel()
    cs = np.sort(cells)[::-1]
    body, spread, bvif, bspeed, ent = [], [], [], [], []
    for x1, y1, x2, y2 in boxes:
        x1, y1 = max(int(x1), 0), max(int(y1), 0)
        x2, y2 = min(int(np.ceil(x2)), ww), min(int(np.ceil(y2)), hh)
        if x2 - x1 < 2 or y2 - y1 < 2:
            continue
        bh = (y2 - y1) / float(height)  # box height in frame heights
        v = fl[y1:y2, x1:x2].reshape(-1, 2)
        m = np.sqrt((v ** 2).sum(1))
        rel = np.sqrt(((v - np.median(v, axis=0)) ** 2).sum(1))
        body.append(float(rel.mean()) / bh)
        spread.append(float(np.percentile(rel, 90)) / bh)
        bvif.append(float(dm[y1:y2, x1:x2].mean()) / bh)
        bspeed.append(float(m.mean()) / bh)
        moving = m > 0.1
        if moving.sum() > 5:
            ang = np.arctan2(v[moving, 1], v[moving, 0])
            hist = np.bincount(((ang + np.pi) / (2 * np.pi) * 8).astype(int) % 8, weights=m[moving], minlength=8)
            p = hist / hist.sum()
            ent.append(float(-(p[p > 0] * np.log(p[p > 0])).sum()))
    dmean = float(dm.mean())

    def mx(v):
        return max(v) if v else 0.0

    def mean(v):
        return float(np.mean(v)) if v else 0.0

    out = [float(mag.mean()), float(np.percentile(mag, 90)), float(np.median(mag)), float(np.percentile(mag, 99)),
           dmean, float((dm > max(0.1, dmean)).mean()),
           float(cs[0]), float(cs[1]), float(cs[0] / (np.median(cells) + 0.05)), float(dcells.max()),
           mx(body), mean(body), mx(spread), mean(spread), mx(bvif), mean(bvif), mx(bspeed), mean(bspeed),
           mx(ent), mean(ent), float(len(body))]
    vec = np.clip(np.nan_to_num(np.asarray(out, np.float32), nan=0.0, posinf=100.0), -100.0, 100.0)
    return vec, mag.astype(np.float32)


def motion_dir() -> Path:
    """Root of cached :func:`video_motion` arrays: ``<cache>/motion``."""
    from . import config

    return config.cache_root() / "motion"


def _cache_file(video: Path, cache, root: Path | None) -> Path:
    """Where :func:`video_motion` of ``video`` with ``cache``'s boxes is cached: keyed by the file (path, size,
    time), the boxes and :data:`MOTION_VERSION`."""
    st = video.stat()
    h = hashlib.sha256(f"{MOTION_VERSION}|{FLOW_HEIGHT}|{video.resolve()}|{st.st_size}|{int(st.st_mtime)}".encode())
    h.update(np.ascontiguousarray(cache.offsets).tobytes())
    h.update(np.ascontiguousarray(cache.bbox).tobytes())
    return (root or motion_dir()) / f"{h.hexdigest()[:32]}.npy"


def _read(path: Path, cache) -> np.ndarray | None:
    try:
        arr = np.load(path) if path.is_file() else None
    except (OSError, ValueError):
        return None
    return arr if arr is not None and arr.shape == (cache.frame_count, len(MOTION_FEATURES)) else None


def _video_of(cache) -> Path:
    """The video file a skeleton cache was made from (``cache.meta["video"]``).

    Raises:
        VideoError: the cache names no video.
    """
    from .errors import VideoError

    video = (cache.meta or {}).get("video")
    if not video:
        raise VideoError("this skeleton cache names no video: motion features need the video's pixels")
    return Path(video)


def cached_motion(cache, root: Path | None = None) -> np.ndarray | None:
    """The cached :func:`video_motion` of a skeleton cache's own video, or None when not computed yet (or the cache
    names no readable video)."""
    video = Path((cache.meta or {}).get("video") or "")
    return _read(_cache_file(video, cache, root), cache) if video.is_file() else None


def iter_video_motion(video: str | os.PathLike, cache, *, cancel=None, use_cache: bool = True,
                      root: Path | None = None):
    """:func:`video_motion` as a task generator: yields :class:`core.extract.Progress` (frames done of
    ``cache.frame_count``, about every 50 frames) and returns the array; ``cancel()`` returning True stops it
    (raising :class:`core.extract.Cancelled`, nothing cached)."""
    import cv2

    from .errors import VideoError
    from .extract import Cancelled, Progress
    from .files import atomic_path

    video = Path(video)
    if not video.is_file():
        raise VideoError(f"video not found: {video}")
    path = _cache_file(video, cache, root)
    if use_cache and (arr := _read(path, cache)) is not None:
        return arr
    cap = cv2.VideoCapture(str(video))
    if not cap.isOpened():
        raise VideoError(f"cannot open video: {video.name}")
    meter = MotionMeter()
    out = np.zeros((cache.frame_count, len(MOTION_FEATURES)), np.float32)
    msg = f"motion features of {video.name}"
    try:
        for f in range(cache.frame_count):
            if f % 50 == 0:
                if cancel is not None and cancel():
                    raise Cancelled("cancelled")
                yield Progress(f, cache.frame_count, msg)
            ok, frame = cap.read()
            if not ok:
                break
            a, b = int(cache.offsets[f]), int(cache.offsets[f + 1])
            out[f] = meter.update(frame, cache.bbox[a:b], cache.fps)
    finally:
        cap.release()
    if use_cache:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            np.save(tmp, out)
    yield Progress(cache.frame_count, cache.frame_count, msg)
    return out


def video_motion(video: str | os.PathLike, cache, *, use_cache: bool = True, root: Path | None = None
                 ) -> np.ndarray:
    """The :data:`MOTION_FEATURES` of every frame of ``video``, with the boxes of ``cache`` (its recorded poses).

    The file is decoded with OpenCV in order and fed to one :class:`MotionMeter` (as the live detector does).
    Results are cached under :func:`motion_dir` by the file (path, size, time) and the boxes (written atomically).

    Args:
        video: the video file of ``cache``; cache: a :class:`core.cache.SkeletonCache` of it.

    Returns:
        ``(cache.frame_count, len(MOTION_FEATURES))`` float32 (rows past the decodable frames are zeros).

    Raises:
        VideoError: the file cannot be opened.
    """
    from .extract import run

    return run(iter_video_motion(video, cache, use_cache=use_cache, root=root), callback=lambda _p: None)


def motion_for(cache) -> np.ndarray:
    """:func:`video_motion` of a skeleton cache's own video (``cache.meta["video"]``).

    Raises:
        VideoError: the cache names no video, or it cannot be read.
    """
    return video_motion(_video_of(cache), cache)
