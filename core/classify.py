"""Classifier checkpoints and per-track labelling of a video's skeletons.

A checkpoint is a ``torch.save`` dict (format :data:`CHECKPOINT_FORMAT`) holding the weights and
everything needed to use them: model name and config (see :mod:`models`), label names, skeleton
layout of its input (``common13``), window ``T`` and stride in frames, the feature spec
(:func:`core.features.make_features`: normalisation, velocity, score channel), input channels,
metrics, a SHA-256 of the training data, the training config and the creation time. Format 1
checkpoints (no feature spec: the input was x, y, score normalised with ``normalisation``) still load.

The predict rule (:func:`frame_windows`): the label of a track at its detection ``i`` comes from the
window of its last T detections ending at ``i``; the first T-1 detections use the first full window;
a track with fewer than T detections is padded by repeating its last detection.

Video (RGB clip) models (:data:`models.VIDEO_MODELS`: ``r2plus1d``, ``fusion``) use the same dict with format
:data:`VIDEO_CHECKPOINT_FORMAT`, layout ``rgb`` and a ``video`` entry (frames per window, frame size, sample rate,
window stride, crop, and a fusion model's skeleton-stream input); they are run by :class:`core.rgb.infer.
VideoClassifier` (:func:`core.classifiers.open_classifier` picks the right class), never by
:class:`TrackClassifier`.

Frame rate: a checkpoint records ``fps``, the rate of the detections it was trained on (AI-Hub skeletons
are every 10th frame of 30 fps video: 3.0). On video at a higher rate the windows are resampled to it
(:func:`track_windows`: every ``step = round(video fps / checkpoint fps)``-th frame, so a window spans
the same time as in training); checkpoints without ``fps`` use consecutive detections.
"""

from __future__ import annotations

import collections
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .cache import SkeletonCache
from .errors import ModelError, describe_error, one_line
from .files import atomic_path
from .features import NORMALISATIONS, feature_channels, feature_spec, make_features
from .layouts import to_common
from .modelfiles import ONNX_EXPORT_LOCK
from .overlay import UNCERTAIN, TrackLabel

CHECKPOINT_FORMAT = "posewatch-classifier/2"
#: Format of video (RGB clip) model checkpoints: format 2 plus ``video`` (readers of format 2 alone refuse them).
VIDEO_CHECKPOINT_FORMAT = "posewatch-video-classifier/1"
#: Formats :func:`load_checkpoint` reads.
CHECKPOINT_FORMATS = ("posewatch-classifier/1", CHECKPOINT_FORMAT, VIDEO_CHECKPOINT_FORMAT)
#: A window is judged only when at least this share of its samples lies within the track's detections ...
#: ONNX exports of checkpoints checked by :meth:`TrackClassifier.use_onnx`, by ``(path, size, mtime_ns)``: every
#: camera of a multi-camera view and every detector a batch makes loads the same checkpoint, and the export (a
#: few hundred ms to a second of CPU each, taken in turns under ``ONNX_EXPORT_LOCK``) is then made once per process
_ONNX_GRAPHS: collections.OrderedDict[tuple[str, int, int], bytes] = collections.OrderedDict()
_ONNX_GRAPHS_MAX = 8

MIN_COVERAGE = 0.5
#: ... and on average at least this share of the 13 joints is seen in its samples.
MIN_VISIBLE = 0.6


def judgeable(window: np.ndarray, coverage: float) -> bool:
    """Whether a model may label a window: ``coverage`` (share of the window's samples within the track's
    detections) at least :data:`MIN_COVERAGE` and, over its samples, at least :data:`MIN_VISIBLE` of the joints
    seen (``window`` ``(T, 13, 3)``, score > 0 = seen)."""
    return coverage >= MIN_COVERAGE - 1e-9 and float(np.mean(np.asarray(window)[..., 2] > 0)) >= MIN_VISIBLE


def window_coverage(frames: np.ndarray, idx: np.ndarray, window: int, step: int) -> float:
    """Share of a window's ``window`` samples (``step`` frames apart) covered by the track's detections: 1 for a
    full window, less for a track shorter than the window (padded by :func:`track_windows`). ``frames (L,)``,
    ``idx (T,)`` its detection indices."""
    span = step * (window - 1) + 1
    have = int(frames[idx[-1]] - frames[idx[0]]) + 1 if step > 1 else len(np.unique(idx))
    return min(1.0, have / (span if step > 1 else window))


