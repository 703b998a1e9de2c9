"""The Agreement panel (View → Agreement, issue 12): how far two annotators of the open project agree.

It shows :func:`core.agreement.agreement`'s report — frame-level Cohen's κ per label and overall, segment-level F1 at
IoU ≥ 0.5, per video and over all — and lists the disagreeing stretches; a click on one asks for its video and first
frame (:attr:`AgreementPanel.seek_requested`; the labelling mode opens the video and seeks there).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout, QWidget

from core.agreement import agreement
from core.errors import PoseWatchError


class AgreementPanel(QWidget):
    """Agreement of the project's annotators.

    Args:
        state: the app state (its project).
        host: the window's host.

    Signals:
        seek_requested(int, int): a stretch was clicked: ``(video id, first frame)``.
    """

    seek_requested = Signal(int, int)

    def __init__(self, state, host):
        super().__init__()
        self.state, self.host = state, host
        self.report = None
        lay = QVBoxLayout(self)
        row = QHBoxLayout()
        self.compute_button = QPushButton("Compute")
        self.compute_button.setToolTip("Compare the first two annotators of the project's clips")
        self.compute_button.clicked.connect(self.compute)
        row.addWidget(self.compute_button)
        row.addStretch(1)
        lay.addLayout(row)
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.summary)
        lay.addWidget(QLabel("Disagreeing stretches (click to go there):"))
        self.stretches = QListWidget()
        self.stretches.itemClicked.connect(self._on_item)
        lay.addWidget(self.stretches, 1)
        host.add_action("agreement", "&Agreement of annotators", self.show_panel, "View", section="panels")
        self.dock = host.add_dock("agreement", "Agreement", self, Qt.DockWidgetArea.RightDockWidgetArea,
                                  scrollable=True)
        self.dock.hide()

    def show_panel(self) -> None:
        """Show the dock and compute the report."""
        self.dock.show()
        self.dock.raise_()
        self.compute()

    def compute(self, a: str | None = None, b: str | None = None) -> bool:
        """Compute the report for annotators ``a`` and ``b`` (default: the first two). Reports a project without
        two annotators in one line."""
        self.stretches.clear()
        proj = self.state.project
        if proj is None:
            self.host.report_error("open a project first: agreement compares its annotators' clips")
            return False
        try:
            self.report = agreement(proj, a, b)
        except PoseWatchError as e:
            self.summary.setText(str(e))
            self.host.report_error(str(e))
            return False
        self.summary.setText("\n".join(self.report.lines(max_stretches=0)))
        for s in self.report.overall.stretches:
            it = QListWidgetItem(s.describe())
            it.setData(Qt.ItemDataRole.UserRole, (s.video_id, s.start))
            self.stretches.addItem(it)
        return True

    def _on_item(self, item: QListWidgetItem) -> None:
        vid, start = item.data(Qt.ItemDataRole.UserRole)
        self.seek_requested.emit(int(vid), int(start))
