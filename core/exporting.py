"""Training-data export of a labelling project: skeleton CSV, tensors, clip videos and frame images.

:func:`iter_export` writes a project's labelled clips into one output folder::

    OUT/
      skeletons.csv                                   format "csv"  (the PoseWatch skeleton CSV, below)
      dataset.pt                                      format "pt"   (torch.save of a dict, below)
      clips/<label>/<video-stem>_clip<id>_<start>-<end>.mp4           format "clips"
      frames/<label>/<video-stem>_clip<id>/<frame:06d>.png|.jpg       format "frames"
      split.json                                      always: the videos of each split

Frames are 0-based with an inclusive clip end; ``<start>``, ``<end>`` and ``<frame>`` are frame
indices of the source video. The whole folder is built under a temporary name next to ``OUT``
(``OUT.tmp-XXXX``) and renamed to ``OUT`` only when complete, so a failure or cancel leaves nothing
half-written.

The PoseWatch skeleton CSV format
---------------------------------
``skeletons.csv`` (:data:`TRAINING_CSV_COLUMNS`, in this order) has one row per person per frame of
each clip: the clip's track only when the clip has a ``track_id``, else every tracked person in those
frames. Rows are ordered by clip (as :meth:`core.project.Project.clips` lists them), then frame, then
track ID.

- ``video`` (str): the video's display name (file name); ``video_hash`` (str): its content hash
  (:func:`core.cache.video_key`, or the key an imported sequence was registered under).
- ``clip_id`` (int): the clip's id in the project; ``track_id`` (int): the person's track.
- ``FRAME_NUM`` (int): the 0-based frame index in the video; for an imported skeleton sequence, the
  original frame number when the importer stored them as the cache's ``meta["frame_num"]`` list
  (one per cached frame).
- ``time_s`` (float, seconds): ``frame index / fps`` of the cached frame, or the cache's
  ``meta["time_s"]`` list (one per cached frame) when an importer stored one; 6 decimals.
- ``fps`` (float): the video's frame rate.
- ``SHOULDER_LEFT_X, SHOULDER_LEFT_Y, ELBOW_LEFT_X, … HEAD_X, HEAD_Y`` (26 floats): x then y of the
  13 joints of :data:`core.layouts.COMMON_JOINTS` in that order, in pixels of the video (2 decimals;
  empty where the pose backend gave no value).
- ``SHOULDER_LEFT_SCORE … HEAD_SCORE`` (13 floats in [0, 1], 4 decimals): joint confidence; 0 means
  the joint is missing.
- ``label`` (int): the label's position in the project taxonomy (class index); ``label_name`` (str).
- ``split`` (str): ``train``, ``val`` or ``test`` (:func:`split_videos`: by video, never by clip).

Values are rounded so that reading the file and writing it again gives the same text: coordinates
and scores survive float32 storage (pixels below 65536); keep ``time_s`` and ``fps`` as float64. :func:`training_dataframe` builds such rows; importers read the same columns back.

The tensors (``dataset.pt``)
----------------------------
``torch.load`` gives a dict (loadable with ``weights_only=True``):

- ``x``: float32 tensor ``(N, C, T, V)``, C = (x, y, score), V = the 13 common joints (``joints``),
  normalised per window with ``normalisation`` (:mod:`core.features`; ``"none"`` keeps pixels).
- ``y``: int64 ``(N,)`` class index; ``label_names``: list (index = class id).
- ``clip_ids``, ``video_ids``, ``track_ids``: int64 ``(N,)``; ``start_frames``: int64 ``(N,)`` index of
  each window's first frame in the video (or imported sequence); ``start_frame_nums``: the same as
  ``FRAME_NUM`` (the original frame number of an imported sequence); ``video_hashes``,
  ``video_names``: lists of N strings; ``fps``: float64 ``(N,)``.
- ``split``: int64 ``(N,)`` codes into ``split_names`` (``["train", "val", "test"]``);
  ``split_by_video``: dict video hash → split name; ``split_ratios``, ``split_seed``.
- ``layout`` (``"common13"``), ``joints``, ``channels``, ``window`` (T), ``stride``, ``format``.

A window is T consecutive frames of one track inside one clip: windows never cross a clip or track
boundary nor a gap in the track (a track's frames are split into consecutive runs; windows start
every ``stride`` frames of a run). Clips that give no window are listed in
:attr:`ExportSummary.skipped_clips`.

Crops (formats ``clips`` and ``frames``)
----------------------------------------
``Crop("rect", (x1, y1, x2, y2))`` exports that fixed region (rounded outwards to whole pixels,
clamped to the frame). ``Crop("track", margin=m)`` follows the clip's track: its per-frame box from
the skeleton cache, gaps filled by linear interpolation, smoothed with a centred moving average over
:data:`SMOOTH_S` seconds, expanded by ``m`` × the box size on each side; the output size is fixed per
clip (the largest smoothed box, clamped to the frame, even pixel counts) and the box slides inside
the frame. No crop: the full frame. MPEG-4 video needs even sizes, so a clip video drops the last
column/row of an odd-sized crop; frame images keep it (PNG frames are pixel-exact copies of the
decoded source frames).
"""

