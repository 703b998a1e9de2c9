"""The labelling workflow driven through the real window (offscreen Qt, pytest-qt): a real project
in tmp_path, the real Fall04 video and its real skeletons, keys and mouse events as a user gives
them, and the project database checked after every step."""

from __future__ import annotations

import shutil
import sqlite3

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from core.project import Crop, Project

KEY = Qt.Key
NO = Qt.KeyboardModifier.NoModifier
CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier
LEFT = Qt.MouseButton.LeftButton


def press(qtbot, window, key, modifier=NO):
    """Type a key into the widget that has the focus, as a user does."""
    qtbot.keyClick(window.focusWidget() or window, key, modifier)


def send_mouse(widget, kind, pos: QPoint, button, buttons) -> None:
    ev = QMouseEvent(kind, QPointF(pos), QPointF(widget.mapToGlobal(pos)), button, buttons, NO)
    QApplication.sendEvent(widget, ev)


def drag(qtbot, widget, p0: QPoint, p1: QPoint, steps: int = 6) -> None:
    """Press the left button at ``p0``, move to ``p1`` in steps (pyqtgraph drops mouse moves closer
    than 10 ms apart), release: a real drag as the widget receives it."""
    send_mouse(widget, QEvent.Type.MouseButtonPress, p0, LEFT, LEFT)
    for i in range(1, steps + 1):
        qtbot.wait(15)
        p = p0 + (p1 - p0) * (i / steps)
        send_mouse(widget, QEvent.Type.MouseMove, p, Qt.MouseButton.NoButton, LEFT)
    qtbot.wait(15)
    send_mouse(widget, QEvent.Type.MouseButtonRelease, p1, LEFT, Qt.MouseButton.NoButton)


def one_person_frame(cache, near: int):
    """A frame near ``near`` with exactly one confidently tracked person, and that person."""
    counts = cache.persons_per_frame()
    for f in sorted(range(cache.frame_count), key=lambda f: abs(f - near)):
        if counts[f] == 1 and cache.poses(f).persons[0].score > 0.8:
            return f, cache.poses(f).persons[0]
    pytest.fail("no frame with one confidently tracked person")


def view_point(window, x: float, y: float) -> QPoint:
    """Viewport pixel of the video view showing frame pixel (x, y)."""
    return window.view.mapFromScene(QPointF(x, y))


@pytest.fixture
def lab(window, qtbot, tmp_path, fall04, fall04_skeletons):
    """The window with a new project in tmp_path and Fall04 open (skeletons from the project folder)."""
    assert window.labelling.new_project(tmp_path / "proj")
    with qtbot.waitSignal(window.skeletons_ready, timeout=120_000):
        assert window.open_video(fall04)
    window.view.setFocus()
    return window


def clips_db(folder) -> list[tuple]:
    """The clips as a fresh connection reads them from the file (not the window's connection)."""
    with Project.open(folder) as p:
        return [(c.id, c.start, c.end, c.label, c.track_id, c.crop, c.note) for c in p.clips()]