@dataclass
class Checkpoint:
    """A loaded classifier checkpoint.

    Attributes:
        model_name: registry name in :mod:`models` (``lstm`` …).
        model_config: keyword arguments of the model class.
        label_names: class names, index = class id.
        window: T, frames per window.
        stride: frames between window starts used in training.
        normalisation: one of :data:`core.features.NORMALISATIONS`.
        layout: input joint layout; always ``common13``.
        metrics: validation metrics (accuracy, macro_f1, per_class precision/recall, confusion_matrix,
            label_names …).
        state_dict: the weights.
        features: FeatureSpec dict (None: a format-1 checkpoint: x, y, score with ``normalisation``).
        in_channels: C of the model input (None: from ``features``).
        data_hash: SHA-256 of the training data; train_config: the full training config;
        created: ISO time of writing.
        fps: frames per second of the training detections (None: unknown; windows are then taken
            from consecutive detections at any video rate).
        alert: alert settings of a scene model (:mod:`core.fight`): ``operating_points`` (list of
            ``{"threshold", "hold_s", "tpr", "fpr", "name"}`` from validation source groups, least to most
            sensitive), ``default`` (index), ``smooth_windows``, ``min_coverage``, ``scene_labels``; None
            for per-track models.
        video: a video model's input (:mod:`core.rgb`): ``kind`` (``rgb`` or ``fusion``), ``frames`` (T), ``size``
            ``[H, W]``, ``fps`` (samples per second), ``stride_s`` (seconds between prediction windows), ``crop``
            (``frame``, ``rect``, ``track``: what the training clips showed), ``skeleton`` (a fusion model's
            skeleton-stream input spec, :func:`core.rgb.clips.skeleton_input`); None for skeleton models.
    """

    model_name: str
    model_config: dict
    label_names: list[str]
    window: int
    stride: int
    normalisation: str
    state_dict: dict
    layout: str = "common13"
    metrics: dict = field(default_factory=dict)
    features: dict | None = None
    in_channels: int | None = None
    data_hash: str = ""
    train_config: dict = field(default_factory=dict)
    created: str = ""
    fps: float | None = None
    alert: dict | None = None
    video: dict | None = None

    @property
    def is_video(self) -> bool:
        """True for a video (RGB clip) model: run it with :class:`core.rgb.infer.VideoClassifier`."""
        return self.video is not None

    @property
    def is_scene(self) -> bool:
        """True for a scene model (input :func:`core.scene.scene_features`: one vector per moment of the scene)."""
        return bool(self.feature_spec.get("scene"))

    def step_for(self, video_fps: float | None) -> int:
        """Frames between window samples on video at ``video_fps``: ``round(video_fps / fps)``, at least 1
        (1 when either rate is unknown)."""
        if not self.fps or not video_fps or video_fps <= 0:
            return 1
        return max(1, int(round(float(video_fps) / float(self.fps))))

    @property
    def feature_spec(self) -> dict:
        """The FeatureSpec of the model input (format 1: ``normalisation`` with the score channel)."""
        if self.features is not None:
            return feature_spec(self.features)
        return feature_spec({"normalisation": self.normalisation, "velocity": False, "score": True})

    def to_dict(self) -> dict:
        """The dict written by :func:`save_checkpoint` (format :data:`CHECKPOINT_FORMAT`, or
        :data:`VIDEO_CHECKPOINT_FORMAT` for a video model)."""
        if self.video is not None:
            return {"format": VIDEO_CHECKPOINT_FORMAT, "model_name": self.model_name, "model_config": self.model_config,
                    "label_names": list(self.label_names), "window": self.window, "stride": self.stride,
                    "normalisation": "none", "layout": "rgb", "metrics": self.metrics, "features": self.features,
                    "in_channels": 3, "data_hash": self.data_hash, "train_config": self.train_config,
                    "created": self.created, "fps": None if self.fps is None else float(self.fps), "alert": None,
                    "video": dict(self.video), "state_dict": self.state_dict}
        spec = self.feature_spec
        return {"format": CHECKPOINT_FORMAT, "model_name": self.model_name, "model_config": self.model_config,
                "label_names": list(self.label_names), "window": self.window, "stride": self.stride,
                "normalisation": spec["normalisation"], "layout": self.layout, "metrics": self.metrics,
                "features": spec, "in_channels": self.in_channels or feature_channels(spec),
                "data_hash": self.data_hash, "train_config": self.train_config, "created": self.created,
                "fps": None if self.fps is None else float(self.fps), "alert": self.alert,
                "state_dict": self.state_dict}


def save_checkpoint(ckpt: Checkpoint, path: str | os.PathLike) -> Path:
    """Write a checkpoint atomically (:func:`core.files.atomic_path`).

    Raises:
        PoseWatchError: the folder is missing or not writable.
    """
    import torch

    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save(ckpt.to_dict(), tmp)
    return path


