"""Benchmark: fall alerts on fall clips the fall model has NOT seen (leave one clip out). Prints ONE JSON line.

    POSEWATCH_MODEL_DIR=../shared/models POSEWATCH_OFFLINE=1 YOLO_OFFLINE=1 .venv/bin/python bench/fall_holdout.py
    … bench/fall_holdout.py --clips thanhnc58_Fall04.mp4,aswinajith_falling.mp4   # a subset

``tests/test_fall_alerts.py`` checks the shipped fall model on the seven shared fall clips, but that model was
trained on them (plus URFD): in-sample. Here, for each fall clip k, the fall project is rebuilt without k
(``bench/make_fall_project.py``: URFD + the six other clips, the same labels), a model is trained with exactly the
recipe of ``resources/models/fall_default.md`` (``main.py train --model stgcn --preset default --seed 0``), and
the live detector with its defaults (INT8 pose model, two pose workers, the alert rule of :class:`core.live.
LiveConfig`) runs on clip k with that model, every frame, up to 2 s after the labelled fall start. Per clip:
the first alert's frame and delay after the fall start (``bench/make_fall_project.py`` ``FALLS``), alerts during
the upright phase (``early``), and the held-out model's validation macro-F1 from its ``metrics.json``. Also
the no-alert check on normal clips (first 300 frames) with each held-out model (``--normal``, default nofi001,
nofi005 and the street clip; ``--keep DIR`` keeps the held-out models for a closer look).

The alert rule's thresholds (hold 0.3 s, box-aspect gain 1.8, keypoint score 0.4) were still chosen on these
clips, so the rule itself is not held out — only the classifier is. Each training takes about 4-6 minutes on a
2-core CPU (about 40 minutes for all seven).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchenv import ROOT, SHARED  # noqa: E402  (sys.path, shared data, offline)
os.environ.setdefault("YOLO_VERBOSE", "False")

LATE_S = 2.0


def alerts(video: Path, model: Path, stop_frame: int | None) -> list:
    from core.live import LiveConfig, LiveDetector

    events: list = []
    det = LiveDetector(str(video), LiveConfig(classifier=str(model), stop_frame=stop_frame), on_event=events.append)
    det.run()
    if det.error:
        raise SystemExit(f"error: {det.error}")
    return events


def main() -> None:
    from make_fall_project import FALL_DIR, FALLS, iter_build_fall_project

    from core.extract import run

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clips", default=",".join(sorted(FALLS)), help="held-out clips (comma-separated names)")
    ap.add_argument("--normal", default="nofi001.mp4,nofi005.mp4,openpose_examples_video.avi",
                    help="normal clips checked for false alerts with each held-out model ('' for none)")
    ap.add_argument("--time-limit", type=float, default=1800, help="training time limit per model (seconds)")
    ap.add_argument("--keep", default=None, help="keep the held-out models in this folder (model_<clip>/model.pt)")
    args = ap.parse_args()
    import cv2

    out: dict = {"bench": "fall_holdout", "machine": f"{platform.machine()} {os.cpu_count()} cores",
                 "date": time.strftime("%Y-%m-%d"), "clips": {}}
    normals = [SHARED / "data" / "videos" / "normal" / n for n in args.normal.split(",") if n]
    with tempfile.TemporaryDirectory(prefix="fall-holdout-") as tmp:
        for name in args.clips.split(","):
            t0 = time.monotonic()
            others = [v for v in sorted(FALLS) if v != name]
            proj = Path(tmp) / f"without_{Path(name).stem}"
            run(iter_build_fall_project(proj, videos=others))
            model_dir = Path(args.keep or tmp) / f"model_{Path(name).stem}"
            r = subprocess.run([sys.executable, str(ROOT / "main.py"), "train", "--data", str(proj), "--model", "stgcn",
                                "--preset", "default", "--seed", "0", "--time-limit", str(args.time_limit),
                                "--out", str(model_dir), "--events", "jsonl"],
                               capture_output=True, text=True, cwd=ROOT)
            if r.returncode != 0:
                raise SystemExit(f"error: training without {name} failed: {r.stderr.strip().splitlines()[-1:]}")
            metrics = json.loads((model_dir / "metrics.json").read_text())
            ann = FALLS[name]
            video = FALL_DIR / name
            fps = cv2.VideoCapture(str(video)).get(cv2.CAP_PROP_FPS) or 30.0
            deadline = ann.fall_start + int(LATE_S * fps)
            ev = alerts(video, model_dir / "model.pt", deadline + 1)
            early = [e for e in ev if e.frame_index < ann.fall_start]
            late_ok = [e for e in ev if ann.fall_start <= e.frame_index <= deadline]
            first = late_ok[0] if late_ok else None
            res = {"fall_start": ann.fall_start, "early": len(early),
                   "alert_frame": first.frame_index if first else None,
                   "delay_s": round((first.frame_index - ann.fall_start) / fps, 2) if first else None,
                   "label": first.label if first else None, "prob": round(first.prob, 3) if first else None,
                   "val_macro_f1": round(float(metrics["macro_f1"]), 3), "best_epoch": metrics.get("best_epoch"),
                   "normal_false_alerts": {}}
            for n in normals:
                res["normal_false_alerts"][n.name] = len(alerts(n, model_dir / "model.pt", 300))
            res["seconds"] = round(time.monotonic() - t0, 1)
            out["clips"][name] = res
            print(f"{name}: {res}", file=sys.stderr, flush=True)
    c = out["clips"].values()
    out["summary"] = {"held_out": len(out["clips"]),
                      "alerted_within_2s": sum(r["alert_frame"] is not None for r in c),
                      "early_alerts": sum(r["early"] for r in c),
                      "normal_clips_with_false_alerts": sum(sum(v > 0 for v in r["normal_false_alerts"].values())
                                                            for r in c)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
