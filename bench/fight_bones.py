"""Offline probe: does a bone stream help the fight model? The shipped scene + motion vectors against the same with
bone features appended, in ``bench/fight_mil.py``'s harness (5-fold StratifiedGroupKFold by source group, seeds 0-2,
the shipped forest settings; clip score = max over the clip of the mean of 5 consecutive vector scores). Not the live
path: a relative comparison only. Prints ONE JSON line.

The bone stream (:func:`core.scene.bone_features`; ST-GCN++ and 2s-AGCN feed one beside the joints) is how fast the
bones of the arms, the legs and the torso turn and stretch over the people of the last second;
``core.fight.clip_vectors(..., bones=True)`` appends it to the same vectors, as the live detector does for a
checkpoint whose feature spec has ``bones``.

    POSEWATCH_MODEL_DIR=../shared/models POSEWATCH_OFFLINE=1 YOLO_OFFLINE=1 .venv/bin/python bench/fight_bones.py [--seeds 0,1,2]
"""

from __future__ import annotations

import json
import sys

import numpy as np
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedGroupKFold

from fight_mil import at_budget, clip_score, fit, load_clips  # imports benchenv first: sys.path, shared data, offline

from core.scene import BONE_FEATURES, scene_size  # noqa: E402


def load() -> list[dict]:
    """Every clip's shipped scene + motion vectors (``core.fight.clip_vectors``, not gated) and its bone vectors at the
    same times (``bench/fight_mil.py``'s :func:`load_clips`)."""
    from core import fight

    n = scene_size(motion=True)  # the shipped vector: the bone stream comes after it (tests/core/test_scene.py)
    out = []
    for c in load_clips():
        vb, _t = fight.clip_vectors(c.cache, 1.0, 15.0, c.motion, False, bones=True)
        out.append(dict(name=c.name, label=c.label, group=c.group, extra=c.extra, v=vb[:, :n], vb=vb))
    return out


def main() -> None:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", default="0,1,2", help="fold and forest seeds (comma-separated)")
    seeds = [int(x) for x in ap.parse_args().seeds.split(",")]
    data = load()
    variants = {"base": lambda d: d["v"], "bones": lambda d: d["vb"]}
    surv = [d for d in data if not d["extra"]]
    Y = np.array([d["label"] for d in surv])
    G = np.array([d["group"] for d in surv])
    res: dict = {v: {"auc": [], "ba_at10": [], "fold_auc": []} for v in variants}
    rows = {v: [dict(d, v=make(d)) for d in data] for v, make in variants.items()}  # "v": the vectors fit() uses
    for seed in seeds:
        folds = list(StratifiedGroupKFold(5, shuffle=True, random_state=seed).split(np.zeros(len(surv)), Y, G))
        scores = {v: np.zeros(len(surv)) for v in variants}
        for a, b in folds:
            for v in variants:
                rs = [r for r in rows[v] if not r["extra"]]
                et = fit([rs[i] for i in a] + [r for r in rows[v] if r["extra"]], seed=seed)
                for i in b:
                    scores[v][i] = clip_score(et, rs[i])
        for v, s in scores.items():
            res[v]["auc"].append(round(roc_auc_score(Y, s), 3))
            res[v]["ba_at10"].append(round(at_budget(Y, s)[0], 3))  # at most 10 % of no-fight clips above
            res[v]["fold_auc"].append([round(roc_auc_score(Y[b], s[b]), 3) for _a, b in folds])
        print("seed", seed, {v: (r["auc"][-1], r["ba_at10"][-1]) for v, r in res.items()}, file=sys.stderr, flush=True)
    for r in res.values():
        r["auc_mean"] = round(float(np.mean(r["auc"])), 3)
        r["ba_at10_mean"] = round(float(np.mean(r["ba_at10"])), 3)
    print(json.dumps({"bench": "fight_bones", "clips": len(surv), "folds": 5, "seeds": seeds,
                      "bone_features": list(BONE_FEATURES), **res}))


if __name__ == "__main__":
    main()
