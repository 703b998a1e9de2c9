"""Benchmark: several cameras at once (issue 14) — frames drawn per second per camera and capture-to-drawn latency with
4 camera-paced shared clips, the multi-camera detector (one shared, batched pose model) side by side with 4
separate single-camera detectors in the same run. Prints ONE JSON line.

    POSEWATCH_MODEL_DIR=../shared/models POSEWATCH_OFFLINE=1 YOLO_OFFLINE=1 .venv/bin/python bench/multicam.py
    … bench/multicam.py --seconds 20 --warmup 5 --imgsz 640 [--quick]

Each clip loops and is fed like a 30 fps camera (``realtime``, ``pace_fps=30``; a camera's oldest frame is dropped
when inference is behind). Every person is posed (INT8 YOLO-pose at ``live.multicam_imgsz`` or ``live.imgsz``, 640,
unless ``--imgsz``), tracked and classified by the shipped fall ST-GCN on every frame. One display thread stands in
for the GUI: it draws the overlay of each camera's newest result (as the live view's grid does). Per camera, over
``--seconds`` after ``--warmup``: ``fps`` = results drawn per second, ``latency_p50_ms`` / ``latency_p95_ms`` =
capture to drawn, ``persons`` = median persons per drawn frame, ``posed_share`` = share of drawn frames the pose
model ran on. Runs: ``shared`` (:class:`core.live.multicam.MultiCameraDetector` with its defaults: one
:class:`~core.live.multicam.SharedPose` with a worker per core, the motion gate on, :mod:`core.live.gate`),
``shared_batch4`` (the same with frames of up to 4 cameras batched, the default before 2026-12-03),
``shared_nogate`` (the shared defaults without the gate), ``separate`` (4 :class:`core.live.LiveDetector` with
their single-camera defaults: two pose workers each, no gate), and unless ``--quick``: ``shared_imgsz480`` (a smaller
input), ``gate_quality`` (:func:`gate_quality`: the reused skeletons against fresh ones, offline) and
``gate_labels`` (:func:`label_agreement`: the fall model's labels and alerts with and without the gate).
``target_met`` says whether every camera reached ``fps >= 15`` with ``p95 <= 150 ms``. ``--pairs N`` runs only the
shared defaults against ``shared_batch4``, alternated, N pairs (``pairs``, ``target_met_runs``).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import threading
import time
from pathlib import Path

import numpy as np

from benchenv import SHARED  # noqa: E402  (sys.path, shared data, offline)

os.environ.setdefault("YOLO_VERBOSE", "False")

CLIPS = ("normal/openpose_examples_video.avi", "fall/thanhnc58_Fall04.mp4", "normal/stock_shop_browsing_normal.mp4",
         "theft/stock_cctv_shoplifting_candy.mp4")


class GridDisplay:
    """Stands in for the GUI thread: one slot per camera (the newest result), drawn in turn."""

    def __init__(self, names: list[str]):
        self.slots: dict[str, object] = {n: None for n in names}
        self.cv = threading.Condition()
        self.measuring = False
        self.lat: dict[str, list[float]] = {n: [] for n in names}
        self.shown: dict[str, int] = {n: 0 for n in names}
        self.persons: dict[str, list[int]] = {n: [] for n in names}
        self.done = False
        self.t = threading.Thread(target=self._loop, daemon=True)
        self.t.start()

    def push(self, name: str, r) -> None:
        with self.cv:
            self.slots[name] = r
            self.cv.notify()

    def _loop(self) -> None:
        from core.overlay import draw_overlay

        while True:
            with self.cv:
                while not any(v is not None for v in self.slots.values()) and not self.done:
                    self.cv.wait(0.1)
                if self.done:
                    return
                todo = [(n, r) for n, r in self.slots.items() if r is not None]
                for n, _r in todo:
                    self.slots[n] = None
            for n, r in todo:
                draw_overlay(r.image, r.poses, r.labels)
                if self.measuring:
                    self.lat[n].append((time.monotonic() - r.captured_at) * 1000)
                    self.shown[n] += 1
                    self.persons[n].append(len(r.poses.persons))

    def close(self) -> None:
        with self.cv:
            self.done = True
            self.cv.notify()
        self.t.join()


def _pct(v, q):
    return round(float(np.percentile(v, q)), 1) if v else None


def run(mode: str, paths: list[str], seconds: float, warmup: float, imgsz: int, gate: bool | str = "auto",
        **settings) -> dict:
    from core.live import LiveConfig
    from core.live.multicam import MultiCameraDetector, unique_names

    names = unique_names(paths)
    disp = GridDisplay(names)
    cfg = LiveConfig(classifier="fall", realtime=True, pace_fps=30.0, loop=True, imgsz=imgsz, multicam_imgsz=imgsz,
                     motion_gate=gate, **settings)
    status: list[str] = []
    multi = MultiCameraDetector(paths, cfg, names, shared=(mode == "shared"), on_result=disp.push,
                                on_status=lambda c, m: status.append(f"{c}: {m}"))
    multi.start()
    try:
        time.sleep(warmup)
        t0 = time.monotonic()
        disp.measuring = True
        time.sleep(seconds)
        disp.measuring = False
        wall = time.monotonic() - t0
    finally:
        multi.stop()
        multi.join(60)
        disp.close()
    errors = [s for s in status if ": error: " in s]
    if errors:
        raise SystemExit(errors[0])
    st = multi.stats()
    cams = {}
    for n in names:
        cams[n] = {"fps": round(disp.shown[n] / wall, 2), "latency_p50_ms": _pct(disp.lat[n], 50),
                   "latency_p95_ms": _pct(disp.lat[n], 95), "dropped": st[n]["dropped"],
                   "persons": float(np.median(disp.persons[n])) if disp.persons[n] else 0.0,
                   "posed_share": round(st[n]["posed"] / st[n]["frames"], 2) if st[n]["frames"] else None}
    out = {"cameras": cams, "fps_min": min(c["fps"] for c in cams.values()),
           "p95_max_ms": max((c["latency_p95_ms"] or 1e9) for c in cams.values()),
           "pose": st[names[0]]["pose"]}
    out["target_met"] = out["fps_min"] >= 15 and out["p95_max_ms"] <= 150
    if "shared_pose" in st:
        out["shared_pose"] = st["shared_pose"]
    return out


def gate_quality(paths: list[str], imgsz: int, frames: int = 240, step: int = 2) -> dict:
    """What the motion gate costs in pose quality, per clip, offline: every ``step``-th of the first ``frames``
    frames (a camera processed at 15 of its 30 frames/s) is posed fresh; the gate (shipped settings) decides which
    it would have posed. On the frames it skips, the reused detections are compared with the fresh ones by
    :func:`core.pose.int8.agreement` (recall and precision of persons at box IoU > 0.5, keypoint error in % of the
    box diagonal); beside it, ``previous``: the same figures of the previous processed frame's detections on every
    frame (what one frame of latency costs anyway)."""
    from core.live import LiveConfig
    from core.live.gate import MotionGate
    from core.pose.int8 import agreement
    from core.pose.yolo_onnx import OnnxPoseEstimator
    from core.video import open_source, resize_to_width

    est = OnnxPoseEstimator(imgsz=imgsz, precision="int8", threads=os.cpu_count())
    c = LiveConfig()
    out = {}
    for p in paths:
        gate = MotionGate(c.motion_threshold, c.motion_pixels, c.motion_refresh_s)
        src = open_source(p)
        fps = src.info.fps or 30.0
        fresh, reused, skipped_fresh = [], [], []
        ref = None
        for fr in src.frames(0, frames):
            if fr.index % step:
                continue
            small, _scale = resize_to_width(fr.image, c.width)
            dets = est.detect(small)
            fresh.append(dets)
            if gate.moved(small, fr.index / fps) or ref is None:
                ref = dets
            else:
                skipped_fresh.append(dets)
                reused.append(ref)
        src.close()
        out[Path(p).stem] = {"frames": len(fresh), "skipped_share": round(len(reused) / max(1, len(fresh)), 2),
                             "reused": agreement(skipped_fresh, reused) if reused else None,
                             "previous": agreement(fresh[1:], fresh[:-1])}
    return out


def label_agreement(paths: list[str], imgsz: int) -> dict:
    """The fall classifier's labels with and without the gate, per clip: each clip played once through
    :class:`core.live.LiveDetector` (every frame, not paced) each way; share of frames whose set of labels
    (one per person) is the same, and the alerts of each run."""
    from core.live import LiveConfig, LiveDetector

    out = {}
    for p in paths:
        runs = {}
        for gate in (False, True):
            seen: dict[int, list[str]] = {}
            cfg = LiveConfig(classifier="fall", realtime=False, imgsz=imgsz, motion_gate=gate)
            det = LiveDetector(p, cfg, on_result=lambda r, seen=seen: seen.__setitem__(
                r.frame_index, sorted(lb.name for lb in (r.labels or {}).values())))
            det.start()
            det.join()
            if det.error:
                raise SystemExit(f"error: {det.error}")
            runs[gate] = (seen, det.stats())
        (off, st_off), (on, st_on) = runs[False], runs[True]
        common = sorted(set(off) & set(on))
        same = sum(off[i] == on[i] for i in common)
        out[Path(p).stem] = {"frames": len(common),
                             "same_labels_share": round(same / len(common), 3) if common else None,
                             "posed_share": round(st_on["posed"] / st_on["frames"], 2) if st_on["frames"] else None,
                             "alerts_off": st_off["alerts"], "alerts_on": st_on["alerts"]}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--warmup", type=float, default=6.0)
    ap.add_argument("--imgsz", type=int, default=None,
                    help="pose input size of every run but shared_imgsz480 (default: live.multicam_imgsz, else "
                         "live.imgsz: 640)")
    ap.add_argument("--quick", action="store_true", help="only the shared and the separate runs")
    ap.add_argument("--pairs", type=int, default=0, metavar="N",
                    help="instead: N pairs of the shared defaults (no batches) and shared_batch4, alternated A B B A "
                         "(the first runs of a process are slower, so a fixed order favours the later one)")
    a = ap.parse_args()
    if a.imgsz is None:
        from core.live import LiveConfig

        a.imgsz = LiveConfig().multicam_imgsz or LiveConfig().imgsz
    paths = [str(SHARED / "data" / "videos" / c) for c in CLIPS]
    for p in paths:
        if not os.path.exists(p):
            raise SystemExit(f"error: shared clip not found: {p}")
    res = {"bench": "multicam", "date": datetime.date.today().isoformat(), "machine": {
        "cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
        "load_avg_1m_at_start": round(os.getloadavg()[0], 2)}, "clips": list(CLIPS), "pace_fps": 30,
        "imgsz": a.imgsz, "seconds": a.seconds}
    if a.pairs:
        runs = []
        for i in range(a.pairs):
            for batch in ((1, 4) if i % 2 == 0 else (4, 1)):
                r = run("shared", paths, a.seconds, a.warmup, a.imgsz, multicam_max_batch=batch)
                runs.append({"max_batch": batch, "fps_min": r["fps_min"], "p95_max_ms": r["p95_max_ms"],
                             "target_met": r["target_met"]})
        res["pairs"] = runs
        res["target_met_runs"] = {f"max_batch_{b}": f"{sum(x['target_met'] for x in runs if x['max_batch'] == b)}"
                                                    f"/{a.pairs}" for b in (1, 4)}
    else:
        res["shared"] = run("shared", paths, a.seconds, a.warmup, a.imgsz)
        res["shared_batch4"] = run("shared", paths, a.seconds, a.warmup, a.imgsz, multicam_max_batch=4)
        res["shared_nogate"] = run("shared", paths, a.seconds, a.warmup, a.imgsz, gate=False)
        res["separate"] = run("separate", paths, a.seconds, a.warmup, a.imgsz, gate=False)
    if not a.quick and not a.pairs:
        res["shared_imgsz480"] = run("shared", paths, a.seconds, a.warmup, 480)
        res["gate_quality"] = gate_quality(paths, a.imgsz)
        res["gate_labels"] = label_agreement(paths, a.imgsz)
    res["machine"]["load_avg_1m_at_end"] = round(os.getloadavg()[0], 2)
    print(json.dumps(res))


if __name__ == "__main__":
    main()
