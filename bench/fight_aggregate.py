"""Offline probe: which clip score from the fight model's window scores? In ``bench/fight_mil.py``'s harness (the
shipped scene + motion vectors and forest, 5-fold StratifiedGroupKFold by source group), each held-out clip's
vector scores are turned into one clip score several ways: the shipped one (the maximum of the means of 5
consecutive scores, as live's smoothing), the maximum over 15 or 30, the 75th or 90th percentile of the 5-means, the
mean of the top quarter, the mean, the share above 0.5. Per seed: clip ROC-AUC and the upper-bound balanced accuracy
at 10 % false alerts (:func:`fight_mil.at_budget`). Not the live path: a relative comparison only. Prints ONE JSON
line.

    POSEWATCH_MODEL_DIR=../shared/models POSEWATCH_OFFLINE=1 YOLO_OFFLINE=1 .venv/bin/python bench/fight_aggregate.py [--seeds 0,1]
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedGroupKFold

from fight_mil import at_budget, fit, load  # imports benchenv first: sys.path, shared data, offline


def smooth(p: np.ndarray, k: int) -> np.ndarray:
    """Means of ``k`` consecutive scores (the mean of all of them for a shorter clip)."""
    return np.convolve(p, np.ones(k) / k, "valid") if len(p) >= k else p.mean(keepdims=True)


AGGREGATIONS = {
    "max_s5 (shipped)": lambda p: smooth(p, 5).max(),
    "max_s15": lambda p: smooth(p, 15).max(),
    "max_s30": lambda p: smooth(p, 30).max(),
    "p75_s5": lambda p: np.quantile(smooth(p, 5), 0.75),
    "p90_s5": lambda p: np.quantile(smooth(p, 5), 0.9),
    "top25_mean": lambda p: np.sort(p)[-max(1, len(p) // 4):].mean(),
    "mean": lambda p: p.mean(),
    "share_over_0.5": lambda p: (p > 0.5).mean(),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", default="0,1", help="fold and forest seeds (comma-separated)")
    seeds = [int(x) for x in ap.parse_args().seeds.split(",")]
    data = load()
    surv = [d for d in data if not d["extra"]]
    extra = [d for d in data if d["extra"]]
    Y = np.array([d["label"] for d in surv])
    G = np.array([d["group"] for d in surv])
    res = {a: {"auc": [], "ba_at10": []} for a in AGGREGATIONS}
    for seed in seeds:
        scores = {a: np.zeros(len(surv)) for a in AGGREGATIONS}
        for tr, te in StratifiedGroupKFold(5, shuffle=True, random_state=seed).split(np.zeros(len(surv)), Y, G):
            et = fit([surv[i] for i in tr] + extra, seed=seed)
            for i in te:
                v = surv[i]["v"]
                p = et.predict_proba(v)[:, 1] if len(v) else np.zeros(1)
                for a, f in AGGREGATIONS.items():
                    scores[a][i] = float(f(p))
        for a, s in scores.items():
            res[a]["auc"].append(round(roc_auc_score(Y, s), 3))
            res[a]["ba_at10"].append(round(at_budget(Y, s)[0], 3))
        print("seed", seed, file=sys.stderr, flush=True)
    print(json.dumps({"bench": "fight_aggregate", "clips": len(surv), "folds": 5, "seeds": seeds, **res}))


if __name__ == "__main__":
    main()
