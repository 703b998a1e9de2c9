"""Take a real screenshot of the main window (for the docs).

Usage (a real X display, e.g. Xvfb; not the offscreen platform)::

    xvfb-run -a -s "-screen 0 1400x900x24" python -m gui.screenshot VIDEO docs/screenshot.png

It opens VIDEO, waits until its skeletons are ready, seeks to the frame with the most tracked people
(or ``--frame N``), waits for the labels of the classifier the settings restore (the shipped fight model on a
fresh install; it computes the video's optical flow first), and grabs the window from the screen
(``QScreen.grabWindow``), so the picture is what the display server shows, window decorations aside. Prints the
Qt platform used.

The labelling window: ``--project DIR`` opens (or creates) a labelling project first, so VIDEO joins
it; ``--demo-clips`` adds a few example clips (whole frame and on the most-seen person, one with a
crop) when the project has none, selects the person's clip and marks an in/out range::

    xvfb-run -a -s "-screen 0 1400x900x24" python -m gui.screenshot VIDEO docs/screenshot_labelling.png \
        --project /tmp/demo_project --demo-clips --frame 190
"""

from __future__ import annotations

import argparse
import os
import sys
import time


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
    ap.add_argument("--project", default=None, help="open or create this labelling project first")
    ap.add_argument("--demo-clips", action="store_true", help="add example clips to an empty project")
    ap.add_argument("--suggest", default=None, metavar="MODEL",
                    help="with --project: load this classifier (a path or a shipped name such as fall), wait for "
                         "its suggestions and select the first (the player shows its first frame unless --frame)")
    args = ap.parse_args(argv)

    from .app import create_application, wait_for_workers_at_exit

    app = create_application([sys.argv[0]])
    wait_for_workers_at_exit()
    from PySide6.QtCore import QEventLoop, QSettings, QTimer
    from PySide6.QtGui import QGuiApplication

    from .main_window import MainWindow

    print(f"Qt platform: {QGuiApplication.platformName()}", file=sys.stderr)
    if args.suggest:  # a loaded classifier is remembered in the settings: a throw-away file, not the user's
        import tempfile

        settings = QSettings(os.path.join(tempfile.mkdtemp(prefix="pw-shot-"), "s.ini"), QSettings.Format.IniFormat)
    else:
        settings = QSettings()  # the app's settings; nothing is written but the recent-files list
    win = MainWindow(settings, show_dialogs=False)
    w, h = (int(v) for v in args.size.lower().split("x"))
    win.resize(w, h)
    win.show()
    if args.backend:
        win.set_backend(args.backend)
    if args.project:
        from pathlib import Path

        ok = (win.labelling.open_project(args.project) if (Path(args.project) / "project.sqlite").exists()
              else win.labelling.new_project(args.project))
        if not ok:
            print(f"error: {win.last_error}", file=sys.stderr)
            return 2

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
    if args.project and args.demo_clips:
        add_demo_clips(win, cache, frame)
    win.seek(frame)
    # a classifier restored from the settings: its labels, not "…" while they are pending (the fight model computes
    # the video's optical flow first, in the background)
    end = time.monotonic() + args.timeout

    from .main_window import CLASSIFIER_KEY

    wants_model = str(settings.value(CLASSIFIER_KEY, "") or "") != "none"  # unset: the shipped default is loaded

    def pending() -> bool:
        if wants_model and win.classifier is None:
            return not win.last_error  # still loading (a bad checkpoint is reported instead)
        return win.classifier is not None and not win.current_labels and bool(cache.poses(frame).persons)

    while pending() and time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)
    if args.project and args.suggest:
        from pathlib import Path

        from core.defaults import default_classifier_path

        model = args.suggest if Path(args.suggest).is_file() else default_classifier_path(args.suggest)
        S = win.suggestions
        S.computing_changed.connect(lambda on: None if on else loop.quit())
        if not win.load_classifier(model):
            print(f"error: {win.last_error}", file=sys.stderr)
            return 2
        if S.is_computing:
            QTimer.singleShot(int(args.timeout * 1000), loop.quit)
            loop.exec()
        if not S.suggestions:
            print(f"error: no suggestions from {model}", file=sys.stderr)
            return 2
        S.select(S.suggestions[0].id, seek=args.frame is None)
        frame = win.current_frame_index
    else:
        win.statusBar().showMessage(
            f"frame {frame}: {len(cache.poses(frame).persons)} people tracked ({win.backend})")
    # let the window manager / X server map and paint everything
    for _ in range(20):
        app.processEvents()
        QTimer.singleShot(50, loop.quit)
        loop.exec()
    pix = grab_window(win)
    if not save_png(pix, args.out, args.max_kb):
        print(f"error: cannot write {args.out}", file=sys.stderr)
        return 2
    print(f"wrote {args.out} ({pix.width()}x{pix.height()}, {os.path.getsize(args.out) // 1024} KB), frame {frame}, "
          f"{len(cache.poses(frame).persons)} people", file=sys.stderr)
    win.close()
    return 0


def grab_window(win):
    """The window as the screen shows it, frame included (a ``QPixmap``); when the screen grab is empty (no
    compositor) the widget's own rendering, with a warning on stderr."""
    from PySide6.QtGui import QGuiApplication

    screen = win.screen() or QGuiApplication.primaryScreen()
    geo = win.frameGeometry()
    pix = screen.grabWindow(0, geo.x(), geo.y(), geo.width(), geo.height())
    if pix.isNull() or pix.toImage().allGray():
        print("warning: screen grab empty, falling back to rendering the widget", file=sys.stderr)
        pix = win.grab()
    return pix


def save_png(pix, out: str, max_kb: int) -> bool:
    """Save ``pix`` as PNG at ``out``; above ``max_kb`` KB, save it again as a dithered 8-bit palette PNG.
    Returns False when the file cannot be written."""
    if not pix.save(out):
        return False
    if os.path.getsize(out) > max_kb * 1024:
        from PySide6.QtCore import Qt
        from PySide6.QtGui import QImage

        small = pix.toImage().convertToFormat(QImage.Format.Format_Indexed8, Qt.ImageConversionFlag.DiffuseDither)
        small.save(out, "PNG", 0)
    return True


def add_demo_clips(win, cache, frame: int) -> None:
    """A few example clips around ``frame`` (if the project has none): whole-frame clips before and
    over it, clips of the most-seen person (one following the person with a crop); the person's
    clip is selected and an in/out range is marked after it."""
    import numpy as np

    from core.project import Crop

    lab = win.labelling
    n = win.frame_count
    if lab.video is None or lab.clips():
        return
    tids, counts = np.unique(cache.track_id, return_counts=True)
    tid = int(tids[counts.argmax()]) if len(tids) else None
    a, b = max(0, frame - 20), min(n - 1, frame + 25)
    lab.commit_clip(0, max(0, a - 12), "normal", track_id=None)
    lab.commit_clip(a, b, "fall", track_id=None)
    if tid is not None:
        lab.commit_clip(max(0, a - 90), max(0, a - 30), "normal", track_id=tid)
        clip = lab.commit_clip(a - 5, b + 5, "fall", track_id=tid)
        lab.set_crop(Crop("track", None, 0.25), clip.id)
        lab.select_track(tid)
        lab.select_clip(clip.id)
    lab.mark_in(min(n - 1, b + 20))
    lab.mark_out(min(n - 1, b + 45))
    lab.docks["labels"].raise_()  # the taxonomy with its colours and hotkeys


if __name__ == "__main__":
    sys.exit(main())