# ------------------------------------------------------------------------------------------------ keys
def test_mark_in_out_label_key_enter_undo_redo(lab, qtbot, fall04, settings):
    w, L = lab, lab.labelling
    p = L.project
    folder = p.folder
    assert w.timeline.isVisible() and L.docks["clip"].isVisible() and L.toolbar.isVisible()
    assert [v.path for v in p.videos()] == [str(fall04.resolve())]
    assert L.video is not None and L.video.frame_count == w.frame_count == 288
    # the player's skeletons were reused: the project holds its own copy, no second extraction
    assert list(p.skeleton_dir.rglob("*.npz"))
    assert w.skeletons is not None and w.timeline.rows[0] is None and len(w.timeline.rows) > 1

    L.annotator_edit.setText("alice")
    L.annotator_edit.editingFinished.emit()
    assert settings.value("annotator") == "alice"

    w.seek(100)
    press(qtbot, w, KEY.Key_I)
    w.seek(130)
    press(qtbot, w, KEY.Key_O)
    assert (L.in_point, L.out_point) == (100, 130) and w.timeline.marks == (100, 130)
    press(qtbot, w, KEY.Key_5)  # the default hotkey of "fall"
    assert L.current_label == "fall"
    press(qtbot, w, KEY.Key_Return)
    rows = clips_db(folder)
    assert len(rows) == 1
    cid = rows[0][0]
    assert rows[0][1:] == (100, 130, "fall", None, None, "")
    c = p.clip(cid)
    assert c.annotator == "alice" and c.length == 31
    assert L.in_point is None and w.timeline.marks == (None, None)
    assert L.selected_clip.id == cid and w.timeline.selected_clip == cid
    assert w.timeline.clip_at(115, 0) == cid and w.timeline.clip_at(131, 0) is None
    assert L.clip_panel.clip.id == cid and "100–130" in L.clip_panel.title.text()

    press(qtbot, w, KEY.Key_Z, CTRL)  # undo: gone from the database and the timeline
    assert clips_db(folder) == [] and w.timeline.clip_at(115, 0) is None and L.selected_clip is None
    press(qtbot, w, KEY.Key_Z, CTRL | SHIFT)  # redo: back, same id
    assert clips_db(folder) == rows and w.timeline.clip_at(115, 0) == cid
    press(qtbot, w, KEY.Key_Z, CTRL)
    press(qtbot, w, KEY.Key_Y, CTRL)
    assert clips_db(folder) == rows
    assert L.undo_stack.count() == 1 and L.undo_stack.index() == 1

    # click the person in the video: new clips belong to that track
    f, person = one_person_frame(w.skeletons, near=40)
    w.seek(f)
    x1, y1, x2, y2 = (float(v) for v in person.bbox)
    qtbot.mouseClick(w.view.viewport(), LEFT, pos=view_point(w, (x1 + x2) / 2, (y1 + y2) / 2))
    tid = person.track_id
    assert L.selected_track == tid and w.timeline.selected_track == tid
    assert w.view.marker("person") == pytest.approx((x1, y1, x2, y2), abs=0.01)
    press(qtbot, w, KEY.Key_I)
    w.seek(f + 20)
    press(qtbot, w, KEY.Key_O)
    press(qtbot, w, KEY.Key_3)  # assault
    press(qtbot, w, KEY.Key_Return)
    rows = clips_db(folder)
    assert len(rows) == 2
    c2 = next(r for r in rows if r[0] != cid)
    assert c2[1:5] == (f, f + 20, "assault", tid)
    assert w.timeline.clip_at(f + 5, w.timeline.row_of_track(tid)) == c2[0]
    assert w.timeline.clip_at(f + 5, 0) is None  # not on the whole-frame row

    # bad input: one line each, nothing written, the window goes on working
    errors = []
    w.error_reported.connect(errors.append)
    w.seek(200)
    press(qtbot, w, KEY.Key_I)
    w.seek(190)
    press(qtbot, w, KEY.Key_O)
    press(qtbot, w, KEY.Key_Return)
    assert errors and "before it starts" in errors[-1] and "\n" not in errors[-1]
    assert w.statusBar().currentMessage() == errors[-1]
    assert w.message_box.isVisible() and not w.message_box.isModal()
    assert clips_db(folder) == rows and L.undo_stack.count() == 2
    assert (L.in_point, L.out_point) == (200, 190)  # the marks stay, to be fixed
    press(qtbot, w, KEY.Key_Right)
    assert w.current_frame_index == 191
    assert not L.choose_label("robbery")
    assert "not in the taxonomy" in errors[-1] and L.current_label == "assault"
    L.clear_marks()
    press(qtbot, w, KEY.Key_Return)
    assert "mark the clip's first frame" in errors[-1]
    assert clips_db(folder) == rows

    # digits typed into the frame box go to the frame box, not to the label choice
    press(qtbot, w, KEY.Key_G, CTRL)
    assert w.focusWidget() is w.frame_box
    qtbot.keyClicks(w.frame_box, "150")
    qtbot.keyClick(w.frame_box, KEY.Key_Return)
    assert w.current_frame_index == 150 and L.current_label == "assault"
    assert clips_db(folder) == rows  # Enter in the frame box commits nothing


