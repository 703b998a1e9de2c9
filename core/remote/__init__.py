"""Remote GPU worker (issue 6): the desktop sends frames to a PoseWatch worker and gets poses back.

- :mod:`.protocol`: the wire format (JPEG frames with sequence numbers, compact JSON results) and its
  validation (size limits, whitelisted fields; nothing in a message can name a path or a module).
- :mod:`.server`: the worker, a FastAPI app served by uvicorn (``python main.py worker``).
- :mod:`.client`: :class:`RemotePoseEstimator` (same interface as the local estimators),
  :class:`FallbackEstimator` (remote first, local when the worker is lost), :func:`fetch_info`,
  :func:`read_token`.

See ``docs/REMOTE_WORKER.md`` for deployment on a GPU server.
"""

from __future__ import annotations

from ..errors import RemoteError
from .client import FallbackEstimator, RemotePoseEstimator, fetch_info, read_token

__all__ = ["FallbackEstimator", "RemoteError", "RemotePoseEstimator", "fetch_info", "read_token"]
