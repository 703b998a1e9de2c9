"""MainWindow with real videos, the real YOLO-pose model and real classifier checkpoints (offscreen Qt)."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from core.classify import Checkpoint, TrackClassifier, save_checkpoint
from core.overlay import NO_MODEL, OverlayOptions, draw_overlay
from core.video import open_source

KEY = Qt.Key
SHIFT = Qt.KeyboardModifier.ShiftModifier


def press(qtbot, window, key, modifier=Qt.KeyboardModifier.NoModifier):
    """Type a key the way a user does: into the widget that has the focus."""
    qtbot.keyClick(window.focusWidget() or window, key, modifier)


def dismiss_message(qtbot, window):
    """Click OK in the error box, as a user would, and return to the player window."""
    box = window.message_box
    assert box is not None and box.isVisible()
    qtbot.mouseClick(box.button(box.StandardButton.Ok), Qt.MouseButton.LeftButton)
    assert not box.isVisible()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=2000)


def tracked_frame(cache, track_id: int | None = None, near: int = 100) -> tuple[int, object]:
    """A frame close to ``near`` with exactly one confidently tracked person, and that person."""
    counts = cache.persons_per_frame()
    order = sorted(range(cache.frame_count), key=lambda f: abs(f - near))
    for f in order:
        if counts[f] == 1:
            p = cache.poses(f).persons[0]
            if p.score > 0.8 and (track_id is None or p.track_id == track_id):
                return f, p
    pytest.fail("no frame with one confidently tracked person")


def label_box_width(diff: np.ndarray, person) -> int:
    """Width of the changed run of pixels in the label box (the rows just above the person's box)."""
    x1, y1 = int(person.bbox[0]), int(person.bbox[1])
    band = diff[max(0, y1 - 8):max(1, y1 - 2), :]
    cols = np.flatnonzero(band.any(axis=0))
    cols = cols[cols >= x1 - 1]
    if not len(cols):
        return 0
    # the contiguous run starting at the box's left edge
    run = np.split(cols, np.flatnonzero(np.diff(cols) > 1) + 1)[0]
    return int(run[-1] - run[0] + 1)


def make_checkpoint(path, seed=0):
    from models import build_model

    import torch

    torch.manual_seed(seed)
    m = build_model("lstm", {"num_classes": 2})
    save_checkpoint(Checkpoint("lstm", {"num_classes": 2}, ["normal", "fall"], 16, 16, "hip_torso", m.state_dict()), path)
    return path


# ------------------------------------------------------------------------------------------- (a)
def test_overlay_is_drawn_on_the_tracked_person_and_layers_toggle_off(fall04_window, fall04, qtbot):
    w = fall04_window
    cache = w.skeletons
    assert cache is not None and cache.frame_count == w.frame_count == 288
    assert w.progress_bar.isHidden() and not w.is_extracting
    f, person = tracked_frame(cache)
    assert w.seek(f) and w.current_frame_index == f

    raw = open_source(fall04).read(f).image
    assert np.array_equal(w.current_frame().image, raw)
    shown = w.current_image()
    assert shown.shape == raw.shape
    # what the view really holds is the overlaid image
    assert np.array_equal(w.view.pixmap_bgr(), shown)
    # ... which is exactly core's overlay with "no model" (no classifier loaded)
    assert w.current_labels is None
    assert np.array_equal(shown, draw_overlay(raw, cache.poses(f), None, OverlayOptions()))

    diff = np.any(shown != raw, axis=2)
    x1, y1, x2, y2 = (int(v) for v in person.bbox)
    h, wd = diff.shape
    # box edges: (nearly) every pixel along the left, right and bottom edges changed
    rows = np.arange(y1 + 5, min(y2 - 5, h))
    cols = np.arange(x1 + 5, min(x2 - 5, wd))
    for edge in (diff[rows][:, max(0, x1 - 2):x1 + 3], diff[rows][:, max(0, x2 - 2):min(wd, x2 + 3)],
                 diff[max(0, y2 - 2):min(h, y2 + 3)][:, cols].T):
        assert edge.any(axis=1).mean() > 0.95
    # keypoints: every confident joint is marked
    for x, y, s in person.keypoints:
        if s >= OverlayOptions().min_score:
            xi, yi = int(x), int(y)
            assert diff[max(0, yi - 2):yi + 3, max(0, xi - 2):xi + 3].any(), (x, y)
    # nothing changed away from the person: outside the box (+ margin for joints and the label above)
    far = np.ones_like(diff)
    far[max(0, y1 - 40):min(h, y2 + 15), max(0, x1 - 15):] = False
    assert not diff[far].any()
    # the label box "#<id> no model" sits on the box's top edge, and it is wider than "#<id>" alone
    with_label = label_box_width(diff, person)
    assert with_label > 40
    press(qtbot, w, KEY.Key_L)  # labels off
    assert not w.overlay_options.labels
    id_only = label_box_width(np.any(w.current_image() != raw, axis=2), person)
    assert 8 < id_only < with_label
    assert np.array_equal(w.current_image(),
                          draw_overlay(raw, cache.poses(f), None, OverlayOptions(labels=False)))

    # all layers off with their shortcuts -> the displayed image is the decoded frame, pixel for pixel
    for key in (KEY.Key_S, KEY.Key_B, KEY.Key_T):
        assert not np.array_equal(w.current_image(), raw)
        press(qtbot, w, key)
    o = w.overlay_options
    assert not (o.skeleton or o.boxes or o.ids or o.labels)
    assert np.array_equal(w.current_image(), raw)
    assert np.array_equal(w.view.pixmap_bgr(), raw)
    # and back on
    for key in (KEY.Key_S, KEY.Key_B, KEY.Key_T, KEY.Key_L):
        press(qtbot, w, key)
    assert np.array_equal(w.current_image(), shown)


# ------------------------------------------------------------------------------------------- (b)
def test_keyboard_seeking_shows_the_exact_frames(window, qtbot, fall04, fall04_skeletons):
    assert window.open_video(fall04)
    window.set_overlay(skeleton=False, boxes=False, ids=False, labels=False)  # compare raw frames
    ref = open_source(fall04)
    fps, n = ref.info.fps, ref.info.frame_count
    one_s = int(round(fps))
    assert window.frame_count == n and window.current_frame_index == 0

    def check(expected):
        # the index moves at once; a step that needs decoding (back, or a second on) shows its picture when decoded
        assert window.current_frame_index == expected
        assert window.slider.value() == expected and window.frame_box.value() == expected
        qtbot.waitUntil(lambda: not window.state.seeking, timeout=10_000)
        assert np.array_equal(window.current_image(), ref.read(expected).image), expected

    check(0)
    steps = [((KEY.Key_Right,), 1), ((KEY.Key_Right,), 2), ((KEY.Key_Left,), 1),
             ((KEY.Key_Right, SHIFT), 1 + one_s), ((KEY.Key_Right, SHIFT), 1 + 2 * one_s),
             ((KEY.Key_Left, SHIFT), 1 + one_s), ((KEY.Key_End,), n - 1), ((KEY.Key_Right,), n - 1),
             ((KEY.Key_Left,), n - 2), ((KEY.Key_Home,), 0), ((KEY.Key_Left,), 0),
             ((KEY.Key_Left, SHIFT), 0), ((KEY.Key_Right, SHIFT), one_s)]
    for keys, expected in steps:
        press(qtbot, window, *keys)
        check(expected)
    assert np.array_equal(window.view.pixmap_bgr(), ref.read(one_s).image)
    assert window.time_label.text() == f"00:01.000 / 00:{n / fps:06.3f}"

    # type a frame number: Ctrl+G focuses the frame box, Enter seeks
    press(qtbot, window, KEY.Key_G, Qt.KeyboardModifier.ControlModifier)
    assert window.focusWidget() is window.frame_box
    qtbot.keyClicks(window.frame_box, "150")
    qtbot.keyClick(window.frame_box, KEY.Key_Return)
    check(150)
    assert window.focusWidget() is window.view  # keys go back to the player
    # the seek slider
    window.slider.setValue(77)
    check(77)
    ref.close()


def test_playback_speed_and_pause(window, qtbot, fall04, fall04_skeletons):
    assert window.open_video(fall04)
    press(qtbot, window, KEY.Key_BracketRight)
    assert window.speed == 1.5 and window.speed_box.currentText() == "1.5×"
    press(qtbot, window, KEY.Key_BracketLeft)
    press(qtbot, window, KEY.Key_BracketLeft)
    assert window.speed == 0.75
    window.set_speed(4.0)
    press(qtbot, window, KEY.Key_BracketRight)  # clamped at the top
    assert window.speed == 4.0
    press(qtbot, window, KEY.Key_Space)
    assert window.is_playing
    qtbot.waitUntil(lambda: window.current_frame_index >= 20, timeout=5000)
    press(qtbot, window, KEY.Key_Space)
    assert not window.is_playing
    stopped = window.current_frame_index
    qtbot.wait(200)
    assert window.current_frame_index == stopped
    # playing to the end stops there
    window.seek(window.frame_count - 5)
    window.play()
    qtbot.waitUntil(lambda: not window.is_playing, timeout=5000)
    assert window.current_frame_index == window.frame_count - 1


# ------------------------------------------------------------------------------------------- (c)
def test_bad_inputs_give_one_line_messages_and_the_window_stays_usable(window, qtbot, tmp_path, fall04, fall04_skeletons):
    rng = np.random.default_rng(0)
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(rng.integers(0, 256, 200_000, dtype=np.uint8).tobytes())
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    text = tmp_path / "notes.txt"
    text.write_text("not a video")
    no_frames = tmp_path / "no_frames"
    no_frames.mkdir()
    cases = [
        (tmp_path / "missing.mp4", "not found"),
        (corrupt, "corrupt"),
        (empty, "empty"),
        (text, "unsupported file type"),
        (no_frames, "no frame images"),
    ]
    for path, phrase in cases:
        with qtbot.waitSignal(window.error_reported, timeout=5000) as sig:
            assert window.open_video(path) is False
        msg = sig.args[0]
        assert phrase in msg and "\n" not in msg and "Traceback" not in msg
        assert window.statusBar().currentMessage() == msg == window.last_error
        assert window.message_box is not None and window.message_box.isVisible()
        assert window.message_box.text() == msg
        assert not window.message_box.isModal()
        assert window.video_path is None and window.current_image() is None
    # still usable: a good video opens and plays
    dismiss_message(qtbot, window)
    assert window.open_video(fall04)
    window.seek(9)
    press(qtbot, window, KEY.Key_Right)
    assert window.current_frame_index == 10
    # a bad file afterwards keeps the good video open
    assert not window.open_video(corrupt)
    assert window.video_path == str(fall04) and window.current_frame_index == 10


def test_truncated_video_reports_where_it_ends(window, qtbot, tmp_path, fall04):
    """The second half of the file is cut off: stepping into the missing part gives a message and
    the seek range shrinks to the frames that exist."""
    cut = tmp_path / "cut.mp4"
    data = fall04.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    assert window.open_video(cut)  # the header (moov) is at the start, so it opens
    window.cancel_skeletons()
    announced = window.frame_count
    errors = []
    window.error_reported.connect(errors.append)
    # a seek that does not wait (the slider, the frame box) past the decodable end: the message comes when the
    # decoder gives up, and the frame shown before comes back
    window.seek(announced - 1, wait=False)
    assert window.current_frame_index == announced - 1
    qtbot.waitUntil(lambda: bool(errors), timeout=10_000)
    assert "cannot be decoded" in errors[0] and "\n" not in errors[0]
    assert window.current_frame_index == 0 and not window.state.seeking
    dismiss_message(qtbot, window)
    errors.clear()
    window.seek(announced // 2 - 20)
    for _ in range(40):
        press(qtbot, window, KEY.Key_Right)
        if errors:
            break
    assert errors and "truncated" in errors[0] and "\n" not in errors[0]
    assert window.frame_count < announced
    last = window.frame_count - 1
    assert window.current_frame_index == last and window.slider.maximum() == last
    press(qtbot, window, KEY.Key_Left)
    assert window.current_frame_index == last - 1


def test_corrupt_pose_model_is_reported_and_video_still_plays(window, qtbot, tmp_path, monkeypatch, fall04):
    models = tmp_path / "models"
    models.mkdir()
    (models / "yolo11n-pose.pt").write_bytes(b"\0" * 4096)
    monkeypatch.setenv("POSEWATCH_MODEL_DIR", str(models))
    monkeypatch.setenv("POSEWATCH_CACHE_DIR", str(tmp_path / "cache"))
    with qtbot.waitSignal(window.skeletons_failed, timeout=60_000) as sig:
        assert window.open_video(fall04)
    assert "yolo11n-pose.pt" in sig.args[0]
    assert "yolo11n-pose.pt" in window.statusBar().currentMessage()
    assert window.message_box.isVisible()
    assert window.skeletons is None and not window.is_extracting and window.progress_bar.isHidden()
    dismiss_message(qtbot, window)
    press(qtbot, window, KEY.Key_Right)
    assert window.current_frame_index == 1


def test_recent_files_and_drag_and_drop(window, qtbot, tmp_path, fall04, fall04_skeletons, settings):
    gone = tmp_path / "gone.mp4"
    gone.write_bytes(b"x")
    window.add_recent_file(str(gone))
    for i in range(12):
        window.add_recent_file(str(tmp_path / f"v{i}.mp4"))
    assert len(window.recent_files()) == 10
    window.add_recent_file(str(gone))
    gone.unlink()
    assert window.recent_files()[0] == str(gone)
    assert not window.open_recent(str(gone))
    assert str(gone) not in window.recent_files()
    assert "removed from recent files" in window.statusBar().currentMessage()
    # the menu lists the files
    window.rebuild_recent_menu()
    texts = [a.text() for a in window.recent_menu.actions()]
    assert any("v11.mp4" in t for t in texts)

    # drop a video onto the window
    md = QMimeData()
    md.setUrls([QUrl.fromLocalFile(str(fall04))])
    ev = QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, md, Qt.MouseButton.LeftButton,
                    Qt.KeyboardModifier.NoModifier)
    window.dropEvent(ev)
    qtbot.waitUntil(lambda: window.video_path == str(fall04), timeout=5000)
    assert window.recent_files()[0] == os.path.abspath(fall04)
    settings.sync()
    assert str(fall04) in settings.value("recent_files")


# ------------------------------------------------------------------------------------------- (d)
def test_classifier_labels_replace_no_model(fall04_window, qtbot, tmp_path, fall04):
    w = fall04_window
    cache = w.skeletons
    f, person = tracked_frame(cache)
    w.seek(f)
    raw = w.current_frame().image
    no_model = w.current_image().copy()
    assert w.current_labels is None

    ckpt = make_checkpoint(tmp_path / "clf.pt")
    with qtbot.waitSignal(w.classifier_changed, timeout=10_000):
        assert w.load_classifier(ckpt)
    assert w.classifier is not None
    expected = TrackClassifier(ckpt).labels_for_frame(cache, f)
    assert set(expected) == {p.track_id for p in cache.poses(f).persons}
    got = w.current_labels
    assert got is not None and set(got) == set(expected)
    for tid, lab in expected.items():
        assert got[tid].name == lab.name and got[tid].name in ("normal", "fall")
        assert got[tid].prob == pytest.approx(lab.prob, abs=1e-5)
    shown = w.current_image()
    assert np.array_equal(shown, draw_overlay(raw, cache.poses(f), got, OverlayOptions()))
    # only the label text changed: the pixels differ from the "no model" image, and only in the label box
    changed = np.any(shown != no_model, axis=2)
    assert changed.any()
    ys = np.flatnonzero(changed.any(axis=1))
    assert ys.max() <= int(person.bbox[1]) + 1
    assert NO_MODEL not in {lab.name for lab in got.values()}
    # labels follow the frame
    w.step(1)
    assert set(w.current_labels) == set(TrackClassifier(ckpt).labels_for_frame(cache, f + 1))

    # unload -> "no model" again
    w.seek(f)
    w.unload_classifier()
    assert w.classifier is None and w.current_labels is None
    assert np.array_equal(w.current_image(), no_model)

    # a corrupt checkpoint and a foreign .pt file are reported; nothing is loaded
    bad = tmp_path / "bad.pt"
    bad.write_bytes(np.random.default_rng(1).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    assert not w.load_classifier(bad)
    assert "corrupt" in w.last_error and w.statusBar().currentMessage() == w.last_error
    import torch

    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(3)}, foreign)
    assert not w.load_classifier(foreign)
    assert "not a PoseWatch classifier" in w.last_error
    assert not w.load_classifier(tmp_path / "missing.pt")
    assert "not found" in w.last_error
    assert w.classifier is None and w.current_labels is None
    assert np.array_equal(w.current_image(), no_model)


