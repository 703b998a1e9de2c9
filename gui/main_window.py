"""PoseWatch's main window: the video player with the pose overlay, and the host of the panels.

The window is a view of :class:`core.state.AppState` (``window.state``): it shows the state's frame with the overlay
(:func:`core.overlay.draw_overlay`, labels from the state's classifier), keeps its controls in step with the state,
runs the state's skeleton task in the background (:class:`gui.workers.GeneratorWorker`) and plays by seeking the
state on a timer. The panels — labelling (:mod:`gui.labelling`, ``window.labelling``), training
(:mod:`gui.train_panel`), the remote worker (:mod:`gui.remote_panel`) and live detection (:mod:`gui.live_view`) —
get the same state and the window's :class:`gui.host.Host` (errors, messages, the action registry, docks); none of
them holds the window.

Frame convention: 0-based frame indices everywhere (the spin box shows the same index the CLI's
CSV uses); ``time = index / fps``.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSettings, Qt, QTimer, Signal, Slot
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QFontDatabase,
)
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSlider,
    QSpinBox,
    QStyle,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from core import config
from core.cache import SkeletonCache
from core.classifiers import iter_open_classifier
from core.classify import TrackClassifier
from core.defaults import DEFAULT_CLASSIFIERS, resolve_classifier, shipped_kind
from core.errors import PoseWatchError, describe_error
from core.overlay import OverlayOptions, TrackLabel, draw_overlay
from core.pose import BACKENDS, DEFAULT_BACKEND
from core.state import AppState
from core.track_edits import corrected_in_frame
from core.video import Frame, VideoInfo, VideoSource

from . import batch_panel, live_view, remote_panel
from .host import Host
from .labelling import Labeller
from .suggestions import Suggester
from .timeline import TimelineWidget
from .train_panel import TrainPanel
from .video_labels import VideoLabels
from .video_view import VideoView
from .workers import GeneratorWorker

log = logging.getLogger(__name__)

#: Playback speeds offered (multiples of the video's frame rate).
SPEEDS = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0)
#: Length of the recent-files list.
MAX_RECENT = 10
#: File-dialog filters (``file_filters`` in ``resources/default.yaml``).
VIDEO_FILTER = config.file_filter("video")
CHECKPOINT_FILTER = config.file_filter("checkpoint")

RECENT_KEY = "recent_files"
BACKEND_KEY = "backend"
#: QSettings key of the classifier choice: ``shipped:fight`` (default), ``shipped:fall``, ``shipped:abnormal``,
#: ``none`` or ``path:<file>``. The default is the fight model, trained on real CCTV clips: the AI-Hub abnormal-
#: behaviour model labelled people standing still "vandalism" and punches "normal" on such footage (issue 15).
CLASSIFIER_KEY = "classifier/choice"
DEFAULT_CLASSIFIER_CHOICE = "shipped:fight"
#: Display names of the shipped default classifiers.
SHIPPED_NAMES = {"abnormal": "abnormal behaviour", "fall": "falls", "fight": "fights"}

#: Keyboard shortcuts by action name (``shortcuts`` in ``resources/default.yaml``; the registry is
#: :attr:`MainWindow.actions`).
SHORTCUTS: dict[str, tuple[str, ...]] = config.shortcuts()
#: Named sections of the File and View menus, in order (panels put their entries into them by name).
FILE_SECTIONS = ("open", "project", "classifier", "quit")
VIEW_SECTIONS = ("layers", "zoom", "panels")


def format_time(seconds: float) -> str:
    """``mm:ss.mmm`` (minutes may exceed 59)."""
    ms = int(round(max(0.0, seconds) * 1000))
    m, rest = divmod(ms, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{m:02d}:{s:02d}.{ms:03d}"


class MainWindow(QMainWindow):
    """The PoseWatch player window.

    Args:
        settings: where recent files and the chosen backend are kept (default: the application's
            ``QSettings``); tests pass a temporary INI file.
        show_dialogs: show a (non-blocking) message box for every error as well as the status-bar
            line.
        auto_skeletons: load or compute the skeletons of every video opened (default); False leaves
            it to :meth:`compute_skeletons` (tests and scripts that need no poses).
        state: the app state to show (default: a new :class:`core.state.AppState`).

    Attributes:
        state: the :class:`core.state.AppState` the window shows and the panels share.
        host: the :class:`gui.host.Host` given to the panels.
        actions: the action registry (:class:`gui.host.ActionRegistry`): ``window.actions["play"]``.

    Signals (Qt mirrors of the state's changes, for code that waits on Qt signals):
        video_opened(str): a video was opened (its path).
        frame_changed(int): the displayed frame changed (its 0-based index).
        skeletons_ready(object): the :class:`~core.cache.SkeletonCache` of the open video is loaded.
        skeletons_failed(str): extraction failed (one-line message).
        classifier_changed(object): a :class:`~core.classify.TrackClassifier` was loaded, or None.
        playing_changed(bool): playback started or stopped.
        error_reported(str): an error line was shown to the user.
    """

    video_opened = Signal(str)
    frame_changed = Signal(int)
    skeletons_ready = Signal(object)
    skeletons_failed = Signal(str)
    classifier_changed = Signal(object)
    playing_changed = Signal(bool)
    error_reported = Signal(str)

    def __init__(self, settings: QSettings | None = None, show_dialogs: bool = True, parent: QWidget | None = None,
                 auto_skeletons: bool = True, state: AppState | None = None):
        super().__init__(parent)
        self.settings = settings if settings is not None else QSettings()
        self.auto_skeletons = auto_skeletons
        self.state = state if state is not None else AppState()
        backend = str(self.settings.value(BACKEND_KEY, DEFAULT_BACKEND))
        self.state.backend = backend if backend in BACKENDS else DEFAULT_BACKEND
        self.host = Host(self, self.settings, show_dialogs)
        self.host.error_reported.connect(self.error_reported.emit)
        self.actions = self.host.actions
        self._displayed: np.ndarray | None = None
        self._labels: dict[int, TrackLabel] | None = None
        self._classifier_gen = 0  # bumped by every classifier change; a late background load is then ignored
        self._motion_key: tuple[int, int] | None = None  # (classifier, cache) whose motion features are computing
        self._motion_worker: GeneratorWorker | None = None
        self._classifier_worker: GeneratorWorker | None = None
        self._worker: GeneratorWorker | None = None
        self._speed = 1.0
        self._play_clock = (0.0, 0)  # (monotonic start, frame at start)
        self._ticking = False  # a frame change made by the playback timer
        self._video_shown: str | None = None  # the video the window has taken in (see _on_video_path)

        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._on_tick)
        # a seek that did not wait (AppState.seek(wait=False)) is decoding: show its image as soon as it is ready
        self._seek_timer = QTimer(self)
        self._seek_timer.setInterval(4)
        self._seek_timer.timeout.connect(self._finish_seek)

        self.setWindowTitle("PoseWatch")
        self.setAcceptDrops(True)
        self.resize(1200, 700)  # fits a 1366x768 screen with its title bar
        # the right-hand docks (labelling, remote worker) take the full height; the Train dock sits under the video
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        self._build_menus()
        self._build_actions()
        self._build_ui()
        self.labelling = Labeller(self.state, self.host, self.view, self.timeline, self.player_area)
        self.suggestions = Suggester(self.state, self.host, self.labelling)  # model suggestions (issue 12)
        self.train_panel = TrainPanel(self.state, self.host)
        self.train_dock = self.host.add_dock("train", "Train", self.train_panel, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.remote_panel = remote_panel.install(self.state, self.host)  # View > Remote worker (issue 6)
        self.remote_dock = self.host.dock("remote")
        self.live_window = live_view.install(self.state, self.host)  # View > Live detection… (issue 5)
        self.video_labels = VideoLabels(self.state, self.host)  # an RGB clip model's window labels (issue 13)
        self.batch_panel = batch_panel.install(self.state, self.host)  # Project > Compute all skeletons (issue 14)
        self._observe_state()
        self._update_controls()
        self._update_classifier_label()  # then at each change of model (_on_classifier), not with every control
        QTimer.singleShot(0, self.restore_classifier)

    # ================================================================ construction
    def _action(self, name: str, text: str, slot, menu: str | None = None, section: str | None = None, **kw) -> QAction:
        return self.actions.add(name, text, slot, menu, section, **kw)

    def _build_menus(self) -> None:
        reg = self.actions
        reg.menu("File", "&File", FILE_SECTIONS)
        reg.menu("Playback", "&Playback")
        reg.menu("View", "&View", VIEW_SECTIONS)
        reg.menu("Poses", "P&oses")

    def _build_actions(self) -> None:
        sp = QStyle.StandardPixmap
        a = self._action
        a("open", "&Open video…", self._open_dialog, "File", "open", icon=sp.SP_DialogOpenButton)
        a("open_folder", "Open &frames folder…", self._open_folder_dialog, "File", "open", icon=sp.SP_DirOpenIcon)
        self.recent_menu = self.actions.submenu("File", "recent", "Open &recent", "open")
        self.recent_menu.aboutToShow.connect(self._rebuild_recent_menu)
        a("load_classifier", "Load &classifier…", self._load_classifier_dialog, "File", "classifier")
        a("unload_classifier", "&Unload classifier", self.unload_classifier, "File", "classifier")
        shipped = self.actions.submenu("File", "shipped", "Use a s&hipped classifier", "classifier")
        for kind in DEFAULT_CLASSIFIERS:
            act = a(f"shipped_{kind}", f"Shipped model: {SHIPPED_NAMES.get(kind, kind)}",
                    lambda _=False, k=kind: self.use_shipped_classifier(k, background=True))
            shipped.addAction(act)
        a("train", "&Train a classifier…", self.show_train_panel, "File", "classifier")
        a("quit", "&Quit", self.close, "File", "quit")
        self.actions["quit"].setMenuRole(QAction.MenuRole.QuitRole)
        a("play", "Play", self.toggle_play, "Playback", icon=sp.SP_MediaPlay, tip="Play / pause")
        self.actions.add_separator("Playback")
        a("prev_frame", "Previous frame", lambda: self.step(-1), "Playback", icon=sp.SP_MediaSeekBackward)
        a("next_frame", "Next frame", lambda: self.step(1), "Playback", icon=sp.SP_MediaSeekForward)
        a("back_second", "Back 1 s", lambda: self.step_seconds(-1.0), "Playback")
        a("forward_second", "Forward 1 s", lambda: self.step_seconds(1.0), "Playback")
        a("first_frame", "First frame", lambda: self.seek(0), "Playback", icon=sp.SP_MediaSkipBackward)
        a("last_frame", "Last frame", lambda: self.seek(self.frame_count - 1), "Playback",
          icon=sp.SP_MediaSkipForward)
        self.actions.add_separator("Playback")
        a("slower", "Slower", lambda: self._change_speed(-1), "Playback")
        a("faster", "Faster", lambda: self._change_speed(1), "Playback")
        self.actions.add_separator("Playback")
        a("goto_frame", "Go to frame…", self._focus_frame_box, "Playback")
        for name, text in (("skeleton", "&Skeleton"), ("boxes", "&Boxes"), ("ids", "Track &IDs"), ("labels", "&Labels")):
            a(name, text, lambda on, n=name: self.set_overlay(**{n: on}), "View", "layers", checkable=True,
              checked=getattr(self.state.overlay, name))
        a("fit", "&Fit to window", lambda: self.view.fit(), "View", "zoom")
        a("zoom_in", "Zoom &in", lambda: self.view.zoom_in(), "View", "zoom")
        a("zoom_out", "Zoom &out", lambda: self.view.zoom_out(), "View", "zoom")
        a("actual_size", "&Actual size", lambda: self.view.zoom_actual_size(), "View", "zoom")
        bm = self.actions.submenu("Poses", "backend", "&Backend")
        self._backend_group = QActionGroup(self)
        self._backend_actions: dict[str, QAction] = {}
        for b in BACKENDS:
            act = bm.addAction(b)
            act.setCheckable(True)
            act.setChecked(b == self.state.backend)
            act.triggered.connect(lambda _=False, name=b: self.set_backend(name))
            self._backend_group.addAction(act)
            self._backend_actions[b] = act
        a("compute_skeletons", "&Compute skeletons", self.compute_skeletons, "Poses")
        a("cancel_skeletons", "Cancel skeleton e&xtraction", self.cancel_skeletons, "Poses")
        self._rebuild_recent_menu()

    def _tool_button(self, action: QAction) -> QToolButton:
        b = QToolButton()
        b.setDefaultAction(action)
        b.setAutoRaise(True)
        b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        return b

    def _build_ui(self) -> None:
        self.view = VideoView()
        self.view.setAcceptDrops(False)
        self.view.viewport().setAcceptDrops(False)  # drops go to the window

        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.slider.setToolTip("Seek")
        self.slider.valueChanged.connect(self._on_slider)

        self.frame_box = QSpinBox()
        self.frame_box.setKeyboardTracking(False)
        self.frame_box.setToolTip("Frame number (0-based); type a frame and press Enter (Ctrl+G)")
        self.frame_box.setAccelerated(True)
        self.frame_box.valueChanged.connect(self._on_frame_box)
        self.frame_box.editingFinished.connect(self.view.setFocus)

        self.time_label = QLabel(format_time(0) + " / " + format_time(0))
        self.time_label.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.time_label.setToolTip("Position / duration (mm:ss.mmm)")
        self.time_label.setMinimumWidth(self.time_label.fontMetrics().horizontalAdvance("00:00.000 / 00:00.000 ") + 4)

        self.speed_box = QComboBox()
        for s in SPEEDS:
            self.speed_box.addItem(f"{s:g}×", s)
        self.speed_box.setCurrentIndex(SPEEDS.index(1.0))
        self.speed_box.setToolTip("Playback speed ([ slower, ] faster)")
        self.speed_box.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.speed_box.currentIndexChanged.connect(lambda i: self.set_speed(SPEEDS[i]))

        transport = QHBoxLayout()
        transport.setContentsMargins(6, 2, 6, 2)
        for name in ("first_frame", "back_second", "prev_frame", "play", "next_frame", "forward_second", "last_frame"):
            transport.addWidget(self._tool_button(self.actions[name]))
        self.actions["back_second"].setText("−1 s")
        self.actions["forward_second"].setText("+1 s")
        transport.addSpacing(6)
        transport.addWidget(self.slider, 1)
        transport.addSpacing(8)
        transport.addWidget(QLabel("Frame"))
        transport.addWidget(self.frame_box)
        transport.addSpacing(8)
        transport.addWidget(self.time_label)
        transport.addSpacing(8)
        transport.addWidget(QLabel("Speed"))
        transport.addWidget(self.speed_box)

        # the labelling timeline (shown while a project is open) sits under the video; Enter, Delete
        # and Backspace act on clips only while the focus is in this area (not in the frame box)
        self.timeline = TimelineWidget()
        self.timeline.hide()
        self.player_area = QWidget()
        pa = QVBoxLayout(self.player_area)
        pa.setContentsMargins(0, 0, 0, 0)
        pa.setSpacing(0)
        pa.addWidget(self.view, 1)
        pa.addWidget(self.timeline)

        central = QWidget()
        lay = QVBoxLayout(central)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.player_area, 1)
        lay.addLayout(transport)
        self.setCentralWidget(central)

        tb = QToolBar("Main")
        tb.setObjectName("main_toolbar")
        tb.setMovable(False)
        tb.addAction(self.actions["open"])
        tb.addSeparator()
        tb.addWidget(QLabel(" Pose backend "))
        self.backend_box = QComboBox()
        self.backend_box.addItems(list(BACKENDS))
        self.backend_box.setCurrentText(self.state.backend)
        self.backend_box.setToolTip("Pose backend: switching loads or computes the skeletons again")
        self.backend_box.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.backend_box.currentTextChanged.connect(self.set_backend)
        tb.addWidget(self.backend_box)
        tb.addSeparator()
        tb.addWidget(QLabel(" Overlay "))
        for name in ("skeleton", "boxes", "ids", "labels"):
            tb.addAction(self.actions[name])
        tb.addSeparator()
        self.classifier_label = QLabel()
        tb.addWidget(self.classifier_label)
        self.addToolBar(tb)
        for w in tb.findChildren(QToolButton):
            w.setFocusPolicy(Qt.FocusPolicy.NoFocus)

        sb = self.statusBar()
        self.progress_bar = QProgressBar()
        self.progress_bar.setMaximumWidth(260)
        self.progress_bar.setTextVisible(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop computing skeletons (Esc)")
        self.cancel_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.cancel_button.clicked.connect(self.cancel_skeletons)
        self.info_label = QLabel()
        sb.addPermanentWidget(self.progress_bar)
        sb.addPermanentWidget(self.cancel_button)
        sb.addPermanentWidget(self.info_label)
        self.progress_bar.hide()
        self.cancel_button.hide()
        self.view.setFocus()

    def show_train_panel(self) -> None:
        """Show the Train panel (a dock): train a classifier on the project or an export."""
        self.train_dock.show()
        self.train_dock.raise_()

    # ================================================================ the state, observed
    def _observe_state(self) -> None:
        ev = self.state.events
        ev.video_path.connect(self._on_video_path)
        ev.video_info.connect(lambda *_: self._update_controls())
        ev.frame.connect(self._on_frame)
        ev.skeletons.connect(self._on_skeletons)
        ev.classifier.connect(self._on_classifier)
        ev.backend.connect(self._on_backend)
        ev.overlay.connect(self._on_overlay)
        ev.playing.connect(self._on_playing)
        ev.project.connect(lambda *_: self._update_title())
        ev.project_video.connect(self._on_project_video)
        self.state.skeletons_requested.connect(self.compute_skeletons)
        self.state.labels_changed.connect(self._render)

    def _on_video_path(self, path: str | None, _old: str | None) -> None:
        self._stop_worker()
        self._video_shown = None  # until the labelling mode has taken the video in (see _on_project_video)
        self._update_controls()
        self._update_info()
        self._update_title()
        if path is None:
            self._render()
            self.labelling.on_video_closed()
            return
        self.view.fit()
        # the labelling mode first: the video joins the open project, so its skeletons are the project's
        self.labelling.on_video_opened(path)
        self._video_shown = path
        if os.path.exists(path):
            self.add_recent_file(path)
        self.frame_changed.emit(self.current_frame_index)
        self.video_opened.emit(path)
        self.host.show_message(f"opened {path}")
        if self.auto_skeletons and self.state.skeletons is None:
            self.compute_skeletons()

    def _on_project_video(self, _new, _old) -> None:
        self._update_title()
        # a project opened (or closed) while its video is shown: its skeletons come from the project folder now
        if self.auto_skeletons and self._video_shown is not None and self._video_shown == self.state.video_path:
            self.compute_skeletons()

    def _on_frame(self, frame: Frame | None, _old) -> None:
        if frame is not None and self.is_playing and not self._ticking:
            self._play_clock = (time.monotonic(), frame.index)  # a seek during playback goes on from there
        self._render()
        if frame is not None and frame.pending and not self._seek_timer.isActive():
            self._seek_timer.start()
        if frame is not None and self._video_shown == self.state.video_path:
            self.frame_changed.emit(frame.index)

    @Slot()
    def _finish_seek(self) -> None:
        try:
            done = self.state.finish_seek()
        except PoseWatchError as e:
            done = True
            self.pause()
            self.report_error(str(e))
        if done:
            self._seek_timer.stop()

    def _on_skeletons(self, cache: SkeletonCache | None, _old) -> None:
        if cache is not None and self._worker is not None:
            self._stop_worker()  # set from outside (an imported sequence): the running extraction is not needed
        self._update_controls()
        self._update_info()
        self._render()
        if cache is None:
            return
        n = len(cache.track_ids())
        note = ""
        if "truncated_at" in cache.meta:
            note = f"; the file ends early, only {cache.meta['truncated_at']} frames could be decoded"
        self.host.show_message(f"skeletons ready ({self.backend}): {n} tracks in {cache.frame_count} frames{note}", 8000)
        self.skeletons_ready.emit(cache)

    def _on_classifier(self, clf: TrackClassifier | None, _old) -> None:
        self._classifier_gen += 1  # a late background load of an older choice is ignored
        if clf is not None:
            kind = shipped_kind(clf.path)
            self.settings.setValue(CLASSIFIER_KEY, f"shipped:{kind}" if kind else f"path:{Path(clf.path).resolve()}")
            self.host.show_message(f"classifier loaded: {self._classifier_name(clf)} ({', '.join(clf.label_names)})")
        self._update_classifier_label()
        self._render()
        self.classifier_changed.emit(clf)

    def _on_backend(self, backend: str, _old: str) -> None:
        if self.backend_box.currentText() != backend:
            self.backend_box.blockSignals(True)
            self.backend_box.setCurrentText(backend)
            self.backend_box.blockSignals(False)
        if backend in self._backend_actions:
            self._backend_actions[backend].setChecked(True)
        self.settings.setValue(BACKEND_KEY, backend)
        if self.state.video_path is not None:
            self.compute_skeletons()

    def _on_overlay(self, overlay: OverlayOptions, _old) -> None:
        for name in ("skeleton", "boxes", "ids", "labels"):
            act = self.actions[name]
            if act.isChecked() != getattr(overlay, name):
                act.blockSignals(True)
                act.setChecked(getattr(overlay, name))
                act.blockSignals(False)
        self._render()

    def _on_playing(self, playing: bool, _old: bool) -> None:
        if playing and not self._timer.isActive():
            self._play_clock = (time.monotonic(), self.current_frame_index)
            self._timer.start(self._timer_interval())
        elif not playing and self._timer.isActive():
            self._timer.stop()
        self._update_play_action()
        self.playing_changed.emit(bool(playing))

    def _update_title(self) -> None:
        what = self.state.describe()
        self.setWindowTitle(f"PoseWatch — {what}" if what else "PoseWatch")

    # ================================================================ state (read-only API)
    @property
    def video_path(self) -> str | None:
        """Path of the open video or frames folder, or None."""
        return self.state.video_path

    @property
    def video_info(self) -> VideoInfo | None:
        """:class:`~core.video.VideoInfo` of the open video, or None."""
        return self.state.video_info

    @property
    def frame_count(self) -> int:
        """Number of frames of the open video (0 if none)."""
        return self.state.frame_count

    @property
    def fps(self) -> float:
        """Frame rate of the open video (0 if none)."""
        return self.state.fps

    @property
    def current_frame_index(self) -> int:
        """0-based index of the displayed frame (-1 if no video)."""
        return self.state.frame_index

    def current_frame(self) -> Frame | None:
        """The displayed frame as decoded, without overlay."""
        return self.state.frame

    def current_image(self) -> np.ndarray | None:
        """The displayed BGR image, overlay included (what the view shows)."""
        return self._displayed

    @property
    def current_labels(self) -> dict[int, TrackLabel] | None:
        """Labels drawn on the displayed frame: ``{track_id: TrackLabel}`` from the classifier (empty while a motion
        model's optical flow is being computed: the overlay says "…"), or None when no classifier is loaded (the
        overlay then says "no model")."""
        return self._labels

    @property
    def skeletons(self) -> SkeletonCache | None:
        """Skeleton cache of the open video for the current backend, or None (not ready)."""
        return self.state.skeletons

    @property
    def classifier(self) -> TrackClassifier | None:
        """The loaded classifier, or None."""
        return self.state.classifier

    @property
    def backend(self) -> str:
        """Pose backend in use (``yolo`` or ``mediapipe``)."""
        return self.state.backend

    @property
    def overlay_options(self) -> OverlayOptions:
        """A copy of the overlay layer toggles."""
        return replace(self.state.overlay)

    @property
    def speed(self) -> float:
        """Playback speed factor."""
        return self._speed

    @property
    def is_playing(self) -> bool:
        """True during playback."""
        return self._timer.isActive()

    @property
    def is_extracting(self) -> bool:
        """True while skeletons are being loaded or computed in the background."""
        return self._worker is not None

    @property
    def show_dialogs(self) -> bool:
        """Errors also open a non-blocking message box."""
        return self.host.show_dialogs

    @property
    def last_error(self) -> str | None:
        """The last error line shown to the user."""
        return self.host.last_error

    @property
    def message_box(self) -> QMessageBox | None:
        """The (non-modal) error message box, once one was shown."""
        return self.host.message_box

    # ================================================================ errors
    def report_error(self, message: str) -> None:
        """Show a one-line error in the status bar and (unless disabled) a non-blocking message box."""
        self.host.report_error(message)

    # ================================================================ opening videos
    def open_video(self, path: str | os.PathLike) -> bool:
        """Open a video file or frames folder and start loading its skeletons in the background.

        The video is playable at once; the overlay appears when :attr:`skeletons_ready` fires.
        On failure the previous video stays open and the error is reported.

        Returns:
            True if the video was opened.
        """
        path = os.fspath(path)
        try:
            self.state.open_video(path)
        except PoseWatchError as e:
            self.report_error(str(e))
            return False
        except Exception as e:  # noqa: BLE001 - a bad file must never crash the window
            log.exception("opening %s", path)
            self.report_error(f"cannot open {path}: {describe_error(e)}")
            return False
        return True

    def open_source_object(self, src: VideoSource, path: str, skeletons: SkeletonCache | None = None) -> bool:
        """Show an already opened seekable source (``path`` names it; its ``skeletons`` may come with it); the
        state owns and closes it. Used for imported skeleton sequences (a blank canvas).

        Returns:
            True if its first frame could be shown (else ``src`` is closed and the error reported).
        """
        try:
            self.state.open_source(src, path, skeletons)
        except PoseWatchError as e:
            self.report_error(str(e))
            return False
        return True

    def close_video(self) -> None:
        """Close the open video (stops playback and any skeleton extraction)."""
        self.state.close_video()

    def _open_dialog(self) -> None:
        start = str(Path(self.video_path).parent) if self.video_path else ""
        path, _ = QFileDialog.getOpenFileName(self, "Open video", start, VIDEO_FILTER)
        if path:
            self.open_video(path)

    def _open_folder_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open frames folder", "")
        if path:
            self.open_video(path)

    # ---------------------------------------------------------------- recent files
    def recent_files(self) -> list[str]:
        """Recently opened paths, newest first (at most :data:`MAX_RECENT`)."""
        v = self.settings.value(RECENT_KEY, [])
        if v is None:
            return []
        if isinstance(v, str):
            v = [v] if v else []
        return [str(p) for p in v][:MAX_RECENT]

    def _set_recent(self, paths: list[str]) -> None:
        self.settings.setValue(RECENT_KEY, paths[:MAX_RECENT])
        self.settings.sync()
        self._rebuild_recent_menu()

    def add_recent_file(self, path: str) -> None:
        """Put ``path`` first in the recent-files list."""
        p = os.path.abspath(path)
        self._set_recent([p] + [q for q in self.recent_files() if q != p])

    def open_recent(self, path: str) -> bool:
        """Open a recent file; a path that no longer exists is removed from the list with a message."""
        if not os.path.exists(path):
            self._set_recent([q for q in self.recent_files() if q != path])
            self.report_error(f"no longer exists, removed from recent files: {path}")
            return False
        return self.open_video(path)

    def rebuild_recent_menu(self) -> None:
        """Fill the *Open recent* menu from :meth:`recent_files` (also done each time it is shown)."""
        self._rebuild_recent_menu()

    def _rebuild_recent_menu(self) -> None:
        m = self.recent_menu
        m.clear()
        recent = self.recent_files()
        for i, p in enumerate(recent):
            act = m.addAction(f"&{(i + 1) % 10} {Path(p).name}")
            act.setToolTip(p)
            act.setStatusTip(p)
            act.triggered.connect(lambda _=False, q=p: self.open_recent(q))
        if recent:
            m.addSeparator()
            m.addAction("Clear list", lambda: self._set_recent([]))
        else:
            m.addAction("(none)").setEnabled(False)

    # ---------------------------------------------------------------- drag and drop
    @staticmethod
    def _dropped_path(event) -> str | None:
        md = event.mimeData()
        if not md.hasUrls():
            return None
        for url in md.urls():
            if url.isLocalFile():
                return url.toLocalFile()
        return None

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 (Qt override)
        """Accept a dragged local file or folder."""
        if self._dropped_path(event):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:  # noqa: N802 (Qt override)
        """Keep accepting while a local file is dragged over the window."""
        self.dragEnterEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 (Qt override)
        """Open the dropped video file or frames folder."""
        path = self._dropped_path(event)
        if path:
            event.acceptProposedAction()
            QTimer.singleShot(0, lambda: self.open_video(path))
        else:
            event.ignore()

    # ================================================================ frames and rendering
    def seek(self, frame: int, wait: bool = True) -> bool:
        """Show frame ``frame`` (clamped to the video). Returns False if it could not be decoded.

        ``wait=False`` (the slider, the frame box, frame steps): a frame that takes decoding is shown when the
        decoder has it, and the window goes on meanwhile (:meth:`core.state.AppState.seek`)."""
        if self.state.video_path is None:
            return False
        try:
            return self.state.seek(frame, wait=wait)
        except PoseWatchError as e:
            # a truncated file shrinks its frame count when decoding fails; the state keeps the ranges in step
            self.pause()
            self.report_error(str(e))
            return False

    def step(self, frames: int) -> bool:
        """Move ``frames`` frames forward (negative: back)."""
        return self.seek(self.current_frame_index + int(frames), wait=False)

    def step_seconds(self, seconds: float) -> bool:
        """Move ``round(seconds × fps)`` frames."""
        return self.step(int(round(seconds * self.fps)))

    def _render(self) -> None:
        fr = self.state.frame
        if fr is None:
            self.view.set_image(None)
            self._displayed = None
            self._labels = None
            self._update_position()
            return
        image, labels = fr.image, None
        o = self.state.overlay
        cache = self.state.skeletons
        if cache is not None and fr.index < cache.frame_count and (o.skeleton or o.boxes or o.ids or o.labels):
            poses = cache.poses(fr.index)
            if self.state.classifier is not None:
                labels = self._labels_for(cache, fr.index)
            image = draw_overlay(fr.image, poses, labels, o, corrected_in_frame(cache, fr.index))
        self._labels = labels
        self._displayed = image
        self.view.set_image(image)
        self._update_position()

    def _labels_for(self, cache: SkeletonCache, index: int) -> dict[int, TrackLabel] | None:
        clf = self.state.classifier
        if getattr(clf, "needs_motion", False) and not clf.motion_ready(cache):
            self._start_motion(clf, cache)  # the fight model needs the video's optical flow: in the background
            return {}  # a model is loaded, its labels are pending: the overlay says "…", not "no model"
        try:
            return clf.labels_for_frame(cache, index)
        except Exception as e:  # noqa: BLE001 - a checkpoint that does not fit must not break playback
            log.exception("classifier failed")
            self.state.classifier = None  # observers redraw without labels
            self.report_error(f"classifier {clf.path.name} failed on this video and was unloaded: {describe_error(e)}")
            return None

    def _start_motion(self, clf: TrackClassifier, cache: SkeletonCache) -> None:
        """Compute the open video's motion features for a motion scene model in the background (once per
        classifier and cache); the labels appear when they are ready."""
        from core.motion import iter_video_motion

        key = (id(clf), id(cache))
        if self._motion_key == key or self.state.video_path is None:
            return
        if self._motion_worker is not None:
            self._motion_worker.cancel()
        self._motion_key = key
        worker = GeneratorWorker(iter_video_motion, self.state.video_path, cache)
        worker.progress.connect(lambda d, t, m: self.host.show_message(
            f"{m}: {100 * d // max(t, 1)} % (the fight model judges motion too; labels follow)", 3000))

        def done(arr, clf=clf, cache=cache):
            clf.set_motion(cache, arr)
            if self.state.classifier is clf and self.state.skeletons is cache:
                self.refresh()

        def failed(msg, clf=clf):
            if self.state.classifier is clf:
                self.report_error(f"{clf.path.name} needs the video's motion features: {msg}")

        worker.finished.connect(done)
        worker.failed.connect(failed)
        self._motion_worker = worker
        worker.start()

    def refresh(self) -> None:
        """Redraw the current frame (after changing overlay options, classifier or skeletons)."""
        self._render()

    # ================================================================ playback
    def play(self) -> None:
        """Start playback at ``fps × speed`` (from the start if at the last frame)."""
        if self.state.video_path is None or self.is_playing:
            return
        if self.current_frame_index >= self.frame_count - 1:
            self.seek(0)
        self.state.playing = True

    def pause(self) -> None:
        """Stop playback."""
        self.state.playing = False

    def toggle_play(self) -> None:
        """Play or pause."""
        self.pause() if self.is_playing else self.play()

    def set_speed(self, speed: float) -> None:
        """Set the playback speed factor (one of :data:`SPEEDS` is shown in the combo box)."""
        speed = float(speed)
        if speed <= 0:
            raise ValueError("speed must be positive")
        self._speed = speed
        if speed in SPEEDS and self.speed_box.currentIndex() != SPEEDS.index(speed):
            self.speed_box.blockSignals(True)
            self.speed_box.setCurrentIndex(SPEEDS.index(speed))
            self.speed_box.blockSignals(False)
        if self.is_playing:
            self._play_clock = (time.monotonic(), self.current_frame_index)
            self._timer.setInterval(self._timer_interval())
        self.host.show_message(f"speed {speed:g}×", 2000)

    def _change_speed(self, delta: int) -> None:
        i = min(range(len(SPEEDS)), key=lambda k: abs(SPEEDS[k] - self._speed))
        self.set_speed(SPEEDS[min(max(i + delta, 0), len(SPEEDS) - 1)])

    def _timer_interval(self) -> int:
        rate = max(self.fps, 1.0) * self._speed
        return max(4, int(round(1000.0 / rate)))

    @Slot()
    def _on_tick(self) -> None:
        # Frame from the wall clock, so slow decoding drops frames instead of slowing time down.
        t0, f0 = self._play_clock
        target = f0 + int((time.monotonic() - t0) * self.fps * self._speed)
        last = self.frame_count - 1
        self._ticking = True
        try:
            if target >= last:
                self.seek(last)
                self.pause()
                return
            if target != self.current_frame_index and not self.seek(target):
                self.pause()
        finally:
            self._ticking = False

    # ================================================================ overlay
    def set_overlay(self, skeleton: bool | None = None, boxes: bool | None = None, ids: bool | None = None,
                    labels: bool | None = None) -> None:
        """Switch overlay layers on or off (None leaves a layer as it is) and redraw."""
        self.state.set_overlay(skeleton=skeleton, boxes=boxes, ids=ids, labels=labels)

    # ================================================================ skeletons
    def set_backend(self, backend: str) -> None:
        """Use pose backend ``backend``; reloads or recomputes the open video's skeletons."""
        if backend not in BACKENDS:
            self.report_error(f"unknown pose backend '{backend}'; choose one of {', '.join(BACKENDS)}")
            self._on_backend(self.state.backend, self.state.backend)  # the controls back to the one in use
            return
        self.state.backend = backend

    def compute_skeletons(self) -> None:
        """Load (from the on-disk cache) or compute the open video's skeletons in the background, as the state's
        skeleton task says (inside the open project, on the remote worker when extraction runs there).

        The overlay disappears until :attr:`skeletons_ready` fires; the video stays playable.
        """
        if self.state.video_path is None:
            return
        self._stop_worker()
        self.state.skeletons = None
        try:
            func, args, kwargs = self.state.skeleton_task()
        except (PoseWatchError, ValueError) as e:
            self.report_error(f"skeletons not available ({self.backend}): {e}")
            return
        worker = GeneratorWorker(func, *args, **kwargs)
        worker.progress.connect(lambda d, t, m, w=worker: self._on_extract_progress(w, d, t, m))
        worker.finished.connect(lambda res, w=worker: self._on_extract_finished(w, res))
        worker.failed.connect(lambda msg, w=worker: self._on_extract_failed(w, msg))
        worker.cancelled.connect(lambda w=worker: self._on_extract_cancelled(w))
        self._worker = worker
        self.state.extracting = True
        self.progress_bar.setRange(0, 0)
        self.progress_bar.setFormat(f"{self.backend}: starting")
        self.progress_bar.show()
        self.cancel_button.show()
        self._update_controls()
        worker.start()

    def set_skeletons(self, cache: SkeletonCache) -> None:
        """Use ``cache`` as the open video's skeletons (stops a running extraction); emits
        :attr:`skeletons_ready`. For skeletons that are already loaded (imported sequences)."""
        if self.state.video_path is None:
            return
        self._stop_worker()
        self.state.skeletons = cache

    def cancel_skeletons(self) -> None:
        """Stop a running skeleton extraction (the video stays open, without overlay)."""
        if self._worker is not None:
            self._worker.cancel()
            self.cancel_button.setEnabled(False)
            self.progress_bar.setFormat("cancelling…")

    def _stop_worker(self) -> None:
        if self._worker is not None:
            self._worker.cancel()  # it finishes on its own; its late signals are ignored
            self._worker = None
        self.state.extracting = False
        self.progress_bar.hide()
        self.cancel_button.hide()
        self.cancel_button.setEnabled(True)

    def _on_extract_progress(self, worker: GeneratorWorker, done: int, total: int, message: str) -> None:
        if worker is not self._worker:
            return
        if total > 0:
            self.progress_bar.setRange(0, total)
            self.progress_bar.setValue(min(done, total))
            self.progress_bar.setFormat(f"{self.backend}: {message} %v/%m")
        else:
            self.progress_bar.setRange(0, 0)
            self.progress_bar.setFormat(f"{self.backend}: {message}")

    def _on_extract_finished(self, worker: GeneratorWorker, cache: SkeletonCache) -> None:
        if worker is not self._worker:
            return
        self._worker = None
        self._stop_worker()
        self.state.skeletons = cache

    def _on_extract_failed(self, worker: GeneratorWorker, message: str) -> None:
        if worker is not self._worker:
            return
        self._worker = None
        self._stop_worker()
        self._update_controls()
        self.report_error(f"skeletons not available ({self.backend}): {message}")
        self.skeletons_failed.emit(message)

    def _on_extract_cancelled(self, worker: GeneratorWorker) -> None:
        if worker is not self._worker:
            return
        self._worker = None
        self._stop_worker()
        self._update_controls()
        self.host.show_message("skeleton extraction cancelled; Poses > Compute skeletons (Ctrl+E) starts it again",
                               10000)

    # ================================================================ classifier
    def load_classifier(self, path: str | os.PathLike) -> bool:
        """Load a classifier checkpoint; labels then come from it, and it is remembered for the next start.
        Returns False (and reports) if bad."""
        try:
            self.state.load_classifier(path)
        except PoseWatchError as e:
            self.report_error(str(e))
            return False
        except Exception as e:  # noqa: BLE001
            log.exception("loading classifier %s", path)
            self.report_error(f"cannot load classifier {path}: {describe_error(e)}")
            return False
        return True

    def use_shipped_classifier(self, kind: str, background: bool = False) -> bool:
        """Load the shipped default classifier ``kind`` (``fight``, ``fall`` or ``abnormal``, see
        :mod:`core.defaults`); ``background``: off the GUI thread (:meth:`load_classifier_in_background`, what the
        menu does), True once started."""
        try:
            path = resolve_classifier(kind)
        except PoseWatchError as e:
            self.report_error(str(e))
            return False
        if background:
            self.load_classifier_in_background(path)
            return True
        return self.load_classifier(path)

    def load_classifier_in_background(self, path: str | os.PathLike) -> GeneratorWorker:
        """Load a classifier checkpoint off the GUI thread (the first load imports PyTorch: seconds), saying so in
        the status bar; it is used when loaded unless another one was chosen meanwhile (the last choice wins). A bad
        checkpoint is reported in one line. Returns the worker (:attr:`classifier_worker`)."""
        self._classifier_gen += 1  # an earlier load still running is then ignored
        self.host.show_message(f"loading classifier {Path(path).name}…", 10000)
        return self._start_classifier_load(Path(path))

    def _start_classifier_load(self, path: Path) -> GeneratorWorker:
        """Load ``path`` in the background; its result is used (or its error reported) only if no other classifier
        was chosen since (:attr:`_classifier_gen` unchanged)."""
        gen = self._classifier_gen
        worker = GeneratorWorker(iter_open_classifier, path, cancel_kw=None)
        worker.finished.connect(lambda clf: self._restored(clf) if gen == self._classifier_gen else None)
        worker.failed.connect(lambda msg: self.report_error(f"cannot load classifier {path.name}: {msg}")
                              if gen == self._classifier_gen else None)
        self._classifier_worker = worker
        return worker.start()

    @property
    def classifier_worker(self) -> GeneratorWorker | None:
        """The last background classifier load (None: none started)."""
        return self._classifier_worker

    def unload_classifier(self) -> None:
        """Forget the classifier; the overlay says "no model" again (also after a restart)."""
        self._classifier_gen += 1
        self.settings.setValue(CLASSIFIER_KEY, "none")
        if self.state.classifier is None:
            return
        self.state.classifier = None
        self.host.show_message("classifier unloaded")

    @property
    def classifier_choice(self) -> str:
        """The remembered choice (:data:`CLASSIFIER_KEY`): ``shipped:<kind>``, ``path:<file>`` or ``none``."""
        return str(self.settings.value(CLASSIFIER_KEY, DEFAULT_CLASSIFIER_CHOICE))

    def restore_classifier(self) -> GeneratorWorker | None:
        """Load the remembered classifier — by default the shipped fight model, so the player
        labels persons before the user has trained anything — in a background thread (the first load
        imports PyTorch). A remembered checkpoint that is gone falls back to the shipped default with a
        message. Returns the worker (None when there is nothing to load)."""
        choice = self.classifier_choice
        if choice == "none" or self.state.classifier is not None:
            return None
        path: Path | None = None
        try:
            if choice.startswith("path:"):
                path = Path(choice[5:])
                if not path.is_file():
                    self.host.show_message(f"remembered classifier {path} is gone; using the shipped default", 10000)
                    path = None
            elif choice.startswith("shipped:"):
                path = resolve_classifier(choice[8:])
            if path is None:
                path = resolve_classifier(DEFAULT_CLASSIFIER_CHOICE[8:])
        except PoseWatchError as e:
            self.host.show_message(f"no classifier: {e}", 10000)
            return None
        return self._start_classifier_load(path)

    def _restored(self, clf: TrackClassifier) -> None:
        self.state.classifier = clf

    @staticmethod
    def _classifier_name(clf: TrackClassifier) -> str:
        kind = shipped_kind(clf.path)
        return f"{SHIPPED_NAMES.get(kind, kind)} (shipped)" if kind else clf.path.name

    def _load_classifier_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load classifier checkpoint", "", CHECKPOINT_FILTER)
        if path:
            self.load_classifier_in_background(path)

    def _update_classifier_label(self) -> None:
        c = self.state.classifier
        self.classifier_label.setText(f" Classifier: {self._classifier_name(c)} " if c
                                      else " Classifier: none (no model) ")
        self.actions["unload_classifier"].setEnabled(c is not None)

    # ================================================================ widgets in step with state
    def _update_controls(self) -> None:
        has = self.state.video_path is not None
        n = self.frame_count
        for name in ("play", "prev_frame", "next_frame", "back_second", "forward_second", "first_frame",
                     "last_frame", "goto_frame", "compute_skeletons"):
            self.actions[name].setEnabled(has)
        self.actions["cancel_skeletons"].setEnabled(self._worker is not None)
        for w in (self.slider, self.frame_box):
            w.blockSignals(True)
            w.setRange(0, max(0, n - 1))
            w.blockSignals(False)
            w.setEnabled(has)
        self.slider.setPageStep(max(1, int(round(self.fps or 1))))
        self._update_position()

    def _update_position(self) -> None:
        i = max(self.current_frame_index, 0)
        for w in (self.slider, self.frame_box):
            if w.value() != i:
                w.blockSignals(True)
                w.setValue(i)
                w.blockSignals(False)
        fps = self.fps or 1.0
        total = self.frame_count / fps if self.frame_count else 0.0
        self.time_label.setText(f"{format_time(i / fps if self.state.frame else 0.0)} / {format_time(total)}")

    def _update_play_action(self) -> None:
        act = self.actions["play"]
        playing = self.is_playing
        act.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaPause if playing
                                              else QStyle.StandardPixmap.SP_MediaPlay))
        act.setText("Pause" if playing else "Play")

    def _update_info(self) -> None:
        info = self.video_info
        if info is None:
            self.info_label.setText("")
            return
        parts = [f"{info.width}×{info.height}", f"{info.fps:.2f} fps", f"{info.frame_count} frames"]
        if self.state.skeletons is not None:
            parts.append(f"{self.backend}: {len(self.state.skeletons.track_ids())} tracks")
        self.info_label.setText("  ·  ".join(parts) + " ")

    @Slot(int)
    def _on_slider(self, value: int) -> None:
        self.seek(value, wait=False)

    @Slot(int)
    def _on_frame_box(self, value: int) -> None:
        self.seek(value, wait=False)

    def _focus_frame_box(self) -> None:
        self.frame_box.setFocus()
        self.frame_box.selectAll()

    # ================================================================ closing
    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt override)
        """Stop playback and background work, release the video and close the project (every edit is
        already in its database)."""
        self.train_panel.shutdown()
        self.close_video()
        self.labelling.close_project()
        if self.message_box is not None:
            self.message_box.close()
        self.settings.sync()
        super().closeEvent(event)
