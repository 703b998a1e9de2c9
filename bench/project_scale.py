"""Benchmark: a labelling project at scale — a 100,000-frame video with 2,000 clips on 3 tracks.

Measures (median and p95 over repeats, milliseconds): opening the project (Project.open + the clip
list the timeline shows), one clip edit (update_clip: a committed write), a range query for the
visible window of the timeline, and — when the GUI is importable — a full timeline redraw and a
clip edit through the GUI's undo stack. Targets (issue 3): redraw and edit < 50 ms, open < 2 s.
Then the model-assisted labelling actions of issue 12 on the same project, with the shipped fall model loaded and
its suggestions stored (synthetic probabilities, every track judged in every frame, several hundred proposed
clips): next suggestion (N, with the seek), accept (A) and its undo, reject (X) and its undo, an edge nudge, Label
next (Ctrl+J: the uncertainty ranking over the project), a track split (Alt+S), the fragment merged back (M) and
both undone, a spurious track (60 frames, no clips) deleted and its undo, a joint moved on the video and its undo —
each timed until the window has processed what it caused (its repaints, also one posted by a resize). Target
(issue 12): every action under 50 ms.
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
            "max_ms": round(ms[-1], 2), "n": len(ms)}


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


def make_suggestions(project, video, n_tracks: int = N_TRACKS, seed: int = 0) -> int:
    """Store suggestions of the shipped fall model for ``video``: per track, probabilities over every frame, mostly
    the model's normal class with short bursts of its other classes (runs found by :func:`core.suggest.runs`).
    Returns the number of proposed clips."""
    from core import config, suggest
    from core.classify import load_checkpoint
    from core.defaults import default_classifier_path

    path = default_classifier_path("fall")
    names = list(load_checkpoint(path).label_names)
    k = len(names)
    normal = suggest.normal_index(names)
    taxonomy = project.label_names()
    rng = np.random.default_rng(seed)
    f = video.frame_count
    frames = np.arange(f)
    probs, runs = {}, []
    for tid in range(1, n_tracks + 1):
        p = rng.dirichlet(np.ones(k), f).astype(np.float32) * 0.3
        p[:, normal] += 0.7
        for s in rng.integers(0, f - 100, 120):  # bursts of another class: the model's proposals
            p[s:s + int(rng.integers(15, 60))] = np.eye(k, dtype=np.float32)[(normal + 1 + tid) % k] * 0.8 + 0.2 / k
        p /= p.sum(1, keepdims=True)
        probs[tid] = (frames, p)
        runs += [(tid, a, b, config.model_label(lab, taxonomy) or lab, pr)  # falling -> fall, as iter_compute maps
                 for a, b, lab, pr in suggest.runs(frames, p, names, normal)]
    project.store_suggestion_set(video.id, suggest.model_hash(path), "fall_default.pt", names, probs, runs)
    return len(runs)


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
        out["suggestions_stored"] = make_suggestions(proj, video)
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
        win.skeletons_ready.disconnect(ready.append)  # every edit emits its skeletons: a list of all of them
        ready.clear()                                 # would keep each one's arrays alive (~100 MB a delete)
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
        review = _review_figures(app, win, repeats)
        win.close()
        app.processEvents()
    return {"gui_open_project_s": round(open_s, 3), "timeline_redraw": _stats(redraws),
            "timeline_clips_painted": painted,
            "timeline_view_frames": [round(x0), round(x1)], "gui_clip_edit": _stats(edits), "gui_undo": _stats(undos),
            "gui_frame_step": _stats(steps), **review}


def _review_figures(app, win, repeats: int) -> dict:
    """Issue 12's actions in the open window, with the shipped fall model loaded (its stored suggestions shown)."""
    from core.defaults import default_classifier_path

    sg, lab, ed = win.suggestions, win.labelling, win.labelling.track_editor
    win.load_classifier(default_classifier_path("fall"))
    t = time.perf_counter()
    while not sg.suggestions and time.perf_counter() - t < 120:  # loaded in the background, then read from the DB
        app.processEvents()
    shown = len(sg.suggestions)
    if not shown:
        return {"review": "skipped: no suggestions shown"}

    def timed(fn) -> float:
        t0 = time.perf_counter()
        fn()
        settle()
        return time.perf_counter() - t0

    def settle() -> None:
        """Process what the action caused, including what the processing posts (a resize's repaint at the new
        height): counted to this action, not to the next one."""
        for _ in range(3):
            app.processEvents()
            app.sendPostedEvents()

    times: dict[str, list[float]] = {k: [] for k in ("next_suggestion", "accept", "accept_undo", "reject",
                                                      "reject_undo", "nudge_edge", "label_next", "split_track",
                                                      "split_undo", "merge_track", "merge_undo", "delete_track",
                                                      "delete_undo", "move_joint", "move_joint_undo")}
    undo = lab.undo_stack.undo
    for i in range(repeats):
        times["next_suggestion"].append(timed(lambda: sg.jump(1)))
        times["nudge_edge"].append(timed(lambda: sg.nudge("end", 1)))
        times["accept"].append(timed(sg.accept))
        times["accept_undo"].append(timed(undo))
        times["next_suggestion"].append(timed(lambda: sg.jump(1)))
        times["reject"].append(timed(sg.reject))
        times["reject_undo"].append(timed(undo))
        if i < 10:  # the ranking reads every stored probability of the project
            times["label_next"].append(timed(sg.label_next))
        f = win.current_frame_index
        times["split_track"].append(timed(lambda: ed.split_track(1, f)))
        split_off = max(int(t) for t in win.state.skeletons.track_ids())
        times["merge_track"].append(timed(lambda: ed.merge_tracks(split_off, 1)))  # M: the fragment back
        times["merge_undo"].append(timed(undo))
        times["split_undo"].append(timed(undo))
        # a spurious track (no clips: a track with clips cannot be deleted): the last frames of #2 split off
        ed.split_track(2, N_FRAMES - 60 - i)
        settle()
        spurious = max(int(t) for t in win.state.skeletons.track_ids())
        times["delete_track"].append(timed(lambda: ed.delete_track(spurious)))
        times["delete_undo"].append(timed(undo))
        undo()  # the split
        settle()
        times["move_joint"].append(timed(lambda: ed.move_joint(f, 2, 5, 20.0 + i, 20.0)))
        times["move_joint_undo"].append(timed(undo))
    out = {f"gui_{k}": _stats(v) for k, v in times.items() if v}
    out["suggestions_shown"] = shown
    out["worst_action_p95_ms"] = max(v["p95_ms"] for v in out.values() if isinstance(v, dict))
    return out


if __name__ == "__main__":
    main()
