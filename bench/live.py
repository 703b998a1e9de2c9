"""Benchmark: live detection (issue 5) — processed frames per second and capture-to-display latency on the
6-person street clip and on Fall04 at 640 px width, every person posed, tracked and classified, with the
seed-style pipeline run side by side in the same process. Prints ONE JSON line.

    POSEWATCH_MODEL_DIR=../shared/models POSEWATCH_OFFLINE=1 YOLO_OFFLINE=1 .venv/bin/python bench/live.py
    … bench/live.py --quick                 # only the seed and the default live pipeline
    … bench/live.py --memory-minutes 10     # also: resident memory over 10 minutes on the looping street clip
    … bench/live.py --quick --fight         # also: the fight model (scene + optical flow) beside the fall model

What is measured (each entry of the JSON line, per clip):

``seed``
    The seed pipeline re-created with today's packages, one stage after another on every frame in one
    thread: ultralytics ``YOLO(yolo11n-pose.pt).track(persist=True)`` in PyTorch (ByteTrack), MediaPipe
    PoseLandmarker *full* (``num_poses=2``, VIDEO mode) on the whole frame, the seed's 4-layer LSTM
    (:class:`models.lstm.SeedLSTM`, untrained weights: only its cost matters) on each track's last 16
    frames every 16 frames, and drawing. Latency = frame read to drawn.
``live``
    :class:`core.live.LiveDetector` with its defaults: two pose threads taking frames in turn, each running
    the INT8 YOLO-pose model (:mod:`core.pose.int8`, imgsz 640) on its own one-thread ONNX Runtime session,
    ByteTrack in frame order, the shipped fall ST-GCN on one ONNX Runtime thread for every track on every
    frame, smoothing, alerts. Files processed as fast as possible without drops: ``fps`` = processed
    frames / s (the pipeline's capacity).
``live_camera``
    The same detector fed like a 30 fps camera (``realtime`` with ``pace_fps=30``; frames dropped when
    behind) and a display thread that draws the overlay of the newest result, as the GUI does:
    ``fps`` = displayed frames / s (at most 30), ``latency_p50_ms`` / ``latency_p95_ms`` = capture to drawn,
    ``dropped``. ``live_camera_before`` / ``live_before``: the same with the previous defaults (:data:`BEFORE`:
    one pose thread with a two-thread float32 session, the classifier on PyTorch).
Variants (skipped with ``--quick``): ``live_camera_q2`` (two-frame capture queue), ``live_fp32`` (float32 pose
model), ``live_workers1`` (one pose thread with a two-thread session), ``live_torch_classifier`` (classifier
on PyTorch), ``live_imgsz`` 480/416/320 (with ``persons_agree`` = share of frames whose person count equals
imgsz 640's, and the mean count of both: the accuracy check), ``live_every2`` (each track classified every
2nd frame), ``live_ultralytics`` (the ultralytics predictor around the float ONNX model instead of the lean
path) and ``serial`` (float32 components one after another in one thread: what pipelining buys).

``memory`` (with ``--memory-minutes N``): RSS (psutil) sampled every 10 s while the live detector loops
the street clip at camera pace for N minutes; ``growth_mb`` = last sample minus the sample after the first
minute (warm-up).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import platform
import threading
import time
from pathlib import Path

import numpy as np

from benchenv import SHARED  # noqa: E402  (sys.path, shared data, offline)
os.environ.setdefault("YOLO_VERBOSE", "False")

#: The live detector as it was before INT8, pose workers and the ONNX Runtime classifier (LiveConfig's
#: defaults then): one pose thread with a two-thread float32 session, the classifier on PyTorch.
BEFORE = {"precision": "fp32", "pose_workers": 1, "classifier_threads": 0}

CLIPS = {"street": SHARED / "data/videos/normal/openpose_examples_video.avi",
         "fall04": SHARED / "data/videos/fall/thanhnc58_Fall04.mp4"}


def _pct(values, q) -> float | None:
    return round(float(np.percentile(values, q)), 1) if len(values) else None


# ---- the seed-style pipeline ------------------------------------------------------------------------
def bench_seed(path: Path, width: int, max_frames: int | None) -> dict:
    """The seed pipeline: YOLO .track (PyTorch) → MediaPipe full on the whole frame → LSTM every 16 frames
    → drawing, sequentially per frame."""
    import cv2
    import mediapipe as mp
    import torch
    from mediapipe.tasks.python import BaseOptions, vision
    from ultralytics import YOLO

    from core.layouts import to_common
    from core.modelfiles import resolve_model
    from core.video import open_source, resize_to_width
    from models.lstm import SeedLSTM

    yolo = YOLO(str(resolve_model("yolo11n-pose.pt")))
    opts = vision.PoseLandmarkerOptions(base_options=BaseOptions(model_asset_path=str(resolve_model("pose_landmarker_full.task"))),
                                        running_mode=vision.RunningMode.VIDEO, num_poses=2)
    lm = vision.PoseLandmarker.create_from_options(opts)
    lstm = SeedLSTM(num_classes=4).eval()
    buffers: dict[int, collections.deque] = collections.defaultdict(lambda: collections.deque(maxlen=16))
    yolo.track(np.zeros((360, 640, 3), np.uint8), persist=False, verbose=False)  # warm-up
    yolo.predictor.trackers[0].reset() if getattr(yolo, "predictor", None) and getattr(yolo.predictor, "trackers", None) else None
    lat, persons = [], []
    n = 0
    with open_source(path) as src:
        it = src.frames(0, max_frames)
        t0 = time.perf_counter()
        while True:
            tc = time.perf_counter()
            try:
                fr = next(it)
            except StopIteration:
                break
            small, _ = resize_to_width(fr.image, width)
            r = yolo.track(small, persist=True, classes=[0], tracker="bytetrack.yaml", verbose=False)[0]
            res = lm.detect_for_video(mp.Image(image_format=mp.ImageFormat.SRGB,
                                               data=cv2.cvtColor(small, cv2.COLOR_BGR2RGB)), int(fr.time_s * 1000))
            h, w = small.shape[:2]
            poses = [np.array([[p.x * w, p.y * h, p.visibility or 0.0] for p in lms], np.float32)
                     for lms in res.pose_landmarks]
            boxes = r.boxes.xyxy.numpy() if r.boxes is not None and r.boxes.id is not None else np.zeros((0, 4))
            ids = r.boxes.id.numpy().astype(int) if r.boxes is not None and r.boxes.id is not None else []
            # each MediaPipe pose goes to the track box holding most of its landmarks (the seed's matching)
            for k in poses:
                if len(boxes):
                    inside = [((k[:, 0] >= b[0]) & (k[:, 0] <= b[2]) & (k[:, 1] >= b[1]) & (k[:, 1] <= b[3])).sum()
                              for b in boxes]
                    buffers[int(ids[int(np.argmax(inside))])].append(to_common(k[None], "mediapipe33")[0])
            if n % 16 == 15:
                full = [np.stack(b) for b in buffers.values() if len(b) == 16]
                if full:
                    x = torch.from_numpy(np.stack(full).transpose(0, 3, 1, 2).copy())  # (N, 3, 16, 13)
                    with torch.no_grad():
                        torch.softmax(lstm(x), -1)
            out = small.copy()
            for b in boxes:
                cv2.rectangle(out, (int(b[0]), int(b[1])), (int(b[2]), int(b[3])), (0, 255, 0), 2)
            for k in poses:
                for x_, y_, _ in k:
                    cv2.circle(out, (int(x_), int(y_)), 3, (0, 0, 255), -1)
            lat.append((time.perf_counter() - tc) * 1000)
            persons.append(len(boxes))
            n += 1
        wall = time.perf_counter() - t0
    lm.close()
    return {"frames": n, "fps": round(n / wall, 2), "latency_p50_ms": _pct(lat, 50), "latency_p95_ms": _pct(lat, 95),
            "persons_median": float(np.median(persons)) if persons else 0.0}


# ---- the live pipeline --------------------------------------------------------------------------------
class _Display:
    """Stands in for the GUI thread: takes the newest result (one slot, older ones replaced) and draws it."""

    def __init__(self):
        self._slot = None
        self._cv = threading.Condition()
        self.latencies: list[float] = []
        self.shown = 0
        self._done = False
        self._t = threading.Thread(target=self._loop, daemon=True)
        self._t.start()

    def push(self, r) -> None:
        with self._cv:
            self._slot = r
            self._cv.notify()

    def _loop(self) -> None:
        from core.overlay import draw_overlay

        while True:
            with self._cv:
                while self._slot is None and not self._done:
                    self._cv.wait(0.1)
                if self._slot is None:
                    return
                r, self._slot = self._slot, None
            draw_overlay(r.image, r.poses, r.labels)
            self.latencies.append((time.monotonic() - r.captured_at) * 1000)
            self.shown += 1

    def close(self) -> None:
        with self._cv:
            self._done = True
            self._cv.notify()
        self._t.join()


def bench_live(path: Path, width: int, max_frames: int | None, camera: bool = False, classifier: str = "fall",
               **cfg_kw) -> tuple[dict, list[int]]:
    from core.live import LiveConfig, LiveDetector

    cfg = LiveConfig(width=width, classifier=classifier, stop_frame=max_frames, **cfg_kw)
    if camera:
        cfg.realtime, cfg.pace_fps = True, 30.0
    persons: list[int] = []
    disp = _Display() if camera else None

    def on_result(r):
        persons.append(len(r.poses.persons))
        if disp is not None:
            disp.push(r)

    det = LiveDetector(str(path), cfg, on_result=on_result)
    det.run()
    if det.error:
        raise SystemExit(f"error: {det.error}")
    st = det.stats()
    out = {"frames": st["frames"], "fps": st["fps"], "dropped": st["dropped"],
           "latency_p50_ms": st["latency_p50_ms"], "latency_p95_ms": st["latency_p95_ms"]}
    if disp is not None:
        disp.close()
        wall = det.run_time_s
        out.update(fps=round(disp.shown / wall, 2), processed_fps=st["fps"], latency_p50_ms=_pct(disp.latencies, 50),
                   latency_p95_ms=_pct(disp.latencies, 95), latency_note="capture to drawn")
    out["persons_median"] = float(np.median(persons)) if persons else 0.0
    return out, persons


def bench_serial(path: Path, width: int, max_frames: int | None) -> dict:
    """The live pipeline's components one after another in one thread (no pipelining)."""
    from core.classify import TrackClassifier
    from core.defaults import default_classifier_path
    from core.extract import estimate_poses
    from core.live import LabelTracker, LiveConfig
    from core.pose.yolo_onnx import OnnxPoseEstimator
    from core.overlay import draw_overlay
    from core.video import open_source

    lat = []
    with open_source(path) as src:
        est = OnnxPoseEstimator(frame_rate=src.info.fps)
        lt = LabelTracker(TrackClassifier(default_classifier_path("fall")), LiveConfig(), src.info.fps)
        it = src.frames(0, max_frames)
        n, t0 = 0, time.perf_counter()
        while True:
            tc = time.perf_counter()
            try:
                fr = next(it)
            except StopIteration:
                break
            fp = estimate_poses(fr.image, est, fr.index, fr.time_s, width)
            labels, _ = lt.update(fp)
            draw_overlay(fr.image, fp, labels)
            lat.append((time.perf_counter() - tc) * 1000)
            n += 1
        wall = time.perf_counter() - t0
    return {"frames": n, "fps": round(n / wall, 2), "latency_p50_ms": _pct(lat, 50), "latency_p95_ms": _pct(lat, 95)}


