"""The Train panel: train a skeleton classifier in a child process and watch it learn.

The panel builds a ``python main.py train … --events jsonl`` command from the chosen data (the open
project, a PoseWatch export ``dataset.pt`` or skeleton CSV files), model and hyperparameters, and
runs it with :class:`TrainRun`: a :class:`~PySide6.QtCore.QThread` starts the child process and reads
its stdout line by line, so nothing ever blocks the GUI thread, and a crash or a kill of the
training ends only the child — the window, the open project and its labels are untouched.

The child prints one JSON object per line (the trainer's event protocol)::

    {"event": "start", "model": …, "epochs": E, "train_windows": n, "val_windows": m, "label_names": […],
     "summary": {"train": {class: windows}, "val": {class: frames}}, "warnings": ["one line", …]}
    {"event": "epoch_end", "epoch": i, "epochs": E, "train_loss": …, "val_loss": …, "train_acc": …,
     "val_acc": …, "val_macro_f1": …, "best_macro_f1": …, "elapsed_s": …, "eta_s": …}
    {"event": "checkpoint", "path": "DIR/model.pt", "epoch": i, "val_macro_f1": …}
    {"event": "done", "path": …, "metrics": {…}, "confusion_matrix": [[…]], "label_names": […],
     "stopped": bool, "stop_reason": "completed"|"early_stopping"|"time_limit"|"stopped", "epochs_run": i,
     "epochs": E, "warnings": […]}
    {"event": "error", "message": "one line"}            (then exit status 2)

Lines that are not such objects (warnings printed by libraries, progress bars) are ignored; stderr
is kept so that a crash is reported with its last line.

Stop sends SIGTERM: the trainer finishes the current batch, keeps the best checkpoint so far and
emits ``done`` with ``"stopped": true``; if it has not ended after a grace period it is killed.
"""

from __future__ import annotations

