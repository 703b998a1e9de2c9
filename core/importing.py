"""Import labelled skeleton datasets (CSV) into a labelling project.

Formats (:func:`detect_format` tells them apart by their header):

``aihub``
    The processed AI-Hub abnormal-behaviour CSV (``../shared/data/skeleton/aihub/datavalid.csv``, as
    the yololstm project exported it): ``NUMOFBODIES``, ``ID``, ``<JOINT>_X``, ``<JOINT>_Y`` for the
    17 joints of layout ``aihub17`` (pixels), ``FRAME_NUM`` (camera frame number; every 10th frame of
    30 fps video, empty on some rows), ``label`` (0 theft, 1 assault, 2 vandalism, 3 normal).
``aihub_raw``
    The raw AI-Hub / Azure Kinect export (``datasample.csv``): per joint ``_X``, ``_Y`` and
    ``_CONFIDENCE_LEVEL``, then ``TIMESTAMP`` and ``FRAME_NUM``; optional ``label`` column (AI-Hub ids).
    The real files spell one column ``SPINE_NAVA_CONFIDENCE_LEVEL``; that exact spelling is accepted
    as ``SPINE_NAVAL_CONFIDENCE_LEVEL`` (and only that one: other names must match exactly, ignoring
    case and surrounding spaces).
``urfd``
    The UR Fall Detection pose CSV (``pose_urfd_3classes.csv``): ``video``, ``frame``, then ``<Joint>_x``,
    ``_y``, ``_s`` for the 13 AlphaPose keypoints (layout ``alphapose13``; coordinates normalised to
    0-1), ``label`` (0 upright, 1 falling, 2 lying).
``posewatch``
    PoseWatch's own skeleton CSV (:data:`core.exporting.TRAINING_CSV_COLUMNS`, layout ``common13``).

How sequences are cut
---------------------
- ``aihub`` / ``aihub_raw``: rows follow one another; a new sequence starts where the label changes,
  where ``FRAME_NUM`` does not increase (drops or repeats), or where ``FRAME_NUM`` turns from empty to
  given or back. Rows without ``FRAME_NUM`` (the label-3 "normal" rows of ``datavalid.csv``) are taken
  as consecutive frames in file order, so a run of them with one label is one sequence (on
  ``datavalid.csv``: 75 labelled sequences plus one 2,946-frame "normal" sequence). Each sequence is
  one clip with its label. One skeleton per row (track 1); ``ID`` is ignored. ``NUMOFBODIES`` 0 rows
  are frames with nobody in them.
- ``urfd``: one sequence per video, rows sorted by frame, one clip per run of equal labels. Rows that
  repeat a (video, frame) are dropped, keeping the first one in file order (fall-13 and fall-14 repeat
  136 rows with conflicting labels; keeping the first gives upright → falling → lying in order, keeping
  the last or the highest label does not); the count is reported as a warning.
- ``posewatch``: one sequence per ``video_hash`` (all its clips and tracks), registered under that
  hash, so that exporting the imported project writes the same ``video_hash``, ``FRAME_NUM``,
  ``time_s`` and rows again (export → import → export gives identical data except ``clip_id``). Cache
  frame ``i`` is ``FRAME_NUM = first + i * step`` (``step``: the greatest common divisor of the gaps
  between the video's frame numbers), so gaps stay gaps. One clip per ``clip_id``: its track when all
  its rows have one track, else the whole frame.

Frames of a sequence are numbered 0..n-1 in sequence order (the cache's frame index); the original
frame numbers and times are kept as the cache's ``meta["frame_num"]`` and ``meta["time_s"]`` lists
(rows without ``FRAME_NUM`` get 0..n-1).

Missing values
--------------
Only formats with a notion of a missing joint accept one: in ``aihub`` a joint whose X and Y are both
empty is missing (stored as x = y = 0, score 0; the "normal" rows of ``datavalid.csv`` lack PELVIS,
SPINE_NAVAL, SPINE_CHEST and NECK); in ``posewatch`` an empty coordinate is accepted where that joint's
score is 0 (kept as NaN, as the exporter wrote it). Any other empty or NaN coordinate, a non-number,
or an unknown label is an error naming the CSV line(s).

Scores: ``aihub`` has none (1 for a given joint); ``aihub_raw`` maps the Azure Kinect body-tracking
confidence level (``k4abt_joint_confidence_level_t``: 0 none, 1 low, 2 medium, 3 high) to level / 3;
``urfd`` uses AlphaPose's scores, clipped to [0, 1] (a few exceed 1 slightly).

Frame rates and sizes: AI-Hub skeletons come from 30 fps Azure Kinect video sampled every
``FRAME_NUM`` step (10 → 3.0 fps; the raw sample's TIMESTAMPs are 0.33 s apart); their frame size is
not given (width = height = 0). URFD was recorded at 30 fps with 640x480 RGB frames (Kwolek & Kepski,
"Human fall detection on embedded platform using depth maps and wireless accelerometer", 2014; dataset
page fenix.ur.edu.pl/~mkepski/ds/uf.html); keypoints are stored in pixels (normalised × 640 or 480).

Nothing half-written: every file is read and checked completely before anything is written; skeleton
caches are written to temporary names and renamed, and all database rows (videos, clips, new labels)
go into one transaction on a connection of its own. If anything fails or the import is cancelled, the
caches it wrote are removed and the transaction is rolled back. A killed process can leave only
unreferenced cache files behind (overwritten by the next import).
"""

from __future__ import annotations

import contextlib
import csv
import difflib
import hashlib
import itertools
import json
import os
from collections.abc import Callable, Generator, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import config
from .cache import CACHE_FORMAT, SkeletonCache
from .errors import PoseWatchError
from .exporting import KEYPOINT_COLUMNS, SCORE_COLUMNS, TRAINING_CSV_COLUMNS
from .extract import Cancelled, Progress
from .layouts import AIHUB17, ALPHAPOSE13, COMMON_JOINTS

