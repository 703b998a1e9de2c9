"""Whole-video pose extraction (the skeleton cache), CSV export of skeletons, and rendering.

Long work is written as generators that ``yield`` :class:`Progress` and ``return`` their result
(napari's ``thread_worker`` pattern): the CLI drives them with a tqdm bar (:func:`run`), the GUI
with a QThread that turns each yield into a queued signal.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Generator, Iterator

import numpy as np

from . import files
from .cache import SkeletonCache, cache_path
from .errors import PoseWatchError, VideoError
from .layouts import get_layout
from .pose import DEFAULT_BACKEND, FramePoses, PoseEstimator, create_estimator, estimator_settings
from .pose.base import rescale_poses
from .video import Frame, open_source, resize_to_width


@dataclass
class Progress:
    """Progress of a long task: ``done`` of ``total`` units (``total`` None if unknown)."""

    done: int
    total: int | None
    message: str = ""


class Cancelled(PoseWatchError):
    """Raised inside a task generator when its consumer asked it to stop."""


def run(gen: Generator, callback: Callable[[Progress], None] | None = None, desc: str = ""):
    """Drive a task generator to completion and return its result.

    Without ``callback`` a tqdm progress bar is shown on stderr.
    """
    from tqdm import tqdm

    bar = None
    try:
        while True:
            p = next(gen)
            if callback is not None:
                callback(p)
                continue
            if bar is None or bar.total != p.total or (p.message and bar.desc != (desc or p.message)):
                if bar is not None:
                    bar.close()
                bar = tqdm(total=p.total, desc=desc or p.message, unit="frame", dynamic_ncols=True, mininterval=0.5)
            bar.update(p.done - bar.n)
    except StopIteration as stop:
        return stop.value
    finally:
        if bar is not None:
            bar.close()


def estimate_poses(image: np.ndarray, estimator: PoseEstimator, frame_index: int, time_s: float,
                   width: int | None = None) -> FramePoses:
    """Run ``estimator`` on ``image`` downscaled to ``width`` pixels (None: full size).

    Boxes and keypoints are scaled back to pixels of the original image.
    """
    small, scale = resize_to_width(image, width)
    fp = estimator.process(small, frame_index, time_s)
    return rescale_poses(fp, scale, inverse=True, size=(image.shape[1], image.shape[0]))


def extraction_settings(estimator: PoseEstimator, width: int | None) -> dict:
    """The settings that determine a skeleton cache's content (its cache key)."""
    return dict(estimator.describe(), width=width)


def iter_extract(video: str | os.PathLike, estimator: PoseEstimator, width: int | None = None,
                 cancel: Callable[[], bool] | None = None) -> Generator[Progress, None, SkeletonCache]:
    """Estimate poses on every frame of a video file or image folder.

    Args:
        video: path of a file or folder.
        estimator: a pose backend (reset before use).
        width: inference width in pixels (frames are downscaled first; None: full size).
        cancel: polled once a frame; returning True raises :class:`Cancelled`.

    Yields:
        :class:`Progress` once a frame.

    Returns:
        The :class:`SkeletonCache` (``meta["truncated_at"]`` is set when decoding ended before the
        announced frame count).

    Raises:
        VideoError: unreadable video; Cancelled.
    """
    def poses_of(frames: Iterator[Frame]) -> Iterator[tuple[int, FramePoses]]:
        for fr in frames:
            yield fr.index, estimate_poses(fr.image, estimator, fr.index, fr.time_s, width)

    return (yield from iter_extract_frames(video, estimator, poses_of, extraction_settings(estimator, width),
                                           cancel=cancel))