from __future__ import annotations

import json
import math
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

import numpy as np

from .errors import PoseWatchError
from .files import atomic_path
from .extract import Cancelled, Progress
from .features import NORMALISATIONS, normalise_window
from .layouts import COMMON_JOINTS, to_common

#: Formats :func:`iter_export` writes.
from .choices import EXPORT_FORMATS  # noqa: E402  (re-exported)
#: Split names, in the order of their codes in ``dataset.pt``.
SPLIT_NAMES = ("train", "val", "test")
#: Seconds of the centred moving average that smooths a followed track's box.
SMOOTH_S = 0.5
#: Version of the ``dataset.pt`` dict layout.
DATASET_FORMAT = 1

CSV_NAME = "skeletons.csv"
DATASET_NAME = "dataset.pt"
SPLIT_NAME = "split.json"

#: The 26 coordinate columns: x then y of each common joint, in :data:`~core.layouts.COMMON_JOINTS` order.
KEYPOINT_COLUMNS: tuple[str, ...] = tuple(f"{j}_{c}" for j in COMMON_JOINTS for c in ("X", "Y"))
#: The 13 joint-confidence columns.
SCORE_COLUMNS: tuple[str, ...] = tuple(f"{j}_SCORE" for j in COMMON_JOINTS)
#: Columns of the PoseWatch skeleton CSV (see the module docstring), in file order.
TRAINING_CSV_COLUMNS: tuple[str, ...] = (
    ("video", "video_hash", "clip_id", "track_id", "FRAME_NUM", "time_s", "fps")
    + KEYPOINT_COLUMNS + SCORE_COLUMNS + ("label", "label_name", "split")
)
_DECIMALS = {**{c: 2 for c in KEYPOINT_COLUMNS}, **{c: 4 for c in SCORE_COLUMNS}, "time_s": 6}


class ExportError(PoseWatchError):
    """An export cannot be written (bad options, unwritable or existing output, moved video, no data)."""


@dataclass
class ExportSummary:
    """What :func:`iter_export` wrote.

    Attributes:
        out_dir: the output folder.
        formats: the formats written.
        clips: number of clips in the project.
        counts: per format: ``csv`` rows, ``pt`` windows, ``clips`` video files, ``frames`` images.
        windows_per_split: training windows per split name (``pt`` only).
        videos_per_split: video names per split name.
        skipped_clips: ``{clip_id: reason}`` for clips that gave no training window (``pt`` only).
        warnings: other things users should know (e.g. clips of imported sequences have no pixels).
    """

    out_dir: Path
    formats: tuple[str, ...]
    clips: int = 0
    counts: dict = field(default_factory=dict)
    windows_per_split: dict = field(default_factory=dict)
    videos_per_split: dict = field(default_factory=dict)
    skipped_clips: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)

    def describe(self) -> str:
        """A one-line human summary."""
        what = {"csv": "CSV rows", "pt": "windows", "clips": "clip videos", "frames": "frame images"}
        parts = [f"{self.counts.get(f, 0)} {what[f]}" for f in self.formats]
        if "pt" in self.formats:
            parts.append("per split " + ", ".join(f"{k} {v}" for k, v in self.windows_per_split.items()))
        s = f"wrote {self.out_dir}: {self.clips} clips; " + "; ".join(parts)
        if self.skipped_clips:
            s += f"; {len(self.skipped_clips)} clip(s) gave no window"
        return s