#: Format names returned by :func:`detect_format`.
FORMATS = ("aihub", "aihub_raw", "urfd", "posewatch")
FORMAT_TITLES = {"aihub": "AI-Hub skeleton", "aihub_raw": "AI-Hub raw skeleton", "urfd": "URFD pose",
                 "posewatch": "PoseWatch skeleton"}

#: AI-Hub label ids → taxonomy names.
AIHUB_LABELS = ("theft", "assault", "vandalism", "normal")
#: URFD label ids → taxonomy names.
URFD_LABELS = ("upright", "falling", "lying")
#: Frame rate of the Azure Kinect video AI-Hub's FRAME_NUM counts.
AIHUB_CAMERA_FPS = 30.0
#: URFD frame rate and RGB frame size.
URFD_FPS = 30.0
URFD_SIZE = (640, 480)
#: URFD column prefixes in :data:`core.layouts.ALPHAPOSE13` joint order.
URFD_JOINTS = ("Nose", "LShoulder", "RShoulder", "LElbow", "RElbow", "LWrist", "RWrist", "LHip", "RHip", "LKnee",
               "RKnee", "LAnkle", "RAnkle")
#: Azure Kinect's highest joint confidence level (K4ABT_JOINT_CONFIDENCE_HIGH).
KINECT_MAX_CONFIDENCE = 3


_AIHUB_XY = [f"{j}_{a}" for j in AIHUB17.joints for a in "XY"]
_AIHUB_RAW = [f"{j}_{a}" for j in AIHUB17.joints for a in ("X", "Y", "CONFIDENCE_LEVEL")]
_URFD_COLS = [f"{j}_{a}" for j in URFD_JOINTS for a in "xys"]
#: Required (and optional) columns of each format, canonical spelling.
REQUIRED_COLUMNS: dict[str, list[str]] = {
    "aihub": ["NUMOFBODIES", "ID", *_AIHUB_XY, "FRAME_NUM", "label"],
    "aihub_raw": ["NUMOFBODIES", "ID", *_AIHUB_RAW, "TIMESTAMP", "FRAME_NUM"],
    "urfd": ["video", "frame", *_URFD_COLS, "label"],
    "posewatch": list(TRAINING_CSV_COLUMNS),
}
OPTIONAL_COLUMNS: dict[str, list[str]] = {"aihub": [], "aihub_raw": ["label"], "urfd": [], "posewatch": []}
#: Known misspellings in real files → the canonical column (upper-case).
COLUMN_ALIASES = {"SPINE_NAVA_CONFIDENCE_LEVEL": "SPINE_NAVAL_CONFIDENCE_LEVEL"}


class ImportDataError(PoseWatchError):
    """A file cannot be imported: unreadable, unknown format, missing or misnamed columns, bad values
    (the one-line message names the file and the CSV lines or columns)."""


# ---------------------------------------------------------------------------------------- results
@dataclass
class ImportedClip:
    """A labelled frame range of an imported sequence (0-based, inclusive end; cache frame indices)."""

    start: int
    end: int
    label: str
    track_id: int | None = 1
    note: str = ""


@dataclass
class ImportedSequence:
    """One imported skeleton sequence, ready to become a project video of kind ``skeletons``.

    Attributes:
        name: display name.
        source_format: one of :data:`FORMATS`.
        layout: skeleton layout of ``keypoints``.
        fps: frames per second of the sequence.
        frame_count: number of frames F (cache frames 0..F-1).
        frame: ``(N,)`` int32 cache frame of each skeleton, sorted (then by track).
        track_id: ``(N,)`` int32 track of each skeleton (1 for single-person data).
        keypoints: ``(N, V, 3)`` float32 x, y (pixels where the size is known, else the source's
            units), score in [0, 1] (0: missing joint).
        frame_num: ``(F,)`` int64 original frame numbers; time_s: ``(F,)`` float64 seconds.
        clips: the labelled ranges.
        width, height: frame size in pixels (0 if unknown).
        identity: extra identity (e.g. the URFD video name) mixed into the content key.
        key: the project key to register under (None: :meth:`signature`).
        extra: JSON-serialisable additions to the cache's ``meta``.
    """

    name: str
    source_format: str
    layout: str
    fps: float
    frame_count: int
    frame: np.ndarray
    track_id: np.ndarray
    keypoints: np.ndarray
    frame_num: np.ndarray
    time_s: np.ndarray
    clips: list[ImportedClip]
    width: int = 0
    height: int = 0
    identity: str = ""
    key: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def skeleton_count(self) -> int:
        """Number of skeletons N."""
        return len(self.frame)

    def signature(self) -> str:
        """32-hex-character SHA-256 of the sequence's content (format, layout, frames, skeletons,
        clips): the same data always gives the same key, wherever the file lies."""
        h = hashlib.sha256()
        h.update(json.dumps([self.source_format, self.layout, self.identity, float(self.fps), int(self.frame_count),
                             int(self.width), int(self.height),
                             [(c.start, c.end, c.label, c.track_id) for c in self.clips]]).encode())
        for a in (self.frame.astype(np.int32), self.track_id.astype(np.int32), self.keypoints.astype(np.float32),
                  self.frame_num.astype(np.int64), self.time_s.astype(np.float64)):
            h.update(np.ascontiguousarray(a).tobytes())
        return h.hexdigest()[:32]

    @property
    def project_key(self) -> str:
        """The key the sequence is registered under in a project."""
        return self.key or self.signature()

    def to_cache(self, source: str = "") -> SkeletonCache:
        """The :class:`~core.cache.SkeletonCache` of the sequence (boxes around the joints with
        score > 0; person score = mean joint score)."""
        kp = self.keypoints.astype(np.float32)
        n = len(kp)
        vis = (kp[:, :, 2] > 0) & np.isfinite(kp[:, :, 0]) & np.isfinite(kp[:, :, 1])
        any_vis = vis.any(axis=1)
        with np.errstate(invalid="ignore"):
            x = np.where(vis, kp[:, :, 0], np.nan)
            y = np.where(vis, kp[:, :, 1], np.nan)
        bbox = np.zeros((n, 4), np.float32)
        if any_vis.any():
            bbox[any_vis] = np.stack([np.nanmin(x[any_vis], 1), np.nanmin(y[any_vis], 1),
                                      np.nanmax(x[any_vis], 1), np.nanmax(y[any_vis], 1)], 1)
        score = kp[:, :, 2].mean(axis=1).astype(np.float32) if n else np.zeros(0, np.float32)
        counts = np.bincount(self.frame, minlength=self.frame_count) if n else np.zeros(self.frame_count, np.int64)
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        meta = {"video": source, "name": self.name, "fps": float(self.fps), "width": int(self.width),
                "height": int(self.height), "layout": self.layout, "settings": {"import": self.source_format},
                "complete": True, "frame_count": int(self.frame_count), "format": CACHE_FORMAT,
                "source_format": self.source_format, "import_signature": self.signature(),
                "frame_num": [int(v) for v in self.frame_num], "time_s": [float(v) for v in self.time_s],
                **self.extra}
        return SkeletonCache(meta, self.frame.astype(np.int32), self.track_id.astype(np.int32), bbox, score, kp,
                             offsets)


