"""Take a real screenshot of the live-detection window (for the docs).

Usage (a real X display, e.g. Xvfb; not the offscreen platform)::

    xvfb-run -a -s "-screen 0 1400x900x24" python -m gui.screenshot_live VIDEO docs/screenshot_live.png

``docs/screenshot_live.png`` is ``VIDEO = shared/data/videos/fall/aswinajith_falling.mp4`` with
``--after 3``.

It plays VIDEO as a camera in a :class:`gui.live_view.LiveWindow` with the shipped fall classifier (or
``--model``), from ``--start-frame``, every frame processed (``--paced`` plays it at its frame rate
instead), waits for the first alert, ``--after`` more frames and then a frame whose largest person has
an abnormal label (``--any-frame``: no such condition), and grabs the window from the screen while the
detector is still running. Alert files go to a temporary folder. Prints what it saw.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    ap = argparse.ArgumentParser(prog="python -m gui.screenshot_live", description=__doc__.splitlines()[0])
    ap.add_argument("video")
    ap.add_argument("out")
    ap.add_argument("--model", default="fall", help="fall, abnormal, a checkpoint path, or none")
    ap.add_argument("--start-frame", type=int, default=0)
    ap.add_argument("--after", type=int, default=12, help="frames to wait after the first alert")
    ap.add_argument("--any-frame", dest="largest_abnormal", action="store_false",
                    help="grab the first frame --after frames after the alert (default: the first such frame "
                         "whose largest person has an abnormal label)")
    ap.add_argument("--paced", action="store_true", help="play the file at its frame rate (may drop frames)")
    ap.add_argument("--size", default="1280x800", help="window size WxH")
    ap.add_argument("--timeout", type=float, default=600, help="seconds to wait for the alert")
    ap.add_argument("--max-kb", type=int, default=400,
                    help="if the PNG is larger, save it with a 256-colour palette (diffusion dithered)")
    args = ap.parse_args(argv)

    from .app import create_application, wait_for_workers_at_exit

    app = create_application([sys.argv[0]])
    wait_for_workers_at_exit()
    from PySide6.QtCore import QEventLoop, QSettings, QTimer
    from PySide6.QtGui import QGuiApplication

    from .live_view import LiveWindow, wait_for_detectors
    from .screenshot import grab_window, save_png

    print(f"Qt platform: {QGuiApplication.platformName()}", file=sys.stderr)
    tmp = tempfile.mkdtemp(prefix="posewatch-live-shot-")
    settings = QSettings(os.path.join(tmp, "settings.ini"), QSettings.Format.IniFormat)  # never the user's
    win = LiveWindow(settings=settings, events_dir=os.path.join(tmp, "events"))
    w, h = (int(v) for v in args.size.lower().split("x"))
    win.resize(w, h)
    win.show()
    v = win.live_view
    v.set_source(args.video, "file")
    v.set_model(None if args.model.lower() == "none" else args.model)
    v.pace_files = bool(args.paced)
    v.config_overrides = {"start_frame": args.start_frame}
    v.sound_check.setChecked(True)

    loop = QEventLoop()
    state: dict = {}
    normal = set(v.config().normal_labels)

    def on_event(ev):
        state.setdefault("event", ev)

    def on_frame(i):
        ev = state.get("event")
        if ev is None or i < ev.frame_index + args.after:
            return
        r = v.last_result
        if not args.largest_abnormal or _largest_is_abnormal(r, normal):
            loop.quit()

    v.event_added.connect(on_event)
    v.frame_shown.connect(on_frame)
    v.running_changed.connect(lambda running: running or loop.quit())
    if not v.start():
        print(f"error: {v.status_text}", file=sys.stderr)
        return 2
    QTimer.singleShot(int(args.timeout * 1000), loop.quit)
    loop.exec()
    # let the X server map and paint everything
    for _ in range(10):
        app.processEvents()
        QTimer.singleShot(30, loop.quit)
        loop.exec()
    pix = grab_window(win)
    r = v.last_result
    summary = (f"frame {r.frame_index if r else None}, {len(r.poses.persons) if r else 0} people, labels "
               f"{ {k: (lab.name, round(lab.prob, 2)) for k, lab in (r.labels or {}).items()} if r else None}, "
               f"events {v.event_log.rowCount()}, readout '{v.readout.text().strip()}', status '{v.status_text}'")
    v.stop()
    ok = save_png(pix, args.out, args.max_kb)
    wait_for_detectors(30_000)
    if not ok:
        print(f"error: cannot write {args.out}", file=sys.stderr)
        return 2
    print(f"wrote {args.out} ({pix.width()}x{pix.height()}, {os.path.getsize(args.out) // 1024} KB): {summary}",
          file=sys.stderr)
    if state.get("event") is None:
        print("warning: no alert was raised before the screenshot", file=sys.stderr)
    win.close()
    return 0


def _largest_is_abnormal(r, normal: set[str]) -> bool:
    """True if the largest person (box area) of result ``r`` has a label not in ``normal``."""
    if r is None or not r.poses.persons or not r.labels:
        return False
    p = max(r.poses.persons, key=lambda p: float((p.bbox[2] - p.bbox[0]) * (p.bbox[3] - p.bbox[1])))
    lab = r.labels.get(p.track_id)
    return lab is not None and lab.name not in normal


if __name__ == "__main__":
    sys.exit(main())