# ---------------------------------------------------------------------------------------- split
def split_videos(keys: Sequence[str], ratios: Sequence[float] = (0.7, 0.15, 0.15), seed: int = 0) -> dict[str, str]:
    """Assign whole videos to train/val/test, deterministically.

    The sorted unique keys are shuffled with ``numpy.random.default_rng(seed)``; split sizes follow
    ``ratios`` (largest remainders), and every split with a positive ratio gets at least one video
    when there are enough videos (with 3 or more videos and all ratios positive, each split has one).

    Args:
        keys: video keys (content hashes); duplicates are ignored.
        ratios: three non-negative fractions (train, val, test) summing to 1.
        seed: shuffle seed.

    Returns:
        ``{key: "train" | "val" | "test"}``.

    Raises:
        ExportError: ratios are not three non-negative numbers summing to 1.
    """
    r = check_ratios(ratios)
    keys = sorted(set(keys))
    n = len(keys)
    raw = np.asarray(r) * n
    counts = np.floor(raw).astype(int)
    for i in np.argsort(-(raw - counts), kind="stable")[: n - counts.sum()]:
        counts[i] += 1
    for i in range(3):
        if r[i] > 0 and counts[i] == 0:
            donor = int(np.argmax(counts))
            if counts[donor] > 1:
                counts[donor] -= 1
                counts[i] += 1
    order = np.random.default_rng(seed).permutation(n)
    names = np.repeat(np.array(SPLIT_NAMES), counts)
    return {keys[j]: str(names[pos]) for pos, j in enumerate(order)}


def check_ratios(ratios: Sequence[float]) -> tuple[float, float, float]:
    """Validate train/val/test ratios. Raises ExportError unless three numbers >= 0 summing to 1."""
    try:
        r = tuple(float(v) for v in ratios)
    except (TypeError, ValueError):
        raise ExportError(f"split ratios must be three numbers (train, val, test), got {ratios!r}") from None
    if len(r) != 3 or any(not math.isfinite(v) or v < 0 for v in r) or abs(sum(r) - 1) > 1e-3:
        raise ExportError(f"split ratios must be three numbers >= 0 (train, val, test) summing to 1, got "
                          f"{','.join(f'{v:g}' for v in r)}")
    return r  # type: ignore[return-value]


# ---------------------------------------------------------------------------------------- skeleton rows
def clip_rows(cache, clip) -> np.ndarray:
    """Cache rows of a clip: every person in frames ``clip.start..clip.end`` (the clip's track only if
    it has one), ordered by frame then track ID.

    Args:
        cache: :class:`core.cache.SkeletonCache`.
        clip: :class:`core.project.Clip`.

    Returns:
        ``(R,)`` int64 row indices into the cache arrays (frames past the cache's end are ignored).
    """
    f0 = min(clip.start, cache.frame_count)
    f1 = min(clip.end + 1, cache.frame_count)
    rows = np.arange(cache.offsets[f0], cache.offsets[f1], dtype=np.int64)
    if clip.track_id is not None:
        rows = rows[cache.track_id[rows] == clip.track_id]
    return rows[np.lexsort((cache.track_id[rows], cache.frame[rows]))]


def frame_numbers(cache) -> tuple[np.ndarray, np.ndarray]:
    """Frame numbers and times of a cache's frames.

    Returns:
        ``FRAME_NUM (F,)`` int64 (``meta["frame_num"]`` if stored, else ``0..F-1``) and
        ``time_s (F,)`` float64 (``meta["time_s"]`` if stored, else ``index / fps``).
    """
    n = cache.frame_count
    fn = cache.meta.get("frame_num")
    frame_num = np.asarray(fn, np.int64) if fn is not None and len(fn) == n else np.arange(n, dtype=np.int64)
    ts = cache.meta.get("time_s")
    time_s = np.asarray(ts, np.float64) if ts is not None and len(ts) == n else np.arange(n) / cache.fps
    return frame_num, time_s


