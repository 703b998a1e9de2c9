"""Pose estimators for a task that may run on a remote worker: the worker first, local inference while it is lost.

Used by :meth:`core.state.AppState.estimator_factory` (the GUI's extraction and live view) — the decision is taken
when the factory is made, the estimator is built where the factory is called (a background thread: connecting to a
worker never blocks the GUI).
"""

from __future__ import annotations

import logging
from typing import Any, Callable

log = logging.getLogger(__name__)


def estimator_factory(remote, local_kwargs: dict, remote_kwargs: dict | None = None,
                      on_status: Callable[[str, bool | None], None] | None = None,
                      backoff: tuple[float, ...] | None = None) -> Callable[[], Any]:
    """A factory of pose estimators.

    Args:
        remote: the worker (:class:`core.state.RemoteWorker`: ``url``, ``token``, ``cafile``, ``backoff``), or None:
            local only.
        local_kwargs: arguments of :func:`core.pose.create_estimator`, including ``backend`` (default ``yolo``), e.g.
            ``{"backend": "yolo", "frame_rate": 29.0}``; the worker gets ``backend``, ``tracker`` and ``frame_rate``.
        remote_kwargs: more arguments of :class:`core.remote.client.RemotePoseEstimator` (``width``, ``classifier`` …;
            None values are left out).
        on_status: called (from the estimator's thread) with a one-line status and whether frames now go to the
            worker (True), run locally (False) or unknown (None), at every switch.
        backoff: seconds between reconnection attempts (default: the worker's, else ``reconnect.worker_backoff_s``).

    Returns:
        A callable with no arguments returning a new :class:`~core.pose.PoseEstimator`: a
        :class:`core.remote.client.FallbackEstimator` with a worker, otherwise the local estimator.

    Raises (from the factory): ModelError (local model missing), ValueError (unknown backend).
    """
    from ..pose import DEFAULT_BACKEND, create_estimator

    kw = dict(local_kwargs)
    backend = kw.pop("backend", DEFAULT_BACKEND)

    def local():
        return create_estimator(backend, **kw)

    if remote is None:
        return local
    if backoff is None:
        backoff = getattr(remote, "backoff", None)
    rkw = {k: kw[k] for k in ("tracker", "frame_rate") if k in kw}  # the worker's own model and size
    rkw.update({k: v for k, v in (remote_kwargs or {}).items() if v is not None})

    def make():
        from .client import FallbackEstimator, RemotePoseEstimator

        made: list = []

        def remote_factory():
            return RemotePoseEstimator(remote.url, remote.token, backend=backend, cafile=remote.cafile, **rkw)

        def report(text: str) -> None:
            # FallbackEstimator reports after switching, so using_remote is already the new state; its first
            # report comes from its constructor, before ``made`` holds it
            on_remote = made[0].using_remote if made else str(text).startswith("using remote")
            if on_status is None:
                log.info("%s", text)
                return
            try:
                on_status(str(text), on_remote)
            except RuntimeError:  # the receiver is gone (window closed): the task goes on without it
                log.info("%s", text)

        est = FallbackEstimator(remote_factory, local, on_status=report, backoff=backoff)
        made.append(est)
        return est

    return make
