"""Defects 3 and 4 of issue 11 in a real window (offscreen): panels fit a 1366x768 screen and never grow the
window; the confusion matrix shows every row; a new project needs a new or empty folder."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSize

from core.project import DB_NAME

SCREEN = QSize(1366, 768)
#: the largest window a 1366x768 screen shows with a title bar and a task bar
AVAILABLE = QSize(1366, 728)


def fits(size: QSize, box: QSize = AVAILABLE) -> bool:
    return size.width() <= box.width() and size.height() <= box.height()


@pytest.mark.parametrize("start", [QSize(1280, 700), QSize(1200, 700)])
def test_every_panel_fits_a_1366x768_screen_and_the_window_never_grows(window, qtbot, tmp_path, fall04, start):
    """Before: opening Train or Remote (with the project docks shown) made the window 1200x1116, and it stayed."""
    from PySide6.QtWidgets import QApplication

    window.auto_skeletons = False
    window.resize(start)
    qtbot.waitUntil(lambda: window.size() == start, timeout=5000)
    assert window.open_video(fall04)
    assert window.labelling.new_project(tmp_path / "proj")

    def settle():
        QApplication.processEvents()
        qtbot.wait(50)

    settle()
    assert window.size() == start, "the labelling docks grew the window"
    for show in (window.show_train_panel, window.actions["dock_remote"].trigger):
        show()
        settle()
        assert window.size() == start, f"{show} grew the window to {window.size()}"
    assert fits(window.minimumSizeHint()), window.minimumSizeHint()
    for name in ("clip", "videos", "labels", "history", "remote", "train"):
        dock = window.host.dock(name)
        assert dock.isVisible(), name
        assert fits(dock.minimumSizeHint()), (name, dock.minimumSizeHint())
    # the dialogs and the live window fit too
    window.labelling.show_export_dialog()
    window.labelling.show_import_dialog()
    dialog = window.labelling.new_project_dialog()
    lw = window.live_window
    lw.show()
    settle()
    for w in (window.labelling.export_dialog, window.labelling.import_dialog, dialog, lw):
        assert fits(w.size()) and fits(w.minimumSizeHint()), (w, w.size(), w.minimumSizeHint())
    # the live view's camera grids (2x2, 3x3: a picture and a readout per tile) fit too, and so does the batch dock
    for n in (2, 3, 1):
        lw.live_view.set_grid(n, ["0", "rtsp://camera/stream", "clip.mp4"])
        settle()
        assert len([t for t in lw.live_view.grid.tiles if t.isVisibleTo(lw)]) == (n * n if n > 1 else 0)
        assert fits(lw.size()) and fits(lw.minimumSizeHint()), (n, lw.size(), lw.minimumSizeHint())
    window.batch_panel.dock.show()
    settle()
    assert fits(window.minimumSizeHint()) and fits(window.batch_panel.dock.minimumSizeHint())
    window.batch_panel.dock.hide()
    for w in (window.labelling.export_dialog, window.labelling.import_dialog, dialog, lw):
        w.close()
    window.train_dock.hide()
    window.actions["dock_remote"].trigger()
    settle()
    assert window.size() == start


def test_the_confusion_matrix_shows_every_row(window, qtbot):
    """Before: the matrix at the bottom of the Train dock showed one row; now the table is tall enough for all of
    them and the panel scrolls inside its dock."""
    window.show_train_panel()
    panel = window.train_panel
    names = ["normal", "theft", "assault", "vandalism", "fall"]
    panel.confusion.set_matrix([[10 * (i == j) + j for j in range(5)] for i in range(5)], names)
    qtbot.waitUntil(lambda: panel.confusion.visible_rows() == 5, timeout=5000)
    assert panel.confusion.rowCount() == 5 and panel.confusion.height() >= panel.confusion.rows_height()
    assert fits(window.size())


def test_new_project_needs_a_new_or_empty_folder(window, qtbot, tmp_path):
    """Before: File > New Project accepted a folder of a user's files without a word (project.sqlite among them)
    and refused a typed new path ("Directory not found")."""
    L = window.labelling
    full = tmp_path / "my files"
    full.mkdir()
    (full / "holiday.jpg").write_bytes(b"not a project")
    assert not L.new_project(full)
    assert "is not empty: a new project needs an empty or new folder" in window.last_error
    assert not (full / DB_NAME).exists() and L.project is None

    dialog = L.new_project_dialog()
    dialog.path_edit.setText(str(full))
    dialog.accept()
    assert dialog.isVisible() and "is not empty" in dialog.message.text()  # refused in the dialog, which stays open
    typed = tmp_path / "projects" / "street"  # a typed path that does not exist yet
    dialog.path_edit.setText(str(typed))
    dialog.accept()
    assert not dialog.isVisible()
    assert L.project is not None and L.project.folder == typed.resolve() and (typed / DB_NAME).is_file()
    L.close_project()

    empty = tmp_path / "empty"
    empty.mkdir()
    assert L.new_project(empty) and L.project.folder == empty.resolve()
    L.close_project()
    assert not L.new_project(empty)  # a project is there now
    assert "a project already exists" in window.last_error


def test_the_labelling_docks_need_no_sideways_scrolling(window, qtbot, tmp_path, fall04):
    """Before: at 1366x728 the Clip dock was narrower than its panel's crop row, and with its vertical bar it needed
    a horizontal one too (the crop field and the project list's line were cut)."""
    from PySide6.QtWidgets import QApplication, QScrollArea

    window.auto_skeletons = False
    window.resize(AVAILABLE)
    qtbot.waitUntil(lambda: window.size() == AVAILABLE, timeout=5000)
    assert window.open_video(fall04)
    assert window.labelling.new_project(tmp_path / "proj")
    QApplication.processEvents()
    qtbot.wait(50)
    for name in ("clip", "videos"):
        area = window.host.dock(name).widget()
        assert isinstance(area, QScrollArea)
        assert not area.horizontalScrollBar().isVisible(), name
        assert area.viewport().width() >= area.widget().minimumSizeHint().width(), name
    assert window.host.dock("clip").width() >= 60 * window.labelling.clip_panel.fontMetrics().averageCharWidth()
