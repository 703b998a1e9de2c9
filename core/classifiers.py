"""One entry point for a classifier checkpoint of any kind, above the modules that run each kind.

A per-track skeleton or scene checkpoint is run by :class:`core.classify.TrackClassifier`; a video (RGB clip)
checkpoint (:data:`core.classify.VIDEO_CHECKPOINT_FORMAT`) by :class:`core.rgb.infer.VideoClassifier`. Both label
a video's frames with ``labels_for_frame(cache, frame_index)`` → ``{track_id: TrackLabel}``, so the player and the
app state take either. (This module sits above :mod:`core.classify` and :mod:`core.rgb`, which imports
:mod:`core.classify`; the choice cannot live in :mod:`core.classify` without an import cycle.)
"""

from __future__ import annotations

import os
from pathlib import Path

from .classify import TrackClassifier, load_checkpoint


def open_classifier(path: str | os.PathLike):
    """The classifier of checkpoint ``path``: a :class:`core.rgb.infer.VideoClassifier` for a video model, else a
    :class:`core.classify.TrackClassifier`.

    Raises:
        ModelError: missing or corrupt checkpoint, or weights that do not fit their model (one line).
    """
    if load_checkpoint(path).is_video:
        from .rgb.infer import VideoClassifier

        return VideoClassifier(path)
    return TrackClassifier(path)


def iter_open_classifier(path: str | os.PathLike, cancel=None):
    """Task generator (for :class:`gui.workers.GeneratorWorker`): :func:`open_classifier` off the GUI thread (the
    first load imports PyTorch, which takes seconds).

    Yields:
        one :class:`core.extract.Progress`. Returns: the classifier.

    Raises:
        ModelError: see :func:`open_classifier`.
    """
    from .extract import Progress

    yield Progress(0, 1, f"loading classifier {Path(path).name}")
    return open_classifier(path)
