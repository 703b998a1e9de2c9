"""Dock panels of the labelling window: the project's videos, the selected clip, the taxonomy.

The panels only show state and emit requests; :class:`gui.labelling.Labeller` turns requests into
undoable edits of the project (and tells the panels what changed).
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QColorDialog,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core import config
from core.project import Clip, Label, Video

from .commands import describe_crop

#: Colours offered to new labels, in turn.
NEW_LABEL_COLOURS = config.get("labels.new_label_palette")


def parse_rect(text: str) -> tuple[float, float, float, float]:
    """``"x1, y1, x2, y2"`` (commas or spaces) → four floats. Raises ValueError otherwise."""
    parts = text.replace(",", " ").split()
    if len(parts) != 4:
        raise ValueError(f"a crop rectangle is four numbers x1, y1, x2, y2 (got '{text.strip()}')")
    try:
        return tuple(float(p) for p in parts)  # type: ignore[return-value]
    except ValueError:
        raise ValueError(f"a crop rectangle is four numbers x1, y1, x2, y2 (got '{text.strip()}')") from None


class VideosPanel(QWidget):
    """The project's videos (and imported skeleton sequences); double-click opens one.

    Signals:
        open_requested(int): open the video with this id.
        add_requested(): the user wants to add a video file.
        relink_requested(): the user wants to look for moved videos.
    """

    open_requested = Signal(int)
    add_requested = Signal()
    relink_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.list = QListWidget()
        self.list.setToolTip("Double-click a video to open it")
        self.list.itemActivated.connect(lambda item: self.open_requested.emit(int(item.data(Qt.ItemDataRole.UserRole))))
        self.add_button = QPushButton("Add video…")
        self.add_button.clicked.connect(self.add_requested)
        self.relink_button = QPushButton("Relink…")
        self.relink_button.setToolTip("Find moved videos by their content in a folder")
        self.relink_button.clicked.connect(self.relink_requested)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.relink_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.summary)
        lay.addWidget(self.list, 1)
        lay.addLayout(buttons)

    def set_videos(self, videos: Sequence[Video], clip_counts: dict[int, int], missing: set[int],
                   current: int | None) -> None:
        """Show ``videos`` with their clip counts; ``missing`` ids are marked, ``current`` is selected."""
        self.list.clear()
        for v in videos:
            n = clip_counts.get(v.id, 0)
            kind = " (skeletons)" if v.kind == "skeletons" else ""
            text = f"{v.name or v.path}{kind} — {v.frame_count} frames, {n} clip{'s' if n != 1 else ''}"
            if v.id in missing:
                text += " — MISSING (Relink…)"
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, v.id)
            item.setToolTip(v.path)
            if v.id in missing:
                item.setForeground(QBrush(QColor("#e53935")))
            if v.id == current:
                f = item.font()
                f.setBold(True)
                item.setFont(f)
            self.list.addItem(item)
            if v.id == current:
                self.list.setCurrentItem(item)
        self.relink_button.setEnabled(bool(missing))
        self.summary.setText(f"{len(videos)} video{'s' if len(videos) != 1 else ''}, "
                             f"{sum(clip_counts.values())} clips" + (f", {len(missing)} missing" if missing else ""))

    def video_ids(self) -> list[int]:
        """Ids in list order."""
        return [int(self.list.item(i).data(Qt.ItemDataRole.UserRole)) for i in range(self.list.count())]


class ClipPanel(QWidget):
    """The selected clip: label, frame range, track, crop, annotator and note, all editable.

    Signals (each is one undoable edit in the controller):
        relabel_requested(str), range_requested(int, int), track_requested(object: int | None),
        note_requested(str), crop_rect_requested(object: (x1, y1, x2, y2)),
        crop_track_requested(float: margin), crop_clear_requested(), invalid_input(str).
    """

    relabel_requested = Signal(str)
    range_requested = Signal(int, int)
    track_requested = Signal(object)
    note_requested = Signal(str)
    crop_rect_requested = Signal(object)
    crop_track_requested = Signal(float)
    crop_clear_requested = Signal()
    invalid_input = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._clip: Clip | None = None
        self._shown: tuple | None = None  # what show_clip last filled the boxes with
        self.title = QLabel("No clip selected")
        self.title.setWordWrap(True)
        self.label_box = QComboBox()
        self.label_box.activated.connect(lambda _i: self._emit_relabel())
        self.start_box = QSpinBox()
        self.end_box = QSpinBox()
        for b in (self.start_box, self.end_box):
            b.setKeyboardTracking(False)
            b.setRange(0, 0)
            b.editingFinished.connect(self._emit_range)
        self.track_box = QComboBox()
        self.track_box.activated.connect(lambda _i: self._emit_track())
        self.crop_edit = QLineEdit()
        self.crop_edit.setPlaceholderText("x1, y1, x2, y2 (pixels) — or draw it (Crop tool, C)")
        self.crop_edit.returnPressed.connect(self._emit_crop_rect)
        self.crop_label = QLabel("none")
        self.margin_box = QDoubleSpinBox()
        self.margin_box.setRange(0.0, 5.0)
        self.margin_box.setSingleStep(0.05)
        self.margin_box.setValue(0.2)
        self.margin_box.setToolTip("Margin around the tracked person, as a fraction of the box size")
        self.follow_button = QPushButton("Follow person")
        self.follow_button.setToolTip("Crop to the clip's tracked person, with the margin")
        self.follow_button.clicked.connect(lambda: self.crop_track_requested.emit(self.margin_box.value()))
        self.clear_crop_button = QPushButton("No crop")
        self.clear_crop_button.clicked.connect(self.crop_clear_requested)
        self.annotator_label = QLabel()
        self.note_edit = QLineEdit()
        self.note_edit.setPlaceholderText("note (Enter saves)")
        self.note_edit.editingFinished.connect(self._emit_note)
        self.times_label = QLabel()
        self.times_label.setWordWrap(True)

        rng = QHBoxLayout()
        rng.addWidget(self.start_box)
        rng.addWidget(QLabel("to"))
        rng.addWidget(self.end_box)
        crop_now = QHBoxLayout()  # (two short rows, not one long one: the panel fits its dock at 1366x768)
        crop_now.addWidget(self.crop_label, 1)
        crop_now.addWidget(self.clear_crop_button)
        crop_row = QHBoxLayout()
        crop_row.addWidget(self.follow_button)
        crop_row.addWidget(QLabel("margin"))
        crop_row.addWidget(self.margin_box)
        crop_row.addStretch(1)
        form = QFormLayout()
        form.addRow("Label", self.label_box)
        form.addRow("Frames", rng)
        form.addRow("Person", self.track_box)
        form.addRow("Crop", crop_now)
        form.addRow("", self.crop_edit)
        form.addRow("", crop_row)
        form.addRow("Annotator", self.annotator_label)
        form.addRow("Note", self.note_edit)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.title)
        lay.addLayout(form)
        lay.addWidget(self.times_label)
        lay.addStretch(1)
        self.show_clip(None, [], [], 1)

    @property
    def clip(self) -> Clip | None:
        """The clip shown, or None."""
        return self._clip

    def show_clip(self, clip: Clip | None, labels: Sequence[Label], tracks: Sequence[int], frame_count: int,
                  fps: float = 0.0) -> None:
        """Show ``clip`` (None: nothing selected) with the taxonomy and the video's tracks as choices. What is shown
        already (the same clip, choices and values in the boxes) is not set again: every labelling edit asks, and
        refilling the boxes repainted the panel each time."""
        key = (clip, None if clip is None else clip.modified, tuple((lab.name, lab.colour) for lab in labels),
               tuple(sorted(int(t) for t in tracks)), int(frame_count), float(fps))
        if key == self._shown and (clip is None or (
                self.label_box.currentText(), self.start_box.value(), self.end_box.value(),
                self.track_box.currentData(), self.note_edit.text(), self.crop_edit.text()) == (
                clip.label, clip.start, clip.end, clip.track_id, clip.note, _crop_text(clip))):
            return
        self._shown = key
        self._clip = clip
        widgets = (self.label_box, self.start_box, self.end_box, self.track_box, self.crop_edit, self.note_edit,
                   self.follow_button, self.clear_crop_button, self.margin_box)
        for w in widgets:
            w.blockSignals(True)
        try:
            self.label_box.clear()
            for lab in labels:
                self.label_box.addItem(lab.name)
                self.label_box.setItemData(self.label_box.count() - 1, QColor(lab.colour),
                                           Qt.ItemDataRole.DecorationRole)
            self.track_box.clear()
            self.track_box.addItem("whole frame", None)
            for t in sorted(set(tracks) | ({clip.track_id} if clip and clip.track_id is not None else set())):
                self.track_box.addItem(f"person #{t}", int(t))
            for b in (self.start_box, self.end_box):
                b.setRange(0, max(0, frame_count - 1))
            if clip is None:
                self.title.setText("No clip selected — mark frames with I and O, choose a label (1–9), "
                                   "press Enter")
                self.note_edit.clear()
                self.crop_edit.clear()
                self.crop_label.setText("–")
                self.annotator_label.setText("–")
                self.times_label.clear()
            else:
                secs = f" ({clip.start / fps:.2f}–{(clip.end + 1) / fps:.2f} s)" if fps else ""
                self.title.setText(f"Clip {clip.id}: {clip.label}, frames {clip.start}–{clip.end}, "
                                   f"{clip.length} frames{secs}")
                self.label_box.setCurrentText(clip.label)
                self.start_box.setValue(clip.start)
                self.end_box.setValue(clip.end)
                i = self.track_box.findData(clip.track_id) if clip.track_id is not None else 0
                self.track_box.setCurrentIndex(max(0, i))
                self.crop_label.setText(describe_crop(clip.crop))
                self.crop_edit.setText(_crop_text(clip))
                if clip.crop is not None and clip.crop.kind == "track":
                    self.margin_box.setValue(clip.crop.margin)
                self.annotator_label.setText(clip.annotator or "–")
                self.note_edit.setText(clip.note)
                import time as _time

                self.times_label.setText("modified " + _time.strftime("%Y-%m-%d %H:%M:%S",
                                                                      _time.localtime(clip.modified)))
            for w in widgets:
                w.setEnabled(clip is not None)
        finally:
            for w in widgets:
                w.blockSignals(False)

    def _emit_relabel(self) -> None:
        if self._clip is not None and self.label_box.currentText() != self._clip.label:
            self.relabel_requested.emit(self.label_box.currentText())

    def _emit_range(self) -> None:
        c = self._clip
        if c is not None and (self.start_box.value(), self.end_box.value()) != (c.start, c.end):
            self.range_requested.emit(self.start_box.value(), self.end_box.value())

    def _emit_track(self) -> None:
        c = self._clip
        t = self.track_box.currentData()
        if c is not None and t != c.track_id:
            self.track_requested.emit(t)

    def _emit_note(self) -> None:
        c = self._clip
        if c is not None and self.note_edit.text() != c.note:
            self.note_requested.emit(self.note_edit.text())

    def _emit_crop_rect(self) -> None:
        if self._clip is None:
            return
        text = self.crop_edit.text().strip()
        if not text:
            self.crop_clear_requested.emit()
            return
        try:
            rect = parse_rect(text)
        except ValueError as e:
            self.invalid_input.emit(str(e))
            return
        self.crop_rect_requested.emit(rect)


class TaxonomyPanel(QWidget):
    """The label taxonomy: name, colour and hotkey per label (class index = row). Editable.

    Signals:
        add_requested(str name, str colour, str hotkey)
        update_requested(str name, object new_name, object colour, object hotkey): None = unchanged.
        remove_requested(str name)
    """

    add_requested = Signal(str, str, str)
    update_requested = Signal(str, object, object, object)
    remove_requested = Signal(str)

    COLUMNS = ("Label", "Colour", "Key")

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._labels: list[Label] = []
        self._colour_dialog: QColorDialog | None = None
        self.table = QTableWidget(0, len(self.COLUMNS))
        self.table.setHorizontalHeaderLabels(list(self.COLUMNS))
        self.table.verticalHeader().setVisible(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                   | QAbstractItemView.EditTrigger.EditKeyPressed)
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        hh.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        hh.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.table.itemChanged.connect(self._on_item_changed)
        self.table.cellDoubleClicked.connect(self._on_double_click)
        self.add_button = QPushButton("Add")
        self.add_button.clicked.connect(self._add)
        self.colour_button = QPushButton("Colour…")
        self.colour_button.clicked.connect(self.choose_colour)
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(self._remove)
        buttons = QHBoxLayout()
        for b in (self.add_button, self.colour_button, self.remove_button):
            buttons.addWidget(b)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        hint = QLabel("Double-click to rename or change a hotkey; the row number is the class index.")
        hint.setWordWrap(True)
        lay.addWidget(hint)
        lay.addWidget(self.table, 1)
        lay.addLayout(buttons)

    def set_labels(self, labels: Sequence[Label]) -> None:
        """Show the taxonomy (keeps the selected row where possible)."""
        row = self.table.currentRow()
        self._labels = list(labels)
        self.table.blockSignals(True)
        try:
            self.table.setRowCount(len(labels))
            self.table.setVerticalHeaderLabels([str(lab.position) for lab in labels])
            for i, lab in enumerate(labels):
                name = QTableWidgetItem(lab.name)
                colour = QTableWidgetItem(lab.colour)
                colour.setBackground(QBrush(QColor(lab.colour)))
                colour.setForeground(QBrush(QColor("black" if QColor(lab.colour).lightness() > 140 else "white")))
                colour.setFlags(colour.flags() & ~Qt.ItemFlag.ItemIsEditable)
                key = QTableWidgetItem(lab.hotkey)
                for col, item in enumerate((name, colour, key)):
                    self.table.setItem(i, col, item)
        finally:
            self.table.blockSignals(False)
        if 0 <= row < len(labels):
            self.table.selectRow(row)

    def selected_label(self) -> Label | None:
        """The label of the selected row, or None."""
        r = self.table.currentRow()
        return self._labels[r] if 0 <= r < len(self._labels) else None

    def _on_item_changed(self, item: QTableWidgetItem) -> None:
        r, col = item.row(), item.column()
        if not 0 <= r < len(self._labels):
            return
        lab = self._labels[r]
        text = item.text().strip()
        if col == 0 and text != lab.name:
            self.update_requested.emit(lab.name, text, None, None)
        elif col == 2 and text != lab.hotkey:
            self.update_requested.emit(lab.name, None, None, text)

    def _on_double_click(self, row: int, col: int) -> None:
        if col == 1:
            self.table.selectRow(row)
            self.choose_colour()

    def choose_colour(self) -> None:
        """Open a (non-modal) colour dialog for the selected label."""
        lab = self.selected_label()
        if lab is None:
            return
        dlg = QColorDialog(QColor(lab.colour), self)
        dlg.setWindowTitle(f"Colour of '{lab.name}'")
        dlg.colorSelected.connect(lambda c, name=lab.name: self.update_requested.emit(name, None, c.name(), None))
        self._colour_dialog = dlg
        dlg.open()  # never exec(): the window stays responsive

    def _add(self) -> None:
        names = {lab.name for lab in self._labels}
        keys = {lab.hotkey for lab in self._labels}
        i = len(self._labels) + 1
        while f"label {i}" in names:
            i += 1
        hotkey = next((k for k in "123456789" if k not in keys), "")
        self.add_requested.emit(f"label {i}", NEW_LABEL_COLOURS[len(self._labels) % len(NEW_LABEL_COLOURS)], hotkey)

    def _remove(self) -> None:
        lab = self.selected_label()
        if lab is not None:
            self.remove_requested.emit(lab.name)


def _crop_text(clip: Clip) -> str:
    """The crop box's text for ``clip``: its rectangle ``x1, y1, x2, y2`` in pixels, or empty."""
    if clip.crop is not None and clip.crop.kind == "rect" and clip.crop.rect:
        return ", ".join(f"{v:g}" for v in clip.crop.rect)
    return ""