# ------------------------------------------------------------------------------------------------ mouse
def test_timeline_click_edge_drag_relabel_note_delete(lab, qtbot):
    w, L, tl = lab, lab.labelling, lab.timeline
    folder = L.project.folder
    c = L.commit_clip(50, 80, "fall")
    assert c is not None and clips_db(folder)[0][1:4] == (50, 80, "fall")
    L.select_clip(None)
    tl.viewbox.setXRange(30, 110, padding=0)  # about 9 px per frame
    qtbot.wait(20)
    vp = tl.plot.viewport()

    # a click seeks and selects the clip under the mouse
    qtbot.mouseClick(vp, LEFT, pos=tl.view_to_widget(65.5, 0.5))
    assert w.current_frame_index == 65 and L.selected_clip.id == c.id
    # a click on empty space seeks and deselects
    qtbot.mouseClick(vp, LEFT, pos=tl.view_to_widget(95.5, 0.5))
    assert w.current_frame_index == 95 and L.selected_clip is None

    # drag the right edge (x = end + 1) ten frames to the right: end 80 -> 90
    drag(qtbot, vp, tl.view_to_widget(81, 0.5), tl.view_to_widget(91, 0.5))
    assert L.project.clip(c.id).end == 90 and clips_db(folder)[0][1:3] == (50, 90)
    assert L.undo_stack.undoText() == f"frames 50–90 for clip {c.id}"
    # and the left edge: start 50 -> 45
    drag(qtbot, vp, tl.view_to_widget(50, 0.5), tl.view_to_widget(45, 0.5))
    assert clips_db(folder)[0][1:3] == (45, 90)
    L.undo_stack.undo()
    assert clips_db(folder)[0][1:3] == (50, 90)
    L.undo_stack.undo()
    assert clips_db(folder)[0][1:3] == (50, 80)
    L.undo_stack.redo()
    assert clips_db(folder)[0][1:3] == (50, 90)
    # dragging the start past the end is refused with a message; nothing changes
    drag(qtbot, vp, tl.view_to_widget(50, 0.5), tl.view_to_widget(100, 0.5))
    assert "before it starts" in w.last_error
    assert clips_db(folder)[0][1:3] == (50, 90) and tl.selected_clip == c.id

    # relabel: choose "normal" (key 1), then R
    w.view.setFocus()
    press(qtbot, w, KEY.Key_1)
    press(qtbot, w, KEY.Key_R)
    assert clips_db(folder)[0][3] == "normal"
    # ... or in the clip panel
    panel = L.clip_panel
    panel.label_box.setCurrentText("theft")
    panel.label_box.activated.emit(panel.label_box.currentIndex())
    assert clips_db(folder)[0][3] == "theft"
    press(qtbot, w, KEY.Key_Z, CTRL)
    assert clips_db(folder)[0][3] == "normal"

    # the note: typed into the panel (digits and letters are text there, not shortcuts), Enter saves
    qtbot.mouseClick(panel.note_edit, LEFT)
    assert w.focusWidget() is panel.note_edit
    qtbot.keyClicks(panel.note_edit, "check the 2nd fall")
    qtbot.keyClick(panel.note_edit, KEY.Key_Return)
    assert clips_db(folder)[0][6] == "check the 2nd fall" and L.current_label == "normal"
    L.undo_stack.undo()
    assert clips_db(folder)[0][6] == "" and panel.note_edit.text() == ""
    # the frame range typed into the panel
    panel.end_box.setValue(99)
    panel.end_box.editingFinished.emit()
    assert clips_db(folder)[0][1:3] == (50, 99)

    # Delete removes the selected clip; undo brings it back unchanged (same id, same times)
    before = L.project.clip(c.id)
    w.view.setFocus()
    press(qtbot, w, KEY.Key_Delete)
    assert clips_db(folder) == [] and tl.clip_at(60, 0) is None
    press(qtbot, w, KEY.Key_Z, CTRL)
    after = L.project.clip(c.id)
    assert after == before and after.created == before.created and tl.clip_at(60, 0) == c.id
    assert L.undo_stack.redoText().startswith("delete")


# ------------------------------------------------------------------------------------------------ crops

def test_a_timeline_click_moves_the_play_head_at_once_and_the_picture_follows(lab, qtbot):
    """A click far along the timeline does not wait for the decoder: the frame index, the play head and an in point
    marked straight after follow at once, the previous picture stays meanwhile, and then the exact frame shows."""
    from core.video import open_source

    w, L, tl = lab, lab.labelling, lab.timeline
    w.set_overlay(skeleton=False, boxes=False, ids=False, labels=False)  # compare raw frames
    ref = open_source(w.state.video_path)
    vp = tl.plot.viewport()
    seen = []
    w.state.events.frame.connect(lambda new, _old: new is not None and seen.append((new.index, new.pending)))
    for frame in (230, 40, 180):  # forward far (an FFmpeg seek), back, forward again
        tl.viewbox.setXRange(frame - 40, frame + 40, padding=0)
        qtbot.wait(10)
        k = len(seen)
        qtbot.mouseClick(vp, LEFT, pos=tl.view_to_widget(frame + 0.5, 0.5))
        press(qtbot, w, KEY.Key_I)
        assert w.current_frame_index == frame and L.in_point == frame
        assert seen[k] == (frame, True)  # shown first as pending: before its picture was decoded
        qtbot.waitUntil(lambda: not w.state.seeking, timeout=10_000)
        assert seen[-1] == (frame, False)
        assert np.array_equal(w.current_image(), ref.read(frame).image)
        assert np.array_equal(w.view.pixmap_bgr(), ref.read(frame).image)
    ref.close()


