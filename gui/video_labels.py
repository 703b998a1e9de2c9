"""Player labels from a video (RGB clip) model: window predictions computed in the background.

A :class:`core.rgb.infer.VideoClassifier` labels a video by sliding windows of frames, which needs the whole video
decoded once — seconds to minutes, so never on the GUI thread. :class:`VideoLabels` observes the app state
(``classifier``, ``skeletons``, ``video_path``): when a video model is the classifier and the open video's skeletons
are ready (the labels are drawn on the tracked persons, and fusion or per-track models read the skeletons), it runs
:meth:`~core.rgb.infer.VideoClassifier.iter_predict_video` in a :class:`gui.workers.GeneratorWorker` (progress in
the status bar) and, when the predictions are in, emits :attr:`core.state.AppState.labels_changed` so the player
redraws. Until then the persons carry no label.
"""

from __future__ import annotations

from PySide6.QtCore import QObject

from core.state import AppState

from .host import Host
from .workers import GeneratorWorker


class VideoLabels(QObject):
    """Keeps a video classifier's window predictions for the open video (see the module docstring).

    Args:
        state: the app state (observed: ``classifier``, ``skeletons``, ``video_path``).
        host: status-bar messages and errors; the worker is cancelled when the window closes.

    Attributes:
        worker: the running (or last) prediction worker, or None.
    """

    def __init__(self, state: AppState, host: Host):
        super().__init__(host)
        self.state = state
        self.host = host
        self.worker: GeneratorWorker | None = None
        ev = state.events
        ev.classifier.connect(lambda *_: self.update())
        ev.skeletons.connect(lambda *_: self.update())
        ev.video_path.connect(lambda *_: self.update())
        host.on_close(self.cancel)

    def cancel(self) -> None:
        """Stop the running prediction (if any)."""
        if self.worker is not None:
            self.worker.cancel()

    def update(self) -> GeneratorWorker | None:
        """Compute (or reuse) the open video's window predictions for the state's video classifier.

        Returns:
            The worker started, or None (no video model, no video or skeletons yet, or predictions already there).
        """
        st = self.state
        clf, path, cache = st.classifier, st.video_path, st.skeletons
        if clf is None or not getattr(clf, "is_video", False) or path is None or cache is None:
            self.cancel()
            return None
        if clf.select(path):
            st.labels_changed.emit()
            return None
        self.cancel()
        worker = GeneratorWorker(clf.iter_predict_video, path, None, None, cache)

        def current() -> bool:
            return worker is self.worker and st.classifier is clf and st.video_path == path

        def finished(preds) -> None:
            if current():
                clf.select(path)
                st.labels_changed.emit()
                self.host.show_message(f"labels by {clf.window_s:.2f}-s windows of {clf.path.name}: "
                                       f"{len(preds.probs)} windows", 8000)

        def failed(msg: str) -> None:
            if current():
                self.host.report_error(f"{clf.path.name} cannot label this video: {msg}")

        def progress(_done: int, _total: int, message: str) -> None:
            if current():
                self.host.show_message(message, 4000)

        worker.finished.connect(finished)
        worker.failed.connect(failed)
        worker.progress.connect(progress)
        self.worker = worker
        return worker.start()