@dataclass
class ParsedFile:
    """A whole file read and checked: its ``format``, ``sequences`` and ``warnings``;
    ``label_positions``: for a ``posewatch`` file, label name → class index in the exporting project."""

    path: Path
    format: str
    sequences: list[ImportedSequence]
    warnings: list[str] = field(default_factory=list)
    label_positions: dict[str, int] = field(default_factory=dict)


@dataclass
class FileReport:
    """What one file gave: new ``sequences``, ``clips`` and ``frames`` written to the project,
    ``skipped`` sequences already there, and ``warnings``."""

    path: str
    format: str
    sequences: int = 0
    clips: int = 0
    frames: int = 0
    skipped: int = 0
    warnings: list[str] = field(default_factory=list)


@dataclass
class ImportReport:
    """The result of :func:`iter_import`: one :class:`FileReport` per file, and the labels added to
    the taxonomy."""

    files: list[FileReport] = field(default_factory=list)
    labels_added: list[str] = field(default_factory=list)

    @property
    def sequences(self) -> int:
        return sum(f.sequences for f in self.files)

    @property
    def clips(self) -> int:
        return sum(f.clips for f in self.files)

    @property
    def frames(self) -> int:
        return sum(f.frames for f in self.files)

    @property
    def skipped(self) -> int:
        return sum(f.skipped for f in self.files)

    @property
    def warnings(self) -> list[str]:
        """All warnings, each prefixed with its file name."""
        return [f"{Path(f.path).name}: {w}" for f in self.files for w in f.warnings]

    def summary(self) -> str:
        """One line for people."""
        s = (f"imported {len(self.files)} file(s): {self.sequences} sequence(s), {self.clips} clip(s), "
             f"{self.frames} frame(s)")
        if self.skipped:
            s += f"; {self.skipped} sequence(s) already in the project"
        if self.labels_added:
            s += f"; new label(s) {', '.join(self.labels_added)}"
        if self.warnings:
            s += f"; {len(self.warnings)} warning(s)"
        return s


# ---------------------------------------------------------------------------------------- reading
def _check_file(path: Path) -> None:
    if not path.exists():
        raise ImportDataError(f"{path}: no such file")
    if path.is_dir():
        raise ImportDataError(f"{path} is a folder, not a CSV file")
    try:
        with open(path, "rb") as f:
            head = f.read(8192)
    except OSError as e:
        raise ImportDataError(f"cannot read {path}: {e.strerror or e}") from None
    if not head.strip():
        raise ImportDataError(f"{path.name} is empty")
    if b"\0" in head:
        raise ImportDataError(f"{path.name} is not a CSV file (it holds binary data)")
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as e:
        if e.start < len(head) - 4:  # not just a multi-byte character cut at the end of the chunk
            raise ImportDataError(f"{path.name} is not a UTF-8 text CSV file") from None


def read_header(path: str | os.PathLike) -> list[str]:
    """The column names of a CSV file (stripped).

    Raises:
        ImportDataError: missing, empty, binary or not UTF-8 text.
    """
    path = Path(path)
    _check_file(path)
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as f:
        for row in csv.reader(f):
            if any(c.strip() for c in row):
                return [c.strip() for c in row]
    raise ImportDataError(f"{path.name} is empty")


def _norm(col: str) -> str:
    c = col.strip().upper()
    return COLUMN_ALIASES.get(c, c)


def detect_format(path: str | os.PathLike) -> str:
    """The format of a skeleton CSV, from its header: ``"aihub"``, ``"aihub_raw"``, ``"urfd"`` or
    ``"posewatch"`` (the format whose columns overlap the header best; a file with a few misnamed
    columns is still recognised, and :func:`parse_file` then names them).

    Raises:
        ImportDataError: unreadable, empty, binary, or no format's columns match at least half.
    """
    path = Path(path)
    original = read_header(path)
    header = {_norm(c) for c in original}
    best, best_score = None, 0.0
    for fmt in FORMATS:
        req = {_norm(c) for c in REQUIRED_COLUMNS[fmt]}
        opt = {_norm(c) for c in OPTIONAL_COLUMNS[fmt]}
        cols = header - opt
        score = len(req & cols) / len(req | cols)
        if score > best_score:
            best, best_score = fmt, score
    if best is None or best_score < 0.5:
        shown = ", ".join(original[:6]) + (", …" if len(original) > 6 else "")
        raise ImportDataError(f"{path.name} is not a skeleton CSV PoseWatch can import (AI-Hub, AI-Hub raw, URFD "
                              f"or PoseWatch); its columns are: {shown}")
    return best


def _read_csv(path: Path):
    """The whole CSV as a DataFrame indexed by CSV line number (header = line 1), blank lines dropped."""
    import pandas as pd

    _check_file(path)
    try:
        df = pd.read_csv(path, skip_blank_lines=False, skipinitialspace=True, encoding="utf-8-sig",
                         low_memory=False)
    except pd.errors.EmptyDataError:
        raise ImportDataError(f"{path.name} is empty") from None
    except pd.errors.ParserError as e:
        raise ImportDataError(f"{path.name} is not a well-formed CSV: {str(e).strip().splitlines()[-1]}") from None
    except UnicodeDecodeError:
        raise ImportDataError(f"{path.name} is not a UTF-8 text CSV file") from None
    except OSError as e:
        raise ImportDataError(f"cannot read {path}: {e.strerror or e}") from None
    df.columns = [str(c).strip() for c in df.columns]
    df.index = np.arange(len(df)) + 2
    df = df.dropna(how="all")
    if df.empty:
        raise ImportDataError(f"{path.name} has a header but no data rows")
    return df


