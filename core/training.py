"""Training of skeleton classifiers: data loading, windows, augmentation, the trainer and its events.

Data (:func:`load_data`): AI-Hub processed/raw CSVs, the URFD CSV and PoseWatch skeleton CSVs (read by
:mod:`core.importing`), a PoseWatch export's ``dataset.pt``, or a project folder (its clips exported to
a temporary PoseWatch CSV with :func:`core.exporting.iter_export`). Every input becomes a list of
:class:`Track` objects: the detections of one person in one sequence, in order, as common-13 joints
(pixels + score) with a per-frame class index (-1 where no clip covers the frame).

Split (:func:`split_groups`): by sequence/video ("group"), never by window, stratified by the group's
majority class. A long single-label track (the 2,946-frame "normal" sequence of AI-Hub's
``datavalid.csv``) is first cut into chunks of about ``chunk_frames`` frames, each its own group.

Windows: training windows are T consecutive detections of one track within one run of equal labels
and consecutive frames, starting every ``stride`` detections, so they never cross a sequence, clip,
label or gap boundary. Validation is frame-level with the predict rule of
:func:`core.classify.frame_windows`: the label of a frame is the prediction of the window of the
track's last T detections ending there (the first full window for the first T-1 detections).

Features: :func:`core.features.make_features` (hip-centred, torso-scaled coordinates plus velocity by
default), the same function inference uses.

Trainer (:class:`Trainer`): seeded (``torch.manual_seed`` + a numpy ``Generator``; batches are drawn
in a seeded order, so the same seed and data give identical metrics), class-weighted cross-entropy,
AdamW with a cosine schedule, augmentation on the pixel windows (anisotropic scale, small rotation,
left/right flip with joint swap, joint dropout), early stopping on the validation macro-F1 and a time
limit. Events go to callbacks registered on the trainer (ultralytics style): ``on_start``,
``on_epoch_end``, ``on_checkpoint``, ``on_done``; :func:`jsonl_callbacks` prints them as JSON lines
(the format of ``python main.py train --events jsonl``) and :class:`Trainer` always writes the best
checkpoint so far atomically.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import config, files
from .errors import PoseWatchError
from .features import feature_channels, feature_spec, make_features
from .layouts import COMMON13, COMMON_JOINTS, to_common


class TrainingError(PoseWatchError):
    """Training data or options that cannot give a model (one-line message)."""


#: Training presets as shipped (``training`` in ``resources/default.yaml``: one base plus each preset's
#: overrides; see there for what each is for). :func:`resolve_config` uses the presets in force
#: (:func:`core.config.presets`, with project and CLI overrides).
PRESETS: dict[str, dict] = config.presets()
#: Augmentation parameters as shipped (``training.augment``): scale range per axis, rotation (degrees), flip
#: probability, joint dropout; the trainer uses :func:`core.config.augment`.
AUGMENT = config.augment()
EVENTS = ("on_start", "on_epoch_end", "on_checkpoint", "on_done")
#: A class with fewer training windows than this gets a warning before a run ("fewer than a handful").
MIN_CLASS_WINDOWS = 10
#: Why a run ended (``done`` event ``stop_reason``).
STOP_REASONS = ("completed", "early_stopping", "time_limit", "stopped")


def data_warnings(summary: dict[str, dict[str, int]], label_names: Sequence[str]) -> list[str]:
    """Warnings about a run's data (one line each): a validation split that lacks a class (its recall and the
    macro-F1 cannot be measured), a class with no or fewer than :data:`MIN_CLASS_WINDOWS` training windows.

    Args:
        summary: ``{"train": {class: windows}, "val": {class: frames}}`` (:meth:`Trainer.data_summary`).
        label_names: the classes.
    """
    out = []
    train, val = summary.get("train", {}), summary.get("val", {})
    missing_val = [n for n in label_names if val.get(n, 0) == 0]
    if missing_val:
        out.append(f"the validation split has no frames of {', '.join(missing_val)}: their recall and the macro-F1 "
                   "cannot be measured; label more videos of them (the split is by video)")
    for n in label_names:
        k = train.get(n, 0)
        if k == 0:
            out.append(f"class {n} has no training windows: the model cannot learn it")
        elif k < MIN_CLASS_WINDOWS:
            out.append(f"class {n} has only {k} training window(s) (fewer than {MIN_CLASS_WINDOWS}): "
                       "the model will barely learn it")
    return out


# ---------------------------------------------------------------------------------------- data
@dataclass
class Track:
    """The detections of one person in one sequence.

    Attributes:
        name: display name (file, sequence, track).
        group: split unit (sequence/video, or a chunk of a long sequence).
        keypoints: ``(L, 13, 3)`` float32 common joints, x, y pixels, score in [0, 1] (0 missing).
        labels: ``(L,)`` int64 class index per detection, -1 where unlabelled.
        frames: ``(L,)`` int64 frame index of each detection in its sequence (sorted, unique).
        track_id: the person's track id.
        fps: frames per second of ``frames`` (None: unknown).
    """

    name: str
    group: str
    keypoints: np.ndarray
    labels: np.ndarray
    frames: np.ndarray
    track_id: int = 1
    fps: float | None = None


@dataclass
class TrainingData:
    """Tracks with their class names and a SHA-256 of the content (``data_hash``)."""

    tracks: list[Track]
    label_names: list[str]
    sources: list[str] = field(default_factory=list)

    @property
    def data_hash(self) -> str:
        """SHA-256 (hex) over label names, and each track's group, frames, labels and keypoints."""
        h = hashlib.sha256(json.dumps(self.label_names).encode())
        for t in self.tracks:
            h.update(t.group.encode())
            for a in (t.frames.astype(np.int64), t.labels.astype(np.int64), t.keypoints.astype(np.float32)):
                h.update(np.ascontiguousarray(a).tobytes())
        return h.hexdigest()

    @property
    def fps(self) -> float | None:
        """Frame rate of the detections: the median over tracks, weighted by length (None: unknown).
        Stored in checkpoints so inference resamples video to it (:meth:`core.classify.Checkpoint.step_for`)."""
        known = [(float(t.fps), len(t.frames)) for t in self.tracks if t.fps]
        if not known:
            return None
        rates = np.repeat([r for r, _ in known], [n for _, n in known])
        return float(np.median(rates))

    def frame_counts(self) -> dict[str, int]:
        """Labelled frames per class name."""
        lab = np.concatenate([t.labels for t in self.tracks]) if self.tracks else np.zeros(0, np.int64)
        return {n: int((lab == i).sum()) for i, n in enumerate(self.label_names)}


