"""Benchmark: fight alerts on source videos the model has not seen, through the live detector. ONE JSON line.

    .venv/bin/python bench/fight_cv.py                      # 5 folds, all 227 clips (about 25 minutes, 2 cores)
    .venv/bin/python bench/fight_cv.py --folds 3 --limit 60 # a quick look

The shared Surveillance Camera Fight Dataset clips (123 fight, 104 no-fight; ``fight/surv_fight_sources.csv``)
are split into ``--folds`` folds **by source group** (StratifiedGroupKFold: no source video on both sides). For
each fold the shipped recipe (:func:`core.fight.train_calibrated`: the scene model trained on the other folds'
clips plus the hard-negative scenes, its alert operating point chosen by a cross-validation *inside* those
training clips, at most 1 in 10 of their no-fight clips alerting) is trained, and every test clip is run
through a real :class:`core.live.LiveDetector` — video decoding, the INT8 pose model, two pose workers,
ByteTrack, the classifier, smoothing and the alert rule, every frame of the file (not paced) — with that
fold's model. Side by side in the same run and on the same clips: the shipped AI-Hub model
(``abnormal_default.pt``, the default before this benchmark existed), whose *assault* alerts count as fight
alerts and whose alerts of any label count as false alerts on no-fight clips. Also the floor of the issue: ten
hand-made clip features (:func:`core.fight.clip_features`) with a random forest (scikit-learn, 500 trees) in
the same folds.

Per model: fights alerted, no-fight clips alerting, clip-level balanced accuracy of "alerted", ROC-AUC of the
clip score (the highest scene score of the clip; for the AI-Hub model the highest smoothed assault probability
of any track), delay from clip start to the first alert (median, 90th percentile, seconds of video), per-fold
values and their spread; the hard-negative scenes' alerts with each fold's model (these scenes are in every
fold's training data: in-sample).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchenv import SHARED  # noqa: E402  (sys.path, shared data, offline)

os.environ.setdefault("YOLO_VERBOSE", "False")


def run_live(video: Path, classifier: str, score_label: str | None = None) -> dict:
    """One clip through the live detector: alerts, the clip score (max scene score, or the max smoothed
    probability of ``score_label`` over the tracks), the first alert's time."""
    import numpy as np

    from core.live import LiveConfig, LiveDetector

    best = [0.0]
    events = []
    holder = {}

    def on_result(r):
        if r.scene is not None:
            best[0] = max(best[0], float(r.scene))
        elif score_label is not None:
            lab = holder["det"].labeler
            k = lab.names.index(score_label)
            for tid in r.poses.track_ids():
                st = lab.tracks.get(tid)
                if st is not None and st.probs:
                    best[0] = max(best[0], float(np.mean(np.stack(st.probs), axis=0)[k]))

    det = LiveDetector(str(video), LiveConfig(classifier=classifier), on_result=on_result, on_event=events.append)
    holder["det"] = det
    det.run()
    if det.error:
        raise SystemExit(f"error: {video.name}: {det.error}")
    return {"score": best[0], "alerts": [(e.label, round(e.time_s, 3)) for e in events],
            "first": min((e.time_s for e in events), default=None)}


def summary(rows: list[dict], alerted_key: str, score_key: str) -> dict:
    import numpy as np
    from sklearn.metrics import balanced_accuracy_score, roc_auc_score

    y = np.array([r["label"] for r in rows])
    al = np.array([bool(r[alerted_key]) for r in rows])
    sc = np.array([r[score_key] for r in rows])
    delays = [r["delay_" + alerted_key] for r in rows if r["label"] == 1 and r[alerted_key]]
    out = {"fights_alerted": f"{int(al[y == 1].sum())}/{int((y == 1).sum())}",
           "nofight_alerting": f"{int(al[y == 0].sum())}/{int((y == 0).sum())}",
           "tpr": round(float(al[y == 1].mean()), 3), "fpr": round(float(al[y == 0].mean()), 3),
           "balanced_accuracy": round(float(balanced_accuracy_score(y, al)), 3)}
    out["roc_auc"] = round(float(roc_auc_score(y, sc)), 3) if len(set(y.tolist())) == 2 else None
    out["delay_s_median"] = round(float(np.median(delays)), 2) if delays else None
    out["delay_s_p90"] = round(float(np.percentile(delays, 90)), 2) if delays else None
    return out


def spread(per_fold: list[dict], key: str) -> dict:
    vals = [f[key] for f in per_fold if f.get(key) is not None]
    return {"min": round(min(vals), 3), "max": round(max(vals), 3),
            "sd": round(statistics.pstdev(vals), 3)} if vals else {}


