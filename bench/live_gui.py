"""Benchmark: what the live view costs the GUI thread (issue 5), offscreen Qt.

1. ``draw``: GUI-thread milliseconds per shown result — :func:`core.overlay.draw_overlay` on the frame,
   the QPixmap upload and the repaint of the view (``LiveView.show_result`` + processing the paint
   events) — on real results: the street clip's frames (1280x720, ~6 people) with poses from the live
   pose model and labels from the shipped abnormal classifier (:class:`core.live.LabelTracker`), at the
   clip's size and upscaled to 1920x1080.
2. ``run``: a real :class:`core.live.LiveDetector` run in the :class:`gui.live_view.LiveView` on the
   street clip played as a camera (paced at its frame rate) for ``--seconds``: results delivered, drawn
   and skipped by the display (coalescing), and the GUI event loop's gaps measured with a 10 ms QTimer
   (p50 / p99 / max, ms).

Prints one JSON line.

    POSEWATCH_MODEL_DIR=../shared/models POSEWATCH_OFFLINE=1 YOLO_OFFLINE=1 QT_QPA_PLATFORM=offscreen \\
        .venv/bin/python bench/live_gui.py
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

from benchenv import SHARED  # noqa: E402  (sys.path, shared data, offline)
os.environ.setdefault("POSEWATCH_OFFLINE", "1")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

STREET = SHARED / "data/videos/normal/openpose_examples_video.avi"


def real_results(path: Path, n: int) -> list:
    """``n`` real :class:`core.live.LiveResult` objects: frames, live pose model, abnormal classifier."""
    from core.classify import TrackClassifier
    from core.defaults import default_classifier_path
    from core.extract import estimate_poses
    from core.live import LabelTracker, LiveConfig, LiveResult
    from core.pose.yolo_onnx import OnnxPoseEstimator
    from core.video import open_source

    out = []
    with open_source(path) as src:
        fps = src.info.fps
        est = OnnxPoseEstimator(frame_rate=fps)
        labeler = LabelTracker(TrackClassifier(default_classifier_path("abnormal")),
                               LiveConfig(classifier="abnormal"), fps)
        for fr in src.frames():
            if fr.index >= n:
                break
            fp = estimate_poses(fr.image, est, fr.index, fr.time_s, 640)
            labels, _alerts = labeler.update(fp)
            out.append(LiveResult(fr.index, fr.time_s, fr.image, fp, labels, time.monotonic(), 0.0, 0.0, 0))
        est.close()
    return out


def upscale(r, size: tuple[int, int]):
    """The same result on a frame resized to ``size`` (W, H), poses scaled with it."""
    import cv2

    from core.live import LiveResult
    from core.pose.base import FramePoses, Person

    h, w = r.image.shape[:2]
    sx, sy = size[0] / w, size[1] / h
    fp = FramePoses(r.poses.frame_index, r.poses.time_s, r.poses.layout, size[0], size[1])
    for p in r.poses.persons:
        k = p.keypoints.copy()
        k[:, 0] *= sx
        k[:, 1] *= sy
        fp.persons.append(Person(p.track_id, p.bbox * np.array([sx, sy, sx, sy], np.float32), k, p.score, p.layout))
    return LiveResult(r.frame_index, r.time_s, cv2.resize(r.image, size), fp, r.labels, r.captured_at, 0.0, 0.0, 0)


def bench_draw(view, app, results: list) -> dict:
    times = []
    for r in results:
        t = time.perf_counter()
        view.show_result(r)
        app.processEvents()  # the repaint of the view
        times.append((time.perf_counter() - t) * 1000.0)
    a = np.asarray(times[3:] or times)  # the first draws size the view
    return {"frames": len(times), "ms_p50": round(float(np.percentile(a, 50)), 2),
            "ms_p95": round(float(np.percentile(a, 95)), 2),
            "persons_mean": round(float(np.mean([len(r.poses.persons) for r in results])), 2)}


def bench_run(view, app, seconds: float) -> dict:
    from PySide6.QtCore import QElapsedTimer, Qt, QTimer

    gaps = []
    clock = QElapsedTimer()
    timer = QTimer()
    timer.setInterval(10)
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.timeout.connect(lambda: gaps.append(clock.restart()))
    view.set_source(str(STREET), "file")
    view.set_model("abnormal")
    view.config_overrides = {"loop": True}
    shown0 = view.frames_shown
    if not view.start():
        raise SystemExit(f"error: {view.status_text}")
    deadline = time.monotonic() + 600
    while view.frames_shown == shown0 and time.monotonic() < deadline:  # model loading, ONNX session
        app.processEvents()
        time.sleep(0.01)
    shown0 = view.frames_shown
    received0 = view.results_received
    clock.start()
    timer.start()
    t_end = time.monotonic() + seconds
    while time.monotonic() < t_end:
        app.processEvents()
        time.sleep(0.002)
    timer.stop()
    received = view.results_received - received0
    shown = view.frames_shown - shown0
    stats = view.detector.stats()
    view.stop()
    while view.is_running:
        app.processEvents()
        time.sleep(0.01)
    g = np.asarray(gaps[1:] or [0], np.float64)
    return {"seconds": seconds, "results": received, "shown": shown, "skipped_by_display": received - shown,
            "detector_fps": stats.get("fps"), "latency_p50_ms": stats.get("latency_p50_ms"),
            "latency_p95_ms": stats.get("latency_p95_ms"), "dropped": stats.get("dropped"),
            "gui_gap_ms_p50": round(float(np.percentile(g, 50)), 1),
            "gui_gap_ms_p99": round(float(np.percentile(g, 99)), 1), "gui_gap_ms_max": round(float(g.max()), 1)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=40, help="results drawn per size in the draw part")
    ap.add_argument("--seconds", type=float, default=20.0, help="length of the real run")
    args = ap.parse_args(argv)
    if not STREET.is_file():
        print(f"error: {STREET} not found (set POSEWATCH_SHARED)", file=sys.stderr)
        return 2
    import tempfile

    from gui.app import create_application

    app = create_application()
    from PySide6.QtCore import QSettings

    from gui.live_view import LiveView, wait_for_detectors

    tmp = tempfile.mkdtemp(prefix="posewatch-bench-live-gui-")
    view = LiveView(settings=QSettings(os.path.join(tmp, "s.ini"), QSettings.Format.IniFormat),
                    events_dir=os.path.join(tmp, "events"))
    view.resize(1280, 800)
    view.show()
    results = real_results(STREET, args.frames)
    h, w = results[0].image.shape[:2]
    out = {"bench": "live_gui", "machine": platform.machine(), "cpus": os.cpu_count(),
           "platform": os.environ.get("QT_QPA_PLATFORM"),
           "draw": {f"{w}x{h}": bench_draw(view, app, results),
                    "1920x1080": bench_draw(view, app, [upscale(r, (1920, 1080)) for r in results])},
           "run": bench_run(view, app, args.seconds)}
    wait_for_detectors(30_000)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