import collections
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import (
    QSettings,
    QStandardPaths,
    Qt,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtGui import QColor, QFontDatabase
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFrame,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core import config
from core.errors import PoseWatchError, describe_error, one_line
from core.state import AppState

from .host import Host
from .workers import ThreadOwner, ThreadRegistry

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
MAIN_PY = ROOT / "main.py"

from core.choices import MODEL_NAMES, VIDEO_MODEL_NAMES  # noqa: E402
FALLBACK_PRESETS = ("default", "quick", "seed")
DATA_FILTER = config.file_filter("training_data")
SETTINGS_PREFIX = "train/"
STOP_GRACE_MS = 20_000
STDERR_KEEP = 200
TRAIN_NICENESS = 0  # > 0: the child runs at a lower CPU priority than the GUI (POSIX)



# ==================================================================== event parsing
def parse_event(line: str | bytes) -> dict | None:
    """One trainer event from one stdout line, or None for anything else.

    Args:
        line: a line (str, or bytes decoded as UTF-8 with replacement), with or without its newline.

    Returns:
        The event dict (it has a string ``"event"`` key), or None for empty lines, non-JSON noise,
        JSON that is not an object, or an object without an ``"event"`` string.
    """
    if isinstance(line, bytes):
        line = line.decode("utf-8", "replace")
    text = line.strip()
    if not text.startswith("{"):
        return None
    try:
        obj = json.loads(text)
    except ValueError:
        return None
    if not isinstance(obj, dict) or not isinstance(obj.get("event"), str):
        return None
    return obj


def preset_names() -> tuple[str, ...]:
    """The trainer's preset names (:data:`core.training.PRESETS`; a fixed list if it cannot be read)."""
    try:
        from core.training import PRESETS as presets  # no torch at import time

        return tuple(presets) or FALLBACK_PRESETS
    except Exception:  # noqa: BLE001 - the panel works with the fallback names
        return FALLBACK_PRESETS


def format_duration(seconds: float | None) -> str:
    """``"1:02:03"``, ``"2:05"`` or ``"12 s"`` for a duration in seconds; ``"–"`` when unknown."""
    if seconds is None:
        return "–"
    try:
        s = max(0, int(round(float(seconds))))
    except (TypeError, ValueError):
        return "–"
    if s < 60:
        return f"{s} s"
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


def train_command(data: list[str], model: str, out_dir: str, preset: str = "default", epochs: int = 0,
                  lr: float = 0.0, window: int = 0, batch_size: int = 0, python: str | None = None) -> list[str]:
    """The argument list of a ``main.py train`` child that streams JSON events.

    Args:
        data: project folder, export ``dataset.pt`` or skeleton CSV paths (one or more).
        model: ``lstm``, ``transformer`` or ``stgcn``.
        out_dir: output folder (``model.pt`` and the metrics JSON are written there).
        preset: the trainer's preset name.
        epochs, lr, window, batch_size: overrides; 0 keeps the preset's value.
        python: the interpreter (default: this one).

    Returns:
        ``[python, main.py, "train", "--data", *data, …, "--events", "jsonl"]``.
    """
    args = [python or sys.executable, str(MAIN_PY), "train", "--data", *[str(d) for d in data], "--model", model,
            "--preset", preset, "--out", str(out_dir), "--events", "jsonl"]
    if epochs > 0:
        args += ["--epochs", str(int(epochs))]
    if lr > 0:
        args += ["--lr", f"{lr:g}"]
    if window > 0:
        args += ["--window", str(int(window))]
    if batch_size > 0:
        args += ["--batch-size", str(int(batch_size))]
    return args


# ==================================================================== the child process
class TrainRun(ThreadOwner):
    """A training child process driven from a background thread.

    The thread starts ``args`` with :class:`subprocess.Popen`, reads its stdout line by line and
    re-emits the parsed events as signals **in the GUI thread** (stderr is drained by a second
    thread and its last lines kept). Nothing here blocks the GUI thread.

    Args:
        args: the full command line (see :func:`train_command`).
        cwd: working directory of the child (default: the repository root).
        env: extra environment variables for the child.

    Signals:
        event(dict): one parsed trainer event (see the module docstring).
        finished(int, str, object): the child ended: its exit status (negative: killed by that
            signal; -1000: it could not be started), the last non-empty stderr line (or the reason
            it could not start), and the ``done`` event (dict) or None if it never sent one.
    """

    registry = ThreadRegistry()
    kind = "training run"

    event = Signal(object)
    finished = Signal(int, str, object)

    _q_event = Signal(object)
    _q_finished = Signal(int, str, object)

    def __init__(self, args: list[str], cwd: str | os.PathLike | None = None, env: dict[str, str] | None = None):
        super().__init__()
        self.args = [str(a) for a in args]
        self._cwd = str(cwd or ROOT)
        self._env = dict(os.environ, PYTHONUNBUFFERED="1", **(env or {}))
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._stop_requested = False
        self._stderr: collections.deque[str] = collections.deque(maxlen=STDERR_KEEP)
        self._kill_timer: QTimer | None = None
        self.done_event: dict | None = None
        self.returncode: int | None = None
        self._q_event.connect(self._emit_event, Qt.ConnectionType.QueuedConnection)
        self._q_finished.connect(self._emit_finished, Qt.ConnectionType.QueuedConnection)

    # -- control (GUI thread) -------------------------------------------------------------------
    def start(self) -> TrainRun:
        """Start the background thread, which starts the child; returns ``self``."""
        self.start_thread()
        return self

    @property
    def pid(self) -> int | None:
        """The child's process id (None before it started)."""
        with self._lock:
            return self._proc.pid if self._proc is not None else None

    @property
    def stop_requested(self) -> bool:
        """True once :meth:`stop` or :meth:`kill` was called."""
        return self._stop_requested

    def stderr_lines(self) -> list[str]:
        """The last (up to 200) stderr lines of the child."""
        return list(self._stderr)

    def stop(self, grace_ms: int = STOP_GRACE_MS) -> None:
        """Ask the child to stop (SIGTERM; it keeps its best checkpoint and sends ``done``); kill it
        if it is still running after ``grace_ms`` milliseconds."""
        self._stop_requested = True
        with self._lock:
            proc = self._proc
        if proc is not None and proc.poll() is None:
            try:
                proc.terminate()
            except OSError:
                pass
        if self._kill_timer is None:
            self._kill_timer = QTimer(self)
            self._kill_timer.setSingleShot(True)
            self._kill_timer.timeout.connect(self.kill)
            self._kill_timer.start(max(0, int(grace_ms)))

    def kill(self) -> None:
        """Kill the child (and its process group on POSIX) at once."""
        self._stop_requested = True
        with self._lock:
            proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        try:
            if os.name == "posix":
                os.killpg(proc.pid, signal.SIGKILL)
            else:
                proc.kill()
        except OSError:
            try:
                proc.kill()
            except OSError:
                pass

    # -- background thread ----------------------------------------------------------------------
    def _run(self) -> None:
        try:
            proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    stdin=subprocess.DEVNULL, cwd=self._cwd, env=self._env,
                                    start_new_session=(os.name == "posix"))
        except OSError as e:
            self._q_finished.emit(-1000, f"cannot start the training process: {e}", None)
            return
        with self._lock:
            self._proc = proc
        if TRAIN_NICENESS and hasattr(os, "setpriority"):  # the training yields the CPU to the GUI
            try:
                os.setpriority(os.PRIO_PROCESS, proc.pid, TRAIN_NICENESS)
            except OSError:
                pass
        if self._stop_requested:  # Stop was pressed before the child existed
            proc.terminate()
        err = threading.Thread(target=self._drain_stderr, args=(proc,), daemon=True)
        err.start()
        done = None
        try:
            for raw in proc.stdout:
                ev = parse_event(raw)
                if ev is None:
                    text = raw.decode("utf-8", "replace").rstrip()
                    if text:
                        log.debug("trainer: %s", text)
                    continue
                if ev["event"] == "done":
                    done = ev
                self._q_event.emit(ev)
        except Exception:  # noqa: BLE001 - a broken pipe must not escape the thread
            log.exception("reading the training process output")
        rc = proc.wait()
        err.join(10)
        last = next((line for line in reversed(self._stderr) if line.strip()), "")
        self._q_finished.emit(int(rc), last, done)

    def _drain_stderr(self, proc: subprocess.Popen) -> None:
        try:
            for raw in proc.stderr:
                # a progress bar redraws with \r: keep its last state only
                text = raw.decode("utf-8", "replace").rstrip().rsplit("\r", 1)[-1].strip()
                if text:
                    self._stderr.append(text)
        except Exception:  # noqa: BLE001
            pass

    # -- re-emission in the GUI thread -----------------------------------------------------------
    @Slot(object)
    def _emit_event(self, ev: dict) -> None:
        if ev.get("event") == "done":
            self.done_event = ev
        self.event.emit(ev)

    @Slot(int, str, object)
    def _emit_finished(self, rc: int, last: str, done: object) -> None:
        self.returncode = rc
        if self._kill_timer is not None:
            self._kill_timer.stop()
        self.finished.emit(rc, last, done)


