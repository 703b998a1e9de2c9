"""Benchmark: a labelling project at scale — a 100,000-frame video with 2,000 clips on 3 tracks.

Measures (median and p95 over repeats, milliseconds): opening the project (Project.open + the clip
list the timeline shows), one clip edit (update_clip: a committed write), a range query for the
visible window of the timeline, and — when the GUI is importable — a full timeline redraw and a
clip edit through the GUI's undo stack. Targets (issue 3): redraw and edit < 50 ms, open < 2 s.
Prints one JSON line.

    POSEWATCH_MODEL_DIR=../shared/models POSEWATCH_OFFLINE=1 .venv/bin/python bench/project_scale.py
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

import benchenv  # noqa: E402,F401  (sys.path, shared data, offline)
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

N_FRAMES, N_CLIPS, N_TRACKS = 100_000, 2_000, 3


def _stats(samples_s: list[float]) -> dict:
    ms = sorted(1000 * s for s in samples_s)
    return {"median_ms": round(statistics.median(ms), 2), "p95_ms": round(ms[int(0.95 * (len(ms) - 1))], 2),
            "n": len(ms)}


def make_video(path: Path, n: int = N_FRAMES) -> Path:
    """A 64x48 MJPEG AVI with ``n`` frames (each frame's grey level encodes its index mod 256)."""
    import cv2

    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, (64, 48))
    img = np.zeros((48, 64, 3), np.uint8)
    for i in range(n):
        img[:] = i % 256
        w.write(img)
    w.release()
    return path


def make_skeletons(project, video, n_tracks: int = N_TRACKS):
    """Store a skeleton cache with ``n_tracks`` persons in every frame where the project looks for it."""
    from core.cache import SkeletonCache, cache_path
    from core.pose import estimator_settings

    f = video.frame_count
    frame = np.repeat(np.arange(f, dtype=np.int32), n_tracks)
    track = np.tile(np.arange(1, n_tracks + 1, dtype=np.int32), f)
    kp = np.random.default_rng(0).uniform(0, 48, (f * n_tracks, 17, 3)).astype(np.float32)
    kp[..., 2] = 0.9
    bbox = np.tile(np.array([[5, 5, 40, 45]], np.float32), (f * n_tracks, 1))
    offsets = np.arange(0, f * n_tracks + 1, n_tracks, dtype=np.int64)
    meta = {"video": video.path, "fps": video.fps, "width": video.width, "height": video.height, "layout": "coco17",
            "complete": True, "frame_count": f, "format": 1}
    cache = SkeletonCache(meta, frame, track, bbox, np.full(f * n_tracks, 0.9, np.float32), kp, offsets)
    path = cache_path(video.path, dict(estimator_settings("yolo"), width=None), project.skeleton_dir)
    cache.save(path)
    return cache


def make_clips(project, video, n: int = N_CLIPS, n_tracks: int = N_TRACKS, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    names = project.label_names()
    starts = np.sort(rng.integers(0, video.frame_count - 200, n))
    for i, s in enumerate(starts):
        track = None if i % (n_tracks + 1) == 0 else int(i % (n_tracks + 1))
        project.add_clip(video.id, int(s), int(s + rng.integers(10, 150)), names[i % len(names)], track_id=track)


def main() -> None:
    from core.project import Project

    out = {"bench": "project_scale", "frames": N_FRAMES, "clips": N_CLIPS, "tracks": N_TRACKS,
           "machine": f"{platform.machine()} {os.cpu_count()} cores", "date": time.strftime("%Y-%m-%d")}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t = time.perf_counter()
        video_path = make_video(tmp / "long.avi")
        proj = Project.create(tmp / "proj")
        video = proj.add_video(video_path)
        make_skeletons(proj, video)
        t_add = time.perf_counter()
        make_clips(proj, video)
        out["setup_s"] = round(time.perf_counter() - t, 1)
        out["add_clip_mean_ms"] = round(1000 * (time.perf_counter() - t_add) / N_CLIPS, 2)
        proj.close()

        opens = []
        for _ in range(10):
            t = time.perf_counter()
            p = Project.open(tmp / "proj")
            v = p.videos()[0]
            clips = p.clips(v.id)
            opens.append(time.perf_counter() - t)
            p.close()
        assert len(clips) == N_CLIPS
        out["project_open"] = _stats(opens)

        p = Project.open(tmp / "proj")
        rng = np.random.default_rng(1)
        edits, queries = [], []
        for c in rng.choice(clips, 100, replace=False):
            t = time.perf_counter()
            p.update_clip(c.id, end=c.end + 1)
            edits.append(time.perf_counter() - t)
            first = int(rng.integers(0, N_FRAMES - 3000))
            t = time.perf_counter()
            p.clips_in_range(v.id, first, first + 3000)
            queries.append(time.perf_counter() - t)
        out["clip_edit"] = _stats(edits)
        out["visible_range_query"] = _stats(queries)
        try:
            out.update(_gui_figures(p, v))
        except ImportError as e:  # without PySide6 the core figures still stand
            out["gui"] = f"skipped: {e}"
        p.close()
    print(json.dumps(out))


def _gui_figures(project, video, repeats: int = 30) -> dict:
    """Timeline redraw, a GUI clip edit (through the undo stack, with repaint), its undo and a frame
    step, in a real (offscreen) MainWindow with the project open and the whole video in view."""
    from PySide6.QtCore import QSettings

    from gui.app import create_application
    from gui.main_window import CLASSIFIER_KEY, MainWindow

    app = create_application()
    folder = project.folder
    with tempfile.TemporaryDirectory() as tmp:
        settings = QSettings(str(Path(tmp) / "s.ini"), QSettings.Format.IniFormat)
        settings.setValue(CLASSIFIER_KEY, "none")  # labelling figures without a classifier, as recorded before
        win = MainWindow(settings, show_dialogs=False)
        win.resize(1300, 850)
        win.show()
        app.processEvents()
        ready = []
        win.skeletons_ready.connect(ready.append)
        t = time.perf_counter()
        win.labelling.open_project(folder)
        while not ready and time.perf_counter() - t < 120:
            app.processEvents()
        open_s = time.perf_counter() - t
        app.processEvents()
        redraws, edits, undos, steps = [], [], [], []
        painted = 0
        (x0, x1), _ = win.timeline.viewbox.viewRange()
        clips = win.labelling.clips()
        rng = np.random.default_rng(2)
        for _ in range(repeats):
            t = time.perf_counter()
            win.timeline.redraw()
            redraws.append(time.perf_counter() - t)
            painted = max(painted, win.timeline.segments.painted)
            c = clips[int(rng.integers(len(clips)))]
            t = time.perf_counter()
            win.labelling.set_clip_range(c.start, c.end + 1, c.id)
            app.processEvents()
            edits.append(time.perf_counter() - t)
            t = time.perf_counter()
            win.labelling.undo_stack.undo()
            app.processEvents()
            undos.append(time.perf_counter() - t)
            t = time.perf_counter()
            win.step(1)
            app.processEvents()
            steps.append(time.perf_counter() - t)
        assert project.clip(c.id).end == c.end  # the undo really reached the database
        win.close()
        app.processEvents()
    return {"gui_open_project_s": round(open_s, 3), "timeline_redraw": _stats(redraws),
            "timeline_clips_painted": painted,
            "timeline_view_frames": [round(x0), round(x1)], "gui_clip_edit": _stats(edits), "gui_undo": _stats(undos),
            "gui_frame_step": _stats(steps)}


if __name__ == "__main__":
    main()