def test_crop_rectangle_on_the_video_and_crop_to_person(lab, qtbot):
    w, L = lab, lab.labelling
    folder = L.project.folder
    f, person = one_person_frame(w.skeletons, near=40)
    tid = person.track_id
    c = L.commit_clip(f, f + 10, "fall", track_id=tid)
    w.seek(f)
    w.view.setFocus()

    press(qtbot, w, KEY.Key_C)  # crop tool
    assert w.view.crop_mode and w.actions["crop_tool"].isChecked()
    p0, p1 = view_point(w, 50, 100), view_point(w, 250, 400)
    drag(qtbot, w.view.viewport(), p0, p1)
    crop = L.project.clip(c.id).crop
    assert crop is not None and crop.kind == "rect"
    tol = 1.5 / w.view.zoom + 1  # one screen pixel in frame pixels, plus rounding
    assert crop.rect == pytest.approx((50, 100, 250, 400), abs=tol)
    assert all(v == round(v) for v in crop.rect)  # whole pixels
    assert w.view.marker("crop") == pytest.approx(crop.rect, abs=0.01)
    assert not w.view.crop_mode  # one rectangle per use of the tool
    assert clips_db(folder)[0][5] == crop

    # a rectangle outside the 406x720 frame: one clear line, nothing changes
    assert not L.set_crop(Crop("rect", (-20, 0, 100, 100)))
    assert "outside" in w.last_error and "406x720" in w.last_error
    L.clip_panel.crop_edit.setText("0, 0, 5000, 10")
    L.clip_panel.crop_edit.returnPressed.emit()
    assert "outside" in w.last_error
    L.clip_panel.crop_edit.setText("1, 2, 3")
    L.clip_panel.crop_edit.returnPressed.emit()
    assert "four numbers" in w.last_error
    assert clips_db(folder)[0][5] == crop

    # crop to the tracked person (Shift+C), then a wider margin from the panel
    press(qtbot, w, KEY.Key_C, SHIFT)
    assert L.project.clip(c.id).crop == Crop("track", None, 0.2)
    x1, y1, x2, y2 = (float(v) for v in person.bbox)
    bw, bh = x2 - x1, y2 - y1
    assert w.view.marker("crop") == pytest.approx((x1 - 0.2 * bw, y1 - 0.2 * bh, x2 + 0.2 * bw, y2 + 0.2 * bh), abs=0.01)
    L.clip_panel.margin_box.setValue(0.5)
    qtbot.mouseClick(L.clip_panel.follow_button, LEFT)
    assert L.project.clip(c.id).crop == Crop("track", None, 0.5)
    qtbot.mouseClick(L.clip_panel.clear_crop_button, LEFT)
    assert L.project.clip(c.id).crop is None and w.view.marker("crop") is None
    for expected in (Crop("track", None, 0.5), Crop("track", None, 0.2), crop):
        L.undo_stack.undo()
        assert clips_db(folder)[0][5] == expected
    # a whole-frame clip cannot follow a track
    c2 = L.commit_clip(200, 210, "normal", track_id=None)
    assert not L.crop_to_track()
    assert "needs the clip's track" in w.last_error and L.project.clip(c2.id).crop is None


