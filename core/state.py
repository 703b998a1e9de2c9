"""The application's state, without Qt: what is open and shown, and the choices that decide how work runs.

Modelled on napari's evented models (``components/viewer_model.py``): :class:`AppState` is a dataclass whose every
field emits a psygnal signal when it changes (``state.events.<field>(new, old)``; ``state.events`` also emits one
:class:`psygnal.EmissionInfo` per change). The Qt widgets in ``gui/`` observe it and change it; they do not talk to
each other, and none of them holds the main window::

    state = AppState()
    state.events.frame.connect(lambda new, old: redraw(new))
    state.open_video("clip.mp4")             # the first frame is decoded; video_path, video_info, frame change
    state.seek(120)                          # frame changes
    state.backend = "mediapipe"              # observers reload the skeletons

Decoding frames (:mod:`core.video`) is quick and runs where the state is changed (the GUI thread); computing
skeletons is not: :meth:`AppState.skeleton_task` says *what* to run (inside the open project or the per-user cache,
locally or on the remote worker, as :attr:`AppState.execution` says), the GUI runs it in a background thread and
sets :attr:`AppState.skeletons` when it is done.

Signals are emitted in the thread that changes the state; only :attr:`AppState.execution_reported` comes from
background threads (estimators reporting where they run): connect thread-safe callables to it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, ClassVar

from psygnal import Signal, evented

from .errors import PoseWatchError, VideoError
from .overlay import OverlayOptions
from .pose import DEFAULT_BACKEND, get_backend

#: Tasks whose pose estimation may run on a remote worker, and the choices for each.
TASKS: tuple[str, ...] = ("extract", "live")
EXECUTIONS: tuple[str, ...] = ("local", "remote")


@dataclass(frozen=True)
class RemoteWorker:
    """A remote worker the app is connected to (or reconnecting to after a drop).

    Attributes:
        url: ``ws(s)://host:port`` or ``http(s)://host:port``.
        token: the bearer token (never written to settings).
        cafile: a certificate (PEM) to trust for a TLS worker, or None (the system's CAs).
        backoff: seconds between reconnection attempts of tasks on it (None: ``reconnect.worker_backoff_s``).
    """

    url: str
    token: str
    cafile: str | None = None
    backoff: tuple[float, ...] | None = None


@evented
@dataclass(eq=False)
class AppState:
    """What PoseWatch has open and shows, and how its work runs. Every field is observable
    (``state.events.<field>.connect(callback)``, called with ``(new, old)``).

    Attributes:
        video_path: the open video file or frames folder (or the name of an imported skeleton sequence), or None.
        video_info: its :class:`core.video.VideoInfo` (frame count, fps, size), or None.
        frame: the displayed :class:`core.video.Frame` (``index`` 0-based, ``image`` BGR uint8 HxWx3), or None;
            ``pending`` while a seek that did not wait decodes it (:meth:`seek`, :meth:`finish_seek`).
        skeletons: the open video's :class:`core.cache.SkeletonCache` for :attr:`backend`, or None (not ready).
        classifier: the classifier labelling tracks, or None ("no model"): a :class:`core.classify.TrackClassifier`,
            or a :class:`core.rgb.infer.VideoClassifier` for an RGB clip model
            (:func:`core.classifiers.open_classifier`).
        backend: the pose backend (a name in :data:`core.pose.BACKENDS`).
        overlay: the overlay layers drawn (:class:`core.overlay.OverlayOptions`; replaced, never changed in place).
        project: the open :class:`core.project.Project`, or None.
        project_video: the open video's entry in the project (:class:`core.project.Video`), or None.
        execution: where each task's pose estimation runs: ``{"extract": "local" | "remote", "live": …}``.
        remote: the connected remote worker (:class:`RemoteWorker`), or None.
        playing: playback is running.
        extracting: skeletons are being loaded or computed in the background.

    Signals besides the fields':
        skeletons_requested(): someone asks for the open video's skeletons to be loaded or computed (the GUI runs
            :meth:`skeleton_task`).
        execution_reported(str, str, object): ``(task, one-line status, remote: bool | None)`` from an estimator of
            :meth:`estimator_factory` — emitted in background threads.
        labels_changed(): the classifier's labels of the open video changed without a field changing (a video
            model's window predictions arrived, :class:`gui.video_labels.VideoLabels`): observers redraw.
        project_written(): something besides the labeller wrote to the open project (an alert filed or taken back
            in the live view's event log): observers that show the project read it again.
    """

    video_path: str | None = None
    video_info: Any = None
    frame: Any = None
    skeletons: Any = None
    classifier: Any = None
    backend: str = DEFAULT_BACKEND
    overlay: OverlayOptions = field(default_factory=OverlayOptions)
    project: Any = None
    project_video: Any = None
    execution: dict = field(default_factory=lambda: {t: "local" for t in TASKS})
    remote: RemoteWorker | None = None
    playing: bool = False
    extracting: bool = False

    skeletons_requested: ClassVar[Signal] = Signal()
    execution_reported: ClassVar[Signal] = Signal(str, str, object)
    labels_changed: ClassVar[Signal] = Signal()
    project_written: ClassVar[Signal] = Signal()

    def __post_init__(self):
        self._source = None  # the open core.video.VideoSource (owned: closed with the video)
        self._shown = None  # while a seek is pending (seek(wait=False)): the decoded frame whose image is shown
        self._ahead = None  # a core.video.OpeningSource: the video open_ahead() opens in the background

    # ------------------------------------------------------------------ derived values
    @property
    def frame_index(self) -> int:
        """0-based index of the displayed frame (-1 without a video)."""
        return self.frame.index if self.frame is not None else -1

    @property
    def frame_count(self) -> int:
        """Frames of the open video (0 without one)."""
        return int(self.video_info.frame_count or 0) if self.video_info is not None else 0

    @property
    def fps(self) -> float:
        """Frame rate of the open video (0.0 without one)."""
        return float(self.video_info.fps) if self.video_info is not None else 0.0

    # ------------------------------------------------------------------ the open video
    def open_video(self, path: str | os.PathLike) -> None:
        """Open a video file or frames folder and show its first frame (the previous video is closed).

        Raises:
            VideoError: missing, unreadable, empty or live source (the previous video stays open).
        """
        from .video import open_source

        path = os.fspath(path)
        ahead, self._ahead = self._ahead, None
        if ahead is not None and ahead.spec == path:
            src = ahead.take()  # opened ahead (open_ahead): its error, if any, is the one open_source raised
        else:
            if ahead is not None:
                ahead.drop()
            src = open_source(path)
        if not src.info.seekable:
            src.close()
            raise VideoError(f"{path} is a live source; the player needs a video file or frames folder")
        self.open_source(src, path)

    def open_ahead(self, path: str | os.PathLike) -> None:
        """Start opening the video file ``path`` in the background because it will most likely be opened next (the
        next video of a review, :class:`core.video.OpeningSource`): :meth:`open_video` of the same path then takes
        it instead of opening the file on the caller's thread. Dropped by any other :meth:`open_video`,
        :meth:`open_source` or :meth:`close_video`, or a newer call. Never raises (an error shows at the open)."""
        from .video import OpeningSource

        path = os.fspath(path)
        if self._ahead is not None:
            if self._ahead.spec == path:
                return
            self._ahead.drop()
        self._ahead = OpeningSource(path)

    @property
    def opening_ahead(self) -> str | None:
        """The path being opened (or held opened) ahead by :meth:`open_ahead`, or None."""
        return self._ahead.spec if self._ahead is not None else None

    @property
    def opened_ahead(self) -> bool:
        """The opening of :attr:`opening_ahead` has finished (:meth:`open_video` of it then takes it at once)."""
        return self._ahead is not None and self._ahead.done

    def open_source(self, source, name: str, skeletons=None) -> None:
        """Show an already opened seekable :class:`core.video.VideoSource` (the state owns and closes it), e.g. a
        blank canvas for an imported skeleton sequence whose ``skeletons`` come with it.

        Raises:
            VideoError: its first frame cannot be decoded (``source`` is closed; the previous video stays open).
        """
        try:
            first = source.read(0)
        except PoseWatchError:
            source.close()
            raise
        self.close_video()
        self._source = source
        source.open_spare()  # a seek that does not wait decodes on the spare decoder: open it now, in the background
        with self.events.paused():  # one emission per field, after all of them hold the new video
            self.video_info = source.info
            self.skeletons = skeletons
            self.frame = first
            self.video_path = name

    def close_video(self) -> None:
        """Close the open video (playback stops; skeletons and frame are cleared)."""
        src, self._source = self._source, None
        self._shown = None
        if self._ahead is not None:
            self._ahead.drop()
            self._ahead = None
        with self.events.paused():
            self.playing = False
            self.frame = None
            self.skeletons = None
            self.video_info = None
            self.video_path = None
        if src is not None:
            from .video import close_in_background

            close_in_background(src)  # released a moment later, off the caller's (the GUI's) thread

    def seek(self, index: int, wait: bool = True) -> bool:
        """Show frame ``index`` (clamped to the video). Returns False without a video.

        With ``wait=False`` (the player's seeks that come from the user: a click or drag on the timeline, a key), a
        frame the video cannot return at once (:meth:`core.video.VideoSource.ready`) is decoded in the background
        instead: :attr:`frame` at once becomes a *pending* :class:`core.video.Frame` of that index holding the
        previous image, so everything that follows the frame index (overlay, timeline, in/out keys) moves without
        waiting for the decoder; :meth:`finish_seek`, called from the GUI's event loop, then shows the decoded image.
        This is how video editors keep scrubbing responsive; a newer seek replaces one still waiting.

        Raises:
            VideoError: the frame cannot be decoded (a truncated file: :attr:`video_info` then holds the frames that
                can; the displayed frame stays). With ``wait=False`` it is raised by :meth:`finish_seek` instead.
        """
        n = self.frame_count
        if self._source is None or n <= 0:
            return False
        index = min(max(int(index), 0), n - 1)
        if self.frame is not None and self.frame.index == index and (not wait or not self.frame.pending):
            return True
        if not wait and self.frame is not None and not self._source.ready(index):
            self._source.prefetch(index)
            if self._source.prefetching or self._source.ready(index):
                shown = self._shown if self.frame.pending else self.frame
                self._shown = shown
                from .video import Frame

                self.frame = Frame(index, index / max(self.fps, 1e-9), shown.image, pending=True)
                return True
        self._read(index)
        return True

    def _read(self, index: int) -> None:
        try:
            self.frame = self._source.read(index)
        except PoseWatchError:
            if self._source.info is not self.video_info:  # a truncated file shrank its frame count
                self.video_info = self._source.info
            if self.frame is not None and self.frame.pending:
                self.frame = self._shown  # the picture and the index shown agree again
            raise

    @property
    def seeking(self) -> bool:
        """A seek that did not wait is still decoding: :attr:`frame` is pending (see :meth:`seek`)."""
        return self.frame is not None and self.frame.pending

    def finish_seek(self) -> bool:
        """Show the pending frame's image if its decode is done (:meth:`seek` with ``wait=False``); call it from the
        event loop until it returns True. Returns True when no seek is pending any more.

        Raises:
            VideoError: the frame cannot be decoded; the frame shown before the seek is shown again.
        """
        if not self.seeking or self._source is None:
            return True
        index = self.frame.index
        if self._source.prefetching and self._source.prefetched != index:
            return False
        self._read(index)  # decoded ahead: the decoders trade at once; or it failed there: read says why
        return True

    def prefetch(self, index: int) -> None:
        """Hint that the player will soon be asked for frame ``index`` (e.g. the next suggestion to review): the open
        video decodes it ahead where it can (:meth:`core.video.VideoSource.prefetch`), so that :meth:`seek` finds it
        ready. Never raises; does nothing without a video."""
        if self._source is not None:
            self._source.prefetch(index)

    @property
    def prefetched(self) -> int | None:
        """The frame the open video has decoded ahead and holds ready (:meth:`prefetch`), or None."""
        return getattr(self._source, "prefetched", None)

    def set_overlay(self, **layers: bool | None) -> OverlayOptions:
        """Switch overlay layers (``skeleton``, ``boxes``, ``ids``, ``labels``; None leaves one as it is)."""
        changes = {k: bool(v) for k, v in layers.items() if v is not None}
        unknown = set(changes) - {"skeleton", "boxes", "ids", "labels"}
        if unknown:
            raise ValueError(f"unknown overlay layer(s) {', '.join(sorted(unknown))}")
        self.overlay = replace(self.overlay, **changes)
        return self.overlay

    def load_classifier(self, path: str | os.PathLike) -> Any:
        """Load a classifier checkpoint of any kind (:func:`core.classifiers.open_classifier`) and use it
        (:attr:`classifier`). Returns it.

        Raises:
            ModelError: missing or corrupt checkpoint, or weights that do not fit their model.
        """
        from .classifiers import open_classifier

        clf = open_classifier(path)
        self.classifier = clf
        return clf

    def request_skeletons(self) -> None:
        """Ask for the open video's skeletons to be loaded or computed (see :attr:`skeletons_requested`)."""
        if self.video_path is not None:
            self.skeletons_requested.emit()

    # ------------------------------------------------------------------ how work runs
    def set_execution(self, task: str, mode: str) -> None:
        """Run ``task``'s pose estimation ``"local"``-ly or on the ``"remote"`` worker.

        Raises:
            ValueError: unknown task or mode.
        """
        if task not in TASKS:
            raise ValueError(f"unknown task '{task}'; choose one of {', '.join(TASKS)}")
        if mode not in EXECUTIONS:
            raise ValueError(f"unknown execution '{mode}'; choose local or remote")
        if self.execution.get(task) != mode:
            self.execution = {**self.execution, task: mode}

    def use_remote(self, task: str) -> bool:
        """True when ``task`` runs on the worker: its choice is remote and a worker is connected.

        Raises:
            ValueError: unknown task.
        """
        if task not in TASKS:
            raise ValueError(f"unknown task '{task}'; choose one of {', '.join(TASKS)}")
        return self.execution.get(task) == "remote" and self.remote is not None

    def estimator_factory(self, task: str, local_kwargs: dict, remote_kwargs: dict | None = None
                          ) -> Callable[[], Any]:
        """A factory of the pose estimator ``task`` uses, decided now (the factory may run on any thread).

        Args:
            task: ``"extract"`` or ``"live"``.
            local_kwargs: arguments of :func:`core.pose.create_estimator`, with ``backend`` (default :attr:`backend`).
            remote_kwargs: more arguments of the remote estimator (``width``, ``classifier`` …).

        Returns:
            A callable building a :class:`core.pose.PoseEstimator`: when :meth:`use_remote`, a
            :class:`core.remote.client.FallbackEstimator` (the worker first, local inference while it is
            unreachable; its status goes to :attr:`execution_reported`), otherwise the local estimator.
        """
        from .remote.factory import estimator_factory

        kw = {"backend": self.backend, **local_kwargs}
        remote = self.remote if self.use_remote(task) else None

        def report(text: str, on_remote: bool | None) -> None:
            self.execution_reported.emit(task, text, on_remote)

        return estimator_factory(remote, kw, remote_kwargs, on_status=report)

    def skeleton_task(self, width: int | None = None) -> tuple[Callable, tuple, dict]:
        """What computes the open video's skeletons: ``(generator function, args, kwargs)`` for a background runner
        (:class:`gui.workers.GeneratorWorker`, or :func:`core.extract.run`). Inside the open project when the video
        belongs to it (:meth:`core.project.Project.iter_skeletons`), else in the per-user cache; on the remote worker
        when :meth:`use_remote` says so for ``"extract"``.

        Raises:
            PoseWatchError: no video is open.
        """
        if self.video_path is None:
            raise PoseWatchError("open a video first")
        get_backend(self.backend)  # ValueError for an unknown backend, before anything runs
        factory = None
        if self.use_remote("extract"):
            factory = self.estimator_factory("extract", {"frame_rate": self.fps or 30.0}, {"width": width})
        if self.project is not None and self.project_video is not None:
            return self.project.iter_skeletons, (self.project_video, self.backend), {"estimator_factory": factory,
                                                                                     "editable": True}
        from .extract import iter_skeletons

        return iter_skeletons, (self.video_path, self.backend), {"width": width, "estimator_factory": factory}

    def describe(self) -> str:
        """One line naming what is open, for window titles: ``"project P — clip.mp4"``."""
        parts = []
        if self.project is not None:
            parts.append(f"project {Path(self.project.folder).name}")
        if self.video_path is not None:
            v = self.project_video
            parts.append(v.name if v is not None and v.kind != "video" and v.name else Path(self.video_path).name)
        return " — ".join(parts)
