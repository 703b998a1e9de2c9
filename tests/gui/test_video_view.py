"""VideoView: BGR frames shown without colour swaps, zoom and fit."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent

from gui.video_view import VideoView, bgr_to_qimage, qimage_to_bgr


def test_bgr_round_trip_keeps_channel_order():
    img = np.zeros((5, 7, 3), np.uint8)
    img[..., 0] = 255  # pure blue in BGR
    img[2, 3] = (1, 2, 3)
    q, buf = bgr_to_qimage(img[:, :7])
    assert q.width() == 7 and q.height() == 5
    assert q.pixelColor(0, 0).blue() == 255 and q.pixelColor(0, 0).red() == 0
    c = q.pixelColor(3, 2)
    assert (c.blue(), c.green(), c.red()) == (1, 2, 3)
    assert np.array_equal(qimage_to_bgr(q), img)
    # a non-contiguous view (odd width, cropped) is copied to a contiguous buffer first
    crop = np.random.default_rng(0).integers(0, 256, (9, 13, 3), dtype=np.uint8)[1:8, 2:11]
    q2, buf2 = bgr_to_qimage(crop)
    assert buf2.flags.c_contiguous and np.array_equal(qimage_to_bgr(q2), crop)
    with pytest.raises(ValueError):
        bgr_to_qimage(np.zeros((4, 4, 3), np.float32))


def test_view_shows_frames_zooms_and_fits(qtbot):
    v = VideoView()
    qtbot.addWidget(v)
    v.resize(400, 300)
    v.show()
    qtbot.waitExposed(v)
    img = np.random.default_rng(1).integers(0, 256, (720, 406, 3), dtype=np.uint8)
    v.set_image(img)
    assert np.array_equal(v.pixmap_bgr(), img)
    assert v.fit_mode
    fitted = v.zoom
    assert fitted == pytest.approx(min(v.viewport().width() / 406, v.viewport().height() / 720), rel=0.05)
    v.zoom_in()
    assert not v.fit_mode and v.zoom == pytest.approx(fitted * 1.25)
    v.zoom_out()
    v.zoom_out()
    assert v.zoom == pytest.approx(fitted / 1.25)
    ev = QWheelEvent(QPointF(100, 100), QPointF(100, 100), QPoint(0, 0), QPoint(0, 240), Qt.MouseButton.NoButton,
                     Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    v.wheelEvent(ev)
    assert v.zoom == pytest.approx(fitted * 1.25, rel=1e-6)
    v.set_zoom(1000)
    assert v.zoom == pytest.approx(32.0)
    v.fit()
    assert v.fit_mode and v.zoom == pytest.approx(fitted)
    v.resize(800, 600)  # fit mode follows the window
    qtbot.waitUntil(lambda: v.zoom > fitted * 1.5, timeout=2000)
    v.set_image(None)
    assert v.pixmap_bgr() is None and v.image() is None


def test_zoom_shortcuts_in_the_window(window, qtbot, fall04, fall04_skeletons):
    assert window.open_video(fall04)
    window.cancel_skeletons()
    v = window.view
    fitted = v.zoom
    qtbot.keyClick(v, Qt.Key.Key_Equal, Qt.KeyboardModifier.ControlModifier)
    assert v.zoom == pytest.approx(fitted * 1.25) and not v.fit_mode
    qtbot.keyClick(v, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(v, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    assert v.zoom == pytest.approx(fitted / 1.25)
    qtbot.keyClick(v, Qt.Key.Key_F)
    assert v.fit_mode and v.zoom == pytest.approx(fitted)
    qtbot.keyClick(v, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert v.zoom == pytest.approx(1.0)
    qtbot.keyClick(v, Qt.Key.Key_0, Qt.KeyboardModifier.ControlModifier)
    assert v.fit_mode and v.zoom == pytest.approx(fitted)