# ------------------------------------------------------------------------------------------------ export
def test_export_dialog_writes_the_clip_frames(lab, qtbot, tmp_path):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("core.exporting")
    w, L = lab, lab.labelling
    cache = w.skeletons
    f, person = one_person_frame(cache, near=40)
    whole = L.commit_clip(100, 130, "fall")
    track = L.commit_clip(f, f + 20, "assault", track_id=person.track_id)
    L.show_export_dialog()
    d = L.export_dialog
    assert d.isVisible() and not d.isModal()
    # the dataset summary (core.dataset_summary) before exporting: 31 frames of fall (1 window of 16), 21 of assault
    rows = {ln.split()[0]: ln.split()[1:] for ln in d.summary_view.toPlainText().splitlines() if ln.strip()}
    assert rows["fall"][:3] == ["1", "31", "1"] and rows["assault"][:3] == ["1", "21", "1"]
    d.window_box.setValue(32)  # the counts follow the form
    rows = {ln.split()[0]: ln.split()[1:] for ln in d.summary_view.toPlainText().splitlines() if ln.strip()}
    assert rows["fall"][:3] == ["1", "31", "0"]
    d.window_box.setValue(16)
    out = tmp_path / "export"
    d.out_edit.setText(str(out))
    d.format_boxes["pt"].setChecked(False)
    with qtbot.waitSignal(d.completed, timeout=60_000) as sig:
        qtbot.mouseClick(d.start_button, LEFT)
    summary = sig.args[0]
    assert summary.counts["csv"] > 0 and str(out) in d.result_label.text()
    df = pd.read_csv(out / "skeletons.csv")
    assert set(df.clip_id) == {whole.id, track.id}
    rows = df[df.clip_id == whole.id]
    assert rows.FRAME_NUM.between(100, 130).all() and (rows.label_name == "fall").all()
    assert len(rows) == int(cache.persons_per_frame()[100:131].sum())  # every person of those frames
    rows = df[df.clip_id == track.id]
    assert rows.FRAME_NUM.between(f, f + 20).all() and (rows.track_id == person.track_id).all()
    assert (rows.label_name == "assault").all() and (rows.label == L.project.label_names().index("assault")).all()
    first = rows[rows.FRAME_NUM == f].iloc[0]
    assert first.SHOULDER_LEFT_X == pytest.approx(float(person.keypoints[5, 0]), abs=0.01)  # COCO 5 = left shoulder

    # Cancel: nothing is written, not even the temporary folder
    d.out_edit.setText(str(tmp_path / "export2"))
    d.format_boxes["frames"].setChecked(True)
    with qtbot.waitSignal(d.cancelled, timeout=30_000):
        assert d.start() and d.running and d.cancel_button.isEnabled()
        qtbot.mouseClick(d.cancel_button, LEFT)
    assert not d.running and "nothing was written" in d.result_label.text()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("export")) == ["export"]
    d.format_boxes["frames"].setChecked(False)

    # an unwritable folder and an existing one: one line each, nothing written, the window responsive
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    for bad, phrase in ((blocker / "export", "not a folder"), (out, "already exists")):
        d.out_edit.setText(str(bad))
        with qtbot.waitSignal(d.failed, timeout=30_000) as sig:
            assert d.start()
        assert phrase in sig.args[0] and "\n" not in sig.args[0]
        assert w.statusBar().currentMessage() == w.last_error == sig.args[0]
        assert "failed" in d.result_label.text()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("export")) == ["export"]
    w.activateWindow()  # back to the player, as a user clicks into it
    qtbot.waitUntil(w.isActiveWindow, timeout=2000)
    w.view.setFocus()
    w.seek(10)
    press(qtbot, w, KEY.Key_Right)
    assert w.current_frame_index == 11
    d.close()


