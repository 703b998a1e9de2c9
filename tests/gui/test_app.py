"""gui.app: the cv2/Qt environment fix and run_app."""

from __future__ import annotations

import os
import sys

import cv2
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from gui.app import APP_NAME, CV2_QT_VARIABLES, prepare_qt_environment, run_app


def test_cv2_qt_variables_are_removed_but_user_values_kept(monkeypatch, tmp_path):
    cv2_dir = os.path.dirname(cv2.__file__)
    monkeypatch.setenv("QT_QPA_PLATFORM_PLUGIN_PATH", os.path.join(cv2_dir, "qt", "plugins"))
    monkeypatch.setenv("QT_QPA_FONTDIR", os.path.join(cv2_dir, "qt", "fonts"))
    assert sorted(prepare_qt_environment()) == sorted(CV2_QT_VARIABLES)
    assert not any(v in os.environ for v in CV2_QT_VARIABLES)
    monkeypatch.setenv("QT_QPA_PLATFORM_PLUGIN_PATH", str(tmp_path))  # the user's own choice
    assert prepare_qt_environment() == []
    assert os.environ["QT_QPA_PLATFORM_PLUGIN_PATH"] == str(tmp_path)


def test_importing_cv2_really_sets_them():
    """The clash the fix is for: ``import cv2`` points Qt at cv2's own plugins."""
    import subprocess

    code = "import os, cv2; print(os.environ.get('QT_QPA_PLATFORM_PLUGIN_PATH', ''))"
    env = {k: v for k, v in os.environ.items() if k not in CV2_QT_VARIABLES}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60).stdout
    if out.strip():  # opencv-python builds with Qt highgui set it; headless builds do not
        assert os.path.realpath(out.strip()).startswith(os.path.realpath(os.path.dirname(cv2.__file__)))
        code2 = ("from gui.app import prepare_qt_environment; import os; prepare_qt_environment(); "
                 "print(os.environ.get('QT_QPA_PLATFORM_PLUGIN_PATH', ''))")
        out2 = subprocess.run([sys.executable, "-c", code2], capture_output=True, text=True, env=env, timeout=60,
                              cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__)))).stdout
        assert out2.strip() == ""


def test_run_app_opens_the_given_file_and_reports_a_bad_one(qapp, tmp_path, monkeypatch, qtbot):
    from PySide6.QtCore import QSettings

    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path))
    seen = {}

    def inspect_then_quit():
        from gui.main_window import MainWindow

        wins = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
        if len(wins) != 1 or wins[0].last_error is None:
            QTimer.singleShot(50, inspect_then_quit)
            return
        seen["error"] = wins[0].last_error
        seen["title"] = wins[0].windowTitle()
        seen["window"] = wins[0]
        # exit() stops the loop at once; quit() or closing the last window would post a Quit event
        # that ends the next test's event loop too
        QApplication.exit(0)

    QTimer.singleShot(50, inspect_then_quit)
    hook = sys.excepthook
    try:
        assert run_app([str(tmp_path / "nope.mp4")]) == 0
    finally:
        QSettings.setDefaultFormat(QSettings.Format.NativeFormat)
    assert sys.excepthook is hook
    seen["window"].close()
    qtbot.wait(10)
    assert "video not found" in seen["error"] and seen["title"] == "PoseWatch"
    assert QApplication.applicationName() == APP_NAME
