"""Benchmark: static INT8 YOLO-pose (:func:`core.pose.int8.int8_model`, shipped calibration table) vs the float
ONNX model, on the four clips held out of the calibration.

Per clip: 150 frames (every 2nd), downscaled to 640 px width, detected untracked with
:class:`core.pose.yolo_onnx.OnnxPoseEstimator` (conf 0.25, NMS IoU 0.7) by the float model (the reference), the
INT8 model as the live detector runs it (``int8``: with ONNX Runtime's exact kernels where
:func:`core.pose.int8.u8s8_saturates`, reported as ``u8s8_saturates``), the same model on ONNX Runtime's default
kernels (``int8_default_kernels``: what ran before; differs only where they saturate), the model with 7-bit weights
(``int8_w7``, :func:`core.pose.int8.int8_model` ``reduce_range``), and the float model at imgsz 480 for comparison.
Agreement with the float model (:func:`core.pose.int8.agreement`: recall of all its persons and of those with
conf >= 0.5, precision, keypoint error median/p95 in % of the box diagonal), and the median milliseconds per model
call (``session.run`` only, on the clip's own input shape) with 1 and 2 ONNX Runtime threads, all in the same
process. Prints one JSON line.

    POSEWATCH_MODEL_DIR=../shared/models POSEWATCH_OFFLINE=1 YOLO_OFFLINE=1 .venv/bin/python bench/int8_pose.py
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np

from benchenv import SHARED  # noqa: E402  (sys.path, shared data, offline)
V = SHARED / "data/videos"
CLIPS = {"street": V / "normal/openpose_examples_video.avi", "fall04": V / "fall/thanhnc58_Fall04.mp4",
         "nofi010": V / "normal/nofi010.mp4", "fi010": V / "fight/fi010.mp4"}


def ms_per_call(est, frames: list[np.ndarray], n: int) -> float:
    """Median ms of ``session.run`` on the letterboxed frames (5 warm-up calls)."""
    from core.pose.yolo_onnx import letterbox_blob

    blobs = [letterbox_blob(f, est.imgsz)[0] for f in frames[:20]]
    for b in blobs[:5]:
        est.session.run(None, {est.input_name: b})
    ts = []
    for b in (blobs * (n // len(blobs) + 1))[:n]:
        t = time.perf_counter()
        est.session.run(None, {est.input_name: b})
        ts.append(time.perf_counter() - t)
    return round(1000 * float(np.median(ts)), 2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=150, help="frames per clip")
    ap.add_argument("--every", type=int, default=2, help="frame spacing")
    ap.add_argument("--calls", type=int, default=60, help="timed calls per model and thread count")
    args = ap.parse_args()
    import onnxruntime as ort

    from core.pose.yolo_onnx import OnnxPoseEstimator
    from core.pose.int8 import agreement, calibration_frames, int8_model, u8s8_saturates

    t0 = time.perf_counter()
    w8 = int8_model(reduce_range=False)  # build (or find) the cached INT8 models before timing anything
    build_s = round(time.perf_counter() - t0, 1)
    w7 = int8_model(reduce_range=True)
    models = {t: {"fp32": OnnxPoseEstimator(threads=t), "int8": OnnxPoseEstimator(threads=t, precision="int8"),
                  "int8_default_kernels": OnnxPoseEstimator(str(w8), threads=t),  # an .onnx path: no options
                  "int8_w7": OnnxPoseEstimator(str(w7), threads=t),
                  "fp32_480": OnnxPoseEstimator(threads=t, imgsz=480)} for t in (1, 2)}
    out = {"bench": "int8_pose", "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "machine": platform.processor() or platform.machine(), "cpus": os.cpu_count(), "ort": ort.__version__,
           "u8s8_saturates": u8s8_saturates(), "int8_build_s": build_s, "clips": {}}
    for name, path in CLIPS.items():
        if not path.is_file():
            out["clips"][name] = "missing"
            continue
        frames = calibration_frames(path, args.frames, args.every, 640)
        ref = [models[2]["fp32"].detect(f) for f in frames]
        res = {"frames": len(frames), "shape": list(frames[0].shape[:2])}
        for kind in ("fp32", "int8", "int8_default_kernels", "int8_w7", "fp32_480"):
            r = {} if kind == "fp32" else agreement(ref, [models[2][kind].detect(f) for f in frames])
            r["ms_1t"] = ms_per_call(models[1][kind], frames, args.calls)
            r["ms_2t"] = ms_per_call(models[2][kind], frames, args.calls)
            res[kind] = r
        out["clips"][name] = res
    print(json.dumps(out))


if __name__ == "__main__":
    main()