def bench_memory(path: Path, width: int, minutes: float) -> dict:
    import psutil

    from core.live import LiveConfig, LiveDetector

    proc = psutil.Process()
    samples: list[tuple[float, float]] = []
    det = LiveDetector(str(path), LiveConfig(width=width, classifier="fall", loop=True, realtime=True, pace_fps=30.0))
    det.start()
    t0 = time.monotonic()
    try:
        while time.monotonic() - t0 < minutes * 60:
            time.sleep(10)
            samples.append((round(time.monotonic() - t0, 1), round(proc.memory_info().rss / 2**20, 1)))
            if not det.running:
                break
    finally:
        det.stop()
        det.join()
    if det.error:
        raise SystemExit(f"error: {det.error}")
    base = next((m for t, m in samples if t >= 60), samples[0][1] if samples else 0.0)
    return {"minutes": minutes, "frames": det.stats()["frames"], "rss_mb_first": samples[0][1] if samples else None,
            "rss_mb_after_1min": base, "rss_mb_last": samples[-1][1] if samples else None,
            "rss_mb_max": max(m for _, m in samples) if samples else None,
            "growth_mb": round(samples[-1][1] - base, 1) if samples else None, "samples": samples}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--frames", type=int, default=None, help="Only the first N frames of each clip.")
    ap.add_argument("--quick", action="store_true", help="Only seed, live and live_camera.")
    ap.add_argument("--clips", default="street,fall04")
    ap.add_argument("--memory-minutes", type=float, default=0.0)
    ap.add_argument("--fight", action="store_true",
                    help="Also live_fight / live_camera_fight: the shipped fight model (scene features + optical "
                         "flow on every frame) instead of the fall model, side by side.")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(os.cpu_count() or 1)
    out: dict = {"bench": "live", "width": args.width, "machine": f"{platform.machine()} {os.cpu_count()} cores",
                 "date": time.strftime("%Y-%m-%d"), "load_avg_start": round(os.getloadavg()[0], 2)}
    for name in args.clips.split(","):
        path = CLIPS[name]
        r: dict = {"seed": bench_seed(path, args.width, args.frames)}
        r["live"], ref = bench_live(path, args.width, args.frames)
        r["live_camera"], _ = bench_live(path, args.width, args.frames, camera=True)
        r["live_camera_before"], _ = bench_live(path, args.width, args.frames, camera=True, **BEFORE)
        if args.fight:
            r["live_fight"], _ = bench_live(path, args.width, args.frames, classifier="fight")
            r["live_camera_fight"], _ = bench_live(path, args.width, args.frames, camera=True, classifier="fight")
        if not args.quick:
            r["live_camera_q2"], _ = bench_live(path, args.width, args.frames, camera=True, queue_size=2)
            r["live_before"], _ = bench_live(path, args.width, args.frames, **BEFORE)
            r["live_fp32"], _ = bench_live(path, args.width, args.frames, precision="fp32")
            r["live_workers1"], _ = bench_live(path, args.width, args.frames, pose_workers=1)
            r["live_torch_classifier"], _ = bench_live(path, args.width, args.frames, classifier_threads=0)
            for sz in (480, 416, 320):
                res, pers = bench_live(path, args.width, args.frames, imgsz=sz)
                m = min(len(pers), len(ref))
                a, b = np.asarray(pers[:m]), np.asarray(ref[:m])
                res["persons_agree"] = round(float(np.mean(a == b)), 3) if m else None
                res["persons_mean_vs_640"] = [round(float(a.mean()), 2), round(float(b.mean()), 2)] if m else None
                r[f"live_imgsz{sz}"] = res
            r["live_every2"], _ = bench_live(path, args.width, args.frames, classify_every=2)
            r["live_ultralytics"], _ = bench_live(path, args.width, args.frames, backend="yolo-ultralytics")
            r["serial"] = bench_serial(path, args.width, args.frames)
        r["speedup_vs_seed"] = round(r["live"]["fps"] / r["seed"]["fps"], 2) if r["seed"]["fps"] else None
        out[name] = r
    if args.memory_minutes > 0:
        out["memory"] = bench_memory(CLIPS["street"], args.width, args.memory_minutes)
    out["load_avg_end"] = round(os.getloadavg()[0], 2)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
