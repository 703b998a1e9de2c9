"""Benchmark: several cameras at once (issue 14) — frames drawn per second per camera and capture-to-drawn latency with
4 camera-paced shared clips, the multi-camera detector (one shared, batched pose model) side by side with 4
separate single-camera detectors in the same run. Prints ONE JSON line.

    POSEWATCH_MODEL_DIR=../shared/models POSEWATCH_OFFLINE=1 YOLO_OFFLINE=1 .venv/bin/python bench/multicam.py
    … bench/multicam.py --seconds 20 --warmup 5 --imgsz 640

Each clip loops and is fed like a 30 fps camera (``realtime``, ``pace_fps=30``; a camera's oldest frame is dropped
when inference is behind). Every person is posed (INT8 YOLO-pose, imgsz 640 by default), tracked and classified by
the shipped fall ST-GCN on every frame. One display thread stands in for the GUI: it draws the overlay of each
camera's newest result (as the live view's grid does). Per camera, over ``--seconds`` after ``--warmup``:
``fps`` = results drawn per second, ``latency_p50_ms`` / ``latency_p95_ms`` = capture to drawn, ``persons`` = median
persons per drawn frame. Runs: ``shared`` (:class:`core.live.multicam.MultiCameraDetector`, one
:class:`~core.live.multicam.SharedPose` with a worker per core), ``separate`` (4 :class:`core.live.LiveDetector`
with their defaults: two pose workers each), and ``shared_imgsz480`` unless ``--quick``. ``target_met`` says
whether every camera reached ``fps >= 15`` with ``p95 <= 150 ms``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import threading
import time

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


def run(mode: str, paths: list[str], seconds: float, warmup: float, imgsz: int) -> dict:
    from core.live import LiveConfig
    from core.live.multicam import MultiCameraDetector, unique_names

    names = unique_names(paths)
    disp = GridDisplay(names)
    cfg = LiveConfig(classifier="fall", realtime=True, pace_fps=30.0, loop=True, imgsz=imgsz)
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
                   "persons": float(np.median(disp.persons[n])) if disp.persons[n] else 0.0}
    out = {"cameras": cams, "fps_min": min(c["fps"] for c in cams.values()),
           "p95_max_ms": max((c["latency_p95_ms"] or 1e9) for c in cams.values()),
           "pose": st[names[0]]["pose"]}
    out["target_met"] = out["fps_min"] >= 15 and out["p95_max_ms"] <= 150
    if "shared_pose" in st:
        out["shared_pose"] = st["shared_pose"]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--warmup", type=float, default=6.0)
    ap.add_argument("--imgsz", type=int, default=640)
    ap.add_argument("--quick", action="store_true", help="only the shared and the separate runs")
    a = ap.parse_args()
    paths = [str(SHARED / "data" / "videos" / c) for c in CLIPS]
    for p in paths:
        if not os.path.exists(p):
            raise SystemExit(f"error: shared clip not found: {p}")
    res = {"bench": "multicam", "date": datetime.date.today().isoformat(), "machine": {
        "cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
        "load_avg_1m_at_start": round(os.getloadavg()[0], 2)}, "clips": list(CLIPS), "pace_fps": 30,
        "imgsz": a.imgsz, "seconds": a.seconds}
    res["shared"] = run("shared", paths, a.seconds, a.warmup, a.imgsz)
    res["separate"] = run("separate", paths, a.seconds, a.warmup, a.imgsz)
    if not a.quick:
        res["shared_imgsz480"] = run("shared", paths, a.seconds, a.warmup, 480)
    res["machine"]["load_avg_1m_at_end"] = round(os.getloadavg()[0], 2)
    print(json.dumps(res))


if __name__ == "__main__":
    main()
