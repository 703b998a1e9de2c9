"""PoseWatch's main window: video player with the pose overlay, background skeleton extraction,
classifier loading, recent files and drag-and-drop, and the labelling mode (a project, the
timeline, undoable clip edits: see :mod:`gui.labelling`, reached as ``window.labelling``).

The window only presents and delegates: decoding is :mod:`core.video`, skeletons come from
:func:`core.extract.iter_load_or_extract` (run by :class:`gui.workers.GeneratorWorker`), the overlay
is :func:`core.overlay.draw_overlay` and labels come from :class:`core.classify.TrackClassifier`.

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
    QKeySequence,
)
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
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

from core.cache import SkeletonCache
from core.classify import TrackClassifier, iter_load_classifier
from core.defaults import DEFAULT_CLASSIFIERS, resolve_classifier, shipped_kind
from core.errors import PoseWatchError, one_line
from core.extract import iter_load_or_extract
from core.overlay import OverlayOptions, TrackLabel, draw_overlay
from core.pose import BACKENDS, DEFAULT_BACKEND
from core import config
from core.video import Frame, VideoInfo, VideoSource, open_source

from .labelling import Labeller
from .live_view import install as install_live_view
from .remote_panel import extraction_task
from .remote_panel import install as install_remote_panel
from .timeline import TimelineWidget
from .train_panel import TrainPanel
from .video_view import VideoView, set_overlay_layers
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

#: Keyboard shortcuts by action name (``shortcuts`` in ``resources/default.yaml``; see :attr:`MainWindow.actions`).
SHORTCUTS: dict[str, tuple[str, ...]] = config.shortcuts()


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

    Signals:
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
                 auto_skeletons: bool = True):
        super().__init__(parent)
        self.settings = settings if settings is not None else QSettings()
        self.show_dialogs = show_dialogs
        self.auto_skeletons = auto_skeletons
        self._source: VideoSource | None = None
        self._path: str | None = None
        self._frame: Frame | None = None
        self._displayed: np.ndarray | None = None
        self._labels: dict[int, TrackLabel] | None = None
        self._skeletons: SkeletonCache | None = None
        self._classifier: TrackClassifier | None = None
        self._classifier_gen = 0  # bumped by every classifier change; a late background load is then ignored
        self._classifier_worker: GeneratorWorker | None = None
        self._worker: GeneratorWorker | None = None
        self._overlay = OverlayOptions()
        self._speed = 1.0
        self._play_clock = (0.0, 0)  # (monotonic start, frame at start)
        self._last_error: str | None = None
        self._message_box: QMessageBox | None = None
        backend = str(self.settings.value(BACKEND_KEY, DEFAULT_BACKEND))
        self._backend = backend if backend in BACKENDS else DEFAULT_BACKEND

        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._on_tick)

        self.setWindowTitle("PoseWatch")
        self.setAcceptDrops(True)
        self.resize(1200, 800)
        self.actions: dict[str, QAction] = {}
        self._build_actions()
        self._build_ui()
        self.labelling = Labeller(self)
        self._build_train_dock()
        self._build_menus()
        self.remote_panel = install_remote_panel(self)  # View > Remote worker (issue 6)
        self.live_window = install_live_view(self)  # View > Live detection… (issue 5)
        self._update_controls()
        QTimer.singleShot(0, self.restore_classifier)

    # ================================================================ construction
    def _action(self, name: str, text: str, slot, checkable: bool = False, checked: bool = False,
                icon: QStyle.StandardPixmap | None = None, tip: str = "", widget: QWidget | None = None) -> QAction:
        """Create action ``name`` with its :data:`SHORTCUTS`. With ``widget`` the shortcut works only
        while the focus is inside that widget (keys such as Enter and Delete, which text fields need)."""
        act = QAction(text, self)
        keys = [QKeySequence(k) for k in SHORTCUTS.get(name, ())]
        if keys:
            act.setShortcuts(keys)
            act.setShortcutContext(Qt.ShortcutContext.WindowShortcut if widget is None
                                   else Qt.ShortcutContext.WidgetWithChildrenShortcut)
        if icon is not None:
            act.setIcon(self.style().standardIcon(icon))
        shown = ", ".join(k.toString(QKeySequence.SequenceFormat.NativeText) for k in keys)
        act.setToolTip(f"{tip or text.replace('&', '').rstrip('…')}" + (f" ({shown})" if shown else ""))
        act.setCheckable(checkable)
        act.setChecked(checked)
        (act.toggled if checkable else act.triggered).connect(slot)
        # shortcuts work even when the action is in no visible menu/toolbar
        (widget if widget is not None else self).addAction(act)
        self.actions[name] = act
        return act

    def _build_actions(self) -> None:
        sp = QStyle.StandardPixmap
        a = self._action
        a("open", "&Open video…", self._open_dialog, icon=sp.SP_DialogOpenButton)
        a("open_folder", "Open &frames folder…", self._open_folder_dialog, icon=sp.SP_DirOpenIcon)
        a("load_classifier", "Load &classifier…", self._load_classifier_dialog)
        a("unload_classifier", "&Unload classifier", self.unload_classifier)
        for kind in DEFAULT_CLASSIFIERS:
            a(f"shipped_{kind}", f"Shipped model: {SHIPPED_NAMES.get(kind, kind)}",
              lambda _=False, k=kind: self.use_shipped_classifier(k))
        a("train", "&Train a classifier…", self.show_train_panel)
        a("compute_skeletons", "&Compute skeletons", self.compute_skeletons)
        a("cancel_skeletons", "Cancel skeleton e&xtraction", self.cancel_skeletons)
        a("quit", "&Quit", self.close)
        a("play", "Play", self.toggle_play, icon=sp.SP_MediaPlay, tip="Play / pause")
        a("prev_frame", "Previous frame", lambda: self.step(-1), icon=sp.SP_MediaSeekBackward)
        a("next_frame", "Next frame", lambda: self.step(1), icon=sp.SP_MediaSeekForward)
        a("back_second", "Back 1 s", lambda: self.step_seconds(-1.0))
        a("forward_second", "Forward 1 s", lambda: self.step_seconds(1.0))
        a("first_frame", "First frame", lambda: self.seek(0), icon=sp.SP_MediaSkipBackward)
        a("last_frame", "Last frame", lambda: self.seek(self.frame_count - 1), icon=sp.SP_MediaSkipForward)
        a("slower", "Slower", lambda: self._change_speed(-1))
        a("faster", "Faster", lambda: self._change_speed(1))
        a("goto_frame", "Go to frame…", self._focus_frame_box)
        for name, text in (("skeleton", "&Skeleton"), ("boxes", "&Boxes"), ("ids", "Track &IDs"), ("labels", "&Labels")):
            a(name, text, lambda on, n=name: self.set_overlay(**{n: on}), checkable=True,
              checked=getattr(self._overlay, name))
        a("fit", "&Fit to window", lambda: self.view.fit())
        a("zoom_in", "Zoom &in", lambda: self.view.zoom_in())
        a("zoom_out", "Zoom &out", lambda: self.view.zoom_out())
        a("actual_size", "&Actual size", lambda: self.view.zoom_actual_size())
        self.actions["quit"].setMenuRole(QAction.MenuRole.QuitRole)

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
        self.backend_box.setCurrentText(self._backend)
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

    def _build_menus(self) -> None:
        mb = self.menuBar()
        m = mb.addMenu("&File")
        m.addAction(self.actions["open"])
        m.addAction(self.actions["open_folder"])
        self.recent_menu = m.addMenu("Open &recent")
        self.recent_menu.aboutToShow.connect(self._rebuild_recent_menu)
        m.addSeparator()
        project_here = m.addSeparator()
        m.addAction(self.actions["load_classifier"])
        m.addAction(self.actions["unload_classifier"])
        shipped = m.addMenu("Use a s&hipped classifier")
        for kind in DEFAULT_CLASSIFIERS:
            shipped.addAction(self.actions[f"shipped_{kind}"])
        m.addAction(self.actions["train"])
        m.addSeparator()
        m.addAction(self.actions["quit"])
        self._rebuild_recent_menu()
        self.labelling.build_menus(m, project_here)

        m = mb.addMenu("&Playback")
        for name in ("play", None, "prev_frame", "next_frame", "back_second", "forward_second", "first_frame",
                     "last_frame", None, "slower", "faster", None, "goto_frame"):
            m.addSeparator() if name is None else m.addAction(self.actions[name])

        m = mb.addMenu("&View")
        for name in ("skeleton", "boxes", "ids", "labels"):
            m.addAction(self.actions[name])
        m.addSeparator()
        for name in ("fit", "zoom_in", "zoom_out", "actual_size"):
            m.addAction(self.actions[name])

        m = mb.addMenu("P&oses")
        bm = m.addMenu("&Backend")
        self._backend_group = QActionGroup(self)
        self._backend_actions: dict[str, QAction] = {}
        for b in BACKENDS:
            act = bm.addAction(b)
            act.setCheckable(True)
            act.setChecked(b == self._backend)
            act.triggered.connect(lambda _=False, name=b: self.set_backend(name))
            self._backend_group.addAction(act)
            self._backend_actions[b] = act
        m.addAction(self.actions["compute_skeletons"])
        m.addAction(self.actions["cancel_skeletons"])

    def _build_train_dock(self) -> None:
        self.train_panel = TrainPanel(self)
        d = QDockWidget("Train", self)
        d.setObjectName("dock_train")
        d.setWidget(self.train_panel)
        d.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                      | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                      | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, d)
        d.hide()
        self.train_dock = d

    def show_train_panel(self) -> None:
        """Show the Train panel (a dock): train a classifier on the project or an export."""
        self.train_dock.show()
        self.train_dock.raise_()

    # ================================================================ state (read-only API)
    @property
    def video_path(self) -> str | None:
        """Path of the open video or frames folder, or None."""
        return self._path

    @property
    def video_info(self) -> VideoInfo | None:
        """:class:`~core.video.VideoInfo` of the open video, or None."""
        return self._source.info if self._source is not None else None

    @property
    def frame_count(self) -> int:
        """Number of frames of the open video (0 if none)."""
        info = self.video_info
        return int(info.frame_count or 0) if info else 0

    @property
    def fps(self) -> float:
        """Frame rate of the open video (0 if none)."""
        info = self.video_info
        return float(info.fps) if info else 0.0

    @property
    def current_frame_index(self) -> int:
        """0-based index of the displayed frame (-1 if no video)."""
        return self._frame.index if self._frame is not None else -1

    def current_frame(self) -> Frame | None:
        """The displayed frame as decoded, without overlay."""
        return self._frame

    def current_image(self) -> np.ndarray | None:
        """The displayed BGR image, overlay included (what the view shows)."""
        return self._displayed

    @property
    def current_labels(self) -> dict[int, TrackLabel] | None:
        """Labels drawn on the displayed frame: ``{track_id: TrackLabel}`` from the classifier, or
        None when no classifier is loaded (the overlay then says "no model")."""
        return self._labels

    @property
    def skeletons(self) -> SkeletonCache | None:
        """Skeleton cache of the open video for the current backend, or None (not ready)."""
        return self._skeletons

    @property
    def classifier(self) -> TrackClassifier | None:
        """The loaded classifier, or None."""
        return self._classifier

    @property
    def backend(self) -> str:
        """Pose backend in use (``yolo`` or ``mediapipe``)."""
        return self._backend

    @property
    def overlay_options(self) -> OverlayOptions:
        """A copy of the overlay layer toggles."""
        return replace(self._overlay)

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
    def last_error(self) -> str | None:
        """The last error line shown to the user."""
        return self._last_error

    @property
    def message_box(self) -> QMessageBox | None:
        """The (non-modal) error message box, once one was shown."""
        return self._message_box

    # ================================================================ errors
    def report_error(self, message: str) -> None:
        """Show a one-line error in the status bar and (unless disabled) a non-blocking message box."""
        msg = one_line(message)
        self._last_error = msg
        log.warning("%s", msg)
        self.statusBar().showMessage(msg)
        if self.show_dialogs:
            if self._message_box is None:
                box = QMessageBox(QMessageBox.Icon.Warning, "PoseWatch", msg, QMessageBox.StandardButton.Ok, self)
                box.setWindowModality(Qt.WindowModality.NonModal)
                # the player keeps the keyboard: transport shortcuts go on working while it is shown
                box.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
                self._message_box = box
            self._message_box.setText(msg)
            self._message_box.show()  # never exec(): it would block the GUI thread
        self.error_reported.emit(msg)

    def _info(self, message: str, ms: int = 6000) -> None:
        self.statusBar().showMessage(message, ms)

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
            src = open_source(path)
        except PoseWatchError as e:
            self.report_error(str(e))
            return False
        except Exception as e:  # noqa: BLE001 - a bad file must never crash the window
            log.exception("opening %s", path)
            self.report_error(f"cannot open {path}: {type(e).__name__}: {e}")
            return False
        if not src.info.seekable:
            src.close()
            self.report_error(f"{path} is a live source; the player needs a video file or frames folder")
            return False
        if not self.open_source_object(src, path):
            return False
        self.add_recent_file(path)
        return True

    def open_source_object(self, src: VideoSource, path: str) -> bool:
        """Show an already opened seekable source (``path`` names it); the window owns and closes
        it. Used by :meth:`open_video` and for imported skeleton sequences (a blank canvas).

        Returns:
            True if its first frame could be shown (else ``src`` is closed and the error reported).
        """
        try:
            first = src.read(0)
        except PoseWatchError as e:
            src.close()
            self.report_error(str(e))
            return False
        self.close_video()
        self._source, self._path = src, path
        self._frame = first
        self.setWindowTitle(f"PoseWatch — {Path(path).name}")
        self._update_controls()
        self._render()
        self.view.fit()
        self._update_info()
        self.labelling.on_video_opened(path)  # joins the open project (before its skeletons load)
        self.frame_changed.emit(0)
        self.video_opened.emit(path)
        self._info(f"opened {path}")
        if self.auto_skeletons:
            self.compute_skeletons()
        return True

    def close_video(self) -> None:
        """Close the open video (stops playback and any skeleton extraction)."""
        self.pause()
        self._stop_worker()
        if self._source is not None:
            self._source.close()
        self._source = self._path = self._frame = None
        self._displayed = self._labels = self._skeletons = None
        self.view.set_image(None)
        self.setWindowTitle("PoseWatch")
        self.labelling.on_video_closed()
        self._update_controls()
        self._update_info()

    def _open_dialog(self) -> None:
        start = str(Path(self._path).parent) if self._path else ""
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
    def seek(self, frame: int) -> bool:
        """Show frame ``frame`` (clamped to the video). Returns False if it could not be decoded."""
        if self._source is None:
            return False
        ok = self._show_frame(frame)
        if self.is_playing:
            self._play_clock = (time.monotonic(), self.current_frame_index)
        return ok

    def step(self, frames: int) -> bool:
        """Move ``frames`` frames forward (negative: back)."""
        return self.seek(self.current_frame_index + int(frames))

    def step_seconds(self, seconds: float) -> bool:
        """Move ``round(seconds × fps)`` frames."""
        return self.step(int(round(seconds * self.fps)))

    def _show_frame(self, index: int) -> bool:
        n = self.frame_count
        if n <= 0:
            return False
        index = min(max(int(index), 0), n - 1)
        if self._frame is not None and self._frame.index == index:
            self._update_position()
            return True
        try:
            self._frame = self._source.read(index)
        except PoseWatchError as e:
            # a truncated file shrinks its frame count when decoding fails; keep the ranges in step
            self.pause()
            self.report_error(str(e))
            self._update_controls()
            return False
        self._render()
        self.frame_changed.emit(index)
        return True

    def _render(self) -> None:
        fr = self._frame
        if fr is None:
            self.view.set_image(None)
            self._displayed = None
            self._update_position()
            return
        image, labels = fr.image, None
        o = self._overlay
        cache = self._skeletons
        if cache is not None and fr.index < cache.frame_count and (o.skeleton or o.boxes or o.ids or o.labels):
            poses = cache.poses(fr.index)
            if self._classifier is not None:
                labels = self._labels_for(cache, fr.index)
            image = draw_overlay(fr.image, poses, labels, o)
        self._labels = labels
        self._displayed = image
        self.view.set_image(image)
        self._update_position()

    def _labels_for(self, cache: SkeletonCache, index: int) -> dict[int, TrackLabel] | None:
        try:
            return self._classifier.labels_for_frame(cache, index)
        except Exception as e:  # noqa: BLE001 - a checkpoint that does not fit must not break playback
            log.exception("classifier failed")
            name = self._classifier.path.name
            self._classifier = None
            self._update_classifier_label()
            self.classifier_changed.emit(None)
            self.report_error(f"classifier {name} failed on this video and was unloaded: {type(e).__name__}: {e}")
            return None

    def refresh(self) -> None:
        """Redraw the current frame (after changing overlay options, classifier or skeletons)."""
        self._render()

    # ================================================================ playback
    def play(self) -> None:
        """Start playback at ``fps × speed`` (from the start if at the last frame)."""
        if self._source is None or self.is_playing:
            return
        if self.current_frame_index >= self.frame_count - 1:
            self._show_frame(0)
        self._play_clock = (time.monotonic(), self.current_frame_index)
        self._timer.start(self._timer_interval())
        self._update_play_action()
        self.playing_changed.emit(True)

    def pause(self) -> None:
        """Stop playback."""
        if not self._timer.isActive():
            return
        self._timer.stop()
        self._update_play_action()
        self.playing_changed.emit(False)

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
        self._info(f"speed {speed:g}×", 2000)

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
        if target >= last:
            self._show_frame(last)
            self.pause()
            return
        if target != self.current_frame_index and not self._show_frame(target):
            self.pause()

    # ================================================================ overlay
    def set_overlay(self, skeleton: bool | None = None, boxes: bool | None = None, ids: bool | None = None,
                    labels: bool | None = None) -> None:
        """Switch overlay layers on or off (None leaves a layer as it is) and redraw."""
        set_overlay_layers(self._overlay, self.actions, skeleton=skeleton, boxes=boxes, ids=ids, labels=labels)
        self._render()

    # ================================================================ skeletons
    def set_backend(self, backend: str) -> None:
        """Use pose backend ``backend``; reloads or recomputes the open video's skeletons."""
        if backend not in BACKENDS:
            self.report_error(f"unknown pose backend '{backend}'; choose one of {', '.join(BACKENDS)}")
            return
        for w in (self.backend_box,):
            if w.currentText() != backend:
                w.blockSignals(True)
                w.setCurrentText(backend)
                w.blockSignals(False)
        if backend in getattr(self, "_backend_actions", {}):
            self._backend_actions[backend].setChecked(True)
        if backend == self._backend:
            return
        self._backend = backend
        self.settings.setValue(BACKEND_KEY, backend)
        if self._source is not None:
            self.compute_skeletons()

    def compute_skeletons(self) -> None:
        """Load (from the on-disk cache) or compute the open video's skeletons in the background.

        The overlay disappears until :attr:`skeletons_ready` fires; the video stays playable.
        """
        if self._path is None:
            return
        self._stop_worker()
        self._skeletons = None
        self._render()
        task = self.labelling.skeleton_task(self._backend)  # inside the project folder, if one is open
        if task is None:  # the player's own cache: on the remote worker when the Remote panel says so
            task = extraction_task(self.remote_panel, self._path, self._backend, fps=self.fps or 30.0)
        worker = (GeneratorWorker(*task) if task is not None
                  else GeneratorWorker(iter_load_or_extract, self._path, self._backend))
        worker.progress.connect(lambda d, t, m, w=worker: self._on_extract_progress(w, d, t, m))
        worker.finished.connect(lambda res, w=worker: self._on_extract_finished(w, res))
        worker.failed.connect(lambda msg, w=worker: self._on_extract_failed(w, msg))
        worker.cancelled.connect(lambda w=worker: self._on_extract_cancelled(w))
        self._worker = worker
        self.progress_bar.setRange(0, 0)
        self.progress_bar.setFormat(f"{self._backend}: starting")
        self.progress_bar.show()
        self.cancel_button.show()
        self._update_controls()
        worker.start()

    def set_skeletons(self, cache: SkeletonCache) -> None:
        """Use ``cache`` as the open video's skeletons (stops a running extraction); emits
        :attr:`skeletons_ready`. For skeletons that are already loaded (imported sequences)."""
        if self._path is None:
            return
        self._stop_worker()
        self._adopt_skeletons(cache)

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
        self.progress_bar.hide()
        self.cancel_button.hide()
        self.cancel_button.setEnabled(True)

    def _on_extract_progress(self, worker: GeneratorWorker, done: int, total: int, message: str) -> None:
        if worker is not self._worker:
            return
        if total > 0:
            self.progress_bar.setRange(0, total)
            self.progress_bar.setValue(min(done, total))
            self.progress_bar.setFormat(f"{self._backend}: {message} %v/%m")
        else:
            self.progress_bar.setRange(0, 0)
            self.progress_bar.setFormat(f"{self._backend}: {message}")

    def _on_extract_finished(self, worker: GeneratorWorker, cache: SkeletonCache) -> None:
        if worker is not self._worker:
            return
        self._worker = None
        self._stop_worker()
        self._adopt_skeletons(cache)

    def _adopt_skeletons(self, cache: SkeletonCache) -> None:
        self._skeletons = cache
        self._update_controls()
        self._update_info()
        self._render()
        n = len(cache.track_ids())
        note = ""
        if "truncated_at" in cache.meta:
            note = f"; the file ends early, only {cache.meta['truncated_at']} frames could be decoded"
        self._info(f"skeletons ready ({self._backend}): {n} tracks in {cache.frame_count} frames{note}", 8000)
        self.skeletons_ready.emit(cache)

    def _on_extract_failed(self, worker: GeneratorWorker, message: str) -> None:
        if worker is not self._worker:
            return
        self._worker = None
        self._stop_worker()
        self._update_controls()
        self.report_error(f"skeletons not available ({self._backend}): {message}")
        self.skeletons_failed.emit(message)

    def _on_extract_cancelled(self, worker: GeneratorWorker) -> None:
        if worker is not self._worker:
            return
        self._worker = None
        self._stop_worker()
        self._update_controls()
        self._info("skeleton extraction cancelled; Poses > Compute skeletons (Ctrl+E) starts it again", 10000)

    # ================================================================ classifier
    def load_classifier(self, path: str | os.PathLike) -> bool:
        """Load a classifier checkpoint; labels then come from it, and it is remembered for the next start.
        Returns False (and reports) if bad."""
        try:
            clf = TrackClassifier(path)
        except PoseWatchError as e:
            self.report_error(str(e))
            return False
        except Exception as e:  # noqa: BLE001
            log.exception("loading classifier %s", path)
            self.report_error(f"cannot load classifier {path}: {type(e).__name__}: {e}")
            return False
        kind = shipped_kind(path)
        self._remember_classifier(f"shipped:{kind}" if kind else f"path:{Path(path).resolve()}")
        self._set_classifier(clf)
        return True

    def use_shipped_classifier(self, kind: str) -> bool:
        """Load the shipped default classifier ``kind`` (``fight``, ``fall`` or ``abnormal``, see :mod:`core.defaults`)."""
        try:
            path = resolve_classifier(kind)
        except PoseWatchError as e:
            self.report_error(str(e))
            return False
        return self.load_classifier(path)

    def unload_classifier(self) -> None:
        """Forget the classifier; the overlay says "no model" again (also after a restart)."""
        self._remember_classifier("none")
        if self._classifier is None:
            return
        self._classifier = None
        self._update_classifier_label()
        self._render()
        self.classifier_changed.emit(None)
        self._info("classifier unloaded")

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
        if choice == "none" or self._classifier is not None:
            return None
        path: Path | None = None
        try:
            if choice.startswith("path:"):
                path = Path(choice[5:])
                if not path.is_file():
                    self._info(f"remembered classifier {path} is gone; using the shipped default", 10000)
                    path = None
            elif choice.startswith("shipped:"):
                path = resolve_classifier(choice[8:])
            if path is None:
                path = resolve_classifier(DEFAULT_CLASSIFIER_CHOICE[8:])
        except PoseWatchError as e:
            self._info(f"no classifier: {e}", 10000)
            return None
        gen = self._classifier_gen
        worker = GeneratorWorker(iter_load_classifier, path, cancel_kw=None)
        worker.finished.connect(lambda clf: self._set_classifier(clf) if gen == self._classifier_gen else None)
        worker.failed.connect(lambda msg: self.report_error(f"cannot load classifier {path.name}: {msg}")
                              if gen == self._classifier_gen else None)
        self._classifier_worker = worker
        return worker.start()

    def _remember_classifier(self, choice: str) -> None:
        self._classifier_gen += 1
        self.settings.setValue(CLASSIFIER_KEY, choice)

    def _set_classifier(self, clf: TrackClassifier) -> None:
        self._classifier_gen += 1
        self._classifier = clf
        self._update_classifier_label()
        self._render()
        self.classifier_changed.emit(clf)
        self._info(f"classifier loaded: {self._classifier_name(clf)} ({', '.join(clf.label_names)})")

    @staticmethod
    def _classifier_name(clf: TrackClassifier) -> str:
        kind = shipped_kind(clf.path)
        return f"{SHIPPED_NAMES.get(kind, kind)} (shipped)" if kind else clf.path.name

    def _load_classifier_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load classifier checkpoint", "", CHECKPOINT_FILTER)
        if path:
            self.load_classifier(path)

    def _update_classifier_label(self) -> None:
        c = self._classifier
        self.classifier_label.setText(f" Classifier: {self._classifier_name(c)} " if c
                                      else " Classifier: none (no model) ")
        self.actions["unload_classifier"].setEnabled(c is not None)

    # ================================================================ widgets in step with state
    def _update_controls(self) -> None:
        has = self._source is not None
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
        self._update_classifier_label()
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
        self.time_label.setText(f"{format_time(i / fps if self._frame else 0.0)} / {format_time(total)}")

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
        if self._skeletons is not None:
            parts.append(f"{self._backend}: {len(self._skeletons.track_ids())} tracks")
        self.info_label.setText("  ·  ".join(parts) + " ")

    @Slot(int)
    def _on_slider(self, value: int) -> None:
        self.seek(value)

    @Slot(int)
    def _on_frame_box(self, value: int) -> None:
        self.seek(value)

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
        if self._message_box is not None:
            self._message_box.close()
        self.settings.sync()
        super().closeEvent(event)