# ------------------------------------------------------------------------------------------------ projects
def test_projects_recent_relink_newer_schema_and_taxonomy(window, qtbot, tmp_path, short_clip):
    w, L = window, window.labelling
    # a database written by a newer PoseWatch: a clear message, nothing opened
    Project.create(tmp_path / "future").close()
    conn = sqlite3.connect(tmp_path / "future" / "project.sqlite")
    conn.execute("PRAGMA user_version=99")
    conn.close()
    assert not L.open_project(tmp_path / "future")
    assert "newer PoseWatch" in w.last_error and L.project is None and not w.timeline.isVisible()
    assert not L.open_project(tmp_path / "nothing here")
    assert "no PoseWatch project" in w.last_error
    assert not L.new_project(tmp_path / "future")
    assert "already exists" in w.last_error
    assert L.commit_clip(1, 2, "fall") is None and "open or create a project" in w.last_error

    # a project with a video; the video is moved away; relink finds it by content
    videos = tmp_path / "videos"
    videos.mkdir()
    clip_path = videos / "cam.mp4"
    shutil.copy(short_clip, clip_path)
    assert L.new_project(tmp_path / "proj")
    w.auto_skeletons = False
    assert w.open_video(clip_path)
    assert L.commit_clip(3, 9, "theft") is not None
    assert L.recent_projects()[0] == str((tmp_path / "proj").resolve())
    L.close_project()
    assert L.project is None and not w.timeline.isVisible() and not L.docks["clip"].isVisible()
    w.close_video()
    moved = tmp_path / "moved"
    moved.mkdir()
    shutil.move(str(clip_path), moved / "renamed.mp4")
    L.rebuild_recent_projects()
    recent = [a for a in L.recent_projects_menu.actions() if a.toolTip() == str((tmp_path / "proj").resolve())]
    assert recent
    recent[0].trigger()  # File > Open recent project
    assert L.project is not None and w.video_path is None  # its only video is missing
    item = L.videos_panel.list.item(0)
    assert "MISSING" in item.text() and L.videos_panel.relink_button.isEnabled()
    vid = L.videos_panel.video_ids()[0]
    assert not L.open_project_video(vid)
    assert "Relink" in w.last_error
    found = L.relink([tmp_path])
    assert found == {vid: str((moved / "renamed.mp4").resolve())}
    assert "MISSING" not in L.videos_panel.list.item(0).text()
    L.videos_panel.list.itemActivated.emit(L.videos_panel.list.item(0))  # double-click
    assert w.video_path == str((moved / "renamed.mp4").resolve())
    assert [c.label for c in L.clips()] == ["theft"] and w.timeline.clip_at(5, 0) is not None

    # the taxonomy: add, rename, recolour, hotkeys (conflicts refused), remove; all undoable
    tp = L.taxonomy_panel
    qtbot.mouseClick(tp.add_button, LEFT)
    labels = L.project.labels()
    assert labels[-1].name == "label 6" and labels[-1].hotkey == "6" and labels[-1].position == 5
    tp.table.item(5, 0).setText("robbery")  # as if typed into the cell
    assert L.project.label_names()[5] == "robbery" and L.label_box.findText("robbery") >= 0
    assert L.update_label("robbery", colour="#123456")
    assert L.project.labels()[5].colour == "#123456"
    assert not L.update_label("robbery", hotkey="S")  # the skeleton toggle
    assert "already the shortcut" in w.last_error
    assert not L.update_label("robbery", hotkey="1")
    assert "already used" in w.last_error
    assert L.project.labels()[5].hotkey == "6"
    w.view.setFocus()
    press(qtbot, w, KEY.Key_6)
    assert L.current_label == "robbery"
    assert not L.remove_label("theft")  # used by a clip
    assert "used by 1 clip" in w.last_error
    L.undo_stack.undo()  # colour
    L.undo_stack.undo()  # rename
    assert L.project.label_names()[5] == "label 6" and L.current_label in L.project.label_names()
    assert L.remove_label("label 6") and "label 6" not in L.project.label_names()
    L.undo_stack.undo()
    assert L.project.label_names()[-1] == "label 6"

    # another program deletes a clip behind the window's back: undoing its creation then fails with
    # one line, and that step leaves the history instead of leaving it out of step with the file
    c = L.commit_clip(20, 25, "fall")
    n = L.undo_stack.count()
    with Project.open(L.project.folder) as other:
        other.delete_clip(c.id)
    L.undo_stack.undo()
    assert f"cannot undo 'add fall 20–25 (whole frame)': no clip with id {c.id}" == w.last_error
    assert L.undo_stack.count() == n - 1 and L.undo_stack.redoText() == ""


def test_import_dialog_and_imported_sequences_on_the_timeline(window, qtbot, tmp_path, shared_dir):
    pytest.importorskip("core.importing")
    csv = shared_dir / "data" / "skeleton" / "urfd" / "pose_urfd_3classes.csv"
    if not csv.is_file():
        pytest.skip(f"shared test data not found: {csv}")
    w, L = window, window.labelling
    assert L.new_project(tmp_path / "proj")
    L.show_import_dialog()
    d = L.import_dialog
    assert not d.start() and "add the CSV files" in w.last_error
    d.set_files([csv])
    with qtbot.waitSignal(d.completed, timeout=60_000) as sig:
        qtbot.mouseClick(d.start_button, LEFT)
    report = sig.args[0]
    assert report.sequences == 30 and report.clips > 0
    assert {"upright", "falling", "lying"} <= set(L.project.label_names())
    assert L.label_box.findText("lying") >= 0  # the window read the new taxonomy
    assert L.videos_panel.list.count() == 30
    v = next(v for v in L.project.videos() if v.name == "fall-01")
    with qtbot.waitSignal(w.skeletons_ready, timeout=10_000):
        assert L.open_project_video(v.id)
    assert w.frame_count == v.frame_count and w.video_info.width == 640
    assert w.skeletons is not None and len(w.skeletons.track_ids()) == 1
    assert sorted(c.label for c in L.clips()) == sorted(c.label for c in L.project.clips(v.id))
    assert {c.label for c in L.clips()} == {"upright", "falling", "lying"}
    first = min(L.clips(), key=lambda c: c.start)
    assert w.timeline.clip_at(first.start, w.timeline.row_of_track(first.track_id)) == first.id
    # an imported sequence is labelled like a video
    assert L.commit_clip(0, 5, "fall", track_id=1) is not None
    d.close()


