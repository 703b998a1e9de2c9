"""The live view's event log: one row per alert (time, frame, track, label, probability, snapshot, clip).

Rows come from :class:`core.live.AlertEvent` objects (the live detector writes the same events to
``events.jsonl`` in its events folder, with a snapshot image and a short clip next to it). A row shows
a thumbnail of the snapshot; double-clicking a row opens its clip (once written) or its snapshot with
the desktop's default application (:class:`~PySide6.QtGui.QDesktopServices`).

The clip of an event is written by the detector only when the post-alert buffer is full (``post_s``
seconds after the alert), so its cell says "pending…" until the file exists; a 1 s timer re-checks
pending rows (a file-existence check per pending row, nothing else).

The Review column has Confirm / Dismiss: with a project open (``project()`` returns one) they file the alert's
clip into it as training data (:func:`core.alert_review.file_alert`: Confirm a clip of the alert's label, Dismiss a
reviewed "normal" hard negative); the cell then says what was filed and offers Undo
(:func:`core.alert_review.undo_filing`). Without a project they say in one line that a project is needed.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QPixmap
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QPushButton, QTableWidget,
                               QTableWidgetItem, QWidget)

from core.errors import PoseWatchError

log = logging.getLogger(__name__)

#: Column titles, in order.
COLUMNS = ("Camera", "Time", "Video s", "Frame", "Track", "Label", "Prob", "Snapshot", "Clip", "Review")
#: Thumbnail height in the Snapshot column (pixels).
THUMB_HEIGHT = 40
#: Most rows kept; the oldest are removed first (a long session must not grow the table forever).
MAX_ROWS = 2000

COL_CAMERA, COL_TIME, COL_VIDEO_S, COL_FRAME, COL_TRACK, COL_LABEL, COL_PROB, COL_SNAPSHOT, COL_CLIP, COL_REVIEW = range(
    len(COLUMNS))
#: What Confirm / Dismiss say without an open project.
NO_PROJECT = "open or create a project first: Confirm / Dismiss file the alert's clip into it as training data"


def _wall_clock(iso: str | None) -> str:
    """``HH:MM:SS`` of an ISO 8601 time (the text itself if it does not parse)."""
    if not iso:
        return ""
    try:
        return datetime.fromisoformat(str(iso)).strftime("%H:%M:%S")
    except ValueError:
        return str(iso)


class EventLog(QTableWidget):
    """A table of alert events, newest at the bottom (the view follows the newest row).

    Args:
        open_url: how a file is opened on double-click (default :meth:`QDesktopServices.openUrl`);
            receives a :class:`~PySide6.QtCore.QUrl`, returns True on success. Kept as the public
            attribute ``open_url``.
        project: returns the open :class:`core.project.Project` or None (default: always None); the
            public attribute ``project``.

    Signals:
        file_opened(str): a snapshot or clip file was handed to the desktop (its path).
        open_failed(str): a one-line message (no file for this event yet, or the desktop refused).
        review_message(str): a one-line result of Confirm / Dismiss / Undo (or why it failed).
        filed(object): a :class:`core.alert_review.Filing` was made (or, with ``None``, undone).
    """

    file_opened = Signal(str)
    open_failed = Signal(str)
    review_message = Signal(str)
    filed = Signal(object)

    def __init__(self, parent=None, open_url=None, project=None):
        super().__init__(0, len(COLUMNS), parent)
        self.open_url = open_url or QDesktopServices.openUrl
        self.project = project or (lambda: None)
        self._events: list[Any] = []
        self._filings: dict[int, Any] = {}  # id(event) -> Filing
        self.setHorizontalHeaderLabels(list(COLUMNS))
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setAlternatingRowColors(True)
        self.setIconSize(QSize(int(THUMB_HEIGHT * 16 / 9), THUMB_HEIGHT))
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setDefaultSectionSize(THUMB_HEIGHT + 4)
        hh = self.horizontalHeader()
        for c in range(len(COLUMNS)):
            hh.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        hh.setSectionResizeMode(COL_CLIP, QHeaderView.ResizeMode.Stretch)
        self.setToolTip("Alerts; double-click a row to open its clip (or its snapshot)")
        self.cellDoubleClicked.connect(lambda row, _col: self.open_row(row))
        self._pending = QTimer(self)
        self._pending.setInterval(1000)
        self._pending.timeout.connect(self._check_pending)

    # ------------------------------------------------------------------------------ content
    @property
    def events(self) -> list[Any]:
        """The events shown, oldest first (the :class:`core.live.AlertEvent` objects themselves)."""
        return list(self._events)

    def add_event(self, ev: Any) -> int:
        """Append a row for ``ev`` (a :class:`core.live.AlertEvent`); returns its row index."""
        if self.rowCount() >= MAX_ROWS:
            self.removeRow(0)
            self._filings.pop(id(self._events.pop(0)), None)
        row = self.rowCount()
        self.insertRow(row)
        self._events.append(ev)
        cells = {
            COL_CAMERA: str(getattr(ev, "camera", None) or ""),
            COL_TIME: _wall_clock(getattr(ev, "wall_time", None)),
            COL_VIDEO_S: f"{float(ev.time_s):.2f}",
            COL_FRAME: str(int(ev.frame_index)),
            COL_TRACK: f"#{int(ev.track_id)}",
            COL_LABEL: str(ev.label),
            COL_PROB: f"{float(ev.prob):.2f}",
        }
        for col, text in cells.items():
            item = QTableWidgetItem(text)
            if col in (COL_VIDEO_S, COL_FRAME, COL_TRACK, COL_PROB):
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.setItem(row, col, item)
        self.setItem(row, COL_SNAPSHOT, self._snapshot_item(getattr(ev, "snapshot", None)))
        self.setItem(row, COL_CLIP, QTableWidgetItem(""))
        self._update_clip_cell(row)
        self._set_review_cell(row)
        self.scrollToBottom()
        return row

    def clear_events(self) -> None:
        """Remove every row."""
        self.setRowCount(0)
        self._events.clear()
        self._filings.clear()
        self._pending.stop()

    def _snapshot_item(self, path: str | None) -> QTableWidgetItem:
        item = QTableWidgetItem()
        if not path:
            item.setText("—")
            return item
        item.setToolTip(str(path))
        pm = QPixmap(str(path)) if Path(path).is_file() else QPixmap()
        if pm.isNull():
            item.setText(Path(path).name)
        else:
            item.setIcon(pm.scaledToHeight(THUMB_HEIGHT, Qt.TransformationMode.SmoothTransformation))
        return item

    def _update_clip_cell(self, row: int) -> bool:
        """Refresh the clip cell of ``row``; True while its clip is still pending."""
        clip = getattr(self._events[row], "clip", None)
        item = self.item(row, COL_CLIP)
        if not clip:
            item.setText("—")
            return False
        if Path(clip).is_file():
            item.setText(Path(clip).name)
            item.setToolTip(str(clip))
            return False
        item.setText("pending…")
        item.setToolTip(f"{clip} (written when the post-alert buffer is full)")
        if not self._pending.isActive():
            self._pending.start()
        return True

    def _check_pending(self) -> None:
        pending = False
        for row in range(self.rowCount()):
            if self.item(row, COL_CLIP).text() == "pending…":
                pending = self._update_clip_cell(row) or pending
        if not pending:
            self._pending.stop()

    # ------------------------------------------------------------------------------ opening
    def file_for_row(self, row: int) -> str | None:
        """The file a double-click on ``row`` opens: the clip if it exists, else the snapshot if it
        exists, else None."""
        if not 0 <= row < len(self._events):
            return None
        ev = self._events[row]
        for path in (getattr(ev, "clip", None), getattr(ev, "snapshot", None)):
            if path and Path(path).is_file():
                return str(path)
        return None

    def open_row(self, row: int) -> bool:
        """Open the clip (or snapshot) of ``row`` with the desktop's default application."""
        path = self.file_for_row(row)
        if path is None:
            self.open_failed.emit("this event has no snapshot or clip on disk (no events folder, or not written yet)")
            return False
        ok = bool(self.open_url(QUrl.fromLocalFile(path)))
        if ok:
            self.file_opened.emit(path)
        else:
            self.open_failed.emit(f"the desktop could not open {path}")
        return ok

    # ------------------------------------------------------------------------------ review
    def review_buttons(self, row: int) -> dict[str, QPushButton]:
        """The buttons of ``row``'s Review cell by text (``Confirm``, ``Dismiss`` or ``Undo``)."""
        w = self.cellWidget(row, COL_REVIEW)
        return {} if w is None else {b.text(): b for b in w.findChildren(QPushButton)}

    def filing(self, row: int):
        """The :class:`core.alert_review.Filing` of ``row``, or None (not filed)."""
        return self._filings.get(id(self._events[row])) if 0 <= row < len(self._events) else None

    def _set_review_cell(self, row: int) -> None:
        w = QWidget()
        lay = QHBoxLayout(w)
        lay.setContentsMargins(2, 0, 2, 0)
        f = self.filing(row)
        if f is None:
            for text, confirm, tip in (("Confirm", True, "a right alert: file its clip into the project with its label"),
                                       ("Dismiss", False, "a false alarm: file its clip as a reviewed normal clip")):
                b = QPushButton(text)
                b.setToolTip(tip)
                b.clicked.connect(lambda _c=False, ev=self._events[row], c=confirm: self._review(ev, c))
                lay.addWidget(b)
        else:
            lay.addWidget(QLabel("confirmed" if f.confirmed else "dismissed"))
            b = QPushButton("Undo")
            b.setToolTip("take the filed clip back out of the project")
            b.clicked.connect(lambda _c=False, ev=self._events[row]: self._undo(ev))
            lay.addWidget(b)
        self.setCellWidget(row, COL_REVIEW, w)

    def _row_of(self, ev) -> int:
        return next(i for i, e in enumerate(self._events) if e is ev)

    def review(self, row: int, confirm: bool):
        """Confirm (``True``) or Dismiss ``row``'s alert into the open project; returns the Filing or None (the
        reason went out as ``review_message``)."""
        return self._review(self._events[row], confirm)

    def _review(self, ev, confirm: bool):
        from core.alert_review import file_alert

        project = self.project()
        if project is None:
            self.review_message.emit(NO_PROJECT)
            return None
        try:
            f = file_alert(project, ev, confirm)
        except PoseWatchError as e:
            self.review_message.emit(f"cannot file the alert: {e}")
            return None
        self._filings[id(ev)] = f
        self._set_review_cell(self._row_of(ev))
        what = f"a clip of '{f.label}'" if confirm else f"a reviewed '{f.label}' clip (hard negative)"
        self.review_message.emit(f"filed the alert into the project as {what}, frames {f.start}-{f.end}"
                                 + (f" of track {f.track_id}" if f.track_id is not None else ""))
        self.filed.emit(f)
        return f

    def _undo(self, ev) -> None:
        from core.alert_review import undo_filing

        project = self.project()
        f = self._filings.get(id(ev))
        if project is None or f is None:
            self.review_message.emit(NO_PROJECT if project is None else "this alert is not filed")
            return
        try:
            undo_filing(project, f)
        except PoseWatchError as e:
            self.review_message.emit(f"cannot undo the filing: {e}")
            return
        del self._filings[id(ev)]
        self._set_review_cell(self._row_of(ev))
        self.review_message.emit("took the alert's clip back out of the project")
        self.filed.emit(None)