def training_dataframe(video: str, video_hash: str, clip_id, track_id, frame_num, time_s, fps, keypoints: np.ndarray,
                       label, label_name, split):
    """Rows of the PoseWatch skeleton CSV (:data:`TRAINING_CSV_COLUMNS`) as a pandas DataFrame.

    Every argument but ``keypoints`` is a scalar (repeated on every row) or a length-N sequence.

    Args:
        keypoints: ``(N, 13, 3)`` common joints: x, y in pixels, score in [0, 1].

    Returns:
        DataFrame with the columns in file order, ints as int64, values rounded as written.

    Raises:
        ValueError: ``keypoints`` is not ``(N, 13, 3)``.
    """
    import pandas as pd

    kp = np.asarray(keypoints, np.float64)
    if kp.ndim != 3 or kp.shape[1:] != (len(COMMON_JOINTS), 3):
        raise ValueError(f"expected (N, {len(COMMON_JOINTS)}, 3) keypoints, got {kp.shape}")
    n = len(kp)

    def col(v, dtype):
        a = np.asarray(v, dtype)
        return np.full(n, a, dtype) if a.ndim == 0 else a

    data = {
        "video": col(video, object), "video_hash": col(video_hash, object), "clip_id": col(clip_id, np.int64),
        "track_id": col(track_id, np.int64), "FRAME_NUM": col(frame_num, np.int64),
        "time_s": col(time_s, np.float64), "fps": col(fps, np.float64),
    }
    xy = kp[:, :, :2].reshape(n, -1)
    data.update({c: xy[:, i] for i, c in enumerate(KEYPOINT_COLUMNS)})
    data.update({c: kp[:, i, 2] for i, c in enumerate(SCORE_COLUMNS)})
    data.update({"label": col(label, np.int64), "label_name": col(label_name, object), "split": col(split, object)})
    return pd.DataFrame(data, columns=list(TRAINING_CSV_COLUMNS)).round(_DECIMALS)


def clip_dataframe(cache, video, clip, label: int, split: str):
    """The skeleton-CSV rows of one clip (see :func:`clip_rows`, :func:`training_dataframe`).

    Args:
        cache: the video's :class:`core.cache.SkeletonCache`.
        video: the clip's :class:`core.project.Video`.
        clip: :class:`core.project.Clip`.
        label: class index of ``clip.label``.
        split: the video's split name.
    """
    rows = clip_rows(cache, clip)
    frame_num, time_s = frame_numbers(cache)
    f = cache.frame[rows]
    return training_dataframe(_video_name(video), video.hash, clip.id, cache.track_id[rows], frame_num[f], time_s[f],
                              video.fps, to_common(cache.keypoints[rows], cache.layout), label, clip.label, split)


# ---------------------------------------------------------------------------------------- windows
def consecutive_runs(frames: np.ndarray) -> list[tuple[int, int]]:
    """Split sorted, unique frame indices into runs of consecutive frames.

    Returns:
        ``[(a, b), …]`` index ranges into ``frames`` (``b`` exclusive), one per run.
    """
    if len(frames) == 0:
        return []
    cuts = np.flatnonzero(np.diff(frames) != 1) + 1
    bounds = np.concatenate([[0], cuts, [len(frames)]])
    return [(int(a), int(b)) for a, b in pairwise(bounds)]


def clip_windows(cache, clip, window: int = 16, stride: int = 16) -> list[tuple[int, int, np.ndarray]]:
    """Training windows of a clip: T consecutive frames of one track within the clip.

    Each track in the clip (only the clip's track if it has one) is split into runs of consecutive
    frames; a run of L frames gives windows starting at run offsets ``0, stride, …`` while
    ``offset + window <= L``.

    Returns:
        ``[(track_id, start_frame, rows), …]`` with ``rows`` ``(window,)`` int64 cache row indices.
    """
    rows = clip_rows(cache, clip)
    out = []
    tids = cache.track_id[rows]
    for tid in np.unique(tids):
        r = rows[tids == tid]  # in frame order
        f = cache.frame[r]
        keep = np.concatenate([[True], np.diff(f) != 0])  # one row per frame
        r, f = r[keep], f[keep]
        for a, b in consecutive_runs(f):
            for s in range(a, b - window + 1, stride):
                out.append((int(tid), int(f[s]), r[s:s + window]))
    out.sort(key=lambda w: (w[1], w[0]))
    return out


def window_tensor(cache, rows: np.ndarray, normalisation: str = "none") -> np.ndarray:
    """One window as ``(C=3, T, V=13)`` float32 (x, y, score of the common joints), normalised with
    ``normalisation`` (:data:`core.features.NORMALISATIONS`)."""
    kp = to_common(cache.keypoints[rows], cache.layout).astype(np.float32)  # (T, 13, 3)
    return np.ascontiguousarray(normalise_window(kp, normalisation).transpose(2, 0, 1))


