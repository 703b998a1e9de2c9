"""Live detection in the GUI: a webcam, an RTSP/HTTP stream or a video file played as a camera, with
per-person skeletons, track IDs, labels and probabilities, an FPS / latency readout, alerts in an event
log, and a clear status line when the source is missing, lost or stalls.

Threads. The GUI thread only presents. Capture, pose inference, tracking, classification, alerting,
the events folder (``events.jsonl``, snapshots, clips) and reconnection with back-off all run in the
threads of :class:`core.live.LiveDetector`. Its callbacks (``on_result``, ``on_event``, ``on_status``)
are called in those threads; this module marshals them into the GUI thread with Qt signals on
explicitly *queued* connections:

- results are **coalesced**: the callback stores the newest :class:`core.live.LiveResult` in a one-slot
  mailbox and emits a notification only if none is pending; the GUI slot takes whatever is newest. So
  when the GUI draws more slowly than results arrive, older results are replaced (counted as "skipped"
  in the readout) and the queue of pending signals never holds more than one notification;
- events and status lines are rare and each one is delivered.

The overlay (:func:`core.overlay.draw_overlay`: skeleton, box, ``#id label prob``) is drawn in the GUI
thread, on the newest result only, just before it is shown: a few milliseconds per frame, and frames
that are skipped are never drawn. (Drawing it in the detector's consumer thread would draw every frame,
including the skipped ones.)

Starting and stopping never block the GUI: one background thread per run (a :class:`LiveSession`, held by the
:class:`gui.workers.ThreadRegistry` every background thread of the app uses) builds the detector (loading the
classifier checkpoint takes a moment; a bad one is reported as ``error: …``), starts it and waits in
:meth:`core.live.LiveDetector.join`; it reports ``finished`` once all the detector's threads have ended, whether it
was stopped or ended by itself (a start error, the end of a file). :meth:`LiveView.stop` only asks the detector to
stop. :func:`wait_for_detectors` blocks until every detector started here has ended (application exit, tests).

Opening: :func:`install` adds *View > Live detection…* (:data:`LIVE_SHORTCUT`) through the window's
:class:`gui.host.Host` and returns the :class:`LiveWindow` it opens.

The app state (:class:`core.state.AppState`): the player's classifier is offered as a model, its backend is the
first default, and *Run on* (*Local* or *Remote worker*) is the state's ``execution["live"]`` — the same choice the
Remote worker panel shows. At Start the remote choice becomes :meth:`core.state.AppState.estimator_factory` (a
``FallbackEstimator``: the worker first, local inference while it is unreachable), handed to
:class:`core.live.LiveDetector`. A script may also pass its own ``estimator_factory``
(:meth:`LiveView.set_estimator_factory`).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QSettings, Qt, QUrl, Signal, Slot
from PySide6.QtGui import QCloseEvent, QFontDatabase
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSlider,
    QSplitter,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from core import config
from core.errors import PoseWatchError, describe_error
from core.extract import Progress
from core.overlay import OverlayOptions, draw_overlay
from core.state import AppState

from .camera_grid import GRID_LAYOUTS, CameraGrid, GridSession, parse_sources
from .event_log import EventLog
from .host import Host
from .video_view import VideoView, set_overlay_layers
from .workers import DetectorSession, GeneratorWorker, ThreadRegistry

log = logging.getLogger(__name__)

#: Keyboard shortcut of *View > Live detection…* (``shortcuts.live``; Ctrl+L already loads a classifier in the player).
LIVE_SHORTCUT = config.shortcuts()["live"][0]
#: Source kinds offered, in the order of the source-type selector.
SOURCE_KINDS = ("webcam", "url", "file")
SOURCE_TITLES = {"webcam": "Webcam", "url": "Stream URL", "file": "Video file"}
#: Webcam indices probed by *Refresh* (:func:`core.live.list_cameras`).
CAMERA_PROBE_MAX = 5
#: Shipped classifier choices: (combo text, LiveConfig.classifier value).
SHIPPED_MODELS = (("Falls (shipped)", "fall"), ("Fights (shipped)", "fight"),
                  ("Abnormal behaviour (shipped)", "abnormal"))
MODEL_NONE = "None (skeletons only)"
MODEL_BROWSE = "Checkpoint…"
CHECKPOINT_FILTER = config.file_filter("checkpoint")
VIDEO_FILTER = config.file_filter("video")
SETTINGS_PREFIX = "live/"
#: How long :func:`wait_for_detectors` waits by default (milliseconds).
JOIN_TIMEOUT_MS = 15_000

_QUIT_HOOKED = False


def default_events_dir() -> Path:
    """Where alert events go unless the user picks another folder:
    ``platformdirs.user_data_dir("PoseWatch") / "events"`` (e.g. ``~/.local/share/PoseWatch/events``)."""
    import platformdirs

    return Path(platformdirs.user_data_dir("PoseWatch")) / "events"


def _probe_cameras(max_index: int, cancel: Callable[[], bool] | None = None):
    """Task generator for :class:`gui.workers.GeneratorWorker`: returns :func:`core.live.list_cameras`."""
    from core.live import list_cameras

    yield Progress(0, None, "probing cameras")
    return list_cameras(max_index)


def running_detectors() -> int:
    """How many detectors started by a :class:`LiveView` have not ended yet."""
    return sum(not s.ended for s in LiveSession.registry.members())


def wait_for_detectors(timeout_ms: int = JOIN_TIMEOUT_MS) -> bool:
    """Ask every running detector to stop and wait for their threads (application exit, tests).

    Blocks up to ``timeout_ms`` in total; True if all ended. Not for use while the GUI is live.
    """
    sessions = LiveSession.registry.members()
    for s in sessions:
        s.request_stop()
    deadline = time.monotonic() + timeout_ms / 1000.0
    ok = True
    for s in sessions:
        ok = s.wait_ended(max(0.0, deadline - time.monotonic())) and ok
    return ok


# ==================================================================== one detector run
class LiveSession(DetectorSession):
    """One :class:`core.live.LiveDetector` run: its callbacks, the one-slot result mailbox, and a background thread
    (:class:`gui.workers.DetectorSession`) that builds the detector (loading the classifier checkpoint takes a moment),
    starts it, waits for all its threads and then ends.

    The detector's callbacks run in its threads; the ``_q_*`` signals carry them into the GUI thread (queued
    connections to this object, which lives there), where the public signals are emitted. Results are coalesced:
    :meth:`take` gives the newest one not drawn yet.

    Signals (GUI thread):
        result_ready(): a result is waiting in the mailbox.
        event(object): an alert (:class:`core.live.AlertEvent`).
        status(str): a status line.
        finished(): the run's thread has ended (the detector's threads too).
    """

    registry = ThreadRegistry()
    kind = "live detection"

    result_ready = Signal()
    event = Signal(object)
    status = Signal(str)

    _q_result = Signal()
    _q_event = Signal(object)
    _q_status = Signal(str)

    def __init__(self, source: str | int, config, estimator_factory=None):
        super().__init__()
        self.source, self.config, self.estimator_factory = source, config, estimator_factory
        self._lock = threading.Lock()
        self._latest = None
        self._pending = False
        self.received = 0
        self.skipped = 0
        q = Qt.ConnectionType.QueuedConnection
        self._q_result.connect(self.result_ready.emit, q)
        self._q_event.connect(self.event.emit, q)
        self._q_status.connect(self.status.emit, q)

    # -- detector threads
    def _on_result(self, result) -> None:
        with self._lock:
            self.received += 1
            if self._latest is not None:
                self.skipped += 1  # replaced before the GUI drew it
            self._latest = result
            notify = not self._pending
            self._pending = True
        if notify:
            self._q_result.emit()

    def take(self):
        """The newest result not drawn yet (None if the GUI already drew it)."""
        with self._lock:
            r, self._latest = self._latest, None
            self._pending = False
        return r

    def _run(self) -> None:
        from core.live import LiveDetector

        status = self._q_status.emit
        try:
            try:
                det = LiveDetector(self.source, self.config, on_result=self._on_result,
                                   on_event=self._q_event.emit, on_status=status,
                                   estimator_factory=self.estimator_factory)
            except PoseWatchError as e:  # bad configuration: unknown or missing classifier, thresholds
                status(f"error: {e}")
                return
            except Exception as e:  # noqa: BLE001 - e.g. a checkpoint torch cannot read
                log.exception("creating the live detector")
                status(f"error: cannot start live detection: {describe_error(e)}")
                return
            self.detector = det
            if self._stop_requested.is_set():
                return
            det.start()
            if self._stop_requested.is_set():  # a stop that came between the check and start()
                det.stop()
            det.join()
        except Exception as e:  # noqa: BLE001 - the thread must always report its end
            log.exception("live detector thread failed")
            status(f"error: live detection failed: {describe_error(e, 200)}")
        finally:
            self._ended.set()



GridSession.registry = LiveSession.registry  # wait_for_detectors and running_detectors cover the grid too


# ==================================================================== the view
READOUT_TIP = ("Processed frames per second · capture-to-result latency · frames the detector dropped (inference "
               "behind the source) · results the display skipped")


#: Under the disabled Sensitivity slider for a model without operating points (a per-track model such as the fall
#: model: its alerts follow Hold and Enter prob.).
NO_OPERATING_POINTS = "this model has one operating point: Hold and Enter prob. set its alerts"


class LiveView(QWidget):
    """The live-detection panel: source, model and alert settings, Start/Stop, the video with the
    overlay, an FPS / latency readout, a status line and the event log.

    Args:
        state: the app state, if any: its classifier is offered as a model choice (and followed), its backend is
            the first default, and *Run on* is its ``execution["live"]``. None: a standalone view (local only).
        host: the window's host (its settings are the default ``settings``).
        settings: where the choices are remembered (default: the host's, else the application's ``QSettings``).
        events_dir: initial events folder (default: the remembered one, else :func:`default_events_dir`).
        estimator_factory: passed to :class:`core.live.LiveDetector` (a remote pose estimator; None:
            local).

    Signals:
        running_changed(bool): a detector started (True) or all its threads ended (False).
        frame_shown(int): a result was drawn (its frame index).
        status_changed(str): a status line was shown (from the detector, or the view's own messages).
        event_added(object): an alert (:class:`core.live.AlertEvent`) was added to the event log.
    """

    running_changed = Signal(bool)
    frame_shown = Signal(int)
    status_changed = Signal(str)
    event_added = Signal(object)

    def __init__(self, state: AppState | None = None, host: Host | None = None, settings: QSettings | None = None,
                 events_dir: str | os.PathLike | None = None, estimator_factory: Callable[[], Any] | None = None,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.state = state
        self.settings = settings if settings is not None else (host.settings if host is not None else QSettings())
        self._estimator_factory = estimator_factory
        self._execution_label = ""
        self._session: LiveSession | None = None
        self._camera_worker: GeneratorWorker | None = None
        self._cameras_probed = False
        self._run_error = ""
        self._overlay = OverlayOptions()
        self._last_result = None
        self._frames_shown = 0
        self._shown_times: deque[float] = deque(maxlen=60)
        self._last_status = ""
        self._status_history: deque[str] = deque(maxlen=50)
        self._model_value: str | None = "fall"
        #: Files are played at their own frame rate like a camera (frames dropped when inference is
        #: behind). False processes every frame of a file (analysis of a recording; tests).
        self.pace_files = True
        #: Further :class:`core.live.LiveConfig` fields for the next runs (e.g. ``{"start_frame": 150,
        #: "stop_frame": 230}`` or ``{"width": 480}``); they win over the widgets.
        self.config_overrides: dict[str, Any] = {}
        self._build_ui()
        self._restore(events_dir)
        if state is not None:
            state.events.classifier.connect(self._on_player_classifier)
            state.events.execution.connect(self._sync_execution)
            state.events.remote.connect(self._sync_execution)
        self._sync_execution()
        self._update_controls()

    # ================================================================ construction
    def _build_ui(self) -> None:
        # -- source
        self.source_kind = QComboBox()
        for k in SOURCE_KINDS:
            self.source_kind.addItem(SOURCE_TITLES[k], k)
        self.source_kind.setToolTip("What to watch: a webcam, a network stream, or a video file played at its "
                                    "own frame rate as if it were a camera")
        self.camera_box = QComboBox()
        self.camera_box.setEditable(True)  # an index can be typed when probing finds nothing
        self.camera_box.setToolTip("Webcam (index: name); type an index if it is not listed")
        self.camera_refresh = QToolButton()
        self.camera_refresh.setText("⟳")
        self.camera_refresh.setToolTip("Look for webcams again (in the background)")
        self.camera_refresh.clicked.connect(self.refresh_cameras)
        self.url_edit = QLineEdit()
        self.url_edit.setPlaceholderText("rtsp://user:pass@host:554/stream  or  http://host/video.mjpg")
        self.url_edit.setToolTip("RTSP or HTTP stream URL")
        self.file_edit = QLineEdit()
        self.file_edit.setPlaceholderText("a video file, played as a camera")
        self.file_browse = QToolButton()
        self.file_browse.setText("…")
        self.file_browse.setToolTip("Choose a video file")
        self.file_browse.clicked.connect(self._browse_file)

        self.source_stack = QStackedWidget()
        for widgets in ((self.camera_box, self.camera_refresh), (self.url_edit,), (self.file_edit, self.file_browse)):
            page = QWidget()
            row = QHBoxLayout(page)
            row.setContentsMargins(0, 0, 0, 0)
            for i, w in enumerate(widgets):
                row.addWidget(w, 1 if i == 0 else 0)
            self.source_stack.addWidget(page)
        self.source_kind.currentIndexChanged.connect(self.source_stack.setCurrentIndex)
        self.source_kind.currentIndexChanged.connect(self._on_source_kind)
        self.source_stack.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)

        # -- pose backend, model and execution
        from core.pose import BACKENDS

        self.backend_box = QComboBox()
        self.backend_box.addItems(list(BACKENDS))
        self.backend_box.setToolTip("Pose backend: yolo (multi-person, tracked; ONNX Runtime on the CPU) or "
                                    "mediapipe")
        self.precision_box = QComboBox()
        self.precision_box.addItem("INT8 (faster)", "int8")
        self.precision_box.addItem("Float32", "fp32")
        self.precision_box.setToolTip("YOLO pose model on this computer: INT8 (quantized with the shipped calibration "
                                      "table, about 20 % faster, keypoints within about 1 % of the person's size of "
                                      "Float32's; on CPUs without VNNI exact but no faster) or Float32")
        self.model_box = QComboBox()
        self.model_box.setToolTip("Classifier for the per-person labels (None: skeletons and IDs only)")
        self.model_box.activated.connect(self._on_model_activated)
        self.execution_box = QComboBox()
        self.execution_box.addItem("Local", "local")
        self.execution_box.addItem("Remote worker", "remote")
        self.execution_box.setToolTip("Where pose inference runs: this computer, or the remote worker connected in "
                                      "View > Remote worker (it falls back to local inference while the worker is "
                                      "unreachable)")
        self.execution_box.activated.connect(self._on_execution_activated)
        self.execution_label = QLabel("")
        self.execution_label.setWordWrap(True)

        self.start_button = QPushButton("Start")
        self.start_button.setToolTip("Start live detection")
        self.start_button.clicked.connect(self.start)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop live detection")
        self.stop_button.clicked.connect(self.stop)

        self.layout_box = QComboBox()
        for text, n in GRID_LAYOUTS:
            self.layout_box.addItem(text, n)
        self.layout_box.setToolTip("One camera (the source above), or a 2×2 or 3×3 grid of the cameras listed "
                                   "below, all on one shared pose model")
        self.cameras_edit = QPlainTextEdit()
        self.cameras_edit.setPlaceholderText("one camera per line:\n0\nrtsp://host/stream\n/path/clip.mp4")
        self.cameras_edit.setToolTip("The grid's cameras, one per line: a webcam index, an RTSP/HTTP URL or a video "
                                     "file played as a camera")
        self.cameras_edit.setMaximumHeight(72)
        self.cameras_edit.setTabChangesFocus(True)

        src_group = QGroupBox("Source")
        sf = QFormLayout(src_group)
        sf.addRow("Layout", self.layout_box)
        sf.addRow("Cameras", self.cameras_edit)
        self._cameras_label = sf.labelForField(self.cameras_edit)
        sf.addRow("Type", self.source_kind)
        sf.addRow("", self.source_stack)
        self._single_rows = (sf.labelForField(self.source_kind), self.source_kind, self.source_stack)
        sf.addRow("Pose", self.backend_box)
        sf.addRow("Precision", self.precision_box)
        sf.addRow("Model", self.model_box)
        self.execution_row = QWidget()
        er = QHBoxLayout(self.execution_row)
        er.setContentsMargins(0, 0, 0, 0)
        er.addWidget(self.execution_box, 1)
        sf.addRow("Run on", self.execution_row)
        sf.addRow("", self.execution_label)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.stop_button)
        sf.addRow(buttons)

        # -- alerts
        self.hold_box = QDoubleSpinBox()
        self.hold_box.setRange(0.0, 30.0)
        self.hold_box.setSingleStep(0.1)
        self.hold_box.setDecimals(1)
        self.hold_box.setSuffix(" s")
        self.hold_box.setToolTip("An abnormal label must hold this long before it raises an alert")
        self.prob_box = QDoubleSpinBox()
        self.prob_box.setRange(0.05, 1.0)
        self.prob_box.setSingleStep(0.05)
        self.prob_box.setDecimals(2)
        self.prob_box.setToolTip("Smoothed probability at which an abnormal label is shown (and can alert); it is "
                                 "kept until the probability falls below the exit threshold (the defaults' gap "
                                 "below it)")
        self.sound_check = QCheckBox("Sound")
        self.sound_check.setToolTip("Beep on every alert")
        self.events_edit = QLineEdit()
        self.events_edit.setToolTip("events.jsonl, snapshots and clips go here (empty: no files)")
        self.events_browse = QToolButton()
        self.events_browse.setText("…")
        self.events_browse.setToolTip("Choose the events folder")
        self.events_browse.clicked.connect(self._browse_events)
        ev_row = QHBoxLayout()
        ev_row.addWidget(self.events_edit, 1)
        ev_row.addWidget(self.events_browse)
        self.sensitivity_slider = QSlider(Qt.Orientation.Horizontal)
        self.sensitivity_slider.setToolTip("A scene model's alert operating point, chosen on source videos it was not "
                                           "trained on: left fewer false alerts, right more fights alerted")
        self.sensitivity_slider.setPageStep(1)
        self.sensitivity_slider.valueChanged.connect(self._on_sensitivity)
        self.sensitivity_label = QLabel("")
        self.sensitivity_label.setWordWrap(True)
        self.sensitivity_label.setObjectName("sensitivity_label")
        self._alert_points: list[dict] = []
        self._alert_default = 0
        self._alert_worker = None
        alert_group = QGroupBox("Alerts")
        af = QFormLayout(alert_group)
        af.addRow("Hold", self.hold_box)
        af.addRow("Enter prob.", self.prob_box)
        af.addRow("Sensitivity", self.sensitivity_slider)
        af.addRow("", self.sensitivity_label)
        af.addRow("", self.sound_check)
        af.addRow("Events folder", ev_row)

        self.events_open = QPushButton("Open events folder")
        self.events_open.setToolTip("Show the events folder (events.jsonl, snapshots, clips) in the file manager")
        self.events_open.clicked.connect(self.open_events_folder)
        self.events_clear = QPushButton("Clear log")
        self.events_clear.setToolTip("Remove the rows of the event log (the files stay)")
        ev_buttons = QHBoxLayout()
        ev_buttons.addWidget(self.events_open)
        ev_buttons.addWidget(self.events_clear)
        af.addRow(ev_buttons)

        self.overlay_checks: dict[str, QCheckBox] = {}
        display_group = QGroupBox("Display")
        dl = QHBoxLayout(display_group)
        for name, text in (("skeleton", "Skeleton"), ("boxes", "Boxes"), ("ids", "IDs"), ("labels", "Labels")):
            cb = QCheckBox(text)
            cb.setChecked(getattr(self._overlay, name))
            cb.setToolTip(f"Draw {text.lower()} on the live picture")
            cb.toggled.connect(lambda on, n=name: self.set_overlay(**{n: on}))
            dl.addWidget(cb)
            self.overlay_checks[name] = cb

        side = QWidget()
        sl = QVBoxLayout(side)
        sl.setContentsMargins(6, 6, 6, 6)
        sl.addWidget(src_group)
        sl.addWidget(alert_group)
        sl.addWidget(display_group)
        sl.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(side)
        scroll.setWidgetResizable(True)
        scroll.setMinimumWidth(300)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

        # -- video, readout, status, event log
        self.view = VideoView()
        fixed = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.readout = QLabel()
        self.readout.setFont(fixed)
        self.readout.setToolTip(READOUT_TIP)
        self.status_label = QLabel()
        # one line that never widens the window (the full history is in its tooltip)
        self.status_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.persons_label = QLabel()
        info = QHBoxLayout()
        info.setContentsMargins(6, 2, 6, 2)
        info.addWidget(self.readout)
        info.addSpacing(12)
        info.addWidget(self.persons_label)
        info.addSpacing(12)
        info.addWidget(self.status_label, 1)
        video_area = QWidget()
        va = QVBoxLayout(video_area)
        va.setContentsMargins(0, 0, 0, 0)
        va.setSpacing(0)
        va.addWidget(self.view, 1)
        va.addLayout(info)
        self.grid = CameraGrid()
        self.video_stack = QStackedWidget()
        self.video_stack.addWidget(video_area)
        self.video_stack.addWidget(self.grid)
        self.layout_box.currentIndexChanged.connect(self._on_layout)

        self.event_log = EventLog(project=lambda: self.state.project if self.state is not None else None)
        self.event_log.open_failed.connect(self._set_status)
        self.event_log.review_message.connect(self._set_status)
        # a filing (or its undo) wrote to the project the labeller shows: it reads it again
        self.event_log.filed.connect(lambda _f: self.state.project_written.emit() if self.state is not None else None)
        self.events_clear.clicked.connect(self.event_log.clear_events)
        log_box = QGroupBox("Events")
        lb = QVBoxLayout(log_box)
        lb.setContentsMargins(4, 4, 4, 4)
        lb.addWidget(self.event_log)

        left = QSplitter(Qt.Orientation.Vertical)
        left.addWidget(self.video_stack)
        left.addWidget(log_box)
        left.setStretchFactor(0, 4)
        left.setStretchFactor(1, 1)
        left.setChildrenCollapsible(False)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(scroll)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 0)
        split.setChildrenCollapsible(False)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(split)
        self._splitters = (left, split)
        self._show_readout(None)
        self._on_layout()

    def _restore(self, events_dir) -> None:
        s, p = self.settings, SETTINGS_PREFIX
        kind = str(s.value(p + "source_kind", "file"))
        self.source_kind.setCurrentIndex(SOURCE_KINDS.index(kind) if kind in SOURCE_KINDS else 2)
        self.url_edit.setText(str(s.value(p + "url", "") or ""))
        self.file_edit.setText(str(s.value(p + "file", "") or ""))
        self.cameras_edit.setPlainText(str(s.value(p + "cameras", "") or ""))
        k = self.layout_box.findData(int(s.value(p + "grid", 1) or 1))
        self.layout_box.setCurrentIndex(max(0, k))
        cam = str(s.value(p + "camera", "0") or "0")
        self.camera_box.addItem(f"{cam}", int(cam) if cam.isdigit() else 0)
        self._model_value = self._setting_model(s.value(p + "model", "fall"))
        backend = str(s.value(p + "backend", "") or (self.state.backend if self.state is not None else "") or "yolo")
        if self.backend_box.findText(backend) >= 0:
            self.backend_box.setCurrentText(backend)
        from core.live import LiveConfig

        d = LiveConfig()  # the detector's defaults until the user changes them
        k = self.precision_box.findData(str(s.value(p + "precision", d.precision)))
        self.precision_box.setCurrentIndex(max(0, k))
        self.hold_box.setValue(float(s.value(p + "hold_s", d.alert_hold_s)))
        self.prob_box.setValue(float(s.value(p + "enter_prob", d.enter_prob)))
        self.sound_check.setChecked(str(s.value(p + "sound", "false")).lower() in ("true", "1"))
        if events_dir is None:
            events_dir = s.value(p + "events_dir", None) or default_events_dir()
        self.events_edit.setText(os.fspath(events_dir))
        self._refresh_models()
        self._load_alert_settings()

    @staticmethod
    def _setting_model(v) -> str | None:
        if v in (None, "", "none", "None"):
            return None
        return str(v)

    def save_settings(self) -> None:
        """Remember the current choices (source, model, sensitivity, backend, precision, alert settings, events
        folder) in the settings now (they are saved at every start as well)."""
        s, p = self.settings, SETTINGS_PREFIX
        s.setValue(p + "source_kind", self.source_kind.currentData())
        s.setValue(p + "url", self.url_edit.text().strip())
        s.setValue(p + "file", self.file_edit.text().strip())
        s.setValue(p + "cameras", self.cameras_edit.toPlainText().strip())
        s.setValue(p + "grid", self.grid_size)
        s.setValue(p + "camera", str(self._camera_index() if self._camera_index() is not None else 0))
        s.setValue(p + "model", self._model_value or "none")
        s.setValue(p + "backend", self.backend_box.currentText())
        s.setValue(p + "precision", self.precision_box.currentData())
        s.setValue(p + "hold_s", self.hold_box.value())
        s.setValue(p + "enter_prob", self.prob_box.value())
        if self.sensitivity is not None:
            s.setValue(p + "sensitivity", self.sensitivity)
        s.setValue(p + "sound", self.sound_check.isChecked())
        s.setValue(p + "events_dir", self.events_edit.text().strip())

    # ================================================================ models
    def _refresh_models(self) -> None:
        """Rebuild the model combo: shipped defaults, the player's loaded classifier, a chosen
        checkpoint, None, Checkpoint…; keeps the current choice when it is still offered."""
        box = self.model_box
        box.blockSignals(True)
        box.clear()
        from core.defaults import default_classifier_path

        for text, kind in SHIPPED_MODELS:
            box.addItem(text, kind)
            if default_classifier_path(kind) is None:
                idx = box.count() - 1
                box.model().item(idx).setEnabled(False)
                box.setItemData(idx, "not installed", Qt.ItemDataRole.ToolTipRole)
        player = self.player_classifier_path()
        shipped = {os.path.realpath(p) for p in (default_classifier_path(k) for _t, k in SHIPPED_MODELS) if p}
        if player is not None and os.path.realpath(player) not in shipped:  # a shipped one is listed already
            box.addItem(f"Player's model: {Path(player).name}", player)
            box.setItemData(box.count() - 1, player, Qt.ItemDataRole.ToolTipRole)
        cur = self._model_value
        known = {box.itemData(i) for i in range(box.count())}
        if cur is not None and cur not in known:
            box.addItem(f"Checkpoint: {Path(cur).name}", cur)
            box.setItemData(box.count() - 1, cur, Qt.ItemDataRole.ToolTipRole)
        box.addItem(MODEL_NONE, None)
        box.addItem(MODEL_BROWSE, "__browse__")
        for i in range(box.count()):
            if box.itemData(i) == cur and box.itemText(i) != MODEL_BROWSE:
                box.setCurrentIndex(i)
                break
        box.blockSignals(False)

    @Slot(object)
    def _on_player_classifier(self, _clf) -> None:
        self._refresh_models()

    def player_classifier_path(self) -> str | None:
        """Path of the classifier loaded in the player window, or None."""
        clf = self.state.classifier if self.state is not None else None
        path = getattr(clf, "path", None)
        return os.fspath(path) if path is not None else None

    @property
    def model_choice(self) -> str | None:
        """The chosen classifier: ``"fall"``, ``"abnormal"``, a checkpoint path, or None (no labels)."""
        return self._model_value

    def set_model(self, value: str | os.PathLike | None) -> None:
        """Choose the classifier (``"fall"``, ``"abnormal"``, a checkpoint path, or None); takes effect
        at the next :meth:`start`."""
        self._model_value = None if value is None else os.fspath(value)
        self._refresh_models()
        self._load_alert_settings()

    def _on_model_activated(self, index: int) -> None:
        data = self.model_box.itemData(index)
        if data == "__browse__":
            path, _ = QFileDialog.getOpenFileName(self, "Classifier checkpoint", "", CHECKPOINT_FILTER)
            if path:
                self.set_model(path)
            else:
                self._refresh_models()  # back to the previous choice
            return
        self._model_value = data
        self._load_alert_settings()

    # ================================================================ sensitivity (scene models)
    def _load_alert_settings(self) -> None:
        """Read the chosen model's alert operating points off the GUI thread; the slider shows them (a scene
        model) or is disabled (a per-track model, none)."""
        from core.classify import iter_alert_settings

        from .workers import GeneratorWorker

        self._set_alert_points(None)
        if self._model_value is None:
            return
        self.sensitivity_label.setText("reading the model's operating points…")

        def task(spec):  # the result names the model it belongs to: a later choice may have replaced it
            alert = yield from iter_alert_settings(spec)
            return spec, alert

        worker = GeneratorWorker(task, self._model_value, cancel_kw=None)
        worker.finished.connect(self._on_alert_settings)  # bound slots: disconnected if this view goes first
        worker.failed.connect(self.sensitivity_label.setText)
        self._alert_worker = worker
        worker.start()

    @Slot(object)
    def _on_alert_settings(self, result) -> None:
        spec, alert = result
        if spec == self._model_value:
            self._set_alert_points(alert)

    def _set_alert_points(self, alert: dict | None) -> None:
        pts = list((alert or {}).get("operating_points") or [])
        self._alert_points = pts
        self._alert_default = int((alert or {}).get("default", 0)) if pts else 0
        slider = self.sensitivity_slider
        slider.blockSignals(True)
        slider.setRange(0, max(0, len(pts) - 1))
        saved = str(self.settings.value(SETTINGS_PREFIX + "sensitivity", "") or "")
        names = [str(p.get("name")) for p in pts]
        slider.setValue(names.index(saved) if saved in names else self._alert_default)
        slider.blockSignals(False)
        slider.setEnabled(len(pts) > 1)
        self._on_sensitivity(slider.value())

    @property
    def alert_points(self) -> list[dict]:
        """The chosen scene model's operating points (least to most sensitive; empty for a per-track model)."""
        return list(self._alert_points)

    @property
    def sensitivity(self) -> str | None:
        """The operating point chosen on the slider (its name), None for a per-track model."""
        if not self._alert_points:
            return None
        return str(self._alert_points[self.sensitivity_slider.value()].get("name"))

    def set_sensitivity(self, index: int) -> None:
        """Move the slider to operating point ``index`` (0: least sensitive)."""
        self.sensitivity_slider.setValue(int(index))

    def _on_sensitivity(self, index: int) -> None:
        from core.classify import describe_operating_point

        if not self._alert_points:  # said, not a blank row under a dead slider
            self.sensitivity_label.setText(NO_OPERATING_POINTS if self._model_value is not None else "")
            return
        p = self._alert_points[max(0, min(index, len(self._alert_points) - 1))]
        tag = " (default)" if index == self._alert_default else ""
        self.sensitivity_label.setText(describe_operating_point(p) + tag)

    # ================================================================ sources
    def refresh_cameras(self) -> None:
        """Probe webcams in the background (:func:`core.live.list_cameras`); the combo is refilled when
        done. Nothing happens while a probe is running. Runs by itself the first time *Webcam* is
        chosen (or the view is shown with it chosen); the ⟳ button runs it again."""
        if self._camera_worker is not None:
            return
        self._cameras_probed = True
        worker = GeneratorWorker(_probe_cameras, CAMERA_PROBE_MAX)
        worker.finished.connect(self._on_cameras)
        worker.failed.connect(lambda msg: self._set_status(f"cannot list webcams: {msg}"))
        worker.done.connect(self._on_camera_probe_done)
        self._camera_worker = worker
        self.camera_refresh.setEnabled(False)
        self._set_status("looking for webcams…")
        worker.start()

    def _on_source_kind(self, index: int) -> None:
        # the first time the user picks Webcam, look for cameras (in the background)
        if SOURCE_KINDS[index] == "webcam" and not self._cameras_probed and self._session is None and self.isVisible():
            self.refresh_cameras()

    @property
    def probing_cameras(self) -> bool:
        """True while a webcam probe runs in the background."""
        return self._camera_worker is not None

    @Slot(object)
    def _on_cameras(self, cams) -> None:
        current = self._camera_index()
        box = self.camera_box
        box.clear()
        for idx, name in cams or []:
            box.addItem(f"{idx}: {name}", int(idx))
        note = (f"{len(cams)} webcam(s) found" if cams else
                "no webcam found (indices 0–%d); type an index, or use a stream URL or a file" % (CAMERA_PROBE_MAX - 1))
        box.setToolTip(f"Webcam (index: name); type an index if it is not listed — {note}")
        if self._session is None and not self._run_error:  # a detector's status or last error stays in view
            self._set_status(note)
        keep = current if current is not None else (None if cams else 0)
        if keep is not None and box.findData(keep) < 0:
            box.addItem(str(keep), keep)  # the user's choice stays, even if the probe did not see it
        if keep is not None:
            box.setCurrentIndex(box.findData(keep))

    def _on_camera_probe_done(self) -> None:
        self._camera_worker = None
        self.camera_refresh.setEnabled(True)

    def _camera_index(self) -> int | None:
        text = self.camera_box.currentText().strip()
        i = self.camera_box.currentIndex()
        if i >= 0 and self.camera_box.itemText(i) == text and self.camera_box.itemData(i) is not None:
            return int(self.camera_box.itemData(i))
        head = text.split(":", 1)[0].strip()
        return int(head) if head.isdigit() else None

    def set_source(self, source: str | int | os.PathLike, kind: str | None = None) -> None:
        """Choose the source: a webcam index (int), a stream URL, or a video file path; ``kind`` (one of
        :data:`SOURCE_KINDS`) is guessed when omitted."""
        if kind is None:
            if isinstance(source, int):
                kind = "webcam"
            elif "://" in os.fspath(source):
                kind = "url"
            else:
                kind = "file"
        if kind not in SOURCE_KINDS:
            raise ValueError(f"unknown source kind '{kind}'; one of {', '.join(SOURCE_KINDS)}")
        self.source_kind.setCurrentIndex(SOURCE_KINDS.index(kind))
        if kind == "webcam":
            idx = int(source)
            for i in range(self.camera_box.count()):
                if self.camera_box.itemData(i) == idx:
                    self.camera_box.setCurrentIndex(i)
                    break
            else:
                self.camera_box.addItem(str(idx), idx)
                self.camera_box.setCurrentIndex(self.camera_box.count() - 1)
        elif kind == "url":
            self.url_edit.setText(os.fspath(source))
        else:
            self.file_edit.setText(os.fspath(source))

    def source_spec(self) -> str | int:
        """The source for :class:`core.live.LiveDetector` from the widgets.

        Raises:
            ValueError: nothing usable entered (one-line message for the status line).
        """
        kind = self.source_kind.currentData()
        if kind == "webcam":
            idx = self._camera_index()
            if idx is None:
                raise ValueError("choose a webcam (or type its index, e.g. 0)")
            return idx
        if kind == "url":
            url = self.url_edit.text().strip()
            if not url:
                raise ValueError("enter a stream URL (rtsp://… or http://…)")
            return url
        path = self.file_edit.text().strip()
        if not path:
            raise ValueError("choose a video file to play as a camera")
        return path

    def _browse_file(self) -> None:
        start = str(Path(self.file_edit.text()).parent) if self.file_edit.text().strip() else ""
        path, _ = QFileDialog.getOpenFileName(self, "Video file to play as a camera", start, VIDEO_FILTER)
        if path:
            self.set_source(path, "file")

    def _browse_events(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Events folder", self.events_edit.text().strip())
        if path:
            self.events_edit.setText(path)

    # ================================================================ execution (local / remote worker)
    def set_estimator_factory(self, factory: Callable[[], Any] | None, label: str = "Local") -> None:
        """Run pose inference through ``factory()`` from the next :meth:`start`, whatever the *Run on*
        choice says (None: back to that choice). ``label`` is shown under the choice."""
        self._estimator_factory = factory
        self._execution_label = label if factory is not None else ""
        self._sync_execution()

    @property
    def estimator_factory(self) -> Callable[[], Any] | None:
        """The factory set with :meth:`set_estimator_factory` (None: the *Run on* choice decides)."""
        return self._estimator_factory

    @property
    def execution(self) -> str:
        """``"local"`` or ``"remote"``: where the next run's pose inference is asked to run (the state's
        ``execution["live"]``)."""
        return str(self.state.execution["live"]) if self.state is not None else "local"

    def set_execution(self, mode: str) -> None:
        """Choose ``"local"`` or ``"remote"`` (the state's ``execution["live"]``, which the Remote worker panel shows).

        Raises:
            ValueError: unknown mode, or remote without an app state.
        """
        if mode not in ("local", "remote"):
            raise ValueError(f"unknown execution '{mode}'; choose local or remote")
        if self.state is None:
            if mode == "remote":
                raise ValueError("a standalone live view runs locally")
            return
        self.state.set_execution("live", mode)  # the combo follows (_sync_execution)

    def _on_execution_activated(self, index: int) -> None:
        self.set_execution(str(self.execution_box.itemData(index)))

    def _sync_execution(self, *_args) -> None:
        """Show the state's *Live view* choice and whether a worker is connected."""
        box = self.execution_box
        remote_item = box.model().item(box.findData("remote"))
        box.blockSignals(True)
        remote_item.setEnabled(self.state is not None)
        remote_item.setToolTip("" if self.state is not None else "a standalone live view runs locally")
        box.setCurrentIndex(box.findData(self.execution))
        box.blockSignals(False)
        if self._estimator_factory is not None:
            text = f"custom estimator: {self._execution_label}"
        elif self.execution == "remote":
            text = ("worker connected" if self.state.use_remote("live")
                    else "worker not connected — connect it in View > Remote worker")
        else:
            text = ""
        self.execution_label.setText(text)
        self.execution_label.setVisible(bool(text))

    def _pose_factory(self) -> Callable[[], Any] | None:
        """The estimator factory for the next run (None: the detector's own local pipeline).

        Raises:
            ValueError: *Remote worker* chosen but no worker is connected (one-line message).
        """
        if self._estimator_factory is not None:
            return self._estimator_factory
        if self.execution != "remote":
            return None
        if not self.state.use_remote("live"):
            raise ValueError("the remote worker is not connected: connect it in View > Remote worker, "
                             "or choose Run on: Local")
        return self.state.estimator_factory("live", {"backend": self.backend_box.currentText(), "frame_rate": 30.0})

    def showEvent(self, event) -> None:  # noqa: N802 (Qt override)
        """Refresh the execution choice (the Remote panel may have been installed since); look for
        webcams the first time the view is shown with *Webcam* chosen."""
        self._sync_execution()
        if self.source_kind.currentData() == "webcam" and not self._cameras_probed and self._session is None:
            self.refresh_cameras()
        super().showEvent(event)

    # ================================================================ start / stop
    def config(self):
        """A :class:`core.live.LiveConfig` from the widgets (files are paced at their frame rate unless
        :attr:`pace_files` is False)."""
        from core.live import LiveConfig

        enter = float(self.prob_box.value())
        d = LiveConfig()
        gap = d.enter_prob - d.exit_prob  # hysteresis width of the settings in force
        events = self.events_edit.text().strip() or None
        kw: dict[str, Any] = dict(backend=self.backend_box.currentText(), classifier=self._model_value,
                                  precision=self.precision_box.currentData(),
                                  enter_prob=enter, exit_prob=max(0.0, enter - gap),
                                  alert_hold_s=float(self.hold_box.value()), events_dir=events,
                                  sound=self.sound_check.isChecked(), realtime=bool(self.pace_files),
                                  sensitivity=self.sensitivity)
        kw.update(self.config_overrides)
        try:
            return LiveConfig(**kw)
        except TypeError as e:
            raise ValueError(f"bad live settings: {e}") from None

    @property
    def is_running(self) -> bool:
        """True from :meth:`start` until the detector's threads have ended."""
        return self._session is not None

    @property
    def detector(self):
        """The running :class:`core.live.LiveDetector`, or None."""
        return self._session.detector if self._session is not None else None

    def start(self) -> bool:
        """Start detecting on the chosen source with the chosen model; False (and a status line) if
        the choice is unusable. Returns at once: frames, events and status lines arrive later."""
        if self._session is not None:
            return False
        if self.grid_size > 1:
            return self._start_grid()
        try:
            source = self.source_spec()
            cfg = self.config()
            factory = self._pose_factory()
        except ValueError as e:
            self._set_status(f"error: {e}")
            return False
        self.save_settings()
        if not self._make_events_dir(cfg):
            return False
        session = LiveSession(source, cfg, factory)  # its public signals are emitted in the GUI thread
        session.result_ready.connect(self._on_result_ready)
        session.status.connect(self._on_status)
        self._show_readout(None)
        return self._run_session(session, f"starting: {self._describe_source(source)}")

    def _make_events_dir(self, cfg) -> bool:
        """Create ``cfg.events_dir`` where one is set; False, with the reason in the status line, when it cannot be."""
        if cfg.events_dir:
            try:
                Path(cfg.events_dir).mkdir(parents=True, exist_ok=True)
            except OSError as e:
                self._set_status(f"error: cannot create the events folder {cfg.events_dir}: {e.strerror or e}")
                return False
        return True

    def _run_session(self, session, message: str) -> bool:
        """Make ``session`` (a :class:`LiveSession` or :class:`GridSession`, its results and status lines already
        connected) the running one: its events and end connected, the last run's state cleared, ``message`` in the
        status line, started. Returns True."""
        session.event.connect(self._on_event)
        session.finished.connect(self._on_finished)
        self._session = session
        self._run_error = ""
        self._last_result = None
        self._shown_times.clear()
        self._set_status(message)
        session.start()
        self._update_controls()
        self.running_changed.emit(True)
        return True

    # ================================================================ the camera grid
    @property
    def grid_size(self) -> int:
        """Tiles per side of the chosen layout: 1 (one camera, the source choice), 2 or 3 (the camera list)."""
        return int(self.layout_box.currentData() or 1)

    def set_grid(self, n: int, sources: list | None = None) -> None:
        """Choose the layout (``n`` = 1, 2 or 3 tiles per side) and, with ``sources``, the grid's cameras (webcam
        indices, URLs, files).

        Raises:
            ValueError: another ``n``.
        """
        k = self.layout_box.findData(int(n))
        if k < 0:
            raise ValueError(f"grid size must be 1, 2 or 3, got {n}")
        self.layout_box.setCurrentIndex(k)
        if sources is not None:
            self.cameras_edit.setPlainText("\n".join(os.fspath(x) if not isinstance(x, int) else str(x)
                                                      for x in sources))

    def _on_layout(self, *_args) -> None:
        n = self.grid_size
        grid = n > 1
        self.grid.set_size(n if grid else 1)
        self.video_stack.setCurrentIndex(1 if grid else 0)
        self.cameras_edit.setVisible(grid)
        if self._cameras_label is not None:
            self._cameras_label.setVisible(grid)
        for w in self._single_rows:
            if w is not None:
                w.setVisible(not grid)

    def _start_grid(self) -> bool:
        from core.live.multicam import unique_names

        n = self.grid_size
        try:
            sources = parse_sources(self.cameras_edit.toPlainText())
            if len(sources) > n * n:
                raise ValueError(f"{len(sources)} cameras do not fit a {n}×{n} grid: choose a larger one")
            if self.execution == "remote":
                raise ValueError("the camera grid runs pose on this computer (one shared model): choose Run on Local")
            cfg = self.config()
        except ValueError as e:
            self._set_status(f"error: {e}")
            return False
        self.save_settings()
        if not self._make_events_dir(cfg):
            return False
        names = unique_names(sources)
        self.grid.assign(names)
        session = GridSession(sources, cfg, names, shared=cfg.backend == "yolo")
        session.result_ready.connect(self._on_grid_result)
        session.status.connect(self._on_grid_status)
        return self._run_session(session, f"starting {len(sources)} cameras: {', '.join(names)}")

    @Slot(str)
    def _on_grid_result(self, camera: str) -> None:
        s = self._session
        if not isinstance(s, GridSession):
            return
        r = s.take(camera)
        tile = self.grid.tile(camera)
        if r is None or tile is None:
            return
        tile.show_result(r, self._overlay)
        self._last_result = r
        self._frames_shown += 1
        self._shown_times.append(time.monotonic())
        self.frame_shown.emit(int(r.frame_index))

    @Slot(str, str)
    def _on_grid_status(self, camera: str, message: str) -> None:
        tile = self.grid.tile(camera) if camera else None
        if tile is not None:
            tile.show_status(message)
        self._on_status(f"{camera}: {message}" if camera else message)

    def stop(self) -> None:
        """Ask the detector to stop; returns at once. :attr:`running_changed` (False) follows when
        its threads have ended."""
        if self._session is None:
            return
        self._session.request_stop()
        self.stop_button.setEnabled(False)
        self._set_status("stopping…")

    def shutdown(self, timeout_ms: int = JOIN_TIMEOUT_MS) -> bool:
        """Stop and wait for the detector's threads (window or application closing; blocks up to
        ``timeout_ms``). True if nothing is left running."""
        s = self._session
        if s is None:
            return True
        s.request_stop()
        ok = s.wait_ended(timeout_ms / 1000.0)
        if ok and s is self._session:
            self._on_finished()
        return ok

    @staticmethod
    def _describe_source(source) -> str:
        return f"webcam {source}" if isinstance(source, int) else str(source)

    # ================================================================ results (GUI thread)
    @Slot()
    def _on_result_ready(self) -> None:
        s = self._session
        if s is None:
            return
        r = s.take()
        if r is None:
            return
        self.show_result(r)

    def show_result(self, r) -> None:
        """Draw a :class:`core.live.LiveResult` (overlay on its image) and update the readout."""
        image = draw_overlay(r.image, r.poses, r.labels, self._overlay)
        self.view.set_image(image)
        self._last_result = r
        self._frames_shown += 1
        self._shown_times.append(time.monotonic())
        self._show_readout(r)
        n = len(r.poses.persons)
        self.persons_label.setText(f"{n} {'person' if n == 1 else 'people'}")
        self.frame_shown.emit(int(r.frame_index))

    def _show_readout(self, r) -> None:
        if r is None:
            self.readout.setText("— fps · latency — ms · dropped 0")
            self.persons_label.setText("")
            return
        skipped = self._session.skipped if self._session is not None else 0
        scene = getattr(r, "scene", None)
        self.readout.setText(f"{r.fps:5.1f} fps · latency {r.latency_ms:4.0f} ms · dropped {r.dropped}"
                             + (f" · skipped {skipped}" if skipped else "")
                             + (f" · scene {scene:.2f}" if scene is not None else ""))
        pose = getattr(self._session.detector, "pose_description", "") if self._session is not None else ""
        self.readout.setToolTip(READOUT_TIP + (f"\nPose model: {pose}" if pose else ""))

    def set_overlay(self, skeleton: bool | None = None, boxes: bool | None = None, ids: bool | None = None,
                    labels: bool | None = None) -> None:
        """Switch overlay layers on or off (None leaves a layer as it is); the last frame is redrawn."""
        set_overlay_layers(self._overlay, self.overlay_checks, skeleton=skeleton, boxes=boxes, ids=ids, labels=labels)
        r = self._last_result
        if r is not None:
            self.view.set_image(draw_overlay(r.image, r.poses, r.labels, self._overlay))

    @property
    def overlay_options(self) -> OverlayOptions:
        """A copy of the overlay layer toggles."""
        return replace(self._overlay)

    def open_events_folder(self) -> bool:
        """Show the events folder with the desktop's file manager; False (and a status line) if it
        does not exist yet."""
        folder = self.events_edit.text().strip()
        if not folder or not Path(folder).is_dir():
            self._set_status(f"no events folder yet: {folder or '(none chosen)'}")
            return False
        ok = bool(self.event_log.open_url(QUrl.fromLocalFile(folder)))
        if not ok:
            self._set_status(f"the desktop could not open {folder}")
        return ok

    @property
    def last_result(self):
        """The last :class:`core.live.LiveResult` drawn, or None."""
        return self._last_result

    @property
    def frames_shown(self) -> int:
        """How many results were drawn since the view was created."""
        return self._frames_shown

    @property
    def display_fps(self) -> float:
        """Results drawn per second over the last (up to) 60 draws (0 before two draws)."""
        t = self._shown_times
        return (len(t) - 1) / (t[-1] - t[0]) if len(t) > 1 and t[-1] > t[0] else 0.0

    @property
    def results_received(self) -> int:
        """Results the current run's detector delivered (drawn or skipped); 0 without a run."""
        return self._session.received if self._session is not None else 0

    @property
    def skipped(self) -> int:
        """Results of the current run replaced by a newer one before the GUI drew them."""
        return self._session.skipped if self._session is not None else 0

    @Slot(object)
    def _on_event(self, ev) -> None:
        if self._session is not None:
            self.add_event(ev)

    def add_event(self, ev) -> None:
        """Show an alert (:class:`core.live.AlertEvent`): a row in the event log, a status line, and a
        beep when *Sound* is on."""
        self.event_log.add_event(ev)
        grid = isinstance(self._session, GridSession)
        cam = getattr(ev, "camera", None) if grid else None  # one camera: its name is the source's
        tile = self.grid.tile(cam) if cam else None
        if tile is not None:
            tile.show_alert(ev)
        self._set_status(f"ALERT: {cam + ': ' if cam else ''}track #{ev.track_id} {ev.label} ({ev.prob:.2f}) at frame {ev.frame_index}")
        if self.sound_check.isChecked():
            QApplication.beep()
        self.event_added.emit(ev)

    @Slot(str)
    def _on_status(self, message: str) -> None:
        if self._session is not None:
            if str(message).startswith("error"):
                self._run_error = " ".join(str(message).split())
            self._set_status(message)

    @Slot()
    def _on_finished(self) -> None:
        s = self._session
        if s is None:
            return
        # the run is over: drop its late deliveries (a shutdown() that joined before the queue drained)
        b = s
        grid = isinstance(s, GridSession)
        for sig, slot in ((b.result_ready, self._on_grid_result if grid else self._on_result_ready),
                          (b.event, self._on_event), (b.status, self._on_grid_status if grid else self._on_status),
                          (b.finished, self._on_finished)):
            try:
                sig.disconnect(slot)
            except (RuntimeError, TypeError):  # already disconnected
                pass
        self._session = None
        stats = {}
        try:
            stats = s.detector.stats() if s.detector is not None else {}
        except Exception:  # noqa: BLE001 - stats are informative only
            log.debug("stats failed", exc_info=True)
        if self._run_error:  # the run's error stays the last word, whatever came in between
            self._set_status(self._run_error)
        else:
            frames = stats.get("frames") if not grid else sum(
                v.get("frames", 0) for k, v in stats.items() if k != "shared_pose" and isinstance(v, dict))
            self._set_status("stopped" + (f" after {frames} frames" if frames is not None else ""))
        self._update_controls()
        self.running_changed.emit(False)

    # ================================================================ status and controls
    def _set_status(self, message: str) -> None:
        msg = " ".join(str(message).split())[:400]
        self._last_status = msg
        self._status_history.append(msg)
        bad = msg.lower().startswith(("error", "camera lost", "stream lost", "lost")) or "reconnect" in msg.lower()
        self.status_label.setStyleSheet("color: #c62828;" if bad else "")
        self.status_label.setText(msg)
        self.status_label.setToolTip("\n".join(self._status_history))
        self.status_changed.emit(msg)

    @property
    def status_text(self) -> str:
        """The status line shown now."""
        return self._last_status

    @property
    def status_history(self) -> list[str]:
        """The last 50 status lines, oldest first."""
        return list(self._status_history)

    def _update_controls(self) -> None:
        running = self._session is not None
        self.start_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        for w in (self.source_kind, self.source_stack, self.backend_box, self.precision_box, self.model_box,
                  self.hold_box, self.prob_box, self.events_edit, self.events_browse, self.execution_box,
                  self.layout_box, self.cameras_edit):
            w.setEnabled(not running)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt override)
        """Closing the view stops the detector (without waiting for it)."""
        self.stop()
        super().closeEvent(event)