def iter_extract_frames(video: str | os.PathLike, estimator: PoseEstimator,
                        poses_of: Callable[[Iterator[Frame]], Iterator[tuple[int, FramePoses]]], settings: dict,
                        message: str = "extracting poses", cancel: Callable[[], bool] | None = None,
                        extra_meta: dict | None = None) -> Generator[Progress, None, SkeletonCache]:
    """The frame loop of a whole-video extraction, shared by :func:`iter_extract` (one frame at a time) and
    :func:`core.remote.extract.iter_extract_remote` (frames pipelined to a worker).

    Opens ``video`` (a file or folder; a live source is refused), resets ``estimator``, hands the frames to
    ``poses_of`` (``cancel`` polled before each frame is handed on) and collects the ``(frame index, poses)`` pairs
    it yields, one :class:`Progress` each, into a :class:`SkeletonCache` whose meta holds the video's fps and size,
    ``estimator.layout``, ``settings`` (the cache key), ``complete`` and ``extra_meta``; ``truncated_at`` is set
    when decoding ended before the announced frame count.

    Raises:
        VideoError: unreadable or live source, no decodable frame; Cancelled; whatever ``poses_of`` raises.
    """
    frames: list[FramePoses] = []
    with open_source(video) as src:
        info = src.info
        if not info.seekable:
            raise VideoError(f"{info.source} is a live source; extraction needs a file or folder")
        announced = info.frame_count
        estimator.reset()
        yield Progress(0, announced, message)

        def checked() -> Iterator[Frame]:
            for fr in src.frames():
                if cancel is not None and cancel():
                    raise Cancelled("extraction cancelled")
                yield fr

        for fi, fp in poses_of(checked()):
            frames.append(fp)
            yield Progress(fi + 1, src.info.frame_count, message)
        if not frames:
            raise VideoError(f"video has no decodable frames: {video}")
        meta = {"video": str(video), "fps": info.fps, "width": info.width, "height": info.height,
                "layout": estimator.layout, "settings": settings, "complete": True, **(extra_meta or {})}
        if len(frames) < (announced or 0):
            meta["truncated_at"] = len(frames)
    return SkeletonCache.from_frames(frames, meta)


def iter_load_or_extract(video: str | os.PathLike, backend: str = DEFAULT_BACKEND, width: int | None = None,
                         estimator: PoseEstimator | None = None, root: Path | None = None,
                         cancel: Callable[[], bool] | None = None, also_look_in: tuple[Path, ...] = (),
                         extract: Callable[..., Generator[Progress, None, SkeletonCache]] | None = None,
                         **estimator_kwargs) -> Generator[Progress, None, SkeletonCache]:
    """Return the cached skeletons of ``video``, extracting and caching them first if needed.

    Args:
        video: file or folder path.
        backend: ``yolo`` or ``mediapipe`` (ignored when ``estimator`` is given).
        width: inference width in pixels (None: full size).
        estimator: an existing estimator to use (else one is created with ``estimator_kwargs``).
        root: cache root (default :func:`core.cache.cache_dir`).
        cancel: see :func:`iter_extract`.
        also_look_in: other cache roots; a cache found there (same video and settings) is copied
            into ``root`` instead of running pose estimation again.
        extract: the task generator that computes the skeletons when nothing is cached, called as
            ``extract(video, estimator, cancel=cancel)`` (default: :func:`iter_extract` with ``width``;
            e.g. :func:`core.remote.extract.iter_extract_remote`, which keeps frames in flight).

    Raises:
        VideoError, ModelError, Cancelled.
    """
    with open_source(video) as src:  # fails early, with its one-line message, on a bad video
        fps = src.info.fps
        if not src.info.seekable:
            raise VideoError(f"{src.info.source} is a live source; extraction needs a file or folder")
    settings = (extraction_settings(estimator, width) if estimator is not None
                else dict(estimator_settings(backend, **estimator_kwargs), width=width))
    path = cache_path(video, settings, root)
    for other in also_look_in:
        found = cache_path(video, settings, other)
        if not path.is_file() and found.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            with files.atomic_path(path) as tmp:
                shutil.copyfile(found, tmp)
    if path.is_file():  # cached: no model needs loading
        try:
            return SkeletonCache.load(path)
        except PoseWatchError:
            path.unlink(missing_ok=True)  # unreadable: compute afresh
    own = estimator is None
    if own:
        yield Progress(0, None, "loading pose model")
        estimator = create_estimator(backend, frame_rate=fps, **estimator_kwargs)
    try:
        cache = yield from (extract(video, estimator, cancel=cancel) if extract is not None
                            else iter_extract(video, estimator, width, cancel))
        cache.save(path)
        return cache
    finally:
        if own:
            estimator.close()


