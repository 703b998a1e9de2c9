"""A labelling session run as a child process by ``test_crash_safety.py`` (which kills it mid-way).

    python tests/gui/crash_session.py PROJECT_DIR VIDEO [N_EDITS] [SEED]
    python tests/gui/crash_session.py PROJECT_DIR VIDEO edits TRACK JOINT_FRAME

The second form (:func:`edits_main`) loads the project video's skeletons, merges TRACK into the track that ends
just before it (the ``M`` key), drags a joint of person 3 in JOINT_FRAME with the mouse, prints
``COMMITTED merge <JSON>`` / ``COMMITTED keypoint <JSON>`` after each, then waits to be killed.

It opens the real :class:`gui.main_window.MainWindow` (offscreen Qt, no skeleton extraction), opens
or creates the project, opens VIDEO and makes N_EDITS random labelling edits through the GUI's own
code path: the keyboard (I, O, a label's number key, Enter, Ctrl+Z, Ctrl+Y) and the labelling
controller's edit methods, which push undo commands. Around every edit it prints one line to stdout
(flushed at once)::

    BEGIN <k> <op> <clip id | new | ->
    COMMITTED <k> <JSON list of the project's clips as [id, start, end, label, track, crop, note]>
    REFUSED <k> <one-line message>          (an invalid edit: nothing changed)

A ``COMMITTED`` line is printed only after the edit's command returned, so the parent may kill the
process at any moment and expect every edit reported committed to be in the database.
"""

from __future__ import annotations

import json
import os
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

LABEL_KEYS = ("1", "2", "3", "4", "5")


def clip_state(project) -> list:
    """The project's clips as JSON-able rows, ordered by id."""
    rows = []
    for c in sorted(project.clips(), key=lambda c: c.id):
        crop = None if c.crop is None else [c.crop.kind, list(c.crop.rect) if c.crop.rect else None, c.crop.margin]
        rows.append([c.id, c.start, c.end, c.label, c.track_id, crop, c.note])
    return rows