# ------------------------------------------------------------------------------------------------ scale
def test_sub_pixel_clips_merge_per_row_only():
    """The timeline's level of detail: rectangles of one row that touch or are less than the gap apart become one
    (the merged one spans them all, overlaps included); other rows and wider gaps stay apart."""
    from gui.timeline import _merge_runs

    x0 = np.array([0.0, 0.5, 10.0, 3.0, 0.2, 40.0, 11.5])
    x1 = np.array([1.0, 5.0, 11.0, 3.5, 0.9, 41.0, 12.0])
    row = np.array([1, 1, 1, 1, 2, 1, 1])
    a, b, r = _merge_runs(x0, x1, row, gap=1.0)
    assert sorted(zip(r.tolist(), a.tolist(), b.tolist())) == [(1, 0.0, 5.0), (1, 10.0, 12.0), (1, 40.0, 41.0),
                                                               (2, 0.2, 0.9)]
    a, b, r = _merge_runs(x0, x1, row, gap=0.0)  # zoomed in: only overlapping ones merge
    assert sorted(zip(r.tolist(), a.tolist(), b.tolist())) == [(1, 0.0, 5.0), (1, 10.0, 11.0), (1, 11.5, 12.0),
                                                               (1, 40.0, 41.0), (2, 0.2, 0.9)]