# ==================================================================== window and installation
class LiveWindow(QMainWindow):
    """A top-level "Live detection" window around a :class:`LiveView` (``.live_view``); closing it
    stops the detector (non-blocking). Status lines are also shown in its status bar."""

    def __init__(self, state: AppState | None = None, host: Host | None = None, settings: QSettings | None = None,
                 events_dir: str | os.PathLike | None = None):
        super().__init__(host.parent_widget if host is not None else None)
        self.setWindowFlag(Qt.WindowType.Window, True)
        self.setWindowTitle("PoseWatch — Live detection")
        self.setObjectName("live_window")
        self.live_view = LiveView(state, host, settings=settings, events_dir=events_dir)
        self.setCentralWidget(self.live_view)
        self.live_view.status_changed.connect(lambda m: self.statusBar().showMessage(m, 10_000))
        self.resize(1280, 720)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt override)
        """Stop the detector (its threads end in the background) and hide."""
        self.live_view.stop()
        super().closeEvent(event)


def install(state: AppState, host: Host, events_dir: str | os.PathLike | None = None) -> LiveWindow:
    """Add *View > Live detection…* (action ``live``, shortcut :data:`LIVE_SHORTCUT`) through ``host`` and return
    the :class:`LiveWindow` it shows.

    Closing the main window closes the live window and stops its detector. Calling it again returns the same
    window (with ``events_dir``, its events folder is set, unless it is running).

    Args:
        state: the app state the view follows.
        host: the window's host.
        events_dir: initial events folder (default: remembered, else :func:`default_events_dir`).
    """
    existing = host.actions.get("live")
    if existing is not None and isinstance(existing.data(), LiveWindow):
        live = existing.data()
        if events_dir is not None and not live.live_view.is_running:
            live.live_view.events_edit.setText(os.fspath(events_dir))
        return live
    live = LiveWindow(state, host, events_dir=events_dir)

    def show_live() -> None:
        live.show()
        live.raise_()
        live.activateWindow()

    act = host.add_action("live", "&Live detection…", show_live, "View", section="panels",
                          tip="Live detection on a webcam, a stream or a video file")
    act.setData(live)
    host.on_close(live.close)
    global _QUIT_HOOKED
    app = QApplication.instance()
    if app is not None and not _QUIT_HOOKED:
        app.aboutToQuit.connect(lambda: wait_for_detectors(5_000))
        _QUIT_HOOKED = True
    return live