def file_label_ids(pf) -> dict[str, int]:
    """The integer ids a parsed file's ``label`` column uses, by label name."""
    from .importing import AIHUB_LABELS, URFD_LABELS

    if pf.format in ("aihub", "aihub_raw"):
        return {n: i for i, n in enumerate(AIHUB_LABELS)}
    if pf.format == "urfd":
        return {n: i for i, n in enumerate(URFD_LABELS)}
    return dict(pf.label_positions)


def sequence_tracks(seq) -> list[tuple[int, np.ndarray, np.ndarray, list[tuple[int, int, str]]]]:
    """Split an :class:`core.importing.ImportedSequence` into tracks.

    Returns:
        ``[(track_id, frames (L,) int64, keypoints (L, 13, 3) float32, [(start, end, label), …]), …]``
        with the clips that cover the track (inclusive frame ranges).
    """
    out = []
    for tid in np.unique(seq.track_id):
        rows = np.flatnonzero(seq.track_id == tid)
        frames = seq.frame[rows].astype(np.int64)
        order = np.argsort(frames, kind="stable")
        rows, frames = rows[order], frames[order]
        keep = np.concatenate([[True], np.diff(frames) != 0]) if len(frames) else np.zeros(0, bool)
        rows, frames = rows[keep], frames[keep]
        kp = to_common(seq.keypoints[rows], seq.layout).astype(np.float32)
        clips = [(c.start, c.end, c.label) for c in seq.clips if c.track_id is None or c.track_id == tid]
        out.append((int(tid), frames, kp, clips))
    return out


def _check_keypoints(kp: np.ndarray, where: str) -> np.ndarray:
    bad = ~np.isfinite(kp[..., :2]).all(-1) & (kp[..., 2] > 0)
    if bad.any() or not np.isfinite(kp[..., 2]).all():
        raise TrainingError(f"{where}: NaN keypoints (a joint with a score above 0 has no finite coordinates)")
    kp = kp.copy()
    kp[..., :2] = np.nan_to_num(kp[..., :2])
    return kp


def _chunk(track: Track, chunk_frames: int) -> list[Track]:
    """Cut a long single-label track into chunks of about ``chunk_frames`` (each its own group)."""
    lab = track.labels
    if chunk_frames <= 0 or len(lab) < 2 * chunk_frames or len(np.unique(lab)) != 1:
        return [track]
    pieces = np.array_split(np.arange(len(lab)), max(1, round(len(lab) / chunk_frames)))
    return [Track(f"{track.name} [chunk {k + 1}]", f"{track.group}#{k + 1}", track.keypoints[p], lab[p],
                  track.frames[p], track.track_id, track.fps) for k, p in enumerate(pieces)]


def _load_csv(path: Path) -> list[tuple[Track, list[str], list]]:
    """``(track, the file's label names in id order, [(detection mask, label name)] of its clips)`` per track."""
    from .importing import parse_file

    pf = parse_file(path)
    order = [n for n, _ in sorted(file_label_ids(pf).items(), key=lambda kv: kv[1])]
    out = []
    for seq in pf.sequences:
        for tid, frames, kp, clips in sequence_tracks(seq):
            labels = np.full(len(frames), -1, np.int64)  # filled in load_data once all names are known
            tags = [((frames >= a) & (frames <= b), lab) for a, b, lab in clips]
            kp = _check_keypoints(kp, f"{path.name} {seq.name}")
            t = Track(f"{path.stem}: {seq.name}" + (f" track {tid}" if len(np.unique(seq.track_id)) > 1 else ""),
                      f"{path.name}:{seq.project_key}", kp, labels, frames, tid, float(seq.fps) or None)
            out.append((t, order, tags))
    return out


def _load_dataset_pt(path: Path) -> tuple[list[Track], list[str]]:
    import torch

    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            d = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:
        raise TrainingError(f"{path.name} is corrupt or not a PyTorch file") from None
    need = ("x", "y", "label_names", "video_hashes", "track_ids", "start_frames")
    if not isinstance(d, dict) or any(k not in d for k in need):
        raise TrainingError(f"{path.name} is not a PoseWatch dataset.pt (needs {', '.join(need)})")
    if d.get("layout", "common13") != "common13":
        raise TrainingError(f"{path.name} uses layout '{d.get('layout')}', training needs 'common13'")
    if d.get("normalisation", "none") == "minmax":
        raise TrainingError(f"{path.name} was exported with minmax normalisation; export it with "
                            "--normalisation none (or hip_torso) to train on it")
    x = d["x"].numpy().transpose(0, 2, 3, 1).astype(np.float32)  # (N, T, V, C)
    if x.ndim != 4 or x.shape[2:] != (len(COMMON_JOINTS), 3):
        raise TrainingError(f"{path.name}: x must be (N, 3, T, 13), got {tuple(d['x'].shape)}")
    y = d["y"].numpy().astype(np.int64)
    names = [str(n) for n in d["label_names"]]
    clip_ids = d["clip_ids"].numpy() if "clip_ids" in d else np.zeros(len(y), np.int64)
    starts = d["start_frames"].numpy().astype(np.int64)
    tids = d["track_ids"].numpy().astype(np.int64)
    hashes = list(d["video_hashes"])
    fps_of = d["fps"].numpy().astype(np.float64) if "fps" in d else np.zeros(len(y))
    vnames = list(d.get("video_names", hashes))
    t_len = x.shape[1]
    groups: dict[tuple, list[int]] = {}
    for i in range(len(y)):
        groups.setdefault((hashes[i], int(clip_ids[i]), int(tids[i])), []).append(i)
    tracks = []
    for (vh, cid, tid), idx in groups.items():
        frames: dict[int, tuple[np.ndarray, int]] = {}
        for i in idx:
            for k in range(t_len):
                frames.setdefault(int(starts[i]) + k, (x[i, k], int(y[i])))
        f = np.array(sorted(frames), np.int64)
        kp = np.stack([frames[int(v)][0] for v in f])
        lab = np.array([frames[int(v)][1] for v in f], np.int64)
        cuts = np.flatnonzero(np.diff(f) != 1) + 1
        for a, b in zip(np.concatenate([[0], cuts]), np.concatenate([cuts, [len(f)]])):
            tracks.append(Track(f"{vnames[idx[0]]} clip {cid} track {tid}", f"{path.name}:{vh}",
                                _check_keypoints(kp[a:b], f"{path.name} clip {cid}"), lab[a:b], f[a:b], tid,
                                float(fps_of[idx[0]]) or None))
    return tracks, names


def _export_project(folder: Path, tmp: Path) -> Path:
    from .exporting import CSV_NAME, iter_export
    from .extract import run
    from .project import Project

    with Project.open(folder) as proj:
        run(iter_export(proj, tmp / "export", ("csv",)), callback=lambda p: None)
    return tmp / "export" / CSV_NAME


