"""Application entry point: ``run_app(files)`` creates the QApplication and the main window.

OpenCV and Qt clash: ``import cv2`` (opencv-python) points ``QT_QPA_PLATFORM_PLUGIN_PATH`` and
``QT_QPA_FONTDIR`` at the Qt build bundled inside the ``cv2`` package. PySide6 would then load cv2's
platform plugins, which do not match its own Qt, and a real window fails to open (offscreen tests
still pass). :func:`prepare_qt_environment` imports cv2 first and removes those variables again; it
must run before the QApplication is created.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from core.errors import one_line

APP_NAME = "PoseWatch"
ORG_NAME = "PoseWatch"
ORG_DOMAIN = "posewatch.local"

#: Environment variables that ``import cv2`` sets to folders inside its own package.
CV2_QT_VARIABLES = ("QT_QPA_PLATFORM_PLUGIN_PATH", "QT_QPA_FONTDIR")

log = logging.getLogger(__name__)


def prepare_qt_environment() -> list[str]:
    """Import cv2, then drop the Qt variables it set to point inside its own package.

    Variables the user set to other folders are kept. Safe to call more than once.

    Returns:
        The names of the variables removed.
    """
    import cv2  # noqa: F401  (import for its side effect on os.environ, which we undo)

    cv2_dir = os.path.realpath(os.path.dirname(cv2.__file__))
    removed = []
    for name in CV2_QT_VARIABLES:
        value = os.environ.get(name)
        if not value:
            continue
        real = os.path.realpath(value)
        if real == cv2_dir or real.startswith(cv2_dir + os.sep):
            del os.environ[name]
            removed.append(name)
    return removed


def create_application(argv: list[str] | None = None):
    """Return the QApplication (creating it if needed) with the names QSettings uses."""
    prepare_qt_environment()
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        app = QApplication(argv if argv is not None else [sys.argv[0]])
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(ORG_NAME)
    app.setOrganizationDomain(ORG_DOMAIN)
    from core import __version__

    app.setApplicationVersion(__version__)
    return app


def wait_for_workers_at_exit() -> None:
    """For a tool that never runs the event loop (the screenshot tools): at interpreter exit, wait for the
    background workers still running (a classifier the settings restore, skeletons), or a QThread is destroyed
    while running and the process aborts. :func:`run_app` waits when its event loop ends."""
    import atexit

    from .workers import wait_for_all

    atexit.register(wait_for_all, 60_000)


def run_app(files: list[str]) -> int:
    """Open the PoseWatch window, open the first of ``files`` (if any) and run the event loop.

    Args:
        files: video files or frame folders given on the command line; the first is opened (one
            video is open at a time).

    Returns:
        The exit status of the Qt event loop.
    """
    os.environ.setdefault("YOLO_VERBOSE", "False")
    app = create_application()
    from PySide6.QtCore import QTimer

    from .main_window import MainWindow

    window = MainWindow()
    window.show()

    def report_unexpected(exc_type, exc, tb):
        # A bug in a slot must not kill the app or leave a silent window: log it, show one line.
        log.error("unexpected error", exc_info=(exc_type, exc, tb))
        first = one_line(exc, 200)
        window.report_error(f"unexpected error: {exc_type.__name__}: {first}")

    previous_hook = sys.excepthook
    sys.excepthook = report_unexpected

    paths = [str(Path(f)) for f in files if f]
    if paths:
        QTimer.singleShot(0, lambda: window.open_video(paths[0]))
    try:
        return int(app.exec())
    finally:
        sys.excepthook = previous_hook
        from .workers import wait_for_all

        wait_for_all()  # never let a running QThread be destroyed at exit
