"""Benchmark: the seed LSTM recipe side by side with our best model on held-out sequences.

AI-Hub (``../shared/data/skeleton/aihub/datavalid.csv``): 5-fold cross-validation by sequence (the
2,946-frame "normal" sequence cut into ~100-frame chunks, each its own group); in each fold the model is
trained on the other folds (early stopping on an inner validation split of *their* sequences) and tested
on the held-out fold. Frame-level accuracy and macro-F1 over the test predictions of all folds (a frame's
prediction is the prediction of the window covering it, per the predict rule of core.classify).
URFD (``pose_urfd_3classes.csv``): the same, leave-videos-out, 5 folds. Train time = mean seconds per fold.

Prints one JSON line. Usage: ``python bench/train_aihub.py [--folds 5] [--model lstm] [--preset default]
[--epochs N] [--time-limit S] [--threads N] [--skip-seed] [--skip-urfd]`` (``--epochs``/``--time-limit`` override
the preset for our model only; the seed recipe always runs as the ``seed`` preset defines it).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = Path(os.environ.get("POSEWATCH_SHARED", ROOT.parent / "shared")).resolve()


def cross_validate(data, model: str, preset: str, folds: int, seed: int, overrides: dict | None = None) -> dict:
    import numpy as np

    from core.training import TrainingData, Trainer, classification_metrics, kfold_groups, predict_tracks

    ys, ps, f1s, times = [], [], [], []
    for k, (tr, te) in enumerate(kfold_groups(data.tracks, folds, seed)):
        sub = TrainingData([data.tracks[i] for i in tr], data.label_names)
        t0 = time.monotonic()
        trainer = Trainer(sub, model, preset, overrides, seed=seed + k)
        trainer.fit()
        times.append(time.monotonic() - t0)
        probs, y = predict_tracks(trainer.model, [data.tracks[i] for i in te], int(trainer.cfg["window"]),
                                  trainer.cfg["features"])
        ys.append(y)
        ps.append(probs.argmax(1))
        f1s.append(classification_metrics(y, ps[-1], data.label_names)["macro_f1"])
        print(f"{model}/{preset} fold {k + 1}/{folds}: macro-F1 {f1s[-1]:.3f}, {times[-1]:.0f} s", file=sys.stderr,
              flush=True)
    m = classification_metrics(np.concatenate(ys), np.concatenate(ps), data.label_names)
    return {"model": model, "preset": preset, "accuracy": round(m["accuracy"], 4), "macro_f1": round(m["macro_f1"], 4),
            "fold_macro_f1": [round(v, 4) for v in f1s], "train_time_s": round(float(np.mean(times)), 1),
            "per_class_f1": {n: round(v["f1"], 4) for n, v in m["per_class"].items()}, "frames": m["frames"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--model", default="lstm", help="our model")
    ap.add_argument("--preset", default="default")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--skip-urfd", action="store_true")
    ap.add_argument("--skip-seed", action="store_true", help="do not run the seed recipe (e.g. a second model)")
    ap.add_argument("--epochs", type=int, default=None, help="override the preset's epochs (our model)")
    ap.add_argument("--time-limit", type=float, default=None, help="override the preset's time limit per fold, s")
    ap.add_argument("--threads", type=int, default=2, help="torch threads")
    a = ap.parse_args()
    import torch

    from core.training import load_data

    torch.set_num_threads(a.threads)
    ours = {k: v for k, v in (("epochs", a.epochs), ("time_limit_s", a.time_limit)) if v is not None}
    aihub = SHARED / "data" / "skeleton" / "aihub" / "datavalid.csv"
    urfd = SHARED / "data" / "skeleton" / "urfd" / "pose_urfd_3classes.csv"
    out: dict = {"bench": "train_aihub", "folds": a.folds, "seed": a.seed, "threads": torch.get_num_threads(),
                 "overrides": ours}
    d = load_data([aihub])
    if not a.skip_seed:
        out["aihub_seed_lstm"] = cross_validate(d, "lstm", "seed", a.folds, a.seed)
    out["aihub_ours"] = cross_validate(d, a.model, a.preset, a.folds, a.seed, ours)
    if not a.skip_urfd:
        u = load_data([urfd])
        if not a.skip_seed:
            out["urfd_seed_lstm"] = cross_validate(u, "lstm", "seed", a.folds, a.seed)
        out["urfd_ours"] = cross_validate(u, a.model, a.preset, a.folds, a.seed, ours)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