# ------------------------------------------------------------------------------------------- background work
def test_backend_switch_recomputes_skeletons_in_background(window, qtbot, short_clip, fall04_skeletons):
    assert window.open_video(short_clip)
    # switching straight away cancels the yolo job; mediapipe skeletons arrive instead
    with qtbot.waitSignal(window.skeletons_ready, timeout=120_000) as sig:
        window.backend_box.setCurrentText("mediapipe")
        assert window.backend == "mediapipe" and window.is_extracting
        assert window.progress_bar.isVisible() and window.cancel_button.isVisible()
        # the video is playable while skeletons are computed
        press(qtbot, window, KEY.Key_Right)
        assert window.current_frame_index == 1
    cache = sig.args[0]
    assert cache is window.skeletons and cache.layout == "mediapipe33"
    assert cache.frame_count == window.frame_count
    assert window.progress_bar.isHidden()
    assert window.settings.value("backend") == "mediapipe"


def test_cancel_extraction(window, qtbot, pets_clip, fall04_skeletons):
    assert window.open_video(pets_clip)  # 795 frames: extraction takes a while
    qtbot.waitUntil(lambda: window.progress_bar.maximum() > 0, timeout=60_000)  # frames are being processed
    qtbot.mouseClick(window.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.is_extracting, timeout=30_000)
    assert window.skeletons is None and window.progress_bar.isHidden()
    assert "cancelled" in window.statusBar().currentMessage()
    press(qtbot, window, KEY.Key_End)
    assert window.current_frame_index == window.frame_count - 1
    assert np.array_equal(window.current_image(), window.current_frame().image)  # no overlay


