"""Project → Compute all skeletons: the skeleton cache of every video of the open project, in the background.

The panel only presents and delegates: :func:`core.batch.iter_extract_batch` does the work (skipping cached videos,
reporting a failing one and going on) in a :class:`gui.workers.GeneratorWorker`; the panel chooses where it runs —
this computer, the connected remote worker (:attr:`core.state.AppState.remote`, as the Remote panel sets it) or a
Ray cluster (an address; empty: a local Ray started for the batch) — and shows videos and frames done, each failure
in one line, and a one-line summary in the status bar at the end.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QComboBox, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QListWidget, QProgressBar,
                               QPushButton, QVBoxLayout, QWidget)

from core.errors import PoseWatchError, one_line
from core.state import AppState

from .host import Host
from .workers import GeneratorWorker

#: Where a batch can run: (combo text, core.batch engine).
WHERE = (("This computer", "local"), ("Remote worker", "remote"), ("Ray cluster", "ray"))


class BatchPanel(QWidget):
    """The "Compute all skeletons" dock: where to run, Ray address, Start/Cancel, a videos bar and a frames bar,
    the failures (one line each).

    Args:
        state: the app state (``project``, ``backend``, ``remote``, ``execution``).
        host: the window's host (action ``compute_all_skeletons`` in the Project menu, dock ``batch``, status bar).

    Signals:
        finished(object): a batch ended with its :class:`core.batch.BatchReport`.
        stopped(str): a batch ended otherwise: ``"cancelled"`` or the one-line error.
    """

    finished = Signal(object)
    stopped = Signal(str)

    def __init__(self, state: AppState, host: Host):
        super().__init__()
        self.state, self.host = state, host
        self.worker: GeneratorWorker | None = None
        self._told: set[int] = set()

        self.where = QComboBox()
        for text, engine in WHERE:
            self.where.addItem(text, engine)
        self.address = QLineEdit()
        self.address.setPlaceholderText("empty: a local Ray on this computer")
        self.address.setToolTip("HOST:PORT of the head's GCS, ray://HOST:10001 (Ray Client) or auto")
        self.start_button = QPushButton("Start")
        self.cancel_button = QPushButton("Cancel")
        self.videos_bar = QProgressBar()
        self.videos_bar.setFormat("videos %v/%m")
        self.frames_bar = QProgressBar()
        self.frames_bar.setFormat("frames %v/%m")
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.failures = QListWidget()
        self.failures.setMaximumHeight(90)

        form = QFormLayout()
        form.addRow("Run on", self.where)
        form.addRow("Ray address", self.address)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.cancel_button)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addLayout(buttons)
        lay.addWidget(self.videos_bar)
        lay.addWidget(self.frames_bar)
        lay.addWidget(self.status)
        lay.addWidget(QLabel("Failed videos"))
        lay.addWidget(self.failures)
        lay.addStretch(1)

        self.start_button.clicked.connect(lambda: self.start())
        self.cancel_button.clicked.connect(self.cancel)
        self.where.currentIndexChanged.connect(self._update_enabled)
        state.events.remote.connect(lambda *_: self._choose_default())
        state.events.execution.connect(lambda *_: self._choose_default())
        state.events.project.connect(lambda *_: self._update_enabled())
        host.actions.menu("Project", "P&roject")
        self.action = host.add_action("compute_all_skeletons", "Compute &all skeletons…", self.show_and_start,
                                      "Project")
        self.dock = host.add_dock("batch", "Compute all skeletons", self, Qt.DockWidgetArea.RightDockWidgetArea,
                                  scrollable=True)
        host.on_close(self.shutdown)
        self._choose_default()

    # ------------------------------------------------------------------ state
    def running(self) -> bool:
        """True while a batch runs."""
        return self.worker is not None

    def _choose_default(self) -> None:
        """The remote worker when extraction is set to run there and one is connected, else this computer (a
        chosen Ray cluster stays chosen)."""
        if self.where.currentData() != "ray":
            self.where.setCurrentIndex(1 if self.state.use_remote("extract") else 0)
        self._update_enabled()

    def _update_enabled(self, *_args) -> None:
        busy = self.running()
        remote_item = self.where.model().item(1)
        remote_item.setEnabled(self.state.remote is not None)
        self.where.setEnabled(not busy)
        self.address.setEnabled(not busy and self.where.currentData() == "ray")
        self.start_button.setEnabled(not busy and self.state.project is not None)
        self.cancel_button.setEnabled(busy)
        self.action.setEnabled(self.state.project is not None)

    # ------------------------------------------------------------------ running
    def show_and_start(self) -> None:
        """The menu action: show the dock and start a batch (unless one runs)."""
        self.dock.show()
        self.dock.raise_()
        if not self.running():
            self.start()

    def start(self, engine: str | None = None, address: str | None = None) -> bool:
        """Compute the skeletons of every video of the open project on ``engine`` (``"local"``, ``"remote"`` or
        ``"ray"``; None: the one chosen) at Ray ``address`` (None: the field; empty: a local Ray). Returns False,
        with one line in the status bar, when it cannot start (no project, no videos, no worker, already running).
        """
        from core.batch import iter_extract_batch, project_videos

        if self.running():
            self.host.report_error("skeletons are being computed already: cancel first")
            return False
        project = self.state.project
        if project is None:
            self.host.report_error("open a project first (File → Open project…)")
            return False
        engine = engine or self.where.currentData()
        if engine == "remote" and self.state.remote is None:
            self.host.report_error("no remote worker connected: connect in View → Remote worker, or run locally")
            return False
        try:
            videos, root = project_videos(project)
        except PoseWatchError as e:
            self.host.report_error(str(e))
            return False
        addr = (self.address.text() if address is None else address).strip() or None
        kwargs: dict = {"root": root, "engine": engine}
        if engine == "ray":
            kwargs["address"] = addr
        elif engine == "remote":
            kwargs["remote"] = self.state.remote
        self._told.clear()
        self.failures.clear()
        self.videos_bar.setRange(0, len(videos))
        self.videos_bar.setValue(0)
        self.frames_bar.setRange(0, 0)
        self.status.setText(f"starting: {len(videos)} video(s)")
        self.worker = GeneratorWorker(iter_extract_batch, videos, self.state.backend, **kwargs)
        self.worker.yielded.connect(self._on_progress)
        self.worker.finished.connect(self._on_finished)
        self.worker.failed.connect(self._on_failed)
        self.worker.cancelled.connect(self._on_cancelled)
        self.worker.start()
        self._update_enabled()
        return True

    def cancel(self) -> None:
        """Stop the running batch (videos done so far keep their caches; the one being computed is dropped)."""
        if self.worker is not None:
            self.worker.cancel()
            self.status.setText("cancelling…")

    def shutdown(self) -> None:
        """Cancel a running batch (the window closes; :func:`gui.workers.wait_for_all` waits for it)."""
        self.cancel()

    def _on_progress(self, p) -> None:
        self.videos_bar.setRange(0, max(1, int(p.videos_total)))
        self.videos_bar.setValue(int(p.videos_done))
        if p.total:
            self.frames_bar.setRange(0, int(p.total))
            self.frames_bar.setValue(min(int(p.done), int(p.total)))
        if p.message:
            self.status.setText(str(p.message))
        for k, it in enumerate(list(p.items)):
            if it.status == "failed" and k not in self._told:
                self._told.add(k)
                self.failures.addItem(one_line(f"{it.name}: {it.reason}"))

    def _end(self) -> None:
        self.worker = None
        self._update_enabled()

    def _on_finished(self, report) -> None:
        self._end()
        for k, it in enumerate(report.items):
            if it.status == "failed" and k not in self._told:
                self._told.add(k)
                self.failures.addItem(one_line(f"{it.name}: {it.reason}"))
        self.videos_bar.setValue(self.videos_bar.maximum())
        line = f"skeletons: {report.summary()} ({report.engine})"
        self.status.setText(line)
        self.host.show_message(line, 15_000)
        self.finished.emit(report)

    def _on_failed(self, message: str) -> None:
        self._end()
        self.status.setText(message)
        self.host.report_error(f"computing all skeletons failed: {message}")
        self.stopped.emit(message)

    def _on_cancelled(self) -> None:
        self._end()
        self.status.setText("cancelled")
        self.host.show_message("computing all skeletons cancelled", 10_000)
        self.stopped.emit("cancelled")


def install(state: AppState, host: Host) -> BatchPanel:
    """Add the batch panel (hidden dock ``batch``) and its action Project → Compute all skeletons."""
    return BatchPanel(state, host)
