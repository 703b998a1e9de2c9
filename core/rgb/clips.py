"""Labelled video clips for RGB models: where they come from, how they are decoded, cut into windows and paired
with skeleton-stream inputs.

Sources (:func:`iter_load_clips`):

- a **project** folder: every clip of a real video (imported skeleton sequences have no pixels and are left out,
  with a warning), cropped as the project defines it (:func:`core.exporting.crop_boxes`: the fixed rectangle, or
  the clip's track followed with its smoothed box and margin, or the full frame); group (split unit) = the video;
- an **export** folder with ``clips/<label>/<video>_clip<id>_<start>-<end>.mp4`` (``main.py export --format
  clips``; already cropped); group = the source video's name from the file name;
- a **folder of videos per label**: ``DIR/<label>/*.mp4|avi|…`` (for example clip-level datasets such as the
  Surveillance Camera Fight clips); group = the file (no two files known to share a source).

Decoding (:func:`decode_clip`): the clip's frames are sampled at the model's rate ``fps`` (frame
``start + round(k * video_fps / fps)`` for k = 0, 1, … while within the clip; a model rate above the video's
repeats frames), each frame cropped to its box and resized to ``size`` (H, W) with ``cv2.INTER_AREA``, BGR → RGB,
kept as ``uint8 (L, H, W, 3)``.

Windows (:func:`window_starts`): T consecutive samples (``T / fps`` seconds) starting every ``stride`` samples,
plus the window that ends at the clip's end; a clip of fewer than T samples gives one window padded by repeating
its last frame when it has at least :data:`MIN_FILL` of T samples, and no window otherwise (it is too short).

Skeleton-stream inputs of the same windows (:func:`skeleton_input`, for fusion models and distillation): the
person's skeleton window (``kind "track"``: the clip's track, or for a whole-frame clip the track seen most in
the clip; T' samples ``step = round(video fps / skeleton fps)`` frames apart ending at the window's last frame,
the latest detection at or before each sample, as :func:`core.classify.track_windows` does), or the scene vector of
the second before the window's end (``kind "scene"``: :class:`core.scene.SceneBuffer`, the fight model's input).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..extract import Cancelled, Progress
from ..training import TrainingError

#: Video file types read from clip folders.
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v")
#: A clip shorter than the window gives one (padded) window only when it fills at least this share of it.
MIN_FILL = 0.5
#: Kinds of skeleton-stream input (:func:`skeleton_input`).
SKELETON_KINDS = ("track", "scene")
_EXPORT_NAME = re.compile(r"^(?P<stem>.+)_clip(?P<id>\d+)_(?P<start>\d+)-(?P<end>\d+)$")


class ClipDataError(TrainingError):
    """Clips that cannot be read as RGB training or prediction input (one-line message)."""


@dataclass
class VideoClip:
    """One labelled span of a video.

    Attributes:
        name: display name; path: the video file; label: class index (-1: unlabelled, e.g. for prediction).
        group: split unit (the source video).
        start, end: first and last frame (inclusive, 0-based; ``end`` None: the video's last frame).
        boxes: ``(end - start + 1, 4)`` int64 crop box x1, y1, x2, y2 (end exclusive, pixels) of every frame, all
            of one size; None: the full frame.
        track_id: the person the clip belongs to (None: the whole frame).
        crop: ``"frame"``, ``"rect"`` or ``"track"`` (how ``boxes`` were made).
        cache: the video's :class:`~core.cache.SkeletonCache` when skeleton inputs are needed (else None).
    """

    name: str
    path: Path
    label: int
    group: str
    start: int = 0
    end: int | None = None
    boxes: np.ndarray | None = None
    track_id: int | None = None
    crop: str = "frame"
    cache: object | None = None


@dataclass
class ClipData:
    """Clips with their class names (``label_names``), where they came from and what to tell the user."""

    clips: list[VideoClip]
    label_names: list[str]
    sources: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def data_hash(self) -> str:
        """SHA-256 over the label names and each clip's video content key (:func:`core.cache.video_key`), span,
        label, group and crop boxes."""
        from ..cache import video_key

        h = hashlib.sha256(json.dumps(self.label_names).encode())
        keys: dict[Path, str] = {}
        for c in self.clips:
            if c.path not in keys:
                keys[c.path] = video_key(c.path)
            h.update(f"{keys[c.path]}|{c.start}|{c.end}|{c.label}|{c.group}|{c.track_id};".encode())
            if c.boxes is not None:
                h.update(np.ascontiguousarray(c.boxes, np.int64).tobytes())
        return h.hexdigest()

    def clip_counts(self) -> dict[str, int]:
        """Clips per class name."""
        return {n: sum(c.label == i for c in self.clips) for i, n in enumerate(self.label_names)}


# ---------------------------------------------------------------------------------------- sources
def _is_project(p: Path) -> bool:
    return p.is_dir() and (p / "project.sqlite").exists()


def folder_clips(folder: str | os.PathLike) -> ClipData:
    """The clips of an export folder (``clips/<label>/…``) or of a folder of videos per label (``<label>/…``).

    Raises:
        ClipDataError: no label folder holds a video.
    """
    root = Path(folder)
    base = root / "clips" if (root / "clips").is_dir() else root
    names, clips = [], []
    for d in sorted(p for p in base.iterdir() if p.is_dir()):
        files = sorted(f for f in d.iterdir() if f.suffix.lower() in VIDEO_EXTENSIONS and f.is_file())
        if not files:
            continue
        names.append(d.name)
        for f in files:
            m = _EXPORT_NAME.match(f.stem)
            group = m.group("stem") if m else f.stem
            clips.append(VideoClip(f"{d.name}/{f.name}", f, len(names) - 1, f"{root.name}:{group}"))
    if not clips:
        raise ClipDataError(f"{root} holds no videos in label folders (expected {root.name}/<label>/*.mp4, or an "
                            "export's clips/ folder)")
    return ClipData(clips, names, [str(root)])


def iter_project_clips(folder: str | os.PathLike, backend: str = "yolo", cancel: Callable[[], bool] | None = None
                       ) -> Generator[Progress, None, ClipData]:
    """The clips of a project with their crops (generator: skeleton extraction progress; see :mod:`core.extract`).

    Every video with clips gets its skeletons (:meth:`core.project.Project.iter_skeletons`, extracted on first
    use): a follow-track crop needs them, and fusion models read them.

    Returns:
        :class:`ClipData` (class names: the taxonomy labels that have clips, in taxonomy order).

    Raises:
        ClipDataError: no clip of a real video; a video is missing (moved); a crop lies outside its frame.
    """
    from ..exporting import crop_boxes
    from ..project import Project

    folder = Path(folder)
    warnings: list[str] = []
    with Project.open(folder) as proj:
        videos = {v.id: v for v in proj.videos()}
        all_clips = proj.clips()
        pix = [c for c in all_clips if videos[c.video_id].kind == "video"]
        skipped = len(all_clips) - len(pix)
        if skipped:
            warnings.append(f"{skipped} clip(s) of imported skeleton sequences have no pixels and are left out")
        if not pix:
            raise ClipDataError(f"project {folder.name} has no clips of real videos (RGB models need pixels)")
        order = [n for n in proj.label_names() if any(c.label == n for c in pix)]
        out = []
        for vid in dict.fromkeys(c.video_id for c in pix):
            v = videos[vid]
            if not Path(v.path).exists():
                raise ClipDataError(f"video '{v.name or Path(v.path).name}' is missing (moved or deleted?): {v.path}")
            cache = yield from proj.iter_skeletons(v, backend, cancel=cancel)
            for c in (c for c in pix if c.video_id == vid):
                if c.crop is not None and c.crop.kind == "rect":
                    check_crop(c.crop.rect, v.width, v.height, f"clip {c.id} of {v.name or Path(v.path).name}")
                boxes, warn = crop_boxes(c, v, cache)
                if warn:
                    warnings.append(warn)
                kind = "frame" if c.crop is None else c.crop.kind
                out.append(VideoClip(f"{v.name or Path(v.path).name} clip {c.id}", Path(v.path), order.index(c.label),
                                     f"{folder.name}:{v.hash}", c.start, c.end, None if c.crop is None else boxes,
                                     c.track_id, kind, cache))
    return ClipData(out, order, [str(folder)], warnings)


def iter_load_clips(paths: Sequence[str | os.PathLike], backend: str = "yolo", skeletons: bool = False,
                    cancel: Callable[[], bool] | None = None) -> Generator[Progress, None, ClipData]:
    """Clips from projects, export folders and label folders (see the module docstring), merged by class name.

    Args:
        paths: folders.
        backend: pose backend of project skeletons (and of folder clips when ``skeletons``).
        skeletons: also give every clip its video's skeleton cache (fusion models, distillation); folder clips
            are then extracted with the default settings (cached like the player's).
        cancel: polled during extraction.

    Raises:
        ClipDataError: a path that is not a folder of clips; TrainingError: nothing given.
    """
    from ..extract import iter_load_or_extract

    if not paths:
        raise TrainingError("no training data given")
    parts: list[ClipData] = []
    for p in map(Path, paths):
        if not p.exists():
            raise TrainingError(f"training data not found: {p}")
        if _is_project(p):
            parts.append((yield from iter_project_clips(p, backend, cancel)))
        elif p.is_dir():
            parts.append(folder_clips(p))
        else:
            raise ClipDataError(f"{p.name}: RGB models train on videos: give a project folder, an export folder with "
                                "clips/, or a folder of videos per label (not a skeleton file)")
    names: list[str] = []
    clips, warnings, sources = [], [], []
    for d in parts:
        for n in d.label_names:
            if n not in names:
                names.append(n)
        for c in d.clips:
            c.label = names.index(d.label_names[c.label]) if c.label >= 0 else -1
            clips.append(c)
        warnings += d.warnings
        sources += d.sources
    if skeletons:
        for i, c in enumerate(clips):
            if c.cache is None:
                yield Progress(i, len(clips), f"skeletons of {c.name}")
                c.cache = yield from iter_load_or_extract(c.path, backend, cancel=cancel)
    return ClipData(clips, names, sources, warnings)


def check_crop(rect, width: int, height: int, where: str) -> tuple[int, int, int, int]:
    """Check a crop rectangle against a frame and round it outwards to whole pixels.

    Args:
        rect: ``(x1, y1, x2, y2)`` pixels; width, height: the frame size; where: what it belongs to (messages).

    Returns:
        ``(x1, y1, x2, y2)`` int, end exclusive.

    Raises:
        ClipDataError: empty, or outside the frame (any part of it).
    """
    import math

    x1, y1, x2, y2 = (float(v) for v in rect)
    if not (x2 > x1 and y2 > y1):
        raise ClipDataError(f"{where}: crop {tuple(round(v) for v in rect)} is empty")
    if x1 < 0 or y1 < 0 or x2 > width or y2 > height:
        raise ClipDataError(f"{where}: crop ({round(x1)}, {round(y1)}, {round(x2)}, {round(y2)}) lies outside the "
                            f"{width}x{height} frame")
    box = (max(0, math.floor(x1)), max(0, math.floor(y1)), min(width, math.ceil(x2)), min(height, math.ceil(y2)))
    if box[2] - box[0] < 2 or box[3] - box[1] < 2:
        raise ClipDataError(f"{where}: crop {box} is smaller than 2x2 pixels")
    return box


# ---------------------------------------------------------------------------------------- decoding
def sample_frames(start: int, end: int, video_fps: float, fps: float) -> np.ndarray:
    """Frame indices of a span sampled at ``fps``: ``start + round(k * video_fps / fps)`` while ``<= end``.

    Returns:
        ``(L,)`` int64, L >= 1 (``start`` alone for a one-frame span).
    """
    step = float(video_fps) / float(fps) if video_fps and video_fps > 0 else 1.0
    n = int(np.floor((end - start) / step + 1e-9)) + 1
    return start + np.round(np.arange(max(n, 1)) * step).astype(np.int64)


def decode_clip(clip: VideoClip, fps: float, size: tuple[int, int], cancel: Callable[[], bool] | None = None
                ) -> tuple[np.ndarray, np.ndarray, float]:
    """Decode a clip at the model's rate and size (see the module docstring).

    Args:
        clip: the clip; fps: samples per second; size: ``(H, W)`` pixels of the output frames.

    Returns:
        ``frames (L, H, W, 3)`` uint8 RGB, ``index (L,)`` int64 source frame of each sample, the video's fps.

    Raises:
        VideoError: unreadable video; ClipDataError: a span outside the video, a crop outside the frame,
        nothing decodable.
    """
    import cv2

    from ..video import open_source

    h, w = int(size[0]), int(size[1])
    with open_source(str(clip.path)) as src:
        info = src.info
        n = info.frame_count
        end = n - 1 if clip.end is None else int(clip.end)
        if clip.start < 0 or end >= n or end < clip.start:
            raise ClipDataError(f"{clip.name}: frames {clip.start}..{end} are not in the video ({n} frames)")
        vfps = float(info.fps or 30.0)
        idx = sample_frames(int(clip.start), end, vfps, fps)
        want: dict[int, list[int]] = {}
        for k, f in enumerate(idx):
            want.setdefault(int(f), []).append(k)
        out = np.zeros((len(idx), h, w, 3), np.uint8)
        got = np.zeros(len(idx), bool)
        for fr in src.frames(int(clip.start), int(idx[-1]) + 1):
            if cancel is not None and cancel():
                raise Cancelled("decoding cancelled")
            ks = want.get(fr.index)
            if not ks:
                continue
            img = fr.image
            if clip.boxes is not None:
                x1, y1, x2, y2 = (int(v) for v in clip.boxes[fr.index - clip.start])
                H, W = img.shape[:2]
                if x2 <= max(x1, 0) or y2 <= max(y1, 0) or x1 >= W or y1 >= H:
                    raise ClipDataError(f"{clip.name}: crop ({x1}, {y1}, {x2}, {y2}) lies outside the {W}x{H} frame")
                img = img[max(y1, 0):y2, max(x1, 0):x2]
            small = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)
            rgb = cv2.cvtColor(small, cv2.COLOR_BGR2RGB)
            for k in ks:
                out[k] = rgb
                got[k] = True
    if not got.any():
        raise ClipDataError(f"{clip.name}: no frame of frames {clip.start}..{end} could be decoded")
    if not got.all():  # a truncated file: keep what was decoded
        last = int(np.flatnonzero(got)[-1])
        out, idx = out[: last + 1], idx[: last + 1]
    return out, idx, vfps


def window_starts(n: int, window: int, stride: int) -> np.ndarray:
    """Start samples of the windows of a clip of ``n`` samples (see the module docstring).

    Returns:
        ``(M,)`` int64 (M = 0 for a clip too short: fewer than ``MIN_FILL * window`` samples).
    """
    if n < window:
        return np.zeros(1 if n >= MIN_FILL * window else 0, np.int64)
    s = list(range(0, n - window + 1, max(1, int(stride))))
    if s[-1] != n - window:
        s.append(n - window)
    return np.asarray(s, np.int64)


def take_window(frames: np.ndarray, start: int, window: int) -> np.ndarray:
    """``(T, H, W, 3)`` samples ``start .. start + T - 1`` of ``frames (L, H, W, 3)``, padded by repeating the last."""
    idx = np.minimum(np.arange(start, start + window), len(frames) - 1)
    return frames[idx]


def to_model_input(windows: np.ndarray):
    """``uint8 (N, T, H, W, 3)`` RGB windows → float32 torch tensor ``(N, 3, T, H, W)`` in [0, 1]."""
    import torch

    x = torch.from_numpy(np.ascontiguousarray(windows))
    return x.permute(0, 4, 1, 2, 3).float().div_(255.0)


def too_short_message(name: str, samples: int, window: int, fps: float) -> str:
    """One line: a clip of ``samples`` samples at ``fps`` is too short for a ``window``-sample window."""
    return (f"{name} is {samples / fps:.2f} s long ({samples} frame(s) at {fps:g} fps), shorter than half the model's "
            f"{window / fps:.2f} s window ({window} frames)")


# ---------------------------------------------------------------------------------------- skeleton inputs
def primary_track(cache, start: int, end: int) -> int | None:
    """The track seen in most frames of ``start..end`` (ties: the larger mean box), or None when nobody is."""
    a, b = int(cache.offsets[max(0, start)]), int(cache.offsets[min(cache.frame_count, end + 1)])
    if b <= a:
        return None
    tid = cache.track_id[a:b]
    box = cache.bbox[a:b]
    area = (box[:, 2] - box[:, 0]) * (box[:, 3] - box[:, 1])
    best = None
    for t in np.unique(tid):
        m = tid == t
        key = (int(m.sum()), float(area[m].mean()))
        if best is None or key > best[0]:
            best = (key, int(t))
    return best[1]


def track_window(cache, track_id: int | None, end_frame: int, window: int, step: int) -> np.ndarray:
    """The ``(T', 13, 3)`` float32 common-joint window of a track ending at ``end_frame``: samples at frames
    ``end_frame - k * step`` (k = T'-1 … 0), each the latest detection at or before it (the first detection for
    samples before it); all zeros (nothing seen) for a track without detections."""
    from ..layouts import COMMON_JOINTS, to_common

    if track_id is None:
        return np.zeros((window, len(COMMON_JOINTS), 3), np.float32)
    frames, kps, _box = cache.track(int(track_id))
    if len(frames) == 0:
        return np.zeros((window, len(COMMON_JOINTS), 3), np.float32)
    targets = end_frame - step * np.arange(window - 1, -1, -1)
    pos = np.clip(np.searchsorted(frames, targets, "right") - 1, 0, len(frames) - 1)
    return to_common(kps[pos], cache.layout).astype(np.float32)


def scene_vector(cache, end_frame: int, span_s: float = 1.0) -> np.ndarray:
    """The scene vector (:func:`core.scene.scene_features`, ``(F,)`` float32) of the ``span_s`` seconds up to
    ``end_frame``, fed frame by frame as live (:class:`core.scene.SceneBuffer`)."""
    from ..scene import SceneBuffer

    fps = cache.fps
    buf = SceneBuffer(span_s)
    end_frame = min(int(end_frame), cache.frame_count - 1)
    for f in range(max(0, int(end_frame - np.ceil(span_s * fps)) - 1), end_frame + 1):
        buf.add_poses(cache.poses(f))
    return np.asarray(buf.features(end_frame / fps), np.float32)


def skeleton_input(clip: VideoClip, end_frame: int, spec: dict, track_id: int | None = None) -> np.ndarray:
    """The skeleton-stream input of the window of ``clip`` ending at video frame ``end_frame``.

    Args:
        spec: ``{"kind": "track", "window": T', "fps": rate}`` (the person's window, ``(T', 13, 3)`` float32
            pixels + score) or ``{"kind": "scene", "span_s": s}`` (the scene vector, ``(F,)`` float32).
        track_id: the person (None: the clip's track, else its primary track).

    Raises:
        ClipDataError: the clip has no skeletons; an unknown kind.
    """
    cache = clip.cache
    if cache is None:
        raise ClipDataError(f"{clip.name}: no skeletons for the skeleton stream")
    kind = spec.get("kind")
    if kind == "scene":
        return scene_vector(cache, end_frame, float(spec.get("span_s", 1.0)))
    if kind != "track":
        raise ClipDataError(f"unknown skeleton input kind {kind!r}; known: {', '.join(SKELETON_KINDS)}")
    tid = track_id if track_id is not None else clip.track_id
    if tid is None:
        end = cache.frame_count - 1 if clip.end is None else int(clip.end)
        tid = primary_track(cache, int(clip.start), end)
    step = max(1, int(round(cache.fps / float(spec["fps"])))) if spec.get("fps") else 1
    return track_window(cache, tid, int(end_frame), int(spec["window"]), step)