def test_timeline_draws_each_clip_where_it_is_in_its_colour(qtbot):
    """The clip rectangles are drawn from an array (gui.timeline.draw_rects: QRectF's memory): each clip's pixels are
    in its label's colour, also one too narrow for its outline, its row's other frames are not, and a bad array is
    refused in one line."""
    from PySide6.QtCore import QPointF
    from PySide6.QtGui import QColor, QImage, QPainter

    from core.project import Clip
    from gui.timeline import TimelineWidget, draw_rects

    tl = TimelineWidget()
    qtbot.addWidget(tl)
    tl.resize(800, 160)
    tl.show()
    qtbot.waitExposed(tl)
    tl.set_frame_count(1000)
    colours = {"theft": "#ff0000", "fall": "#0000ff"}
    tl.set_clips([Clip(1, 1, 100, 299, "theft", None), Clip(2, 1, 600, 799, "fall", 3)], colours)
    tl.viewbox.setXRange(0, 1000, padding=0)
    tl.redraw()
    QApplication.processEvents()
    img = tl.plot.grab().toImage()
    view = tl.plot

    def colour_at(frame: float, row: int) -> QColor:
        p = view.mapFromScene(tl.viewbox.mapViewToScene(QPointF(frame, tl.rows.index(row) + 0.5)))
        return img.pixelColor(p.x() * img.width() // view.width(), p.y() * img.height() // view.height())

    for frame, row, want in [(200, None, "#ff0000"), (700, 3, "#0000ff")]:
        got = colour_at(frame, row)
        w = QColor(want)
        dominant = max(("red", "green", "blue"), key=lambda ch: getattr(got, ch)())
        assert dominant == max(("red", "green", "blue"), key=lambda ch: getattr(w, ch)()), (frame, got.name())
    for frame, row in [(450, None), (200, 3), (900, 3)]:  # no clip there: the dark background or a track bar
        got = colour_at(frame, row)
        assert got.red() < 120 and got.blue() < 120, (frame, row, got.name())
    # a one-frame clip of a 100,000-frame video in view (a hundredth of a pixel): filled in its outline's colour,
    # at least a pixel wide (gui.timeline.NARROW_PX), so it does not vanish
    tl.set_frame_count(100_000)
    tl.set_clips([Clip(4, 1, 50_000, 50_000, "theft", 3)], colours)
    tl.viewbox.setXRange(0, 100_000, padding=0)
    tl.redraw()
    QApplication.processEvents()
    img = tl.plot.grab().toImage()
    p = view.mapFromScene(tl.viewbox.mapViewToScene(QPointF(50_000, tl.rows.index(3) + 0.5)))
    near = [img.pixelColor((p.x() + dx) * img.width() // view.width(), p.y() * img.height() // view.height())
            for dx in range(-2, 3)]
    assert any(c.red() > 100 and c.red() > 2 * max(c.green(), c.blue()) for c in near), [c.name() for c in near]
    image = QImage(10, 10, QImage.Format.Format_RGB32)
    painter = QPainter(image)
    try:
        with pytest.raises(ValueError, match="float64"):
            draw_rects(painter, np.zeros((2, 4), np.float32))
    finally:
        painter.end()


def test_clip_panel_is_refilled_only_when_what_it_shows_changes(qtbot):
    """show_clip with what is shown already sets nothing again (every labelling edit asks); a value the user
    typed that was not applied (a refused range) is put back, and another clip or track list refills it."""
    from core.project import Clip, Label
    from gui.label_panels import ClipPanel

    panel = ClipPanel()
    qtbot.addWidget(panel)
    labels = [Label(1, "normal", "#4caf50", "1", 0), Label(2, "fall", "#2196f3", "2", 1)]
    clip = Clip(7, 1, 10, 40, "fall", 3, note="seen twice")
    panel.show_clip(clip, labels, [3, 5], 100, 25.0)
    changed = []
    panel.track_box.model().rowsInserted.connect(lambda *a: changed.append(a))
    panel.show_clip(clip, labels, [5, 3], 100, 25.0)
    assert not changed and panel.track_box.count() == 3
    panel.start_box.setValue(60)  # typed, refused by the labeller: shown again as it is
    panel.show_clip(clip, labels, [3, 5], 100, 25.0)
    assert panel.start_box.value() == 10
    panel.show_clip(clip, labels, [3, 5, 9], 100, 25.0)  # a track split off: the choices are refilled
    assert changed and panel.track_box.count() == 4
    panel.show_clip(None, labels, [3, 5, 9], 100, 25.0)
    assert not panel.start_box.isEnabled() and panel.note_edit.text() == ""


def test_timeline_scale_2000_clips_100k_frames(qtbot):
    """The timeline paints only what is exposed: a play-head step touches a few clips, not 2,000."""
    from core.project import Clip
    from gui.timeline import TimelineWidget

    rng = np.random.default_rng(0)
    n_frames, n = 100_000, 2000
    starts = np.sort(rng.integers(0, n_frames - 200, n))
    clips = [Clip(i + 1, 1, int(s), int(s + rng.integers(10, 150)), ("normal", "theft", "fall")[i % 3],
                  None if i % 4 == 0 else i % 4) for i, s in enumerate(starts)]
    tl = TimelineWidget()
    qtbot.addWidget(tl)
    tl.resize(1200, 200)
    tl.show()
    qtbot.waitExposed(tl)
    qtbot.wait(50)  # the first paint of the new window
    tl.set_frame_count(n_frames)
    tl.set_clips(clips, {"normal": "#4caf50", "theft": "#ff9800", "fall": "#2196f3"})
    assert tl.rows == [None, 1, 2, 3]
    for _ in range(5):
        tl.redraw()  # its time is bench/project_scale.py's (tests assert no wall-clock times)
    assert tl.segments.painted == n  # the whole video is in view
    # ~1,000 pixels for 100,000 frames: clips of a row less than a pixel apart are drawn as one
    assert 0 < tl.segments.drawn < n
    painted = []
    for f in range(5000, 5100):
        tl.set_playhead(f)
        QApplication.processEvents()
        painted.append(tl.segments.painted)
    assert np.median(painted) < 100, painted[:10]
    # zoomed in: only the visible clips are painted
    tl.viewbox.setXRange(50_000, 51_000, padding=0)
    tl.redraw()
    visible = sum(1 for c in clips if c.end + 1 > 50_000 and c.start < 51_000)
    assert tl.segments.painted <= visible + 5 < 100
    # hit tests by binary search agree with a scan
    for c in clips[::97]:
        row = tl.row_of_track(c.track_id)
        mid = (c.start + c.end) // 2
        hit = tl.clip_at(mid, row)
        containing = [d for d in clips if d.track_id == c.track_id and d.start <= mid <= d.end]
        assert hit == min(containing, key=lambda d: d.end - d.start).id