def main(argv: list[str]) -> int:
    folder, video = argv[0], argv[1]
    n_edits = int(argv[2]) if len(argv) > 2 else 300
    rng = random.Random(int(argv[3]) if len(argv) > 3 else 0)

    from gui.app import create_application

    app = create_application([sys.argv[0]])
    from PySide6.QtCore import QSettings, Qt
    from PySide6.QtTest import QTest

    from core.project import Crop
    from gui.main_window import MainWindow

    settings = QSettings(str(Path(folder).parent / "crash_session.ini"), QSettings.Format.IniFormat)
    w = MainWindow(settings, show_dialogs=False, auto_skeletons=False)
    w.show()
    w.activateWindow()
    QTest.qWaitForWindowExposed(w)
    lab = w.labelling
    ok = lab.open_project(folder) if (Path(folder) / "project.sqlite").exists() else lab.new_project(folder)
    if not ok or not w.open_video(video):
        print(f"FAILED {w.last_error}", flush=True)
        return 2
    n = w.frame_count
    width, height = w.video_info.width, w.video_info.height

    def key(k, mod=Qt.KeyboardModifier.NoModifier):
        QTest.keyClick(w.focusWidget() or w.view, k, mod)

    def target_of(cmd) -> str:
        if cmd is None:
            return "-"
        cid = getattr(cmd, "clip_id", None)
        if cid is None and getattr(cmd, "clip", None) is not None:
            cid = cmd.clip.id
        return str(cid) if cid is not None else "-"

    for k in range(n_edits):
        clips = lab.clips()
        stack = lab.undo_stack
        ops = ["add", "add", "range", "relabel", "note", "crop", "delete", "undo", "redo"]
        op = rng.choice(ops if clips else ["add"])
        if op == "undo" and not stack.canUndo() or op == "redo" and not stack.canRedo():
            op = "add"
        target = "-"
        if op == "add":
            target = "new"
        elif op == "undo":
            target = target_of(stack.command(stack.index() - 1))
        elif op == "redo":
            target = target_of(stack.command(stack.index()))
        else:
            c = rng.choice(clips)
            lab.select_clip(c.id)
            target = str(c.id)
        print(f"BEGIN {k} {op} {target}", flush=True)
        before = stack.index(), stack.count()
        errors_before = w.last_error
        if op == "add":
            a = rng.randrange(0, n - 1)
            b = min(n - 1, a + rng.randrange(0, 20))
            w.seek(a)
            key(Qt.Key.Key_I)
            w.seek(b)
            key(Qt.Key.Key_O)
            key(getattr(Qt.Key, f"Key_{rng.choice(LABEL_KEYS)}"))
            key(Qt.Key.Key_Return)
        elif op == "range":
            a = rng.randrange(0, n - 1)
            lab.set_clip_range(a, min(n - 1, a + rng.randrange(0, 30)))
        elif op == "relabel":
            lab.relabel_clip(rng.choice(lab.project.label_names()))
        elif op == "note":
            lab.set_note(f"note {k} " + "x" * rng.randrange(0, 50))
        elif op == "crop":
            x1, y1 = rng.randrange(0, width // 2), rng.randrange(0, height // 2)
            lab.set_crop(Crop("rect", (x1, y1, x1 + rng.randrange(2, width // 2), y1 + rng.randrange(2, height // 2))))
        elif op == "delete":
            key(Qt.Key.Key_Delete)
        elif op == "undo":
            key(Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
        elif op == "redo":
            key(Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
        app.processEvents()
        changed = (stack.index(), stack.count()) != before
        if changed:
            print(f"COMMITTED {k} {json.dumps(clip_state(lab.project))}", flush=True)
        else:
            print(f"REFUSED {k} {w.last_error if w.last_error != errors_before else 'no change'}", flush=True)
    print("DONE", flush=True)
    w.close()
    return 0


def edits_main(folder: str, video: str, track: int, frame: int) -> int:
    """Track merge and keypoint correction through the window's keys and mouse, then wait to be killed."""
    import time

    from gui.app import create_application

    app = create_application([sys.argv[0]])
    from PySide6.QtCore import QPoint, QPointF, QSettings, Qt
    from PySide6.QtTest import QTest

    from core.extract import run
    from gui.main_window import MainWindow

    settings = QSettings(str(Path(folder).parent / "crash_edits.ini"), QSettings.Format.IniFormat)
    w = MainWindow(settings, show_dialogs=False, auto_skeletons=False)
    w.show()
    QTest.qWaitForWindowExposed(w)
    lab = w.labelling
    if not lab.open_project(folder) or not w.open_video(video):
        print(f"FAILED {w.last_error}", flush=True)
        return 2
    p = lab.project
    w.set_skeletons(run(p.iter_skeletons(lab.video, "yolo"), callback=lambda _p: None))
    lab.select_track(track)
    w.view.setFocus()
    QTest.keyClick(w.view, Qt.Key.Key_M)
    app.processEvents()
    edits = [[e.kind, e.track, e.other] for e in p.track_edits(lab.video.id, _key(w.state.skeletons))]
    print(f"COMMITTED merge {json.dumps(edits)}", flush=True)
    w.seek(frame)
    sk = w.state.skeletons
    r = sk.row_of(frame, 3)
    j = int(sk.keypoints[r, :, 2].argmax())
    vp = w.view.viewport()
    p0 = w.view.mapFromScene(QPointF(float(sk.keypoints[r, j, 0]), float(sk.keypoints[r, j, 1])))
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, p0)
    QTest.mouseMove(vp, p0 + QPoint(25, 15))
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, p0 + QPoint(25, 15))
    app.processEvents()
    kps = [[e.frame, e.track, e.joint, e.x, e.y, e.score] for e in p.keypoint_edits(lab.video.id,
                                                                                   _key(w.state.skeletons))]
    print(f"COMMITTED keypoint {json.dumps(kps)}", flush=True)
    while True:  # the parent kills us here
        app.processEvents()
        time.sleep(0.05)


def _key(cache) -> str:
    from core.track_edits import skeleton_key

    return skeleton_key(cache)


if __name__ == "__main__":
    if len(sys.argv) > 3 and sys.argv[3] == "edits":
        sys.exit(edits_main(sys.argv[1], sys.argv[2], int(sys.argv[4]), int(sys.argv[5])))
    sys.exit(main(sys.argv[1:]))
