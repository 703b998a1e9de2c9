"""Track and keypoint editing in a real window (gui/track_editing.py) on the real YOLO tracks of fi001.

fi001 (53 frames) breaks people into many tracks: #33 (frames 20-22) and #36 (28, 51, 52) never share a frame;
#9 and #12 are both in frame 14.
"""

from __future__ import annotations


import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QContextMenuEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from core.overlay import CORRECTED_COLOUR
from core.project import Project
from core.track_edits import EditedSkeletons, skeleton_key, track_span
from tests.conftest import copy_skeletons, shared_path


# Under pytest-xdist (--dist loadgroup) this module's tests run in one worker, so its module fixtures are made once.
pytestmark = pytest.mark.xdist_group("test_track_editing")


@pytest.fixture(scope="module")
def fi001():
    return shared_path("data", "videos", "fight", "fi001.mp4")


@pytest.fixture(scope="module")
def fi001_cache(fi001, _session_cache):
    from core.extract import iter_load_or_extract, run

    return run(iter_load_or_extract(fi001, "yolo"), callback=lambda p: None)


@pytest.fixture
def editing(window, qtbot, tmp_path, fi001, fi001_cache):
    """The window with a project holding fi001 (a clip on #36), the video open and its skeletons ready."""
    folder = tmp_path / "proj"
    with Project.create(folder) as p:
        copy_skeletons(fi001, p)
        v = p.add_video(fi001)
        p.add_clip(v.id, 28, 52, "assault", track_id=36, annotator="a")
    with qtbot.waitSignal(window.skeletons_ready, timeout=60_000):
        assert window.labelling.open_project(folder)
    return window


def spans(cache):
    return {int(t): track_span(cache, int(t)) for t in cache.track_ids()}


def test_merge_with_previous_key_undo_and_overlap_refused(editing, qtbot):
    w = editing
    lab, ed = w.labelling, w.labelling.track_editor
    assert isinstance(w.state.skeletons, EditedSkeletons)
    lab.select_track(36)
    w.view.setFocus()
    QTest.keyClick(w.view, Qt.Key.Key_M)  # merge with the track that ends just before: #33
    sk = w.state.skeletons
    assert 36 not in spans(sk) and spans(sk)[33] == (20, 52)
    assert 36 not in w.timeline.rows and 33 in w.timeline.rows
    assert lab.selected_track == 33
    assert [c.track_id for c in lab.clips()] == [33]  # the clip went with its person
    assert w.state.project.clips()[0].track_id == 33  # in the database
    assert lab.clips() == w.state.project.clips()  # the labeller's copy updated in place equals the database's
    QTest.keyClick(w.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert spans(w.state.skeletons)[36] == (28, 52) and 36 in w.timeline.rows
    assert w.state.project.clips()[0].track_id == 36
    assert lab.clips() == w.state.project.clips()
    QTest.keyClick(w.view, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert 36 not in spans(w.state.skeletons)

    n = lab.undo_stack.count()
    assert not ed.merge_tracks(9, 12)
    assert "overlap in frame(s) 14" in w.last_error and "\n" not in w.last_error
    assert lab.undo_stack.count() == n and 9 in spans(w.state.skeletons)


def test_skeletons_set_from_outside_get_the_project_edits_before_an_edit(editing, fi001_cache):
    """Skeletons set on the window that are not the project's edited ones (here the cache as extracted) are first
    shown with the project's edits, then edited: the edit applies and what is shown is EditedSkeletons."""
    w = editing
    ed = w.labelling.track_editor
    w.state.skeletons = fi001_cache  # a plain SkeletonCache
    assert not isinstance(w.state.skeletons, EditedSkeletons)
    assert ed.merge_tracks(36, 33)
    sk = w.state.skeletons
    assert isinstance(sk, EditedSkeletons) and 36 not in spans(sk) and spans(sk)[33] == (20, 52)


def test_right_click_menus_split_and_delete(editing, qtbot):
    w = editing
    ed = w.labelling.track_editor
    shown = []
    ed.menu_shown.connect(shown.append)
    # a timeline row
    row = w.timeline.row_of_track(31)
    w.timeline.context_at(16.0, row + 0.5, QPoint(10, 10))
    assert shown and shown[-1].title() == "" and w.labelling.selected_track == 31
    texts = [a.text() for a in shown[-1].actions()]
    assert "Delete this track" in texts and "Split at frame 16" in texts
    next(a for a in shown[-1].actions() if a.text() == "Delete this track").trigger()
    shown[-1].close()
    assert 31 not in spans(w.state.skeletons) and 31 not in w.timeline.rows
    # a person on the video: right-click inside their box
    w.seek(30)
    sk = w.state.skeletons
    r = sk.row_of(30, 3)
    x1, y1, x2, y2 = (float(v) for v in sk.bbox[r])
    vp = w.view.viewport()
    pos = w.view.mapFromScene(QPointF((x1 + x2) / 2, (y1 + y2) / 2))
    QApplication.sendEvent(vp, QContextMenuEvent(QContextMenuEvent.Reason.Mouse, pos, vp.mapToGlobal(pos)))
    menu = shown[-1]
    assert any(a.text().startswith("Split at frame 30") for a in menu.actions())
    next(a for a in menu.actions() if a.text() == "Split at frame 30").trigger()
    menu.close()
    sp = spans(w.state.skeletons)
    assert sp[3][1] == 29 and any(s == (30, 52) for t, s in sp.items() if t not in spans(sk))


def test_drag_a_joint_and_delete_one(editing, qtbot):
    w = editing
    lab = w.labelling
    w.seek(30)
    sk = w.state.skeletons
    r = sk.row_of(30, 3)
    j = int(np.argmax(sk.keypoints[r, :, 2]))
    x, y = (float(v) for v in sk.keypoints[r, j, :2])
    vp = w.view.viewport()
    p0 = w.view.mapFromScene(QPointF(x, y))
    p1 = p0 + QPoint(30, 20)
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, p0)
    assert w.view.dragging_handle == (30, 3, j)
    QTest.mouseMove(vp, p1)
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, p1)
    drop = w.view.mapToScene(p1)
    sk = w.state.skeletons
    r = sk.row_of(30, 3)
    assert np.allclose(sk.keypoints[r, j, :2], (drop.x(), drop.y())) and sk.keypoints[r, j, 2] == 1.0
    assert sk.corrected[r, j] and sk.corrected.sum() == 1
    key = skeleton_key(sk)
    assert [(e.frame, e.track, e.joint, e.score) for e in w.state.project.keypoint_edits(lab.video.id, key)] == \
        [(30, 3, j, 1.0)]
    # drawn distinctly: the corrected-joint colour is on screen around the joint
    img = w.view.image()
    cx, cy = int(drop.x()), int(drop.y())
    patch = img[max(0, cy - 12):cy + 13, max(0, cx - 12):cx + 13].reshape(-1, 3)
    assert (np.abs(patch.astype(int) - CORRECTED_COLOUR).sum(1) < 60).any()
    # the right-click menu on a joint deletes it
    shown = []
    lab.track_editor.menu_shown.connect(shown.append)
    k = int(np.argsort(sk.keypoints[r, :, 2])[-2])
    pk = w.view.mapFromScene(QPointF(*(float(v) for v in sk.keypoints[r, k, :2])))
    QApplication.sendEvent(vp, QContextMenuEvent(QContextMenuEvent.Reason.Mouse, pk, vp.mapToGlobal(pk)))
    act = next(a for a in shown[-1].actions() if a.text().startswith("Delete joint"))
    act.trigger()
    shown[-1].close()
    sk = w.state.skeletons
    assert sk.corrected[r].sum() == 2 and sk.keypoints[r, :, 2][sk.corrected[r]].tolist().count(0.0) == 1
    lab.undo_stack.undo()
    lab.undo_stack.undo()
    assert w.state.project.keypoint_edits(lab.video.id, key) == [] and not w.state.skeletons.corrected.any()


