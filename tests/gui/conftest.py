"""Fixtures for the GUI tests (pytest-qt, offscreen; see ``tests/conftest.py`` for data and models)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gui.app import prepare_qt_environment
from tests.conftest import shared_path

# Undo cv2's Qt plugin-path variables before pytest-qt creates the QApplication.
prepare_qt_environment()


class LatencyProbe:
    """A 10 ms QTimer on the GUI thread; ``max_gap_ms`` is the longest time between two ticks (event-loop
    responsiveness during background work)."""

    def __init__(self):
        from PySide6.QtCore import QElapsedTimer, Qt, QTimer

        self.timer = QTimer()
        self.timer.setInterval(10)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.clock = QElapsedTimer()
        self.max_gap_ms = 0
        self.ticks = 0
        self.timer.timeout.connect(self._tick)

    def start(self) -> "LatencyProbe":
        self.clock.start()
        self.timer.start()
        return self

    def _tick(self):
        gap = self.clock.restart()
        self.ticks += 1
        self.max_gap_ms = max(self.max_gap_ms, gap)

    def stop(self):
        self.timer.stop()


@pytest.fixture
def settings(tmp_path):
    """A private QSettings (INI file in tmp_path), so tests never touch the user's settings."""
    from PySide6.QtCore import QSettings

    return QSettings(str(tmp_path / "posewatch.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def window(qtbot, settings):
    """A shown MainWindow with no classifier (the user chose "Unload classifier"): the overlay says
    "no model" until a test loads one. The shipped default that a fresh install loads is covered by
    ``test_default_classifier.py``. Afterwards the window is closed and its background workers are waited for."""
    from gui.main_window import CLASSIFIER_KEY, MainWindow
    from gui.workers import wait_for_all

    settings.setValue(CLASSIFIER_KEY, "none")
    w = MainWindow(settings)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    w.activateWindow()
    yield w
    w.close()
    assert wait_for_all(60_000), "a background worker did not stop"


@pytest.fixture
def fall04_window(window, qtbot, fall04, fall04_skeletons):
    """The window with Fall04 open and its skeletons ready (cache computed once per session)."""
    with qtbot.waitSignal(window.skeletons_ready, timeout=180_000):
        assert window.open_video(fall04)
    return window


@pytest.fixture(scope="session")
def short_clip() -> Path:
    """A ~2 s CCTV clip (640x360, 20 fps, 44 frames) that no other test extracts."""
    return shared_path("data", "videos", "fight", "fi007.mp4")