def _match_columns(path: Path, columns: Sequence[str], fmt: str) -> dict[str, str]:
    """Map each canonical column of ``fmt`` to the file's column (exact names first, then aliases).

    Raises:
        ImportDataError: required columns are missing; names them, and for misnamed ones the file's
            column that looks like it.
    """
    required, optional = REQUIRED_COLUMNS[fmt], OPTIONAL_COLUMNS[fmt]
    exact = {c.strip().upper(): c for c in columns}
    found: dict[str, str] = {}
    for c in columns:
        found.setdefault(c.strip().upper(), c)
    for c in columns:  # aliases only where the right spelling is absent
        alias = COLUMN_ALIASES.get(c.strip().upper())
        if alias and alias not in exact:
            found.setdefault(alias, c)
    out = {name: found[name.upper()] for name in [*required, *optional] if name.upper() in found}
    missing = [name for name in required if name not in out]
    if missing:
        used = set(out.values())
        extra = [c for c in columns if c not in used]
        misnamed, absent = [], []
        for m in missing:
            near = difflib.get_close_matches(m.upper(), [e.upper() for e in extra], n=1, cutoff=0.75)
            if near:
                col = next(e for e in extra if e.upper() == near[0])
                extra.remove(col)
                misnamed.append(f"'{col}' should be '{m}'")
            else:
                absent.append(m)
        parts = []
        if misnamed:
            parts.append("misnamed column(s): " + _some(misnamed))
        if absent:
            parts.append("missing column(s): " + _some(absent))
        raise ImportDataError(f"{path.name} is not a valid {FORMAT_TITLES[fmt]} CSV: " + "; ".join(parts))
    return out


def _some(items: Sequence, limit: int = 6) -> str:
    items = [str(i) for i in items]
    s = ", ".join(items[:limit])
    return s + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _lines(lines: Iterable, limit: int = 8) -> str:
    lines = [int(v) for v in lines]
    return ("line " if len(lines) == 1 else "lines ") + _some(lines, limit)


def _numbers(path: Path, df, cols: Sequence[str], allow_missing: bool = False) -> np.ndarray:
    """``(N, len(cols))`` float64 of numeric columns; NaN where empty (only if ``allow_missing``).

    Raises:
        ImportDataError: a value is not a (finite) number, or is missing where not allowed.
    """
    import pandas as pd

    out = np.empty((len(df), len(cols)), np.float64)
    for j, c in enumerate(cols):
        s = df[c]
        if pd.api.types.is_bool_dtype(s) or not pd.api.types.is_numeric_dtype(s):
            v = pd.to_numeric(s, errors="coerce")
            text = s.astype("string").str.strip()
            bad = v.isna() & s.notna() & (text != "") & ~text.str.lower().isin(["nan", "na", "null", "none"])
            if bad.any():
                i = int(np.flatnonzero(bad.to_numpy())[0])
                raise ImportDataError(f"{path.name}: column {c} has values that are not numbers, first at "
                                      f"{_lines([df.index[i]])}: '{s.iloc[i]}' ({int(bad.sum())} in all)")
            s = v
        out[:, j] = s.to_numpy(np.float64, na_value=np.nan)
    if np.isinf(out).any():
        r, k = np.argwhere(np.isinf(out))[0]
        raise ImportDataError(f"{path.name}: column {cols[k]} holds an infinite value at {_lines([df.index[r]])}")
    if not allow_missing:
        _no_nan(path, df, out, cols, "empty or NaN")
    return out


def _no_nan(path: Path, df, values: np.ndarray, cols: Sequence[str], what: str) -> None:
    bad = np.isnan(values)
    if bad.any():
        r = np.flatnonzero(bad.any(axis=1))
        first_cols = sorted({cols[k] for k in np.flatnonzero(bad[r[0]])}, key=list(cols).index)
        raise ImportDataError(f"{path.name}: {what} value(s) at {_lines(df.index[r])} (column(s) "
                              f"{_some(first_cols, 4)} at line {df.index[r[0]]})")


def _integers(path: Path, df, col: str, allow_missing: bool = False) -> np.ndarray:
    """``(N,)`` float64 column whose values must be whole numbers (NaN where empty if allowed)."""
    v = _numbers(path, df, [col], allow_missing)[:, 0]
    frac = ~np.isnan(v) & (v != np.round(v))
    if frac.any():
        r = np.flatnonzero(frac)
        raise ImportDataError(f"{path.name}: column {col} must hold whole numbers; {v[r[0]]:g} at {_lines(df.index[r])}")
    return v


def _label_ids(path: Path, df, col: str, names: Sequence[str]) -> np.ndarray:
    v = _integers(path, df, col)
    bad = (v < 0) | (v >= len(names))
    if bad.any():
        r = np.flatnonzero(bad)
        raise ImportDataError(f"{path.name}: unknown label id {v[r[0]]:g} at {_lines(df.index[r])} (known: "
                              + ", ".join(f"{i} = {n}" for i, n in enumerate(names)) + ")")
    return v.astype(np.int64)


def _runs(values: np.ndarray) -> list[tuple[int, int]]:
    """``[(start, end_exclusive), …]`` runs of equal values."""
    if len(values) == 0:
        return []
    cuts = np.flatnonzero(values[1:] != values[:-1]) + 1
    b = np.concatenate([[0], cuts, [len(values)]])
    return [(int(x), int(y)) for x, y in itertools.pairwise(b)]