def load_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Read and validate a checkpoint.

    Reads formats :data:`CHECKPOINT_FORMATS`.

    Raises:
        ModelError: missing or corrupt file, not a PoseWatch classifier, another layout, or an
            inconsistent config.
    """
    import torch

    p = Path(path)
    if not p.is_file():
        raise ModelError(f"classifier checkpoint not found: {p}")
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            d = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as e:
        raise ModelError(f"classifier checkpoint {p} is corrupt or not a PyTorch file: {one_line(e, 120)}") from None
    if not isinstance(d, dict) or d.get("format") not in CHECKPOINT_FORMATS:
        raise ModelError(f"{p} is not a PoseWatch classifier checkpoint (expected format {CHECKPOINT_FORMAT})")
    if d["format"] == VIDEO_CHECKPOINT_FORMAT:
        return _load_video_checkpoint(p, d)
    if d.get("layout") != "common13":
        raise ModelError(f"{p} was trained on layout '{d.get('layout')}', PoseWatch classifiers use 'common13'")
    if d.get("normalisation") not in NORMALISATIONS:
        raise ModelError(f"{p} uses unknown normalisation '{d.get('normalisation')}'")
    keys = ("model_name", "model_config", "label_names", "window", "stride", "normalisation", "state_dict")
    missing = [k for k in keys if k not in d]
    if missing:
        raise ModelError(f"{p} lacks {', '.join(missing)}")
    features = None
    if d["format"] != "posewatch-classifier/1":
        try:
            features = feature_spec(d.get("features") or {})
        except (ValueError, TypeError) as e:
            raise ModelError(f"{p}: bad feature spec: {e}") from None
        if d.get("in_channels") is not None and int(d["in_channels"]) != feature_channels(features):
            raise ModelError(f"{p}: in_channels {d['in_channels']} does not match its features "
                             f"({feature_channels(features)} channels)")
    try:
        window, stride = int(d["window"]), int(d["stride"])
    except (TypeError, ValueError):
        raise ModelError(f"{p}: window and stride must be integers") from None
    if window < 1 or stride < 1 or not d["label_names"]:
        raise ModelError(f"{p}: window, stride and label names must not be empty")
    fps = d.get("fps")
    try:
        fps = None if fps is None else float(fps)
    except (TypeError, ValueError):
        raise ModelError(f"{p}: fps must be a number") from None
    if fps is not None and not (0 < fps < 10_000):
        raise ModelError(f"{p}: fps must be positive, got {fps}")
    alert = d.get("alert")
    if alert is not None and not (isinstance(alert, dict) and isinstance(alert.get("operating_points"), list)
                                  and alert["operating_points"]):
        raise ModelError(f"{p}: alert settings without operating points")
    if features is not None and features.get("scene") and alert is None:
        raise ModelError(f"{p}: a scene model needs alert settings")
    return Checkpoint(d["model_name"], d["model_config"], list(d["label_names"]), window, stride,
                      d["normalisation"], d["state_dict"], d["layout"], d.get("metrics", {}), features,
                      d.get("in_channels"), d.get("data_hash", ""), d.get("train_config", {}), d.get("created", ""), fps,
                      alert)


def _load_video_checkpoint(p: Path, d: dict) -> Checkpoint:
    """Validate a video model's checkpoint dict (format :data:`VIDEO_CHECKPOINT_FORMAT`)."""
    missing = [k for k in ("model_name", "model_config", "label_names", "window", "stride", "state_dict", "video")
               if k not in d]
    if missing:
        raise ModelError(f"{p} lacks {', '.join(missing)}")
    v = d["video"]
    try:
        ok = (isinstance(v, dict) and v.get("kind") in ("rgb", "fusion") and int(v["frames"]) >= 1
              and len(v["size"]) == 2 and min(int(s) for s in v["size"]) >= 16 and float(v["fps"]) > 0
              and float(v.get("stride_s", 1.0)) > 0)
    except (KeyError, TypeError, ValueError):
        ok = False
    if not ok:
        raise ModelError(f"{p}: bad video model settings (needs kind rgb/fusion, frames, size [H, W] >= 16, fps)")
    if not d["label_names"]:
        raise ModelError(f"{p}: no label names")
    return Checkpoint(d["model_name"], d["model_config"], list(d["label_names"]), int(v["frames"]), int(d["stride"]),
                      "none", d["state_dict"], "rgb", d.get("metrics", {}), d.get("features"), 3,
                      d.get("data_hash", ""), d.get("train_config", {}), d.get("created", ""), float(v["fps"]), None,
                      dict(v))