def test_interpolate_corrected_joints_between_keyframes(editing, qtbot):
    """Alt+I fills a joint moved in two frames of the selected person in every frame between them where the
    person is seen (linear in the frame number), marked as corrected; one undo takes the whole fill back."""
    w = editing
    lab, ed = w.labelling, w.labelling.track_editor
    sk = w.state.skeletons
    frames = sk.frame[sk.track_id == 3]
    a, b = int(frames[0]), int(frames[min(len(frames) - 1, 6)])
    between = [int(f) for f in frames if a < f < b]
    assert between, "track #3 of fi001 is seen in frames between its keyframes"
    assert ed.move_joint(a, 3, 9, 100.0, 200.0) and ed.move_joint(b, 3, 9, 100.0 + 10 * (b - a), 150.0)
    lab.select_track(3)
    w.view.setFocus()
    n_before = lab.undo_stack.index()
    QTest.keyClick(w.view, Qt.Key.Key_I, Qt.KeyboardModifier.AltModifier)
    assert lab.undo_stack.index() == n_before + 1
    sk = w.state.skeletons
    for f in between:
        r = sk.row_of(f, 3)
        t = (f - a) / (b - a)
        assert np.allclose(sk.keypoints[r, 9], (100.0 + 10 * (f - a), 200.0 - 50.0 * t, 1.0), atol=1e-3)
        assert sk.corrected[r, 9]
    assert int(sk.corrected.sum()) == len(between) + 2
    lab.undo_stack.undo()
    assert int(w.state.skeletons.corrected.sum()) == 2
    assert len(w.state.project.keypoint_edits(lab.video.id, skeleton_key(sk))) == 2
    # nothing to interpolate for a person with one keyframe: said in one line, nothing changes
    errors = []
    w.host.error_reported.connect(errors.append)
    assert not ed.interpolate_joints(36)
    assert lab.undo_stack.index() == n_before and "two frames" in errors[-1]
