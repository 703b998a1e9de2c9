"""Skeleton cache: the pose results of a whole video, computed once and stored on disk.

A cache holds, for every person in every frame, flat arrays indexed by frame through ``offsets``
(no linear scans when seeking, cf. SLEAP #2652):

- ``frame`` ``(N,)`` int32, sorted; ``track_id`` ``(N,)`` int32; ``score`` ``(N,)`` float32
- ``bbox`` ``(N, 4)`` float32 x1, y1, x2, y2 in pixels of the original video
- ``keypoints`` ``(N, V, 3)`` float32 x, y in pixels, score in [0, 1]
- ``offsets`` ``(F + 1,)`` int64: rows of frame ``f`` are ``offsets[f]:offsets[f+1]``

It is stored as one ``.npz`` file (written to a temporary name, then renamed) under
``<root>/<video key>/<settings key>.npz``, where the video key is a content hash
(:func:`video_key`) and the settings key hashes the estimator's :meth:`describe` and the
inference width, so a changed model or setting never reuses stale results.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import config
from .errors import CacheError, PoseWatchError
from .files import atomic_path
from .pose.base import FramePoses, Person

CACHE_FORMAT = 1
_HASH_CHUNK = 4 << 20


def video_key(path: str | os.PathLike) -> str:
    """Content hash of a video: stable when the file (or frames folder) is moved or renamed.

    A file: SHA-256 over its size and its first, middle and last 4 MiB (at most 12 MiB read, so it
    stays fast for long videos). A folder of frame images: SHA-256 over the sorted image names and
    sizes plus the bytes of the first and last image. Returns 32 hex characters.

    Raises:
        OSError: the path cannot be read.
    """
    p = Path(path)
    if p.is_dir():
        from .video import IMAGE_EXTENSIONS

        files = sorted(f for f in p.iterdir() if f.suffix.lower() in IMAGE_EXTENSIONS)
        h = hashlib.sha256(b"frames-folder")
        for f in files:
            h.update(f"{f.name}:{f.stat().st_size};".encode())
        for f in files[:1] + files[-1:]:
            h.update(f.read_bytes())
        return h.hexdigest()[:32]
    size = p.stat().st_size
    h = hashlib.sha256(str(size).encode())
    with open(p, "rb") as f:
        for pos in sorted({0, max(0, size // 2 - _HASH_CHUNK // 2), max(0, size - _HASH_CHUNK)}):
            f.seek(pos)
            h.update(f.read(_HASH_CHUNK))
    return h.hexdigest()[:32]


def settings_key(settings: dict) -> str:
    """Stable 16-hex-character hash of a JSON-serialisable settings dict."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


def cache_dir() -> Path:
    """Default skeleton-cache root: ``<cache>/skeletons``."""
    return config.cache_root() / "skeletons"


def cache_path(video: str | os.PathLike, settings: dict, root: Path | None = None) -> Path:
    """Where the cache for ``video`` with ``settings`` lives (the file may not exist yet)."""
    return (root or cache_dir()) / video_key(video) / f"{settings_key(settings)}.npz"


def distinct_ids(ids: np.ndarray) -> np.ndarray:
    """The sorted distinct values of ``ids (N,)`` ints (track IDs), same dtype: a count per ID when they are small
    and non-negative (4x faster than ``np.unique``), else ``np.unique``."""
    if len(ids) and 0 <= int(ids.min()) and int(ids.max()) < 1_000_000:
        return np.flatnonzero(np.bincount(ids)).astype(ids.dtype)
    return np.unique(ids)


