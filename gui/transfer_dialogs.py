"""Export… and Import… dialogs of the labelling window (non-modal; the work runs in the background).

Both run a core generator (:func:`core.exporting.iter_export`, :func:`core.importing.iter_import`)
in a :class:`gui.workers.GeneratorWorker` with a progress bar and a Cancel button. The worker opens
**its own connection** to the project (:func:`own_project`), so the window's edits and the
background job never share a SQLite connection or a transaction. Errors go to the host's status
bar and its non-blocking message box, and stay shown in the dialog.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from core.project import Project

from .workers import GeneratorWorker


def own_project(folder: str | os.PathLike, task, *args, cancel=None, **kwargs):
    """Generator: open the project at ``folder`` on a connection of its own, run
    ``task(project, *args, cancel=cancel, **kwargs)`` (a core generator), close it, return its result."""
    proj = Project.open(folder)
    try:
        return (yield from task(proj, *args, cancel=cancel, **kwargs))
    finally:
        proj.close()


class _TaskDialog(QDialog):
    """Common part: a form, a progress bar, Start / Cancel / Close and a result line.

    Signals:
        completed(object): the task's result (summary or report).
        failed(str): one-line error.
        cancelled(): the user stopped it; nothing was written.
    """

    completed = Signal(object)
    failed = Signal(str)
    cancelled = Signal()

    START_TEXT = "Start"

    def __init__(self, host, project: Project, title: str, backend: str = "yolo"):
        super().__init__(host.parent_widget)
        self.setWindowTitle(title)
        self.setModal(False)
        self.host = host
        self.backend = backend
        self.project_folder = Path(project.folder)
        self.worker: GeneratorWorker | None = None
        self.result_value = None
        self.form = QFormLayout()
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.progress.hide()
        self.result_label = QLabel()
        self.result_label.setWordWrap(True)
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.start_button = QPushButton(self.START_TEXT)
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.close)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for b in (self.start_button, self.cancel_button, self.close_button):
            buttons.addWidget(b)
        lay = QVBoxLayout(self)
        lay.addLayout(self.form)
        lay.addWidget(self.progress)
        lay.addWidget(self.result_label)
        lay.addLayout(buttons)

    @property
    def running(self) -> bool:
        """True while the background job runs."""
        return self.worker is not None

    def _task(self):
        """``(generator function, args, kwargs)`` to run, or None after reporting bad input."""
        raise NotImplementedError

    def start(self) -> bool:
        """Check the form and start the job in the background. Returns False (and reports) if the form
        is invalid or a job is running."""
        if self.running:
            return False
        task = self._task()
        if task is None:
            return False
        func, args, kwargs = task
        w = GeneratorWorker(own_project, str(self.project_folder), func, *args, **kwargs)
        w.progress.connect(self._on_progress)
        w.finished.connect(self._on_finished)
        w.failed.connect(self._on_failed)
        w.cancelled.connect(self._on_cancelled)
        self.worker = w
        self.result_value = None
        self.result_label.setText("working…")
        self.progress.setRange(0, 0)
        self.progress.show()
        self.start_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        w.start()
        return True

    def cancel(self) -> None:
        """Stop the job (it leaves nothing half-written)."""
        if self.worker is not None:
            self.worker.cancel()
            self.cancel_button.setEnabled(False)
            self.progress.setFormat("cancelling…")

    def _reset(self) -> None:
        self.worker = None
        self.progress.hide()
        self.start_button.setEnabled(True)
        self.cancel_button.setEnabled(False)

    def _on_progress(self, done: int, total: int, message: str) -> None:
        if total > 0:
            self.progress.setRange(0, total)
            self.progress.setValue(min(done, total))
            self.progress.setFormat(f"{message} %v/%m")
        else:
            self.progress.setRange(0, 0)
            self.progress.setFormat(message)

    def _on_finished(self, result) -> None:
        self._reset()
        self.result_value = result
        self._show_result(result)
        self.completed.emit(result)

    def _on_failed(self, message: str) -> None:
        self._reset()
        self.result_label.setText(f"failed: {message}")
        self.host.report_error(message)
        self.failed.emit(message)

    def _on_cancelled(self) -> None:
        self._reset()
        self.result_label.setText("cancelled: nothing was written")
        self.host.show_message(f"{self.windowTitle().rstrip('…')} cancelled", 6000)
        self.cancelled.emit()

    def _show_result(self, result) -> None:
        raise NotImplementedError

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        """Closing the dialog cancels a running job."""
        self.cancel()
        super().closeEvent(event)


class ExportDialog(_TaskDialog):
    """Export the project's clips as training data (:func:`core.exporting.iter_export`).

    Fields: output folder (must not exist unless *overwrite*), formats, window and stride (frames),
    normalisation, train/val/test ratios and seed, image format. The pose backend is the app state's (``backend``).
    """

    START_TEXT = "Export"

    def __init__(self, host, project: Project, backend: str = "yolo"):
        from core.exporting import EXPORT_FORMATS
        from core.features import NORMALISATIONS

        super().__init__(host, project, "Export training data…", backend)
        self.out_edit = QLineEdit(str(self.project_folder.parent / f"{self.project_folder.name}_export"))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.out_edit, 1)
        row.addWidget(browse)
        self.form.addRow("Output folder", row)
        self.overwrite_box = QCheckBox("replace an existing folder")
        self.form.addRow("", self.overwrite_box)
        fmt_row = QHBoxLayout()
        self.format_boxes: dict[str, QCheckBox] = {}
        tips = {"csv": "skeleton CSV", "pt": "tensors (N, C, T, V)", "clips": "clip videos", "frames": "frame images"}
        for f in EXPORT_FORMATS:
            b = QCheckBox(f)
            b.setToolTip(tips.get(f, f))
            b.setChecked(f in ("csv", "pt"))
            self.format_boxes[f] = b
            fmt_row.addWidget(b)
        self.form.addRow("Formats", fmt_row)
        self.window_box = QSpinBox()
        self.window_box.setRange(0, 10_000)  # 0 is accepted here so that the core reports it clearly
        self.window_box.setValue(16)
        self.stride_box = QSpinBox()
        self.stride_box.setRange(0, 10_000)
        self.stride_box.setValue(16)
        ws = QHBoxLayout()
        ws.addWidget(QLabel("window"))
        ws.addWidget(self.window_box)
        ws.addWidget(QLabel("stride"))
        ws.addWidget(self.stride_box)
        self.form.addRow("Frames", ws)
        self.norm_box = QComboBox()
        self.norm_box.addItems(list(NORMALISATIONS))
        self.form.addRow("Normalisation", self.norm_box)
        self.ratio_boxes = []
        rr = QHBoxLayout()
        for name, v in (("train", 0.7), ("val", 0.15), ("test", 0.15)):
            b = QDoubleSpinBox()
            b.setRange(0.0, 1.0)
            b.setSingleStep(0.05)
            b.setDecimals(2)
            b.setValue(v)
            rr.addWidget(QLabel(name))
            rr.addWidget(b)
            self.ratio_boxes.append(b)
        self.form.addRow("Split (by video)", rr)
        self.seed_box = QSpinBox()
        self.seed_box.setRange(0, 2**31 - 1)
        self.form.addRow("Split seed", self.seed_box)
        self.image_box = QComboBox()
        self.image_box.addItems(["png", "jpg"])
        self.form.addRow("Frame images", self.image_box)
        # what the export will hold: clips / windows per label, annotator and split (core.dataset_summary)
        self.summary_view = QPlainTextEdit()
        self.summary_view.setReadOnly(True)
        self.summary_view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.summary_view.setStyleSheet("font-family: monospace;")
        self.summary_view.setMaximumHeight(190)
        self.form.addRow("Dataset", self.summary_view)
        for box in (self.window_box, self.stride_box, self.seed_box, *self.ratio_boxes):
            box.valueChanged.connect(self.update_summary)
        self.update_summary()
        self.resize(620, 0)

    def update_summary(self) -> None:
        """Recount the dataset summary for the form's window, stride and split (the project database only: fast)."""
        from core.dataset_summary import dataset_summary
        from core.errors import PoseWatchError

        try:
            with Project.open(self.project_folder) as proj:
                s = dataset_summary(proj, self.window_box.value(), self.stride_box.value(),
                                    tuple(b.value() for b in self.ratio_boxes), self.seed_box.value())
            text = "\n".join(s.lines())
        except (PoseWatchError, ValueError) as e:
            text = f"no summary: {e}"
        self.summary_view.setPlainText(text)

    def _browse(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Where to put the export folder", str(self.project_folder.parent))
        if d:
            self.out_edit.setText(str(Path(d) / f"{self.project_folder.name}_export"))

    def options(self) -> dict:
        """The keyword arguments for :func:`core.exporting.iter_export` from the form."""
        return dict(formats=tuple(f for f, b in self.format_boxes.items() if b.isChecked()),
                    window=self.window_box.value(), stride=self.stride_box.value(),
                    normalisation=self.norm_box.currentText(),
                    ratios=tuple(b.value() for b in self.ratio_boxes), seed=self.seed_box.value(),
                    image_format=self.image_box.currentText(), backend=self.backend,
                    overwrite=self.overwrite_box.isChecked())

    def _task(self):
        from core.exporting import iter_export

        out = self.out_edit.text().strip()
        if not out:
            self.host.report_error("choose an output folder for the export")
            return None
        return iter_export, (out,), self.options()

    def _show_result(self, summary) -> None:
        text = summary.describe()
        if summary.warnings:
            text += "\n" + "\n".join(summary.warnings[:5])
        self.result_label.setText(text)
        self.host.show_message(summary.describe(), 15000)


class ImportDialog(_TaskDialog):
    """Import labelled skeleton CSV files (AI-Hub, URFD, PoseWatch) as skeleton sequences with their
    clips (:func:`core.importing.iter_import`); files without labels get the chosen one."""

    START_TEXT = "Import"

    #: Emitted after a successful import with the :class:`~core.importing.ImportReport`.
    imported = Signal(object)

    def __init__(self, host, project: Project):
        super().__init__(host, project, "Import skeletons…")
        self.files = QListWidget()
        add = QPushButton("Add files…")
        add.clicked.connect(self._browse)
        remove = QPushButton("Remove")
        remove.clicked.connect(lambda: [self.files.takeItem(self.files.row(i)) for i in self.files.selectedItems()])
        col = QVBoxLayout()
        col.addWidget(add)
        col.addWidget(remove)
        col.addStretch(1)
        row = QHBoxLayout()
        row.addWidget(self.files, 1)
        row.addLayout(col)
        holder = QWidget()
        holder.setLayout(row)
        self.form.addRow("CSV files", holder)
        self.label_box = QComboBox()
        self.label_box.addItem("(labels from the file)", None)
        for name in project.label_names():
            self.label_box.addItem(name, name)
        self.form.addRow("Label for unlabelled files", self.label_box)
        self.resize(560, 0)

    def set_files(self, paths) -> None:
        """Replace the file list."""
        self.files.clear()
        for p in paths:
            self.files.addItem(os.fspath(p))

    def file_paths(self) -> list[str]:
        """The files to import, in list order."""
        return [self.files.item(i).text() for i in range(self.files.count())]

    def _browse(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Skeleton CSV files", "", "CSV files (*.csv);;All files (*)")
        for p in paths:
            self.files.addItem(p)

    def _task(self):
        from core.importing import iter_import

        files = self.file_paths()
        if not files:
            self.host.report_error("add the CSV files to import first")
            return None
        return iter_import, (files,), dict(label=self.label_box.currentData())

    def _show_result(self, report) -> None:
        text = report.summary()
        if report.warnings:
            text += "\n" + "\n".join(report.warnings[:5])
        self.result_label.setText(text)
        self.host.show_message(report.summary(), 15000)
        self.imported.emit(report)