def _aihub_boundaries(label: np.ndarray | None, fn: np.ndarray) -> np.ndarray:
    """Sequence starts (bool per row) of AI-Hub rows, see the module docstring."""
    n = len(fn)
    new = np.zeros(n, bool)
    new[0] = True
    has = ~np.isnan(fn)
    new[1:] |= has[1:] != has[:-1]
    with np.errstate(invalid="ignore"):
        new[1:] |= has[1:] & has[:-1] & (fn[1:] <= fn[:-1])
    if label is not None:
        new[1:] |= label[1:] != label[:-1]
    return new


def _aihub_fps(fn: np.ndarray, starts: np.ndarray) -> float:
    """Frame rate of AI-Hub sequences: camera fps / the median FRAME_NUM step within sequences."""
    d = np.diff(fn)
    same = np.ones(len(d), bool)
    same[starts[1:] - 1] = False  # steps across a sequence boundary do not count
    d = d[same & np.isfinite(d) & (d > 0)]
    step = float(np.median(d)) if len(d) else 10.0
    return AIHUB_CAMERA_FPS / step


def _aihub_sequences(path: Path, fmt: str, kp: np.ndarray, present: np.ndarray, fn: np.ndarray,
                     labels: list[str], label_of_row: np.ndarray | None, fixed_label: str | None,
                     extra_of: Callable[[int, int], dict] | None = None) -> list[ImportedSequence]:
    starts = np.flatnonzero(_aihub_boundaries(label_of_row, fn))
    ends = np.concatenate([starts[1:], [len(fn)]])
    fps = _aihub_fps(fn, starts)
    width = len(str(len(starts)))
    seqs = []
    for k, (a, b) in enumerate(zip(starts, ends)):
        lab = labels[int(label_of_row[a])] if label_of_row is not None else fixed_label
        f = fn[a:b]
        known = not np.isnan(f).any()
        frame_num = f.astype(np.int64) if known else np.arange(b - a, dtype=np.int64)
        time_s = frame_num / AIHUB_CAMERA_FPS if known else np.arange(b - a) / fps
        pres = present[a:b]
        frames = np.flatnonzero(pres).astype(np.int32)
        span = f"frames {frame_num[0]}-{frame_num[-1]}" if known else f"{b - a} rows without FRAME_NUM"
        seqs.append(ImportedSequence(
            name=f"{path.stem} #{k + 1:0{width}d} {lab} ({span})", source_format=fmt, layout=AIHUB17.name, fps=fps,
            frame_count=int(b - a), frame=frames, track_id=np.ones(len(frames), np.int32),
            keypoints=kp[a:b][pres].astype(np.float32), frame_num=frame_num, time_s=np.asarray(time_s, np.float64),
            clips=[ImportedClip(0, int(b - a - 1), lab, 1)], extra=(extra_of(a, b) if extra_of else {})))
    return seqs


def parse_aihub(path: str | os.PathLike) -> ParsedFile:
    """Read a processed AI-Hub CSV (format ``aihub``, see the module docstring).

    Returns:
        :class:`ParsedFile` with one :class:`ImportedSequence` per sequence (layout ``aihub17``,
        pixels, score 1 for given joints and 0 for missing ones, one clip each).

    Raises:
        ImportDataError: bad columns or values (message names lines and columns).
    """
    path = Path(path)
    df = _read_csv(path)
    cols = _match_columns(path, df.columns, "aihub")
    nb = _integers(path, df, cols["NUMOFBODIES"])
    label = _label_ids(path, df, cols["label"], AIHUB_LABELS)
    fn = _integers(path, df, cols["FRAME_NUM"], allow_missing=True)
    xy = _numbers(path, df, [cols[c] for c in _AIHUB_XY], allow_missing=True).reshape(len(df), AIHUB17.num_joints, 2)
    nan = np.isnan(xy)
    half = nan[:, :, 0] != nan[:, :, 1]
    if half.any():
        r, j = np.argwhere(half)[0]
        raise ImportDataError(f"{path.name}: {AIHUB17.joints[j]} has only one of X and Y at line {df.index[r]} "
                              f"(NaN or empty coordinate at {_lines(df.index[np.flatnonzero(half.any(1))])})")
    missing = nan[:, :, 0]
    present = nb > 0
    none = present & missing.all(axis=1)
    if none.any():
        raise ImportDataError(f"{path.name}: rows with NUMOFBODIES > 0 but no coordinates at "
                              f"{_lines(df.index[np.flatnonzero(none)])}")
    kp = np.zeros((len(df), AIHUB17.num_joints, 3), np.float64)
    kp[:, :, :2] = np.where(nan, 0.0, xy)
    kp[:, :, 2] = (~missing).astype(np.float64)
    kp[~present] = 0
    seqs = _aihub_sequences(path, "aihub", kp, present, fn, list(AIHUB_LABELS), label, None)
    return ParsedFile(path, "aihub", seqs)


def parse_aihub_raw(path: str | os.PathLike, label: str | None = None) -> ParsedFile:
    """Read a raw AI-Hub / Azure Kinect CSV (format ``aihub_raw``, see the module docstring).

    Args:
        label: the taxonomy label of every sequence, required when the file has no ``label`` column
            (ignored, with a warning, when it has one).

    Returns:
        :class:`ParsedFile` (layout ``aihub17``, pixels, score = confidence level / 3; rows with
        ``NUMOFBODIES`` 0 are frames without a person).

    Raises:
        ImportDataError: bad columns or values, or no label at all.
    """
    path = Path(path)
    df = _read_csv(path)
    cols = _match_columns(path, df.columns, "aihub_raw")
    warnings = []
    has_label = "label" in cols
    if not has_label and not (label and label.strip()):
        raise ImportDataError(f"{path.name} has no label column: say which label its sequences have "
                              f"(command line: --label NAME, e.g. --label normal)")
    if has_label and label:
        warnings.append(f"the file has its own labels; label '{label}' was not used")
    nb = _integers(path, df, cols["NUMOFBODIES"])
    fn = _integers(path, df, cols["FRAME_NUM"])
    labels = _label_ids(path, df, cols["label"], AIHUB_LABELS) if has_label else None
    v = _numbers(path, df, [cols[c] for c in _AIHUB_RAW]).reshape(len(df), AIHUB17.num_joints, 3)
    conf = v[:, :, 2]
    bad = (conf != np.round(conf)) | (conf < 0) | (conf > KINECT_MAX_CONFIDENCE)
    if bad.any():
        r, j = np.argwhere(bad)[0]
        raise ImportDataError(f"{path.name}: {AIHUB17.joints[j]} confidence level {conf[r, j]:g} at line "
                              f"{df.index[r]} is not one of 0, 1, 2, 3 (Azure Kinect levels)")
    kp = v.copy()
    kp[:, :, 2] = conf / KINECT_MAX_CONFIDENCE
    present = nb > 0
    kp[~present] = 0
    stamps = df[cols["TIMESTAMP"]].astype("string").fillna("").to_numpy(dtype=object)

    def extra(a: int, b: int) -> dict:
        return {"timestamp": [str(s) for s in stamps[a:b]]}

    seqs = _aihub_sequences(path, "aihub_raw", kp, present, fn, list(AIHUB_LABELS), labels,
                            label.strip() if label else None, extra)
    return ParsedFile(path, "aihub_raw", seqs, warnings)


