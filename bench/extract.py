"""Benchmark: frames per second of pose extraction (`main.py extract`'s work: decode, resize to 640 px
width, YOLO-pose, ByteTrack) on the 6-person street clip and on Fall04.

Runs the ONNX Runtime path (the CPU default) and the PyTorch path side by side in the same process,
without the skeleton cache. Prints one JSON line.

    POSEWATCH_MODEL_DIR=../shared/models POSEWATCH_OFFLINE=1 YOLO_OFFLINE=1 .venv/bin/python bench/extract.py
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from benchenv import SHARED  # noqa: E402  (sys.path, shared data, offline)

CLIPS = {"street": SHARED / "data/videos/normal/openpose_examples_video.avi",
         "fall04": SHARED / "data/videos/fall/thanhnc58_Fall04.mp4"}


def bench_clip(path: Path, runtime: str, width: int) -> dict:
    from core.extract import estimate_poses
    from core.pose import create_estimator
    from core.video import open_source

    with open_source(path) as src:
        est = create_estimator("yolo", runtime=runtime, frame_rate=src.info.fps, device="cpu")
        est.process(np.zeros((360, 640, 3), np.uint8), 0, 0.0)  # warm-up
        est.reset()
        per_frame, persons = [], []
        t0 = time.perf_counter()
        for fr in src.frames():
            t = time.perf_counter()
            fp = estimate_poses(fr.image, est, fr.index, fr.time_s, width)
            per_frame.append(time.perf_counter() - t)
            persons.append(len(fp.persons))
        wall = time.perf_counter() - t0
        est.close()
    return {"frames": len(per_frame), "fps": round(len(per_frame) / wall, 2),
            "ms_per_frame_median": round(1000 * float(np.median(per_frame)), 1),
            "persons_median": float(np.median(persons))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--runtimes", default="onnx,torch")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(os.cpu_count() or 1)
    out = {"bench": "extract", "width": args.width, "machine": f"{platform.machine()} {os.cpu_count()} cores",
           "torch_threads": torch.get_num_threads(), "date": time.strftime("%Y-%m-%d")}
    for name, path in CLIPS.items():
        for rt in args.runtimes.split(","):
            out[f"{name}_{rt}"] = bench_clip(path, rt, args.width)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
