"""Labelling videos with a video (RGB clip) model by sliding windows over time.

A video model (checkpoint ``video`` settings, :class:`core.classify.Checkpoint`) sees windows of ``frames``
samples at ``fps`` samples per second (``window_s = frames / fps`` seconds), resized to ``size``. Prediction
(:meth:`VideoClassifier.iter_predict_video`) decodes the video once at that rate (:func:`core.rgb.clips.
decode_clip`) and classifies windows starting every ``stride_s`` seconds (the checkpoint's, or the caller's),
plus the window ending at the video's end, so every frame is covered:

- a model trained on whole frames or a rectangle (``crop`` ``frame``/``rect``) classifies the full frame, or the
  caller's rectangle (``crop=(x1, y1, x2, y2)``, which must lie inside the frame);
- a model trained on follow-track crops (``crop`` ``track``) classifies every track of the video's skeletons on
  its own: the track's box smoothed and grown as the project's follow-track crop (:func:`core.exporting.
  crop_boxes`, margin 0.2), windows over the track's frames only.

The label of a frame (:meth:`VideoPredictions.window_at`) is that of the window covering it whose centre is
nearest to the frame's time; a frame outside every window takes the nearest window. The player shows it on every
person of the frame (a frame model) or on the track (a track model), like the scene model's labels.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import ModelError, one_line
from ..extract import Progress
from ..overlay import TrackLabel
from .clips import (ClipDataError, VideoClip, check_crop, decode_clip, skeleton_input, take_window, to_model_input,
                    too_short_message, window_starts)


@dataclass
class VideoPredictions:
    """Window predictions of one video.

    Attributes:
        video: the video path; fps: its frame rate; frame_count: its frames; label_names: classes.
        track_id: ``(M,)`` int64 track of each window (-1: the whole frame or the caller's crop).
        start_frame, end_frame: ``(M,)`` int64 first and last source frame of each window (inclusive).
        probs: ``(M, K)`` float32 softmax probabilities.
    """

    video: str
    fps: float
    frame_count: int
    label_names: list[str]
    track_id: np.ndarray
    start_frame: np.ndarray
    end_frame: np.ndarray
    probs: np.ndarray
    _by_track: dict = field(default_factory=dict, repr=False)

    def window_at(self, frame_index: int, track_id: int = -1) -> int | None:
        """Index of the window labelling ``frame_index`` for ``track_id`` (see the module docstring), or None
        when that track has no window."""
        if track_id not in self._by_track:
            self._by_track[track_id] = np.flatnonzero(self.track_id == track_id)
        rows = self._by_track[track_id]
        if len(rows) == 0:
            return None
        a, b = self.start_frame[rows], self.end_frame[rows]
        cover = (a <= frame_index) & (b >= frame_index)
        if cover.any():
            dist = np.where(cover, np.abs((a + b) / 2.0 - frame_index), np.inf)
        else:
            dist = np.maximum(a - frame_index, frame_index - b).astype(np.float64)
        return int(rows[int(np.argmin(dist))])

    def label(self, frame_index: int, track_id: int = -1) -> TrackLabel | None:
        """The :class:`~core.overlay.TrackLabel` of a frame (None: no window for that track)."""
        w = self.window_at(frame_index, track_id)
        if w is None:
            return None
        k = int(np.argmax(self.probs[w]))
        return TrackLabel(self.label_names[k], float(self.probs[w, k]))

    def to_dataframe(self):
        """One row per window: ``track_id``, ``start_frame``, ``end_frame``, ``start_s``, ``end_s`` (seconds),
        ``pred_label`` (class index), ``pred_label_name``, ``pred_prob`` and ``p_<class>`` for every class."""
        import pandas as pd

        k = self.probs.argmax(1) if len(self.probs) else np.zeros(0, np.int64)
        df = pd.DataFrame({"track_id": self.track_id, "start_frame": self.start_frame, "end_frame": self.end_frame,
                           "start_s": np.round(self.start_frame / self.fps, 4),
                           "end_s": np.round((self.end_frame + 1) / self.fps, 4), "pred_label": k,
                           "pred_label_name": [self.label_names[i] for i in k],
                           "pred_prob": np.round(self.probs[np.arange(len(k)), k], 4) if len(k) else []})
        for i, n in enumerate(self.label_names):
            df[f"p_{n}"] = np.round(self.probs[:, i], 4) if len(k) else []
        return df


class VideoClassifier:
    """A video (RGB clip) model from a checkpoint, labelling videos by sliding windows.

    Args:
        path: a video-model checkpoint (:data:`core.classify.VIDEO_CHECKPOINT_FORMAT`).

    Raises:
        ModelError: unreadable checkpoint, not a video model (the message names the right kind), weights that do
            not fit.
    """

    is_scene = False
    is_video = True

    def __init__(self, path: str | os.PathLike):
        import torch

        from ..classify import load_checkpoint
        from .train import build_video_model

        self.path = Path(path)
        self.ckpt = load_checkpoint(path)
        if not self.ckpt.is_video:
            kind = "scene (fight)" if self.ckpt.is_scene else "skeleton"
            raise ModelError(f"{self.path.name} is a {kind} model ({self.ckpt.model_name}), not an RGB clip model")
        v = self.ckpt.video
        self.video = v
        cfg = {"model": self.ckpt.model_name, "model_config": {
            k: val for k, val in self.ckpt.model_config.items() if k not in ("num_classes", "in_channels")}}
        try:
            self.model, _ = build_video_model(cfg, len(self.ckpt.label_names), v.get("skeleton"))
            self.model.load_state_dict(self.ckpt.state_dict)
        except (KeyError, TypeError, ValueError, RuntimeError) as e:
            raise ModelError(f"{self.path.name}: weights do not fit model '{self.ckpt.model_name}': "
                             f"{one_line(e, 160)}") from None
        self.model.eval()
        self._torch = torch
        self._predictions: dict[str, VideoPredictions] = {}
        self._current: VideoPredictions | None = None

    # -- properties
    @property
    def label_names(self) -> list[str]:
        """Class names."""
        return self.ckpt.label_names

    @property
    def frames(self) -> int:
        """T, samples per window."""
        return int(self.video["frames"])

    @property
    def fps(self) -> float:
        """Samples per second."""
        return float(self.video["fps"])

    @property
    def window_s(self) -> float:
        """Seconds one window spans."""
        return self.frames / self.fps

    @property
    def per_track(self) -> bool:
        """True for a model trained on follow-track crops (classifies every track on its own)."""
        return self.video.get("crop") == "track"

    @property
    def needs_skeletons(self) -> bool:
        """True when prediction needs the video's skeletons (a fusion model, or per-track crops)."""
        return self.video.get("kind") == "fusion" or self.per_track

    # -- prediction
    def predict_windows(self, windows: np.ndarray, skeleton: np.ndarray | None = None, batch: int = 16) -> np.ndarray:
        """Class probabilities of RGB windows.

        Args:
            windows: ``(N, T, H, W, 3)`` uint8 RGB at the model's size.
            skeleton: a fusion model's skeleton-stream inputs (raw, :func:`core.rgb.clips.skeleton_input`),
                ``(N, …)``.

        Returns:
            ``(N, K)`` float32.
        """
        from .train import skeleton_batch

        torch = self._torch
        out = []
        with torch.no_grad():
            for b in range(0, len(windows), batch):
                x = to_model_input(windows[b:b + batch])
                if self.video.get("kind") == "fusion":
                    if skeleton is None:
                        raise ValueError("a fusion model needs the skeleton-stream inputs")
                    sk = torch.from_numpy(skeleton_batch(skeleton[b:b + batch], self.video["skeleton"]))
                    out.append(torch.softmax(self.model(x, sk), -1).numpy())
                else:
                    out.append(torch.softmax(self.model(x), -1).numpy())
        return np.concatenate(out) if out else np.zeros((0, len(self.label_names)), np.float32)

    def predict_clip(self, clip: VideoClip, stride: int | None = None, cancel=None
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Window predictions of one clip.

        Args:
            clip: a :class:`core.rgb.clips.VideoClip` (with ``cache`` for a fusion model).
            stride: samples between window starts (None: the checkpoint's ``stride_s``).

        Returns:
            ``start_frames (M,)``, ``end_frames (M,)`` int64 (first and last source frame a window spans:
            ``T / fps`` seconds from its first sample, within the clip) and ``probs (M, K)``.

        Raises:
            ClipDataError: the clip is shorter than half the window; VideoError: unreadable video.
        """
        from .train import stride_samples

        if stride is None:
            stride = stride_samples(float(self.video.get("stride_s", 0.5)), self.fps)
        size = tuple(int(s) for s in self.video["size"])
        frames, idx, vfps = decode_clip(clip, self.fps, size, cancel)
        starts = window_starts(len(frames), self.frames, stride)
        if len(starts) == 0:
            raise ClipDataError(too_short_message(clip.name, len(frames), self.frames, self.fps))
        wins = np.stack([take_window(frames, int(s), self.frames) for s in starts])
        last = idx[np.minimum(starts + self.frames - 1, len(idx) - 1)]  # the last sample of each window
        sk = None
        if self.video.get("kind") == "fusion":
            sk = np.stack([skeleton_input(clip, int(e), self.video["skeleton"]) for e in last])
        # a window spans T / fps seconds: from its first sample to the frame before the sample after its last
        span = max(1, int(round(self.frames * vfps / self.fps)))
        end = clip.end if clip.end is not None else int(idx[-1])
        ends = np.minimum(np.maximum(idx[starts] + span - 1, last), max(int(end), int(last.max())))
        return idx[starts], ends.astype(np.int64), self.predict_windows(wins, sk)

    def iter_predict_video(self, video: str | os.PathLike, crop=None, stride_s: float | None = None, cache=None,
                           cancel=None):
        """Task generator: window predictions of a whole video (see the module docstring).

        Args:
            video: a video file; crop: ``(x1, y1, x2, y2)`` pixels for a frame model (None: the full frame).
            stride_s: seconds between window starts (None: the checkpoint's ``stride_s``).
            cache: the video's :class:`~core.cache.SkeletonCache` (needed when :attr:`needs_skeletons`).
            cancel: polled while decoding.

        Yields:
            :class:`core.extract.Progress` per clip decoded. Returns: :class:`VideoPredictions`.

        Raises:
            VideoError: unreadable video; ClipDataError: a video shorter than half the window, a crop outside the
            frame, a track model given a crop; ValueError: skeletons needed but not given.
        """
        from ..video import open_source
        from .train import stride_samples

        path = Path(video)
        with open_source(str(path)) as src:
            info = src.info
        n, vfps = int(info.frame_count), float(info.fps or 30.0)
        stride = stride_samples(stride_s if stride_s is not None else float(self.video.get("stride_s", 0.5)), self.fps)
        if self.needs_skeletons and cache is None:
            raise ValueError(f"{self.path.name} needs the video's skeletons (cache=…)")
        rows: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]] = []
        if self.per_track:
            if crop is not None:
                raise ClipDataError(f"{self.path.name} classifies every tracked person on their own (trained on "
                                    "follow-track crops); a crop rectangle does not apply")
            from ..exporting import crop_boxes
            from ..project import Clip, Crop, Video

            vid = Video(0, str(path), "", vfps, n, int(info.width), int(info.height))
            tids = [int(t) for t in cache.track_ids()]
            for k, tid in enumerate(tids):
                yield Progress(k, max(1, len(tids)), f"classifying track {tid} of {path.name}")
                frames, _kp, _box = cache.track(tid)
                if len(frames) == 0:
                    continue
                a, b = int(frames[0]), int(min(frames[-1], n - 1))
                boxes, _ = crop_boxes(Clip(0, 0, a, b, "", tid, Crop("track")), vid, cache)
                clip = VideoClip(f"{path.name} track {tid}", path, -1, "", a, b, boxes, tid, "track", cache)
                try:
                    s, e, p = self.predict_clip(clip, stride, cancel)
                except ClipDataError:
                    continue  # a track seen too briefly for one window: no label (the player says nothing)
                rows.append((tid, s, e, p))
        else:
            boxes = None
            if crop is not None:
                box = check_crop(crop, int(info.width), int(info.height), path.name)
                boxes = np.tile(np.asarray(box, np.int64), (n, 1))
            yield Progress(0, 1, f"classifying {path.name} by {self.window_s:.2f} s windows")
            clip = VideoClip(path.name, path, -1, "", 0, n - 1, boxes, None, "frame" if crop is None else "rect", cache)
            s, e, p = self.predict_clip(clip, stride, cancel)
            rows.append((-1, s, e, p))
        k = len(self.label_names)
        if rows:
            tid = np.concatenate([np.full(len(s), t, np.int64) for t, s, _, _ in rows])
            st = np.concatenate([s for _, s, _, _ in rows]).astype(np.int64)
            en = np.concatenate([e for _, _, e, _ in rows]).astype(np.int64)
            pr = np.concatenate([p for _, _, _, p in rows]).astype(np.float32)
        else:
            tid, st, en, pr = (np.zeros(0, np.int64),) * 3 + (np.zeros((0, k), np.float32),)
        preds = VideoPredictions(str(path), vfps, n, list(self.label_names), tid, st, en, pr)
        self.attach(preds)
        return preds

    # -- the player
    def attach(self, preds: VideoPredictions) -> None:
        """Use ``preds`` for :meth:`labels_for_frame` (the player attaches those of the open video)."""
        self._predictions[str(preds.video)] = preds
        self._current = preds

    def predictions_for(self, video: str | os.PathLike) -> VideoPredictions | None:
        """The predictions computed for ``video`` (None: not yet)."""
        return self._predictions.get(str(video))

    def select(self, video: str | os.PathLike) -> bool:
        """Make the predictions of ``video`` current; False when there are none yet."""
        self._current = self._predictions.get(str(video))
        return self._current is not None

    def labels_for_frame(self, cache, frame_index: int) -> dict[int, TrackLabel]:
        """Labels of the persons of ``frame_index`` from the current predictions (:meth:`attach`): every person
        gets the frame's window label (a frame model), or their own track's (a track model); ``{}`` while no
        predictions of this video are attached."""
        p = self._current
        if p is None or cache is None or p.frame_count != cache.frame_count:
            return {}
        persons = cache.poses(frame_index).persons
        out = {}
        if self.per_track:
            for q in persons:
                lab = p.label(frame_index, int(q.track_id))
                if lab is not None:
                    out[q.track_id] = lab
            return out
        lab = p.label(frame_index, -1)
        return {q.track_id: lab for q in persons} if lab is not None else {}


def parse_crop(text: str | None) -> tuple[float, float, float, float] | None:
    """``"X1,Y1,X2,Y2"`` pixels → a tuple (None for None or ``""``).

    Raises:
        ClipDataError: not four numbers (one line naming the text).
    """
    if not text:
        return None
    try:
        rect = tuple(float(v) for v in text.split(","))
    except ValueError:
        rect = ()
    if len(rect) != 4:
        raise ClipDataError(f"--crop needs four numbers X1,Y1,X2,Y2 in pixels, got '{text}'")
    return rect  # type: ignore[return-value]


def predict_video_csv(model: str | os.PathLike, video: str | os.PathLike, out: str | os.PathLike,
                      crop: str | None = None, stride_s: float | None = None, skeletons=None) -> dict:
    """``main.py predict`` with a video model: label ``video`` by sliding windows and write one CSV row per window
    (:meth:`VideoPredictions.to_dataframe`) to ``out`` atomically (:func:`core.files.write_csv`).

    Args:
        model: a video-model checkpoint; crop: ``"X1,Y1,X2,Y2"`` pixels of a frame model (:func:`parse_crop`).
        stride_s: seconds between window starts (None: the checkpoint's).
        skeletons: ``callable() -> SkeletonCache`` of the video, called only when the model needs them (a fusion or
            per-track model).

    Returns:
        ``{"windows": M, "window_s": seconds, "counts": {label: windows}}``.

    Raises:
        ModelError: not a video model; ClipDataError: skeletons given as input, a bad crop, a video shorter than
        half the window; VideoError: an unreadable video.
    """
    from ..extract import run
    from ..files import write_csv
    from ..video import parse_source

    clf = VideoClassifier(model)
    if str(video).lower().endswith((".csv", ".pt")):
        raise ClipDataError(f"{Path(model).name} is an RGB clip model ({clf.ckpt.model_name}): give it a video, not "
                            f"skeletons ({Path(video).name})")
    rect = parse_crop(crop)
    parse_source(str(video))  # a missing file or unknown type: one line
    cache = skeletons() if clf.needs_skeletons and skeletons is not None else None
    preds = run(clf.iter_predict_video(video, rect, stride_s, cache), desc="windows")
    df = preds.to_dataframe()
    write_csv(df, Path(out))
    counts = df["pred_label_name"].value_counts().to_dict() if len(df) else {}
    return {"windows": len(df), "window_s": clf.window_s, "counts": counts}
