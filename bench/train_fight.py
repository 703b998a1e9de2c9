"""Train the shipped fight model (``resources/models/fight_default.pt``) and check it on its test groups. ONE JSON line.

    .venv/bin/python bench/train_fight.py                      # writes resources/models/fight_default.pt
    .venv/bin/python bench/train_fight.py --out /tmp/fight.pt  # elsewhere

Data: the Surveillance Camera Fight Dataset clips of the shared folder (``fight/surv_fight_sources.csv``) except
the **test groups** — the two smallest source groups with at least four clips of each class, source videos 6 and
40 (9 fight, 13 no-fight clips), chosen by that rule before any model was trained — plus the hard-negative
scenes (:data:`core.fight.HARD_NEGATIVES`). Poses are recorded through the live detector's pose path.
Recipe: :data:`core.fight.RECIPE` with :func:`core.fight.train_calibrated` (a 4-fold cross-validation by
source group inside the training clips chooses the alert operating points; the final model uses all of them),
seed 0. Then every test-group clip runs through a real :class:`core.live.LiveDetector` with the new
checkpoint: alerts per clip, the delay to the first one, the highest scene score.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

from benchenv import ROOT, SHARED  # noqa: E402  (sys.path, shared data, offline)

os.environ.setdefault("YOLO_VERBOSE", "False")

#: Source groups kept out of the shipped model's training (its test groups; see the module docstring).
TEST_GROUPS = ("surv:6", "surv:40")


def main() -> None:
    import torch

    from core.classify import save_checkpoint
    from core.fight import data_hash, hard_negative_clips, load_poses, surveillance_clips, train_calibrated
    from fight_cv import run_live

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(ROOT / "resources" / "models" / "fight_default.pt"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--recipe", default="{}", help="JSON overrides of core.fight.RECIPE")
    args = ap.parse_args()
    torch.set_num_threads(1)
    t0 = time.monotonic()
    clips = load_poses(surveillance_clips(SHARED))
    train = [c for c in clips if c.group not in TEST_GROUPS] + load_poses(hard_negative_clips(SHARED))
    test = [c for c in clips if c.group in TEST_GROUPS]
    fm = train_calibrated(train, json.loads(args.recipe), seed=args.seed)
    notes = {"test_groups": list(TEST_GROUPS), "train_clips_fight": sum(c.label == 1 for c in train),
             "train_clips_nofight": sum(c.label == 0 and not c.extra for c in train),
             "hard_negatives": [c.name for c in train if c.extra]}
    path = save_checkpoint(fm.checkpoint(data_hash(train), notes), Path(args.out))
    results = []
    for c in test:
        r = run_live(c.path, str(path))
        results.append({"clip": c.name, "group": c.group, "label": c.label, "alerts": len(r["alerts"]),
                        "first_s": r["first"], "max_scene": round(r["score"], 3)})
    fights = [r for r in results if r["label"] == 1]
    calm = [r for r in results if r["label"] == 0]
    out = {"bench": "train_fight", "machine": f"{platform.machine()} {os.cpu_count()} cores",
           "date": time.strftime("%Y-%m-%d"), "checkpoint": str(path), "operating_point": fm.metrics["operating_point"],
           "operating_points": fm.operating_points, "metrics": fm.metrics, **notes,
           "test_fights_alerted": f"{sum(r['alerts'] > 0 for r in fights)}/{len(fights)}",
           "test_nofight_alerting": f"{sum(r['alerts'] > 0 for r in calm)}/{len(calm)}",
           "test_clips": results, "seconds": round(time.monotonic() - t0, 1)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