def iter_skeletons(video: str | os.PathLike, backend: str = DEFAULT_BACKEND, width: int | None = None,
                   estimator_factory: Callable[[], PoseEstimator] | None = None, root: Path | None = None,
                   also_look_in: tuple[Path, ...] = (), cancel: Callable[[], bool] | None = None
                   ) -> Generator[Progress, None, SkeletonCache]:
    """The skeletons of ``video`` (cached, or computed and cached) with ``backend``, or with the estimator
    ``estimator_factory()`` builds — here, in the thread that drives the generator, so connecting to a remote worker
    never blocks the caller — closed afterwards (e.g. :meth:`core.state.AppState.estimator_factory`).

    Args:
        video: file or folder path; width: inference width in pixels (None: full size); root, also_look_in: cache
            roots (see :func:`iter_load_or_extract`); cancel: polled once a frame.

    Returns:
        The :class:`~core.cache.SkeletonCache` (frames in original pixels).

    Raises:
        VideoError, ModelError, Cancelled (a lost worker is not an error: a fallback estimator goes on locally).
    """
    if estimator_factory is None:
        return (yield from iter_load_or_extract(video, backend, width, root=root, cancel=cancel,
                                                also_look_in=also_look_in))
    yield Progress(0, None, "preparing pose estimation")
    est = estimator_factory()
    try:
        return (yield from iter_load_or_extract(video, width=width, estimator=est, root=root, cancel=cancel,
                                                also_look_in=also_look_in))
    finally:
        est.close()


def skeleton_columns(layout: str) -> list[str]:
    """Column names of the skeleton CSV for ``layout``."""
    cols = ["frame", "time_s", "track_id", "bbox_x1", "bbox_y1", "bbox_x2", "bbox_y2", "score"]
    for j in get_layout(layout).joints:
        cols += [f"{j}_X", f"{j}_Y", f"{j}_SCORE"]
    return cols


def cache_to_dataframe(cache: SkeletonCache):
    """One row per person per frame (see :func:`skeleton_columns`); returns a pandas DataFrame."""
    import pandas as pd

    n, v = cache.keypoints.shape[0], get_layout(cache.layout).num_joints
    data = np.empty((n, 8 + 3 * v), np.float64)
    data[:, 0] = cache.frame
    data[:, 1] = cache.frame / cache.fps
    data[:, 2] = cache.track_id
    data[:, 3:7] = cache.bbox
    data[:, 7] = cache.score
    data[:, 8:] = cache.keypoints.reshape(n, v * 3)
    df = pd.DataFrame(data, columns=skeleton_columns(cache.layout))
    for c in ("frame", "track_id"):
        df[c] = df[c].astype(np.int64)
    return df


def write_csv(cache: SkeletonCache, out: str | os.PathLike) -> Path:
    """Write the skeleton CSV atomically (temporary name, then rename).

    Raises:
        PoseWatchError: the output folder is missing or not writable.
    """
    return files.write_csv(cache_to_dataframe(cache), out, float_format="%.3f")


def iter_render(video: str | os.PathLike, cache: SkeletonCache, out: str | os.PathLike,
                draw: Callable[[np.ndarray, FramePoses], np.ndarray], fourcc: str = "mp4v"
                ) -> Generator[Progress, None, Path]:
    """Write ``video`` with ``draw(image, poses)`` applied to every frame (atomic: temporary name).

    Raises:
        VideoError: unreadable input; PoseWatchError: the output cannot be written.
    """
    import cv2

    out = Path(out)
    if not out.parent.exists():
        raise PoseWatchError(f"output folder does not exist: {out.parent}")
    with files.atomic_path(out) as tmp, open_source(video) as src:
        info = src.info
        writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*fourcc), info.fps, (info.width, info.height))
        if not writer.isOpened():
            raise PoseWatchError(f"cannot write video {out} (codec '{fourcc}' unavailable or folder not writable)")
        try:
            total = min(cache.frame_count, info.frame_count or cache.frame_count)
            for fr in src.frames(0, total):
                writer.write(draw(fr.image, cache.poses(fr.index)))
                yield Progress(fr.index + 1, total, "rendering")
        finally:
            writer.release()
    return out
