"""Offline probe: the shipped scene+motion ExtraTrees vs a multiple-instance relabelling of fight clips' vectors,
5-fold StratifiedGroupKFold by source group (seed 0), clip score = max over the clip of the mean of the last 5
vectors (15 Hz: ~0.33 s, as live's 10-frame average at 30 fps). Not the live path: relative comparison only.

Multiple-instance relabelling (``milF``): a fight clip's label holds for the clip, not every second of it; its
vectors whose out-of-fold score (3 folds by group inside the training clips) is in the clip's top fraction F are
kept as fight, the others dropped, then the forest is fitted again (the MIL idea of Sultani et al., CVPR 2018,
applied to the trees). ``base`` is the shipped recipe (``core.fight.RECIPE``'s forest settings). ONE JSON line.

    POSEWATCH_MODEL_DIR=../shared/models POSEWATCH_OFFLINE=1 YOLO_OFFLINE=1 .venv/bin/python bench/fight_mil.py [base mil0.5 ...]
"""

import json
import sys

import numpy as np
from sklearn.ensemble import ExtraTreesClassifier
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.metrics import roc_auc_score

from benchenv import SHARED  # noqa: E402  (sys.path, shared data, offline)


def load_clips() -> list:
    """The shared fight, no-fight and hard-negative clips (``core.fight.FightClip``) with their live poses and motion
    features (``core.fight.load_poses``: recorded once, then read from the cache; ~15 min on 2 cores the first time)."""
    from core import fight

    clips = fight.surveillance_clips(SHARED) + fight.hard_negative_clips(SHARED)
    return fight.load_poses(clips, progress=lambda i, n, m: print(f"{i}/{n} {m}", file=sys.stderr)
                            if i % 20 == 0 else None)


def load() -> list[dict]:
    """Every clip's scene + motion vectors (``core.fight.clip_vectors``, not gated) of :func:`load_clips`."""
    from core import fight

    out = []
    for c in load_clips():
        v, t = fight.clip_vectors(c.cache, 1.0, 15.0, c.motion, False)
        out.append(dict(name=c.name, label=c.label, group=c.group, extra=c.extra, v=v, t=t))
    return out


def fit(clips, keep=None, seed=0, trees=100, leaf=20, mf=0.3):
    """ExtraTrees on the clips' vectors as ``core.fight.train_forest`` weighs them (each clip the same, classes
    balanced, a hard negative 8 clips); ``keep``: per clip a boolean mask of its vectors (None: all)."""
    labels = np.array([c['label'] for c in clips])
    pos_w = (labels == 0).sum() / max((labels == 1).sum(), 1)
    X, y, w = [], [], []
    for i, c in enumerate(clips):
        v = c['v'] if keep is None or keep[i] is None else c['v'][keep[i]]
        if not len(v):
            continue
        wt = 8.0 if c['extra'] else 1.0
        X.append(v); y.append(np.full(len(v), c['label'])); w.append(np.full(len(v), wt * (pos_w if c['label'] else 1) / len(v)))
    et = ExtraTreesClassifier(trees, min_samples_leaf=leaf, max_features=mf, random_state=seed, n_jobs=2)
    et.fit(np.concatenate(X), np.concatenate(y), sample_weight=np.concatenate(w))
    return et



def clip_score(et, c, k=5):
    """Max over the clip of the mean of ``k`` consecutive vector scores."""
    if not len(c['v']):
        return 0.0
    p = et.predict_proba(c['v'])[:, 1]
    sm = np.convolve(p, np.ones(k) / k, 'valid') if len(p) >= k else p.mean(keepdims=True)
    return float(sm.max())

def at_budget(y: np.ndarray, s: np.ndarray, budget: float = 0.1) -> tuple[float, float, float]:
    """``(balanced accuracy, TPR, FPR)`` of clip scores ``s`` against labels ``y`` (1 = fight) at the threshold that
    lets at most ``budget`` of the no-fight clips score above it, chosen on these clips themselves: an upper bound
    of what a calibrated alert reaches."""
    neg = np.sort(s[y == 0])
    thr = neg[int(np.ceil((1 - budget) * len(neg))) - 1] + 1e-9
    tpr, fpr = float((s[y == 1] > thr).mean()), float((s[y == 0] > thr).mean())
    return (tpr + 1 - fpr) / 2, tpr, fpr


def oof_vector_scores(clips, seed=0):
    """Out-of-fold vector scores of the training clips (3 folds by group; extras always in training)."""
    tr = [c for c in clips if not c['extra']]; ex = [c for c in clips if c['extra']]
    y = np.array([c['label'] for c in tr]); g = np.array([c['group'] for c in tr])
    out = {}
    for a, b in StratifiedGroupKFold(3, shuffle=True, random_state=seed).split(np.zeros(len(tr)), y, g):
        et = fit([tr[i] for i in a] + ex)
        for i in b:
            out[id(tr[i])] = et.predict_proba(tr[i]['v'])[:, 1] if len(tr[i]['v']) else np.zeros(0)
    return out

def mil_keep(clips, oof, frac):
    """Per clip: the mask of the fight clips' vectors in their clip's top ``frac`` of out-of-fold scores."""
    keep = []
    for c in clips:
        if c['extra'] or c['label'] == 0 or not len(c['v']):
            keep.append(None); continue
        s = oof[id(c)]
        thr = np.quantile(s, 1 - frac)
        keep.append(s >= thr)
    return keep

def main() -> None:
    data = load()
    surv = [d for d in data if not d['extra']]
    extra = [d for d in data if d['extra']]
    Y = np.array([d['label'] for d in surv])
    G = np.array([d['group'] for d in surv])
    variants = sys.argv[1:] or ['base', 'mil0.5', 'mil0.3']
    scores = {v: np.zeros(len(surv)) for v in variants}
    folds = list(StratifiedGroupKFold(5, shuffle=True, random_state=0).split(np.zeros(len(surv)), Y, G))
    for fi, (a, b) in enumerate(folds):
        train = [surv[i] for i in a] + extra
        oof = None
        for v in variants:
            if v == 'base':
                et = fit(train)
            elif v.startswith('mil'):
                oof = oof if oof is not None else oof_vector_scores(train)
                et = fit(train, mil_keep(train, oof, float(v[3:])))
            elif v.startswith('leaf'):
                et = fit(train, leaf=int(v[4:]))
            for i in b:
                scores[v][i] = clip_score(et, surv[i])
        print('fold', fi, file=sys.stderr, flush=True)

    res = {}
    for v, s in scores.items():
        auc = roc_auc_score(Y, s)
        ba, tpr, fpr = at_budget(Y, s)  # at most 10 % of no-fight clips above
        pf = [roc_auc_score(Y[b], s[b]) for _a, b in folds]
        res[v] = dict(auc=round(auc, 3), ba_at10=round(ba, 3), tpr=round(tpr, 3), fpr=round(fpr, 3),
                      fold_auc=[round(x, 3) for x in pf])
    print(json.dumps({"bench": "fight_mil", "clips": len(surv), "folds": 5, "seed": 0, **res}))


if __name__ == "__main__":
    main()