# ---------------------------------------------------------------------------------------- crops
def smooth_track_boxes(frames: np.ndarray, bbox: np.ndarray, start: int, end: int, fps: float,
                       smooth_s: float = SMOOTH_S) -> np.ndarray:
    """A track's box for every frame ``start..end``, gaps interpolated and smoothed over time.

    Args:
        frames: ``(K,)`` sorted frame indices where the track was seen (K >= 1).
        bbox: ``(K, 4)`` x1, y1, x2, y2 in pixels.
        start, end: frame range (inclusive).
        fps: frames per second (sets the moving-average length, ``smooth_s`` seconds, odd frame count).

    Returns:
        ``(end - start + 1, 4)`` float64 centre x, centre y, width, height (pixels). Frames before the
        first / after the last sighting hold the nearest box.
    """
    frames = np.asarray(frames)
    f, first = np.unique(frames, return_index=True)
    b = np.asarray(bbox, np.float64)[first]
    geo = np.stack([(b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2, b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]], 1)
    k = max(1, round(smooth_s * fps))
    k += 1 - k % 2  # odd: centred
    h = k // 2
    idx = np.arange(start - h, end + h + 1)
    interp = np.stack([np.interp(idx, f, geo[:, c]) for c in range(4)], 1)
    kernel = np.full(k, 1.0 / k)
    return np.stack([np.convolve(interp[:, c], kernel, mode="valid") for c in range(4)], 1)


def crop_boxes(clip, video, cache=None, smooth_s: float = SMOOTH_S) -> tuple[np.ndarray, str | None]:
    """The exported region of every frame of a clip.

    Args:
        clip: :class:`core.project.Clip` (its ``crop`` decides, see the module docstring).
        video: its :class:`core.project.Video` (frame size ``width`` x ``height``).
        cache: the video's skeleton cache (needed for ``Crop("track")``).

    Returns:
        ``boxes`` ``(clip.length, 4)`` int64 x1, y1, x2, y2 (end exclusive), all of one size and inside
        the frame; and a warning (str) when a followed track never appears, so the full frame is used
        instead (else None).

    Raises:
        ExportError: a track crop without a skeleton cache.
    """
    W, H = int(video.width), int(video.height)
    n = clip.length
    full = np.tile(np.array([0, 0, W, H], np.int64), (n, 1))
    crop = clip.crop
    if crop is None:
        return full, None
    if crop.kind == "rect":
        x1, y1, x2, y2 = crop.rect
        box = [max(0, math.floor(x1)), max(0, math.floor(y1)), min(W, math.ceil(x2)), min(H, math.ceil(y2))]
        return np.tile(np.array(box, np.int64), (n, 1)), None
    if cache is None:
        raise ExportError(f"clip {clip.id}: following a track needs the video's skeletons")
    frames, _kp, bbox = cache.track(clip.track_id)
    if len(frames) == 0:
        return full, (f"clip {clip.id}: track {clip.track_id} is not in the skeletons of {_video_name(video)}; "
                      "exported the full frame")
    geo = smooth_track_boxes(frames, bbox, clip.start, clip.end, video.fps, smooth_s)
    grow = 1 + 2 * crop.margin
    w = _even_size(geo[:, 2].max() * grow, W)
    h = _even_size(geo[:, 3].max() * grow, H)
    x1 = np.clip(np.round(geo[:, 0] - w / 2), 0, W - w).astype(np.int64)
    y1 = np.clip(np.round(geo[:, 1] - h / 2), 0, H - h).astype(np.int64)
    return np.stack([x1, y1, x1 + w, y1 + h], 1), None


def _even_size(size: float, limit: int) -> int:
    s = min(math.ceil(size), limit)
    s -= s % 2
    return max(s, min(2, limit))


# ---------------------------------------------------------------------------------------- helpers
def _video_name(video) -> str:
    return video.name or Path(video.path).name


def _safe(name: str) -> str:
    """A file-name-safe form of a label or video name."""
    s = re.sub(r"[^\w.\-]+", "_", str(name), flags=re.UNICODE).strip("._")
    return s or "_"