def presence_runs(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Runs of consecutive frames: ``frames (T,)`` sorted ints → ``(starts, ends)`` ``(R,)`` int64, ends
    inclusive."""
    f = np.asarray(frames)
    if not len(f):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    breaks = np.flatnonzero((f[1:] - f[:-1]) > 1)
    starts = np.empty(len(breaks) + 1, np.int64)
    ends = np.empty(len(breaks) + 1, np.int64)
    starts[0], starts[1:] = f[0], f[breaks + 1]
    ends[:-1], ends[-1] = f[breaks], f[-1]
    return starts, ends


@dataclass
class SkeletonCache:
    """All persons of a video (see module docstring for the array layout).

    Attributes:
        meta: ``video``, ``fps``, ``frame_count``, ``width``, ``height``, ``layout``, ``settings``,
            ``complete`` and ``format``.
    """

    meta: dict
    frame: np.ndarray
    track_id: np.ndarray
    bbox: np.ndarray
    score: np.ndarray
    keypoints: np.ndarray
    offsets: np.ndarray
    _track_rows: dict = field(default_factory=dict, repr=False)  # track ID: rows; "ids": track_ids();
    # ("presence", track ID): track_presence()

    @property
    def frame_count(self) -> int:
        """Number of frames covered."""
        return len(self.offsets) - 1

    @property
    def layout(self) -> str:
        """Skeleton layout name of the keypoints."""
        return self.meta["layout"]

    @property
    def fps(self) -> float:
        """Frames per second of the video."""
        return float(self.meta["fps"])

    @classmethod
    def from_frames(cls, frames: list[FramePoses], meta: dict) -> "SkeletonCache":
        """Build a cache from per-frame results in frame order (``frames[i].frame_index == i``).

        Raises:
            ValueError: the frames are not consecutive from 0.
        """
        v = None
        rows = []
        counts = np.zeros(len(frames), np.int64)
        for i, fp in enumerate(frames):
            if fp.frame_index != i:
                raise ValueError(f"frames must be consecutive from 0; got {fp.frame_index} at position {i}")
            counts[i] = len(fp.persons)
            for p in fp.persons:
                rows.append((i, p))
                v = p.keypoints.shape[0]
        n = len(rows)
        v = v or 0
        frame = np.fromiter((r[0] for r in rows), np.int32, n)
        track = np.fromiter((r[1].track_id for r in rows), np.int32, n)
        score = np.fromiter((r[1].score for r in rows), np.float32, n)
        bbox = np.stack([r[1].bbox for r in rows]).astype(np.float32) if n else np.zeros((0, 4), np.float32)
        kp = np.stack([r[1].keypoints for r in rows]).astype(np.float32) if n else np.zeros((0, v, 3), np.float32)
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        meta = dict(meta, frame_count=len(frames), format=CACHE_FORMAT)
        return cls(meta, frame, track, bbox, score, kp, offsets)

    def poses(self, frame_index: int) -> FramePoses:
        """The persons of one frame as a :class:`FramePoses`.

        Raises:
            IndexError: frame out of range.
        """
        if not 0 <= frame_index < self.frame_count:
            raise IndexError(f"frame {frame_index} out of range 0..{self.frame_count - 1}")
        a, b = int(self.offsets[frame_index]), int(self.offsets[frame_index + 1])
        fp = FramePoses(frame_index, frame_index / self.fps, self.layout, int(self.meta["width"]), int(self.meta["height"]))
        fp.persons = [Person(int(self.track_id[r]), self.bbox[r], self.keypoints[r], float(self.score[r]), self.layout)
                      for r in range(a, b)]
        return fp

    def persons_per_frame(self) -> np.ndarray:
        """``(F,)`` int64 number of persons in each frame."""
        return np.diff(self.offsets)

    def track_ids(self) -> np.ndarray:
        """Sorted unique track IDs (found once; the arrays of a cache are not changed after it is made)."""
        ids = self._track_rows.get("ids")
        if ids is None:
            ids = distinct_ids(self.track_id)
            self._track_rows["ids"] = ids
        return ids

    def row_of(self, frame: int, track_id: int) -> int | None:
        """The row of track ``track_id`` in ``frame``, or None."""
        if not 0 <= frame < self.frame_count:
            return None
        a, b = int(self.offsets[frame]), int(self.offsets[frame + 1])
        hit = np.flatnonzero(self.track_id[a:b] == track_id)
        return a + int(hit[0]) if len(hit) else None

    def track(self, track_id: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One track's rows.

        Returns:
            ``frames (T,)`` int32, ``keypoints (T, V, 3)`` float32, ``bbox (T, 4)`` float32, in frame order.
        """
        rows = self.track_rows(track_id)
        return self.frame[rows], self.keypoints[rows], self.bbox[rows]

    def track_frames(self, track_id: int) -> np.ndarray:
        """``frames (T,)`` int32 of one track, in frame order (:meth:`track` without gathering its keypoints: the
        timeline's track rows need only these)."""
        return self.frame[self.track_rows(track_id)]

    def track_rows(self, track_id: int) -> np.ndarray:
        """``rows (T,)`` int64 of one track in frame order (indices into :attr:`frame`, :attr:`keypoints`, …; kept
        once found): gather only the rows a window needs instead of the whole track (:meth:`track`)."""
        rows = self._track_rows.get(track_id)
        if rows is None:
            rows = np.flatnonzero(self.track_id == track_id)
            self._track_rows[track_id] = rows
        return rows

    def track_presence(self, track_id: int) -> tuple[np.ndarray, np.ndarray]:
        """The runs of consecutive frames in which track ``track_id`` is seen: ``(starts, ends)`` ``(R,)`` int64
        frame indices, ends inclusive (both empty for an unknown track; kept once found). The timeline's track rows
        draw these."""
        key = ("presence", int(track_id))
        runs = self._track_rows.get(key)
        if runs is None:
            runs = presence_runs(self.track_frames(track_id))
            self._track_rows[key] = runs
        return runs

    def set_track_ids(self, ids) -> None:
        """Give :meth:`track_ids` its answer, worked out by whoever made this cache from another one (an edit knows
        which IDs it removed and added), instead of counting every row. ``ids``: the sorted distinct track IDs."""
        self._track_rows["ids"] = np.asarray(ids, dtype=self.track_id.dtype)

    def keep_track_index(self, other: "SkeletonCache", unchanged, rows: bool = True) -> None:
        """Take over what ``other`` has found of the tracks ``unchanged``, for a cache made from ``other`` by an edit
        that left those tracks alone: their presence runs, and with ``rows`` (the same rows in the same order: no
        row deleted or restored) their rows too. They are not searched again. ``unchanged``: track IDs, or None when
        no track changed and the rows are the same (then the track ID list is kept too)."""
        memo = other._track_rows  # noqa: SLF001 (the same class)
        if unchanged is None:
            self._track_rows.update(memo)
            return
        keep = {int(t) for t in unchanged}
        for k, v in memo.items():
            if (rows and k in keep) or (isinstance(k, tuple) and k[1] in keep):
                self._track_rows[k] = v

    def save(self, path: str | os.PathLike) -> Path:
        """Write atomically to ``path`` (``.npz``: a temporary name, then renamed); returns the path.

        Raises:
            CacheError: the file cannot be written (full disk, no permission); nothing half-written is left.
        """
        path = Path(path)
        def failed(e: OSError) -> CacheError:
            return CacheError(f"cannot write skeleton cache {path}: {e.strerror or e}")

        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise failed(e) from None
        try:
            with atomic_path(path, suffix=".npz") as tmp:  # an error inside removes the temporary file
                try:
                    np.savez(tmp, meta=np.array(json.dumps(self.meta)), frame=self.frame, track_id=self.track_id,
                             bbox=self.bbox, score=self.score, keypoints=self.keypoints, offsets=self.offsets)
                except OSError as e:  # a full disk, no permission
                    raise failed(e) from None
        except CacheError:
            raise
        except PoseWatchError as e:  # atomic_path could not make the temporary file or rename it
            raise CacheError(f"skeleton cache: {e}") from None
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> "SkeletonCache":
        """Read a cache written by :meth:`save`.

        Raises:
            CacheError: missing, unreadable, or of another format version.
        """
        try:
            with np.load(path, allow_pickle=False) as z:
                meta = json.loads(str(z["meta"]))
                arrays = {k: z[k] for k in ("frame", "track_id", "bbox", "score", "keypoints", "offsets")}
        except Exception as e:
            raise CacheError(f"cannot read skeleton cache {path}: {e}") from None
        if meta.get("format") != CACHE_FORMAT:
            raise CacheError(f"skeleton cache {path} has format {meta.get('format')}, expected {CACHE_FORMAT}")
        return cls(meta, **arrays)