def parse_urfd(path: str | os.PathLike) -> ParsedFile:
    """Read the URFD pose CSV (format ``urfd``, see the module docstring).

    Returns:
        :class:`ParsedFile` with one sequence per video (layout ``alphapose13``, pixels of the
        640x480 frames, one clip per run of equal labels); a warning counts dropped duplicate frames
        and those among them with conflicting labels.

    Raises:
        ImportDataError: bad columns or values.
    """
    path = Path(path)
    df = _read_csv(path)
    cols = _match_columns(path, df.columns, "urfd")
    videos = df[cols["video"]]
    if videos.isna().any():
        raise ImportDataError(f"{path.name}: empty video name at {_lines(df.index[np.flatnonzero(videos.isna())])}")
    videos = videos.astype(str).str.strip().to_numpy(dtype=object)
    frame = _integers(path, df, cols["frame"]).astype(np.int64)
    label = _label_ids(path, df, cols["label"], URFD_LABELS)
    v = _numbers(path, df, [cols[c] for c in _URFD_COLS]).reshape(len(df), len(URFD_JOINTS), 3)
    W, H = URFD_SIZE
    kp = np.empty_like(v)
    kp[:, :, 0] = v[:, :, 0] * W
    kp[:, :, 1] = v[:, :, 1] * H
    kp[:, :, 2] = np.clip(v[:, :, 2], 0.0, 1.0)
    seqs, dup_rows, dup_frames, conflicts, dup_videos = [], 0, 0, 0, []
    order_videos = list(dict.fromkeys(videos))
    for name in order_videos:
        rows = np.flatnonzero(videos == name)
        rows = rows[np.argsort(frame[rows], kind="stable")]  # by frame; file order among equal frames
        f = frame[rows]
        first = np.concatenate([[True], f[1:] != f[:-1]])
        if not first.all():
            dup_rows += int((~first).sum())
            dup_videos.append(name)
            group = np.cumsum(first) - 1
            kept_label = label[rows[first]]
            differs = label[rows] != kept_label[group]
            dup_frames += len(np.unique(group[~first]))
            conflicts += len(np.unique(group[differs]))
            rows = rows[first]
        f = frame[rows]
        lab = label[rows]
        clips = [ImportedClip(a, b - 1, URFD_LABELS[int(lab[a])], 1) for a, b in _runs(lab)]
        n = len(rows)
        seqs.append(ImportedSequence(
            name=name, source_format="urfd", layout=ALPHAPOSE13.name, fps=URFD_FPS, frame_count=n,
            frame=np.arange(n, dtype=np.int32), track_id=np.ones(n, np.int32), keypoints=kp[rows].astype(np.float32),
            frame_num=f.astype(np.int64), time_s=f / URFD_FPS, clips=clips, width=W, height=H, identity=name,
            extra={"source_video": name}))
    warnings = []
    if dup_rows:
        warnings.append(f"{dup_rows} duplicated row(s) of {dup_frames} frame(s) in {', '.join(dup_videos)} dropped "
                        f"(kept the first row of each frame); {conflicts} of these frames had conflicting labels")
    return ParsedFile(path, "urfd", seqs, warnings)