def frame_windows(kps: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """The windows of the predict rule for one track.

    Args:
        kps: ``(L, 13, 3)`` a track's common keypoints, one per detection, in order (L >= 1).
        window: T.

    Returns:
        ``windows (M, T, 13, 3)`` (M = max(1, L - T + 1); window m covers detections m..m+T-1; a
        track shorter than T is padded by repeating its last detection) and ``index (L,)`` int64:
        the window of each detection (``max(0, i - T + 1)``).
    """
    n = len(kps)
    if n < window:
        pad = np.repeat(kps[-1:], window - n, axis=0)
        return np.concatenate([kps, pad])[None], np.zeros(n, np.int64)
    v = np.lib.stride_tricks.sliding_window_view(kps, window, axis=0)  # (M, 13, 3, T)
    return np.ascontiguousarray(np.moveaxis(v, -1, 1)), np.maximum(np.arange(n) - window + 1, 0)


def track_windows(frames: np.ndarray, window: int, step: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Detection indices of the predict-rule windows of one track, optionally resampled in time.

    ``step == 1``: exactly :func:`frame_windows` (the last T detections, whatever their frame gaps).
    ``step > 1``: window samples lie ``step`` frames apart in time: for a detection at frame f the
    window holds, for k = T-1 … 0, the latest detection at or before frame ``f - k * step``; detections
    earlier than ``first frame + (T-1) * step`` use the first full window; a track spanning fewer
    frames is sampled from its first frame and padded by repeating its last detection.

    Args:
        frames: ``(L,)`` int frame index of each detection, increasing, L >= 1.
        window: T.
        step: frames between samples (see :meth:`Checkpoint.step_for`).

    Returns:
        ``idx (M, T)`` int64 detection indices of each window and ``index (L,)`` int64 window of each
        detection.
    """
    frames = np.asarray(frames, np.int64)
    n = len(frames)
    if step <= 1:
        if n < window:
            return np.minimum(np.arange(window), n - 1)[None], np.zeros(n, np.int64)
        m = n - window + 1
        return np.arange(m)[:, None] + np.arange(window)[None], np.maximum(np.arange(n) - window + 1, 0)
    span = step * (window - 1)
    offsets = step * np.arange(window - 1, -1, -1, dtype=np.int64)  # (T,) k*step, oldest first
    if frames[-1] - frames[0] < span:
        targets = frames[0] + offsets[::-1]
        return np.clip(np.searchsorted(frames, targets, "right") - 1, 0, n - 1)[None], np.zeros(n, np.int64)
    first = int(np.searchsorted(frames, frames[0] + span, "left"))
    ends = frames[first:]
    idx = np.searchsorted(frames, ends[:, None] - offsets[None], "right") - 1
    return idx.astype(np.int64), np.maximum(np.arange(n) - first, 0)


def track_window_at(frames: np.ndarray, pos: int, window: int, step: int = 1) -> tuple[int, np.ndarray]:
    """The predict-rule window of one detection, without computing every window of the track (the player asks
    for the windows of the people in one frame; :func:`track_windows` costs O(L) per track, ~15 ms on a
    100,000-frame track).

    Args:
        frames: ``(L,)`` int frame of each detection, increasing, L >= 1; pos: the detection (0..L-1).
        window, step: as :func:`track_windows`.

    Returns:
        ``(m, idx)``: the window's number in :func:`track_windows`' order and its ``(T,)`` int64 detection indices
        (``track_windows(frames, window, step)[0][m]``).
    """
    frames = np.asarray(frames, np.int64)
    n = len(frames)
    pos = min(max(int(pos), 0), n - 1)
    if step <= 1:
        if n < window:
            return 0, np.minimum(np.arange(window), n - 1)
        m = max(0, pos - window + 1)
        return m, np.arange(m, m + window, dtype=np.int64)
    span = step * (window - 1)
    offsets = step * np.arange(window - 1, -1, -1, dtype=np.int64)
    if frames[-1] - frames[0] < span:
        return 0, np.clip(np.searchsorted(frames, frames[0] + offsets[::-1], "right") - 1, 0, n - 1).astype(np.int64)
    first = int(np.searchsorted(frames, frames[0] + span, "left"))
    end = max(pos, first)
    return end - first, (np.searchsorted(frames, frames[end] - offsets, "right") - 1).astype(np.int64)


class TrackHistory:
    """The recent detections of one track, online, and the classifier window ending at the newest: the predict
    rule of :func:`track_windows` (window ``T``, samples ``step`` frames apart) computed as detections arrive,
    keeping only the detections that window can still need. The live detector and the remote worker label
    tracks with it, so their labels equal the offline player's on the same skeletons.

    Args:
        window: T, samples per window.
        step: frames between samples (:meth:`Checkpoint.step_for`; 1: the last T detections).
    """

    def __init__(self, window: int, step: int = 1):
        self.window, self.step = int(window), max(1, int(step))
        self.span = self.step * (self.window - 1)
        self.frames: collections.deque[int] = collections.deque(maxlen=self.window if self.step == 1 else None)
        self.kps: collections.deque[np.ndarray] = collections.deque(maxlen=self.frames.maxlen)

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def last_frame(self) -> int:
        """Frame index of the newest detection (-1 before the first)."""
        return self.frames[-1] if self.frames else -1

    def add(self, frame: int, keypoints: np.ndarray) -> None:
        """Append a detection: ``frame`` (increasing) and its ``(V, C)`` common-joint keypoints (pixels, score)."""
        self.frames.append(int(frame))
        self.kps.append(keypoints)
        # with step > 1 the oldest sample is the latest detection at or before frame - span: keep it and later ones
        while self.step > 1 and len(self.frames) > 1 and self.frames[1] <= frame - self.span:
            self.frames.popleft()
            self.kps.popleft()

    def latest_window(self) -> np.ndarray:
        """The window of the newest detection: ``(T, V, C)`` (padded as :func:`track_windows` pads).

        Raises:
            IndexError: no detection yet.
        """
        if not self.frames:
            raise IndexError("no detection yet")
        idx, index = track_windows(np.fromiter(self.frames, np.int64, len(self.frames)), self.window, self.step)
        return np.stack(self.kps)[idx[index[-1]]]


def build_classifier(name: str, config: dict, layout: str = "common13"):
    """Build classifier architecture ``name`` of :mod:`models` from its ``config``, with the skeleton graph of
    ``layout`` filled in for a model that works on the graph (ST-GCN) when ``config`` has none — checkpoints
    written before the graph was stored in their config were all trained on the common 13-joint graph.

    Args:
        name: registry name (``lstm``, ``transformer``, ``stgcn``; see :data:`models.MODELS`).
        config: keyword arguments (``num_classes``, ``in_channels``, ``num_joints``, the model's options).
        layout: the input's joint layout (:mod:`core.layouts`).

    Returns:
        The ``torch.nn.Module`` (untrained weights).

    Raises:
        KeyError: unknown model; TypeError/ValueError: a config the model does not take.
    """
    import models

    return models.build_model(name, with_graph(name, config, layout))


def with_graph(name: str, config: dict, layout: str = "common13") -> dict:
    """``config`` plus the skeleton graph of ``layout`` (``edges``, ``centre``, :func:`core.layouts.skeleton_graph`)
    when model ``name`` takes one and ``config`` has no ``edges`` (for ``fusion``: in its ``skeleton`` config when
    its skeleton stream takes one); otherwise ``config`` unchanged (a copy).

    Raises:
        KeyError: unknown model.
    """
    import models

    config = dict(config)
    if name == "fusion":  # the graph belongs to its skeleton stream's config (models.fusion)
        stream = config.get("skeleton_model", models.DEFAULT_CONFIGS["fusion"]["skeleton_model"])
        config["skeleton"] = with_graph(stream, dict(config.get("skeleton") or {}), layout)
        return config
    if models.takes_graph(name) and not config.get("edges"):
        from .layouts import skeleton_graph

        graph = skeleton_graph(layout)
        config.setdefault("num_joints", graph["num_joints"])
        config["edges"], config["centre"] = graph["edges"], graph["centre"]
    return config


def _motion_key(cache: SkeletonCache) -> tuple[str, int]:
    """The :attr:`TrackClassifier._memo` key of a cache's motion features."""
    return ("motion", id(cache))


class TrackClassifier:
    """Labels every track of a video from a checkpoint, window by window.

    The label of track k at frame f comes from the window of its last T detections ending at f; for
    the first T-1 detections of a track the first full window is used, and a track with fewer than
    T detections is padded by repeating its last detection.

    Args:
        path: checkpoint path.

    Raises:
        ModelError: see :func:`load_checkpoint`; also when the weights do not fit the model.
    """

    def __init__(self, path: str | os.PathLike):
        import torch

        self.path = Path(path)
        try:  # the file as it was loaded: the key of its ONNX export (use_onnx)
            st = self.path.stat()
            self._file_key: tuple[str, int, int] | None = (str(self.path.resolve()), st.st_size, st.st_mtime_ns)
        except OSError:
            self._file_key = None
        self.ckpt = load_checkpoint(path)
        if self.ckpt.is_video:
            raise ModelError(f"{self.path.name} is an RGB clip model ({self.ckpt.model_name}): it labels videos by "
                             "windows of frames, not skeletons; use it with `predict --input VIDEO` or the player")
        try:
            self.model = build_classifier(self.ckpt.model_name, self.ckpt.model_config, self.ckpt.layout)
            self.model.load_state_dict(self.ckpt.state_dict)
        except (KeyError, TypeError, ValueError, RuntimeError) as e:
            raise ModelError(f"{self.path.name}: weights do not fit model '{self.ckpt.model_name}': {one_line(e, 160)}") from None
        self.model.eval()
        self._torch = torch
        self._ort = None  # an ONNX Runtime session once use_onnx() succeeded
        self.onnx_error: str | None = None
        self._memo: dict[tuple[int, int], TrackLabel] = {}
        self._cache_id: int | None = None
        self._windows: dict[int, np.ndarray] = {}  # track ID: its frames, in the cache of _cache_id
        # (window keypoints bytes, coverage) -> label, across caches: a track or joint edit makes a new cache
        # object, but most windows the player asks for are unchanged (their label is not computed again)
        self._by_content: dict[tuple[bytes, float], TrackLabel] = {}

    @property
    def label_names(self) -> list[str]:
        """Class names."""
        return self.ckpt.label_names

    @property
    def is_scene(self) -> bool:
        """True for a scene (fight) model: use :meth:`predict_scene`."""
        return self.ckpt.is_scene

    @property
    def operating_point(self) -> dict | None:
        """The default alert operating point of a scene model (``{"threshold", "hold_s", "tpr", "fpr", "name"}``)."""
        a = self.ckpt.alert
        return a["operating_points"][int(a.get("default", 0))] if a else None

    def _run(self, x: np.ndarray) -> np.ndarray:
        if self._ort is not None:
            logits = self._ort.run(None, {"x": np.ascontiguousarray(x, np.float32)})[0]
            e = np.exp(logits - logits.max(-1, keepdims=True))
            return (e / e.sum(-1, keepdims=True)).astype(np.float32)
        out = []
        with self._torch.no_grad():
            for b in range(0, len(x), 512):
                out.append(self._torch.softmax(self.model(self._torch.from_numpy(x[b:b + 512])), -1).numpy())
        return np.concatenate(out) if out else np.zeros((0, len(self.label_names)), np.float32)

    def predict_scene(self, features: np.ndarray) -> np.ndarray:
        """Class probabilities of scene-feature vectors (a scene model).

        Args:
            features: ``(N, F)`` float32 :func:`core.scene.scene_features` vectors.

        Returns:
            ``(N, num_classes)`` float32 probabilities.

        Raises:
            ValueError: not a scene model, or a wrong feature count.
        """
        if not self.is_scene:
            raise ValueError(f"{self.path.name} is a per-track model: use predict_windows")
        x = np.asarray(features, np.float32)
        f = feature_channels(self.ckpt.feature_spec)
        if x.ndim != 2 or x.shape[1] != f:
            raise ValueError(f"expected (N, {f}) scene vectors, got {x.shape}")
        if len(x) == 0:
            return np.zeros((0, len(self.label_names)), np.float32)
        return self._run(x)

    def predict_windows(self, windows: np.ndarray) -> np.ndarray:
        """Class probabilities for windows of common-joint skeletons.

        Args:
            windows: ``(N, T, 13, 3)`` float32, pixels (features built here with
                :func:`core.features.make_features` and the checkpoint's feature spec).

        Returns:
            ``(N, num_classes)`` float32 probabilities (softmax).
        """
        if self.is_scene:
            raise ValueError(f"{self.path.name} is a scene model: use predict_scene")
        windows = np.asarray(windows, np.float32)
        if len(windows) == 0:
            return np.zeros((0, len(self.label_names)), np.float32)
        return self._run(make_features(windows, self.ckpt.feature_spec))  # (N, C, T, V) in

    @property
    def runtime(self) -> str:
        """What :meth:`predict_windows` runs on: ``"onnxruntime"`` (after :meth:`use_onnx`) or ``"torch"``."""
        return "onnxruntime" if self._ort is not None else "torch"

    def use_onnx(self, threads: int = 1) -> bool:
        """Run :meth:`predict_windows` on ONNX Runtime (CPU) with ``threads`` intra-op threads instead of PyTorch.

        The model is exported in memory with ``torch.onnx.export`` (dynamic batch) and checked against PyTorch on
        a probe batch (largest difference of the logits at most 1e-4). Meant for the live detector, which runs
        beside other CPU-bound threads: on 2 cores the shipped ST-GCN classifies 5 windows in 3.4 ms on one ONNX
        Runtime thread vs 5.5 ms on one PyTorch thread, and PyTorch's thread count is process-wide
        (``torch.set_num_threads``), ONNX Runtime's is per session.

        The checked export is kept for the process (by the checkpoint file's path, size and modification
        time), so further classifiers of the same file load it without exporting again.

        Returns:
            True when ONNX Runtime is used from now on; False (PyTorch stays) when export, loading or the
            check fail — the reason is in :attr:`onnx_error`.
        """
        import io
        import warnings

        import onnxruntime as ort

        torch = self._torch
        cfg = self.ckpt.model_config
        rng = np.random.default_rng(0)
        if self.is_scene:
            probe = rng.uniform(0, 3, (3, feature_channels(self.ckpt.feature_spec))).astype(np.float32)
        else:
            probe = make_features(rng.uniform(0, 500, (3, self.ckpt.window, 13, 3)).astype(np.float32),
                                  self.ckpt.feature_spec)
        x = torch.from_numpy(probe)
        key = self._file_key
        try:
            with ONNX_EXPORT_LOCK:
                graph = _ONNX_GRAPHS.get(key) if key is not None else None
                ref = None
                if graph is None:
                    buf = io.BytesIO()
                    with warnings.catch_warnings(), torch.no_grad():
                        warnings.simplefilter("ignore")
                        torch.onnx.export(self.model, (x,), buf, input_names=["x"], output_names=["y"],
                                          dynamic_axes={"x": {0: "n"}, "y": {0: "n"}}, dynamo=False)
                        ref = self.model(x).numpy()
                    graph = buf.getvalue()
            so = ort.SessionOptions()
            so.intra_op_num_threads = max(1, int(threads))
            so.inter_op_num_threads = 1
            sess = ort.InferenceSession(graph, so, providers=["CPUExecutionProvider"])
            diff = 0.0 if ref is None else float(np.abs(sess.run(None, {"x": probe})[0] - ref).max())
        except Exception as e:  # export support differs between model kinds and torch releases
            self.onnx_error = describe_error(e, 160)
            return False
        if not diff <= 1e-4:
            self.onnx_error = f"ONNX Runtime differs from PyTorch by {diff:.2g} on {self.ckpt.model_name} {cfg}"
            return False
        if ref is not None and key is not None:
            with ONNX_EXPORT_LOCK:
                _ONNX_GRAPHS[key] = graph
                while len(_ONNX_GRAPHS) > _ONNX_GRAPHS_MAX:
                    _ONNX_GRAPHS.popitem(last=False)
        self._ort, self.onnx_error = sess, None
        return True

    def predict_track(self, kps: np.ndarray, frames: np.ndarray | None = None,
                      fps: float | None = None) -> np.ndarray:
        """Probabilities for every detection of one track with the predict rule (:func:`track_windows`).

        Args:
            kps: ``(L, 13, 3)`` float32 common keypoints (pixels + score), L >= 1.
            frames: ``(L,)`` frame index of each detection (None: consecutive frames).
            fps: video frame rate; with the checkpoint's ``fps`` it sets the resampling step
                (None: no resampling).

        Returns:
            ``(L, num_classes)`` float32.
        """
        kps = np.asarray(kps, np.float32)
        frames = np.arange(len(kps)) if frames is None else np.asarray(frames, np.int64)
        idx, index = track_windows(frames, self.ckpt.window, self.ckpt.step_for(fps))
        return self.predict_windows(kps[idx])[index]

    def window_for(self, kps: np.ndarray, pos: int, frames: np.ndarray | None = None,
                   fps: float | None = None) -> np.ndarray:
        """The ``(T, 13, 3)`` window used for detection ``pos`` of a track with common keypoints ``kps``
        ``(L, 13, 3)`` (``frames``, ``fps``: as in :meth:`predict_track`)."""
        frames = np.arange(len(kps)) if frames is None else np.asarray(frames, np.int64)
        idx, index = track_windows(frames, self.ckpt.window, self.ckpt.step_for(fps))
        return kps[idx[index[pos]]]

    def labels_for_frame(self, cache: SkeletonCache, frame_index: int) -> dict[int, TrackLabel]:
        """Predicted label of every track present at ``frame_index``: ``{track_id: TrackLabel}``
        (windows resampled to the checkpoint's rate from ``cache.fps``). A window the model cannot judge
        (:func:`judgeable`: too few detections for its window, joints mostly unseen) gets
        ``TrackLabel(UNCERTAIN, 0.0)``, not a class. A scene (fight) model judges the scene from the last
        second up to this frame, as live (:meth:`scene_labels`)."""
        self._use_cache(cache)
        if self.is_scene:
            return self.scene_labels(cache, frame_index)[0]
        step = self.ckpt.step_for(cache.fps)
        todo, out = [], {}
        for p in cache.poses(frame_index).persons:
            rows = cache.track_rows(p.track_id)  # only the window's rows are gathered, not the whole track
            frames = self._windows.get(p.track_id)
            if frames is None:
                frames = self._windows[p.track_id] = cache.frame[rows]
            pos = min(int(np.searchsorted(frames, frame_index)), len(frames) - 1)
            m, idx = track_window_at(frames, pos, self.ckpt.window, step)
            key = (p.track_id, m)
            if key in self._memo:
                out[p.track_id] = self._memo[key]
                continue
            win = to_common(cache.keypoints[rows[idx]], cache.layout)
            coverage = window_coverage(frames, idx, self.ckpt.window, step)
            seen = self._by_content.get(content := (win.tobytes(), coverage))
            if seen is not None:  # the same window in an edited copy of the tracks (a split, a joint moved elsewhere)
                self._memo[key] = out[p.track_id] = seen
            elif not judgeable(win, coverage):
                self._memo[key] = out[p.track_id] = TrackLabel(UNCERTAIN, 0.0)
            else:
                todo.append((key, win, content))
        if todo:
            probs = self.predict_windows(np.stack([w for _, w, _ in todo]))
            if len(self._by_content) > 4096:
                self._by_content.clear()
            for (key, _, content), pr in zip(todo, probs, strict=True):
                k = int(np.argmax(pr))
                self._memo[key] = self._by_content[content] = out[key[0]] = TrackLabel(self.label_names[k], float(pr[k]))
        return out

    def scene_labels(self, cache: SkeletonCache, frame_index: int, smooth: int | None = None
                     ) -> tuple[dict[int, TrackLabel], float]:
        """Per-track labels and the scene score of a scene model at ``frame_index``, computed as the live detector
        does (:class:`core.live.detector.LabelTracker`): the scene vectors of the last ``smooth`` frames
        (:class:`core.scene.SceneBuffer`, causal) classified and averaged; the scene label goes to the people
        close to another person (:func:`core.scene.involved`) when the score reaches the default operating
        threshold, "uncertain" to people seen too briefly or poorly, the other label to the rest.

        Args:
            smooth: frames averaged (None: the checkpoint's ``smooth_windows``).

        Returns:
            ``({track_id: TrackLabel}, scene score in [0, 1])``.
        """
        from .scene import SceneBuffer

        self._use_cache(cache)
        alert = self.ckpt.alert or {}
        n = max(1, int(smooth or alert.get("smooth_windows", 5)))
        key = ("scene", int(frame_index), n)
        if key in self._memo:
            return self._memo[key]
        spec = self.ckpt.feature_spec
        span = float(spec["span_s"])
        motion = self.cache_motion(cache) if spec.get("motion") else None
        gate = bool(spec.get("gate", True))
        buf = SceneBuffer(span, motion=motion is not None, bones=bool(spec.get("bones")))
        first = max(0, int(frame_index - np.ceil((span + n / cache.fps) * cache.fps)) - 1)
        k = self.scene_index
        # a frame's scene vector depends only on the last span_s seconds up to it, so each frame's is computed and
        # classified once and kept: the next frame (playback, a drag, a scrub) computes one vector, not ``n``
        todo = [f for f in range(max(0, frame_index - n + 1), frame_index + 1) if ("scene_p", f) not in self._memo]
        feats, multi = [], []
        for f in range(first, frame_index + 1):
            buf.add_poses(cache.poses(f), motion[f] if motion is not None else None)
            if todo and f >= todo[0] and ("scene_p", f) not in self._memo:
                feats.append(buf.features(f / cache.fps))
                multi.append(buf.multi_person() or not gate)
        if feats:
            probs = self.predict_scene(np.stack(feats))[:, k]
            for f, p, m in zip(todo, probs, multi, strict=True):
                self._memo[("scene_p", f)] = float(p) if m else 0.0  # a one-person scene scores 0 (the gate)
        score = float(np.mean([self._memo[("scene_p", f)] for f in range(max(0, frame_index - n + 1),
                                                                          frame_index + 1)]))
        labels = label_scene(cache.poses(frame_index), buf, score, self.scene_threshold(), self.label_names, k)
        self._memo[key] = (labels, score)
        return labels, score

    def cache_motion(self, cache: SkeletonCache) -> np.ndarray:
        """The per-frame motion features of a cache's video for a motion scene model (:func:`core.motion.motion_for`,
        computed once per cache and kept; its video must be readable).

        Returns:
            ``(cache.frame_count, len(MOTION_FEATURES))`` float32.

        Raises:
            VideoError: the cache names no video, or it cannot be read.
        """
        from .motion import motion_for

        key = _motion_key(cache)
        if key not in self._memo:
            self._memo[key] = motion_for(cache)
        return self._memo[key]

    @property
    def needs_motion(self) -> bool:
        """True for a scene model whose vectors hold motion features (:mod:`core.motion`): judging a video needs
        its pixels, not only its skeleton cache."""
        return bool(self.is_scene and self.ckpt.feature_spec.get("motion"))

    def motion_ready(self, cache: SkeletonCache) -> bool:
        """True when :meth:`cache_motion` of ``cache`` returns without decoding the video (kept, or on disk);
        a GUI computes it in the background first (:func:`core.motion.iter_video_motion`, :meth:`set_motion`)."""
        from .motion import cached_motion

        if not self.needs_motion or _motion_key(cache) in self._memo:
            return True
        arr = cached_motion(cache)
        if arr is not None:
            self.set_motion(cache, arr)
        return arr is not None

    def set_motion(self, cache: SkeletonCache, motion: np.ndarray) -> None:
        """Use ``motion`` ``(cache.frame_count, M)`` float32 as ``cache``'s motion features."""
        self._use_cache(cache)
        self._memo[_motion_key(cache)] = np.asarray(motion, np.float32)

    def _use_cache(self, cache: SkeletonCache) -> None:
        """Forget what was kept for another cache (its labels, windows and motion): the memo holds one cache's."""
        if self._cache_id != id(cache):
            self._memo.clear()
            self._windows.clear()
            self._cache_id = id(cache)

    @property
    def scene_index(self) -> int:
        """Class index of a scene model's event label (``alert.scene_labels[0]``, else the last class)."""
        names = (self.ckpt.alert or {}).get("scene_labels") or [self.label_names[-1]]
        return self.label_names.index(names[0]) if names[0] in self.label_names else len(self.label_names) - 1

    def scene_threshold(self) -> float:
        """The default operating point's threshold on the scene score (0.5 without one)."""
        op = self.operating_point
        return float(op["threshold"]) if op else 0.5


def label_scene(poses, buf, score: float, threshold: float, names: list[str], k_scene: int) -> dict[int, TrackLabel]:
    """Per-track labels of a scene judgement (shared by the player and the live detector).

    Args:
        poses: the frame's :class:`~core.pose.base.FramePoses`; buf: the :class:`core.scene.SceneBuffer` holding
            the last second (this frame included); score: the scene score; threshold: the operating threshold;
            names: class names; k_scene: index of the event label.

    Returns:
        ``{track_id: TrackLabel}``: :data:`UNCERTAIN` for a person first seen less than :data:`MIN_COVERAGE` of
        the window ago, missing from more than half the frames since, or with too few joints seen
        (:data:`MIN_VISIBLE`); else the event label with ``score`` for
        people close to another (:func:`core.scene.involved`) when ``score >= threshold``; else the other label
        with ``1 - score``.
    """
    from .scene import involved

    other = next((i for i in range(len(names)) if i != k_scene), k_scene)
    frames = buf.frames()
    seen: dict[int, list[tuple[float, np.ndarray]]] = {}
    for t, persons in frames:
        for tid, kp, _box in persons:
            seen.setdefault(int(tid), []).append((t, kp))
    t_now = frames[-1][0] if frames else 0.0
    frame_times = np.array([t for t, _p in frames])

    def judged(tid: int) -> bool:
        det = seen.get(int(tid))
        if not det:
            return False
        t0 = det[0][0]
        if t_now - t0 < MIN_COVERAGE * buf.span_s - 1e-6:  # seen for less than half the window
            return False
        since = int((frame_times >= t0 - 1e-9).sum())
        kp = np.stack([k for _t, k in det])
        return len(det) >= MIN_COVERAGE * since and float(np.mean(kp[..., 2] > 0)) >= MIN_VISIBLE

    boxes = {p.track_id: p.bbox for p in poses.persons}
    close = involved(boxes) if score >= threshold else set()
    out = {}
    for p in poses.persons:
        if not judged(p.track_id):
            out[p.track_id] = TrackLabel(UNCERTAIN, 0.0)
        elif p.track_id in close:
            out[p.track_id] = TrackLabel(names[k_scene], float(score))
        else:
            out[p.track_id] = TrackLabel(names[other], float(1.0 - score))
    return out


def iter_alert_settings(spec: str | os.PathLike, cancel=None):
    """Task generator (for :class:`gui.workers.GeneratorWorker`): the alert settings of a classifier off the GUI
    thread (reading a checkpoint may first import PyTorch).

    Args:
        spec: a shipped kind (``fight`` …) or a checkpoint path (:func:`core.defaults.resolve_classifier`).

    Yields:
        one :class:`core.extract.Progress`. Returns: :attr:`Checkpoint.alert` — a scene model's operating points —
        or None for a per-track model.

    Raises:
        ModelError: see :func:`load_checkpoint`.
    """
    from .defaults import resolve_classifier
    from .extract import Progress

    path = resolve_classifier(spec)
    yield Progress(0, 1, f"reading {Path(path).name}")
    return load_checkpoint(path).alert


def describe_operating_point(p: dict) -> str:
    """One line for a scene model's operating point: what it did on the validation source groups."""
    return (f"on held-out videos: {p['tpr']:.0%} of fights alerted, {p['fpr']:.0%} of no-fight clips alerting "
            f"(threshold {p['threshold']:.2f}, hold {p['hold_s']:.1f} s)")
