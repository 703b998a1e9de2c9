"""Classifier checkpoints and per-track labelling of a video's skeletons.

A checkpoint is a ``torch.save`` dict (format :data:`CHECKPOINT_FORMAT`) holding the weights and
everything needed to use them: model name and config (see :mod:`models`), label names, skeleton
layout of its input (``common13``), window ``T`` and stride in frames, input channels, the
normalisation (:mod:`core.features`) and any metrics.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .cache import SkeletonCache
from .errors import ModelError
from .features import NORMALISATIONS, normalise_window
from .layouts import to_common
from .overlay import TrackLabel

CHECKPOINT_FORMAT = "posewatch-classifier/1"


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
        metrics: training/validation metrics, free-form.
        state_dict: the weights.
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

    def to_dict(self) -> dict:
        """The dict written by :func:`save_checkpoint`."""
        return {"format": CHECKPOINT_FORMAT, "model_name": self.model_name, "model_config": self.model_config,
                "label_names": list(self.label_names), "window": self.window, "stride": self.stride,
                "normalisation": self.normalisation, "layout": self.layout, "metrics": self.metrics,
                "state_dict": self.state_dict}


def save_checkpoint(ckpt: Checkpoint, path: str | os.PathLike) -> Path:
    """Write a checkpoint atomically (temporary name, then rename)."""
    import torch

    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(ckpt.to_dict(), tmp)
    os.replace(tmp, path)
    return path


def load_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Read and validate a checkpoint.

    Raises:
        ModelError: missing or corrupt file, not a PoseWatch classifier, another layout, or an
            inconsistent config.
    """
    import torch

    p = Path(path)
    if not p.is_file():
        raise ModelError(f"classifier checkpoint not found: {p}")
    try:
        d = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as e:
        raise ModelError(f"classifier checkpoint {p} is corrupt or not a PyTorch file: {str(e).splitlines()[0][:120]}") from None
    if not isinstance(d, dict) or d.get("format") != CHECKPOINT_FORMAT:
        raise ModelError(f"{p} is not a PoseWatch classifier checkpoint (expected format {CHECKPOINT_FORMAT})")
    if d.get("layout") != "common13":
        raise ModelError(f"{p} was trained on layout '{d.get('layout')}', PoseWatch classifiers use 'common13'")
    if d.get("normalisation") not in NORMALISATIONS:
        raise ModelError(f"{p} uses unknown normalisation '{d.get('normalisation')}'")
    keys = ("model_name", "model_config", "label_names", "window", "stride", "normalisation", "state_dict")
    missing = [k for k in keys if k not in d]
    if missing:
        raise ModelError(f"{p} lacks {', '.join(missing)}")
    return Checkpoint(d["model_name"], d["model_config"], list(d["label_names"]), int(d["window"]), int(d["stride"]),
                      d["normalisation"], d["state_dict"], d["layout"], d.get("metrics", {}))


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

        from models import build_model

        self.path = Path(path)
        self.ckpt = load_checkpoint(path)
        try:
            self.model = build_model(self.ckpt.model_name, self.ckpt.model_config)
            self.model.load_state_dict(self.ckpt.state_dict)
        except (KeyError, TypeError, RuntimeError) as e:
            raise ModelError(f"{self.path.name}: weights do not fit model '{self.ckpt.model_name}': {str(e).splitlines()[0][:160]}") from None
        self.model.eval()
        self._torch = torch
        self._memo: dict[tuple[int, int], TrackLabel] = {}
        self._cache_id: int | None = None

    @property
    def label_names(self) -> list[str]:
        """Class names."""
        return self.ckpt.label_names

    def predict_windows(self, windows: np.ndarray) -> np.ndarray:
        """Class probabilities for windows of common-joint skeletons.

        Args:
            windows: ``(N, T, 13, 3)`` float32, pixels (normalised here).

        Returns:
            ``(N, num_classes)`` float32 probabilities (softmax).
        """
        x = np.stack([normalise_window(w, self.ckpt.normalisation) for w in windows])  # (N, T, V, C)
        x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))  # (N, C, T, V)
        with self._torch.no_grad():
            logits = self.model(self._torch.from_numpy(x))
            return self._torch.softmax(logits, -1).numpy()

    def window_for(self, kps: np.ndarray, pos: int) -> np.ndarray:
        """The ``(T, 13, 3)`` window used for detection ``pos`` of a track with common keypoints ``kps`` ``(L, 13, 3)``."""
        t = self.ckpt.window
        if len(kps) < t:
            pad = np.repeat(kps[-1:], t - len(kps), axis=0)
            return np.concatenate([kps, pad])
        start = max(0, pos - t + 1)
        return kps[start:start + t]

    def labels_for_frame(self, cache: SkeletonCache, frame_index: int) -> dict[int, TrackLabel]:
        """Predicted label of every track present at ``frame_index``: ``{track_id: TrackLabel}``."""
        if self._cache_id != id(cache):
            self._memo.clear()
            self._cache_id = id(cache)
        todo, out = [], {}
        for p in cache.poses(frame_index).persons:
            frames, kps, _ = cache.track(p.track_id)
            pos = int(np.searchsorted(frames, frame_index))
            key = (p.track_id, min(max(pos, self.ckpt.window - 1), len(frames) - 1))
            if key in self._memo:
                out[p.track_id] = self._memo[key]
            else:
                todo.append((key, self.window_for(to_common(kps, cache.layout), pos)))
        if todo:
            probs = self.predict_windows(np.stack([w for _, w in todo]))
            for (key, _), pr in zip(todo, probs, strict=True):
                k = int(np.argmax(pr))
                self._memo[key] = out[key[0]] = TrackLabel(self.label_names[k], float(pr[k]))
        return out