def parse_posewatch(path: str | os.PathLike) -> ParsedFile:
    """Read PoseWatch's own skeleton CSV (format ``posewatch``, see :mod:`core.exporting`).

    Returns:
        :class:`ParsedFile` with one sequence per ``video_hash`` (layout ``common13``, registered
        under that hash) and one clip per ``clip_id``. ``split`` is not imported (an export computes
        it afresh).

    Raises:
        ImportDataError: bad columns or values; a clip (``video_hash``, ``clip_id``) with several labels;
            the same track and frame twice with different skeletons; a video with several frame rates.
    """
    path = Path(path)
    df = _read_csv(path)
    cols = _match_columns(path, df.columns, "posewatch")
    for c in ("video", "video_hash", "label_name"):
        empty = df[cols[c]].isna().to_numpy() | (df[cols[c]].astype("string").str.strip() == "").to_numpy(bool)
        if empty.any():
            raise ImportDataError(f"{path.name}: column {c} is empty at {_lines(df.index[np.flatnonzero(empty)])}")
    vname = df[cols["video"]].astype(str).str.strip().to_numpy(dtype=object)
    vhash = df[cols["video_hash"]].astype(str).str.strip().to_numpy(dtype=object)
    lname = df[cols["label_name"]].astype(str).str.strip().to_numpy(dtype=object)
    clip_id = _integers(path, df, cols["clip_id"]).astype(np.int64)
    track = _integers(path, df, cols["track_id"]).astype(np.int64)
    fn = _integers(path, df, cols["FRAME_NUM"]).astype(np.int64)
    label_pos = _integers(path, df, cols["label"]).astype(np.int64)
    time_s = _numbers(path, df, [cols["time_s"]])[:, 0]
    fps = _numbers(path, df, [cols["fps"]])[:, 0]
    xy = _numbers(path, df, [cols[c] for c in KEYPOINT_COLUMNS], allow_missing=True).reshape(len(df), len(COMMON_JOINTS), 2)
    score = _numbers(path, df, [cols[c] for c in SCORE_COLUMNS])
    if (fps <= 0).any():
        raise ImportDataError(f"{path.name}: fps must be positive; see {_lines(df.index[np.flatnonzero(fps <= 0)])}")
    if ((score < 0) | (score > 1)).any():
        r = np.flatnonzero(((score < 0) | (score > 1)).any(1))
        raise ImportDataError(f"{path.name}: joint scores must lie in [0, 1]; see {_lines(df.index[r])}")
    if (fn < 0).any() or (track < 0).any():
        r = np.flatnonzero((fn < 0) | (track < 0))
        raise ImportDataError(f"{path.name}: FRAME_NUM and track_id must be >= 0; see {_lines(df.index[r])}")
    nan_scored = np.isnan(xy).any(axis=2) & (score > 0)
    if nan_scored.any():
        r = np.flatnonzero(nan_scored.any(1))
        j = int(np.flatnonzero(nan_scored[r[0]])[0])
        raise ImportDataError(f"{path.name}: NaN or empty coordinate of a joint with a score above 0 at "
                              f"{_lines(df.index[r])} ({COMMON_JOINTS[j]} at line {df.index[r[0]]})")
    kp = np.concatenate([xy, score[:, :, None]], axis=2)
    warnings: list[str] = []
    positions: dict[str, int] = {}
    for n, p in zip(lname, label_pos):
        positions.setdefault(n, int(p))
    seqs = []
    for h in dict.fromkeys(vhash):
        rows = np.flatnonzero(vhash == h)
        names = list(dict.fromkeys(vname[rows]))
        if len(names) > 1:
            warnings.append(f"video {h} is called {_some(names)}; used '{names[0]}'")
        rates = np.unique(fps[rows])
        if len(rates) > 1:
            raise ImportDataError(f"{path.name}: video {names[0]} has several frame rates ({_some([f'{r:g}' for r in rates])})")
        # one skeleton per (frame, track): repeated rows (overlapping clips) must agree
        order = rows[np.lexsort((track[rows], fn[rows]))]
        key_f, key_t = fn[order], track[order]
        first = np.concatenate([[True], (key_f[1:] != key_f[:-1]) | (key_t[1:] != key_t[:-1])])
        if not first.all():
            keep = order[first]
            ref = keep[np.cumsum(first) - 1]  # the kept row of each row's (frame, track)
            a, b = kp[order], kp[ref]
            same = ((a == b) | (np.isnan(a) & np.isnan(b))).all(axis=(1, 2)) & (time_s[order] == time_s[ref])
            if not same.all():
                a = order[np.flatnonzero(~same)[0]]
                raise ImportDataError(f"{path.name}: video {names[0]} has two different skeletons for track "
                                      f"{track[a]} at FRAME_NUM {fn[a]} (line {df.index[a]})")
            order = keep
        frames_u = np.unique(fn[order])
        step = int(np.gcd.reduce(np.diff(frames_u))) if len(frames_u) > 1 else 1
        step = max(step, 1)
        f0 = int(frames_u[0])
        count = int((frames_u[-1] - f0) // step + 1)
        frame_num = f0 + step * np.arange(count, dtype=np.int64)
        rate = float(rates[0])
        t = frame_num / rate
        idx = ((fn[order] - f0) // step).astype(np.int64)
        t[idx] = time_s[order]
        clips = []
        for cid in dict.fromkeys(clip_id[rows]):
            crows = rows[clip_id[rows] == cid]
            if len(set(lname[crows])) > 1:
                raise ImportDataError(f"{path.name}: clip {cid} of {names[0]} has several labels "
                                      f"({_some(sorted(set(lname[crows])))}) at {_lines(df.index[crows])}")
            ci = (fn[crows] - f0) // step
            tids = np.unique(track[crows])
            clips.append(ImportedClip(int(ci.min()), int(ci.max()), str(lname[crows[0]]),
                                      int(tids[0]) if len(tids) == 1 else None,
                                      note=f"imported from {path.name}, clip {cid}"))
        seqs.append(ImportedSequence(
            name=str(names[0]), source_format="posewatch", layout="common13", fps=rate, frame_count=count,
            frame=idx.astype(np.int32), track_id=track[order].astype(np.int32), keypoints=kp[order].astype(np.float32),
            frame_num=frame_num, time_s=t, clips=clips, identity=str(h), key=str(h),
            extra={"source_video": str(names[0]), "source_video_hash": str(h)}))
    return ParsedFile(path, "posewatch", seqs, warnings, positions)


def parse_file(path: str | os.PathLike, fmt: str | None = None, label: str | None = None) -> ParsedFile:
    """Read and check a whole file of any format (``fmt`` None: :func:`detect_format`).

    Args:
        label: label for files without labels (``aihub_raw`` without a ``label`` column); a file
            with its own labels ignores it, with a warning.

    Raises:
        ImportDataError: see the format's parse function.
    """
    fmt = fmt or detect_format(path)
    if fmt == "aihub_raw":
        return parse_aihub_raw(path, label)
    parser = {"aihub": parse_aihub, "urfd": parse_urfd, "posewatch": parse_posewatch}.get(fmt)
    if parser is None:
        raise ImportDataError(f"unknown import format '{fmt}'; known: {', '.join(FORMATS)}")
    pf = parser(path)
    if label:
        pf.warnings.append(f"the file has its own labels; label '{label}' was not used")
    return pf


# ---------------------------------------------------------------------------------------- writing
@contextlib.contextmanager
def _one_transaction(project):
    """A second :class:`~core.project.Project` on the same folder, with its own connection, whose
    edits all go into one transaction (:meth:`~core.project.Project.batch`): committed when the
    block ends, rolled back if it raises. The caller's connection (e.g. the GUI thread's) is not
    touched."""
    from .project import Project, ProjectError

    p = Project.open(project.folder)
    try:
        with p.batch():
            yield p
    except ProjectError as e:
        if "cannot write the project database" in str(e):
            raise ImportDataError(str(e)) from None
        raise
    finally:
        p.close()


def _free_hotkey(project) -> str:
    used = {lab.hotkey for lab in project.labels()}
    return next((k for k in "1234567890" if k not in used), "")


def iter_read(files: Sequence[str | os.PathLike], label: str | None = None,
              cancel: Callable[[], bool] | None = None) -> Generator[Progress, None, list[ParsedFile]]:
    """Read and check files without touching a project (generator, see :mod:`core.extract`).

    Args:
        files: CSV paths (formats detected per file).
        label: see :func:`parse_file`.
        cancel: polled between files; returning True raises :class:`core.extract.Cancelled`.

    Yields:
        :class:`Progress` in files.

    Returns:
        One :class:`ParsedFile` per file, in order.

    Raises:
        ImportDataError: the first file that cannot be imported; Cancelled.
    """
    files = [Path(f) for f in files]
    if not files:
        raise ImportDataError("no files to import")
    parsed: list[ParsedFile] = []
    for i, f in enumerate(files):
        if cancel is not None and cancel():
            raise Cancelled("import cancelled")
        yield Progress(i, len(files), "reading skeleton files")
        parsed.append(parse_file(f, label=label))
    yield Progress(len(files), len(files), "reading skeleton files")
    return parsed


def iter_import(project, files: Sequence[str | os.PathLike | ParsedFile], label: str | None = None,
                cancel: Callable[[], bool] | None = None) -> Generator[Progress, None, ImportReport]:
    """Import skeleton CSV files into ``project`` (generator, see :mod:`core.extract`).

    Every file is read and checked before anything is written. Each new sequence becomes a project
    video of kind ``skeletons`` with its :class:`~core.cache.SkeletonCache` at
    :meth:`~core.project.Project.imported_skeletons_path` and its labelled clips; labels missing from
    the taxonomy are appended. Sequences already in the project (same key) are skipped, so importing
    a file twice changes nothing.

    Args:
        project: an open :class:`core.project.Project`.
        files: CSV paths (formats detected per file), or files already read by :func:`iter_read`.
        label: taxonomy label for files without labels (``aihub_raw`` without a ``label`` column).
        cancel: polled between files and sequences; returning True raises
            :class:`core.extract.Cancelled` and leaves the project as it was.

    Yields:
        :class:`Progress`: files read, then frames written.

    Returns:
        :class:`ImportReport`.

    Raises:
        ImportDataError: a file cannot be imported (nothing is written); Cancelled; ProjectError.
    """
    from .project import Video

    def check_cancel() -> None:
        if cancel is not None and cancel():
            raise Cancelled("import cancelled")

    files = list(files)
    if files and all(isinstance(f, ParsedFile) for f in files):
        parsed = files
    else:
        parsed = yield from iter_read([f.path if isinstance(f, ParsedFile) else f for f in files], label, cancel)

    report = ImportReport([FileReport(str(pf.path), pf.format, warnings=list(pf.warnings)) for pf in parsed])
    plan: list[tuple[int, ImportedSequence, str]] = []
    seen: set[str] = set()
    clashes: dict[int, list[ImportedSequence]] = {}
    for fi, pf in enumerate(parsed):
        for seq in pf.sequences:
            key = seq.project_key
            if key in seen:
                report.files[fi].skipped += 1
                continue
            seen.add(key)
            existing = project.video_by_hash(key)
            if existing is None:
                plan.append((fi, seq, key))
                continue
            report.files[fi].skipped += 1
            if seq.key is not None and _stored_signature(project, existing) != seq.signature():
                clashes.setdefault(fi, []).append(seq)
    for fi, seqs in clashes.items():
        report.files[fi].warnings.append(
            f"{len(seqs)} video(s) are already in the project with other skeletons or clips ("
            f"{_some([s.name for s in seqs], 3)}); their {sum(len(s.clips) for s in seqs)} clip(s) were not imported")

    names = project.label_names()
    new_labels = list(dict.fromkeys(c.label for _, s, _ in plan for c in s.clips if c.label not in names))
    for fi, pf in enumerate(parsed):
        report.files[fi].warnings += _position_warnings(pf, names + new_labels)

    total = sum(s.frame_count for _, s, _ in plan)
    done = 0
    written: list[Path] = []
    try:
        for fi, seq, key in plan:
            check_cancel()
            yield Progress(done, total, "importing skeletons")
            path = project.imported_skeletons_path(Video(0, "", key, seq.fps, seq.frame_count, seq.width, seq.height,
                                                         "skeletons", seq.name))
            written.append(path)
            seq.to_cache(str(parsed[fi].path.resolve())).save(path)
            done += seq.frame_count
        yield Progress(done, total, "importing skeletons")
        check_cancel()
        with _one_transaction(project) as p:
            for name in new_labels:
                p.add_label(name, config.label_colour(name), _free_hotkey(p))
            for fi, seq, key in plan:
                if p.video_by_hash(key) is not None:  # registered meanwhile by another process: keep theirs
                    report.files[fi].skipped += 1
                    continue
                v = p.add_skeleton_sequence(str(parsed[fi].path.resolve()), key, seq.fps, seq.frame_count, seq.name,
                                            seq.width, seq.height)
                for c in seq.clips:
                    p.add_clip(v.id, c.start, c.end, c.label, track_id=c.track_id, note=c.note)
                r = report.files[fi]
                r.sequences += 1
                r.clips += len(seq.clips)
                r.frames += seq.frame_count
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                path.parent.rmdir()
        raise
    report.labels_added = new_labels
    return report


def _stored_signature(project, video) -> str | None:
    try:
        return SkeletonCache.load(project.imported_skeletons_path(video)).meta.get("import_signature")
    except PoseWatchError:
        return None


def _position_warnings(pf: ParsedFile, names_after: list[str]) -> list[str]:
    """Warn when a PoseWatch CSV's class indices differ from the importing project's positions."""
    moved = [f"{n} ({p} there, {names_after.index(n)} here)" for n, p in pf.label_positions.items()
             if n in names_after and names_after.index(n) != p]
    if moved:
        return ["class indices differ from the exporting project's taxonomy: " + _some(moved, 4)]
    return []