def running_runs() -> list[TrainRun]:
    """Training runs whose thread has not ended yet (:meth:`gui.workers.ThreadRegistry.running`)."""
    return TrainRun.registry.running()


def stop_all(timeout_ms: int = 20_000) -> bool:
    """Stop every running training (SIGTERM, then kill) and wait for their threads; True if all ended.

    For application exit: blocks the calling thread up to about ``timeout_ms`` (+10 s after kill)."""
    runs = TrainRun.registry.members()
    for r in runs:
        r.stop(timeout_ms)
    ok = True
    for r in runs:
        if not r.wait(timeout_ms):
            r.kill()
            ok = r.wait(10_000) and ok
    return ok


# ==================================================================== the panel
def _cell_colour(fraction: float) -> QColor:
    """White (0) to a strong blue (1)."""
    f = min(1.0, max(0.0, float(fraction)))
    return QColor(int(255 - 205 * f), int(255 - 165 * f), int(255 - 55 * f))


class ConfusionMatrixView(QTableWidget):
    """A confusion matrix as a table: rows are the true class, columns the predicted class; each
    cell shows the count and is coloured by its share of the row. Once a matrix is shown the table is tall
    enough for all its rows (the Train panel scrolls)."""

    #: minimum height (pixels) without a matrix
    EMPTY_HEIGHT = 60

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.setToolTip("Confusion matrix on the validation data: rows = true class, columns = predicted class")
        self.setMinimumHeight(self.EMPTY_HEIGHT)
        self.label_names: list[str] = []
        self.matrix: list[list[int]] = []

    def set_matrix(self, matrix: list[list[float]], label_names: list[str]) -> None:
        """Show ``matrix`` (K×K counts, rows true, columns predicted) with its K class names.

        Raises:
            ValueError: the matrix is not K×K for the K names.
        """
        k = len(label_names)
        if len(matrix) != k or any(len(row) != k for row in matrix):
            raise ValueError(f"confusion matrix is not {k}×{k} for {k} label names")
        self.clear()
        self.label_names = [str(n) for n in label_names]
        self.matrix = [[int(round(float(v))) for v in row] for row in matrix]
        self.setRowCount(k)
        self.setColumnCount(k)
        self.setHorizontalHeaderLabels([f"→ {n}" for n in self.label_names])
        self.setVerticalHeaderLabels(self.label_names)
        for i, row in enumerate(self.matrix):
            total = sum(row) or 1
            for j, v in enumerate(row):
                item = QTableWidgetItem(str(v))
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                frac = v / total
                item.setBackground(_cell_colour(frac))
                item.setForeground(QColor("white" if frac > 0.6 else "black"))
                item.setToolTip(f"true {self.label_names[i]}, predicted {self.label_names[j]}: {v} ({frac:.0%} of the row)")
                self.setItem(i, j, item)
        self.resizeRowsToContents()
        self.setMinimumHeight(self.rows_height())

    def rows_height(self) -> int:
        """Pixels the table needs to show its header and every row (its minimum height once a matrix is shown)."""
        rows = sum(self.rowHeight(i) for i in range(self.rowCount()))
        return self.horizontalHeader().sizeHint().height() + rows + 2 * self.frameWidth() + 2

    def visible_rows(self) -> int:
        """How many rows are entirely in view."""
        top = self.viewport().rect()
        return sum(1 for i in range(self.rowCount())
                   if self.rowViewportPosition(i) >= 0 and self.rowViewportPosition(i) + self.rowHeight(i) <= top.height())

    def clear_matrix(self) -> None:
        """Show nothing."""
        self.clear()
        self.setRowCount(0)
        self.setColumnCount(0)
        self.label_names, self.matrix = [], []
        self.setMinimumHeight(self.EMPTY_HEIGHT)