def load_data(paths: Sequence[str | os.PathLike], chunk_frames: int = 100) -> TrainingData:
    """Read training data from files and folders (see the module docstring).

    Args:
        paths: CSV files (AI-Hub, URFD, PoseWatch), ``dataset.pt`` files, or project folders.
        chunk_frames: cut single-label tracks of at least twice this length into chunks (0: never).

    Returns:
        :class:`TrainingData`; class names are the labels that occur, in the order of the first
        file's label ids (then first appearance).

    Raises:
        TrainingError: missing or corrupt file, NaN keypoints, an empty dataset.
        ImportDataError: bad CSV (from :mod:`core.importing`).
    """
    if not paths:
        raise TrainingError("no training data given")
    pending: list[tuple[Track, list[str], list]] = []  # (track, label names in id order, clip masks)
    loaded: list[tuple[list[Track], list[str]]] = []
    with tempfile.TemporaryDirectory(prefix="posewatch-train-") as tmpdir:
        for p in map(Path, paths):
            if not p.exists():
                raise TrainingError(f"training data not found: {p}")
            if p.is_dir():
                if not (p / "project.sqlite").exists() and not any(p.glob("*.sqlite")):
                    for cand in (p / "dataset.pt", p / "skeletons.csv"):
                        if cand.exists():
                            p = cand
                            break
                    else:
                        raise TrainingError(f"{p} is neither a PoseWatch project nor an export folder")
                else:
                    pending += _load_csv(_export_project(p, Path(tmpdir)))
                    continue
            if p.suffix.lower() in (".pt", ".pth"):
                loaded.append(_load_dataset_pt(p))
            else:
                pending += _load_csv(p)
    names: list[str] = []
    tracks: list[Track] = []
    used: set[str] = set()
    for _t, _order, tags in pending:
        used.update(lab for _, lab in tags)
    for tr, nm in loaded:
        used.update(nm[int(v)] for t in tr for v in np.unique(t.labels) if v >= 0)
    for _t, order, _tags in pending:  # the files' own id order
        for n in order:
            if n in used and n not in names:
                names.append(n)
    for tr, nm in loaded:
        for n in nm:
            if n in used and n not in names:
                names.append(n)
    for t, _order, tags in pending:
        for m, lab in tags:
            if lab not in names:
                names.append(lab)
            t.labels[m] = names.index(lab)
        tracks.append(t)
    for tr, nm in loaded:
        remap = np.array([names.index(n) if n in names else -1 for n in nm] + [-1], np.int64)
        for t in tr:
            t.labels = remap[t.labels]
            tracks.append(t)
    tracks = [c for t in tracks if len(t.frames) for c in _chunk(t, chunk_frames)]
    data = TrainingData(tracks, names, [str(p) for p in paths])
    if not tracks or not any((t.labels >= 0).any() for t in tracks):
        raise TrainingError("empty dataset: no labelled skeleton frames in " + ", ".join(Path(p).name for p in paths))
    return data


# ---------------------------------------------------------------------------------------- windows and split
def label_runs(track: Track) -> list[tuple[int, int]]:
    """``[(a, b), …]`` detection ranges (b exclusive) of equal, known labels and consecutive frames."""
    lab, f = track.labels, track.frames
    if len(lab) == 0:
        return []
    cut = np.flatnonzero((lab[1:] != lab[:-1]) | (np.diff(f) != 1)) + 1
    b = np.concatenate([[0], cut, [len(lab)]])
    return [(int(x), int(y)) for x, y in zip(b[:-1], b[1:]) if lab[x] >= 0]


