"""Whole-video extraction on a remote worker (``python main.py extract VIDEO --remote URL``).

Same result type and skeleton cache as :func:`core.extract.iter_load_or_extract`, but frames are
pipelined to the worker (:meth:`RemotePoseEstimator.stream`, a few frames in flight) so network
latency does not add to every frame. The cache key is the worker's estimator settings plus
``remote``/``transport`` (JPEG) and the width, so remote and local caches are kept apart.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Generator

from ..cache import SkeletonCache
from ..errors import VideoError
from ..extract import Cancelled, Progress, iter_load_or_extract
from ..video import open_source
from . import RemoteError
from .client import RemotePoseEstimator


def iter_extract_remote(video: str | os.PathLike, est: RemotePoseEstimator, depth: int = 3,
                        cancel: Callable[[], bool] | None = None) -> Generator[Progress, None, SkeletonCache]:
    """Estimate poses on every frame of a video file on the worker.

    Args:
        video: file or folder path.
        est: a connected :class:`RemotePoseEstimator` (its ``width`` is the inference width).
        depth: frames in flight.
        cancel: polled once a frame; True raises :class:`~core.extract.Cancelled`.

    Returns:
        The :class:`SkeletonCache` (poses in pixels of the original frames).

    Raises:
        VideoError: unreadable or live source; RemoteError: the worker was lost or dropped a frame
        (extraction needs every frame; run it again, cached frames are not kept).
    """
    frames = []
    with open_source(video) as src:
        info = src.info
        if not info.seekable:
            raise VideoError(f"{info.source} is a live source; extraction needs a file or folder")
        announced = info.frame_count
        est.reset()
        yield Progress(0, announced, "extracting poses (remote)")

        def feed():
            for fr in src.frames():
                if cancel is not None and cancel():
                    raise Cancelled("extraction cancelled")
                yield fr.image, fr.index, fr.time_s

        for fi, fp in est.stream(feed(), depth=depth):
            if fp is None:
                raise RemoteError(f"worker dropped frame {fi} (busy); extraction needs every frame — try again")
            frames.append(fp)
            yield Progress(fi + 1, src.info.frame_count, "extracting poses (remote)")
        if not frames:
            raise VideoError(f"video has no decodable frames: {video}")
        meta = {"video": str(video), "fps": info.fps, "width": info.width, "height": info.height,
                "layout": est.layout, "settings": dict(est.describe(), width=est.width), "complete": True,
                "worker": {"url": est.http_url, "device": est.device, "gpu": est.gpu_name}}
        if len(frames) < (announced or 0):
            meta["truncated_at"] = len(frames)
    return SkeletonCache.from_frames(frames, meta)


def iter_load_or_extract_remote(video: str | os.PathLike, est: RemotePoseEstimator, root: Path | None = None,
                                cancel: Callable[[], bool] | None = None) -> Generator[Progress, None, SkeletonCache]:
    """The cached remote skeletons of ``video``, extracting them on the worker first if needed: the cache lookup
    of :func:`core.extract.iter_load_or_extract` with :func:`iter_extract_remote` as its extraction.

    Raises:
        VideoError, RemoteError, Cancelled.
    """
    return (yield from iter_load_or_extract(video, width=est.width, estimator=est, root=root, cancel=cancel,
                                            extract=iter_extract_remote))