class TrainPanel(QWidget):
    """Choose data, model and hyperparameters; Start, watch live curves, Stop, use the result.

    Use from code (tests, scripts)::

        panel = window.train_panel              # or TrainPanel(state, host)
        panel.set_data(["data.csv"])            # or panel.use_project()
        panel.model_box.setCurrentText("stgcn")
        panel.start(out_dir="runs/a")           # non-blocking; False (and reported) if refused
        ...                                      # signals below; panel.history grows per epoch
        panel.stop()                             # SIGTERM: the best checkpoint so far is kept
        panel.use_model()                        # state.load_classifier(best checkpoint)

    Args:
        state: the app state (its open project is the default data; "Use this model" makes the best checkpoint
            its classifier). None: a standalone panel.
        host: the window's host (errors go to its status bar and message box). None: errors are logged.
        settings: where the last choices are kept (default: the host's settings).

    Signals:
        run_started(list): the child's command line.
        epoch_finished(dict): an ``epoch_end`` event (after the curves were updated).
        checkpoint_saved(str): the best checkpoint so far was written (its path).
        run_finished(object): the run ended: the ``done`` event (dict; ``stopped`` true if it was
            stopped) or None if it failed or was killed.
        run_failed(str): the one-line message shown for a failed or killed run.
    """

    run_started = Signal(list)
    epoch_finished = Signal(dict)
    checkpoint_saved = Signal(str)
    run_finished = Signal(object)
    run_failed = Signal(str)

    CURVES = ("train_loss", "val_loss", "train_acc", "val_acc", "val_macro_f1")

    def __init__(self, state: AppState | None = None, host: Host | None = None, settings: QSettings | None = None,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.state, self.host = state, host
        self.settings = settings if settings is not None else (host.settings if host is not None else QSettings())
        self._run: TrainRun | None = None
        self._data: list[str] = []
        self._data_is_project = False
        self.history: list[dict] = []
        self.start_event: dict | None = None
        self.result: dict | None = None
        self.data_warnings: list[str] = []
        self.checkpoint_path: str | None = None
        self.out_dir: str | None = None
        self.last_message: str = ""
        self._build()
        self._restore_settings()
        if state is not None:
            state.events.project.connect(self._on_project_changed)
            if state.project is not None:
                self._on_project_changed(state.project)
        self._update_enabled()

    # ================================================================ construction
    def _build(self) -> None:
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)

        # -- data
        self.data_edit = QLineEdit()
        self.data_edit.setReadOnly(True)
        self.data_edit.setPlaceholderText("the open project, or an export dataset.pt / skeleton CSV files")
        self.project_button = QPushButton("Project")
        self.project_button.setToolTip("Train on the clips labelled in the open project")
        self.project_button.clicked.connect(self.use_project)
        self.browse_button = QPushButton("Files…")
        self.browse_button.setToolTip("Train on a PoseWatch export (dataset.pt) or skeleton CSV files")
        self.browse_button.clicked.connect(self._browse_data)
        data_row = QHBoxLayout()
        data_row.addWidget(self.data_edit, 1)
        data_row.addWidget(self.project_button)
        data_row.addWidget(self.browse_button)

        # -- model and hyperparameters
        self.model_box = QComboBox()
        self.model_box.addItems(list(MODEL_NAMES))
        self.model_box.setToolTip("lstm: the seed's 4-layer LSTM (baseline); transformer: a Transformer encoder "
                                  "over frames; stgcn: ST-GCN over the 13-joint skeleton graph; r2plus1d: an R(2+1)D "
                                  "network over 1-s windows of the clips' pixels (crops as labelled); fusion: "
                                  "skeleton + RGB streams (presets default, quick or kinetics)")
        self.preset_box = QComboBox()
        self.preset_box.setEditable(True)
        self.presets = preset_names()
        self.preset_box.addItems(list(self.presets))
        self.preset_box.setToolTip("The trainer's preset (hyperparameters not set below come from it)")
        self.epochs_spin = QSpinBox()
        self.epochs_spin.setRange(0, 10_000)
        self.epochs_spin.setSpecialValueText("preset")
        self.epochs_spin.setToolTip("Maximum number of epochs (early stopping may end sooner); 'preset': its value")
        self.lr_spin = QDoubleSpinBox()
        self.lr_spin.setDecimals(5)
        self.lr_spin.setRange(0.0, 1.0)
        self.lr_spin.setSingleStep(0.0001)
        self.lr_spin.setSpecialValueText("preset")
        self.lr_spin.setToolTip("Learning rate; 'preset': its value")
        self.window_spin = QSpinBox()
        self.window_spin.setRange(0, 1000)
        self.window_spin.setSpecialValueText("preset")
        self.window_spin.setSuffix(" frames")
        self.window_spin.setToolTip("Window length T in frames; 'preset': its value")
        self.batch_spin = QSpinBox()
        self.batch_spin.setRange(0, 65_536)
        self.batch_spin.setSpecialValueText("preset")
        self.batch_spin.setToolTip("Batch size; 'preset': its value")
        self.out_edit = QLineEdit()
        self.out_edit.setPlaceholderText("automatic: a new folder under the project's models/ (or your data folder)")
        self.out_edit.setToolTip("Output folder for model.pt and the metrics (empty: a new folder per run)")

        form = QFormLayout()
        form.addRow("Data", data_row)
        grid = QGridLayout()
        grid.addWidget(QLabel("Model"), 0, 0)
        grid.addWidget(self.model_box, 0, 1)
        grid.addWidget(QLabel("Preset"), 0, 2)
        grid.addWidget(self.preset_box, 0, 3)
        grid.addWidget(QLabel("Epochs"), 1, 0)
        grid.addWidget(self.epochs_spin, 1, 1)
        grid.addWidget(QLabel("Learning rate"), 1, 2)
        grid.addWidget(self.lr_spin, 1, 3)
        grid.addWidget(QLabel("Window"), 2, 0)
        grid.addWidget(self.window_spin, 2, 1)
        grid.addWidget(QLabel("Batch size"), 2, 2)
        grid.addWidget(self.batch_spin, 2, 3)
        form.addRow(grid)
        form.addRow("Output", self.out_edit)
        setup = QGroupBox("Training")
        setup.setLayout(form)

        # -- run controls and progress
        self.start_button = QPushButton("Start")
        self.start_button.clicked.connect(lambda: self.start())
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("End the training; the best model so far is kept")
        self.stop_button.clicked.connect(self.stop)
        self.use_button = QPushButton("Use this model")
        self.use_button.setToolTip("Load the trained model into the player: labels then come from it")
        self.use_button.clicked.connect(lambda: self.use_model())
        self.epoch_label = QLabel("Epoch –")
        self.epoch_label.setFont(mono)
        self.eta_label = QLabel("ETA –")
        self.eta_label.setFont(mono)
        self.best_label = QLabel("")
        self.best_label.setFont(mono)
        controls = QHBoxLayout()
        for wdg in (self.start_button, self.stop_button, self.use_button):
            controls.addWidget(wdg)
        controls.addSpacing(12)
        controls.addWidget(self.epoch_label)
        controls.addSpacing(8)
        controls.addWidget(self.eta_label)
        controls.addSpacing(8)
        controls.addWidget(self.best_label)
        controls.addStretch(1)
        self.status_label = QLabel("")
        self.status_label.setWordWrap(True)
        self.status_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

        # -- curves
        self.plots: dict[str, pg.PlotWidget] = {}
        self.curves: dict[str, pg.PlotDataItem] = {}
        plots_row = QHBoxLayout()
        for key, title, series in (("loss", "Loss", (("train_loss", "train", "#1f77b4"), ("val_loss", "val", "#ff7f0e"))),
                                   ("acc", "Accuracy", (("train_acc", "train", "#1f77b4"), ("val_acc", "val", "#ff7f0e"))),
                                   ("f1", "Validation macro-F1", (("val_macro_f1", "val", "#2ca02c"),))):
            pw = pg.PlotWidget(title=title)
            pw.setBackground("w")
            pw.showGrid(x=True, y=True, alpha=0.3)
            pw.setLabel("bottom", "epoch")
            pw.setMinimumHeight(140)
            pw.addLegend(offset=(-5, 5) if key == "loss" else (-5, -5))  # away from the curves' ends
            pw.setMouseEnabled(x=False, y=False)
            if key != "loss":
                pw.setYRange(0.0, 1.0)
            for name, legend, colour in series:
                self.curves[name] = pw.plot([], [], name=legend, pen=pg.mkPen(colour, width=2), symbol="o",
                                            symbolSize=5, symbolBrush=colour, symbolPen=None)
            self.plots[key] = pw
            plots_row.addWidget(pw)

        # -- confusion matrix
        self.confusion = ConfusionMatrixView()
        self.confusion_title = QLabel("Confusion matrix (validation; rows: true, columns: predicted) — at the end of a run")

        # everything scrolls inside the dock, so the panel never makes the window taller than the screen
        content = QWidget()
        lay = QVBoxLayout(content)
        lay.addWidget(setup)
        lay.addLayout(controls)
        lay.addWidget(self.status_label)
        lay.addLayout(plots_row, 3)
        lay.addWidget(self.confusion_title)
        lay.addWidget(self.confusion, 2)
        self.scroll = QScrollArea()
        self.scroll.setWidget(content)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.scroll)

    # ================================================================ settings
    def _key(self, name: str) -> str:
        return SETTINGS_PREFIX + name

    def _restore_settings(self) -> None:
        s = self.settings
        model = str(s.value(self._key("model"), MODEL_NAMES[0]))
        if model in MODEL_NAMES:
            self.model_box.setCurrentText(model)
        self.preset_box.setCurrentText(str(s.value(self._key("preset"), self.presets[0]) or self.presets[0]))
        for name, spin, conv in (("epochs", self.epochs_spin, int), ("lr", self.lr_spin, float),
                                 ("window", self.window_spin, int), ("batch_size", self.batch_spin, int)):
            try:
                spin.setValue(conv(s.value(self._key(name), 0) or 0))
            except (TypeError, ValueError):
                spin.setValue(0)
        files = s.value(self._key("data_files"), [])
        if isinstance(files, str):
            files = [files] if files else []
        files = [str(f) for f in (files or []) if Path(str(f)).exists()]
        if files:
            self.set_data(files)

    def save_settings(self) -> None:
        """Remember the model, preset, hyperparameters and data files (done at every start and data choice)."""
        s = self.settings
        s.setValue(self._key("model"), self.model_box.currentText())
        s.setValue(self._key("preset"), self.preset_box.currentText())
        s.setValue(self._key("epochs"), self.epochs_spin.value())
        s.setValue(self._key("lr"), self.lr_spin.value())
        s.setValue(self._key("window"), self.window_spin.value())
        s.setValue(self._key("batch_size"), self.batch_spin.value())
        if not self._data_is_project:
            s.setValue(self._key("data_files"), list(self._data))
        s.sync()

    # ================================================================ data choice
    @property
    def data(self) -> list[str]:
        """The chosen training data paths (a project folder, or export/CSV files)."""
        return list(self._data)

    def set_data(self, paths: list[str | os.PathLike], is_project: bool = False) -> None:
        """Train on ``paths``: one project folder, an export ``dataset.pt`` or skeleton CSV files."""
        self._data = [str(p) for p in paths]
        self._data_is_project = bool(is_project)
        shown = "; ".join(self._data)
        self.data_edit.setText(("project: " + shown) if is_project and shown else shown)
        self.data_edit.setToolTip("\n".join(self._data))
        self._update_enabled()

    def use_project(self) -> bool:
        """Train on the window's open project; False (and a message) if none is open."""
        proj = self.state.project if self.state is not None else None
        if proj is None:
            self._report("no project is open: open one (File > Open project) or choose export/CSV files")
            return False
        self.set_data([str(proj.folder)], is_project=True)
        return True

    def _on_project_changed(self, project) -> None:
        if project is not None and (not self._data or self._data_is_project):
            self.set_data([str(project.folder)], is_project=True)
        elif project is None and self._data_is_project:
            self.set_data([])
        self._update_enabled()

    def _browse_data(self) -> None:
        start = str(Path(self._data[0]).parent) if self._data and not self._data_is_project else ""
        if self.model_box.currentText() in VIDEO_MODEL_NAMES:  # RGB models read folders of clips
            folder = QFileDialog.getExistingDirectory(self, "Training clips: a project, an export with clips/, or a "
                                                      "folder of videos per label", start)
            if folder:
                self.set_data([folder])
                self._save_settings()
            return
        paths, _ = QFileDialog.getOpenFileNames(self, "Training data: export dataset.pt or skeleton CSV files",
                                                start, DATA_FILTER)
        if paths:
            self.set_data(paths)
            self.save_settings()

    def default_out_dir(self) -> Path:
        """A new folder for this run: ``<project>/models/<model>-<time>`` for a project, else under
        the user's application data folder."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        name = f"{self.model_box.currentText()}-{stamp}"
        if self._data_is_project and self._data:
            return Path(self._data[0]) / "models" / name
        base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation) or str(Path.home() / ".posewatch")
        return Path(base) / "models" / name

    # ================================================================ running
    @property
    def run(self) -> TrainRun | None:
        """The current (or last) training run."""
        return self._run

    def is_running(self) -> bool:
        """True while a training child runs (or its output is still being read)."""
        return self._run is not None and self._run.is_running() and self._run.returncode is None

    def command(self, out_dir: str | os.PathLike) -> list[str]:
        """The child's command line for the current choices (see :func:`train_command`)."""
        return train_command(self._data, self.model_box.currentText(), str(out_dir),
                             self.preset_box.currentText().strip() or self.presets[0], self.epochs_spin.value(),
                             self.lr_spin.value(), self.window_spin.value(), self.batch_spin.value())

    def start(self, out_dir: str | os.PathLike | None = None, args: list[str] | None = None) -> bool:
        """Start training in a child process (non-blocking).

        Args:
            out_dir: output folder (default: the Output field, else :meth:`default_out_dir`).
            args: a complete command line to run instead of :meth:`command` (it must speak the
                same event protocol), e.g. a test's stand-in trainer.

        Returns:
            False (with a message in the status bar) if a run is going on, no data is chosen or a
            data path does not exist; True once the child is being started.
        """
        if self.is_running():
            self._report("a training run is going on: stop it first")
            return False
        if args is None:
            if not self._data:
                self._report("choose the training data first: the open project, an export dataset.pt or skeleton CSV files")
                return False
            missing = [p for p in self._data if not Path(p).exists()]
            if missing:
                self._report(f"training data not found: {missing[0]}")
                return False
        out = Path(out_dir) if out_dir else (Path(self.out_edit.text().strip()) if self.out_edit.text().strip()
                                             else self.default_out_dir())
        self.out_dir = str(out)
        cmd = list(args) if args is not None else self.command(out)
        self.save_settings()
        self._reset_view()
        run = TrainRun(cmd)
        run.event.connect(lambda ev, r=run: self._on_event(r, ev))
        run.finished.connect(lambda rc, last, done, r=run: self._on_finished(r, rc, last, done))
        self._run = run
        run.start()
        self._set_status(f"training {self.model_box.currentText()} … (output: {out})")
        self._update_enabled()
        self.run_started.emit(cmd)
        return True

    def stop(self) -> None:
        """Stop the run: SIGTERM (the trainer keeps its best checkpoint and reports ``done``), then a
        kill if it has not ended within the grace period."""
        if self._run is None or not self.is_running():
            return
        self._run.stop()
        self._set_status("stopping … (the best model so far is kept)")
        self._update_enabled()

    def shutdown(self, timeout_ms: int = 15_000) -> None:
        """Stop a running training and wait for it (at window close). Blocks up to ``timeout_ms``
        (+ a kill) — only for closing."""
        run = self._run
        if run is None or not run.is_running():
            return
        run.stop(timeout_ms)
        if not run.wait(timeout_ms):
            run.kill()
            run.wait(10_000)

    def use_model(self) -> bool:
        """Load the trained model (the best checkpoint) into the window's player; False if there is
        none or it cannot be loaded (reported)."""
        path = (self.result or {}).get("path") or self.checkpoint_path
        if not path or not Path(path).is_file():
            self._report("no trained model to use yet")
            return False
        if self.state is None:
            self._report("no player to load the model into")
            return False
        try:
            self.state.load_classifier(path)
        except PoseWatchError as e:
            self._report(str(e))
            return False
        except Exception as e:  # noqa: BLE001 - a checkpoint torch cannot read
            self._report(f"cannot load classifier {path}: {describe_error(e)}")
            return False
        self._set_status(f"the player's labels now come from {path}")
        return True

    # ================================================================ events
    def _reset_view(self) -> None:
        self.history = []
        self.start_event = None
        self.result = None
        self.data_warnings: list[str] = []
        self.checkpoint_path = None
        self.last_message = ""
        for c in self.curves.values():
            c.setData([], [])
        self.epoch_label.setText("Epoch –")
        self.eta_label.setText("ETA –")
        self.best_label.setText("")
        self.confusion.clear_matrix()

    def _on_event(self, run: TrainRun, ev: dict) -> None:
        if run is not self._run:
            return
        kind = ev.get("event")
        if kind == "start":
            self.start_event = ev
            e = ev.get("epochs")
            self.epoch_label.setText(f"Epoch 0/{e}" if e else "Epoch 0")
            summary = ev.get("summary") or {}
            per = ", ".join(f"{n} {summary.get('train', {}).get(n, '?')}/{summary.get('val', {}).get(n, '?')}"
                            for n in ev.get("label_names", []))
            text = (f"training {ev.get('model', '')}: {ev.get('train_windows', '?')} training windows, "
                    f"{ev.get('val_windows', '?')} validation windows; per class (train windows/validation frames): "
                    f"{per}")
            self.data_warnings = [str(x) for x in ev.get("warnings") or []]
            if self.data_warnings:
                text += "\nwarning: " + "\nwarning: ".join(self.data_warnings)
            self._set_status(text)
        elif kind == "epoch_end":
            self.history.append(ev)
            epochs = [float(h.get("epoch", i + 1)) for i, h in enumerate(self.history)]
            for name, curve in self.curves.items():
                pts = [(x, float(h[name])) for x, h in zip(epochs, self.history)
                       if isinstance(h.get(name), (int, float))]
                curve.setData([p[0] for p in pts], [p[1] for p in pts])
            self.epoch_label.setText(f"Epoch {ev.get('epoch', len(self.history))}/{ev.get('epochs', '?')}")
            self.eta_label.setText(f"ETA {format_duration(ev.get('eta_s'))}  (elapsed {format_duration(ev.get('elapsed_s'))})")
            best = ev.get("best_macro_f1")
            if isinstance(best, (int, float)):
                self.best_label.setText(f"best macro-F1 {best:.3f}")
            self.epoch_finished.emit(ev)
        elif kind == "checkpoint":
            self.checkpoint_path = str(ev.get("path") or "")
            self._update_enabled()
            self.checkpoint_saved.emit(self.checkpoint_path)
        elif kind == "done":
            self.result = ev
            if ev.get("path"):
                self.checkpoint_path = str(ev["path"])
            cm, names = ev.get("confusion_matrix"), ev.get("label_names") or (self.start_event or {}).get("label_names")
            if cm and names:
                try:
                    self.confusion.set_matrix(cm, list(names))
                except (ValueError, TypeError) as e:
                    log.warning("bad confusion matrix in the done event: %s", e)
        elif kind == "error":
            self.last_message = one_line(ev.get("message") or "")

    def _on_finished(self, run: TrainRun, rc: int, last_stderr: str, done: object) -> None:
        if run is not self._run:
            return
        self._update_enabled()
        if isinstance(done, dict):
            m = done.get("metrics") or {}
            parts = [f"{k} {m[k]:.3f}" for k in ("accuracy", "macro_f1") if isinstance(m.get(k), (int, float))]
            what = "training stopped; the best model so far is kept" if done.get("stopped") else "training finished"
            reason = {"early_stopping": "stopped early (no better validation macro-F1 for the patience)",
                      "time_limit": "stopped at the time limit"}.get(done.get("stop_reason"))
            text = f"{what}: {done.get('path', '')}" + (f" ({', '.join(parts)})" if parts else "")
            if reason:
                text += f"; {reason} after {done.get('epochs_run', '?')} of {done.get('epochs', '?')} epochs"
            if self.useless_result():
                text += "\nwarning: validation macro-F1 is 0: this model did not learn; \"Use this model\" is off"
            for msg in self.data_warnings:
                text += f"\nwarning: {msg}"
            self._set_status(text)
            if self.host is not None:
                self.host.show_message(f"{what}: {done.get('path', '')}", 10_000)
            self.run_finished.emit(done)
            return
        if rc == -1000:
            msg = last_stderr
        elif self.last_message:
            msg = f"training failed: {self.last_message}"
        elif rc < 0:
            sig = -rc
            try:
                name = signal.Signals(sig).name
            except ValueError:
                name = f"signal {sig}"
            msg = f"training process was killed ({name})" + (f"; last message: {last_stderr}" if last_stderr else "")
        else:
            msg = f"training process crashed (exit status {rc})" + (f": {last_stderr}" if last_stderr else "")
        if self.checkpoint_path and Path(self.checkpoint_path).is_file():
            msg += f"; the best model so far is kept: {self.checkpoint_path}"
        self._report(msg)
        self.run_failed.emit(msg)
        self.run_finished.emit(None)

    # ================================================================ state shown
    def _update_enabled(self) -> None:
        running = self.is_running()
        for wdg in (self.project_button, self.browse_button, self.model_box, self.preset_box, self.epochs_spin,
                    self.lr_spin, self.window_spin, self.batch_spin, self.out_edit):
            wdg.setEnabled(not running)
        self.project_button.setEnabled(not running and self.state is not None and self.state.project is not None)
        self.start_button.setEnabled(not running and bool(self._data))
        self.stop_button.setEnabled(running and not (self._run is not None and self._run.stop_requested))
        path = (self.result or {}).get("path") or self.checkpoint_path
        self.use_button.setEnabled(not running and bool(path) and not self.useless_result())

    def useless_result(self) -> bool:
        """True when the finished run's validation macro-F1 is 0 (the model learned nothing to offer)."""
        m = (self.result or {}).get("metrics") or {}
        f1 = m.get("macro_f1")
        return isinstance(f1, (int, float)) and f1 <= 0.0

    def _set_status(self, text: str) -> None:
        self.status_label.setText(text)

    def _report(self, message: str) -> None:
        msg = one_line(message)
        self.last_message = msg
        self._set_status(msg)
        if self.host is not None:
            self.host.report_error(msg)
        else:
            log.warning("%s", msg)