def _check_output(out: Path, overwrite: bool) -> None:
    parent = out.parent
    if out.exists() and not overwrite:
        raise ExportError(f"{out} already exists; choose another folder or overwrite it (--overwrite)")
    if out.exists() and not out.is_dir():
        raise ExportError(f"{out} exists and is not a folder")
    if not parent.exists():
        raise ExportError(f"output folder's parent does not exist: {parent}")
    if not parent.is_dir():
        raise ExportError(f"cannot write to {out}: {parent} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ExportError(f"cannot write to {parent}: permission denied")


def _write_image(path: Path, image: np.ndarray, ext: str) -> None:
    import cv2

    params = [cv2.IMWRITE_JPEG_QUALITY, 95] if ext == ".jpg" else []
    ok, buf = cv2.imencode(ext, image, params)
    if not ok:
        raise ExportError(f"cannot encode image {path}")
    path.write_bytes(buf.tobytes())


class _ClipWriter:
    """Writes one clip's cropped frames as an mp4 video and/or image files."""

    def __init__(self, tmp: Path, video, clip, boxes: np.ndarray, formats, image_ext: str):
        import cv2

        self.boxes = boxes
        self.writer = None
        self.frames_dir = None
        self.image_ext = image_ext
        stem, label = _safe(Path(_video_name(video)).stem), _safe(clip.label)
        w, h = int(boxes[0, 2] - boxes[0, 0]), int(boxes[0, 3] - boxes[0, 1])
        self.vw, self.vh = w - w % 2, h - h % 2  # MPEG-4 needs even sizes
        if "clips" in formats:
            d = tmp / "clips" / label
            d.mkdir(parents=True, exist_ok=True)
            self.video_path = d / f"{stem}_clip{clip.id}_{clip.start}-{clip.end}.mp4"
            if self.vw < 2 or self.vh < 2:
                raise ExportError(f"clip {clip.id}: crop {w}x{h} is too small for a video")
            self.writer = cv2.VideoWriter(str(self.video_path), cv2.VideoWriter_fourcc(*"mp4v"), float(video.fps),
                                          (self.vw, self.vh))
            if not self.writer.isOpened():
                raise ExportError(f"cannot write video {self.video_path} (codec mp4v unavailable or disk full)")
        if "frames" in formats:
            self.frames_dir = tmp / "frames" / label / f"{stem}_clip{clip.id}"
            self.frames_dir.mkdir(parents=True, exist_ok=True)
        self.images = 0

    def write(self, k: int, frame_index: int, image: np.ndarray) -> None:
        x1, y1, x2, y2 = (int(v) for v in self.boxes[k])
        crop = image[y1:y2, x1:x2]
        if self.writer is not None:
            self.writer.write(np.ascontiguousarray(crop[: self.vh, : self.vw]))
        if self.frames_dir is not None:
            _write_image(self.frames_dir / f"{frame_index:06d}{self.image_ext}", crop, self.image_ext)
            self.images += 1

    def close(self) -> None:
        if self.writer is not None:
            self.writer.release()
            self.writer = None


def _save_dataset(path: Path, windows: list, meta: dict) -> None:
    import torch

    x = np.stack([w["x"] for w in windows]).astype(np.float32)
    data = {
        "format": DATASET_FORMAT,
        "x": torch.from_numpy(x),
        "y": torch.tensor([w["y"] for w in windows], dtype=torch.int64),
        "clip_ids": torch.tensor([w["clip_id"] for w in windows], dtype=torch.int64),
        "video_ids": torch.tensor([w["video_id"] for w in windows], dtype=torch.int64),
        "track_ids": torch.tensor([w["track_id"] for w in windows], dtype=torch.int64),
        "start_frames": torch.tensor([w["start_frame"] for w in windows], dtype=torch.int64),
        "start_frame_nums": torch.tensor([w["start_frame_num"] for w in windows], dtype=torch.int64),
        "fps": torch.tensor([w["fps"] for w in windows], dtype=torch.float64),
        "video_hashes": [w["video_hash"] for w in windows],
        "video_names": [w["video_name"] for w in windows],
        "split": torch.tensor([SPLIT_NAMES.index(w["split"]) for w in windows], dtype=torch.int64),
        "split_names": list(SPLIT_NAMES),
        "layout": "common13",
        "joints": list(COMMON_JOINTS),
        "channels": ["x", "y", "score"],
        **meta,
    }
    with atomic_path(path) as tmp:
        torch.save(data, tmp)


# ---------------------------------------------------------------------------------------- export
def iter_export(project, out_dir: str | os.PathLike, formats: Sequence[str] = ("csv", "pt"), window: int = 16,
                stride: int = 16, normalisation: str = "none", ratios: Sequence[float] = (0.7, 0.15, 0.15),
                seed: int = 0, image_format: str = "png", backend: str = "yolo", overwrite: bool = False,
                cancel: Callable[[], bool] | None = None) -> Generator[Progress, None, ExportSummary]:
    """Export a project's clips as training data (see the module docstring for every file).

    Skeletons come from :meth:`core.project.Project.iter_skeletons` (extracted on first use, with
    progress); only videos that have clips are touched.

    Args:
        project: an open :class:`core.project.Project`.
        out_dir: output folder; must not exist unless ``overwrite`` (its parent must exist).
        formats: any of :data:`EXPORT_FORMATS`.
        window: frames per training window T (>= 1); stride: frames between window starts (>= 1).
        normalisation: per-window normalisation of ``x`` (:data:`core.features.NORMALISATIONS`).
        ratios: train/val/test fractions of the videos; seed: the split's shuffle seed.
        image_format: ``png`` (lossless) or ``jpg`` for frame images.
        backend: pose backend whose skeletons are exported (``yolo`` or ``mediapipe``).
        overwrite: replace an existing ``out_dir`` (only once the new export is complete).
        cancel: polled often; returning True raises :class:`core.extract.Cancelled`.

    Yields:
        :class:`Progress`: the skeleton extraction's own, then ``done``/``total`` frames of clips.

    Returns:
        :class:`ExportSummary`.

    Raises:
        ExportError: bad options, the output exists or cannot be written, no clips, a project video
            is missing (moved), zero training windows or skeleton rows.
        Cancelled; VideoError, ModelError, CacheError from reading videos and skeletons.
    """
    formats = tuple(dict.fromkeys(str(f).lower() for f in formats))
    bad = [f for f in formats if f not in EXPORT_FORMATS]
    if not formats or bad:
        raise ExportError(f"unknown export format {', '.join(bad) or '(none)'}; choose from {', '.join(EXPORT_FORMATS)}")
    if int(window) < 1 or int(stride) < 1:
        raise ExportError(f"window ({window}) and stride ({stride}) must be at least 1 frame")
    window, stride = int(window), int(stride)
    if normalisation not in NORMALISATIONS:
        raise ExportError(f"unknown normalisation '{normalisation}'; choose one of {', '.join(NORMALISATIONS)}")
    image_ext = {"png": ".png", "jpg": ".jpg", "jpeg": ".jpg"}.get(str(image_format).lower().lstrip("."))
    if image_ext is None:
        raise ExportError(f"unknown image format '{image_format}'; choose png or jpg")
    ratios = check_ratios(ratios)
    out = Path(out_dir).expanduser().absolute()
    folder = Path(project.folder).resolve()
    if out.resolve() == folder or out.resolve() in folder.parents:
        raise ExportError(f"cannot export into {out}: it holds the project itself; choose another folder")
    _check_output(out, overwrite)

    clips = project.clips()
    if not clips:
        raise ExportError("the project has no clips to export")
    videos = {v.id: v for v in project.videos()}
    used = list(dict.fromkeys(c.video_id for c in clips))
    for vid in used:
        v = videos[vid]
        if v.kind == "video" and not Path(v.path).exists():
            raise ExportError(f"video '{_video_name(v)}' is missing (moved or deleted?): {v.path}; relink it to its "
                              "new folder before exporting")
    split = split_videos([videos[v].hash for v in used], ratios, seed)
    label_index = {name: i for i, name in enumerate(project.label_names())}
    summary = ExportSummary(out, formats, clips=len(clips), counts={f: 0 for f in formats})
    summary.videos_per_split = {s: [_video_name(videos[v]) for v in used if split[videos[v].hash] == s]
                                for s in SPLIT_NAMES}
    pixels = "clips" in formats or "frames" in formats
    total = sum(c.length for c in clips)
    done = 0

    def check_cancel():
        if cancel is not None and cancel():
            raise Cancelled("export cancelled")

    try:  # mkdir (not mkdtemp) so the finished folder gets the user's usual permissions
        tmp = out.parent / f"{out.name}.tmp-{secrets.token_hex(4)}"
        tmp.mkdir()
    except OSError as e:
        raise ExportError(f"cannot write to {out.parent}: {e.strerror or e}") from None
    try:
        csv_path = tmp / CSV_NAME
        windows: list[dict] = []
        for vid in used:
            v = videos[vid]
            vclips = [c for c in clips if c.video_id == vid]
            vsplit = split[v.hash]
            has_pixels = v.kind == "video"
            need_cache = ("csv" in formats or "pt" in formats
                          or (pixels and has_pixels and any(c.crop and c.crop.kind == "track" for c in vclips)))
            check_cancel()
            cache = (yield from project.iter_skeletons(v, backend, cancel=cancel)) if need_cache else None
            if cache is not None and v.kind == "video" and cache.frame_count < v.frame_count:
                summary.warnings.append(f"{_video_name(v)}: skeletons cover only {cache.frame_count} of "
                                        f"{v.frame_count} frames")
            src = None
            if pixels and has_pixels:
                from .video import open_source

                src = open_source(v.path)
            elif pixels:
                summary.warnings.append(f"{_video_name(v)} is an imported skeleton sequence without video: its "
                                        f"{len(vclips)} clip(s) have no clip videos or frame images")
            try:
                for clip in vclips:
                    check_cancel()
                    label = label_index[clip.label]
                    yield Progress(done, total, f"exporting {_video_name(v)}")
                    if "csv" in formats:
                        df = clip_dataframe(cache, v, clip, label, vsplit)
                        df.to_csv(csv_path, mode="a", header=not csv_path.exists(), index=False)
                        summary.counts["csv"] += len(df)
                    if "pt" in formats:
                        frame_num = frame_numbers(cache)[0]
                        ws = clip_windows(cache, clip, window, stride)
                        if not ws:
                            summary.skipped_clips[clip.id] = (
                                f"{clip.length} frames, shorter than the window ({window})" if clip.length < window
                                else f"no track has {window} consecutive frames in the clip")
                        for tid, f0, rows in ws:
                            windows.append({
                                "x": window_tensor(cache, rows, normalisation), "y": label, "clip_id": clip.id,
                                "video_id": v.id, "video_hash": v.hash, "video_name": _video_name(v), "track_id": tid,
                                "start_frame": f0, "start_frame_num": int(frame_num[f0]), "fps": v.fps,
                                "split": vsplit})
                    if src is not None:
                        boxes, warning = crop_boxes(clip, v, cache)
                        if warning:
                            summary.warnings.append(warning)
                        cw = _ClipWriter(tmp, v, clip, boxes, formats, image_ext)
                        n = 0
                        try:
                            for fr in src.frames(clip.start, clip.end + 1):
                                check_cancel()
                                cw.write(fr.index - clip.start, fr.index, fr.image)
                                n += 1
                                yield Progress(done + n, total, f"exporting {_video_name(v)}")
                        finally:
                            cw.close()
                        if n < clip.length:
                            summary.warnings.append(f"clip {clip.id}: only {n} of {clip.length} frames could be "
                                                    f"decoded from {_video_name(v)}")
                        if "clips" in formats:
                            summary.counts["clips"] += 1
                        if "frames" in formats:
                            summary.counts["frames"] += cw.images
                    done += clip.length
            finally:
                if src is not None:
                    src.close()
        yield Progress(done, total, "writing files")
        if "csv" in formats and summary.counts["csv"] == 0:
            raise ExportError("no skeleton rows to export: no person was detected in any clip's frames")
        if "pt" in formats:
            if not windows:
                raise ExportError(f"no training windows: every clip is shorter than the window ({window} frames) or "
                                  "its tracks have no run of that many consecutive frames; use a smaller --window")
            _save_dataset(tmp / DATASET_NAME, windows, {
                "label_names": list(label_index), "window": window, "stride": stride,
                "normalisation": normalisation, "split_by_video": dict(split), "split_ratios": list(ratios),
                "split_seed": int(seed)})
            summary.counts["pt"] = len(windows)
            summary.windows_per_split = {s: sum(w["split"] == s for w in windows) for s in SPLIT_NAMES}
        split_doc = {"seed": int(seed), "ratios": list(ratios),
                     **{s: [{"video": _video_name(videos[v]), "video_hash": videos[v].hash, "path": videos[v].path}
                            for v in used if split[videos[v].hash] == s] for s in SPLIT_NAMES}}
        (tmp / SPLIT_NAME).write_text(json.dumps(split_doc, indent=2))
        _publish(tmp, out, overwrite)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ExportError(f"cannot write the export to {out}: {e.strerror or e}") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return summary


def _publish(tmp: Path, out: Path, overwrite: bool) -> None:
    """Rename the finished temporary folder to ``out`` (replacing an existing one if allowed)."""
    if out.exists():
        if not overwrite:
            raise ExportError(f"{out} already exists; choose another folder or overwrite it (--overwrite)")
        old = Path(tempfile.mkdtemp(prefix=out.name + ".old-", dir=out.parent))
        os.rename(out, old / out.name)
        try:
            os.rename(tmp, out)
        except OSError:
            os.rename(old / out.name, out)  # put the previous export back
            raise
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(tmp, out)
