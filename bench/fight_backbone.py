"""Experiment (issue 15): do the pose model's own feature maps help the fight model? ONE JSON line.

    .venv/bin/python bench/fight_backbone.py                 # layer 10, 2 s of context, 2 seeds (~20 min + extraction)
    .venv/bin/python bench/fight_backbone.py --layer 16 --context 1
    .venv/bin/python bench/fight_backbone.py --runtime int8   # the live pose model's own INT8 graph

YOLO11n-pose already runs on every live frame; its intermediate feature maps are pretrained pixel features that
would cost almost nothing more to pool live. This script measures what they add before any of it is wired into
the live path:

- **Extraction**: every clip of the fight cross-validation (the Surveillance Camera Fight Dataset clips and the
  hard-negative scenes, :mod:`core.fight`) is decoded with OpenCV; about 15 frames a second (every
  ``round(fps / 15)``-th frame; at most 150 of a hard-negative scene, whose later vectors are then left
  out of every variant) are letterboxed as the ONNX pose path does
  (:func:`core.pose.letterbox.letterbox_blob`, 640) and run through the **float** PyTorch ``yolo11n-pose.pt``
  with a forward hook on ``model.<layer>`` (10 = the C2PSA block at stride 32, 256 channels), or, with
  ``--runtime int8``, through the live path's INT8 ONNX model with the pooled output added
  (:class:`core.pose.yolo_onnx.OnnxPoseEstimator` with ``pooled_layer``). Each frame gives the global average of
  every channel. Cached per clip under ``<cache>/backbone/<clip>-l<layer>[-int8].npz`` (``frames``, ``fps``,
  ``gap (n, C) float32``).
- **Vectors**: the shipped recipe's scene + motion vectors (:func:`core.fight.clip_vectors`, 1 s, 15 a second,
  not gated), and, at each vector's time ``t``, over the frames of ``(t - context, t]``: the mean, the standard
  deviation and the mean absolute frame-to-frame change of the channels' averages (``3C`` values).
- **Protocol**: the same folds as ``bench/fight_cv.py`` (StratifiedGroupKFold by source group, 5 folds, seed 0;
  the hard negatives in every training set, weighing 8 clips), the shipped ExtraTrees settings and weights
  (:data:`core.fight.RECIPE`, trained by :func:`core.fight.train_forest`), per test clip the highest 5-vector
  running mean of the window probabilities (about 1/3 s, as the live 10-frame smoothing). Reported per variant,
  averaged over ``--seeds`` forest seeds: clip ROC-AUC and "BA at 10 %", the balanced accuracy at the ROC point
  with at most 10 % of no-fight clips alerting **chosen on the test clips themselves** — an upper bound of a
  calibrated alert, comparable between variants only. Not the live path: ``bench/fight_cv.py`` is the figure of
  the shipped model.

Variants: ``scene_motion`` (the shipped vectors, the reference in the same run), ``backbone`` (the backbone
statistics alone), ``scene_motion_backbone`` (both).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

from benchenv import SHARED  # noqa: E402  (sys.path, shared data, offline)

os.environ.setdefault("YOLO_VERBOSE", "False")


def extract(clips, layer: int, out_dir: Path, runtime: str = "torch", progress=print) -> dict[str, Path]:
    """Per-frame pooled ``model.<layer>`` features of every clip (see the module docstring); cached files."""
    import cv2
    import numpy as np
    import torch
    from ultralytics import YOLO

    from core.pose.letterbox import letterbox_blob
    from core.pose.yolo_onnx import OnnxPoseEstimator

    out_dir.mkdir(parents=True, exist_ok=True)
    tag = "" if runtime == "torch" else f"-{runtime}"
    files = {c.name: out_dir / f"{c.name}-l{layer}{tag}.npz" for c in clips}
    todo = [c for c in clips if not files[c.name].is_file()]
    if not todo:
        return files
    if runtime == "torch":
        model = YOLO(str(SHARED / "models" / "yolo11n-pose.pt")).model.eval()
        got: dict = {}
        model.model[layer].register_forward_hook(lambda _m, _i, o: got.__setitem__("o", o))

        def pooled(image):
            with torch.no_grad():
                model(torch.from_numpy(letterbox_blob(image, 640)[0]))
            o = got["o"][0] if isinstance(got["o"], (list, tuple)) else got["o"]
            return o[0].float().mean((1, 2)).numpy()
    else:
        est = OnnxPoseEstimator(threads=2, precision=runtime, pooled_layer=layer)

        def pooled(image):
            return est.detect_batch_pooled([image])[1][0]
    t0 = time.monotonic()
    for k, c in enumerate(todo):
        cap = cv2.VideoCapture(str(c.path))
        fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
        step = max(1, int(round(fps / 15)))
        limit = 150 if c.extra else 10 ** 9
        frames, rows, f = [], [], 0
        while len(frames) < limit:
            ok, image = cap.read()
            if not ok:
                break
            if f % step == 0:
                rows.append(pooled(image))
                frames.append(f)
            f += 1
        cap.release()
        np.savez(files[c.name], frames=np.array(frames), fps=fps, gap=np.stack(rows).astype(np.float32))
        if k % 20 == 0:
            progress(f"backbone features {k + 1}/{len(todo)} ({time.monotonic() - t0:.0f} s)")
    return files


def backbone_stats(path: Path, times, fps: float, context_s: float):
    """``(len(times), 3C) float32``: mean, standard deviation and mean absolute frame-to-frame change of the
    channel averages over the frames of ``(t - context_s, t]`` (zeros where no frame is); and a ``(len(times),)``
    bool mask of the times that have a frame within the last second."""
    import numpy as np

    z = np.load(path)
    ft = z["frames"] / fps
    gap = z["gap"]
    c = gap.shape[1]
    out = np.zeros((len(times), 3 * c), np.float32)
    keep = np.zeros(len(times), bool)
    for i, t in enumerate(times):
        keep[i] = bool(((ft > t - 1.0 - 1e-9) & (ft <= t + 1e-9)).any())
        g = gap[(ft > t - context_s - 1e-9) & (ft <= t + 1e-9)]
        if len(g):
            d = np.abs(np.diff(g, axis=0)).mean(0) if len(g) > 1 else np.zeros(c, np.float32)
            out[i] = np.concatenate([g.mean(0), g.std(0), d])
    return out, keep


def main() -> None:
    import numpy as np
    import torch
    from sklearn.metrics import roc_auc_score, roc_curve
    from sklearn.model_selection import StratifiedGroupKFold

    from core import config
    from core.fight import RECIPE, clip_vectors, hard_negative_clips, load_poses, surveillance_clips, train_forest

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--layer", type=int, default=10)
    ap.add_argument("--context", type=float, default=2.0, help="seconds of backbone statistics")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--runtime", choices=("torch", "int8", "fp32"), default="torch",
                    help="torch: float PyTorch with a hook; int8/fp32: the ONNX pose model with a pooled output")
    args = ap.parse_args()
    t0 = time.monotonic()
    log = lambda m: print(m, file=__import__("sys").stderr, flush=True)  # noqa: E731
    clips = load_poses(surveillance_clips(SHARED) + hard_negative_clips(SHARED))
    files = extract(clips, args.layer, config.cache_root() / "backbone", args.runtime, log)
    t_extract = time.monotonic() - t0
    data = []
    for c in clips:
        v, t = clip_vectors(c.cache, float(RECIPE["span_s"]), float(RECIPE["rate"]), c.motion, gate=False)
        b, keep = backbone_stats(files[c.name], t, c.cache.fps, args.context)
        data.append({"clip": c, "scene_motion": v[keep], "backbone": b[keep]})
    for d in data:
        d["scene_motion_backbone"] = np.hstack([d["scene_motion"], d["backbone"]])
    idx = [i for i, d in enumerate(data) if not d["clip"].extra]
    extra = [i for i, d in enumerate(data) if d["clip"].extra]
    y = np.array([data[i]["clip"].label for i in idx])
    groups = np.array([data[i]["clip"].group for i in idx])
    folds = list(StratifiedGroupKFold(args.folds, shuffle=True, random_state=0).split(np.zeros(len(y)), y, groups))
    out = {"bench": "fight_backbone", "machine": f"{platform.machine()} {os.cpu_count()} cores",
           "date": time.strftime("%Y-%m-%d"), "runtime": args.runtime, "layer": args.layer, "context_s": args.context,
           "folds": args.folds, "seeds": args.seeds, "clips": len(idx), "extract_s": round(t_extract, 1)}
    for name in ("scene_motion", "backbone", "scene_motion_backbone"):
        aucs, bas = [], []
        for seed in range(args.seeds):
            scores = np.zeros(len(idx))
            for tr, te in folds:
                train = [i for i in [idx[j] for j in tr] + extra if len(data[i][name])]
                fm = train_forest([data[i][name] for i in train], np.array([data[i]["clip"].label for i in train]),
                                  [float(RECIPE["extra_weight"]) if data[i]["clip"].extra else 1.0 for i in train],
                                  RECIPE, seed)
                for i in te:
                    x = data[idx[i]][name]
                    if len(x):
                        with torch.no_grad():
                            p = fm.model.probabilities(torch.from_numpy(np.ascontiguousarray(x, np.float32)))[:, 1]
                        p = p.numpy()
                        k = min(5, len(p))
                        scores[i] = float(np.convolve(p, np.ones(k) / k, mode="valid").max())
            fpr, tpr, _ = roc_curve(y, scores)
            ok = fpr <= 0.10 + 1e-9
            aucs.append(float(roc_auc_score(y, scores)))
            bas.append(float(((tpr[ok] + 1 - fpr[ok]) / 2).max()))
        out[name] = {"roc_auc": round(float(np.mean(aucs)), 3),
                     "ba_at_10pct_upper_bound": round(float(np.mean(bas)), 3),
                     "per_seed_auc": [round(a, 3) for a in aucs], "per_seed_ba": [round(b, 3) for b in bas]}
        log(f"{name}: {out[name]}")
    out["seconds"] = round(time.monotonic() - t0, 1)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
