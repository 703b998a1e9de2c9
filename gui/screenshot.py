"""Take a real screenshot of the main window (for the docs).

Usage (a real X display, e.g. Xvfb; not the offscreen platform)::

    xvfb-run -a -s "-screen 0 1400x900x24" python -m gui.screenshot VIDEO docs/screenshot.png

It opens VIDEO, waits until its skeletons are ready, seeks to the frame with the most tracked people
(or ``--frame N``) and grabs the window from the screen (``QScreen.grabWindow``), so the picture is
what the display server shows, window decorations aside. Prints the Qt platform used.
"""

from __future__ import annotations

import argparse
import os
import sys


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    ap = argparse.ArgumentParser(prog="python -m gui.screenshot", description=__doc__.splitlines()[0])
    ap.add_argument("video")
    ap.add_argument("out")
    ap.add_argument("--frame", type=int, default=None, help="frame to show (default: most tracked people)")
    ap.add_argument("--size", default="1200x800", help="window size WxH")
    ap.add_argument("--backend", default=None, help="pose backend (default: the saved choice, else yolo)")
    ap.add_argument("--timeout", type=float, default=600, help="seconds to wait for the skeletons")
    ap.add_argument("--max-kb", type=int, default=400,
                    help="if the PNG is larger, save it with a 256-colour palette (diffusion dithered)")
    args = ap.parse_args(argv)

    from .app import create_application

    app = create_application([sys.argv[0]])
    from PySide6.QtCore import QEventLoop, QSettings, QTimer
    from PySide6.QtGui import QGuiApplication

    from .main_window import MainWindow

    print(f"Qt platform: {QGuiApplication.platformName()}", file=sys.stderr)
    settings = QSettings()  # the app's settings; nothing is written but the recent-files list
    win = MainWindow(settings, show_dialogs=False)
    w, h = (int(v) for v in args.size.lower().split("x"))
    win.resize(w, h)
    win.show()
    if args.backend:
        win.set_backend(args.backend)

    loop = QEventLoop()
    result: dict = {}
    win.skeletons_ready.connect(lambda c: (result.setdefault("cache", c), loop.quit()))
    win.skeletons_failed.connect(lambda m: (result.setdefault("error", m), loop.quit()))
    if not win.open_video(args.video):
        print(f"error: {win.last_error}", file=sys.stderr)
        return 2
    QTimer.singleShot(int(args.timeout * 1000), loop.quit)
    loop.exec()
    cache = result.get("cache")
    if cache is None:
        print(f"error: skeletons not ready: {result.get('error', 'timeout')}", file=sys.stderr)
        return 2
    frame = args.frame if args.frame is not None else int(cache.persons_per_frame().argmax())
    win.seek(frame)
    win.statusBar().showMessage(
        f"frame {frame}: {len(cache.poses(frame).persons)} people tracked ({win.backend})")
    # let the window manager / X server map and paint everything
    for _ in range(20):
        app.processEvents()
        QTimer.singleShot(50, loop.quit)
        loop.exec()
    screen = win.screen() or QGuiApplication.primaryScreen()
    geo = win.frameGeometry()
    pix = screen.grabWindow(0, geo.x(), geo.y(), geo.width(), geo.height())
    if pix.isNull() or pix.toImage().allGray():
        print("warning: screen grab empty, falling back to rendering the widget", file=sys.stderr)
        pix = win.grab()
    if not pix.save(args.out):
        print(f"error: cannot write {args.out}", file=sys.stderr)
        return 2
    if os.path.getsize(args.out) > args.max_kb * 1024:
        from PySide6.QtCore import Qt
        from PySide6.QtGui import QImage

        small = pix.toImage().convertToFormat(QImage.Format.Format_Indexed8, Qt.ImageConversionFlag.DiffuseDither)
        small.save(args.out, "PNG", 0)
    print(f"wrote {args.out} ({pix.width()}x{pix.height()}, {os.path.getsize(args.out) // 1024} KB), frame {frame}, "
          f"{len(cache.poses(frame).persons)} people", file=sys.stderr)
    win.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