def main() -> None:
    import numpy as np
    import torch
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.metrics import balanced_accuracy_score, roc_auc_score
    from sklearn.model_selection import StratifiedGroupKFold

    from core.classify import save_checkpoint
    from core.fight import clip_features, hard_negative_clips, load_poses, surveillance_clips, train_calibrated

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--limit", type=int, default=None, help="use only every n-th clip until this many (quick look)")
    ap.add_argument("--no-aihub", action="store_true", help="skip the AI-Hub model's live runs")
    ap.add_argument("--recipe", default="{}", help="JSON overrides of core.fight.RECIPE")
    ap.add_argument("--keep", default=None, help="keep each fold's checkpoint in this folder")
    args = ap.parse_args()
    torch.set_num_threads(1)
    t_start = time.monotonic()
    clips = surveillance_clips(SHARED)
    if args.limit:
        step = max(1, len(clips) // args.limit)
        clips = clips[::step][: args.limit]
    hard = hard_negative_clips(SHARED)
    print(f"recording / reading the live poses of {len(clips) + len(hard)} clips", file=sys.stderr, flush=True)
    clips = load_poses(clips)
    hard = load_poses(hard)
    y = np.array([c.label for c in clips])
    groups = np.array([c.group for c in clips])
    folds = list(StratifiedGroupKFold(args.folds, shuffle=True, random_state=args.seed).split(np.zeros(len(y)), y, groups))
    recipe = json.loads(args.recipe)

    # the floor: ten clip features, a random forest, the same folds
    X = np.stack([clip_features(c.cache) for c in clips])
    floor_p = np.zeros(len(y))
    floor_folds = []
    for tr, te in folds:
        rf = RandomForestClassifier(500, min_samples_leaf=2, random_state=args.seed, n_jobs=1).fit(X[tr], y[tr])
        floor_p[te] = rf.predict_proba(X[te])[:, 1]
        floor_folds.append({"roc_auc": round(float(roc_auc_score(y[te], floor_p[te])), 3),
                            "balanced_accuracy": round(float(balanced_accuracy_score(y[te], floor_p[te] >= 0.5)), 3)})
    floor = {"roc_auc": round(float(roc_auc_score(y, floor_p)), 3),
             "balanced_accuracy": round(float(balanced_accuracy_score(y, floor_p >= 0.5)), 3),
             "fpr": round(float((floor_p[y == 0] >= 0.5).mean()), 3), "tpr": round(float((floor_p[y == 1] >= 0.5).mean()), 3),
             "per_fold": floor_folds}

    rows, per_fold, hard_alerts = [], [], {}
    if args.keep:
        Path(args.keep).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="fight-cv-") as tmp:
        for k, (tr, te) in enumerate(folds):
            t0 = time.monotonic()
            fm = train_calibrated([clips[i] for i in tr] + hard, recipe, seed=args.seed)
            path = save_checkpoint(fm.checkpoint(), Path(args.keep or tmp) / f"fight_fold{k}.pt")
            op = fm.operating_points[fm.default_point]
            fold_rows = []
            for i in te:
                c = clips[i]
                new = run_live(c.path, str(path))
                row = {"clip": c.name, "group": c.group, "label": c.label, "fold": k,
                       "new": bool(new["alerts"]), "score_new": new["score"], "delay_new": new["first"]}
                if not args.no_aihub:
                    old = run_live(c.path, "abnormal", score_label="assault")
                    alerted = any(lab == "assault" for lab, _t in old["alerts"]) if c.label else bool(old["alerts"])
                    first = min((t for lab, t in old["alerts"] if lab == "assault"), default=None)
                    row.update({"aihub": alerted, "score_aihub": old["score"], "delay_aihub": first,
                                "aihub_labels": sorted({lab for lab, _t in old["alerts"]})})
                fold_rows.append(row)
            hard_alerts[f"fold{k}"] = {h.name: len(run_live(h.path, str(path))["alerts"]) for h in hard}
            f = {"fold": k, "test_clips": len(te), "test_groups": len(set(groups[te])), "operating_point": op,
                 "new": summary(fold_rows, "new", "score_new"), "seconds": round(time.monotonic() - t0, 1)}
            if not args.no_aihub:
                f["aihub"] = summary(fold_rows, "aihub", "score_aihub")
            per_fold.append(f)
            rows += fold_rows
            print(json.dumps(f), file=sys.stderr, flush=True)
    out = {"bench": "fight_cv", "machine": f"{platform.machine()} {os.cpu_count()} cores",
           "date": time.strftime("%Y-%m-%d"), "clips": len(clips), "fights": int(y.sum()),
           "groups": len(set(groups.tolist())), "folds": args.folds, "seed": args.seed,
           "new": summary(rows, "new", "score_new"), "floor_random_forest": floor}
    if not args.no_aihub:
        out["aihub"] = summary(rows, "aihub", "score_aihub")
        out["aihub_false_alert_labels"] = sorted({lab for r in rows if r["label"] == 0 for lab in r["aihub_labels"]})
    out["per_fold_spread"] = {m: {"balanced_accuracy": spread([f[m] for f in per_fold], "balanced_accuracy"),
                                  "roc_auc": spread([f[m] for f in per_fold], "roc_auc")}
                              for m in (("new", "aihub") if not args.no_aihub else ("new",))}
    out["per_fold"] = per_fold
    out["hard_negative_alerts"] = hard_alerts
    out["seconds"] = round(time.monotonic() - t_start, 1)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
