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
from ..extract import Progress, iter_extract_frames, iter_load_or_extract
from ..errors import RemoteError
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
    def poses_of(frames):
        for fi, fp in est.stream(((fr.image, fr.index, fr.time_s) for fr in frames), depth=depth):
            if fp is None:
                raise RemoteError(f"worker dropped frame {fi} (busy); extraction needs every frame — try again")
            yield fi, fp

    return (yield from iter_extract_frames(
        video, est, poses_of, dict(est.describe(), width=est.width), message="extracting poses (remote)",
        cancel=cancel, extra_meta={"worker": {"url": est.http_url, "device": est.device, "gpu": est.gpu_name}}))


def iter_load_or_extract_remote(video: str | os.PathLike, est: RemotePoseEstimator, root: Path | None = None,
                                cancel: Callable[[], bool] | None = None) -> Generator[Progress, None, SkeletonCache]:
    """The cached remote skeletons of ``video``, extracting them on the worker first if needed: the cache lookup
    of :func:`core.extract.iter_load_or_extract` with :func:`iter_extract_remote` as its extraction.

    Raises:
        VideoError, RemoteError, Cancelled.
    """
    return (yield from iter_load_or_extract(video, width=est.width, estimator=est, root=root, cancel=cancel,
                                            extract=iter_extract_remote))