def training_windows(tracks: Sequence[Track], window: int, stride: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Training windows that never cross a sequence, label, clip or frame-gap boundary.

    Returns:
        ``windows (N, T, 13, 3)`` float32, ``labels (N,)`` int64, ``origin (N, 2)`` int64 (track index,
        first detection).
    """
    ws, ys, org = [], [], []
    for k, t in enumerate(tracks):
        for a, b in label_runs(t):
            for s in range(a, b - window + 1, stride):
                ws.append(t.keypoints[s:s + window])
                ys.append(int(t.labels[s]))
                org.append((k, s))
    if not ws:
        return (np.zeros((0, window, len(COMMON_JOINTS), 3), np.float32), np.zeros(0, np.int64),
                np.zeros((0, 2), np.int64))
    return np.stack(ws).astype(np.float32), np.array(ys, np.int64), np.array(org, np.int64)


def _group_labels(tracks: Sequence[Track]) -> dict[str, int]:
    counts: dict[str, np.ndarray] = {}
    for t in tracks:
        lab = t.labels[t.labels >= 0]
        c = counts.setdefault(t.group, np.zeros(0, np.int64))
        counts[t.group] = np.concatenate([c, lab])
    return {g: (int(np.bincount(v).argmax()) if len(v) else -1) for g, v in counts.items()}


def split_groups(tracks: Sequence[Track], val_fraction: float = 0.2, seed: int = 0) -> tuple[list[int], list[int]]:
    """Hold out whole groups (sequences/videos), stratified by each group's majority class.

    Returns:
        ``(train, val)`` lists of track indices.

    Raises:
        TrainingError: fewer than two labelled groups.
    """
    gl = _group_labels(tracks)
    groups = [g for g, lab in gl.items() if lab >= 0]
    if len(groups) < 2:
        raise TrainingError("the data has a single sequence/video; training holds out whole sequences for "
                            "validation, so it needs at least two")
    rng = np.random.default_rng(seed)
    val: set[str] = set()
    for c in sorted(set(gl[g] for g in groups)):
        members = sorted(g for g in groups if gl[g] == c)
        members = [members[i] for i in rng.permutation(len(members))]
        if len(members) >= 2:
            val.update(members[:max(1, int(round(val_fraction * len(members))))])
    if not val:
        val.add(sorted(groups)[int(rng.integers(len(groups)))])
    tr = [i for i, t in enumerate(tracks) if t.group not in val]
    va = [i for i, t in enumerate(tracks) if t.group in val]
    return tr, va


def kfold_groups(tracks: Sequence[Track], folds: int = 5, seed: int = 0) -> list[tuple[list[int], list[int]]]:
    """Leave-groups-out cross-validation: ``folds`` pairs of (train, val) track indices; each group
    (video) is in exactly one validation fold; groups are dealt round-robin per majority class."""
    gl = _group_labels(tracks)
    rng = np.random.default_rng(seed)
    fold_of: dict[str, int] = {}
    k = 0
    for c in sorted(set(gl.values())):
        members = sorted(g for g in gl if gl[g] == c)
        for i in rng.permutation(len(members)):
            fold_of[members[i]] = k % folds
            k += 1
    return [([i for i, t in enumerate(tracks) if fold_of[t.group] != f],
             [i for i, t in enumerate(tracks) if fold_of[t.group] == f]) for f in range(folds)]


# ---------------------------------------------------------------------------------------- augmentation
FLIP_PERMUTATION = np.arange(len(COMMON_JOINTS))
for _a, _b in COMMON13.flip_pairs:
    FLIP_PERMUTATION[_a], FLIP_PERMUTATION[_b] = _b, _a


def flip_windows(w: np.ndarray) -> np.ndarray:
    """Mirror windows left/right: x → 2·cx − x about each window's mean x of valid joints, and swap
    left and right joints (:data:`core.layouts.COMMON13` ``flip_pairs``).

    Args:
        w: ``(N, T, 13, 3)`` float32 pixels + score.

    Returns:
        a new ``(N, T, 13, 3)`` float32 array.
    """
    out = w.astype(np.float32, copy=True)
    valid = out[..., 2] > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        cx = np.where(valid, out[..., 0], 0).sum((1, 2)) / np.maximum(valid.sum((1, 2)), 1)
    out[..., 0] = np.where(valid, 2 * cx[:, None, None] - out[..., 0], out[..., 0])
    return out[:, :, FLIP_PERMUTATION]


def augment(w: np.ndarray, rng: np.random.Generator, params: dict | None = None) -> np.ndarray:
    """Random anisotropic scale, small rotation about the window centre, left/right flip and joint
    dropout (score set to 0) of pixel windows ``(N, T, 13, 3)``; returns a new float32 array."""
    p = {**config.augment(), **(params or {})}
    n = len(w)
    out = w.astype(np.float32, copy=True)
    flip = rng.random(n) < p["flip_p"]
    if flip.any():
        out[flip] = flip_windows(out[flip])
    valid = out[..., 2] > 0
    cnt = np.maximum(valid.sum((1, 2)), 1)
    c = np.stack([np.where(valid, out[..., i], 0).sum((1, 2)) / cnt for i in (0, 1)], -1)  # (N, 2)
    s = rng.uniform(*p["scale"], size=(n, 2))
    a = np.deg2rad(rng.uniform(-p["rotate_deg"], p["rotate_deg"], size=n))
    cos, sin = np.cos(a), np.sin(a)
    x = out[..., 0] - c[:, None, None, 0]
    y = out[..., 1] - c[:, None, None, 1]
    x, y = x * s[:, None, None, 0], y * s[:, None, None, 1]
    xr = cos[:, None, None] * x - sin[:, None, None] * y
    yr = sin[:, None, None] * x + cos[:, None, None] * y
    out[..., 0] = np.where(valid, xr + c[:, None, None, 0], out[..., 0])
    out[..., 1] = np.where(valid, yr + c[:, None, None, 1], out[..., 1])
    drop = rng.random(valid.shape) < p["dropout_p"]
    out[..., 2] = np.where(drop, 0.0, out[..., 2])
    return out


# ---------------------------------------------------------------------------------------- metrics
def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray, label_names: Sequence[str]) -> dict:
    """Accuracy, macro-F1, per-class precision/recall/F1/support and the confusion matrix (scikit-learn).

    Args:
        y_true, y_pred: ``(M,)`` int class indices (frames with y_true < 0 are ignored).

    Returns:
        dict with ``accuracy``, ``macro_f1``, ``per_class`` {name: {precision, recall, f1, support}},
        ``confusion_matrix`` (rows true, columns predicted), ``label_names``, ``frames``.
    """
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

    m = y_true >= 0
    yt, yp = y_true[m], y_pred[m]
    labels = list(range(len(label_names)))
    if len(yt) == 0:
        return {"accuracy": 0.0, "macro_f1": 0.0, "per_class": {}, "confusion_matrix": [[0] * len(labels)] * len(labels),
                "label_names": list(label_names), "frames": 0}
    p, r, f, s = precision_recall_fscore_support(yt, yp, labels=labels, zero_division=0)
    present = [i for i in labels if (yt == i).any()]  # macro-F1 over the classes present in the truth
    return {
        "accuracy": float(accuracy_score(yt, yp)),
        "macro_f1": float(f1_score(yt, yp, labels=present, average="macro", zero_division=0)),
        "per_class": {n: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])}
                      for i, n in enumerate(label_names)},
        "confusion_matrix": confusion_matrix(yt, yp, labels=labels).tolist(),
        "label_names": list(label_names),
        "frames": int(len(yt)),
    }


# ---------------------------------------------------------------------------------------- trainer
def resolve_config(model: str, preset: str = "default", overrides: dict | None = None) -> dict:
    """The full training config: the preset, then ``overrides`` (``features`` and ``model_config``
    merged key by key). Raises TrainingError for an unknown preset or model."""
    import models

    presets = config.presets()
    if preset not in presets:
        raise TrainingError(f"unknown preset '{preset}'; known: {', '.join(presets)}")
    if model not in models.SKELETON_MODELS:
        raise TrainingError(f"unknown model '{model}'; known: {', '.join(models.SKELETON_MODELS)}")
    cfg = json.loads(json.dumps(presets[preset]))
    o = dict(overrides or {})
    cfg["features"] = {**cfg["features"], **(o.pop("features", None) or {})}
    cfg["model_config"] = {**getattr(models, "DEFAULT_CONFIGS", {}).get(model, {}), **cfg["model_config"],
                           **(o.pop("model_config", None) or {})}
    unknown = set(o) - set(cfg)
    if unknown:
        raise TrainingError(f"unknown training option(s) {', '.join(sorted(unknown))}")
    cfg.update({k: v for k, v in o.items() if v is not None})
    try:
        cfg["features"] = feature_spec(cfg["features"])
    except ValueError as e:
        raise TrainingError(str(e)) from None
    if int(cfg["window"]) < 1 or int(cfg["stride"]) < 1 or int(cfg["epochs"]) < 1:
        raise TrainingError("window, stride and epochs must be at least 1")
    cfg.update(model=model, preset=preset)
    return cfg


def stop_reason(stop_requested: bool, epoch: int, epochs: int, bad: int, cfg: dict, elapsed_s: float,
                per_epoch_s: float) -> str | None:
    """Why a training run stops after ``epoch`` (1-based) of ``epochs``, or None to go on — the one rule of the
    skeleton, video and distillation trainers: ``"stopped"`` on request; ``"early_stopping"`` after ``cfg["patience"]``
    epochs (``bad``) without a better validation macro-F1; ``"time_limit"`` when one more epoch (``per_epoch_s``,
    seconds) would pass ``cfg["time_limit_s"]`` (``elapsed_s`` so far). The last epoch ends the loop by itself."""
    if stop_requested:
        return "stopped"
    if bad >= int(cfg["patience"]) and epoch < epochs:
        return "early_stopping"
    if cfg.get("time_limit_s") and elapsed_s + per_epoch_s > float(cfg["time_limit_s"]) and epoch < epochs:
        return "time_limit"
    return None


class FitLoop:
    """What the trainers share — :class:`Trainer`, :class:`core.rgb.train.VideoTrainer` and
    :class:`core.distill.Distiller`: the callbacks (ultralytics' style, events :data:`EVENTS`), :meth:`stop`, and the
    bookkeeping around each epoch's training and validation (:meth:`_end_epoch`: keep the weights of the best
    validation macro-F1, ``on_epoch_end``, the best checkpoint written with ``on_checkpoint``, the end decided by
    :func:`stop_reason`) and after the last one (:meth:`_finish`: the best weights back, ``metrics.json``,
    ``on_done``).

    A subclass's constructor calls :meth:`_init_loop` and sets ``data`` (``label_names``, ``data_hash``), ``cfg``,
    ``out_dir`` and ``warnings``; it provides ``checkpoint(model, metrics, epoch)``; its ``fit`` calls
    :meth:`_start_epochs` before the first epoch.
    """

    def _init_loop(self, callbacks: dict[str, list[Callable]] | None) -> None:
        """The run's state before :meth:`fit`: ``callbacks`` (``{event: [fn]}``) registered, nothing stopped, no
        checkpoint, no metrics."""
        self.callbacks: dict[str, list[Callable]] = {e: [] for e in EVENTS}
        for e, fns in (callbacks or {}).items():
            for fn in fns:
                self.add_callback(e, fn)
        self._stop = False
        self.stopped = False
        self.stop_reason = "completed"
        self.checkpoint_path: Path | None = None
        self.metrics: dict = {}
        self.best_epoch = 0
        self._best_f1, self._best_state, self._bad = -1.0, None, 0

    def add_callback(self, event: str, fn: Callable) -> None:
        """Register ``fn(trainer, payload: dict)`` for ``event`` (one of :data:`EVENTS`)."""
        if event not in EVENTS:
            raise ValueError(f"unknown trainer event '{event}'; known: {', '.join(EVENTS)}")
        self.callbacks[event].append(fn)

    def run_callbacks(self, event: str, payload: dict) -> None:
        for fn in self.callbacks[event]:
            fn(self, payload)

    def stop(self) -> None:
        """Ask the training to stop after the current batch (safe from a signal handler)."""
        self._stop = True

    def _start_epochs(self) -> float:
        """Forget any earlier best; returns the start time (``time.monotonic()``) for :meth:`_end_epoch`."""
        self._best_f1, self._best_state, self._bad = -1.0, None, 0
        return time.monotonic()

    @property
    def _has_best(self) -> bool:
        """True once an epoch has been validated (an interrupted later epoch is then not evaluated)."""
        return self._best_state is not None

    def _end_epoch(self, model, epoch: int, epochs: int, t0: float, train: tuple[float, int, int], metrics: dict,
                   val_loss: float, extra: dict | None = None) -> bool:
        """After epoch ``epoch`` (1-based) of ``epochs``: ``train`` = (summed loss, correct, seen windows) of its
        training, ``metrics`` / ``val_loss`` its validation; ``extra`` is added to the ``on_epoch_end`` payload.
        Returns True when the run ends after this epoch (``stop_reason`` set)."""
        from .classify import save_checkpoint

        tot, correct, seen = train
        f1 = metrics["macro_f1"]
        improved = f1 > self._best_f1
        if improved:
            self._best_f1, self._bad, self.best_epoch = f1, 0, epoch
            self._best_state = {kk: v.detach().clone() for kk, v in model.state_dict().items()}
            self.metrics = metrics
        else:
            self._bad += 1
        elapsed = time.monotonic() - t0
        per = elapsed / epoch
        self.run_callbacks("on_epoch_end", {
            "epoch": epoch, "epochs": epochs, "train_loss": tot / max(seen, 1), "val_loss": val_loss,
            "train_acc": correct / max(seen, 1), "val_acc": metrics["accuracy"], "val_macro_f1": f1,
            "best_macro_f1": self._best_f1, "elapsed_s": round(elapsed, 2), "eta_s": round(per * (epochs - epoch), 2),
            **(extra or {})})
        if improved and self.out_dir is not None:
            self.checkpoint_path = save_checkpoint(self.checkpoint(model, metrics, epoch), self.out_dir / "model.pt")
            self.run_callbacks("on_checkpoint", {"path": str(self.checkpoint_path), "epoch": epoch,
                                                 "val_macro_f1": f1})
        why = stop_reason(self._stop, epoch, epochs, self._bad, self.cfg, elapsed, per)
        if why is not None:
            self.stop_reason = why
            return True
        return False

    def _finish(self, model, epoch: int, epochs: int, t0: float, extra_metrics: dict | None = None,
                extra_json: dict | None = None) -> dict:
        """End the run after epoch ``epoch``: the best weights back into ``model`` (``self.model``), the final
        ``metrics`` (plus ``extra_metrics``), ``metrics.json`` in ``out_dir`` (plus ``extra_json``), ``on_done``.
        Returns the ``done`` payload."""
        self.stopped = self._stop
        self.epochs_run = epoch
        if self._best_state is not None:
            model.load_state_dict(self._best_state)
        model.eval()
        self.model = model
        metrics = {**self.metrics, "train_time_s": round(time.monotonic() - t0, 2), "best_epoch": self.best_epoch,
                   **(extra_metrics or {})}
        self.metrics = metrics
        if self.out_dir is not None:
            files.write_json(self.out_dir / "metrics.json", {**metrics, "data_hash": self.data.data_hash,
                                                              "train_config": self.cfg, **(extra_json or {}),
                                                              "stopped": self.stopped}, indent=2)
        done = {"path": str(self.checkpoint_path) if self.checkpoint_path else None, "metrics": {
            k2: v for k2, v in metrics.items() if k2 not in ("confusion_matrix", "label_names")},
            "confusion_matrix": metrics.get("confusion_matrix", []), "label_names": list(self.data.label_names),
            "stopped": self.stopped, "stop_reason": self.stop_reason, "epochs_run": int(self.epochs_run),
            "epochs": epochs, "warnings": list(self.warnings)}
        self.run_callbacks("on_done", done)
        return done


class Trainer(FitLoop):
    """Train one classifier on :class:`TrainingData` (see the module docstring).

    Args:
        data: the tracks.
        model: registry name in :mod:`models` (``lstm``, ``transformer``, ``stgcn``).
        preset: a key of :data:`PRESETS`; overrides: options replacing the preset's.
        out_dir: where ``model.pt`` (best so far, written atomically) and ``metrics.json`` go (None: no files).
        seed: seeds torch, the split, batch order and augmentation.
        split: ``(train, val)`` track indices (None: :func:`split_groups`).
        callbacks: ``{event: [fn(trainer, payload)]}`` for events in :data:`EVENTS`.

    Attributes after :meth:`fit`: ``model`` (best weights), ``metrics`` (validation), ``best_epoch``,
    ``stopped`` (True if :meth:`stop` ended it early), ``stop_reason`` (one of :data:`STOP_REASONS`),
    ``epochs_run``, ``checkpoint_path``. From the constructor: ``summary`` (:meth:`data_summary`) and ``warnings``
    (:func:`data_warnings`), also in the ``on_start`` and ``on_done`` payloads.

    Raises (from the constructor):
        TrainingError: single class, no window, bad options.
    """

    def __init__(self, data: TrainingData, model: str = "lstm", preset: str = "default",
                 overrides: dict | None = None, out_dir: str | os.PathLike | None = None, seed: int = 0,
                 split: tuple[Sequence[int], Sequence[int]] | None = None,
                 callbacks: dict[str, list[Callable]] | None = None):
        self.data = data
        self.cfg = resolve_config(model, preset, overrides)
        self.cfg["seed"] = int(seed)
        self.seed = int(seed)
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self._init_loop(callbacks)
        present = sorted({int(v) for t in data.tracks for v in np.unique(t.labels) if v >= 0})
        if len(present) < 2:
            name = data.label_names[present[0]] if present else "none"
            raise TrainingError(f"the data has a single class ({name}); a classifier needs at least two")
        tr, va = split if split is not None else split_groups(data.tracks, self.cfg["val_fraction"], seed)
        self.train_tracks = [data.tracks[i] for i in tr]
        self.val_tracks = [data.tracks[i] for i in va]
        t = int(self.cfg["window"])
        self.x_train, self.y_train, _ = training_windows(self.train_tracks, t, int(self.cfg["stride"]))
        if len(self.y_train) == 0:
            longest = max((b - a for tk in data.tracks for a, b in label_runs(tk)), default=0)
            raise TrainingError(f"fewer frames than one window: the window is {t} frames but the longest labelled "
                                f"run of a track has {longest}; use a smaller window")
        cap = self.cfg.get("max_train_windows")
        if cap and len(self.y_train) > cap:
            keep = np.sort(np.random.default_rng(seed).permutation(len(self.y_train))[:cap])
            self.x_train, self.y_train = self.x_train[keep], self.y_train[keep]
        if len(np.unique(self.y_train)) < 2:
            raise TrainingError("the training split has a single class; add sequences of the other classes")
        self.summary = self.data_summary()
        self.warnings = data_warnings(self.summary, data.label_names)

    def data_summary(self) -> dict[str, dict[str, int]]:
        """Windows per class of the training split and labelled frames per class of the validation split (which is
        evaluated frame by frame): ``{"train": {class: n}, "val": {class: n}}``."""
        names = self.data.label_names
        tr = np.bincount(self.y_train, minlength=len(names))
        lab = np.concatenate([t.labels for t in self.val_tracks]) if self.val_tracks else np.zeros(0, np.int64)
        va = np.bincount(lab[lab >= 0], minlength=len(names))
        return {"train": {n: int(tr[i]) for i, n in enumerate(names)}, "val": {n: int(va[i]) for i, n in enumerate(names)}}

    # -- pieces
    def _build(self):
        from .classify import build_classifier, with_graph

        k = len(self.data.label_names)
        c = feature_channels(self.cfg["features"])
        # the graph (for ST-GCN) goes into the config, so the checkpoint carries it
        self.model_config = with_graph(self.cfg["model"], {"num_classes": k, "in_channels": c,
                                                           "num_joints": len(COMMON_JOINTS), **self.cfg["model_config"]})
        return build_classifier(self.cfg["model"], self.model_config)

    def evaluate(self, model, tracks: Sequence[Track]) -> tuple[dict, float]:
        """Frame-level metrics of ``model`` on ``tracks`` with the predict rule; returns (metrics, loss)."""
        probs, y = predict_tracks(model, tracks, int(self.cfg["window"]), self.cfg["features"])
        m = y >= 0
        loss = float(-np.log(np.clip(probs[m, y[m]], 1e-9, 1)).mean()) if m.any() else 0.0
        return classification_metrics(y, probs.argmax(1), self.data.label_names), loss

    def checkpoint(self, model, metrics: dict, epoch: int):
        """The :class:`core.classify.Checkpoint` of ``model`` with this run's settings."""
        from .classify import Checkpoint

        return Checkpoint(
            self.cfg["model"], dict(self.model_config), list(self.data.label_names), int(self.cfg["window"]),
            int(self.cfg["stride"]), self.cfg["features"]["normalisation"],
            {k: v.detach().clone() for k, v in model.state_dict().items()}, "common13",
            {**metrics, "epoch": epoch, "split": "validation (held-out sequences)"},
            features=dict(self.cfg["features"]), in_channels=feature_channels(self.cfg["features"]),
            data_hash=self.data.data_hash, train_config=json.loads(json.dumps(self.cfg)),
            created=time.strftime("%Y-%m-%dT%H:%M:%S%z"), fps=self.data.fps)

    # -- the loop
    def fit(self) -> dict:
        """Train; returns the ``done`` payload (``path``, ``metrics``, ``confusion_matrix``,
        ``label_names``, ``stopped``)."""
        import torch

        cfg = self.cfg
        torch.manual_seed(self.seed)
        rng = np.random.default_rng(self.seed)
        model = self._build()
        k = len(self.data.label_names)
        if cfg["class_weights"]:
            cnt = np.bincount(self.y_train, minlength=k).astype(np.float64)
            w = np.where(cnt > 0, cnt.sum() / np.maximum(cnt, 1) / max((cnt > 0).sum(), 1), 0.0)
            weight = torch.tensor(w, dtype=torch.float32)
        else:
            weight = None
        loss_fn = torch.nn.CrossEntropyLoss(weight=weight)
        opt = torch.optim.AdamW(model.parameters(), lr=cfg["lr"], weight_decay=cfg["weight_decay"])
        epochs = int(cfg["epochs"])
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
        if self.out_dir is not None:
            self.out_dir.mkdir(parents=True, exist_ok=True)
        n_val = sum(max(1, len(t.frames) - int(cfg["window"]) + 1) for t in self.val_tracks)
        self.run_callbacks("on_start", {"model": cfg["model"], "epochs": epochs, "train_windows": int(len(self.y_train)),
                                        "val_windows": int(n_val), "label_names": list(self.data.label_names),
                                        "summary": self.summary, "warnings": list(self.warnings)})
        t0 = self._start_epochs()
        bs = int(cfg["batch_size"])
        epoch = 0
        for epoch in range(1, epochs + 1):
            model.train()
            order = rng.permutation(len(self.y_train))
            tot, correct, seen = 0.0, 0, 0
            for b in range(0, len(order), bs):
                if self._stop:
                    break
                idx = order[b:b + bs]
                xb = self.x_train[idx]
                if cfg["augment"]:
                    xb = augment(xb, rng)
                x = torch.from_numpy(make_features(xb, cfg["features"]))
                y = torch.from_numpy(self.y_train[idx])
                logits = model(x)
                loss = loss_fn(logits, y)
                opt.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
                opt.step()
                tot += float(loss.detach()) * len(idx)
                correct += int((logits.argmax(1) == y).sum())
                seen += len(idx)
            if self._stop and seen < len(order) and self._has_best:
                self.stop_reason = "stopped"
                break  # an interrupted epoch is not evaluated; the best checkpoint is on disk
            sched.step()
            metrics, val_loss = self.evaluate(model, self.val_tracks)
            if self._end_epoch(model, epoch, epochs, t0, (tot, correct, seen), metrics, val_loss):
                break
        return self._finish(model, epoch, epochs, t0)


def predict_tracks(model, tracks: Sequence[Track], window: int, spec: dict, batch: int = 512,
                   model_fps: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Frame-level class probabilities of tracks with the predict rule (:func:`core.classify.track_windows`).

    Args:
        model_fps: the detection rate the model was trained at; tracks at a higher ``fps`` are resampled
            to it (None: consecutive detections).

    Returns:
        ``probs (M, K)`` float32 for every detection of every track (in order) and ``labels (M,)`` int64.
    """
    import torch

    from .classify import track_windows

    wins, index, labels, off = [], [], [], 0
    for t in tracks:
        step = max(1, int(round(t.fps / model_fps))) if (model_fps and t.fps) else 1
        wi, idx = track_windows(t.frames, window, step)
        w = t.keypoints[wi]
        wins.append(w)
        index.append(idx + off)
        labels.append(t.labels)
        off += len(w)
    if not wins:
        return np.zeros((0, 0), np.float32), np.zeros(0, np.int64)
    w = np.concatenate(wins)
    model.eval()
    out = []
    with torch.no_grad():
        for b in range(0, len(w), batch):
            out.append(torch.softmax(model(torch.from_numpy(make_features(w[b:b + batch], spec))), -1).numpy())
    probs = np.concatenate(out)
    return probs[np.concatenate(index)], np.concatenate(labels)


# ---------------------------------------------------------------------------------------- event sinks
def jsonl_callbacks(stream=None) -> dict[str, list[Callable]]:
    """Callbacks printing each event as one JSON line (``{"event": "start", …}``) on ``stream`` (stdout)."""

    def emit(name):
        def fn(_trainer, payload):
            s = stream or sys.stdout
            s.write(json.dumps({"event": name, **payload}) + "\n")
            s.flush()
        return fn

    return {"on_start": [emit("start")], "on_epoch_end": [emit("epoch_end")],
            "on_checkpoint": [emit("checkpoint")], "on_done": [emit("done")]}


def tqdm_callbacks() -> dict[str, list[Callable]]:
    """Callbacks showing an epoch progress bar (tqdm, stderr) with the validation macro-F1."""
    from tqdm import tqdm

    state: dict = {}

    def start(_t, p):
        state["bar"] = tqdm(total=p["epochs"], desc=f"train {p['model']}", unit="epoch", dynamic_ncols=True)

    def epoch(_t, p):
        bar = state.get("bar")
        if bar is not None:
            bar.set_postfix(loss=f"{p['train_loss']:.3f}", val_f1=f"{p['val_macro_f1']:.3f}",
                            best=f"{p['best_macro_f1']:.3f}")
            bar.update(1)

    def done(_t, _p):
        bar = state.pop("bar", None)
        if bar is not None:
            bar.close()

    return {"on_start": [start], "on_epoch_end": [epoch], "on_done": [done]}


@contextlib.contextmanager
def stop_on_sigterm(trainer: Trainer):
    """While active, SIGTERM (and SIGINT) make ``trainer`` stop after the current batch."""
    import signal

    old = {}
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            old[sig] = signal.signal(sig, lambda *_: trainer.stop())
        except (ValueError, OSError):  # not the main thread
            pass
    try:
        yield trainer
    finally:
        for sig, h in old.items():
            signal.signal(sig, h)


def evaluate_checkpoint(path: str | os.PathLike, data: TrainingData) -> dict:
    """Frame-level metrics of a checkpoint on data (classes matched by name; frames of classes the
    checkpoint does not know are left out).

    Raises:
        ModelError: bad checkpoint; TrainingError: no frame of a class the checkpoint knows.
    """
    from .classify import TrackClassifier

    clf = TrackClassifier(path)
    if clf.is_scene:
        raise TrainingError(f"{Path(path).name} judges whole scenes, not labelled skeleton frames: evaluate it with "
                            "bench/fight_cv.py")
    names = clf.label_names
    remap = np.array([names.index(n) if n in names else -1 for n in data.label_names] + [-1], np.int64)
    tracks = [Track(t.name, t.group, t.keypoints, remap[t.labels], t.frames, t.track_id, t.fps) for t in data.tracks]
    if not any((t.labels >= 0).any() for t in tracks):
        raise TrainingError(f"no frame of the data has a class the model knows ({', '.join(names)})")
    probs, y = predict_tracks(clf.model, tracks, clf.ckpt.window, clf.ckpt.feature_spec, model_fps=clf.ckpt.fps)
    out = classification_metrics(y, probs.argmax(1), names)
    unknown = [n for n in data.label_names if n not in names]
    if unknown:
        out["ignored_labels"] = unknown
    return out



# ---------------------------------------------------------------------------------------- predict
def _nearest(frames: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Index into sorted ``frames`` of the detection at (or, where absent, nearest to) each query frame."""
    pos = np.clip(np.searchsorted(frames, query), 0, len(frames) - 1)
    prev = np.clip(pos - 1, 0, len(frames) - 1)
    take_prev = np.abs(frames[prev] - query) < np.abs(frames[pos] - query)
    return np.where(take_prev, prev, pos)


def _rows_in_sequences(sequences, keys: list, row_keys, row_frames) -> tuple[np.ndarray, np.ndarray]:
    """Locate CSV rows in parsed sequences: each row's sequence (by ``keys[i]`` of sequence i matched
    against the row's key column) and its index in that sequence's ``frame_num``.

    Args:
        sequences: parsed sequences (each with ``frame_num``).
        keys: the key of each sequence, in order.
        row_keys, row_frames: pandas Series of the rows' key and original frame number.

    Returns:
        ``seq_idx (n,)`` int64, ``frame_idx (n,)`` int64.
    """
    by_key = {k: i for i, k in enumerate(keys)}
    seq_idx = row_keys.astype(str).str.strip().map(by_key).to_numpy(np.int64)
    frames = row_frames.to_numpy(np.int64)
    frame_idx = np.zeros(len(frames), np.int64)
    for si, seq in enumerate(sequences):
        m = seq_idx == si
        frame_idx[m] = np.searchsorted(seq.frame_num, frames[m])
    return seq_idx, frame_idx


def predict_skeleton_csv(checkpoint: str | os.PathLike, path: str | os.PathLike, out: str | os.PathLike) -> dict:
    """Write every row of a skeleton CSV (AI-Hub processed/raw, URFD, PoseWatch) back with
    ``pred_label`` (the integer id the file's own ``label`` column uses for the predicted class, by
    name; the checkpoint's class index where the file's scheme lacks that name), ``pred_label_name``
    and ``pred_prob`` (the predicted class's probability). Predictions follow the predict rule
    (:func:`core.classify.frame_windows`) per sequence and track; rows without a skeleton (AI-Hub
    ``NUMOFBODIES`` 0) take the nearest detection's. Cell text of the input is kept as it was.

    Returns:
        ``{"rows": n, "sequences": s, "counts": {name: rows}}``.

    Raises:
        ModelError, ImportDataError, TrainingError (output folder missing).
    """
    import pandas as pd

    from .classify import TrackClassifier
    from .importing import _match_columns, _read_csv, parse_file

    clf = TrackClassifier(checkpoint)
    if clf.is_scene:
        raise TrainingError(f"{Path(checkpoint).name} judges whole scenes from tracked boxes and skeletons; give it a "
                            "video, not a skeleton CSV")
    path, out = Path(path), Path(out)
    if not out.parent.is_dir():
        raise TrainingError(f"output folder does not exist: {out.parent}")
    pf = parse_file(path)
    df = _read_csv(path)
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, skip_blank_lines=False, encoding="utf-8-sig")
    except Exception as e:  # parse_file read it, so this is unexpected
        raise TrainingError(f"cannot re-read {path.name}: {e}") from None
    raw.index = np.arange(len(raw)) + 2
    raw = raw.loc[df.index]
    cols = _match_columns(path, df.columns, pf.format)
    k = len(clf.label_names)
    probs_of: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
    for si, seq in enumerate(pf.sequences):
        for tid, frames, kp, _ in sequence_tracks(seq):
            kp = kp.copy()
            kp[..., :2] = np.nan_to_num(kp[..., :2])
            probs_of[(si, tid)] = (frames, clf.predict_track(kp, frames, seq.fps))
    n = len(df)
    seq_idx = np.zeros(n, np.int64)
    frame_idx = np.zeros(n, np.int64)
    track = np.ones(n, np.int64)
    if pf.format in ("aihub", "aihub_raw"):
        counts = [s.frame_count for s in pf.sequences]
        seq_idx = np.repeat(np.arange(len(counts)), counts)
        frame_idx = np.concatenate([np.arange(c) for c in counts])
    elif pf.format == "urfd":
        seq_idx, frame_idx = _rows_in_sequences(pf.sequences, [s.name for s in pf.sequences],
                                                df[cols["video"]], df[cols["frame"]])
    else:
        seq_idx, frame_idx = _rows_in_sequences(pf.sequences, [s.project_key for s in pf.sequences],
                                                df[cols["video_hash"]], df[cols["FRAME_NUM"]])
        track = df[cols["track_id"]].to_numpy(np.int64)
    probs = np.zeros((n, k), np.float32)
    done = np.zeros(n, bool)
    for (si, tid), (frames, pr) in probs_of.items():
        m = (seq_idx == si) & (track == tid)
        if m.any() and len(frames):
            probs[m] = pr[_nearest(frames, frame_idx[m])]
            done[m] = True
    for si in np.unique(seq_idx[~done]):  # rows of a track/sequence without any skeleton
        m = (seq_idx == si) & ~done
        same = [pr for (s2, _), (_, pr) in probs_of.items() if s2 == si and len(pr)]
        probs[m] = same[0].mean(0) if same else np.full(k, 1.0 / k)
    pred = probs.argmax(1)
    ids = file_label_ids(pf)
    id_of = np.array([ids.get(nm, i) for i, nm in enumerate(clf.label_names)], np.int64)
    res = raw.copy()
    res["pred_label"] = id_of[pred]
    res["pred_label_name"] = [clf.label_names[i] for i in pred]
    res["pred_prob"] = np.round(probs[np.arange(n), pred], 4)
    files.write_csv(res, out)
    return {"rows": n, "sequences": len(pf.sequences),
            "counts": {nm: int((pred == i).sum()) for i, nm in enumerate(clf.label_names)}}




def predict_cache(checkpoint: str | os.PathLike, cache) -> "object":
    """Per track and frame predictions for a video's :class:`core.cache.SkeletonCache`.

    Returns:
        pandas DataFrame with ``frame``, ``time_s``, ``track_id``, ``pred_label`` (the checkpoint's class
        index), ``pred_label_name``, ``pred_prob``, one row per detection, ordered by frame then track. A scene
        model gives each frame's scene judgement per person (:meth:`core.classify.TrackClassifier.scene_labels`;
        ``pred_label`` -1 and ``pred_label_name`` "uncertain" where it cannot judge a person).
    """
    import pandas as pd

    from .classify import TrackClassifier

    clf = TrackClassifier(checkpoint)
    cols = ["frame", "time_s", "track_id", "pred_label", "pred_label_name", "pred_prob"]
    if clf.is_scene:  # the scene judgement of every frame, as the player and the live detector make it
        rows = []
        for f in range(cache.frame_count):
            labels, _score = clf.scene_labels(cache, f)
            for tid in sorted(labels):
                lab = labels[tid]
                k = clf.label_names.index(lab.name) if lab.name in clf.label_names else -1
                rows.append((f, round(f / cache.fps, 6), int(tid), k, lab.name, round(lab.prob, 4)))
        return pd.DataFrame(rows, columns=cols)
    parts = []
    for tid in cache.track_ids():
        frames, kp, _ = cache.track(int(tid))
        pr = clf.predict_track(to_common(kp, cache.layout), frames, cache.fps)
        k = pr.argmax(1)
        parts.append(pd.DataFrame({"frame": frames.astype(np.int64), "time_s": np.round(frames / cache.fps, 6),
                                   "track_id": int(tid), "pred_label": k,
                                   "pred_label_name": [clf.label_names[i] for i in k],
                                   "pred_prob": np.round(pr[np.arange(len(k)), k], 4)}))
    if not parts:
        return pd.DataFrame(columns=cols)
    return pd.concat(parts).sort_values(["frame", "track_id"], kind="stable").reset_index(drop=True)[cols]