def test_frames_folder_dropped_on_the_window_plays(window, qtbot, tmp_path, fall04, fall04_skeletons):
    import cv2

    folder = tmp_path / "frames"
    folder.mkdir()
    ref = open_source(fall04)
    for i in range(6):  # natural order: f2 before f10
        cv2.imwrite(str(folder / f"f{i * 4}.png"), ref.read(i).image)
    md = QMimeData()
    md.setUrls([QUrl.fromLocalFile(str(folder))])
    window.dropEvent(QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, md, Qt.MouseButton.LeftButton,
                                Qt.KeyboardModifier.NoModifier))
    qtbot.waitUntil(lambda: window.video_path == str(folder), timeout=5000)
    # the skeleton job either finishes or fails with one line; the player works regardless
    qtbot.waitUntil(lambda: not window.is_extracting, timeout=120_000)
    if window.skeletons is None:
        assert window.last_error and "\n" not in window.last_error
        dismiss_message(qtbot, window)
    window.set_overlay(skeleton=False, boxes=False, ids=False, labels=False)
    assert window.video_info.kind == "folder" and window.frame_count == 6
    press(qtbot, window, KEY.Key_End)
    assert window.current_frame_index == 5
    assert np.array_equal(window.current_image(), cv2.imread(str(folder / "f20.png")))
